#include "base/links.h"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "base/sodium_init.h"

namespace entitle::internal {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr int kEncoding = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr size_t kTokenLength =
    sodium_base64_ENCODED_LEN(kSecretBytes, kEncoding) - 1;

}  // namespace

LinkSecret MakeLinkSecret(Random& random) {
  EnsureSodium();
  std::array<uint8_t, kSecretBytes> secret;
  random.Fill(absl::MakeSpan(secret));
  char encoded[kTokenLength + 1];
  sodium_bin2base64(encoded, sizeof(encoded), secret.data(), secret.size(),
                    kEncoding);
  sodium_memzero(secret.data(), secret.size());
  LinkSecret link;
  link.token.assign(encoded, kTokenLength);
  link.hash = HashLinkToken(link.token);
  return link;
}

std::string HashLinkToken(std::string_view token) {
  EnsureSodium();
  if (token.size() != kTokenLength) return "";
  for (const char c : token) {
    const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!url_safe) return "";
  }
  std::string hash(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(hash.data()), hash.size(),
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return hash;
}

bool SameLinkHash(std::string_view a, std::string_view b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace entitle::internal
