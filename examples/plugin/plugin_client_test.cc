// entitle-plugin run as a child process, the way a host runs it.
//
// Each test case prepares a fresh SQLite file through the library (an
// identity registered by the operator and verified with the link from the
// notifier, an organization with it as first administrator, a floating
// entitlement of CAD-PRO with one seat over a period containing now, and pool
// access for the identity), then starts the plugin with posix_spawn, its
// standard output and error captured through pipes and the password in its
// environment. Every wait is bounded: a child that hangs is killed and the
// test fails instead of hanging.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

extern char** environ;

namespace {

using Catch::Matchers::Contains;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kPluginPath = ENTITLE_PLUGIN_PATH;
constexpr const char* kEmail = "anna@acme.example";
constexpr const char* kPassword = "Plugin-pass-2026";

// How long any one child may take; generous so a loaded machine passes.
constexpr std::chrono::seconds kChildTimeout(60);

absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
#define PLUGIN_TEST_REQUIRE_OK(expr)             \
  do {                                           \
    const absl::Status status_ = ToStatus(expr); \
    INFO("status: " << status_.ToString());      \
    REQUIRE(status_.ok());                       \
  } while (0)

// ------------------------------------------------------------------ the store

struct PreparedStore {
  std::string path;
  entitle::IdentityId anna;
  entitle::EntitlementId entitlement;
  entitle::PoolGrantId grant;
  entitle::OrganizationId organization;
};

// A directory over the store at `path`, with an in-memory notifier and the
// cheapest Argon2id (the hash keeps its parameters, so the plugin's default
// hasher verifies it).
struct TestDirectory {
  explicit TestDirectory(const std::string& path)
      : hasher(entitle::Argon2idParams::MinimumForTests()) {
    auto opened = entitle::SqliteStore::Open(path);
    PLUGIN_TEST_REQUIRE_OK(opened);
    store = std::move(*opened);
    entitle::DirectoryOptions options;
    options.notifier = &notifier;
    options.hasher = &hasher;
    directory = std::make_unique<entitle::Directory>(*store, options);
  }
  entitle::InMemoryNotifier notifier;
  entitle::Argon2idHasher hasher;
  std::unique_ptr<entitle::SqliteStore> store;
  std::unique_ptr<entitle::Directory> directory;
};

// A fresh `<name>.db` in the working directory, ready for the plugin.
PreparedStore PrepareStore(const std::string& name) {
  PreparedStore prepared;
  prepared.path = (std::filesystem::current_path() / (name + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(prepared.path + suffix);
  }
  TestDirectory t(prepared.path);
  entitle::Directory& d = *t.directory;
  const entitle::Actor op = entitle::Actor::Operator();

  auto anna = d.identities().Register(
      op, kEmail,
      entitle::Profile{.display_name = "Anna Berg", .country = "SE"});
  PLUGIN_TEST_REQUIRE_OK(anna);
  prepared.anna = *anna;
  auto email = entitle::Email::Parse(kEmail);
  PLUGIN_TEST_REQUIRE_OK(email);
  std::optional<entitle::Notification> link =
      t.notifier.Last(*email, "verify-email");
  REQUIRE(link.has_value());
  PLUGIN_TEST_REQUIRE_OK(
      d.identities().CompleteVerification(link->token, kPassword));

  auto acme = d.organizations().Create(op, "Acme", *anna);
  PLUGIN_TEST_REQUIRE_OK(acme);
  prepared.organization = *acme;

  const absl::Time now = absl::Now();
  entitle::EntitlementTerms terms;
  terms.sku = "CAD-PRO";
  terms.kind = entitle::EntitlementKind::kFloating;
  terms.seats = 1;
  terms.period_start = now - absl::Hours(24);
  terms.period_end = now + absl::Hours(24 * 365);
  auto entitlement = d.licenses().CreateEntitlement(op, *acme, terms);
  PLUGIN_TEST_REQUIRE_OK(entitlement);
  prepared.entitlement = entitlement->id;

  auto grant = d.licenses().GrantPoolAccess(
      op, entitlement->id, entitle::PoolMember{.identity = *anna});
  PLUGIN_TEST_REQUIRE_OK(grant);
  prepared.grant = grant->id;
  return prepared;
}

// A second verified member, `email`, of the prepared store's organization
// with access to its pool. Returns its identity.
entitle::IdentityId AddMember(const PreparedStore& prepared,
                              const std::string& email) {
  TestDirectory t(prepared.path);
  entitle::Directory& d = *t.directory;
  const entitle::Actor op = entitle::Actor::Operator();
  auto id = d.identities().Register(
      op, email, entitle::Profile{.display_name = "Ben", .country = "SE"});
  PLUGIN_TEST_REQUIRE_OK(id);
  auto address = entitle::Email::Parse(email);
  PLUGIN_TEST_REQUIRE_OK(address);
  std::optional<entitle::Notification> link =
      t.notifier.Last(*address, "verify-email");
  REQUIRE(link.has_value());
  PLUGIN_TEST_REQUIRE_OK(
      d.identities().CompleteVerification(link->token, kPassword));
  PLUGIN_TEST_REQUIRE_OK(
      d.organizations().AddExternal(op, prepared.organization, email));
  PLUGIN_TEST_REQUIRE_OK(d.licenses().GrantPoolAccess(
      op, prepared.entitlement, entitle::PoolMember{.identity = *id}));
  return *id;
}

// The activations of the prepared pool, as the store holds them.
std::vector<entitle::ActivationRecord> StoredActivations(
    const PreparedStore& prepared) {
  auto store = entitle::SqliteStore::Open(prepared.path);
  PLUGIN_TEST_REQUIRE_OK(store);
  auto tx = (*store)->Begin(entitle::TransactionMode::kRead);
  PLUGIN_TEST_REQUIRE_OK(tx);
  auto page = (*tx)->activations().List(
      entitle::ActivationFilter{.entitlement_id = prepared.entitlement},
      entitle::PageRequest{.offset = 0, .limit = 1000});
  PLUGIN_TEST_REQUIRE_OK(page);
  return page->items;
}

// ------------------------------------------------------------------ the child

// The plugin as a child process. The destructor kills it if it still runs.
class Plugin {
 public:
  // Starts the plugin with `args`. ENTITLE_PASSWORD is `password` (unset when
  // absent); standard input is `input`, or /dev/null when absent.
  Plugin(const std::vector<std::string>& args,
         std::optional<std::string> password,
         std::optional<std::string> input = std::nullopt) {
    int out[2], err[2], in[2] = {-1, -1};
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    if (input) {
      REQUIRE(pipe2(in, O_CLOEXEC) == 0);
      // Small enough for the pipe's buffer: written before the child runs.
      REQUIRE(write(in[1], input->data(), input->size()) ==
              static_cast<ssize_t>(input->size()));
      close(in[1]);
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (input) {
      posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    } else {
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                       O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);

    // The child starts with no signal blocked and SIGINT/SIGTERM at their
    // defaults, whatever the test runner did to its own.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argv_strings = {kPluginPath};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).starts_with("ENTITLE_PASSWORD=")) continue;
      env_strings.emplace_back(*e);
    }
    if (password) env_strings.push_back("ENTITLE_PASSWORD=" + *password);
    std::vector<char*> argv, envp;
    for (std::string& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    const int spawned = posix_spawn(&pid_, kPluginPath, &actions, &attr,
                                    argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    if (in[0] >= 0) close(in[0]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    INFO("posix_spawn " << kPluginPath << ": " << std::strerror(spawned));
    REQUIRE(spawned == 0);
  }

  ~Plugin() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Reads output until `done()` holds, both pipes are closed, or `deadline`.
  // Returns whether `done()` held.
  bool ReadUntil(const std::function<bool()>& done,
                 SteadyClock::time_point deadline) {
    while (!done()) {
      pollfd fds[2];
      nfds_t n = 0;
      for (int fd : {out_fd_, err_fd_}) {
        if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - SteadyClock::now());
      if (n == 0 || left.count() <= 0) return false;
      const int ready = poll(fds, n, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) return false;
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        const bool is_out = fds[i].fd == out_fd_;
        char buffer[4096];
        const ssize_t got = read(fds[i].fd, buffer, sizeof(buffer));
        if (got > 0) {
          (is_out ? out_ : err_).append(buffer, static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          close(fds[i].fd);
          (is_out ? out_fd_ : err_fd_) = -1;
        }
      }
    }
    return true;
  }

  // Reads until standard output contains `text`, for at most kChildTimeout.
  bool WaitForOutput(std::string_view text) {
    return ReadUntil([&] { return out_.find(text) != std::string::npos; },
                     SteadyClock::now() + kChildTimeout);
  }

  // Reads everything and waits for the exit: the exit status, or nothing
  // when the child did not end by itself within kChildTimeout (it is then
  // killed) or was killed by a signal.
  std::optional<int> Wait() {
    const SteadyClock::time_point deadline = SteadyClock::now() + kChildTimeout;
    ReadUntil([] { return false; }, deadline);
    for (;;) {
      int status = 0;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (!WIFEXITED(status)) return std::nullopt;
        return exit_code_;
      }
      if (done < 0 && errno != EINTR) return std::nullopt;
      if (SteadyClock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void Signal(int signal_number) { REQUIRE(kill(pid_, signal_number) == 0); }
  pid_t pid() const { return pid_; }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> exit_code_;
};

std::vector<std::string> BaseArgs(const PreparedStore& store,
                                  const std::string& device) {
  return {"--db",  store.path, "--email",  kEmail,
          "--sku", "CAD-PRO",  "--device", device};
}

std::vector<std::string> With(std::vector<std::string> args,
                              const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

#define PLUGIN_INFO(plugin)            \
  INFO("stdout:\n" << (plugin).out()); \
  INFO("stderr:\n" << (plugin).err())

// ------------------------------------------------------------------ tests

TEST_CASE("Plugin client: a timed run reserves, heartbeats and releases",
          "[plugin]") {
  const PreparedStore store = PrepareStore("timed");
  Plugin plugin(
      With(BaseArgs(store, "ws-anna"), {"--run", "2", "--heartbeat", "1"}),
      kPassword);
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  REQUIRE(code == 0);
  const std::string& out = plugin.out();
  CHECK_THAT(out, Contains(std::string("signed in as ") + kEmail +
                           " (identity #" + std::to_string(store.anna.value()) +
                           ") on device ws-anna"));
  CHECK_THAT(out, Contains("access: CAD-PRO through entitlement #" +
                           std::to_string(store.entitlement.value()) +
                           " (floating) until "));
  CHECK_THAT(out, Contains("seat 0 reserved until "));
  CHECK_THAT(out, Contains("heartbeat: seat renewed until "));
  CHECK_THAT(out, Contains("run time over: releasing the seat"));
  CHECK_THAT(out, Contains("released the seat"));
  CHECK(plugin.err().empty());
}

TEST_CASE("Plugin client: SIGINT or SIGTERM releases the seat and exits 0",
          "[plugin]") {
  const PreparedStore store = PrepareStore("signal");
  for (int signal_number : {SIGINT, SIGTERM}) {
    const std::string name = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
    INFO("signal: " << name);
    // No --run: the plugin keeps the seat until it is told to stop.
    Plugin plugin(BaseArgs(store, "ws-" + name), kPassword);
    const bool reserved = plugin.WaitForOutput("reserved until");
    {
      PLUGIN_INFO(plugin);
      REQUIRE(reserved);
    }
    plugin.Signal(signal_number);
    const std::optional<int> code = plugin.Wait();
    PLUGIN_INFO(plugin);
    REQUIRE(code == 0);
    CHECK_THAT(plugin.out(),
               Contains("received " + name + ": releasing the seat"));
    CHECK_THAT(plugin.out(), Contains("released the seat"));
  }
}

TEST_CASE("Plugin client: a wrong password exits 1 with bad-credentials",
          "[plugin]") {
  const PreparedStore store = PrepareStore("wrong_password");
  Plugin plugin(With(BaseArgs(store, "ws-anna"), {"--run", "1"}),
                "Not-the-password-1");
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  REQUIRE(code == 1);
  CHECK_THAT(plugin.err(),
             Contains(std::string("error: sign in as ") + kEmail));
  CHECK_THAT(plugin.err(), Contains("(reason: bad-credentials)"));
  CHECK_THAT(plugin.out(), !Contains("reserved"));
}

TEST_CASE("Plugin client: the password may come from standard input",
          "[plugin]") {
  const PreparedStore store = PrepareStore("stdin_password");
  Plugin plugin(With(BaseArgs(store, "ws-anna"), {"--run", "0"}), std::nullopt,
                std::string(kPassword) + "\n");
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  REQUIRE(code == 0);
  CHECK_THAT(plugin.out(), Contains("seat 0 reserved until "));
  CHECK_THAT(plugin.out(), Contains("released the seat"));
}

TEST_CASE("Plugin client: an unknown SKU exits 1 with no-license", "[plugin]") {
  const PreparedStore store = PrepareStore("unknown_sku");
  Plugin plugin({"--db", store.path, "--email", kEmail, "--sku", "CAD-LITE",
                 "--device", "ws-anna", "--run", "1"},
                kPassword);
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  REQUIRE(code == 1);
  CHECK_THAT(plugin.err(), Contains("error: access to CAD-LITE: "));
  CHECK_THAT(plugin.err(), Contains("(reason: no-license)"));
  CHECK_THAT(plugin.out(), !Contains("reserved"));
}

TEST_CASE("Plugin client: revoked access during the run exits 3", "[plugin]") {
  const PreparedStore store = PrepareStore("revoked");
  Plugin plugin(With(BaseArgs(store, "ws-anna"), {"--heartbeat", "1"}),
                kPassword);
  const bool reserved = plugin.WaitForOutput("reserved until");
  {
    PLUGIN_INFO(plugin);
    REQUIRE(reserved);
  }
  {  // An admin tool, in this process, takes the pool access away.
    TestDirectory admin(store.path);
    PLUGIN_TEST_REQUIRE_OK(admin.directory->licenses().RevokePoolAccess(
        entitle::Actor::Operator(), store.grant));
  }
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  REQUIRE(code == 3);
  CHECK_THAT(plugin.err(), Contains("error: lost the seat of CAD-PRO: "));
  CHECK_THAT(plugin.err(), Contains("(reason: no-license)"));
  CHECK_THAT(plugin.out(), !Contains("released the seat"));
}

TEST_CASE("Plugin client: bad flags exit 2 with the usage", "[plugin]") {
  const PreparedStore store = PrepareStore("flags");
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--bogus"},
      {"--db", store.path, "--email", kEmail},  // No --sku.
      With(BaseArgs(store, "ws-anna"), {"--heartbeat", "0"}),
      With(BaseArgs(store, "ws-anna"), {"--heartbeat", "999999"}),
      With(BaseArgs(store, "ws-anna"), {"--run", "soon"}),
      With(BaseArgs(store, "ws-anna"), {"--run"}),
      With(BaseArgs(store, "ws-anna"), {"extra"}),
      With(BaseArgs(store, ""), {}),
  };
  for (const std::vector<std::string>& args : bad) {
    std::string joined;
    for (const std::string& a : args) joined += " '" + a + "'";
    INFO("args:" << joined);
    Plugin plugin(args, kPassword);
    const std::optional<int> code = plugin.Wait();
    PLUGIN_INFO(plugin);
    CHECK(code == 2);
    CHECK_THAT(plugin.err(), Contains("error: "));
    CHECK_THAT(plugin.err(), Contains("usage: entitle-plugin"));
    CHECK(plugin.out().empty());
  }

  SECTION("--help prints the usage and exits 0") {
    Plugin plugin({"--help"}, std::nullopt);
    const std::optional<int> code = plugin.Wait();
    PLUGIN_INFO(plugin);
    CHECK(code == 0);
    CHECK_THAT(plugin.out(), Contains("usage: entitle-plugin"));
    CHECK_THAT(plugin.out(), Contains("--heartbeat SECONDS"));
    CHECK(plugin.err().empty());
  }
  SECTION("no password exits 2") {
    Plugin plugin(With(BaseArgs(store, "ws-anna"), {"--run", "0"}),
                  std::nullopt);  // Standard input is /dev/null.
    const std::optional<int> code = plugin.Wait();
    PLUGIN_INFO(plugin);
    CHECK(code == 2);
    CHECK_THAT(plugin.err(), Contains("error: no password"));
  }
}

TEST_CASE("Plugin client: a missing store exits 4", "[plugin]") {
  const std::string missing =
      (std::filesystem::current_path() / "missing.db").string();
  std::filesystem::remove(missing);
  Plugin plugin(
      {"--db", missing, "--email", kEmail, "--sku", "CAD-PRO", "--run", "0"},
      kPassword);
  const std::optional<int> code = plugin.Wait();
  PLUGIN_INFO(plugin);
  CHECK(code == 4);
  CHECK_THAT(plugin.err(), Contains("error: open " + missing + ": "));
  CHECK_FALSE(std::filesystem::exists(missing));
}

// clang-format off
TEST_CASE("ACT-3 Plugin client: a second plugin on the same store is refused naming the first; once it exits a new one serves", "[plugin]") {
  // clang-format on
  const PreparedStore store = PrepareStore("two_plugins");
  const std::string ben = "ben@partner.example";
  const entitle::IdentityId ben_id = AddMember(store, ben);
  auto ben_args = [&](std::vector<std::string> more) {
    return With({"--db", store.path, "--email", ben, "--sku", "CAD-PRO",
                 "--device", "ws-ben"},
                more);
  };

  // The first plugin serves the store: its checkout took the claim.
  Plugin first(With(BaseArgs(store, "ws-anna"), {"--heartbeat", "1"}),
               kPassword);
  const bool reserved = first.WaitForOutput("reserved until");
  {
    PLUGIN_INFO(first);
    REQUIRE(reserved);
  }

  // The second, for another member on the same file, is refused.
  {
    Plugin second(ben_args({"--run", "5"}), kPassword);
    const std::optional<int> code = second.Wait();
    PLUGIN_INFO(second);
    CHECK(code == 1);
    CHECK_THAT(second.err(), Contains("error: reserve a seat of CAD-PRO: "));
    CHECK_THAT(second.err(), Contains("(reason: served-elsewhere)"));
    CHECK_THAT(second.err(), Contains("served by entitle-plugin on "));
    CHECK_THAT(second.err(),
               Contains("(process " + std::to_string(first.pid()) + ","));
    CHECK_THAT(second.out(), !Contains("reserved"));
  }
  // The first keeps serving and heartbeating.
  const bool beating = first.WaitForOutput("heartbeat: seat renewed");
  {
    PLUGIN_INFO(first);
    REQUIRE(beating);
  }

  // SIGTERM: the first releases its seat and gives the claim up.
  first.Signal(SIGTERM);
  const std::optional<int> first_code = first.Wait();
  {
    PLUGIN_INFO(first);
    REQUIRE(first_code == 0);
    CHECK_THAT(first.out(), Contains("released the seat"));
  }
  std::vector<entitle::ActivationRecord> stored = StoredActivations(store);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].identity_id == store.anna);
  CHECK(stored[0].device_id == entitle::DeviceId("ws-anna"));
  CHECK(stored[0].end_reason == entitle::ActivationEnd::kReleased);
  CHECK(stored[0].ended_at.has_value());
  {
    TestDirectory admin(store.path);
    auto serving = admin.directory->licenses().ServingStatus();
    PLUGIN_TEST_REQUIRE_OK(serving);
    CHECK_FALSE(serving->has_value());
  }

  // Now another plugin serves and gets the seat.
  Plugin third(ben_args({"--run", "0"}), kPassword);
  const std::optional<int> third_code = third.Wait();
  PLUGIN_INFO(third);
  REQUIRE(third_code == 0);
  CHECK_THAT(third.out(), Contains("seat 0 reserved until "));
  CHECK_THAT(third.out(), Contains("released the seat"));
  stored = StoredActivations(store);
  REQUIRE(stored.size() == 2);
  CHECK(stored[1].identity_id == ben_id);
  CHECK(stored[1].end_reason == entitle::ActivationEnd::kReleased);
}

}  // namespace
