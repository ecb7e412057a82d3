#include "entitle/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/string_view.h"
#include "entitle/internal/mutex.h"
#include "entitle/status.h"
#include "store/schema.h"
#include "store/sqlite/migrations.h"

namespace entitle {
namespace internal {
namespace {

absl::Status StoreError(int code, sqlite3* db, std::string_view context) {
  const std::string detail =
      db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const std::string message = absl::StrCat(AbslView(context), ": ", detail,
                                           " (sqlite error ", code, ")");
  switch (code & 0xff) {
    case SQLITE_NOTADB:
      return MakeError(
          absl::StatusCode::kFailedPrecondition, Reason::kStoreCorrupt,
          absl::StrCat(AbslView(context), ": the file is not a database (",
                       detail, ")"));
    case SQLITE_CORRUPT:
      return MakeError(
          absl::StatusCode::kDataLoss, Reason::kStoreCorrupt,
          absl::StrCat(AbslView(context), ": the database is damaged (", detail,
                       ")"));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MakeError(absl::StatusCode::kUnavailable,
                       Reason::kStoreUnavailable,
                       absl::StrCat(AbslView(context),
                                    ": the database stayed busy for longer "
                                    "than the busy timeout (",
                                    detail, ")"));
    default:
      return MakeError(absl::StatusCode::kUnavailable,
                       Reason::kStoreUnavailable, message);
  }
}

// SQLite's names for a database that lives in memory or in a temporary file
// of its own: no file at `path` is made for them.
bool IsFileless(const std::string& path) {
  return path.empty() || path == ":memory:";
}

// SEC-9: makes an empty, owner-only (0600) file at `path` unless something
// is there already. SQLite would create it with its default 0644 less the
// umask, and it creates the -wal, -shm and -journal files with the mode of
// the database file, so this one mode covers them all. An existing file
// (or symbolic link) is left as it is: its mode is its owner's choice.
absl::Status CreateOwnerOnly(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return absl::OkStatus();
  }
  const int error = errno;
  if (error == EEXIST) return absl::OkStatus();
  return MakeError(absl::StatusCode::kUnavailable, Reason::kStoreUnavailable,
                   absl::StrCat("cannot create ", path, ": ",
                                std::generic_category().message(error)));
}

// The serving lock's file beside the database at `path` (ACT-3): beside the
// file the path resolves to, as SQLite puts its -wal file there, so that
// every process opening the database by whatever name locks the same file.
std::string ServingLockPath(const std::string& path) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::canonical(path, error);
  if (error) resolved = std::filesystem::absolute(path, error);
  if (error) resolved = path;
  return resolved.string() + "-serving";
}

absl::Status LockFileError(std::string_view what, const std::string& lock_path,
                           int error) {
  return MakeError(absl::StatusCode::kUnavailable, Reason::kStoreUnavailable,
                   absl::StrCat(AbslView(what), " the serving lock ", lock_path,
                                ": ", std::generic_category().message(error)));
}

// Opens the serving lock's file, creating it owner-only (0600 whatever the
// umask, as the database file) when it is missing. Never follows a symbolic
// link at that name. Returns the descriptor, close-on-exec.
absl::StatusOr<int> OpenServingLockFile(const std::string& lock_path) {
  // The file may be removed between a failed O_EXCL create and the open of
  // the existing file; try again a few times.
  int error = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    int fd = ::open(lock_path.c_str(),
                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      // The umask may have taken bits off 0600 (it never adds any): give the
      // owner back read and write.
      if (::fchmod(fd, 0600) != 0) {
        error = errno;
        ::close(fd);
        return LockFileError("cannot create", lock_path, error);
      }
      return fd;
    }
    error = errno;
    if (error == EINTR) continue;
    if (error != EEXIST) break;
    fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) return fd;
    error = errno;
    if (error != ENOENT && error != EINTR) break;
  }
  return LockFileError("cannot open", lock_path, error);
}

