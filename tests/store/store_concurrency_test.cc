// Stores under concurrent use (label: concurrency; meant to run under
// ThreadSanitizer too, so sizes are kept small enough for ~20 s on 2 cores).
//
// - Many writer threads beside reader threads: every committed write is kept,
//   ids stay unique, and a reader never sees half of a transaction.
// - A race for the one employee membership of an identity: exactly one wins.
// - SQLite only: two processes writing one file (tests/sqlite_writer.cc).
//
// Catch2's assertions are not thread-safe, so worker threads only record what
// they saw; the test thread checks it afterwards.
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/store_fixtures.h"

#ifndef ENTITLE_SQLITE_WRITER_PATH
#error "ENTITLE_SQLITE_WRITER_PATH must name the sqlite_writer helper program"
#endif

// Filters and page requests are written with designated initializers that name
// only the fields that matter; the others are meant to stay unset.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

extern char** environ;

namespace entitle_test {
namespace {

using namespace entitle;

// Problems seen by worker threads, reported on the test thread.
class Problems {
 public:
  void Add(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (list_.size() < 20) list_.push_back(std::move(what));
    ++count_;
  }
  void RequireNone() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : list_) UNSCOPED_INFO(p);
    REQUIRE(count_ == 0);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;
  int count_ = 0;
};

TEMPLATE_TEST_CASE(
    "store: 8 writer threads beside 2 readers lose nothing and readers see "
    "whole transactions",
    "[store][concurrency]", ENTITLE_BACKENDS) {
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 200;
  TestType backend;
  auto store = backend.Open();
  Problems problems;
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> reads{0};
  std::latch start(kWriters + 2);

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerWriter; ++i) {
        auto txn = store->Begin(TransactionMode::kWrite);
        if (!txn.ok()) {
          problems.Add("begin: " + txn.status().ToString());
          continue;
        }
        IdentityRecord identity;
        auto email = Email::Parse("w" + std::to_string(w) + "-" +
                                  std::to_string(i) + "@example.com");
        if (!email.ok()) {
          problems.Add("parse: " + email.status().ToString());
          continue;
        }
        identity.email = *email;
        identity.created_at = At(i);
        auto id = (*txn)->identities().Insert(identity);
        if (!id.ok()) {
          problems.Add("insert: " + id.status().ToString());
          continue;
        }
        AuditRecord audit = MakeAudit("identity.create", At(i));
        audit.target = "identity#" + std::to_string(id->value());
        auto audit_id = (*txn)->audit().Insert(audit);
        if (!audit_id.ok()) {
          problems.Add("audit: " + audit_id.status().ToString());
          continue;
        }
        if (absl::Status s = (*txn)->Commit(); !s.ok()) {
          problems.Add("commit: " + s.ToString());
        }
      }
      writers_left.fetch_sub(1);
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      int64_t last_seen = 0;
      // At least a few reads even if the writers are quick.
      for (int round = 0; writers_left.load() > 0 || round < 5; ++round) {
        auto txn = store->Begin(TransactionMode::kRead);
        if (!txn.ok()) {
          problems.Add("read begin: " + txn.status().ToString());
          break;
        }
        auto identities = (*txn)->identities().Count({});
        auto audits = (*txn)->audit().Count({});
        auto page = (*txn)->identities().List({}, {.offset = 0, .limit = 50});
        if (!identities.ok() || !audits.ok() || !page.ok()) {
          problems.Add("read failed");
          break;
        }
        // Each write transaction adds one of each: a consistent snapshot
        // always has as many audit records as identities.
        if (*identities != *audits) {
          problems.Add("torn read: " + std::to_string(*identities) +
                       " identities, " + std::to_string(*audits) + " audit");
        }
        if (*identities < last_seen) problems.Add("count went backwards");
        last_seen = *identities;
        for (size_t k = 1; k < page->items.size(); ++k) {
          if (!(page->items[k - 1].id < page->items[k].id)) {
            problems.Add("page out of key order");
          }
        }
        if (!(*txn)->Commit().ok()) problems.Add("read commit failed");
        reads.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  problems.RequireNone();
  REQUIRE(reads.load() >= 10);

  auto txn = BeginRead(*store);
  REQUIRE(MustCount(txn->identities()) == kWriters * kPerWriter);
  REQUIRE(MustCount(txn->audit()) == kWriters * kPerWriter);
  auto all = ListAll(txn->identities());
  REQUIRE(all.size() == kWriters * kPerWriter);
  std::set<int64_t> ids;
  std::set<std::string> emails;
  for (const auto& r : all) {
    REQUIRE(r.id.valid());
    ids.insert(r.id.value());
    emails.insert(r.email.str());
  }
  REQUIRE(ids.size() == all.size());
  REQUIRE(emails.size() == all.size());
  REQUIRE(emails.count("w7-199@example.com") == 1);
  std::set<int64_t> audit_ids;
  for (const auto& a : ListAll(txn->audit())) audit_ids.insert(a.id.value());
  REQUIRE(audit_ids.size() == kWriters * kPerWriter);
  MustCommit(*txn);
}

TEMPLATE_TEST_CASE(
    "store: 8 threads racing for one identity's employee membership: exactly "
    "one wins",
    "[store][concurrency]", ENTITLE_BACKENDS) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 5;
  TestType backend;
  auto store = backend.Open();
  std::vector<OrganizationId> orgs;
  {
    auto txn = BeginWrite(*store);
    for (int k = 0; k < kThreads; ++k) {
      orgs.push_back(MustInsert(txn->organizations(),
                                MakeOrganization("Org " + std::to_string(k))));
    }
    MustCommit(*txn);
  }
  for (int round = 0; round < kRounds; ++round) {
    IdentityId person = [&] {
      auto txn = BeginWrite(*store);
      auto id = MustInsert(
          txn->identities(),
          MakeIdentity("racer" + std::to_string(round) + "@example.com"));
      MustCommit(*txn);
      return id;
    }();
    std::vector<absl::Status> results(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int k = 0; k < kThreads; ++k) {
      threads.emplace_back([&, k] {
        start.arrive_and_wait();
        auto txn = store->Begin(TransactionMode::kWrite);
        if (!txn.ok()) {
          results[k] = txn.status();
          return;
        }
        auto key = (*txn)->memberships().Insert(
            MakeMembership(orgs[k], person, MembershipKind::kEmployee));
        if (!key.ok()) {
          results[k] = key.status();
          return;
        }
        results[k] = (*txn)->Commit();
      });
    }
    for (auto& t : threads) t.join();

    int won = 0;
    int duplicate = 0;
    for (const absl::Status& s : results) {
      UNSCOPED_INFO("result: " << s.ToString());
      if (s.ok()) {
        ++won;
      } else if (s.code() == absl::StatusCode::kAlreadyExists &&
                 GetReason(s) == Reason::kDuplicate) {
        ++duplicate;
      }
    }
    REQUIRE(won == 1);
    REQUIRE(duplicate == kThreads - 1);
    auto txn = BeginRead(*store);
    REQUIRE(MustCount(txn->memberships(), {.identity_id = person}) == 1);
    MustCommit(*txn);
  }
}

