// Crash consistency of the SQLite store: a process changing the store through
// a Directory is killed (SIGKILL) at random moments, again and again on the
// same file, and after every kill the file must open, be whole, keep the rules
// the schema and the services enforce, and hold every change the process was
// told had been made.
//
// The changes come from the crash_worker program (crash_worker.cc), which
// logs, after each operation returned OK, the facts that must now be true.
// The log is replayed in order into the state the file must show: a later
// fact replaces an earlier one about the same thing, and an operation cut
// short by the kill (begun, never reported) makes what it could have changed
// unknown until a later fact says again.
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"
#include "fixtures/store_fixtures.h"

#ifndef ENTITLE_CRASH_WORKER_PATH
#error "ENTITLE_CRASH_WORKER_PATH must name the crash_worker helper program"
#endif

extern char** environ;

namespace {

using namespace entitle;
using namespace entitle_test;

constexpr int kRounds = 100;
constexpr uint32_t kTestSeed = 20260105;

// ------------------------------------------------------------- the process

pid_t SpawnWorker(const std::string& db, uint64_t seed,
                  const std::string& log) {
  std::string program = ENTITLE_CRASH_WORKER_PATH;
  std::string seed_text = std::to_string(seed);
  std::vector<char*> argv = {program.data(), const_cast<char*>(db.c_str()),
                             seed_text.data(), const_cast<char*>(log.c_str()),
                             nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), nullptr, nullptr,
                             argv.data(), environ);
  INFO("posix_spawn " << program << ": " << rc);
  REQUIRE(rc == 0);
  return pid;
}

