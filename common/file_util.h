// File-system helpers with the project's durability rule: a file is either complete or
// absent. Used by the manifest writer, mtdnn-preprocess's output commit and checkpoints.
#pragma once

#include <string>

namespace mtdnn {

// Writes `content` to `path` via `path.tmp-<pid>`, fsyncs it, renames it into place and
// fsyncs the folder. Throws SystemError naming the file (e.g. disk full).
void write_file_atomic(const std::string& path, const std::string& content);

// fsync of a file or folder; throws SystemError naming it.
void fsync_path(const std::string& path);

// Whole file as bytes; InputError naming it when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace mtdnn
