// Stop requests from the outside world: SIGUSR1 (Slurm's pre-timeout or preemption signal,
// forwarded by the batch script) and SIGTERM (time limit, scancel) only set a flag here;
// the trainer asks at each round boundary whether any rank saw one, so every rank agrees
// to checkpoint and stop at the same step. Used by mtdnn-train.
#pragma once

#include <string>

namespace mtdnn::orchestrator {

// Exit status of mtdnn-train after a stop request: a checkpoint was written and training
// is not finished. slurm/train.sbatch requeues the job on it.
inline constexpr int kExitStoppedForRequeue = 85;

// Installs the handlers for SIGUSR1 and SIGTERM (async-signal-safe: they set a flag).
void install_stop_handlers();
// Whether this process received a stop signal, and which ("SIGUSR1", "SIGTERM" or "").
bool stop_requested();
std::string stop_signal_name();
// For tests: forget a received signal.
void reset_stop_request();

}  // namespace mtdnn::orchestrator
