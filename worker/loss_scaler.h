// Dynamic loss scaling for --precision fp16: the loss is multiplied by scale() before
// backward, so that small activation gradients, which autocast computes in float16, do not
// flush to zero; the reduced float32 gradients are divided by it again before clipping and
// the update. A step whose reduced gradients (or loss) are not finite is skipped and the
// scale halved; after `growth_interval` clean steps in a row it is doubled. This is the rule
// of PyTorch's GradScaler and of Megatron's dynamic scaler, with the factors fixed at 2 and
// 1/2 and the scale kept a power of two: multiplying and dividing by it is then exact in
// float32, so scaling changes no bit of an update beyond what float16 itself rounds.
//
// The scale never falls below 1: an overflow at scale 1 is not one the scaler can absorb,
// and the trainer's --max-bad-steps guard counts it (a diverging run). Every rank holds the
// same state (the skip is agreed in R4); rank 0 saves it in the checkpoint's meta.json.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace mtdnn::worker {

struct LossScalerOptions {
  double init_scale = 65536.0;     // 2^16 (--loss-scale-init); a power of two
  int64_t growth_interval = 2000;  // clean steps before the scale doubles (--loss-scale-window)
};

class LossScaler {
 public:
  // InputError unless init_scale is a power of two >= 1 and growth_interval >= 1.
  explicit LossScaler(LossScalerOptions options = {});

  double scale() const { return scale_; }
  // Clean steps since the last overflow or growth.
  int64_t clean_steps() const { return clean_steps_; }
  // Whether the scale can still fall: an overflow now is one the scaler absorbs.
  bool can_back_off() const { return scale_ > 1.0; }

  // After a step: `overflow` (its gradients or loss were not finite, the step was skipped)
  // halves the scale (down to 1); otherwise the clean step counts towards growth.
  void update(bool overflow);

  // {"scale": S, "clean_steps": N}: the state a resumed run continues from exactly.
  nlohmann::json to_json() const;
  // InputError naming `where` for a malformed state (not a power of two, negative counts).
  void restore(const nlohmann::json& state, const std::string& where);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;
};

}  // namespace mtdnn::worker
