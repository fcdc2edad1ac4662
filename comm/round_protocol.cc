// The round protocol's messages and control planes (see round_protocol.h).
#include "comm/round_protocol.h"

#include <algorithm>
#include <cstring>

#include "comm/mpi_context.h"

namespace mtdnn::comm {

namespace {

// Little-endian writer/reader of fixed-width fields.
class Writer {
 public:
  template <typename T>
  Writer& put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    return *this;
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const char* what) : bytes_(bytes), what_(what) {}
  template <typename T>
  T get() {
    if (pos_ + sizeof(T) > bytes_.size())
      throw CommError(fmt::format("{}: message of {} bytes is too short", what_, bytes_.size()));
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  // The message's version, which must be this rank's.
  uint32_t version() {
    const auto version = get<uint32_t>();
    if (version != kRoundProtocolVersion)
      throw CommError(fmt::format("{} version {}, this rank speaks {}: all ranks must run the same mtdnn-train", what_,
                                  version, kRoundProtocolVersion));
    return version;
  }
  void finish() const {
    if (pos_ != bytes_.size()) throw CommError(fmt::format("{}: {} unexpected trailing bytes", what_, bytes_.size() - pos_));
  }

 private:
  const std::string& bytes_;
  const char* what_;
  size_t pos_ = 0;
};

class MpiControlPlane : public ControlPlane {
 public:
  explicit MpiControlPlane(const MpiContext& mpi) : mpi_(mpi) {}
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  int local_size() const override { return mpi_.local_size(); }
  int local_rank() const override { return mpi_.local_rank(); }
  void broadcast(std::string* bytes, int root) override { mpi_.broadcast(bytes, root); }
  void check_agreement(const std::string& what, const std::string& value) override {
    mpi_.check_agreement(what, value);
  }
  void allreduce(std::vector<double>* values, size_t sum_count) override {
    sum_count = std::min(sum_count, values->size());
    if (sum_count > 0)
      MTDNN_MPI(MPI_Allreduce(MPI_IN_PLACE, values->data(), static_cast<int>(sum_count), MPI_DOUBLE, MPI_SUM,
                              mpi_.comm()));
    if (values->size() > sum_count)
      MTDNN_MPI(MPI_Allreduce(MPI_IN_PLACE, values->data() + sum_count, static_cast<int>(values->size() - sum_count),
                              MPI_DOUBLE, MPI_MAX, mpi_.comm()));
  }
  std::vector<std::string> allgather(const std::string& bytes) override { return mpi_.allgather(bytes); }
  void barrier() override { mpi_.barrier(); }
  const MpiContext* mpi() const override { return &mpi_; }

