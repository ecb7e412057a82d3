// The SQLite store (store.h): the embedded default, one database file.
//
// The file is opened in WAL mode with foreign keys on; its schema version is
// kept in `PRAGMA user_version` and older files are migrated forward on open (a
// file newer than this library is refused, never touched). Uniqueness rules and
// references of records.h are also enforced by the schema (unique and partial
// unique indexes, foreign keys), so even a program writing the file with plain
// SQL cannot give an identity two employee memberships.
//
// Several processes may open the same file: write transactions use
// `BEGIN IMMEDIATE` and wait up to `busy_timeout` for another process's writer.
// Inside one process, writers are also queued on a mutex first, so they do not
// spin against each other.
//
// Files (SEC-9): a database file this library creates is readable and
// writable by its owner only (0600), whatever the process's umask, and so are
// the -wal, -shm and -journal files beside it, which SQLite creates with the
// mode of the database file. The file is created with O_EXCL before SQLite
// opens it; SQLite itself never creates it. A file that already exists keeps
// the mode its owner gave it (a host may share a database with a group on
// purpose), and its companions then follow that mode; nothing is created
// through a symbolic link that points nowhere.
//
// The serving lock (ACT-3, Store::TryLockServing): a database in a file has
// one, an exclusive flock(2) on the file `<database>-serving` beside it
// (beside the file the path resolves to, where SQLite also puts its -wal
// file). The lock file is created on first use, empty and owner-only (0600)
// whatever the umask, never through a symbolic link; an existing one keeps
// its mode. It is never deleted, by this library or by anyone: a process
// that opened the old file would keep its lock while the next one created a
// new file and locked that too, and two processes would serve the seats.
// The operating system drops the lock the instant its holder dies (the
// kernel closes a dead process's files), so a crashed server's seats are
// free at once. The lock belongs to one open of the file, not to a process:
// two SqliteStore objects on the same file in one process, or two calls on
// one object, conflict just as two processes do. Destroying the lock
// unlocks it, also for a child forked meanwhile that still shares the open
// file (its copy of the descriptor closes when it execs). It holds on local
// file systems; a network file system may only emulate flock(2). ":memory:"
// and "" databases have no lock (has_serving_lock() is false).
//
// Thread-safe. Each transaction runs on its own connection from a small pool
// (one connection per concurrently open transaction, kept for reuse up to
// `max_idle_connections`); each connection caches its prepared statements.
#ifndef ENTITLE_SQLITE_STORE_H_
#define ENTITLE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "entitle/store.h"

namespace entitle {
namespace internal {
struct SqliteState;
}  // namespace internal

struct SqliteOptions {
  // Create the file (owner-only, see above) when it does not exist. When
  // false, a missing file is NotFound / kNotFound with the message
  // "no database at <path>", and nothing is created: a program that only
  // reads a store (an admin tool's list commands, a plugin) sets it so that a
  // mistyped path fails instead of leaving an empty database behind.
  bool create_if_missing = true;
  // How long a writer waits for another process's write transaction.
  absl::Duration busy_timeout = absl::Seconds(10);
  // Idle connections kept open for reuse.
  int max_idle_connections = 4;
  // `PRAGMA synchronous`: FULL survives power loss; NORMAL (WAL's usual
  // choice) may lose the last commits on power loss but never corrupts.
  bool synchronous_full = true;
};

class SqliteStore final : public Store {
 public:
  // The schema version this library writes.
  static constexpr int kSchemaVersion = 6;

  // Opens (or creates) the database at `path` and migrates it to
  // `kSchemaVersion`. `path` is a file name (SQLite's ":memory:" and "" make
  // no file). Fails with NotFound / kNotFound when the file is missing and
  // `options.create_if_missing` is false. Fails with Unavailable /
  // kStoreUnavailable when the file cannot be created or opened (or, when it
  // must be migrated, written); a
  // current file that can be read but not written opens, and every write
  // transaction on it then fails with Unavailable / kStoreUnavailable. Fails
  // with FailedPrecondition / kStoreCorrupt when it is not an entitle
  // database or is newer than this library, and with
  // DataLoss / kStoreCorrupt when SQLite finds the file damaged. On a failure
  // the file is left as it was (a new file may have been created, empty and
  // owner-only).
  // Any operation may later report DataLoss / kStoreCorrupt the same way.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, const SqliteOptions& options = {});

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      TransactionMode mode) override;

  // SQLite's `PRAGMA data_version` on a connection of its own: it changes
  // after any commit by another connection, this store's own included.
  absl::StatusOr<uint64_t> ExternalChangeStamp() override;

  // True for a database in a file; false for ":memory:" and "".
  bool has_serving_lock() const override;

  // Takes the serving lock (see above) without waiting. Returns the lock,
  // which holds until destroyed and may outlive this store; or nullptr when
  // another holder (another process, another store object on this file,
  // another call on this one) has it. Fails with Unavailable /
  // kStoreUnavailable when the lock file cannot be opened or created (a
  // symbolic link at its name is refused) or the lock cannot be tried, and
  // with Unimplemented / kInvalidArgument when has_serving_lock() is false.
  // Thread-safe.
  absl::StatusOr<std::unique_ptr<ServingLock>> TryLockServing() override;

  // The file's path as given to Open.
  const std::string& path() const;

 private:
  explicit SqliteStore(std::unique_ptr<internal::SqliteState> state);
  std::unique_ptr<internal::SqliteState> state_;
};

}  // namespace entitle

#endif  // ENTITLE_SQLITE_STORE_H_
