// Asymmetric fences for the seat pool: the reserve path (hot) and the reaper
// (cold) each write one word and read the other's. Instead of a fence on every
// reservation, the reaper has the kernel run a full barrier on every thread of
// the process (Linux membarrier, private expedited), and the reserve path only
// keeps the compiler from reordering.
//
// Not part of the API: the header-only seat pool needs it inline. Both
// functions are thread-safe.
#ifndef ENTITLE_INTERNAL_ASYMMETRIC_FENCE_H_
#define ENTITLE_INTERNAL_ASYMMETRIC_FENCE_H_

#include <cstdlib>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace entitle {
namespace internal {

// Registers the process for HeavyFence, once per process; true when it may be
// used. False where the kernel lacks membarrier, and pools then fence on both
// sides.
inline bool RegisterAsymmetricFences() {
#if defined(__linux__)
  static const bool registered = [] {
    const long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0 || (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
      return false;
    }
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                   0) == 0;
  }();
  return registered;
#else
  return false;
#endif
}

// The heavy side: returns once every thread of the process has passed a full
// memory barrier. Only called when RegisterAsymmetricFences() was true.
inline void HeavyFence() {
#if defined(__linux__)
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
    return;
  }
#endif
  std::abort();  // Registered, so the kernel cannot refuse.
}

}  // namespace internal
}  // namespace entitle

#endif  // ENTITLE_INTERNAL_ASYMMETRIC_FENCE_H_
