// SHA-256 through OpenSSL's EVP interface (see sha256.h).
#include "common/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "common/error.h"

namespace mtdnn {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  MTDNN_CHECK(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  MTDNN_CHECK(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1,
              "EVP_DigestInit_ex failed");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(const void* data, size_t size) {
  MTDNN_CHECK(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size) == 1,
              "EVP_DigestUpdate failed");
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  MTDNN_CHECK(EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &len) == 1,
              "EVP_DigestFinal_ex failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex_digest();
}

std::string sha256_hex_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open file", path);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  MTDNN_INPUT_CHECK(in.eof(), "{}: read error", path);
  return h.hex_digest();
}

}  // namespace mtdnn
