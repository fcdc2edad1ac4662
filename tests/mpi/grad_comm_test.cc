// Gradient communication across real ranks (run under mpirun -np 1, 2, 3): the MPI
// control plane, each backend's all-reduce, and the bucketed reducer's gradients against a
// single-process computation of the same global batch. Backends: mpi and gloo on CPU
// tensors; on a machine with a GPU also mpi-cuda (GPU tensors staged through host memory;
// any number of ranks may share a GPU) and nccl (one GPU per rank, else skipped).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "comm/grad_comm.h"
#include "mpi_test_support.h"
#include "worker/execution.h"
#include "worker/grad_reducer.h"

namespace mtdnn {
namespace {

TEST(MpiContext, BroadcastGatherAndAgreement) {
  comm::MpiContext& mpi = test::mpi();
  std::string text = mpi.rank() == 0 ? "schedule-hash-123" : "";
  mpi.broadcast(&text, 0);
  EXPECT_EQ(text, "schedule-hash-123");
  auto ranks = mpi.allgather(static_cast<int64_t>(mpi.rank() * 10));
  ASSERT_EQ(static_cast<int>(ranks.size()), mpi.size());
  for (int r = 0; r < mpi.size(); ++r) EXPECT_EQ(ranks[r], r * 10);
  EXPECT_NO_THROW(mpi.check_agreement("config", "same"));
  if (mpi.size() > 1) {
    try {
      mpi.check_agreement("schedule hash", mpi.rank() == 1 ? "abc" : "def");
      FAIL() << "no error";
    } catch (const comm::CommError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("ranks disagree on schedule hash: rank 0 has 'def'"), std::string::npos) << m;
      EXPECT_NE(m.find("rank 1 has 'abc'"), std::string::npos) << m;
    }
  }
}

// A backend and where its tensors live: "mpi", "gloo" (CPU), "mpi-cuda" (GPU tensors staged
// through host memory), "nccl" (GPU). Skipped when the build or the machine lacks it.
class Backends : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string p = GetParam();
    backend_ = comm::parse_comm_backend(p == "mpi-cuda" ? "mpi" : p);
    if (!comm::comm_backend_available(backend_)) GTEST_SKIP() << p << " is not in this build";
    if (p == "mpi-cuda" || p == "nccl") {
      const int gpus = worker::cuda_device_count();
      if (gpus == 0) GTEST_SKIP() << "no GPU";
      if (p == "nccl" && test::mpi().local_size() > gpus) GTEST_SKIP() << "NCCL needs one GPU per rank";
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(test::mpi().local_rank() % gpus));
    }
  }
  std::unique_ptr<comm::GradComm> make() {
    return comm::make_grad_comm(backend_, test::mpi(), {}, device_.is_cuda() ? device_.index() : -1);
  }
  comm::CommBackend backend_ = comm::CommBackend::kMpi;
  torch::Device device_ = torch::kCPU;
};

TEST_P(Backends, AllreduceSumsInPlace) {
  comm::MpiContext& mpi = test::mpi();
  auto comm = make();
  for (int64_t n : {1, 1000, 3 << 20}) {
    auto t = torch::arange(n, torch::kFloat).fmod(97).add(mpi.rank()).to(device_);
    auto work = comm->allreduce_sum(t);
    work->wait();
    int s = mpi.size();
    auto expected = torch::arange(n, torch::kFloat).fmod(97).mul(s).add(s * (s - 1) / 2.0);
    EXPECT_TRUE(torch::equal(t.cpu(), expected)) << "n=" << n;
  }
}

// A toy multi-task model: a shared "encoder" and two heads.
struct Toy {
  torch::nn::Linear enc1{8, 16}, enc2{16, 16}, head_a{16, 3}, head_b{16, 1};
  torch::Tensor unused = torch::zeros({4}, torch::requires_grad());  // in the encoder, never used
  Toy() {
    torch::manual_seed(7);
    for (auto* m : {&enc1, &enc2, &head_a, &head_b})
      for (auto& p : (*m)->parameters()) p.data().normal_(0, 0.5);
  }
  std::vector<worker::ParamGroup> groups() {
    std::vector<torch::Tensor> enc = enc1->parameters();
    for (auto& p : enc2->parameters()) enc.push_back(p);
    enc.push_back(unused);
    return {{"encoder", enc}, {"heads.a", head_a->parameters()}, {"heads.b", head_b->parameters()}};
  }
  // Sum of per-example cross-entropy of head a, scaled by `scale`.
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y, double scale) {
    auto h = torch::tanh(enc2(torch::relu(enc1(x))));
    return torch::nn::functional::cross_entropy(head_a(h), y,
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) *
           scale;
  }
  void zero() {
    for (auto& g : groups())
      for (auto& p : g.params) p.mutable_grad() = torch::Tensor();
  }
  void to(torch::Device device) {
    for (auto* m : {&enc1, &enc2, &head_a, &head_b}) (*m)->to(device);
    unused = torch::zeros({4}, torch::TensorOptions().device(device).requires_grad(true));
  }
};

