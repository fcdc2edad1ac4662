// The gradient reducer's lifetime: its hooks leave the parameters with it. The parameters
// (the model) outlive the reducer, and a backward after the reducer is gone must neither
// reach the gradient backend nor touch the freed reducer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "worker/grad_reducer.h"

namespace mtdnn::worker {
namespace {

// A backend that counts its reductions and leaves the tensors as they are (one rank's sum).
class CountingComm : public comm::GradComm {
 public:
  struct Done : comm::GradWork {
    void wait() override {}
  };
  std::string name() const override { return "counting"; }
  std::unique_ptr<comm::GradWork> allreduce_sum(const at::Tensor&) override {
    ++calls;
    return std::make_unique<Done>();
  }
  int calls = 0;
};

TEST(GradReducer, HooksAreRemovedWithTheReducer) {
  torch::manual_seed(1);
  torch::nn::Linear layer(4, 3);
  CountingComm comm;
  auto loss = [&] { return layer->forward(torch::ones({2, 4})).pow(2).sum(); };
  {
    GradReducer reducer({{"encoder", layer->parameters()}}, &comm, /*world_size=*/2);
    reducer.prepare({"encoder"});
    loss().backward();
    reducer.finish();
    EXPECT_GT(comm.calls, 0);
    reducer.prepare({"encoder"});  // a reducer destroyed while it expects a backward
  }
  const int calls = comm.calls;
  for (auto& p : layer->parameters()) p.mutable_grad() = torch::Tensor();
  loss().backward();
  EXPECT_EQ(comm.calls, calls) << "a hook of the destroyed reducer ran";
  // The plain backward's gradient: 2 * y summed over the rows, times the input.
  torch::Tensor y = layer->forward(torch::ones({2, 4})).detach();
  EXPECT_TRUE(torch::allclose(layer->bias.grad(), 2 * y.sum(0)));
}

// The norm finish() takes while writing the gradients back equals the norm of what it wrote,
// over several buckets and several parallel chunks; a finish() that reduced nothing (an
// accumulation micro-step, one rank without a backend) leaves it to the optimizer.
TEST(GradReducer, NormIsTakenWhileWritingBack) {
  torch::manual_seed(2);
  torch::nn::Linear big(300, 200), small(200, 3);  // 60,000 weights: two chunks of the pass, several buckets
  std::vector<torch::Tensor> encoder = big->parameters();
  CountingComm comm;
  auto backward = [&] { small->forward(torch::tanh(big->forward(torch::randn({5, 300})))).pow(2).sum().backward(); };
  auto norm_of_grads = [&] {
    double sum = 0;
    for (const auto& list : {big->parameters(), small->parameters()})
      for (const auto& p : list) sum += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
    return std::sqrt(sum);
  };
  GradReducer reducer({{"encoder", encoder}, {"heads.a", small->parameters()}}, &comm, /*world_size=*/2,
                      /*row_sparse=*/{}, /*bucket_bytes=*/500, /*first_bucket_bytes=*/1000);
  ASSERT_GE(reducer.num_buckets(), 3u);
  reducer.prepare({"encoder", "heads.a"}, /*reduce=*/false);
  backward();
  reducer.finish();
  EXPECT_FALSE(reducer.grad_norm().has_value()) << "an accumulation micro-step reduces nothing";
  reducer.prepare({"encoder", "heads.a"});
  backward();
  reducer.finish();
  ASSERT_TRUE(reducer.grad_norm().has_value());
  const double want = norm_of_grads();
  EXPECT_NEAR(*reducer.grad_norm(), want, 1e-6 * want);

  GradReducer alone({{"encoder", encoder}, {"heads.a", small->parameters()}}, nullptr, /*world_size=*/1);
  alone.prepare({"encoder", "heads.a"});
  backward();
  alone.finish();
  EXPECT_FALSE(alone.grad_norm().has_value()) << "one rank: nothing reduced, the optimizer takes the norm";
}

}  // namespace
}  // namespace mtdnn::worker
