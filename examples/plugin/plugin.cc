// entitle-plugin: the seat client of a CAD plugin, as a complete program.
//
//   ENTITLE_PASSWORD=... entitle-plugin --db PATH --email ADDRESS --sku SKU
//                                       [--device ID] [--heartbeat SECONDS]
//                                       [--run SECONDS]
//
// What it shows: the four steps a plugin takes to use a licensed product, in
// `SeatSession` (seat_session.h, meant to be lifted as is): (1) sign the user
// in on this device, (2) check access to the product and reserve a seat,
// (3) heartbeat on a timer, (4) release the seat on exit. And what a plugin
// does when a step fails: a refusal (wrong password, no licence, all seats
// reserved, the period over, the identity locked) stops the product; a store
// that cannot be reached is tried again at the next heartbeat until the
// seat's lease would have run out.
//
// How to run it: build with -DENTITLE_BUILD_EXAMPLES=ON. The store must
// already hold a verified identity with access to a floating entitlement of
// the SKU (made by the host's admin tools, or through the library as
// examples/plugin/plugin_client_test.cc does). Then, for example:
//
//   read -rs ENTITLE_PASSWORD && export ENTITLE_PASSWORD
//   cd build/release/examples/plugin
//   ./entitle-plugin --db acme.db --email anna@acme.example --sku CAD-PRO
//
// prints a line per heartbeat (hourly with the default 3-hour lease; try
// --heartbeat 10), and Ctrl-C (or SIGTERM) releases the seat and exits. Without
// ENTITLE_PASSWORD the password is read as one line from standard input (not
// echoed on a terminal).
//
// Deployment: one process at a time serves the seats of a store (SPEC
// ACT-3, entitle/licenses.h): its first checkout takes the store's serving
// claim, with an OS lock on the file `<db>-serving` beside the SQLite file,
// and writes each seat to the store as an activation behind the checkout
// path. The directory here names itself "entitle-plugin" in that claim
// (LicensePolicy::serving_holder). A second plugin on the same file is
// therefore refused with reason served-elsewhere, the message naming the
// first (holder, host and process id); once the first exits (releasing its
// seat and the claim, or dying, which drops its lock), the next one serves.
// In a multi-user deployment the licence server is that one serving process,
// and a plugin calls it over the host's own protocol with exactly these four
// steps; this example runs them in-process against a SQLite file so it is
// complete and runnable on one workstation (one plugin per file).
//
// Output: one line per event on standard output; failures on standard error
// as "error: <what>: <message> (reason: <reason-name>)". Exit status: 0 the
// seat was released (or never taken because of an early signal), 1 sign-in
// or access refused (also served-elsewhere: another process serves the
// store's seats), 2 usage error, 3 the seat was lost during the run, 4 store
// error.
//
// Signals: SIGINT and SIGTERM are blocked in every thread and taken by one
// thread of their own with sigwait, so no code runs in a signal handler; that
// thread wakes the heartbeat timer, which waits on a condition variable with
// a timeout, and the timer releases the seat.
#include <poll.h>
#include <pthread.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/directory.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "fmt/core.h"
#include "seat_session.h"

namespace {

using entitle_plugin::Classify;
using entitle_plugin::Failure;
using entitle_plugin::SeatSession;
using SteadyClock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSeatLost = 3;
constexpr int kExitStore = 4;

constexpr int64_t kMaxRunSeconds = int64_t{100} * 365 * 24 * 3600;

// ------------------------------------------------------------------ output

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// A period's end: the date alone when it falls on midnight UTC.
std::string DateText(absl::Time t) {
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (civil == absl::CivilSecond(absl::CivilDay(civil))) {
    return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
  }
  return TimeText(t);
}

std::string_view KindName(entitle::EntitlementKind kind) {
  return kind == entitle::EntitlementKind::kNamed ? "named" : "floating";
}

std::string_view SignalName(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

// Prints a failure and returns `exit_code`.
int Fail(int exit_code, std::string_view what, const absl::Status& status) {
  fmt::print(stderr, "error: {}: {} (reason: {})\n", what,
             std::string_view(status.message().data(), status.message().size()),
             entitle::ReasonName(entitle::GetReason(status)));
  return exit_code;
}

// The exit status for a step that failed before the seat was taken.
int StartFailure(const absl::Status& status) {
  return Classify(status) == Failure::kRefused ? kExitRefused : kExitStore;
}

// ------------------------------------------------------------------ flags

struct Flags {
  std::string db;
  std::string email;
  std::string sku;
  std::string device;
  absl::Duration heartbeat;
  std::optional<absl::Duration> run;  // Absent: until a signal.
  bool help = false;
};

// This host's name, a device id that stays the same across runs.
std::string DefaultDeviceId() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "unknown-host";
  }
  return name;
}

