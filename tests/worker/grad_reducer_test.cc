// The gradient reducer's lifetime: its hooks leave the parameters with it. The parameters
// (the model) outlive the reducer, and a backward after the reducer is gone must neither
// reach the gradient backend nor touch the freed reducer.
#include <gtest/gtest.h>
#include <torch/torch.h>

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

}  // namespace
}  // namespace mtdnn::worker