// ------------------------------------------------------ SQLite: two processes

// Starts the sqlite_writer helper; returns its pid.
pid_t SpawnWriter(const std::string& db, const std::string& prefix, int count) {
  std::string program = ENTITLE_SQLITE_WRITER_PATH;
  std::string count_text = std::to_string(count);
  std::vector<char*> argv = {program.data(), const_cast<char*>(db.c_str()),
                             const_cast<char*>(prefix.c_str()),
                             count_text.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(),
                       environ);
  INFO("posix_spawn " << program << ": " << rc);
  REQUIRE(rc == 0);
  return pid;
}

// Waits for `pid`; returns its exit code (or -signal when killed).
int WaitFor(pid_t pid) {
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  REQUIRE(got == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt,
                             nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void CheckTwoWriters(SqliteBackend& backend, int per_writer) {
  pid_t a = SpawnWriter(backend.path(), "alpha", per_writer);
  pid_t b = SpawnWriter(backend.path(), "beta", per_writer);
  const int code_a = WaitFor(a);
  const int code_b = WaitFor(b);
  REQUIRE(code_a == 0);
  REQUIRE(code_b == 0);

  auto store = backend.Open();
  auto txn = BeginRead(*store);
  auto all = ListAll(txn->identities());
  REQUIRE(all.size() == static_cast<size_t>(2 * per_writer));
  std::set<std::string> emails;
  int alpha = 0, beta = 0;
  for (const auto& r : all) {
    emails.insert(r.email.str());
    if (absl::StartsWith(r.email.str(), "alpha-")) ++alpha;
    if (absl::StartsWith(r.email.str(), "beta-")) ++beta;
  }
  REQUIRE(emails.size() == all.size());
  REQUIRE(alpha == per_writer);
  REQUIRE(beta == per_writer);
  REQUIRE(emails.count("alpha-" + std::to_string(per_writer - 1) +
                       "@example.com") == 1);
  REQUIRE(MustCount(txn->audit()) == 2 * per_writer);
  MustCommit(*txn);
  txn.reset();
  store.reset();
  REQUIRE(IntegrityCheck(backend.path()) == "ok");
}

TEST_CASE("sqlite: two processes writing one file lose nothing",
          "[store][sqlite][concurrency]") {
  SqliteBackend backend;
  backend.Open().reset();  // The file exists before the writers start.
  CheckTwoWriters(backend, 300);
}

TEST_CASE(
    "sqlite: two processes creating the same new file at once both "
    "succeed",
    "[store][sqlite][concurrency]") {
  SqliteBackend backend;
  CheckTwoWriters(backend, 20);
}

}  // namespace
}  // namespace entitle_test