// ACT-3: an exclusive flock(2) on the serving lock's file. The lock belongs
// to the open file description, so it conflicts with any other open of the
// file, in this process or another; the kernel drops it when the last
// descriptor of that description closes, which a process's death does.
class FileServingLock final : public ServingLock {
 public:
  explicit FileServingLock(int fd) : fd_(fd) {}
  ~FileServingLock() override {
    // Unlock before closing: a child forked meanwhile shares the description
    // until it execs (the descriptor is close-on-exec) or exits, and must not
    // keep the lock after its holder let it go.
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileServingLock(const FileServingLock&) = delete;
  FileServingLock& operator=(const FileServingLock&) = delete;

 private:
  int fd_;
};

absl::StatusOr<std::unique_ptr<ServingLock>> TryLockFile(
    const std::string& lock_path) {
  absl::StatusOr<int> fd = OpenServingLockFile(lock_path);
  if (!fd.ok()) return fd.status();
  int rc;
  do {
    rc = ::flock(*fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return std::make_unique<FileServingLock>(*fd);
  const int error = errno;
  ::close(*fd);
  if (error == EWOULDBLOCK) return std::unique_ptr<ServingLock>();
  return LockFileError("cannot take", lock_path, error);
}

// One open database handle with its cache of prepared statements. Used by one
// thread at a time.
class Connection {
 public:
  // Opens the database at `path`, which must exist (see CreateOwnerOnly):
  // SQLite itself never creates the file, so it never creates it with a
  // wider mode.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, const SqliteOptions& options) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (IsFileless(path)) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto connection = std::unique_ptr<Connection>(new Connection(db));
    if (rc != SQLITE_OK) {
      return StoreError(rc, db, absl::StrCat("cannot open ", path));
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(
        db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
    const std::string pragmas =
        absl::StrCat("PRAGMA foreign_keys = ON; PRAGMA synchronous = ",
                     options.synchronous_full ? "FULL" : "NORMAL", ";");
    if (absl::Status s = connection->Exec(pragmas, "cannot configure");
        !s.ok()) {
      return s;
    }
    return connection;
  }

  ~Connection() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  absl::Status Exec(const std::string& sql, std::string_view context) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return StoreError(rc, db_, context);
    return absl::OkStatus();
  }

  // A prepared statement for `sql`, reset and with no bindings. Stays owned by
  // the connection.
  absl::StatusOr<sqlite3_stmt*> Prepare(const std::string& sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) {
      return it->second;
    }
    sqlite3_stmt* statement = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) return StoreError(rc, db_, "cannot prepare a query");
    statements_.emplace(sql, statement);
    return statement;
  }

  // Reads one integer from a single-row query.
  absl::StatusOr<int64_t> QueryInt(const std::string& sql,
                                   std::string_view context) {
    absl::StatusOr<sqlite3_stmt*> statement = Prepare(sql);
    if (!statement.ok()) return statement.status();
    const int rc = sqlite3_step(*statement);
    int64_t value = 0;
    if (rc == SQLITE_ROW) value = sqlite3_column_int64(*statement, 0);
    sqlite3_reset(*statement);
    if (rc != SQLITE_ROW) return StoreError(rc, db_, context);
    return value;
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;
};

// Resets a statement and drops its bindings when the use ends.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* statement) : statement_(statement) {}
  ~StatementUse() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

  void Bind(int index, const Value& value) {
    if (const int64_t* i = std::get_if<int64_t>(&value)) {
      sqlite3_bind_int64(statement_, index, *i);
    } else if (const std::string* s = std::get_if<std::string>(&value)) {
      sqlite3_bind_text(statement_, index, s->data(),
                        static_cast<int>(s->size()), SQLITE_TRANSIENT);
    } else if (const Blob* b = std::get_if<Blob>(&value)) {
      // An empty blob bound from a null pointer would be NULL.
      if (b->bytes.empty()) {
        sqlite3_bind_zeroblob(statement_, index, 0);
      } else {
        sqlite3_bind_blob(statement_, index, b->bytes.data(),
                          static_cast<int>(b->bytes.size()), SQLITE_TRANSIENT);
      }
    } else {
      sqlite3_bind_null(statement_, index);
    }
  }

  Value Read(int column) const {
    switch (sqlite3_column_type(statement_, column)) {
      case SQLITE_INTEGER:
        return int64_t{sqlite3_column_int64(statement_, column)};
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(
            sqlite3_column_text(statement_, column));
        return std::string(text, sqlite3_column_bytes(statement_, column));
      }
      case SQLITE_BLOB: {
        const auto* bytes =
            static_cast<const char*>(sqlite3_column_blob(statement_, column));
        const int size = sqlite3_column_bytes(statement_, column);
        return Blob{size == 0 ? std::string() : std::string(bytes, size)};
      }
      case SQLITE_FLOAT:  // entitle never writes floats; read as unreadable.
        return std::string();
      default:
        return std::monostate();
    }
  }

  Row ReadRow(int columns) const {
    Row row;
    row.reserve(columns);
    for (int i = 0; i < columns; ++i) row.push_back(Read(i));
    return row;
  }

  int Step() { return sqlite3_step(statement_); }

 private:
  sqlite3_stmt* statement_;
};

