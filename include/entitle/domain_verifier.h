// Proof of a domain claim as a port to the host (SPEC ORG-9, SEC-4).
//
// A claim is proven by something only the domain's owner can place: a DNS TXT
// record carrying the claim's token. When an organization claims `acme.com`,
// Organizations::ClaimDomain returns the record to publish:
//
//   _entitle-challenge.acme.com.  TXT  "entitle-domain-verification=<token>"
//
// and Organizations::VerifyDomain asks DNS, through a `DomainVerifier`, for the
// TXT records at that name; the claim is verified when one of them carries the
// token. Handing the token back to the library proves nothing: anyone who
// claims a domain gets a token, only its owner can publish it.
//
// Choices:
//   - The record name is the label "_entitle-challenge" in front of the domain
//     in its A-label (punycode) form, so a domain claimed in Unicode
//     ("bücher.example") is proven at
//     "_entitle-challenge.xn--bcher-kva.example".
//   - The value is "entitle-domain-verification=" followed by the token (43
//     URL-safe characters). Other TXT records at the name are ignored, so
//     several organizations with a pending claim on one domain, or one claim
//     renewed, can each publish their own. A record split into several
//     character-strings is read joined; spaces around the token are ignored.
//   - The token is stored only as a hash; each published value is hashed and
//     compared in constant time.
//
// `DnsDomainVerifier` is the default (a Directory makes one with the system
// resolver when the host gives no verifier); tests and hosts with their own
// DNS client supply another.
#ifndef ENTITLE_DOMAIN_VERIFIER_H_
#define ENTITLE_DOMAIN_VERIFIER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace entitle {

// The label in front of the domain and the prefix of the value.
inline constexpr std::string_view kDomainChallengeLabel = "_entitle-challenge";
inline constexpr std::string_view kDomainChallengePrefix =
    "entitle-domain-verification=";

// The DNS name whose TXT records prove a claim on `domain`:
// "_entitle-challenge." + the domain's A-label form (lower case, no trailing
// dot). Fails with kInvalidArgument when `domain` has no A-label form (IDNA
// 2008 refuses it).
absl::StatusOr<std::string> DomainChallengeName(std::string_view domain);

// The TXT value that proves a claim whose token is `token`.
std::string DomainChallengeValue(std::string_view token);

// Answers "which TXT records does this DNS name have?".
//
// Thread safety: a Directory calls TxtRecords from whichever thread runs
// VerifyDomain, possibly from several at once; an implementation must allow
// that. It is called outside any store transaction and may block (for at most
// its own timeout).
class DomainVerifier {
 public:
  virtual ~DomainVerifier() = default;

  // The TXT records at `name` (an ASCII DNS name, as DomainChallengeName
  // makes it), one string per record, its character-strings joined.
  //   - The name does not exist (NXDOMAIN) or has no TXT record (NODATA): an
  //     empty vector, not an error (the service then reports
  //     kDomainProofMissing).
  //   - DNS could not be asked or gave no usable answer (no server
  //     configured or reachable, timeout, SERVFAIL, REFUSED, a malformed
  //     reply): kVerifierUnavailable (code kUnavailable). The service passes
  //     it on; any other failure it reports as kVerifierUnavailable too.
  virtual absl::StatusOr<std::vector<std::string>> TxtRecords(
      std::string_view name) = 0;
};

struct DnsVerifierOptions {
  // The DNS servers to ask, each "ip" or "ip:port" (IPv6 as "[ip]:port"),
  // tried in order. Default: empty, meaning the system resolver's servers
  // (/etc/resolv.conf). A list c-ares cannot read makes every lookup fail with
  // kVerifierUnavailable.
  std::vector<std::string> servers;
  // How long one lookup may take in all, retries included. Default: 5
  // seconds. Bounds: values under 10 ms are 10 ms, over 60 s are 60 s.
  absl::Duration timeout = absl::Seconds(5);
  // How often each server is asked before giving up (within `timeout`).
  // Default: 2. Bounds: 1 to 5 (values outside are clamped).
  int tries = 2;
};

// Asks DNS with c-ares: a TXT query (class IN) for the name exactly as given,
// with no search-domain suffixes, recursion desired.
//
// Thread-safe: each lookup uses its own resolver channel, so any number may
// run at once. Holds no sockets between lookups.
class DnsDomainVerifier final : public DomainVerifier {
 public:
  explicit DnsDomainVerifier(DnsVerifierOptions options = {});

  absl::StatusOr<std::vector<std::string>> TxtRecords(
      std::string_view name) override;

 private:
  DnsVerifierOptions options_;
};

}  // namespace entitle

#endif  // ENTITLE_DOMAIN_VERIFIER_H_
