// Error propagation for code that returns absl::Status or absl::StatusOr<T>:
//
//   ENTITLE_RETURN_IF_ERROR(tx.identities().Update(record));
//   ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity, tx.identities().Get(id));
//
// RETURN_IF_ERROR takes a Status or a StatusOr and returns its status from the
// enclosing function when it is not OK. ASSIGN_OR_RETURN evaluates a
// StatusOr once, returns its status when it is not OK, and otherwise moves its
// value into `lhs` (a declaration or an existing variable). Both work in
// functions returning Status or any StatusOr.
#ifndef ENTITLE_SRC_BASE_STATUS_MACROS_H_
#define ENTITLE_SRC_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace entitle::internal {

inline const absl::Status& StatusOf(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace entitle::internal

#define ENTITLE_RETURN_IF_ERROR(expr)                           \
  do {                                                          \
    if (const auto& entitle_result_ = (expr);                   \
        !::entitle::internal::StatusOf(entitle_result_).ok()) { \
      return ::entitle::internal::StatusOf(entitle_result_);    \
    }                                                           \
  } while (false)

#define ENTITLE_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define ENTITLE_STATUS_MACROS_CONCAT_(a, b) \
  ENTITLE_STATUS_MACROS_CONCAT_INNER_(a, b)

#define ENTITLE_ASSIGN_OR_RETURN(lhs, rexpr) \
  ENTITLE_ASSIGN_OR_RETURN_IMPL_(            \
      ENTITLE_STATUS_MACROS_CONCAT_(entitle_status_or_, __LINE__), lhs, rexpr)

#define ENTITLE_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, rexpr) \
  auto status_or = (rexpr);                                   \
  if (!status_or.ok()) return std::move(status_or).status();  \
  lhs = *std::move(status_or)

#endif  // ENTITLE_SRC_BASE_STATUS_MACROS_H_
