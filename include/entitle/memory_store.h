// A store kept in memory (store.h), for tests and for hosts that embed entitle
// without a file. Nothing survives the object.
//
// Thread-safe. One writer at a time (others wait); readers run beside each
// other but not beside a writer, so a reader always sees committed state.
#ifndef ENTITLE_MEMORY_STORE_H_
#define ENTITLE_MEMORY_STORE_H_

#include <memory>

#include "entitle/store.h"

namespace entitle {
namespace internal {
struct MemoryState;
}  // namespace internal

class MemoryStore final : public Store {
 public:
  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      TransactionMode mode) override;

 private:
  std::unique_ptr<internal::MemoryState> state_;
};

}  // namespace entitle

#endif  // ENTITLE_MEMORY_STORE_H_
