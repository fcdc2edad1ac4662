// mtdnn-train: multi-task training of MT-DNN on MPI ranks (mpirun / srun), every rank a
// worker and rank 0 also the orchestrator. Parses the options, runs the trainer and turns
// any rank's error into "rank N: error: ..." and an MPI_Abort so that no rank hangs.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "common/program_main.h"
#include "comm/mpi_context.h"
#include "comm/round_protocol.h"
#include "orchestrator/stop_request.h"
#include "orchestrator/train_options.h"
#include "orchestrator/trainer.h"

namespace {

using namespace mtdnn;
using namespace mtdnn::orchestrator;

int run(int argc, char** argv, comm::MpiContext& mpi) {
  const bool rank0 = mpi.rank() == 0;
  ParsedCommandLine parsed = parse_train_command_line(argc, argv);
  if (parsed.help) {
    if (rank0) std::cout << parsed.help_text << "\n";
    return 0;
  }
  // The c10d backends' meeting points across nodes come from the environment.
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  parsed.options.endpoints.store_address = env("MTDNN_STORE_ADDR");
  parsed.options.endpoints.gloo_interface = env("MTDNN_GLOO_IFACE");
  // Every collective from here on waits against --comm-timeout (comm/comm_deadline.h).
  mpi.set_timeout(parsed.options.comm_timeout);
  auto plane = comm::make_mpi_control_plane(mpi);
  install_stop_handlers();
  Trainer trainer(parsed.options, *plane);
  if (rank0) std::cout << trainer.resolved_config_json() << "\n" << std::flush;
  if (parsed.options.dry_run) {
    if (rank0) std::cout << trainer.schedule_summary() << std::flush;
    return 0;
  }
  TrainResult result = trainer.run();
  if (!result.stop_signal.empty()) {
    if (rank0)
      log_info("stopped by {} after step {} of {}; checkpoint in {}/checkpoints (run again with --resume auto "
               "to continue); exit status {}", result.stop_signal, result.steps, trainer.total_steps(),
               parsed.options.out_dir, kExitStoppedForRequeue);
    return kExitStoppedForRequeue;
  }
  if (rank0) {
    std::cout << "task\tsplit\tmetric\tvalue\n";
    for (const auto& e : result.evaluations)
      if (e.step == result.steps)
        for (const auto& [name, value] : e.metrics)
          std::cout << e.task << "\t" << e.split << "\t" << name << "\t" << fmt::format("{:.2f}", value) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // At once: a stop signal that arrives while MPI starts must not kill the rank (its default
  // action), only be noted. run() installs the handlers again after MPI_Init in case the MPI
  // library replaced them.
  mtdnn::orchestrator::install_stop_handlers();
  std::unique_ptr<mtdnn::comm::MpiContext> mpi;
  mtdnn::ProgramErrors errors;
  return mtdnn::program_main<mtdnn::NoUsageError>(
      "mtdnn-train",
      [&] {
        try {
          mpi = std::make_unique<mtdnn::comm::MpiContext>(&argc, &argv);
        } catch (const std::exception& e) {
          throw mtdnn::Error(fmt::format("cannot start MPI: {}", e.what()));
        }
        errors.prefix = fmt::format("rank {}: ", mpi->rank());
        return run(argc, argv, *mpi);
      },
      errors,
      [&] {
        if (mpi && mpi->size() > 1) mtdnn::comm::MpiContext::abort(1);
      });
}
