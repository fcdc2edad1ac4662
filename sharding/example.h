// One tokenized example as it travels from the featurizer to a shard and back to a
// training loader. Ranking tasks store each candidate as an example; shards group them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mtdnn::sharding {

struct Example {
  std::string uid;
  std::vector<int32_t> token_ids;  // [CLS] a [SEP] (b [SEP]), no padding
  int32_t type_boundary = 0;       // token type is 0 before this position, 1 from it on
  int32_t label = -1;              // class id (classification, ranking: 1 = positive)
  float score = 0.0f;              // regression target
};

}  // namespace mtdnn::sharding
