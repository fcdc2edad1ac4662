// What every row source shares (see row_source.h).
#include "preprocess/row_source.h"

#include <fmt/format.h>

#include "preprocess/tsv_reader.h"

namespace mtdnn::preprocess {

bool start_row(TsvReader& reader, std::vector<std::string_view>* fields, RawRow* row) {
  *row = RawRow();
  const auto status = reader.next(fields);
  if (status == TsvReader::Status::kEnd) return false;
  row->line = reader.line();
  if (status == TsvReader::Status::kTooLong) row->error = fmt::format("line longer than {} bytes", kMaxLineBytes);
  return true;
}

}  // namespace mtdnn::preprocess