// ENT-4: a third of the seat lease leaves two heartbeats to miss before the
// seat is lost.
absl::Duration DefaultHeartbeat(absl::Duration lease) {
  return std::max(absl::Seconds(1), absl::Trunc(lease / 3, absl::Seconds(1)));
}

std::string Usage(absl::Duration lease) {
  return fmt::format(
      "usage: entitle-plugin --db PATH --email ADDRESS --sku SKU [options]\n"
      "\n"
      "Signs in, reserves a seat of SKU for this device, keeps it with\n"
      "heartbeats and releases it on exit (after --run, or on "
      "SIGINT/SIGTERM).\n"
      "\n"
      "  --db PATH            the entitle SQLite store (must exist)\n"
      "  --email ADDRESS      who signs in; the password comes from the\n"
      "                       environment variable ENTITLE_PASSWORD, else one\n"
      "                       line of standard input\n"
      "  --sku SKU            the product, e.g. CAD-PRO\n"
      "  --device ID          this device's id (default: the host name, {})\n"
      "  --heartbeat SECONDS  time between heartbeats (default: a third of "
      "the\n"
      "                       {} s seat lease, {} s; at least 1, less than\n"
      "                       the lease)\n"
      "  --run SECONDS        release the seat and exit after this long\n"
      "                       (default: run until interrupted)\n"
      "  --help               print this text\n"
      "\n"
      "Exit status: 0 released, 1 sign-in or access refused (or another\n"
      "process serves the store's seats), 2 usage error, 3 the seat was lost\n"
      "during the run, 4 store error.\n",
      DefaultDeviceId(), absl::ToInt64Seconds(lease),
      absl::ToInt64Seconds(DefaultHeartbeat(lease)));
}

absl::StatusOr<int64_t> ParseSeconds(std::string_view flag,
                                     std::string_view text, int64_t min,
                                     int64_t max) {
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()),
                        &seconds) ||
      seconds < min || seconds > max) {
    return absl::InvalidArgumentError(
        fmt::format("{} takes whole seconds from {} to {}, not '{}'", flag, min,
                    max, text));
  }
  return seconds;
}

// Reads --flag VALUE and --flag=VALUE. The seat lease bounds --heartbeat.
absl::StatusOr<Flags> ParseFlags(int argc, char** argv, absl::Duration lease) {
  Flags flags;
  flags.heartbeat = DefaultHeartbeat(lease);
  bool device_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    if (!arg.starts_with("--")) {
      return absl::InvalidArgumentError(
          fmt::format("unexpected argument '{}'", arg));
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto take_value = [&]() -> absl::StatusOr<std::string_view> {
      if (value) return *value;
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            fmt::format("{} needs a value", name));
      }
      return std::string_view(argv[++i]);
    };
    if (name != "--db" && name != "--email" && name != "--sku" &&
        name != "--device" && name != "--heartbeat" && name != "--run") {
      return absl::InvalidArgumentError(fmt::format("unknown flag '{}'", name));
    }
    absl::StatusOr<std::string_view> v = take_value();
    if (!v.ok()) return v.status();
    if (name == "--db") {
      flags.db = *v;
    } else if (name == "--email") {
      flags.email = *v;
    } else if (name == "--sku") {
      flags.sku = *v;
    } else if (name == "--device") {
      flags.device = *v;
      device_given = true;
    } else if (name == "--heartbeat") {
      absl::StatusOr<int64_t> s =
          ParseSeconds(name, *v, 1, absl::ToInt64Seconds(lease) - 1);
      if (!s.ok()) return s.status();
      flags.heartbeat = absl::Seconds(*s);
    } else {
      absl::StatusOr<int64_t> s = ParseSeconds(name, *v, 0, kMaxRunSeconds);
      if (!s.ok()) return s.status();
      flags.run = absl::Seconds(*s);
    }
  }
  for (const auto& [flag, value] :
       {std::pair{"--db", &flags.db}, std::pair{"--email", &flags.email},
        std::pair{"--sku", &flags.sku}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(fmt::format("{} is required", flag));
    }
  }
  if (!device_given) flags.device = DefaultDeviceId();
  if (flags.device.empty() ||
      flags.device.size() > entitle::DeviceId::kMaxLength) {
    return absl::InvalidArgumentError(fmt::format(
        "--device takes 1 to {} bytes", entitle::DeviceId::kMaxLength));
  }
  return flags;
}

// ------------------------------------------------------------------ signals

