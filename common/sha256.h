// SHA-256 digests (OpenSSL's libcrypto) as lower-case hex: the identity of vocabularies,
// shards and checkpoint tensors.
#pragma once

#include <string>
#include <string_view>

namespace mtdnn {

// Digest of a byte string.
std::string sha256_hex(std::string_view bytes);
// Digest of a file's bytes, read in blocks; throws InputError naming the file.
std::string sha256_hex_file(const std::string& path);

// Incremental digest for data produced piece by piece.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string hex_digest();  // finalizes; call once

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL stays out of this header
};

}  // namespace mtdnn
