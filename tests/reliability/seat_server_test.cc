// The serving process of a SQLite store's floating seats (ACT-3, ACT-4),
// across processes: seat_server_worker processes (seat_server_worker.cc)
// serve one pool under checkout, heartbeat and release traffic from several
// threads and are killed with SIGKILL, again and again; a new process (a
// restart) or a standby that was already waiting takes over. After each kill
// the activations the killed process had flushed must all be held again, at
// their seats, by the next server, no seat is held twice nor more seats than
// the pool has, and the file is whole. A second process is refused while one
// serves and reserves nothing; a waiting standby takes over at once.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/store_fixtures.h"

#ifndef ENTITLE_SEAT_SERVER_WORKER_PATH
#error \
    "ENTITLE_SEAT_SERVER_WORKER_PATH must name the seat_server_worker program"
#endif

extern char** environ;

namespace {

using namespace entitle;
using namespace entitle_test;

constexpr int64_t kSeats = 24;
constexpr int kMembers = 40;
constexpr int kKills = 50;
constexpr uint32_t kTestSeed = 20261203;
constexpr const char* kSku = "SRV-FLOAT";

// ------------------------------------------------------------- the store

// An organization with a floating entitlement of kSeats seats and kMembers
// members with direct access to its pool, made through a Directory that
// keeps its seats in memory (it never takes the serving claim).
struct Pool {
  EntitlementId entitlement;
  std::vector<IdentityId> members;
  std::string member_list;  // "id,id,..." for the worker's command line.
};

Pool MakePool(SqliteBackend& backend) {
  auto store = backend.OpenSqlite();
  Argon2idHasher hasher(Argon2idParams::MinimumForTests());
  DirectoryOptions options;
  options.hasher = &hasher;
  options.license_policy.persist_activations = false;
  Directory directory(*store, options);
  const Actor op = Actor::Operator();
  auto person = [&](const std::string& name) {
    const std::string email = name + "@seats.example";
    auto id = directory.identities().Register(op, email);
    ENTITLE_REQUIRE_OK(id);
    auto address = Email::Parse(email);
    ENTITLE_REQUIRE_OK(address);
    auto link = directory.default_notifier()->Last(*address, "verify-email");
    REQUIRE(link.has_value());
    ENTITLE_REQUIRE_OK(directory.identities().CompleteVerification(
        link->token, "Seats-pass-1"));
    return *id;
  };
  const IdentityId admin = person("admin");
  auto org = directory.organizations().Create(op, "Seat Server", admin);
  ENTITLE_REQUIRE_OK(org);
  EntitlementTerms terms;
  terms.sku = kSku;
  terms.kind = EntitlementKind::kFloating;
  terms.seats = kSeats;
  terms.period_start = absl::Now() - absl::Hours(24);
  terms.period_end = absl::Now() + absl::Hours(24 * 365);
  auto made = directory.licenses().CreateEntitlement(op, *org, terms);
  ENTITLE_REQUIRE_OK(made);
  Pool pool;
  pool.entitlement = made->id;
  for (int i = 0; i < kMembers; ++i) {
    const std::string name = absl::StrCat("member", i);
    const IdentityId id = person(name);
    ENTITLE_REQUIRE_OK(directory.organizations().AddExternal(
        op, *org, name + "@seats.example"));
    PoolMember member;
    member.identity = id;
    ENTITLE_REQUIRE_OK(
        directory.licenses().GrantPoolAccess(op, pool.entitlement, member));
    pool.members.push_back(id);
  }
  pool.member_list =
      absl::StrJoin(pool.members, ",", [](std::string* out, IdentityId id) {
        absl::StrAppend(out, id.value());
      });
  return pool;
}

// --------------------------------------------------------------- workers

// A running worker with a pipe to its stdin and one from its stdout.
struct Worker {
  pid_t pid = -1;
  int in = -1;   // Its stdin.
  int out = -1;  // Its stdout.
  std::string buffered;