// The L2 norm over every gradient the groups hold, in double.
double norm_of_grads(const std::vector<worker::ParamGroup>& groups) {
  double sum = 0;
  for (const auto& g : groups)
    for (const auto& p : g.params)
      if (p.grad().defined()) sum += p.grad().cpu().to(torch::kDouble).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

// The reducer's norm, taken while it wrote the gradients back, against `want` (on CPU; on
// a GPU it leaves the norm to the optimizer).
void expect_reducer_norm(const worker::GradReducer& reducer, double want, torch::Device device) {
  if (device.is_cuda()) {
    EXPECT_FALSE(reducer.grad_norm().has_value());
    return;
  }
  ASSERT_TRUE(reducer.grad_norm().has_value());
  EXPECT_NEAR(*reducer.grad_norm(), want, 1e-5 * want);
}

// Rows [begin, end) of this rank's contiguous, as-even-as-possible slice of n rows.
std::pair<int64_t, int64_t> slice(int64_t n, int rank, int world) {
  return {n * rank / world, n * (rank + 1) / world};
}

TEST_P(Backends, ReducedGradientsEqualTheGlobalBatchGradient) {
  comm::MpiContext& mpi = test::mpi();
  auto comm = make();
  const int64_t n = 7;  // uneven over 2 and 3 ranks
  torch::manual_seed(11);
  auto x = torch::randn({2 * n, 8});
  auto y = torch::randint(0, 3, {2 * n}, torch::kLong);

  // Reference: one process, the whole global batch (two micro-batches of n), mean loss.
  Toy ref;
  ref.loss(x, y, 1.0 / (2 * n)).backward();

  Toy toy;
  toy.to(device_);
  x = x.to(device_);
  y = y.to(device_);
  worker::GradReducer reducer(toy.groups(), comm.get(), mpi.size(), /*row_sparse=*/{}, /*bucket_bytes=*/256,
                              /*first=*/64);
  EXPECT_GT(reducer.num_buckets(), 3u);
  // Gradient accumulation over the two micro-batches; each rank takes its slice of each.
  // A rank's loss is scaled by world / global count so that the average over ranks is the mean.
  for (int micro = 0; micro < 2; ++micro) {
    auto [b, e] = slice(n, mpi.rank(), mpi.size());
    reducer.prepare({"encoder", "heads.a"}, /*reduce=*/micro == 1);
    if (e > b) {
      auto rows = torch::arange(micro * n + b, micro * n + e).to(device_);
      toy.loss(x.index_select(0, rows), y.index_select(0, rows), double(mpi.size()) / (2 * n)).backward();
    } else {
      // A rank with an empty slice still takes part with zero gradients.
      (toy.loss(x.narrow(0, 0, 1), y.narrow(0, 0, 1), 0.0)).backward();
    }
    reducer.finish();
  }
  auto a = toy.groups(), r = ref.groups();
  for (size_t g = 0; g < 2; ++g)
    for (size_t i = 0; i < a[g].params.size(); ++i) {
      if (a[g].name == "encoder" && i + 1 == a[g].params.size()) {
        EXPECT_FALSE(a[g].params[i].grad().defined()) << "unused parameter got a gradient";
        continue;
      }
      ASSERT_TRUE(a[g].params[i].grad().defined()) << a[g].name << " " << i;
      EXPECT_TRUE(torch::allclose(a[g].params[i].grad().cpu(), r[g].params[i].grad(), 1e-5, 1e-6))
          << a[g].name << " param " << i << "\n" << (a[g].params[i].grad().cpu() - r[g].params[i].grad()).abs().max();
    }
  for (auto& p : a[2].params) EXPECT_FALSE(p.grad().defined()) << "the inactive head received a gradient";
  expect_reducer_norm(reducer, norm_of_grads(r), device_);
  if (mpi.size() > 1) {
    EXPECT_GT(reducer.stats().buckets, 0);
  }
}

TEST_P(Backends, HeadSwitchBetweenSteps) {
  comm::MpiContext& mpi = test::mpi();
  auto comm = make();
  Toy toy;
  toy.to(device_);
  worker::GradReducer reducer(toy.groups(), comm.get(), mpi.size());
  torch::manual_seed(3);
  auto x = torch::randn({4, 8});
  for (int step = 0; step < 3; ++step) {
    toy.zero();
    bool use_b = step % 2 == 1;
    reducer.prepare({"encoder", use_b ? "heads.b" : "heads.a"});
    auto h = torch::tanh(toy.enc2(torch::relu(toy.enc1(x.to(device_)))));
    auto out = use_b ? toy.head_b(h).sum() : toy.head_a(h).sum();
    (out * (mpi.rank() + 1)).backward();
    reducer.finish();
    // Average over ranks of (rank + 1) * g = g * (world + 1) / 2.
    Toy single;
    auto hs = torch::tanh(single.enc2(torch::relu(single.enc1(x))));
    (use_b ? single.head_b(hs).sum() : single.head_a(hs).sum()).backward();
    double factor = (mpi.size() + 1) / 2.0;
    auto got = (use_b ? toy.head_b : toy.head_a)->weight.grad();
    auto want = (use_b ? single.head_b : single.head_a)->weight.grad() * factor;
    EXPECT_TRUE(torch::allclose(got.cpu(), want, 1e-5, 1e-6)) << "step " << step;
    EXPECT_FALSE((use_b ? toy.head_a : toy.head_b)->weight.grad().defined());
  }
}

// An embedding (rows looked up by ids) and a linear head, for the row-sparse path.
struct EmbeddingToy {
  torch::nn::Embedding emb{nullptr};
  torch::nn::Linear head{nullptr};
  EmbeddingToy(int64_t vocab, int64_t hidden) {
    torch::manual_seed(3);
    emb = torch::nn::Embedding(vocab, hidden);
    head = torch::nn::Linear(hidden, hidden);
  }
  std::vector<worker::ParamGroup> groups() { return {{"encoder", {emb->weight}}, {"heads.a", head->parameters()}}; }
  torch::Tensor loss(const torch::Tensor& ids, const torch::Tensor& target, double scale) {
    return (head(emb(ids).mean(1)) - target).pow(2).sum() * scale;
  }
};

TEST_P(Backends, RowSparseEmbeddingGradientEqualsTheDenseOne) {
  comm::MpiContext& mpi = test::mpi();
  auto comm = make();
  const int64_t n = 7, vocab = 5000, hidden = 6, looked_up = 40;
  torch::manual_seed(5);
  auto ids = torch::randint(0, looked_up, {2 * n, 5}, torch::kLong);
  auto target = torch::randn({2 * n, hidden});
  EmbeddingToy ref(vocab, hidden);
  ref.loss(ids, target, 1.0 / (2 * n)).backward();

  for (bool note : {true, false}) {
    EmbeddingToy toy(vocab, hidden);
    toy.emb->to(device_);
    toy.head->to(device_);
    worker::GradReducer reducer(toy.groups(), comm.get(), mpi.size(), toy.emb->weight);
    for (int micro = 0; micro < 2; ++micro) {
      auto [b, e] = slice(n, mpi.rank(), mpi.size());
      reducer.prepare({"encoder", "heads.a"}, /*reduce=*/micro == 1);
      torch::Tensor local_ids;
      if (e > b) {
        auto rows = torch::arange(micro * n + b, micro * n + e);
        local_ids = ids.index_select(0, rows).to(device_);
        toy.loss(local_ids, target.index_select(0, rows).to(device_), double(mpi.size()) / (2 * n)).backward();
      } else {
        local_ids = ids.narrow(0, 0, 1).to(device_);
        toy.loss(local_ids, target.narrow(0, 0, 1).to(device_), 0.0).backward();
      }
      if (note) reducer.note_rows(local_ids);
      reducer.finish();
    }
    ASSERT_TRUE(toy.emb->weight.grad().defined());
    EXPECT_TRUE(torch::allclose(toy.emb->weight.grad().cpu(), ref.emb->weight.grad(), 1e-5, 1e-7)) << "note " << note;
    EXPECT_TRUE(torch::allclose(toy.head->weight.grad().cpu(), ref.head->weight.grad(), 1e-5, 1e-7)) << "note " << note;
    EXPECT_EQ(toy.emb->weight.grad().narrow(0, looked_up, vocab - looked_up).abs().max().item<float>(), 0.0f);
    expect_reducer_norm(reducer, norm_of_grads(ref.groups()), device_);
    if (mpi.size() > 1) {
      const int64_t dense_bytes = vocab * hidden * 4;
      if (note)
        EXPECT_LT(reducer.stats().bytes, dense_bytes / 2) << "the embedding was reduced whole";
      else
        EXPECT_GE(reducer.stats().bytes, dense_bytes);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Mpi, Backends, ::testing::Values("mpi"));
#if MTDNN_HAVE_GLOO  // see cmake/torch.cmake: Debian's LibTorch 1.13, not the PyTorch wheel's
INSTANTIATE_TEST_SUITE_P(Gloo, Backends, ::testing::Values("gloo"));
#endif
INSTANTIATE_TEST_SUITE_P(MpiCuda, Backends, ::testing::Values("mpi-cuda"));
INSTANTIATE_TEST_SUITE_P(Nccl, Backends, ::testing::Values("nccl"));

}  // namespace
}  // namespace mtdnn