// The SQL of one table's fixed statements, made once.
struct TableSql {
  explicit TableSql(const TableInfo& info) {
    std::vector<absl::string_view> names;
    for (std::string_view name : info.column_names) {
      names.push_back(AbslView(name));
    }
    std::vector<std::string> key_terms;
    for (int i = 0; i < info.key_columns; ++i) {
      key_terms.push_back(absl::StrCat(names[i], " = ?"));
    }
    key_where = absl::StrJoin(key_terms, " AND ");
    order_by =
        absl::StrJoin(names.begin(), names.begin() + info.key_columns, ", ");
    all_columns = absl::StrJoin(names, ", ");

    const size_t first_inserted = info.auto_id ? 1 : 0;
    std::vector<std::string> placeholders(names.size() - first_inserted, "?");
    insert = absl::StrCat(
        "INSERT INTO ", AbslView(info.table), " (",
        absl::StrJoin(names.begin() + first_inserted, names.end(), ", "),
        ") VALUES (", absl::StrJoin(placeholders, ", "), ")");
    get = absl::StrCat("SELECT ", all_columns, " FROM ", AbslView(info.table),
                       " WHERE ", key_where);
    std::vector<std::string> sets;
    for (size_t i = info.key_columns; i < names.size(); ++i) {
      sets.push_back(absl::StrCat(names[i], " = ?"));
    }
    update = absl::StrCat("UPDATE ", AbslView(info.table), " SET ",
                          absl::StrJoin(sets, ", "), " WHERE ", key_where);
    remove = absl::StrCat("DELETE FROM ", AbslView(info.table), " WHERE ",
                          key_where);
  }

  std::string key_where;
  std::string order_by;
  std::string all_columns;
  std::string insert;
  std::string get;
  std::string update;
  std::string remove;
};

std::string WhereClause(const TableInfo& info,
                        const std::vector<Condition>& conditions) {
  if (conditions.empty()) return "";
  std::vector<std::string> terms;
  for (const Condition& condition : conditions) {
    const char* op = condition.op == CompareOp::kEq   ? " = ?"
                     : condition.op == CompareOp::kGe ? " >= ?"
                     : condition.op == CompareOp::kGt ? " > ?"
                                                      : " < ?";
    terms.push_back(
        absl::StrCat(AbslView(info.column_names[condition.column]), op));
  }
  return absl::StrCat(" WHERE ", absl::StrJoin(terms, " AND "));
}

}  // namespace

struct SqliteState {
  std::string path;
  // The serving lock's file (ServingLockPath); empty for a fileless database.
  std::string serving_lock_path;
  SqliteOptions options;

  Mutex pool_mutex;
  std::vector<std::unique_ptr<Connection>> idle ABSL_GUARDED_BY(pool_mutex);

  // Queues this process's writers before they ask SQLite for the write lock,
  // so they wait on a condition instead of polling SQLite's busy handler.
  // (A condition variable rather than std::timed_mutex: the latter's timed
  // lock is invisible to ThreadSanitizer with GCC 12.)
  Mutex writer_mutex;
  std::condition_variable_any writer_released;
  bool writer_active ABSL_GUARDED_BY(writer_mutex) = false;

  bool AcquireWriter(absl::Duration timeout) {
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
    MutexLock lock(writer_mutex);
    while (writer_active) {
      // Waiting unlocks writer_mutex and locks it again before returning.
      if (writer_released.wait_until(writer_mutex, deadline) ==
              std::cv_status::timeout &&
          writer_active) {
        return false;
      }
    }
    writer_active = true;
    return true;
  }

  void ReleaseWriter() {
    {
      MutexLock lock(writer_mutex);
      writer_active = false;
    }
    writer_released.notify_one();
  }

  absl::StatusOr<std::unique_ptr<Connection>> Acquire() {
    {
      MutexLock lock(pool_mutex);
      if (!idle.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle.back());
        idle.pop_back();
        return connection;
      }
    }
    return Connection::Open(path, options);
  }

  // The connection that watches PRAGMA data_version; opened on first use.
  Mutex watch_mutex;
  std::unique_ptr<Connection> watch ABSL_GUARDED_BY(watch_mutex);

  void Return(std::unique_ptr<Connection> connection) {
    MutexLock lock(pool_mutex);
    if (static_cast<int>(idle.size()) < options.max_idle_connections) {
      idle.push_back(std::move(connection));
    }
  }
};

namespace {

class SqliteTransaction;

template <typename Record>
class SqliteTable final : public Table<Record> {
 public:
  using Key = typename Record::Key;
  using Filter = typename Record::Filter;

  explicit SqliteTable(SqliteTransaction* transaction)
      : transaction_(transaction) {}