  // The next line it printed, without the newline; nothing when it printed
  // none within `timeout` or closed its stdout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto nl = buffered.find('\n'); nl != std::string::npos) {
        std::string line = buffered.substr(0, nl);
        buffered.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out, POLLIN, 0};
      const int n = poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      char chunk[256];
      const ssize_t got = read(out, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return std::nullopt;
      buffered.append(chunk, static_cast<size_t>(got));
    }
  }

  // Lets a serving worker start its traffic.
  void Go() {
    const char line[] = "go\n";
    REQUIRE(write(in, line, sizeof line - 1) ==
            static_cast<ssize_t>(sizeof line - 1));
  }

  void ClosePipes() {
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    in = out = -1;
  }
};

Worker Spawn(const std::string& db, const Pool& pool, const std::string& holder,
             uint64_t seed, const std::string& mode) {
  int to_child[2];
  int from_child[2];
  REQUIRE(pipe2(to_child, O_CLOEXEC) == 0);
  REQUIRE(pipe2(from_child, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  std::string program = ENTITLE_SEAT_SERVER_WORKER_PATH;
  std::string seed_text = std::to_string(seed);
  std::string entitlement = std::to_string(pool.entitlement.value());
  std::string sku = kSku;
  std::string members = pool.member_list;
  std::string mode_text = mode;
  std::vector<char*> argv = {program.data(),
                             const_cast<char*>(db.c_str()),
                             const_cast<char*>(holder.c_str()),
                             seed_text.data(),
                             entitlement.data(),
                             sku.data(),
                             members.data()};
  if (!mode_text.empty()) argv.push_back(mode_text.data());
  argv.push_back(nullptr);
  Worker w;
  const int rc = posix_spawn(&w.pid, program.c_str(), &actions, nullptr,
                             argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(to_child[0]);
  close(from_child[1]);
  INFO("posix_spawn " << program << ": " << rc);
  REQUIRE(rc == 0);
  w.in = to_child[1];
  w.out = from_child[0];
  return w;
}

// Waits for `pid`; returns the signal that ended it, or -(exit code + 1)
// when it exited by itself.
int Wait(pid_t pid) {
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  REQUIRE(got == pid);
  if (WIFSIGNALED(status)) return WTERMSIG(status);
  if (WIFEXITED(status)) return -(WEXITSTATUS(status) + 1);
  return -1000;
}

void Kill(Worker& w) {
  REQUIRE(kill(w.pid, SIGKILL) == 0);
  // A worker that ended by itself failed (see its stderr).
  REQUIRE(Wait(w.pid) == SIGKILL);
  w.ClosePipes();
}

// The epoch in "serving epoch <n>", or nothing for another line.
std::optional<int64_t> ServingEpoch(const std::optional<std::string>& line) {
  const std::string prefix = "serving epoch ";
  if (!line.has_value() || line->rfind(prefix, 0) != 0) return std::nullopt;
  return std::stoll(line->substr(prefix.size()));
}

// ---------------------------------------------------------- what is stored

std::map<int64_t, ActivationRecord> OpenActivations(SqliteBackend& backend) {
  auto store = backend.OpenSqlite();
  auto txn = BeginRead(*store);
  ActivationFilter filter;
  filter.end_reason = ActivationEnd::kOpen;
  std::map<int64_t, ActivationRecord> open;
  for (ActivationRecord& a : ListAll(txn->activations(), filter)) {
    open.emplace(a.id.value(), std::move(a));
  }
  MustCommit(*txn);
  return open;
}

std::vector<ActivationRecord> AllActivations(SqliteBackend& backend) {
  auto store = backend.OpenSqlite();
  auto txn = BeginRead(*store);
  std::vector<ActivationRecord> all = ListAll(txn->activations());
  MustCommit(*txn);
  return all;
}

std::string Describe(const ActivationRecord& a) {
  return absl::StrCat("activation ", a.id.value(), " of identity ",
                      a.identity_id.value(), " on ", a.device_id.value(),
                      " at seat ", a.seat, " (epoch ", a.epoch, ", since ",
                      absl::FormatTime(a.since), ", heartbeat ",
                      absl::FormatTime(a.last_heartbeat), ")");
}

// No two open activations share a seat of one pool; no pool holds more than
// its seats.
void CheckSeats(const char* when,
                const std::map<int64_t, ActivationRecord>& open) {
  INFO(when);
  std::map<std::pair<int64_t, int64_t>, const ActivationRecord*> seats;
  for (const auto& [id, a] : open) {
    INFO(Describe(a));
    CHECK(a.seat >= 0);
    CHECK(a.seat < kSeats);
    auto [it, added] =
        seats.emplace(std::make_pair(a.entitlement_id.value(), a.seat), &a);
    INFO("the seat is also held by " << Describe(*it->second));
    CHECK(added);
  }
  CHECK(static_cast<int64_t>(open.size()) <= kSeats);
}

std::vector<std::string> Query(sqlite3* db, const char* sql) {
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    rows.emplace_back(text == nullptr ? ""
                                      : reinterpret_cast<const char*>(text));
  }
  sqlite3_finalize(stmt);
  return rows;
}

// PRAGMA integrity_check and foreign_key_check with SQLite directly.
void CheckFile(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  CHECK(Query(db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
  CHECK(Query(db, "PRAGMA foreign_key_check").empty());
  REQUIRE(sqlite3_close(db) == SQLITE_OK);
}

}  // namespace

// clang-format off
TEST_CASE("ACT-4 SIGKILL of the serving process under checkout traffic, 50 times, then a restart or a standby takeover; no seat held by two devices, no holder of a flushed activation lost, integrity_check clean", "[crash][sqlite][activations]") {
  // clang-format on
  SqliteBackend backend;
  const std::string db = backend.path();
  const Pool pool = MakePool(backend);
  std::mt19937 rng(kTestSeed);
  std::uniform_int_distribution<int> run_ms(50, 300);
  constexpr auto kLineWait = std::chrono::seconds(20);

  uint64_t seed = 1;
  Worker server = Spawn(db, pool, "seat-server-0", seed++, "");
  std::optional<int64_t> epoch = ServingEpoch(server.ReadLine(kLineWait));
  REQUIRE(epoch.has_value());
  server.Go();

  int restarts = 0;
  int takeovers = 0;
  size_t flushed_total = 0;
  int rounds_with_holders = 0;
  for (int round = 0; round < kKills; ++round) {
    const bool standby = round % 2 == 1;
    const int ms = run_ms(rng);
    INFO("round " << round << ", serving epoch " << *epoch << ", killed after "
                  << ms << " ms, then "
                  << (standby ? "a standby" : "a restart"));
    std::optional<Worker> next;
    if (standby) {
      next = Spawn(db, pool, absl::StrCat("seat-server-", round + 1), seed++,
                   "--standby");
      REQUIRE(next->ReadLine(kLineWait) ==
              std::optional<std::string>("standby"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    Kill(server);

    // What the killed server had flushed: the open activations whose lease
    // still runs. (A standby may already be rebuilding; it changes no seat
    // before it is told to go.)
    const absl::Time now = absl::Now();
    std::map<int64_t, ActivationRecord> flushed;
    for (auto& [id, a] : OpenActivations(backend)) {
      if (a.expires_at > now) flushed.emplace(id, a);
    }
    CheckSeats("after the kill", flushed);
    CheckFile(db);
    flushed_total += flushed.size();
    if (!flushed.empty()) ++rounds_with_holders;

    if (!standby) {
      next =
          Spawn(db, pool, absl::StrCat("seat-server-", round + 1), seed++, "");
    }
    const std::optional<int64_t> next_epoch =
        ServingEpoch(next->ReadLine(kLineWait));
    REQUIRE(next_epoch.has_value());
    CHECK(*next_epoch > *epoch);
    (standby ? takeovers : restarts) += 1;

    // The new server rebuilt its pool from the store: every flushed holder
    // is still open at its seat (ACT-4).
    const std::map<int64_t, ActivationRecord> open = OpenActivations(backend);
    CheckSeats("once the next server serves", open);
    for (const auto& [id, a] : flushed) {
      INFO("flushed " << Describe(a));
      auto it = open.find(id);
      CHECK(it != open.end());
      if (it == open.end()) continue;
      CHECK(it->second.seat == a.seat);
      CHECK(it->second.entitlement_id == a.entitlement_id);
      CHECK(it->second.identity_id == a.identity_id);
      CHECK(it->second.device_id == a.device_id);
    }
    // Nothing opened that the killed server had not flushed.
    CHECK(open.size() == flushed.size());

    server = *next;
    epoch = next_epoch;
    server.Go();
  }
  Kill(server);

  // The rows the servers closed: by their own traffic, each with its epoch.
  std::map<ActivationEnd, int> ended;
  for (const ActivationRecord& a : AllActivations(backend)) {
    ++ended[a.end_reason];
    CHECK(a.epoch >= 1);
    CHECK(a.epoch <= *epoch);
  }
  CheckFile(db);
  INFO("restarts " << restarts << ", takeovers " << takeovers
                   << ", flushed holders checked " << flushed_total
                   << ", released sessions " << ended[ActivationEnd::kReleased]
                   << ", lost " << ended[ActivationEnd::kLost]);
  CHECK(restarts == kKills / 2);
  CHECK(takeovers == kKills / 2);
  // The traffic got seats held and released, and kills found holders.
  CHECK(rounds_with_holders >= kKills / 2);
  CHECK(ended[ActivationEnd::kReleased] > 0);
  // No restart found a seat named twice.
  CHECK(ended[ActivationEnd::kLost] == 0);
}

// clang-format off
TEST_CASE("ACT-3 two processes on one store: the second is refused, naming the first, and reserves nothing; a standby takes over at once when the first is killed", "[crash][sqlite][activations]") {
  // clang-format on
  SqliteBackend backend;
  const std::string db = backend.path();
  const Pool pool = MakePool(backend);
  constexpr auto kLineWait = std::chrono::seconds(20);

  Worker a = Spawn(db, pool, "seat-server-a", 1, "");
  const std::optional<int64_t> epoch = ServingEpoch(a.ReadLine(kLineWait));
  REQUIRE(epoch.has_value());
  a.Go();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));

  Worker b = Spawn(db, pool, "seat-server-b", 2, "--once");
  const std::optional<std::string> answer = b.ReadLine(kLineWait);
  REQUIRE(Wait(b.pid) == -1);  // Exited 0.
  b.ClosePipes();
  REQUIRE(answer.has_value());
  INFO("the second process was told: " << *answer);
  CHECK(
      answer->rfind(
          "refused " + std::string(ReasonName(Reason::kServedElsewhere)) + " ",
          0) == 0);
  CHECK(answer->find("seat-server-a") != std::string::npos);
  CHECK(answer->find(absl::StrCat("(process ", a.pid, ",")) !=
        std::string::npos);
  {
    auto store = backend.OpenSqlite();
    auto txn = BeginRead(*store);
    auto claim = txn->serving_claims().Get(ServingClaimKey{"seats"});
    ENTITLE_REQUIRE_OK(claim);
    CHECK(claim->holder == "seat-server-a");
    CHECK(claim->process_id == a.pid);
    CHECK(claim->epoch == *epoch);
    MustCommit(*txn);
  }
  // The refused process reserved nothing: no activation of its device, and
  // none written by an epoch other than A's.
  for (const ActivationRecord& row : AllActivations(backend)) {
    CHECK(row.device_id.value() != "probe");
    CHECK(row.epoch == *epoch);
  }

  Worker c = Spawn(db, pool, "seat-server-c", 3, "--standby");
  REQUIRE(c.ReadLine(kLineWait) == std::optional<std::string>("standby"));
  // Let it try the claim at least once and wait in Serve.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto killed = std::chrono::steady_clock::now();
  Kill(a);
  const std::optional<int64_t> c_epoch = ServingEpoch(c.ReadLine(kLineWait));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  std::cout << "ACT-3: the standby served " << took.count()
            << " ms after the serving process was killed\n";
  REQUIRE(c_epoch.has_value());
  CHECK(*c_epoch == *epoch + 1);
  CHECK(took < std::chrono::seconds(1));
  c.Go();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Kill(c);
  CheckFile(db);
}