// Waits for `pid`; returns the signal that ended it, or -(exit code + 1)
// when it exited by itself.
int WaitForKill(pid_t pid) {
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

// ------------------------------------------------------ the expected state

using Pair = std::pair<int64_t, int64_t>;

// What the file must show, replayed from the log. A key absent from a map is
// unknown; present, it says what must (true) or must not (false) be there.
struct Expected {
  struct Entitlement {
    int64_t org = 0;
    EntitlementKind kind = EntitlementKind::kNamed;
    int64_t seats = 0;
  };
  std::map<int64_t, bool> identities;  // true: exists; false: deleted
  std::set<int64_t> verified;
  std::set<int64_t> orgs;
  std::map<std::string, int64_t> domains;  // verified name -> owner
  std::map<Pair, std::optional<MembershipKind>> members;  // (org, identity)
  std::map<int64_t, Entitlement> entitlements;
  std::map<Pair, bool> assigned;  // (entitlement, identity)
  std::map<Pair, bool> pooled;    // (entitlement, identity)
  std::map<int64_t, int64_t> entitlement_org;

  // What the log reports, for the progress checks.
  int64_t ok = 0;
  int64_t unconfirmed = 0;
  std::map<std::string, int64_t> refusals;  // reason -> count
  int64_t moves = 0;  // employee memberships that ended by a move (ORG-2)
  std::vector<std::string> bugs;
  std::vector<std::string> bad_lines;

  // An operation that may have changed what is true of `ids` did not report.
  void Forget(const std::vector<int64_t>& ids) {
    ++unconfirmed;
    for (int64_t id : ids) {
      identities.erase(id);
      verified.erase(id);
      std::erase_if(members,
                    [&](const auto& kv) { return kv.first.second == id; });
      std::erase_if(assigned,
                    [&](const auto& kv) { return kv.first.second == id; });
      std::erase_if(pooled,
                    [&](const auto& kv) { return kv.first.second == id; });
    }
  }

  // The identity is gone, and everything of it with it (ID-13).
  void Deleted(int64_t id) {
    identities[id] = false;
    verified.erase(id);
    for (auto& [key, kind] : members) {
      if (key.second == id) kind.reset();
    }
    for (auto& [key, present] : assigned) {
      if (key.second == id) present = false;
    }
    for (auto& [key, present] : pooled) {
      if (key.second == id) present = false;
    }
  }

  // The membership ended with its licenses and pool access (ORG-5).
  void Removed(int64_t org, int64_t id) {
    members[{org, id}].reset();
    for (const auto& [e, owner] : entitlement_org) {
      if (owner != org) continue;
      if (auto it = assigned.find({e, id}); it != assigned.end())
        it->second = false;
      if (auto it = pooled.find({e, id}); it != pooled.end())
        it->second = false;
    }
  }

  void Apply(const std::string& line) {
    std::istringstream in(line);
    std::string what;
    in >> what;
    int64_t a = 0, b = 0, c = 0;
    std::string word;
    if (what == "identity" && (in >> a)) {
      identities[a] = true;
    } else if (what == "verified" && (in >> a)) {
      identities[a] = true;
      verified.insert(a);
    } else if (what == "deleted" && (in >> a)) {
      Deleted(a);
    } else if (what == "org" && (in >> a)) {
      orgs.insert(a);
    } else if (what == "domain" && (in >> a >> word)) {
      domains[word] = a;
    } else if (what == "member" && (in >> a >> b >> word) &&
               (word == "employee" || word == "external")) {
      identities[b] = true;
      members[{a, b}] = word == "employee" ? MembershipKind::kEmployee
                                           : MembershipKind::kExternal;
    } else if (what == "removed" && (in >> a >> b)) {
      Removed(a, b);
    } else if (what == "entitlement" && (in >> a >> b >> word >> c) &&
               (word == "named" || word == "floating")) {
      entitlements[a] = {b,
                         word == "named" ? EntitlementKind::kNamed
                                         : EntitlementKind::kFloating,
                         c};
      entitlement_org[a] = b;
    } else if ((what == "assigned" || what == "unassigned" || what == "pool" ||
                what == "unpooled") &&
               (in >> a >> b >> c)) {
      entitlement_org[a] = b;
      identities[c] = true;
      if (what == "assigned" || what == "unassigned") {
        assigned[{a, c}] = what == "assigned";
      } else {
        pooled[{a, c}] = what == "pool";
      }
    } else {
      bad_lines.push_back(line);
    }
  }

  // Replays the whole log. A last line without its line end was torn by the
  // kill and is not read.
  void Replay(const std::string& text) {
    std::optional<std::vector<int64_t>> open;  // the running operation's ids
    std::vector<std::string> facts;
    size_t pos = 0;
    for (;;) {
      const size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;
      const std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) continue;
      if (line.rfind("? ", 0) == 0 || line.rfind("start ", 0) == 0) {
        if (open.has_value()) Forget(*open);
        open.reset();
        facts.clear();
        if (line[0] == '?') {
          std::istringstream in(line.substr(2));
          std::string op;
          in >> op;
          std::vector<int64_t> ids;
          int64_t id;
          while (in >> id) ids.push_back(id);
          open = std::move(ids);
        }
      } else if (line == "ok") {
        if (!open.has_value()) {
          bad_lines.push_back("ok outside an operation");
          continue;
        }
        ++ok;
        bool ended_employee = false, became_employee = false;
        for (const std::string& fact : facts) {
          Apply(fact);
          ended_employee |= fact.rfind("removed ", 0) == 0;
          became_employee |= fact.find(" employee") != std::string::npos;
        }
        if (ended_employee && became_employee) ++moves;
        open.reset();
        facts.clear();
      } else if (line.rfind("fail ", 0) == 0) {
        if (!facts.empty()) bad_lines.push_back("facts before " + line);
        ++refusals[line.substr(5)];
        open.reset();
        facts.clear();
      } else if (line.rfind("bug ", 0) == 0) {
        bugs.push_back(line);
      } else if (open.has_value()) {
        facts.push_back(line);
      } else {
        bad_lines.push_back(line);
      }
    }
    if (open.has_value()) Forget(*open);
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// ------------------------------------------------------ checks on the file

// The rows `sql` returns, each as its columns joined by spaces.
std::vector<std::string> Query(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  INFO("sql: " << sql << " error: " << sqlite3_errmsg(db));
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int k = 0; k < sqlite3_column_count(stmt); ++k) {
      const unsigned char* text = sqlite3_column_text(stmt, k);
      if (k > 0) row += ' ';
      row += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  REQUIRE(rc == SQLITE_DONE);
  return rows;
}

struct Invariant {
  const char* name;
  const char* sql;  // Returns the rows that break it.
};

const Invariant kInvariants[] = {
    {"ORG-2: at most one employee membership per identity",
     "SELECT identity_id, COUNT(*) FROM memberships WHERE kind = 'employee' "
     "GROUP BY identity_id HAVING COUNT(*) > 1"},
    // The worker never lowers seats, so ENT-7's over-allocation cannot arise.
    {"ENT-2: no more assignments than seats",
     "SELECT e.id, e.seats, COUNT(*) FROM entitlements e "
     "JOIN license_assignments a ON a.entitlement_id = e.id "
     "WHERE e.kind = 'named' GROUP BY e.id HAVING COUNT(*) > e.seats"},
    {"ENT-2: assignments only of named entitlements",
     "SELECT a.entitlement_id, a.identity_id FROM license_assignments a "
     "JOIN entitlements e ON e.id = a.entitlement_id WHERE e.kind != 'named'"},
    {"memberships name an identity and an organization",
     "SELECT m.organization_id, m.identity_id FROM memberships m "
     "WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.id = m.identity_id) "
     "OR NOT EXISTS (SELECT 1 FROM organizations o "
     "WHERE o.id = m.organization_id)"},
    {"assignments name an identity that is a member of the entitlement's "
     "organization (ORG-5, ID-13)",
     "SELECT a.entitlement_id, a.identity_id FROM license_assignments a "
     "LEFT JOIN entitlements e ON e.id = a.entitlement_id "
     "WHERE e.id IS NULL "
     "OR NOT EXISTS (SELECT 1 FROM identities i WHERE i.id = a.identity_id) "
     "OR NOT EXISTS (SELECT 1 FROM organizations o "
     "WHERE o.id = e.organization_id) "
     "OR NOT EXISTS (SELECT 1 FROM memberships m WHERE m.identity_id = "
     "a.identity_id AND m.organization_id = e.organization_id)"},
    {"pool grants name a member of the entitlement's organization, or a "
     "group of it",
     "SELECT g.id FROM pool_grants g "
     "LEFT JOIN entitlements e ON e.id = g.entitlement_id "
     "WHERE e.id IS NULL "
     "OR NOT EXISTS (SELECT 1 FROM organizations o "
     "WHERE o.id = e.organization_id) "
     "OR (g.identity_id IS NULL) = (g.group_id IS NULL) "
     "OR (g.identity_id IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM identities "
     "i WHERE i.id = g.identity_id) OR NOT EXISTS (SELECT 1 FROM memberships m "
     "WHERE m.identity_id = g.identity_id AND m.organization_id = "
     "e.organization_id))) "
     "OR (g.group_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM groups gr "
     "WHERE gr.id = g.group_id AND gr.organization_id = e.organization_id))"},
    {"role grants name an employee membership and a role of that "
     "organization (ORG-4)",
     "SELECT g.organization_id, g.identity_id, g.role_id FROM role_grants g "
     "WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.id = g.identity_id) "
     "OR NOT EXISTS (SELECT 1 FROM organizations o "
     "WHERE o.id = g.organization_id) "
     "OR NOT EXISTS (SELECT 1 FROM memberships m WHERE m.identity_id = "
     "g.identity_id AND m.organization_id = g.organization_id AND m.kind = "
     "'employee') "
     "OR NOT EXISTS (SELECT 1 FROM roles r WHERE r.id = g.role_id AND "
     "r.organization_id = g.organization_id)"},
    {"ORG-4: every organization keeps an administrator",
     "SELECT o.id FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM "
     "role_grants g JOIN roles r ON r.id = g.role_id WHERE g.organization_id = "
     "o.id AND (r.permissions & 2) != 0)"},
    {"ORG-9: a verified domain has one owner",
     "SELECT name FROM domains WHERE status = 'verified' GROUP BY name "
     "HAVING COUNT(*) > 1"},
};

// PRAGMA integrity_check, foreign_key_check and the invariants, with SQLite
// directly (a second, independent reader of the file).
void CheckFile(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  const std::vector<std::string> integrity =
      Query(db, "PRAGMA integrity_check");
  CHECK(integrity == std::vector<std::string>{"ok"});
  const std::vector<std::string> foreign =
      Query(db, "PRAGMA foreign_key_check");
  INFO("foreign_key_check: " << (foreign.empty() ? "" : foreign.front()));
  CHECK(foreign.empty());
  for (const Invariant& invariant : kInvariants) {
    const std::vector<std::string> broken = Query(db, invariant.sql);
    INFO("invariant: " << invariant.name);
    INFO("first row breaking it: " << (broken.empty() ? "" : broken.front()));
    CHECK(broken.empty());
  }
  REQUIRE(sqlite3_close(db) == SQLITE_OK);
}

// Every fact the replayed log still stands by holds in the store.
void CheckFacts(Store& store, const Expected& want) {
  auto txn = BeginRead(store);
  Transaction& tx = *txn;
  for (const auto& [id, exists] : want.identities) {
    auto got = tx.identities().Get(IdentityId(id));
    INFO("identity " << id << (exists ? " must exist" : " was deleted"));
    if (exists) {
      ENTITLE_REQUIRE_OK(got);
      if (want.verified.contains(id)) CHECK(got->verified);
    } else {
      CHECK(GetReason(got.status()) == Reason::kNotFound);
    }
  }
  for (int64_t org : want.orgs) {
    INFO("organization " << org);
    ENTITLE_REQUIRE_OK(tx.organizations().Get(OrganizationId(org)));
  }
  for (const auto& [name, org] : want.domains) {
    auto owners = ListAll(tx.domains(),
                          {.name = name, .status = DomainStatus::kVerified});
    INFO("domain " << name << " owned by organization " << org);
    REQUIRE(owners.size() == 1);
    CHECK(owners[0].organization_id == OrganizationId(org));
  }
  for (const auto& [key, kind] : want.members) {
    auto got = tx.memberships().Get(
        MembershipKey{OrganizationId(key.first), IdentityId(key.second)});
    INFO("membership of identity " << key.second << " in organization "
                                   << key.first);
    if (kind.has_value()) {
      INFO("must be " << (*kind == MembershipKind::kEmployee ? "employee"
                                                             : "external"));
      ENTITLE_REQUIRE_OK(got);
      CHECK(got->kind == *kind);
    } else {
      INFO("must be gone");
      CHECK(GetReason(got.status()) == Reason::kNotFound);
    }
  }
  for (const auto& [id, ent] : want.entitlements) {
    auto got = tx.entitlements().Get(EntitlementId(id));
    INFO("entitlement " << id);
    ENTITLE_REQUIRE_OK(got);
    CHECK(got->organization_id == OrganizationId(ent.org));
    CHECK(got->kind == ent.kind);
    CHECK(got->seats == ent.seats);
  }
  for (const auto& [key, present] : want.assigned) {
    auto got = tx.license_assignments().Get(
        LicenseAssignmentKey{EntitlementId(key.first), IdentityId(key.second)});
    INFO("assignment of entitlement " << key.first << " to identity "
                                      << key.second << " must "
                                      << (present ? "exist" : "be gone"));
    CHECK(got.ok() == present);
    if (!got.ok()) CHECK(GetReason(got.status()) == Reason::kNotFound);
  }
  for (const auto& [key, present] : want.pooled) {
    const int64_t n =
        MustCount(tx.pool_grants(), {.entitlement_id = EntitlementId(key.first),
                                     .identity_id = IdentityId(key.second)});
    INFO("pool access of identity " << key.second << " to entitlement "
                                    << key.first << " must "
                                    << (present ? "exist" : "be gone"));
    CHECK(n == (present ? 1 : 0));
  }
  MustCommit(tx);
}

}  // namespace

TEST_CASE(
    "Crash: a store killed mid-write reopens whole, keeps its rules "
    "and every change reported done",
    "[crash][sqlite]") {
  SqliteBackend backend;
  const std::string db = backend.path();
  const std::string log = backend.dir() + "/facts.log";
  std::mt19937 rng(kTestSeed);
  std::uniform_int_distribution<int> run_ms(20, 300);

  int64_t previous_ok = 0;
  size_t previous_size = 0;
  int rounds_with_progress = 0;
  Expected final_state;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(round);
    const int ms = run_ms(rng);
    INFO("round " << round << ", worker seed " << seed << ", killed after "
                  << ms << " ms");
    const pid_t pid = SpawnWorker(db, seed, log);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    REQUIRE(kill(pid, SIGKILL) == 0);
    // A worker that ended by itself failed (see its stderr).
    REQUIRE(WaitForKill(pid) == SIGKILL);

    // Opening proves the file is a usable store (WAL recovery included).
    auto store = backend.OpenSqlite();
    CheckFile(db);

    const std::string text = ReadFile(log);
    Expected want;
    want.Replay(text);
    INFO("log: " << text.size() << " bytes, " << want.ok
                 << " operations reported done");
    CHECK(want.bugs == std::vector<std::string>{});
    CHECK(want.bad_lines == std::vector<std::string>{});
    CheckFacts(*store, want);

    // The log only grows, and the worker gets work done.
    CHECK(text.size() >= previous_size);
    CHECK(want.ok >= previous_ok);
    if (want.ok > previous_ok) ++rounds_with_progress;
    previous_size = text.size();
    previous_ok = want.ok;
    final_state = std::move(want);
  }

  INFO("operations reported done: " << final_state.ok << ", cut short: "
                                    << final_state.unconfirmed
                                    << ", moves: " << final_state.moves);
  for (const auto& [reason, n] : final_state.refusals) {
    UNSCOPED_INFO("refused " << n << "x: " << reason);
  }
  CHECK(rounds_with_progress >= kRounds / 2);
  CHECK(final_state.ok >= 5 * kRounds);
  // The rules the worker runs into were met, not skipped.
  CHECK(final_state.refusals["employee-elsewhere"] > 0);
  CHECK(final_state.refusals["licenses-exhausted"] > 0);
  CHECK(final_state.moves > 0);
  // No store failure, ever: each kill left a file the next worker could use.
  CHECK(final_state.refusals["store-corrupt"] == 0);
  CHECK(final_state.refusals["store-unavailable"] == 0);
}
