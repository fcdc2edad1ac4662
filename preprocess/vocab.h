// A BERT WordPiece vocabulary (vocab.txt: one token per line, id = line number, 0-based).
// Loaded and validated once by mtdnn-preprocess; the WordPieceTokenizer builds its own
// lookup tables from it, and the shard manifest records sha256() as the vocabulary's
// identity.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtdnn::preprocess {

class Vocab {
 public:
  // Reads and validates a vocab.txt; throws InputError naming the file (and line).
  static Vocab load(const std::string& path);
  // Validates `content` (the bytes of a vocab.txt); errors name `origin:line`.
  // A final newline is optional; every line must be a non-empty, unique, valid UTF-8
  // token, and [CLS], [SEP], [UNK] and [PAD] must be present ([MASK] is optional).
  static Vocab parse(std::string_view content, const std::string& origin);

  // Id of `token`, or -1 when absent.
  int32_t id(std::string_view token) const;
  // The token with this id; throws Error when the id is out of range.
  const std::string& token(int32_t id) const;
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // Lower-case hex SHA-256 of the file's bytes.
  const std::string& sha256() const { return sha256_; }

  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t mask_id() const { return mask_id_; }  // -1 when the vocabulary has no [MASK]

 private:
  Vocab() = default;
  // Open-addressing slot of `token`: the slot holding its id, or the empty slot (-1)
  // where it would go. Slots hold ids so copies of a Vocab stay valid.
  size_t find_slot(std::string_view token) const;

  std::vector<std::string> tokens_;
  std::vector<int32_t> slots_;  // power-of-two sized, -1 = empty
  std::string sha256_;
  int32_t cls_id_ = -1;
  int32_t sep_id_ = -1;
  int32_t unk_id_ = -1;
  int32_t pad_id_ = -1;
  int32_t mask_id_ = -1;
};

}  // namespace mtdnn::preprocess
