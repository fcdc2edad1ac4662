// JSON documents (see json_util.h).
#include "common/json_util.h"

#include "common/error.h"

namespace mtdnn {

nlohmann::json parse_json_object(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
  MTDNN_INPUT_CHECK(j.is_object(), "{}: must hold a JSON object", where);
  return j;
}

}  // namespace mtdnn
