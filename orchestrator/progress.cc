// Progress and its JSON (see progress.h).
#include "orchestrator/progress.h"

#include <cmath>

#include "common/error.h"

namespace mtdnn::orchestrator {

void LogWindowSums::add(double real_tokens, double loss, bool skipped) {
  ++steps;
  tokens += real_tokens;
  if (!skipped) {
    loss_sum += loss;
    ++finite_steps;
  }
}

double LogWindowSums::loss_avg() const {
  return finite_steps > 0 ? loss_sum / static_cast<double>(finite_steps) : NAN;
}

void Progress::advance(int64_t epoch_now, int64_t index, int64_t epoch_size) {
  ++step;
  const bool epoch_done = index + 1 >= epoch_size;
  epoch = epoch_done ? epoch_now + 1 : epoch_now;
  position = epoch_done ? 0 : index + 1;
}

nlohmann::json Progress::to_json() const {
  nlohmann::json j;
  j["step"] = step;
  j["epoch"] = epoch;
  j["position"] = position;
  j["log_window"] = {{"tokens", window.tokens},
                     {"loss_sum", window.loss_sum},
                     {"steps", window.steps},
                     {"finite_steps", window.finite_steps}};
  j["counters"] = {{"skipped_steps", skipped_steps},
                   {"examples", examples},
                   {"real_tokens", real_tokens},
                   {"bad_in_row", bad_in_row}};
  return j;
}

Progress Progress::from_json(const nlohmann::json& meta, const std::string& where) {
  try {
    Progress p;
    p.step = meta.at("step").get<int64_t>();
    p.epoch = meta.at("epoch").get<int64_t>();
    p.position = meta.at("position").get<int64_t>();
    const auto& w = meta.at("log_window");
    p.window.tokens = w.at("tokens").get<double>();
    p.window.loss_sum = w.at("loss_sum").get<double>();
    p.window.steps = w.at("steps").get<int64_t>();
    p.window.finite_steps = w.at("finite_steps").get<int64_t>();
    const auto& c = meta.at("counters");
    p.skipped_steps = c.at("skipped_steps").get<int64_t>();
    p.examples = c.at("examples").get<double>();
    p.real_tokens = c.at("real_tokens").get<double>();
    p.bad_in_row = c.at("bad_in_row").get<int64_t>();
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: meta.json has no valid training progress: {}", where, e.what()));
  }
}

}  // namespace mtdnn::orchestrator
