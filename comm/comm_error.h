// The error of the communication room: a failed or disagreeing collective (MPI errors,
// ranks that disagree, a dead peer, a gradient backend that failed). Thrown by the control
// plane and the gradient backends; main() turns it into an exit status on every rank.
#pragma once

#include <string>

#include "common/error.h"

namespace mtdnn::comm {

class CommError : public Error {
 public:
  explicit CommError(const std::string& what) : Error(what) {}
  [[noreturn]] void rethrow_with(const std::string& what) const override { throw CommError(what); }
};

}  // namespace mtdnn::comm
