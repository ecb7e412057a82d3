// libsodium must be initialized once before use.
#ifndef ENTITLE_SRC_BASE_SODIUM_INIT_H_
#define ENTITLE_SRC_BASE_SODIUM_INIT_H_

namespace entitle::internal {

// Initializes libsodium on first call; thread-safe; aborts if libsodium cannot
// start (it then has no secure randomness, and nothing here may go on).
void EnsureSodium();

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_BASE_SODIUM_INIT_H_
