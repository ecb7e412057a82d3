// Email addresses (SPEC ID-1, ID-2, SEC-7).
//
// An `Email` is a validated address in its canonical form, so two `Email`s
// are equal exactly when the addresses are the same for entitle. An `Email`
// can only be made by `Email::Parse`, so holding one proves the address is
// plausible.
//
// The canonical form (what `str()` returns, what the store keeps and what
// every comparison uses):
//   - surrounding ASCII white space is trimmed;
//   - the local part is lower-cased with Unicode's full lower-case mapping
//     (language independent) and then put in NFC, so "ÅSA@x.example" and
//     "åsa@x.example" are one address. Lower-casing is not case folding:
//     "ß" and "ss" stay different, as a mail server may tell them apart;
//   - the domain is lower-case ASCII, each internationalized label written as
//     its A-label ("xn--..."): "bücher.example", "BÜCHER.example" and
//     "xn--bcher-kva.example" are all "xn--bcher-kva.example". The domain goes
//     through IDNA2008 with UTS #46 non-transitional mapping (libidn2) and must
//     read back the same (its A-labels decode to Unicode that encodes back to
//     them). That form is the one DNS and SMTP carry; `DomainForDisplay` gives
//     the Unicode spelling for people. A domain of plain ASCII labels is only
//     lower-cased.
//
// Plausible means (after trimming): exactly one `@`; a non-empty local part of
// at most 64 bytes and an address of at most 254 bytes, both counted in the
// canonical form (UTF-8, the domain in ASCII: RFC 5321 as extended by RFC
// 6531 counts octets; for an ASCII address bytes are characters); a domain of
// at most 253 characters of dot-separated, non-empty labels of at most 63
// characters, none starting or ending with `-`, with at least one dot; valid
// UTF-8; no white space (any Unicode space separator), no control characters
// (general category Cc: ASCII 0-31 and 127, C1 controls U+0080-U+009F), and no
// invisible or direction-changing characters (general category Cf, such as
// zero-width spaces, soft hyphens, byte order marks and the bidirectional
// controls U+200E, U+200F, U+202A-U+202E and U+2066-U+2069, and the other
// default-ignorable code points such as variation selectors): two addresses
// differing only in those look alike. That holds for the domain in either
// spelling: an A-label that decodes to such a character (IDNA allows the
// zero-width joiner and non-joiner in some scripts) is refused too, so every
// accepted domain is also accepted in Unicode. Any other character is
// accepted: entitle is not the place to reject internationalized addresses a
// mail server would deliver.
//
// A default-constructed `Email` is empty (`empty()` is true) and names no
// address; it exists so records can be default-constructed. `Parse` never
// returns one.
//
// Values are immutable and thread-compatible; the free functions are
// thread-safe.
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
  // Validates `text` and makes it canonical (above). On failure returns
  // InvalidArgument with `Reason::kInvalidEmail` and a message naming what is
  // wrong; a message about the characters does not quote the address, so no
  // control or bidirectional character reaches a log through it.
  static absl::StatusOr<Email> Parse(std::string_view text);

  Email() = default;

  // True only for a default-constructed `Email`.
  bool empty() const { return address_.empty(); }
  // The canonical address, e.g. "anna@example.com" or
  // "åsa@xn--bcher-kva.example".
  const std::string& str() const { return address_; }
  // The part before the `@`.
  std::string_view local_part() const;
  // The part after the `@`, in its canonical ASCII form, e.g. "example.com".
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

// The canonical form of a domain name, the same as an `Email`'s domain part
// (above): trimmed, a trailing dot removed, lower-case ASCII with A-labels, so
// a domain claimed as "bücher.example" is the domain of every address at
// "xn--bcher-kva.example" and the other way round. Fails with
// `Reason::kInvalidArgument` when the result is not a plausible domain (the
// rules for an email's domain above).
absl::StatusOr<std::string> NormalizeDomain(std::string_view text);

// The Unicode spelling of a canonical domain, for display: each A-label
// decoded ("xn--bcher-kva.example" gives "bücher.example"). A domain without
// A-labels, or one that does not decode, is returned as it is.
std::string DomainForDisplay(std::string_view domain);

}  // namespace entitle

#endif  // ENTITLE_EMAIL_H_
