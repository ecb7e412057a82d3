#include "entitle/domain_verifier.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <idn2.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle {
namespace {

constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;

absl::Status Unavailable(std::string_view why) {
  return MakeError(
      absl::StatusCode::kUnavailable, Reason::kVerifierUnavailable,
      absl::StrCat("DNS could not be asked for the domain's proof: ",
                   AbslView(why), ". Try again later."));
}

// c-ares' global state: set up once, never torn down (other users of c-ares
// in the process may rely on it).
int InitCares() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status;
}

// Owns one resolver channel.
class Channel {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (channel_ != nullptr) ares_destroy(channel_);
  }
  ares_channel* out() { return &channel_; }
  ares_channel get() { return channel_; }

 private:
  ares_channel channel_ = nullptr;
};

// What the query callback leaves for the lookup.
struct Answer {
  bool done = false;
  int status = ARES_SUCCESS;
  int parse_status = ARES_SUCCESS;
  std::vector<std::string> records;
};

void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
              int alen) {
  Answer& answer = *static_cast<Answer*>(arg);
  answer.done = true;
  answer.status = status;
  if (status != ARES_SUCCESS) return;
  ares_txt_ext* txt = nullptr;
  answer.parse_status = ares_parse_txt_reply_ext(abuf, alen, &txt);
  for (const ares_txt_ext* p = txt; p != nullptr; p = p->next) {
    // A record of several character-strings comes as several entries, the
    // first marked as the record's start.
    if (p->record_start != 0 || answer.records.empty()) {
      answer.records.emplace_back();
    }
    answer.records.back().append(reinterpret_cast<const char*>(p->txt),
                                 p->length);
  }
  if (txt != nullptr) ares_free_data(txt);
}

int Milliseconds(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))), 0,
      3600 * 1000));
}

}  // namespace

absl::StatusOr<std::string> DomainChallengeName(std::string_view domain) {
  std::string text(domain);
  while (!text.empty() && text.back() == '.') text.pop_back();
  const auto refuse = [&](std::string_view why) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, Reason::kInvalidArgument,
        absl::StrCat("'", AbslView(domain),
                     "' cannot be proven through DNS: ", AbslView(why), "."));
  };
  if (text.empty()) return refuse("it is empty");
  if (text.find('\0') != std::string::npos) {
    return refuse("it contains a NUL character");
  }
  char* ascii = nullptr;
  const int rc = idn2_to_ascii_8z(text.c_str(), &ascii,
                                  IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    return refuse(
        absl::StrCat("it has no A-label form (", idn2_strerror(rc), ")"));
  }
  const std::string domain_ascii = absl::AsciiStrToLower(ascii);
  idn2_free(ascii);
  for (absl::string_view label : absl::StrSplit(domain_ascii, '.')) {
    if (label.empty()) return refuse("it has an empty label");
    if (label.size() > kMaxDnsLabel) {
      return refuse(
          absl::StrCat("a label is longer than ", kMaxDnsLabel, " characters"));
    }
  }
  std::string name =
      absl::StrCat(AbslView(kDomainChallengeLabel), ".", domain_ascii);
  if (name.size() > kMaxDnsName) {
    return refuse(absl::StrCat("the record name would be longer than ",
                               kMaxDnsName, " characters"));
  }
  return name;
}

std::string DomainChallengeValue(std::string_view token) {
  return absl::StrCat(AbslView(kDomainChallengePrefix), AbslView(token));
}

DnsDomainVerifier::DnsDomainVerifier(DnsVerifierOptions options)
    : options_(std::move(options)) {
  options_.timeout =
      std::clamp(options_.timeout, absl::Milliseconds(10), absl::Seconds(60));
  options_.tries = std::clamp(options_.tries, 1, 5);
}

