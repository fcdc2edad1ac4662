// CommError keeps its type when a layer adds context to it (the batch loader does, for
// every error of its prefetch thread): a communication failure must not arrive as a plain
// error.
#include <gtest/gtest.h>

#include "comm/comm_error.h"

namespace mtdnn::comm {
namespace {

TEST(CommError, AddedContextKeepsTheType) {
  try {
    rethrow_with_context(CommError("rank 2: peer gone"), "loading step 3 of epoch 0");
  } catch (const CommError& e) {
    EXPECT_STREQ(e.what(), "loading step 3 of epoch 0: rank 2: peer gone");
    return;
  } catch (const std::exception& e) {
    FAIL() << "a CommError arrived as another type: " << e.what();
  }
  FAIL() << "nothing thrown";
}

TEST(CommError, OtherErrorsKeepTheirTypesAndForeignOnesBecomeErrors) {
  EXPECT_THROW(rethrow_with_context(InputError("bad row"), "ctx"), InputError);
  EXPECT_THROW(rethrow_with_context(SystemError("disk"), "ctx"), SystemError);
  try {
    rethrow_with_context(std::out_of_range("index"), "ctx");
  } catch (const InputError&) {
    FAIL() << "a foreign exception must not become an input error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "ctx: index");
  }
}

}  // namespace
}  // namespace mtdnn::comm