// Set once, by the signal thread; waited on by the heartbeat timer.
// Thread-safe.
class StopSignal {
 public:
  void Raise(int signal_number) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (signal_ == 0) signal_ = signal_number;
    }
    raised_.notify_all();
  }
  // The signal that asked to stop, or 0.
  int Raised() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return signal_;
  }
  // Waits until a stop is raised or `deadline` passes: the signal, or 0.
  int WaitUntil(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    raised_.wait_until(lock, deadline, [this] { return signal_ != 0; });
    return signal_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable raised_;
  int signal_ = 0;
};

// Turns SIGINT and SIGTERM into StopSignal::Raise without a signal handler.
// The constructor blocks both signals in the calling thread, every thread
// started later inherits that mask, so the kernel keeps them pending until
// this object's own thread takes them with sigwait and handles them as
// ordinary code. Construct it first in main, before any other thread exists.
// The destructor stops the thread.
class SignalThread {
 public:
  explicit SignalThread(StopSignal& stop) : stop_(stop) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    // Fails only for an invalid first argument.
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] { Run(); });
  }
  ~SignalThread() {
    closing_.store(true);
    // A signal to this thread alone wakes its sigwait.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  void Run() {
    for (;;) {
      int signal_number = 0;
      if (sigwait(&signals_, &signal_number) != 0) continue;
      if (closing_.load()) return;
      stop_.Raise(signal_number);
    }
  }

  StopSignal& stop_;
  sigset_t signals_;
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

// ------------------------------------------------------------------ password

// One line of standard input without its line end, not echoed on a terminal.
// Nothing at the end of input or once a stop is raised: the read polls, so
// Ctrl-C at the prompt still ends the program and restores the terminal.
std::optional<std::string> ReadPasswordLine(const StopSignal& stop,
                                            std::string_view email) {
  termios saved{};
  bool restore = false;
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    fmt::print(stderr, "password for {}: ", email);
    std::fflush(stderr);
  }
  std::string line;
  bool complete = false;
  while (stop.Raised() == 0) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&in, 1, /*timeout ms=*/100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char c = 0;
    const ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) {  // End of input: a last line without its line end counts.
      complete = !line.empty();
      break;
    }
    if (c == '\n') {
      complete = true;
      break;
    }
    line.push_back(c);
  }
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fmt::print(stderr, "\n");
  }
  if (!complete) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// ------------------------------------------------------------------ the run

// Keeps the seat with heartbeats until the run time is over or a stop is
// raised, then releases it. Returns the exit status.
int KeepSeat(SeatSession& session, const Flags& flags, StopSignal& stop) {
  const auto interval = absl::ToChronoSeconds(flags.heartbeat);
  const SteadyClock::time_point start = SteadyClock::now();
  std::optional<SteadyClock::time_point> end;
  if (flags.run) end = start + absl::ToChronoSeconds(*flags.run);
  SteadyClock::time_point next_beat = start + interval;

  for (;;) {
    const SteadyClock::time_point wake =
        end ? std::min(next_beat, *end) : next_beat;
    if (const int signal_number = stop.WaitUntil(wake); signal_number != 0) {
      fmt::print("received {}: releasing the seat\n",
                 SignalName(signal_number));
      break;
    }
    if (end && SteadyClock::now() >= *end) {
      fmt::print("run time over: releasing the seat\n");
      break;
    }
    if (SteadyClock::now() < next_beat) continue;  // Woken early.
    next_beat = SteadyClock::now() + interval;

    // The lease the seat had before this heartbeat.
    const absl::Time held_until = session.lease()->expires_at;
    absl::StatusOr<entitle::SeatLease> lease = session.Heartbeat();
    if (lease.ok()) {
      if (!lease->seat) {
        fmt::print("heartbeat: licence valid until {}\n",
                   TimeText(lease->expires_at));
      } else if (lease->renewed) {
        fmt::print("heartbeat: seat renewed until {}\n",
                   TimeText(lease->expires_at));
      } else {
        fmt::print(
            "heartbeat: the seat had expired; seat {} reserved until {}\n",
            lease->seat->index, TimeText(lease->expires_at));
      }
      continue;
    }
    switch (Classify(lease.status())) {
      case Failure::kTransient:
        if (absl::Now() < held_until) {
          fmt::print(
              "heartbeat: the store is unavailable; retrying in {} s (seat "
              "held until {})\n",
              absl::ToInt64Seconds(flags.heartbeat), TimeText(held_until));
          continue;
        }
        return Fail(kExitSeatLost,
                    fmt::format("lost the seat of {} (its lease ran out "
                                "while the store was unavailable)",
                                flags.sku),
                    lease.status());
      case Failure::kStoreBroken:
        return Fail(kExitStore, "heartbeat", lease.status());
      case Failure::kRefused:
        return Fail(kExitSeatLost,
                    fmt::format("lost the seat of {}", flags.sku),
                    lease.status());
    }
  }

  const bool named = !session.lease()->seat;
  if (absl::Status released = session.Release(); !released.ok()) {
    if (entitle::GetReason(released) == entitle::Reason::kSeatNotHeld) {
      fmt::print("the seat had already been released\n");
      return kExitOk;
    }
    return Fail(kExitStore, "release the seat", released);
  }
  if (named) {
    fmt::print("done (a named licence holds no seat to release)\n");
  } else {
    fmt::print("released the seat\n");
  }
  return kExitOk;
}

