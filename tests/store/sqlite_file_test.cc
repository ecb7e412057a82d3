// What SqliteStore does to the file system: the modes of the files it creates
// (SEC-9) and what it creates when it is told to open an existing file only.
//
// SEC-9 concerns files, so it has no MemoryStore counterpart: a MemoryStore
// creates none.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/file_mode.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

// The names in `dir`.
std::set<std::string> FilesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// One committed write: an identity with a password hash, what the reported
// file held. Leaves the store open, so the -wal and -shm files exist.
void WriteIdentityWithPassword(Store& store) {
  IdentityRecord identity = MakeIdentity("anna@acme.example");
  auto hash = Argon2idHasher(Argon2idParams::MinimumForTests())
                  .Hash("correct horse battery staple");
  ENTITLE_REQUIRE_OK(hash);
  identity.password_hash = *hash;
  auto txn = BeginWrite(store);
  MustInsert(txn->identities(), identity);
  MustCommit(*txn);
}

// Opens a new store under `mask`, writes, and checks every file it made.
void RequireOwnerOnlyUnder(mode_t mask) {
  ScopedUmask umask(mask);
  SqliteBackend backend;
  std::unique_ptr<Store> store = backend.Open();
  WriteIdentityWithPassword(*store);
  const std::string db = backend.path();
  REQUIRE(FilesIn(backend.dir()) ==
          std::set<std::string>{"store.db", "store.db-wal", "store.db-shm"});
  CHECK(ModeOf(db) == 0600);
  CHECK(ModeOf(db + "-wal") == 0600);
  CHECK(ModeOf(db + "-shm") == 0600);

  // Closed (SQLite removes the WAL files) and opened again: made anew with
  // the same mode, and the file keeps its own.
  store.reset();
  store = backend.Open();
  auto txn = BeginWrite(*store);
  MustInsert(txn->identities(), MakeIdentity("ben@acme.example"));
  MustCommit(*txn);
  CHECK(ModeOf(db) == 0600);
  CHECK(ModeOf(db + "-wal") == 0600);
  CHECK(ModeOf(db + "-shm") == 0600);
}

// clang-format off
TEST_CASE("SEC-9 a new database file and its -wal and -shm files are owner-only under umask 000", "[store][sqlite][sec9]") {
  // clang-format on
  RequireOwnerOnlyUnder(0000);
}

// clang-format off
TEST_CASE("SEC-9 a new database holding password hashes is not world-readable under umask 022 (it was 0644)", "[store][sqlite][sec9]") {
  // clang-format on
  // The reproduction: under the usual umask the file was created 0644, so
  // every local user could read the password hashes in it.
  RequireOwnerOnlyUnder(0022);
}

// clang-format off
TEST_CASE("SEC-9 the rollback journal SQLite makes beside a new database is owner-only", "[store][sqlite][sec9]") {
  // clang-format on
  ScopedUmask umask(0000);
  SqliteBackend backend;
  backend.Open().reset();
  // Another program writes the same file in rollback-journal mode: the
  // -journal file SQLite makes for it follows the database file's mode.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(backend.path().c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "PRAGMA journal_mode = DELETE; BEGIN IMMEDIATE; "
                       "CREATE TABLE scratch (x); INSERT INTO scratch "
                       "VALUES (1);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string journal = backend.path() + "-journal";
  const bool journal_exists = std::filesystem::exists(journal);
  const mode_t journal_mode = journal_exists ? ModeOf(journal) : 0;
  REQUIRE(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  REQUIRE(journal_exists);
  CHECK(journal_mode == 0600);
  CHECK(ModeOf(backend.path()) == 0600);
}

// clang-format off
TEST_CASE("SEC-9 an existing file keeps the mode its owner gave it, and its companions follow it", "[store][sqlite][sec9]") {
  // clang-format on
  ScopedUmask umask(0000);
  SqliteBackend backend;
  // A host that shares the database with its group on purpose.
  { std::ofstream touch(backend.path()); }
  REQUIRE(::chmod(backend.path().c_str(), 0640) == 0);
  std::unique_ptr<Store> store = backend.Open();
  WriteIdentityWithPassword(*store);
  CHECK(ModeOf(backend.path()) == 0640);
  CHECK(ModeOf(backend.path() + "-wal") == 0640);
  CHECK(ModeOf(backend.path() + "-shm") == 0640);

  // A file tightened by its owner stays tight.
  store.reset();
  REQUIRE(::chmod(backend.path().c_str(), 0400 | 0200) == 0);
  store = backend.Open();
  CHECK(ModeOf(backend.path()) == 0600);
}

// clang-format off
TEST_CASE("SEC-9 a symbolic link that points nowhere is refused, and nothing is created through it", "[store][sqlite][sec9]") {
  // clang-format on
  SqliteBackend backend;
  const std::string target = backend.dir() + "/elsewhere.db";
  std::filesystem::create_symlink(target, backend.path());
  auto store = SqliteStore::Open(backend.path());
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kUnavailable,
                          Reason::kStoreUnavailable);
  CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("sqlite: a database in a missing directory is StoreUnavailable",
          "[store][sqlite]") {
  SqliteBackend backend;
  const std::string path = backend.dir() + "/no-such-dir/store.db";
  auto store = SqliteStore::Open(path);
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kUnavailable,
                          Reason::kStoreUnavailable);
  CHECK(std::string(store.status().message()).find(path) != std::string::npos);
  CHECK(FilesIn(backend.dir()).empty());
}

// clang-format off
TEST_CASE("sqlite: create_if_missing=false names the missing file and creates nothing, not even a companion", "[store][sqlite]") {
  // clang-format on
  SqliteBackend backend;
  SqliteOptions options;
  options.create_if_missing = false;
  auto store = SqliteStore::Open(backend.path(), options);
  ENTITLE_REQUIRE_REFUSED(store, StatusCode::kNotFound, Reason::kNotFound);
  CHECK(store.status().message() ==
        absl::StrCat("no database at ", backend.path()));
  CHECK(FilesIn(backend.dir()).empty());

  // A file made by a store that may create opens with the same options, and
  // reads and writes as usual.
  {
    std::unique_ptr<Store> made = backend.Open();
    WriteIdentityWithPassword(*made);
  }
  auto again = SqliteStore::Open(backend.path(), options);
  ENTITLE_REQUIRE_OK(again);
  auto txn = BeginRead(**again);
  auto count = txn->identities().Count({});
  ENTITLE_REQUIRE_OK(count);
  CHECK(*count == 1);
}

TEST_CASE("sqlite: ':memory:' makes no file of that name", "[store][sqlite]") {
  SqliteBackend backend;
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(backend.dir());
  {
    auto store = SqliteStore::Open(":memory:");
    std::filesystem::current_path(before);
    ENTITLE_REQUIRE_OK(store);
    auto txn = BeginWrite(**store);
    MustInsert(txn->identities(), MakeIdentity("anna@acme.example"));
    MustCommit(*txn);
  }
  CHECK(FilesIn(backend.dir()).empty());
}

}  // namespace
}  // namespace entitle_test