  absl::StatusOr<Key> Insert(const Record& record) override;
  absl::StatusOr<Record> Get(const Key& key) override;
  absl::Status Update(const Record& record) override;
  absl::Status Delete(const Key& key) override;
  absl::StatusOr<Page<Record>> List(const Filter& filter,
                                    const PageRequest& page) override;
  absl::StatusOr<int64_t> Count(const Filter& filter) override;

 private:
  static const TableSchema<Record>& schema() { return SchemaOf<Record>(); }
  static const TableSql& sql() {
    static const TableSql* const sql = new TableSql(schema());
    return *sql;
  }
  // Maps a failed write's SQLite code to the store's reasons. `row` is the
  // written row, or the key for a delete.
  absl::Status WriteError(int rc, bool deleting, const Row& row);
  // True when `table` has a row whose `columns` hold `values`.
  bool Exists(const TableInfo& table, const std::vector<int>& columns,
              const Row& values);

  SqliteTransaction* transaction_;
};

class SqliteTransaction final : public Transaction {
 public:
  // A write transaction holds the state's writer gate until it finishes.
  SqliteTransaction(SqliteState* state, std::unique_ptr<Connection> connection,
                    TransactionMode mode)
      : state_(state), connection_(std::move(connection)), mode_(mode) {}

  ~SqliteTransaction() override { Rollback(); }

