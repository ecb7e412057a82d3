#include "entitle/password_hasher.h"

#include <sodium.h>

#include <string>
#include <string_view>

#include "base/sodium_init.h"
#include "entitle/status.h"

namespace entitle {

Argon2idParams Argon2idParams::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

Argon2idParams Argon2idParams::Moderate() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
          crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
}

Argon2idParams Argon2idParams::MinimumForTests() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN,
          crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Argon2idHasher::Argon2idHasher(Argon2idParams params) : params_(params) {
  internal::EnsureSodium();
}

absl::StatusOr<std::string> Argon2idHasher::Hash(
    std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            params_.ops_limit, params_.mem_limit_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return MakeError(absl::StatusCode::kUnavailable, Reason::kStoreUnavailable,
                     "not enough memory to hash the password");
  }
  return std::string(out);
}

bool Argon2idHasher::Verify(std::string_view stored_hash,
                            std::string_view password) const {
  // libsodium reads a NUL-terminated string of at most STRBYTES - 1.
  if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES) {
    return false;
  }
  const std::string terminated(stored_hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(),
                                  password.size()) == 0;
}

}  // namespace entitle
