// Password hashing as a port to the host (SPEC ID-5).
//
// entitle never stores a password: only the string a `PasswordHasher` makes of
// it. The default, `Argon2idHasher`, uses libsodium's Argon2id with a random
// salt per password and verifies in constant time; the stored string carries
// its own parameters, so a hash made with other parameters still verifies.
//
// Thread safety: implementations must be safe to call from any thread.
#ifndef ENTITLE_PASSWORD_HASHER_H_
#define ENTITLE_PASSWORD_HASHER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace entitle {

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // A salted hash of `password`. Fails with Unavailable / kStoreUnavailable
  // only when the system cannot provide the memory the hash needs.
  virtual absl::StatusOr<std::string> Hash(std::string_view password) const = 0;
  // True when `password` is the one `stored_hash` was made from. False for a
  // wrong password and for a `stored_hash` this hasher cannot read.
  virtual bool Verify(std::string_view stored_hash,
                      std::string_view password) const = 0;
};

// Argon2id cost parameters.
struct Argon2idParams {
  uint64_t ops_limit;
  size_t mem_limit_bytes;

  // libsodium's "interactive" level (2 passes, 64 MiB): the default.
  static Argon2idParams Interactive();
  // libsodium's "moderate" level (3 passes, 256 MiB), for hosts that can
  // afford a slower sign-in.
  static Argon2idParams Moderate();
  // The least Argon2id accepts (1 pass, 8 KiB). Still Argon2id, still salted
  // and constant-time, but cheap to brute-force: for tests only.
  static Argon2idParams MinimumForTests();
};

class Argon2idHasher final : public PasswordHasher {
 public:
  explicit Argon2idHasher(
      Argon2idParams params = Argon2idParams::Interactive());
  absl::StatusOr<std::string> Hash(std::string_view password) const override;
  bool Verify(std::string_view stored_hash,
              std::string_view password) const override;

 private:
  Argon2idParams params_;
};

}  // namespace entitle

#endif  // ENTITLE_PASSWORD_HASHER_H_