  TransactionMode mode() const override { return mode_; }

#define ENTITLE_SQLITE_ACCESSOR(Record, accessor) \
  Table<Record>& accessor() override { return accessor##_; }
  ENTITLE_FOR_EACH_RECORD(ENTITLE_SQLITE_ACCESSOR)
#undef ENTITLE_SQLITE_ACCESSOR

  absl::Status Commit() override {
    if (connection_ == nullptr) return TransactionFinishedError();
    if (absl::Status s = CheckAlive(); !s.ok()) {
      Finish();
      return s;
    }
    absl::Status status = connection_->Exec("COMMIT", "cannot commit");
    if (!status.ok() && !sqlite3_get_autocommit(connection_->db())) {
      connection_->Exec("ROLLBACK", "cannot roll back").IgnoreError();
    }
    Finish();
    return status;
  }

  void Rollback() override {
    if (connection_ == nullptr) return;
    if (!sqlite3_get_autocommit(connection_->db())) {
      connection_->Exec("ROLLBACK", "cannot roll back").IgnoreError();
    }
    Finish();
  }

  absl::Status Savepoint() override {
    if (absl::Status s = CheckUsable(true); !s.ok()) return s;
    if (absl::Status s =
            connection_->Exec(absl::StrCat("SAVEPOINT s", savepoints_ + 1),
                              "cannot begin savepoint");
        !s.ok()) {
      return s;
    }
    ++savepoints_;
    return absl::OkStatus();
  }

  absl::Status RollbackToSavepoint() override {
    if (absl::Status s = CheckSavepoint(); !s.ok()) return s;
    // ROLLBACK TO keeps the savepoint open; RELEASE then removes it.
    const std::string name = absl::StrCat("s", savepoints_);
    if (absl::Status s = connection_->Exec(absl::StrCat("ROLLBACK TO ", name),
                                           "cannot roll back to savepoint");
        !s.ok()) {
      return s;
    }
    --savepoints_;
    return connection_->Exec(absl::StrCat("RELEASE ", name),
                             "cannot release savepoint");
  }

  absl::Status ReleaseSavepoint() override {
    if (absl::Status s = CheckSavepoint(); !s.ok()) return s;
    const std::string name = absl::StrCat("s", savepoints_);
    --savepoints_;
    return connection_->Exec(absl::StrCat("RELEASE ", name),
                             "cannot release savepoint");
  }

  // Called by the tables before each operation.
  absl::Status CheckUsable(bool write) {
    if (connection_ == nullptr) return TransactionFinishedError();
    if (write && mode_ != TransactionMode::kWrite) return ReadOnlyError();
    return CheckAlive();
  }

  Connection& connection() { return *connection_; }

  absl::Status CheckSavepoint() {
    if (absl::Status s = CheckUsable(true); !s.ok()) return s;
    if (savepoints_ == 0) return NoSavepointError();
    return absl::OkStatus();
  }

  absl::StatusOr<Page<ProjectUserCount>> ProjectUsers(
      OrganizationId organization, const PageRequest& page) override {
    if (absl::Status s = CheckUsable(false); !s.ok()) return s;
    if (absl::Status s = CheckPage(page); !s.ok()) return s;
    // Walks the (organization_id, identity_id) index in order: no sort, no
    // table access.
    absl::StatusOr<sqlite3_stmt*> statement = connection_->Prepare(
        "SELECT identity_id, COUNT(*) FROM project_members "
        "WHERE organization_id = ? GROUP BY identity_id "
        "ORDER BY identity_id LIMIT ? OFFSET ?");
    if (!statement.ok()) return statement.status();
    StatementUse use(*statement);
    use.Bind(1, organization.value());
    use.Bind(2, int64_t{page.limit + 1});
    use.Bind(3, int64_t{page.offset});
    Page<ProjectUserCount> result;
    int rc;
    while ((rc = use.Step()) == SQLITE_ROW) {
      if (static_cast<int64_t>(result.items.size()) == page.limit) {
        result.has_more = true;
        break;
      }
      result.items.push_back(
          ProjectUserCount{IdentityId(sqlite3_column_int64(*statement, 0)),
                           sqlite3_column_int64(*statement, 1)});
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return StoreError(rc, connection_->db(), "cannot list project users");
    }
    return result;
  }

  absl::StatusOr<int64_t> CountProjectUsers(
      OrganizationId organization) override {
    if (absl::Status s = CheckUsable(false); !s.ok()) return s;
    absl::StatusOr<sqlite3_stmt*> statement = connection_->Prepare(
        "SELECT COUNT(DISTINCT identity_id) FROM project_members "
        "WHERE organization_id = ?");
    if (!statement.ok()) return statement.status();
    StatementUse use(*statement);
    use.Bind(1, organization.value());
    const int rc = use.Step();
    if (rc != SQLITE_ROW) {
      return StoreError(rc, connection_->db(), "cannot count project users");
    }
    return int64_t{sqlite3_column_int64(*statement, 0)};
  }

 private:
  // SQLite rolls a transaction back by itself after some errors (I/O, full
  // disk); from then on nothing this transaction does may be committed.
  absl::Status CheckAlive() {
    if (sqlite3_get_autocommit(connection_->db())) {
      return MakeError(absl::StatusCode::kUnavailable,
                       Reason::kStoreUnavailable,
                       "the transaction was rolled back after an earlier "
                       "store error");
    }
    return absl::OkStatus();
  }

  void Finish() {
    state_->Return(std::move(connection_));
    connection_ = nullptr;
    if (mode_ == TransactionMode::kWrite) state_->ReleaseWriter();
  }

  SqliteState* state_;
  std::unique_ptr<Connection> connection_;  // Null once finished.
  TransactionMode mode_;
  int savepoints_ = 0;  // Open savepoints, named s1, s2, ...

#define ENTITLE_SQLITE_TABLE(Record, accessor) \
  SqliteTable<Record> accessor##_{this};
  ENTITLE_FOR_EACH_RECORD(ENTITLE_SQLITE_TABLE)
#undef ENTITLE_SQLITE_TABLE
};

template <typename Record>
bool SqliteTable<Record>::Exists(const TableInfo& table,
                                 const std::vector<int>& columns,
                                 const Row& values) {
  std::vector<std::string> terms;
  for (int column : columns) {
    terms.push_back(absl::StrCat(AbslView(table.column_names[column]), " = ?"));
  }
  absl::StatusOr<sqlite3_stmt*> statement = transaction_->connection().Prepare(
      absl::StrCat("SELECT 1 FROM ", AbslView(table.table), " WHERE ",
                   absl::StrJoin(terms, " AND "), " LIMIT 1"));
  if (!statement.ok()) return false;
  StatementUse use(*statement);
  for (size_t i = 0; i < values.size(); ++i) {
    use.Bind(static_cast<int>(i + 1), values[i]);
  }
  return use.Step() == SQLITE_ROW;
}

template <typename Record>
absl::Status SqliteTable<Record>::WriteError(int rc, bool deleting,
                                             const Row& row) {
  sqlite3* db = transaction_->connection().db();
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: {
      // "UNIQUE constraint failed: identities.email" names the columns.
      std::string what = "key";
      const std::string message = sqlite3_errmsg(db);
      if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        std::vector<std::string> columns;
        const std::string prefix = absl::StrCat(AbslView(schema().table), ".");
        for (absl::string_view part :
             absl::StrSplit(absl::string_view(message).substr(
                                message.find(':') == std::string::npos
                                    ? 0
                                    : message.find(':') + 2),
                            ", ")) {
          if (absl::StartsWith(part, prefix)) part.remove_prefix(prefix.size());
          columns.emplace_back(part);
        }
        what = absl::StrJoin(columns, ", ");
      }
      return DuplicateError(schema(), what);
    }
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      // SQLite does not say which reference failed; find it to say so.
      if (deleting) {
        for (const TableInfo* child : AllTables()) {
          for (const Reference& reference : child->references) {
            if (reference.parent_table != schema().table) continue;
            if (Exists(*child, reference.columns, row)) {
              return StillReferencedError(schema(), row, child->table);
            }
          }
        }
        return StillReferencedError(schema(), row, "another table");
      }
      for (const Reference& reference : schema().references) {
        Row parent_key;
        bool has_null = false;
        for (int column : reference.columns) {
          parent_key.push_back(row[column]);
          has_null |= std::holds_alternative<std::monostate>(row[column]);
        }
        if (has_null) continue;
        const TableInfo* parent = nullptr;
        for (const TableInfo* table : AllTables()) {
          if (table->table == reference.parent_table) parent = table;
        }
        std::vector<int> parent_columns;
        for (int i = 0; i < parent->key_columns; ++i)
          parent_columns.push_back(i);
        if (!Exists(*parent, parent_columns, parent_key)) {
          return MissingReferenceError(schema(), reference.parent_table);
        }
      }
      return MissingReferenceError(schema(), "another table");
    default:
      return StoreError(
          rc, db, absl::StrCat("cannot write ", AbslView(schema().table)));
  }
}

