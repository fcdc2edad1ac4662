// Reading JSON documents this project is handed (config.json, meta.json, safetensors
// headers) with errors that name the document.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mtdnn {

// `text` parsed; InputError "<where>: not valid JSON: ..." or "<where>: must hold a JSON
// object" otherwise.
nlohmann::json parse_json_object(const std::string& text, const std::string& where);

}  // namespace mtdnn
