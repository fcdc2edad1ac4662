// The one monotonic clock for durations (step times, waits, checkpoint phases) and the
// seconds since a time point on it. Used by the batch loader, the checkpoint writer, the
// distributed step and the trainer's report.
#pragma once

#include <chrono>

namespace mtdnn {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace mtdnn
