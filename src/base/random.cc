#include "entitle/random.h"

#include <sodium.h>

#include <cstdlib>

#include "base/sodium_init.h"

namespace entitle {
namespace internal {

void EnsureSodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();
    return true;
  }();
  (void)ready;
}

}  // namespace internal

void SodiumRandom::Fill(absl::Span<uint8_t> out) {
  internal::EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

SodiumRandom& SodiumRandom::Get() {
  static SodiumRandom* const random = new SodiumRandom();
  return *random;
}

}  // namespace entitle