 private:
  const MpiContext& mpi_;
};

class LocalControlPlane : public ControlPlane {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  int local_rank() const override { return 0; }
  void broadcast(std::string*, int) override {}
  void check_agreement(const std::string&, const std::string&) override {}
  void allreduce(std::vector<double>*, size_t) override {}
  std::vector<std::string> allgather(const std::string& bytes) override { return {bytes}; }
  void barrier() override {}
  const MpiContext* mpi() const override { return nullptr; }
};

}  // namespace

std::unique_ptr<ControlPlane> make_mpi_control_plane(const MpiContext& mpi) {
  return std::make_unique<MpiControlPlane>(mpi);
}

std::unique_ptr<ControlPlane> make_local_control_plane() { return std::make_unique<LocalControlPlane>(); }

std::string hex64(uint64_t value) { return fmt::format("{:#018x}", value); }

std::string encode(const EpochMessage& m) {
  return Writer().put<uint32_t>(m.version).put<int64_t>(m.epoch).put<uint64_t>(m.seed).str();
}

std::string encode(const RoundPlan& p) {
  uint8_t flags = (p.log ? 1 : 0) | (p.eval ? 2 : 0) | (p.stop ? 4 : 0) | (p.checkpoint ? 8 : 0);
  return Writer()
      .put<uint32_t>(p.version)
      .put<int64_t>(p.step)
      .put<int64_t>(p.epoch)
      .put<int64_t>(p.index)
      .put<int32_t>(p.task)
      .put<uint8_t>(flags)
      .str();
}

namespace {

// A message of `what`: the version, then `fields` reads the rest, then nothing may be left.
template <typename Message, typename Fields>
Message decode_message(const std::string& bytes, const char* what, Fields&& fields) {
  Reader r(bytes, what);
  Message m;
  m.version = r.version();
  fields(r, m);
  r.finish();
  return m;
}

}  // namespace

EpochMessage decode_epoch_message(const std::string& bytes) {
  return decode_message<EpochMessage>(bytes, "epoch message", [](Reader& r, EpochMessage& m) {
    m.epoch = r.get<int64_t>();
    m.seed = r.get<uint64_t>();
  });
}

RoundPlan decode_round_plan(const std::string& bytes) {
  return decode_message<RoundPlan>(bytes, "round plan", [](Reader& r, RoundPlan& p) {
    p.step = r.get<int64_t>();
    p.epoch = r.get<int64_t>();
    p.index = r.get<int64_t>();
    p.task = r.get<int32_t>();
    const auto flags = r.get<uint8_t>();
    p.log = flags & 1;
    p.eval = flags & 2;
    p.stop = flags & 4;
    p.checkpoint = flags & 8;
  });
}

const std::vector<RoundStatsField> kRoundStatsFields = {
    {"loss_sum", Reduction::kSum, &RoundStats::loss_sum},
    {"items", Reduction::kSum, &RoundStats::items},
    {"examples", Reduction::kSum, &RoundStats::examples},
    {"real_tokens", Reduction::kSum, &RoundStats::real_tokens},
    {"nonfinite", Reduction::kMax, &RoundStats::nonfinite},
    {"stop_signal", Reduction::kMax, &RoundStats::stop_signal},
    {"grad_norm", Reduction::kMax, &RoundStats::grad_norm},
    {"compute_s", Reduction::kMax, &RoundStats::compute_s},
};

namespace {
size_t summed_fields() {
  return static_cast<size_t>(std::count_if(kRoundStatsFields.begin(), kRoundStatsFields.end(),
                                           [](const RoundStatsField& f) { return f.reduction == Reduction::kSum; }));
}
}  // namespace

std::vector<double> encode(const RoundStats& s) {
  std::vector<double> wire;
  for (const auto& f : kRoundStatsFields) {
    MTDNN_CHECK(f.reduction == Reduction::kSum || wire.size() >= summed_fields(),
                "round stats field {} is listed before a summed field", f.name);
    wire.push_back(s.*f.member);
  }
  wire.push_back(static_cast<double>(kRoundProtocolVersion));
  wire.push_back(-static_cast<double>(kRoundProtocolVersion));
  return wire;
}

RoundStats decode_round_stats(const std::vector<double>& wire) {
  if (wire.size() != kRoundStatsFields.size() + 2)
    throw CommError(fmt::format("round stats: {} values, this rank expects {}", wire.size(),
                                kRoundStatsFields.size() + 2));
  const double highest = wire[wire.size() - 2], lowest = -wire.back();
  if (highest != kRoundProtocolVersion || lowest != kRoundProtocolVersion)
    throw CommError(fmt::format("round stats: ranks speak protocol versions {} to {}, this rank speaks {}: all ranks "
                                "must run the same mtdnn-train", lowest, highest, kRoundProtocolVersion));
  RoundStats s;
  for (size_t i = 0; i < kRoundStatsFields.size(); ++i) s.*kRoundStatsFields[i].member = wire[i];
  return s;
}

std::string RoundProtocol::choose_checkpoint(const std::string& rank0_choice) {
  std::string path = plane_.rank() == 0 ? rank0_choice : "";
  plane_.broadcast(&path, 0);
  return path;
}

uint64_t RoundProtocol::start_epoch(int64_t epoch, uint64_t seed) {
  std::string bytes = plane_.rank() == 0 ? encode(EpochMessage{kRoundProtocolVersion, epoch, seed}) : "";
  plane_.broadcast(&bytes, 0);
  EpochMessage m = decode_epoch_message(bytes);
  if (m.epoch != epoch)
    throw CommError(fmt::format("rank {}: rank 0 starts epoch {}, this rank expected epoch {}", plane_.rank(), m.epoch,
                                epoch));
  return m.seed;
}

void RoundProtocol::verify_schedule(int64_t epoch, size_t steps, uint64_t hash) {
  plane_.check_agreement(fmt::format("epoch {} schedule hash ({} steps)", epoch, steps), hex64(hash));
}

RoundPlan RoundProtocol::exchange_plan(const RoundPlan& mine) {
  std::string bytes = plane_.rank() == 0 ? encode(mine) : "";
  plane_.broadcast(&bytes, 0);
  RoundPlan plan = decode_round_plan(bytes);
  if (plan.stop) return plan;  // the position no longer matters
  if (plan.step != mine.step || plan.epoch != mine.epoch || plan.index != mine.index || plan.task != mine.task)
    throw CommError(fmt::format(
        "rank {}: round plan disagrees: rank 0 sent step {} (epoch {}, entry {}, task {}), this rank is at step {} "
        "(epoch {}, entry {}, task {})",
        plane_.rank(), plan.step, plan.epoch, plan.index, plan.task, mine.step, mine.epoch, mine.index, mine.task));
  return plan;
}

RoundStats RoundProtocol::reduce_stats(const RoundStats& mine) {
  std::vector<double> wire = encode(mine);
  plane_.allreduce(&wire, summed_fields());
  return decode_round_stats(wire);
}

}  // namespace mtdnn::comm
