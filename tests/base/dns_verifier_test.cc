// DnsDomainVerifier against a real DNS server (dnsmasq, started by the test on
// 127.0.0.1), and the record name and value a claim is proven by (SEC-4,
// entitle/domain_verifier.h).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/domain_verifier.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/dnsmasq.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using entitle::DnsDomainVerifier;
using entitle::DnsVerifierOptions;
using entitle::Reason;

const std::string kToken = "Zq3v0A9mXcT1uJkL8pR2sW5yB7dE4fG6hN0oQ1iU2xY";
const std::string kRecord = "_entitle-challenge.victim.example";

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// clang-format off
TEST_CASE("SEC-4 the proof of a claim is a TXT record at _entitle-challenge under the domain's A-label form", "[domains][dns]") {
  // clang-format on
  auto name = entitle::DomainChallengeName("victim.example");
  ENTITLE_REQUIRE_OK(name);
  CHECK(*name == kRecord);
  name = entitle::DomainChallengeName("Victim.EXAMPLE.");
  ENTITLE_REQUIRE_OK(name);
  CHECK(*name == kRecord);
  // A Unicode domain is asked for in its punycode spelling, whichever
  // spelling the claim used.
  name = entitle::DomainChallengeName("bücher.example");
  ENTITLE_REQUIRE_OK(name);
  CHECK(*name == "_entitle-challenge.xn--bcher-kva.example");
  name = entitle::DomainChallengeName("BÜCHER.example");
  ENTITLE_REQUIRE_OK(name);
  CHECK(*name == "_entitle-challenge.xn--bcher-kva.example");
  name = entitle::DomainChallengeName("xn--bcher-kva.example");
  ENTITLE_REQUIRE_OK(name);
  CHECK(*name == "_entitle-challenge.xn--bcher-kva.example");
  CHECK(entitle::DomainChallengeValue(kToken) ==
        "entitle-domain-verification=" + kToken);

  for (const std::string& bad :
       {std::string(""), std::string("."), std::string("a..example"),
        std::string(64, 'a') + ".example", std::string(250, 'a')}) {
    INFO("domain '" << bad << "'");
    REQUIRE_REASON(entitle::DomainChallengeName(bad), Reason::kInvalidArgument);
  }
}

// clang-format off
TEST_CASE("SEC-4 DnsDomainVerifier reads the TXT records a real DNS server publishes", "[domains][dns]") {
  // clang-format on
  Dnsmasq dns({.txt = {{kRecord, {"entitle-domain-verification=" + kToken}},
                       {kRecord, {"google-site-verification=abc"}},
                       // One record of two character-strings: read joined.
                       {"_entitle-challenge.split.example",
                        {"entitle-domain-verification=", kToken}}},
               .hosts = {{"www.victim.example", "127.0.0.2"}}});
  DnsDomainVerifier verifier(DnsVerifierOptions{.servers = {dns.server()},
                                                .timeout = absl::Seconds(5)});
  INFO("dnsmasq log:\n" << dns.Log());

  auto found = verifier.TxtRecords(kRecord);
  ENTITLE_REQUIRE_OK(found);
  CHECK(Sorted(*found) == Sorted({"entitle-domain-verification=" + kToken,
                                  "google-site-verification=abc"}));

  auto split = verifier.TxtRecords("_entitle-challenge.split.example");
  ENTITLE_REQUIRE_OK(split);
  CHECK(*split ==
        std::vector<std::string>{"entitle-domain-verification=" + kToken});

  // NXDOMAIN and a name without TXT records are empty answers, not errors.
  auto missing = verifier.TxtRecords("_entitle-challenge.nobody.example");
  ENTITLE_REQUIRE_OK(missing);
  CHECK(missing->empty());
  auto no_txt = verifier.TxtRecords("www.victim.example");
  ENTITLE_REQUIRE_OK(no_txt);
  CHECK(no_txt->empty());

  // A server that refuses to answer (a zone it does not serve) cannot say
  // whether the record exists.
  REQUIRE_REASON(verifier.TxtRecords("_entitle-challenge.victim.org"),
                 Reason::kVerifierUnavailable);

  // Names are case-insensitive in DNS.
  auto upper = verifier.TxtRecords("_ENTITLE-CHALLENGE.VICTIM.EXAMPLE");
  ENTITLE_REQUIRE_OK(upper);
  CHECK(upper->size() == 2);
}

// clang-format off
TEST_CASE("SEC-4 DnsDomainVerifier reports an unreachable or silent server as unavailable within its timeout", "[domains][dns]") {
  // clang-format on
  SECTION("nothing listens on the port") {
    const int port = FreeLoopbackPort();
    DnsDomainVerifier verifier(
        DnsVerifierOptions{.servers = {"127.0.0.1:" + std::to_string(port)},
                           .timeout = absl::Seconds(2)});
    const absl::Time start = absl::Now();
    auto answer = verifier.TxtRecords(kRecord);
    const absl::Duration took = absl::Now() - start;
    INFO("status: " << answer.status() << ", took " << took);
    REQUIRE_REASON(answer, Reason::kVerifierUnavailable);
    CHECK(answer.status().code() == absl::StatusCode::kUnavailable);
    CHECK(took < absl::Seconds(3));
  }
  SECTION("a server that never answers") {
    // A bound UDP socket nobody reads: queries vanish.
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    DnsDomainVerifier verifier(DnsVerifierOptions{
        .servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))},
        .timeout = absl::Milliseconds(800),
        .tries = 3});
    const absl::Time start = absl::Now();
    auto answer = verifier.TxtRecords(kRecord);
    const absl::Duration took = absl::Now() - start;
    close(fd);
    INFO("status: " << answer.status() << ", took " << took);
    REQUIRE_REASON(answer, Reason::kVerifierUnavailable);
    CHECK(took >= absl::Milliseconds(700));
    CHECK(took < absl::Milliseconds(2500));
  }
  SECTION("a server list that is not one") {
    DnsDomainVerifier verifier(
        DnsVerifierOptions{.servers = {"not-an-address"}});
    REQUIRE_REASON(verifier.TxtRecords(kRecord), Reason::kVerifierUnavailable);
  }
  SECTION("a name that is not one") {
    DnsDomainVerifier verifier(DnsVerifierOptions{.servers = {"127.0.0.1:1"}});
    REQUIRE_REASON(verifier.TxtRecords(""), Reason::kInvalidArgument);
  }
}

}  // namespace
}  // namespace entitle_test