template <typename Record>
absl::StatusOr<typename Record::Key> SqliteTable<Record>::Insert(
    const Record& record) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  Connection& connection = transaction_->connection();
  absl::StatusOr<sqlite3_stmt*> statement = connection.Prepare(sql().insert);
  if (!statement.ok()) return statement.status();
  const Row row = schema().ToRow(record);
  StatementUse use(*statement);
  const size_t first = schema().auto_id ? 1 : 0;
  for (size_t i = first; i < row.size(); ++i) {
    use.Bind(static_cast<int>(i - first + 1), row[i]);
  }
  const int rc = use.Step();
  if (rc != SQLITE_DONE) return WriteError(rc, false, row);
  Record stored = record;
  if constexpr (requires { stored.id; }) {
    stored.id = Key(sqlite3_last_insert_rowid(connection.db()));
  }
  return schema().key_of_record(stored);
}

template <typename Record>
absl::StatusOr<Record> SqliteTable<Record>::Get(const Key& key) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  absl::StatusOr<sqlite3_stmt*> statement =
      transaction_->connection().Prepare(sql().get);
  if (!statement.ok()) return statement.status();
  const Row key_row = schema().key_row(key);
  StatementUse use(*statement);
  for (size_t i = 0; i < key_row.size(); ++i) {
    use.Bind(static_cast<int>(i + 1), key_row[i]);
  }
  const int rc = use.Step();
  if (rc == SQLITE_DONE) return NotFoundError(schema(), key_row);
  if (rc != SQLITE_ROW) {
    return StoreError(rc, transaction_->connection().db(),
                      absl::StrCat("cannot read ", AbslView(schema().table)));
  }
  return schema().FromRow(
      use.ReadRow(static_cast<int>(schema().columns.size())));
}

template <typename Record>
absl::Status SqliteTable<Record>::Update(const Record& record) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  Connection& connection = transaction_->connection();
  absl::StatusOr<sqlite3_stmt*> statement = connection.Prepare(sql().update);
  if (!statement.ok()) return statement.status();
  const Row row = schema().ToRow(record);
  const int key_columns = schema().key_columns;
  StatementUse use(*statement);
  int index = 1;
  for (size_t i = key_columns; i < row.size(); ++i) use.Bind(index++, row[i]);
  for (int i = 0; i < key_columns; ++i) use.Bind(index++, row[i]);
  const int rc = use.Step();
  if (rc != SQLITE_DONE) return WriteError(rc, false, row);
  if (sqlite3_changes(connection.db()) == 0) {
    return NotFoundError(schema(), schema().KeyOf(row));
  }
  return absl::OkStatus();
}

template <typename Record>
absl::Status SqliteTable<Record>::Delete(const Key& key) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  Connection& connection = transaction_->connection();
  absl::StatusOr<sqlite3_stmt*> statement = connection.Prepare(sql().remove);
  if (!statement.ok()) return statement.status();
  const Row key_row = schema().key_row(key);
  StatementUse use(*statement);
  for (size_t i = 0; i < key_row.size(); ++i) {
    use.Bind(static_cast<int>(i + 1), key_row[i]);
  }
  const int rc = use.Step();
  if (rc != SQLITE_DONE) return WriteError(rc, true, key_row);
  if (sqlite3_changes(connection.db()) == 0) {
    return NotFoundError(schema(), key_row);
  }
  return absl::OkStatus();
}

