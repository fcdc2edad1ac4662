// Helpers shared by the test binaries: where the real GLUE data and the repository
// live, scratch folders that clean up after themselves, and running the executables.
#pragma once

#include <filesystem>
#include <string>

namespace mtdnn::test {

// ../shared/data beside the repository, or $MTDNN_DATA_DIR. Empty when absent.
std::filesystem::path data_dir();
// The repository root (for tasks/glue.yml and the like).
std::filesystem::path source_dir();
// build/bin, where the executables are.
std::filesystem::path bin_dir();

// A fresh empty folder under the system temp folder, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs a shell command; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output = nullptr);

// Writes `content` to `path`, creating parent folders.
void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

}  // namespace mtdnn::test

// Skips the current test with a message when the shared GLUE data is not present.
#define MTDNN_REQUIRE_DATA()                                                          \
  do {                                                                                \
    if (::mtdnn::test::data_dir().empty())                                            \
      GTEST_SKIP() << "real GLUE data not found (set MTDNN_DATA_DIR or place "         \
                      "../shared/data beside the repository)";                        \
  } while (0)
