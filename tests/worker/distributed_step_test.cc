// The distributed step's loss scaling rule (loss_scale) against hand computations: with the
// reducer's division by the world size, each rank's mean loss counts by its share of the
// global batch, so that the gradient is the global batch's mean on 1 and on 3 ranks.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "worker/distributed_step.h"

namespace mtdnn::worker {
namespace {

TEST(DistributedStep, LossScaleOnOneRankIsOne) {
  EXPECT_DOUBLE_EQ(loss_scale(4, 4, 1), 1.0);  // the whole batch, one micro-batch
  EXPECT_DOUBLE_EQ(loss_scale(3, 4, 1), 0.75);  // micro-batches of 3 and 1 items
  EXPECT_DOUBLE_EQ(loss_scale(1, 4, 1), 0.25);
  EXPECT_DOUBLE_EQ(loss_scale(0, 0, 1), 0.0);   // no targets at all: nothing to weigh
}

TEST(DistributedStep, LossScaleOnThreeRanksByHand) {
  // A global batch of 4 items on 3 ranks: slices of 2, 1 and 1 items.
  EXPECT_DOUBLE_EQ(loss_scale(2, 4, 3), 1.5);   // 2 x 3 / 4
  EXPECT_DOUBLE_EQ(loss_scale(1, 4, 3), 0.75);  // 1 x 3 / 4
  // After the reducer's 1/3 the shares are 2/4, 1/4, 1/4: they sum to one.
  EXPECT_DOUBLE_EQ((loss_scale(2, 4, 3) + 2 * loss_scale(1, 4, 3)) / 3, 1.0);
  // A masked LM with 5, 0 and 3 targets of 8: a rank without targets weighs nothing.
  EXPECT_DOUBLE_EQ(loss_scale(5, 8, 3), 15.0 / 8);
  EXPECT_DOUBLE_EQ(loss_scale(0, 8, 3), 0.0);
  EXPECT_DOUBLE_EQ(loss_scale(3, 8, 3), 9.0 / 8);
}

// The gradient of w for a mean squared loss (w x - y)^2 over `rows`, scaled by `scale`.
torch::Tensor scaled_grad(const std::vector<std::pair<double, double>>& rows, double scale) {
  torch::Tensor w = torch::tensor({0.5}, torch::dtype(torch::kDouble).requires_grad(true));
  torch::Tensor loss = torch::zeros({1}, torch::kDouble);
  for (const auto& [x, y] : rows) loss = loss + (w * x - y).pow(2);
  (loss / static_cast<double>(rows.size()) * scale).sum().backward();
  return w.grad().clone();
}

TEST(DistributedStep, ScaledMeansSumToTheGlobalBatchsGradient) {
  const std::vector<std::pair<double, double>> batch = {{1, 2}, {3, -1}, {-2, 0.5}, {4, 4}};
  const torch::Tensor global = scaled_grad(batch, 1.0);
  // One rank: the whole batch, scale 1, the reducer divides by 1.
  EXPECT_TRUE(torch::allclose(scaled_grad(batch, loss_scale(4, 4, 1)), global));
  // Three ranks with 2, 1 and 1 rows: the reducer sums and divides by 3.
  const torch::Tensor summed = scaled_grad({batch[0], batch[1]}, loss_scale(2, 4, 3)) +
                               scaled_grad({batch[2]}, loss_scale(1, 4, 3)) +
                               scaled_grad({batch[3]}, loss_scale(1, 4, 3));
  EXPECT_TRUE(torch::allclose(summed / 3, global)) << summed / 3 << " vs " << global;
  // Hand value: d/dw mean (w x - y)^2 = mean 2 x (w x - y) at w = 0.5:
  // 2 (1 (-1.5) + 3 (2.5) + (-2)(-1.5) + 4 (-2)) / 4 = 2 (-1.5 + 7.5 + 3 - 8) / 4 = 0.5.
  EXPECT_NEAR(global.item<double>(), 0.5, 1e-12);
}

}  // namespace
}  // namespace mtdnn::worker
