// The table of gradient backends: names both ways, availability in this build, and the
// message for a backend this build does not have.
#include <gtest/gtest.h>

#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {

TEST(CommBackend, NamesAndAvailability) {
  EXPECT_EQ(parse_comm_backend("gloo"), CommBackend::kGloo);
  EXPECT_THROW(parse_comm_backend("tcp"), InputError);
  EXPECT_TRUE(comm_backend_available(CommBackend::kMpi));
  // What the configure step found (cmake/torch.cmake): Gloo with Debian's LibTorch, not with
  // the PyTorch wheel's, which ships no Gloo headers.
  EXPECT_EQ(comm_backend_available(CommBackend::kGloo), MTDNN_HAVE_GLOO != 0);
}

TEST(CommBackend, NamesRoundTrip) {
  for (auto b : {CommBackend::kMpi, CommBackend::kGloo, CommBackend::kNccl})
    EXPECT_EQ(parse_comm_backend(to_string(b)), b);
  try {
    parse_comm_backend("tcp");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("expected mpi, gloo or nccl, got 'tcp'"), std::string::npos);
  }
}

}  // namespace
}  // namespace mtdnn::comm