absl::StatusOr<std::vector<std::string>> DnsDomainVerifier::TxtRecords(
    std::string_view name) {
  const std::string query(name);
  if (query.empty() || query.find('\0') != std::string::npos) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     "The DNS name to look up is empty or has a NUL.");
  }
  if (const int rc = InitCares(); rc != ARES_SUCCESS) {
    return Unavailable(absl::StrCat("the resolver library did not start (",
                                    ares_strerror(rc), ")"));
  }
  const absl::Time deadline = absl::Now() + options_.timeout;

  ares_options settings{};
  // Each try gets its share of the whole timeout; the loop below enforces
  // the whole.
  settings.timeout =
      std::max(1, Milliseconds(options_.timeout / options_.tries));
  settings.tries = options_.tries;
  settings.flags = ARES_FLAG_NOSEARCH;
  Channel channel;
  if (const int rc = ares_init_options(
          channel.out(), &settings,
          ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
      rc != ARES_SUCCESS) {
    return Unavailable(absl::StrCat("the resolver could not be set up (",
                                    ares_strerror(rc), ")"));
  }
  if (!options_.servers.empty()) {
    const std::string csv = absl::StrJoin(options_.servers, ",");
    if (const int rc = ares_set_servers_ports_csv(channel.get(), csv.c_str());
        rc != ARES_SUCCESS) {
      return Unavailable(absl::StrCat("the DNS server list '", csv,
                                      "' is not valid (", ares_strerror(rc),
                                      ")"));
    }
  }

  Answer answer;
  ares_query(channel.get(), query.c_str(), ns_c_in, ns_t_txt, OnAnswer,
             &answer);
  while (!answer.done) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      ares_cancel(channel.get());  // Calls OnAnswer with ARES_ECANCELLED.
      if (!answer.done) answer = Answer{.done = true, .status = ARES_ETIMEOUT};
      break;
    }
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel.get(), sockets, ARES_GETSOCK_MAXNUM);
    std::vector<pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events != 0) fds.push_back(pollfd{sockets[i], events, 0});
    }
    timeval most = {
        static_cast<time_t>(absl::ToInt64Seconds(left)),
        static_cast<suseconds_t>(absl::ToInt64Microseconds(left) % 1000000)};
    timeval wait;
    const timeval* until = ares_timeout(channel.get(), &most, &wait);
    const int wait_ms = until == nullptr
                            ? Milliseconds(left)
                            : Milliseconds(absl::Seconds(until->tv_sec) +
                                           absl::Microseconds(until->tv_usec));
    const int ready = poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ares_cancel(channel.get());
      if (!answer.done) answer = Answer{.done = true, .status = ARES_ESERVFAIL};
      break;
    }
    if (ready == 0) {
      // Lets c-ares retry or give up on the queries whose time is up.
      ares_process_fd(channel.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (const pollfd& fd : fds) {
      const bool readable = (fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (fd.revents & POLLOUT) != 0;
      if (!readable && !writable) continue;
      ares_process_fd(channel.get(), readable ? fd.fd : ARES_SOCKET_BAD,
                      writable ? fd.fd : ARES_SOCKET_BAD);
    }
  }

  switch (answer.status) {
    case ARES_SUCCESS:
      if (answer.parse_status == ARES_SUCCESS) return answer.records;
      if (answer.parse_status == ARES_ENODATA) {
        return std::vector<std::string>{};
      }
      return Unavailable(absl::StrCat("the answer for ", query,
                                      " could not be read (",
                                      ares_strerror(answer.parse_status), ")"));
    case ARES_ENODATA:    // The name has no TXT record.
    case ARES_ENOTFOUND:  // NXDOMAIN.
      return std::vector<std::string>{};
    case ARES_EBADNAME:
      return MakeError(absl::StatusCode::kInvalidArgument,
                       Reason::kInvalidArgument,
                       absl::StrCat("'", query, "' is not a DNS name."));
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
      return Unavailable(absl::StrCat("no DNS server answered within ",
                                      absl::FormatDuration(options_.timeout)));
    default:
      return Unavailable(absl::StrCat("the lookup of ", query, " failed (",
                                      ares_strerror(answer.status), ")"));
  }
}

}  // namespace entitle