template <typename Record>
absl::StatusOr<Page<Record>> SqliteTable<Record>::List(
    const Filter& filter, const PageRequest& page) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  if (absl::Status s = CheckPage(page); !s.ok()) return s;
  const std::vector<Condition> conditions = schema().Conditions(filter);
  const std::string query =
      absl::StrCat("SELECT ", sql().all_columns, " FROM ",
                   AbslView(schema().table), WhereClause(schema(), conditions),
                   " ORDER BY ", sql().order_by, " LIMIT ? OFFSET ?");
  Connection& connection = transaction_->connection();
  absl::StatusOr<sqlite3_stmt*> statement = connection.Prepare(query);
  if (!statement.ok()) return statement.status();
  StatementUse use(*statement);
  int index = 1;
  for (const Condition& condition : conditions) {
    use.Bind(index++, condition.value);
  }
  // One row more than asked tells whether more follow.
  use.Bind(index++, int64_t{page.limit + 1});
  use.Bind(index++, int64_t{page.offset});
  Page<Record> result;
  const int columns = static_cast<int>(schema().columns.size());
  int rc;
  while ((rc = use.Step()) == SQLITE_ROW) {
    if (static_cast<int64_t>(result.items.size()) == page.limit) {
      result.has_more = true;
      break;
    }
    absl::StatusOr<Record> record = schema().FromRow(use.ReadRow(columns));
    if (!record.ok()) return record.status();
    result.items.push_back(*std::move(record));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return StoreError(rc, connection.db(),
                      absl::StrCat("cannot list ", AbslView(schema().table)));
  }
  return result;
}

template <typename Record>
absl::StatusOr<int64_t> SqliteTable<Record>::Count(const Filter& filter) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  const std::vector<Condition> conditions = schema().Conditions(filter);
  const std::string query =
      absl::StrCat("SELECT COUNT(*) FROM ", AbslView(schema().table),
                   WhereClause(schema(), conditions));
  Connection& connection = transaction_->connection();
  absl::StatusOr<sqlite3_stmt*> statement = connection.Prepare(query);
  if (!statement.ok()) return statement.status();
  StatementUse use(*statement);
  int index = 1;
  for (const Condition& condition : conditions) {
    use.Bind(index++, condition.value);
  }
  const int rc = use.Step();
  if (rc != SQLITE_ROW) {
    return StoreError(rc, connection.db(),
                      absl::StrCat("cannot count ", AbslView(schema().table)));
  }
  return int64_t{sqlite3_column_int64(*statement, 0)};
}

absl::Status Corrupt(std::string_view message) {
  return MakeError(absl::StatusCode::kFailedPrecondition, Reason::kStoreCorrupt,
                   message);
}

// Brings the file to kSchemaVersion. Refuses, without writing, a file newer
// than this library or one that holds tables but no entitle schema.
// Switching a new file to WAL needs a moment of exclusive access, and SQLite
// reports SQLITE_BUSY at once, without its busy handler, when another process
// is opening the same file. Retry until the busy timeout.
absl::Status SwitchToWal(Connection& connection, absl::Duration busy_timeout) {
  const absl::Time deadline = absl::Now() + busy_timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    absl::Status status =
        connection.Exec("PRAGMA journal_mode = WAL", "cannot switch to WAL");
    if (status.ok() || GetReason(status) != Reason::kStoreUnavailable ||
        (sqlite3_extended_errcode(connection.db()) & 0xff) != SQLITE_BUSY ||
        absl::Now() + pause > deadline) {
      return status;
    }
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(pause));
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

