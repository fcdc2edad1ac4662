// The command line of every mtdnn executable: Boost.Program_options over argv and, when
// --config names one, an INI file with the same keys (the command line wins). Header-only:
// only the executables, which link Boost.Program_options, include it.
#pragma once

#include <boost/program_options.hpp>

#include <fstream>
#include <string>

#include "common/error.h"

namespace mtdnn {

// Fills `vm` from argv and the --config file and runs the notifiers. Returns false when
// --help was given (nothing else is parsed then). Boost's own errors (unknown or malformed
// options) pass through, naming the --config file when they come from it; a --config file
// that cannot be opened is an InputError.
inline bool parse_command_line_and_config(int argc, const char* const* argv,
                                          const boost::program_options::options_description& desc,
                                          boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) return false;
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream in(path);
    MTDNN_INPUT_CHECK(in.good(), "--config {}: cannot open the file", path);
    try {
      po::store(po::parse_config_file(in, desc), vm);
    } catch (const po::error& e) {
      throw po::error(fmt::format("--config {}: {}", path, e.what()));  // name the file
    }
  }
  po::notify(vm);
  return true;
}

}  // namespace mtdnn
