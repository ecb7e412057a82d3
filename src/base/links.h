// Link secrets (INV-7's token rules): 256 random bits, shown once as 43
// URL-safe characters, stored only as their BLAKE2b-256 hash.
#ifndef ENTITLE_SRC_BASE_LINKS_H_
#define ENTITLE_SRC_BASE_LINKS_H_

#include <string>
#include <string_view>

#include "entitle/random.h"

namespace entitle::internal {

struct LinkSecret {
  std::string token;  // What the recipient gets; never stored.
  std::string hash;   // What the store keeps (32 raw bytes).
};

LinkSecret MakeLinkSecret(Random& random);

// The stored form of `token`. Empty when `token` cannot be one entitle made
// (wrong length or alphabet), so callers refuse it without a store lookup.
std::string HashLinkToken(std::string_view token);

// Constant-time equality of two stored hashes.
bool SameLinkHash(std::string_view a, std::string_view b);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_BASE_LINKS_H_