// Steps 1 and 2, then the run. Returns the exit status.
int Run(const Flags& flags, const std::string& password,
        const entitle::DirectoryOptions& options, StopSignal& stop) {
  entitle::SqliteOptions sqlite;
  sqlite.create_if_missing = false;  // A plugin never makes a store.
  absl::StatusOr<std::unique_ptr<entitle::SqliteStore>> store =
      entitle::SqliteStore::Open(flags.db, sqlite);
  if (!store.ok()) {
    return Fail(kExitStore, fmt::format("open {}", flags.db), store.status());
  }
  entitle::Directory directory(**store, options);
  SeatSession session(directory.identities(), directory.licenses(),
                      entitle::DeviceId(flags.device));

  absl::StatusOr<entitle::IdentityId> identity =
      session.SignIn(flags.email, password);
  if (!identity.ok()) {
    return Fail(StartFailure(identity.status()),
                fmt::format("sign in as {}", flags.email), identity.status());
  }
  fmt::print("signed in as {} (identity #{}) on device {}\n", flags.email,
             identity->value(), flags.device);

  absl::StatusOr<entitle::AccessGrant> access = session.CheckAccess(flags.sku);
  if (!access.ok()) {
    return Fail(StartFailure(access.status()),
                fmt::format("access to {}", flags.sku), access.status());
  }
  fmt::print("access: {} through entitlement #{} ({}) until {}{}\n", flags.sku,
             access->entitlement_id.value(), KindName(access->kind),
             DateText(access->period_end),
             access->offline ? ", offline grace of a locked identity" : "");

  if (const int signal_number = stop.Raised(); signal_number != 0) {
    fmt::print("received {}: stopping before a seat was reserved\n",
               SignalName(signal_number));
    return kExitOk;
  }
  absl::StatusOr<entitle::SeatLease> lease = session.Checkout(flags.sku);
  if (!lease.ok()) {
    return Fail(StartFailure(lease.status()),
                fmt::format("reserve a seat of {}", flags.sku), lease.status());
  }
  if (lease->seat) {
    fmt::print("seat {} reserved until {}\n", lease->seat->index,
               TimeText(lease->expires_at));
  } else {
    fmt::print("named licence: no seat to reserve, valid until {}\n",
               TimeText(lease->expires_at));
  }
  return KeepSeat(session, flags, stop);
}

}  // namespace

int main(int argc, char** argv) {
  // One line per event, even into a pipe.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  // In-process, the seat lease is this Directory's policy; a licence server
  // states it in every lease's expires_at. The name is what another process
  // refused with served-elsewhere sees in the serving claim.
  entitle::DirectoryOptions options;
  options.license_policy.serving_holder = "entitle-plugin";
  const absl::Duration lease = options.license_policy.seat_lease;

  absl::StatusOr<Flags> flags = ParseFlags(argc, argv, lease);
  if (!flags.ok()) {
    fmt::print(stderr, "error: {}\n\n{}",
               std::string_view(flags.status().message().data(),
                                flags.status().message().size()),
               Usage(lease));
    return kExitUsage;
  }
  if (flags->help) {
    fmt::print("{}", Usage(lease));
    return kExitOk;
  }

  StopSignal stop;
  SignalThread signal_thread(stop);  // Before any other thread starts.

  std::string password;
  if (const char* from_env = std::getenv("ENTITLE_PASSWORD")) {
    password = from_env;
  } else if (std::optional<std::string> line =
                 ReadPasswordLine(stop, flags->email)) {
    password = std::move(*line);
  } else if (const int signal_number = stop.Raised(); signal_number != 0) {
    fmt::print("received {}: stopping before signing in\n",
               SignalName(signal_number));
    return kExitOk;
  } else {
    fmt::print(stderr,
               "error: no password: set ENTITLE_PASSWORD or write it as one "
               "line on standard input\n\n{}",
               Usage(lease));
    return kExitUsage;
  }
  return Run(*flags, password, options, stop);
}
