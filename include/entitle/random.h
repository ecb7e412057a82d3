// Randomness as a port to the host.
//
// Every secret entitle makes (invitation, reset, verification and request
// links) comes from a `Random`. The default is libsodium's CSPRNG; a host may
// supply another cryptographically secure source (an HSM, say). Never supply a
// predictable one outside tests: link tokens are bearer secrets.
//
// Thread safety: implementations must be safe to call from any thread.
#ifndef ENTITLE_RANDOM_H_
#define ENTITLE_RANDOM_H_

#include <cstdint>

#include "absl/types/span.h"

namespace entitle {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with cryptographically secure random bytes. Cannot fail.
  virtual void Fill(absl::Span<uint8_t> out) = 0;
};

// libsodium's randombytes_buf (getrandom(2) on Linux).
class SodiumRandom final : public Random {
 public:
  void Fill(absl::Span<uint8_t> out) override;
  // A process-wide instance; never destroyed.
  static SodiumRandom& Get();
};

}  // namespace entitle

#endif  // ENTITLE_RANDOM_H_
