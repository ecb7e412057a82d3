// Email addresses (SPEC ID-1, ID-2).
//
// An `Email` is a validated, normalized address: surrounding white space is
// trimmed and the whole address is lower-cased (ASCII letters only; other bytes
// are kept as they are), so two `Email`s are equal exactly when the addresses
// are the same for entitle. An `Email` can only be made by `Email::Parse`, so
// holding one proves the address is plausible.
//
// Plausible means (after trimming): at most 254 characters; exactly one `@`; a
// non-empty local part of at most 64 characters; a domain of dot-separated,
// non-empty labels with at least one dot; no white space, no control characters
// (ASCII 0-31 and 127, and C1 controls U+0080-U+009F), and valid UTF-8. Any
// other character is accepted: entitle is not the place to reject
// internationalized addresses a mail server would deliver.
//
// A default-constructed `Email` is empty (`empty()` is true) and names no
// address; it exists so records can be default-constructed. `Parse` never
// returns one.
//
// Values are immutable and thread-compatible.
#ifndef ENTITLE_EMAIL_H_
#define ENTITLE_EMAIL_H_

#include <compare>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace entitle {

class Email {
 public:
  // Validates and normalizes `text`. On failure returns InvalidArgument with
  // `Reason::kInvalidEmail` and a message naming what is wrong.
  static absl::StatusOr<Email> Parse(std::string_view text);

  Email() = default;

  // True only for a default-constructed `Email`.
  bool empty() const { return address_.empty(); }
  // The normalized address, e.g. "anna@example.com".
  const std::string& str() const { return address_; }
  // The part before the `@`.
  std::string_view local_part() const;
  // The part after the `@`, e.g. "example.com".
  std::string_view domain() const;

  friend auto operator<=>(const Email&, const Email&) = default;
  friend bool operator==(const Email&, const Email&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Email& email) {
    return H::combine(std::move(h), email.address_);
  }
  friend std::ostream& operator<<(std::ostream& os, const Email& email) {
    return os << email.address_;
  }

 private:
  explicit Email(std::string address, size_t at)
      : address_(std::move(address)), at_(at) {}
  std::string address_;
  size_t at_ = 0;
};

// Normalizes a domain name the way `Email` normalizes the domain part: trimmed,
// lower-cased, a trailing dot removed. Fails with `Reason::kInvalidArgument`
// when the result is not a plausible domain (the rules for an email's domain
// above).
absl::StatusOr<std::string> NormalizeDomain(std::string_view text);

}  // namespace entitle

#endif  // ENTITLE_EMAIL_H_
