// MpiContext: start-up, placement and control-plane collectives (see mpi_context.h).
#include "comm/mpi_context.h"

#include <algorithm>

#include "comm/mpi_census.h"

namespace mtdnn::comm {


void mpi_fail(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(code, text, &len);
  int initialized = 0, rank = -1;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw CommError(fmt::format("rank {}: {} failed: {} ({}:{})", rank, call, text, file, line));
}

MpiContext::MpiContext(int* argc, char*** argv) {
  int initialized = 0;
  MTDNN_MPI(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    MTDNN_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided));
    owns_init_ = true;
    if (provided < MPI_THREAD_MULTIPLE)
      throw CommError(fmt::format("the MPI library provides thread level {} but mtdnn needs "
                                  "MPI_THREAD_MULTIPLE ({})", provided, static_cast<int>(MPI_THREAD_MULTIPLE)));
  }
  MTDNN_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
  // Errors come back as return codes (checked by MTDNN_MPI) rather than aborting inside MPI.
  MTDNN_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  MTDNN_MPI(MPI_Comm_rank(comm_, &rank_));
  MTDNN_MPI(MPI_Comm_size(comm_, &size_));
  census_ = std::make_unique<MpiCensus>(comm_);
  MPI_Comm local;
  MTDNN_MPI(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  MTDNN_MPI(MPI_Comm_rank(local, &local_rank_));
  MTDNN_MPI(MPI_Comm_size(local, &local_size_));
  MTDNN_MPI(MPI_Comm_free(&local));
  // Nodes = number of distinct node-local leaders.
  auto leaders = allgather(static_cast<int64_t>(local_rank_ == 0 ? 1 : 0));
  num_nodes_ = 0;
  for (auto l : leaders) num_nodes_ += static_cast<int>(l);
}

MpiContext::~MpiContext() {
  census_.reset();
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_init_ && !finalized) MPI_Finalize();
}

void MpiContext::wait(MPI_Request* request, const char* what) const {
  wait_until(
      [&] {
        int done = 0;
        MTDNN_MPI(MPI_Test(request, &done, MPI_STATUS_IGNORE));
        return done != 0;
      },
      fmt::format("{} {}", phase_, what));
}

void MpiContext::wait_until(const std::function<bool()>& done, const std::string& what) const {
  census_->wait(done, timeout_s_, fmt::format("rank {}", rank_), what);
}

void MpiContext::barrier() const {
  MPI_Request request;
  MTDNN_MPI(MPI_Ibarrier(comm_, &request));
  wait(&request, "barrier");
}

void MpiContext::broadcast(std::vector<uint8_t>* bytes, int root) const {
  int64_t n = static_cast<int64_t>(bytes->size());
  MPI_Request request;
  MTDNN_MPI(MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm_, &request));
  wait(&request, "broadcast");
  bytes->resize(static_cast<size_t>(n));
  // MPI counts are int: send large payloads in pieces.
  constexpr int64_t kPiece = 1 << 30;
  for (int64_t off = 0; off < n; off += kPiece) {
    MTDNN_MPI(MPI_Ibcast(bytes->data() + off, static_cast<int>(std::min(kPiece, n - off)), MPI_BYTE, root, comm_,
                         &request));
    wait(&request, "broadcast");
  }
}

void MpiContext::broadcast(std::string* text, int root) const {
  std::vector<uint8_t> bytes(text->begin(), text->end());
  broadcast(&bytes, root);
  text->assign(bytes.begin(), bytes.end());
}

std::vector<int64_t> MpiContext::allgather(int64_t value) const {
  std::vector<int64_t> out(static_cast<size_t>(size_));
  MPI_Request request;
  MTDNN_MPI(MPI_Iallgather(&value, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, comm_, &request));
  wait(&request, "allgather");
  return out;
}

std::vector<std::string> MpiContext::allgather(const std::string& text) const {
  auto lengths = allgather(static_cast<int64_t>(text.size()));
  std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = static_cast<int>(lengths[r]);
    displs[r] = total;
    total += counts[r];
  }
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Request request;
  MTDNN_MPI(MPI_Iallgatherv(text.data(), static_cast<int>(text.size()), MPI_CHAR, all.data(), counts.data(),
                            displs.data(), MPI_CHAR, comm_, &request));
  wait(&request, "allgather");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.push_back(all.substr(static_cast<size_t>(displs[r]), static_cast<size_t>(counts[r])));
  return out;
}

void MpiContext::check_agreement(const std::string& what, const std::string& value) const {
  auto values = allgather(value);
  std::string diff;
  for (int r = 1; r < size_; ++r)
    if (values[r] != values[0]) diff += fmt::format("; rank {} has '{}'", r, values[r]);
  if (!diff.empty()) throw CommError(fmt::format("ranks disagree on {}: rank 0 has '{}'{}", what, values[0], diff));
}

void MpiContext::abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace mtdnn::comm
