// The command line of every mtdnn executable: Boost.Program_options over argv and, when
// --config names one, an INI file with the same keys (the command line wins). Header-only:
// only the executables, which link Boost.Program_options, include it.
#pragma once

#include <boost/program_options.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "common/error.h"

namespace mtdnn {

// Fills `vm` from argv (`positional` names the options that bare arguments fill) and the
// --config file when the description has that option, and runs the notifiers. Returns false when
// --help was given (nothing else is parsed then). Boost's own errors (unknown or malformed
// options) pass through, naming the --config file when they come from it; a --config file
// that cannot be opened is an InputError.
inline bool parse_command_line_and_config(int argc, const char* const* argv,
                                          const boost::program_options::options_description& desc,
                                          boost::program_options::variables_map& vm,
                                          const boost::program_options::positional_options_description& positional = {}) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(argc, argv).options(desc).positional(positional).run(), vm);
  if (vm.count("help")) return false;
  if (desc.find_nothrow("config", false) && vm.count("config")) {
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

// For the benchmarks and test tools: parses as above, prints the help after --help and
// exits 0, or prints the error and the help and exits 2.
inline void parse_command_line_or_exit(int argc, const char* const* argv,
                                       const boost::program_options::options_description& desc,
                                       boost::program_options::variables_map& vm,
                                       const boost::program_options::positional_options_description& positional = {}) {
  try {
    if (parse_command_line_and_config(argc, argv, desc, vm, positional)) return;
    std::cout << desc << "\n";
    std::exit(0);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n" << desc << "\n";
    std::exit(2);
  }
}

}  // namespace mtdnn