absl::Status Migrate(Connection& connection, const std::string& path,
                     absl::Duration busy_timeout) {
  // Read the version before anything writes to the file.
  absl::StatusOr<int64_t> version =
      connection.QueryInt("PRAGMA user_version", "cannot read " + path);
  if (!version.ok()) return version.status();
  if (*version > SqliteStore::kSchemaVersion) {
    return Corrupt(absl::StrCat(
        path, " was written by a newer entitle (schema ", *version,
        "; this library reads up to ", SqliteStore::kSchemaVersion, ")"));
  }
  if (absl::Status s = SwitchToWal(connection, busy_timeout); !s.ok()) {
    return s;
  }
  if (absl::Status s =
          connection.Exec("BEGIN IMMEDIATE", "cannot lock for migration");
      !s.ok()) {
    return s;
  }
  const auto fail = [&](absl::Status status) {
    connection.Exec("ROLLBACK", "cannot roll back").IgnoreError();
    return status;
  };
  // Another process may have migrated the file since the first read.
  version = connection.QueryInt("PRAGMA user_version", "cannot read " + path);
  if (!version.ok()) return fail(version.status());
  if (*version > SqliteStore::kSchemaVersion) {
    return fail(Corrupt(absl::StrCat(path, " was written by a newer entitle")));
  }
  if (*version == 0) {
    absl::StatusOr<int64_t> objects = connection.QueryInt(
        "SELECT COUNT(*) FROM sqlite_master", "cannot read " + path);
    if (!objects.ok()) return fail(objects.status());
    if (*objects != 0) {
      return fail(Corrupt(
          absl::StrCat(path, " holds a database that is not entitle's")));
    }
  }
  for (int64_t next = *version + 1; next <= kMigrationCount; ++next) {
    if (absl::Status s = connection.Exec(
            kMigrations[next - 1],
            absl::StrCat("cannot migrate ", path, " to schema ", next));
        !s.ok()) {
      return fail(s);
    }
  }
  if (*version != kMigrationCount) {
    if (absl::Status s = connection.Exec(
            absl::StrCat("PRAGMA user_version = ", kMigrationCount),
            "cannot record the schema version");
        !s.ok()) {
      return fail(s);
    }
  }
  return connection.Exec("COMMIT", "cannot commit the migration");
}

}  // namespace
}  // namespace internal

static_assert(SqliteStore::kSchemaVersion == internal::kMigrationCount,
              "every schema version needs its migration");

SqliteStore::SqliteStore(std::unique_ptr<internal::SqliteState> state)
    : state_(std::move(state)) {}

SqliteStore::~SqliteStore() = default;

const std::string& SqliteStore::path() const { return state_->path; }

absl::StatusOr<uint64_t> SqliteStore::ExternalChangeStamp() {
  internal::MutexLock lock(state_->watch_mutex);
  if (state_->watch == nullptr) {
    absl::StatusOr<std::unique_ptr<internal::Connection>> connection =
        internal::Connection::Open(state_->path, state_->options);
    if (!connection.ok()) return connection.status();
    state_->watch = *std::move(connection);
  }
  absl::StatusOr<int64_t> version = state_->watch->QueryInt(
      "PRAGMA data_version", "cannot read the data version");
  if (!version.ok()) return version.status();
  return static_cast<uint64_t>(*version);
}

bool SqliteStore::has_serving_lock() const {
  return !state_->serving_lock_path.empty();
}

absl::StatusOr<std::unique_ptr<ServingLock>> SqliteStore::TryLockServing() {
  if (!has_serving_lock()) return Store::TryLockServing();
  return internal::TryLockFile(state_->serving_lock_path);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path, const SqliteOptions& options) {
  if (options.busy_timeout < absl::ZeroDuration() ||
      options.max_idle_connections < 0) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     "the busy timeout and the idle connection count must not "
                     "be negative");
  }
  if (!internal::IsFileless(path)) {
    if (options.create_if_missing) {
      if (absl::Status s = internal::CreateOwnerOnly(path); !s.ok()) return s;
    } else {
      std::error_code error;
      if (!std::filesystem::exists(path, error)) {
        return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                         absl::StrCat("no database at ", path));
      }
    }
  }
  auto state = std::make_unique<internal::SqliteState>();
  state->path = path;
  if (!internal::IsFileless(path)) {
    state->serving_lock_path = internal::ServingLockPath(path);
  }
  state->options = options;
  absl::StatusOr<std::unique_ptr<internal::Connection>> connection =
      internal::Connection::Open(path, options);
  if (!connection.ok()) return connection.status();
  if (absl::Status s =
          internal::Migrate(**connection, path, options.busy_timeout);
      !s.ok()) {
    return s;
  }
  state->Return(*std::move(connection));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(state)));
}

absl::StatusOr<std::unique_ptr<Transaction>> SqliteStore::Begin(
    TransactionMode mode) {
  const bool write = mode == TransactionMode::kWrite;
  if (write && !state_->AcquireWriter(state_->options.busy_timeout)) {
    return MakeError(absl::StatusCode::kUnavailable, Reason::kStoreUnavailable,
                     "another write transaction held the store for longer "
                     "than the busy timeout");
  }
  absl::StatusOr<std::unique_ptr<internal::Connection>> connection =
      state_->Acquire();
  absl::Status status = connection.status();
  if (status.ok()) {
    status = (*connection)
                 ->Exec(write ? "BEGIN IMMEDIATE" : "BEGIN",
                        "cannot begin a transaction");
  }
  if (!status.ok()) {
    if (write) state_->ReleaseWriter();
    return status;
  }
  return std::make_unique<internal::SqliteTransaction>(
      state_.get(), *std::move(connection), mode);
}

}  // namespace entitle
