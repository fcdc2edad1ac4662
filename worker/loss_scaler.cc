// The dynamic loss scaler (see loss_scaler.h).
#include "worker/loss_scaler.h"

#include <cmath>

#include "common/error.h"

namespace mtdnn::worker {

namespace {

bool power_of_two_at_least_one(double x) {
  if (!std::isfinite(x) || x < 1.0) return false;
  int exponent = 0;
  return std::frexp(x, &exponent) == 0.5;  // x = 0.5 x 2^exponent exactly
}

}  // namespace

LossScaler::LossScaler(LossScalerOptions options) : options_(options), scale_(options.init_scale) {
  MTDNN_INPUT_CHECK(power_of_two_at_least_one(options_.init_scale),
                    "--loss-scale-init {}: the loss scale must be a power of two >= 1 (e.g. 65536)",
                    options_.init_scale);
  MTDNN_INPUT_CHECK(options_.growth_interval >= 1, "--loss-scale-window {}: must be at least 1",
                    options_.growth_interval);
}

void LossScaler::update(bool overflow) {
  if (overflow) {
    scale_ = std::max(1.0, scale_ / 2);
    clean_steps_ = 0;
    return;
  }
  if (++clean_steps_ < options_.growth_interval) return;
  clean_steps_ = 0;
  // Far below float32's range: a loss times this scale stays finite (2^64 x any loss a
  // network produces), and the gradients' overflow test keeps it from climbing that far.
  if (scale_ < 0x1p64) scale_ *= 2;
}

nlohmann::json LossScaler::to_json() const { return {{"scale", scale_}, {"clean_steps", clean_steps_}}; }

void LossScaler::restore(const nlohmann::json& state, const std::string& where) {
  MTDNN_INPUT_CHECK(state.is_object() && state.contains("scale") && state["scale"].is_number() &&
                        state.contains("clean_steps") && state["clean_steps"].is_number_integer(),
                    "{}: loss_scaler wants {{\"scale\": <power of two>, \"clean_steps\": <integer>}}, got {}", where,
                    state.dump());
  const double scale = state["scale"].get<double>();
  const int64_t clean = state["clean_steps"].get<int64_t>();
  MTDNN_INPUT_CHECK(power_of_two_at_least_one(scale) && clean >= 0,
                    "{}: loss_scaler state {} is not a power-of-two scale >= 1 with a count >= 0", where, state.dump());
  scale_ = scale;
  clean_steps_ = clean;
}

}  // namespace mtdnn::worker
