#include "entitle/memory_store.h"

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "entitle/status.h"
#include "store/schema.h"

namespace entitle {
namespace {

using internal::Condition;
using internal::Reference;
using internal::Row;
using internal::TableInfo;
using internal::TableSchema;
using internal::UniqueIndex;
using internal::Value;

bool HasNull(const Row& values) {
  for (const Value& value : values) {
    if (std::holds_alternative<std::monostate>(value)) return true;
  }
  return false;
}

Row Pick(const Row& row, const std::vector<int>& columns) {
  Row picked;
  picked.reserve(columns.size());
  for (int column : columns) picked.push_back(row[column]);
  return picked;
}

// The values `unique` keys `row` by, or nothing when the rule does not apply.
std::optional<Row> UniqueValues(const UniqueIndex& unique, const Row& row) {
  if (unique.where_column >= 0 &&
      row[unique.where_column] != unique.where_value) {
    return std::nullopt;
  }
  Row values = Pick(row, unique.columns);
  if (HasNull(values)) return std::nullopt;
  return values;
}

// The parent key `reference` names in `row`, or nothing when it names none.
std::optional<Row> ReferencedKey(const Reference& reference, const Row& row) {
  Row values = Pick(row, reference.columns);
  if (HasNull(values)) return std::nullopt;
  return values;
}

// One table's rows with the indexes that enforce its rules.
struct TableData {
  const TableInfo* info = nullptr;
  std::map<Row, Row> rows;  // key -> full row, in key order.
  // Per info->uniques: unique values -> key of the row holding them.
  std::vector<std::map<Row, Row>> unique_index;
  // Per info->references: parent key -> how many rows here name it.
  std::vector<std::map<Row, int64_t>> reference_count;
  int64_t next_id = 1;
  // Tables whose references name this one: (table, index into its references).
  std::vector<std::pair<TableData*, size_t>> referrers;

  // Replaces the row at `key` with `row` (or removes it), keeping every index
  // in step. Checks nothing.
  void Put(const Row& key, const std::optional<Row>& row) {
    if (auto it = rows.find(key); it != rows.end()) {
      Unindex(it->second);
      rows.erase(it);
    }
    if (row.has_value()) {
      rows.emplace(key, *row);
      Index(key, *row);
    }
  }

 private:
  void Index(const Row& key, const Row& row) {
    for (size_t i = 0; i < info->uniques.size(); ++i) {
      if (auto values = UniqueValues(info->uniques[i], row)) {
        unique_index[i].emplace(*std::move(values), key);
      }
    }
    for (size_t i = 0; i < info->references.size(); ++i) {
      if (auto parent = ReferencedKey(info->references[i], row)) {
        ++reference_count[i][*parent];
      }
    }
  }
  void Unindex(const Row& row) {
    for (size_t i = 0; i < info->uniques.size(); ++i) {
      if (auto values = UniqueValues(info->uniques[i], row)) {
        unique_index[i].erase(*values);
      }
    }
    for (size_t i = 0; i < info->references.size(); ++i) {
      if (auto parent = ReferencedKey(info->references[i], row)) {
        auto it = reference_count[i].find(*parent);
        if (--it->second == 0) reference_count[i].erase(it);
      }
    }
  }
};

// Where a scan of `table` for rows matching `conditions` may start. Rows are
// in key order, so on a table keyed by one column a lower bound on it (kGe,
// or kGt as in paging "after an id") skips every row before the bound
// without looking at them; those rows cannot match. The rows from the start
// on still go through MatchesAll.
std::map<Row, Row>::const_iterator ScanStart(
    const TableData& table, const std::vector<Condition>& conditions) {
  auto start = table.rows.cbegin();
  if (table.info->key_columns != 1) return start;
  for (const Condition& condition : conditions) {
    if (condition.column != 0) continue;
    std::map<Row, Row>::const_iterator bound;
    if (condition.op == internal::CompareOp::kGe) {
      bound = table.rows.lower_bound(Row{condition.value});
    } else if (condition.op == internal::CompareOp::kGt) {
      bound = table.rows.upper_bound(Row{condition.value});
    } else {
      continue;
    }
    // The later of two bounds.
    if (bound == table.rows.cend() ||
        (start != table.rows.cend() && start->first < bound->first)) {
      start = bound;
    }
  }
  return start;
}

}  // namespace

namespace internal {

struct MemoryState {
  MemoryState() {
    const std::vector<const TableInfo*>& infos = internal::AllTables();
    tables.resize(infos.size());
    for (size_t i = 0; i < infos.size(); ++i) {
      tables[i].info = infos[i];
      tables[i].unique_index.resize(infos[i]->uniques.size());
      tables[i].reference_count.resize(infos[i]->references.size());
    }
    for (TableData& child : tables) {
      for (size_t r = 0; r < child.info->references.size(); ++r) {
        Find(child.info->references[r].parent_table)
            .referrers.emplace_back(&child, r);
      }
    }
  }

  TableData& Find(std::string_view name) {
    for (TableData& table : tables) {
      if (table.info->table == name) return table;
    }
    std::abort();  // Every referenced table is described in schema.cc.
  }

  absl::Status CheckUnique(const TableData& table, const Row& key,
                           const Row& row) const {
    for (size_t i = 0; i < table.info->uniques.size(); ++i) {
      const std::optional<Row> values =
          UniqueValues(table.info->uniques[i], row);
      if (!values.has_value()) continue;
      auto it = table.unique_index[i].find(*values);
      if (it != table.unique_index[i].end() && it->second != key) {
        return internal::DuplicateError(
            *table.info, internal::DescribeColumns(
                             *table.info, table.info->uniques[i].columns));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckReferences(const TableData& table, const Row& row) {
    for (const Reference& reference : table.info->references) {
      const std::optional<Row> parent_key = ReferencedKey(reference, row);
      if (!parent_key.has_value()) continue;
      if (!Find(reference.parent_table).rows.contains(*parent_key)) {
        return internal::MissingReferenceError(*table.info,
                                               reference.parent_table);
      }
    }
    return absl::OkStatus();
  }

  static absl::Status CheckNotReferenced(const TableData& table,
                                         const Row& key) {
    for (const auto& [child, index] : table.referrers) {
      if (child->reference_count[index].contains(key)) {
        return internal::StillReferencedError(*table.info, key,
                                              child->info->table);
      }
    }
    return absl::OkStatus();
  }

  // A transaction holds `mutex` for its whole life (shared to read, exclusive
  // to write), and only a transaction touches `tables`. The lock is held
  // across calls, which the thread-safety analysis cannot follow, so the
  // rule is written here rather than as ABSL_GUARDED_BY.
  std::shared_mutex mutex;
  std::vector<TableData> tables;  // In internal::AllTables() order.
};

}  // namespace internal

namespace {

class MemoryTransaction;

template <typename Record>
class MemoryTable final : public Table<Record> {
 public:
  using Key = typename Record::Key;
  using Filter = typename Record::Filter;

  MemoryTable(MemoryTransaction* transaction, TableData* data)
      : transaction_(transaction), data_(data) {}

  absl::StatusOr<Key> Insert(const Record& record) override;
  absl::StatusOr<Record> Get(const Key& key) override;
  absl::Status Update(const Record& record) override;
  absl::Status Delete(const Key& key) override;
  absl::StatusOr<Page<Record>> List(const Filter& filter,
                                    const PageRequest& page) override;
  absl::StatusOr<int64_t> Count(const Filter& filter) override;

 private:
  static const TableSchema<Record>& schema() {
    return internal::SchemaOf<Record>();
  }
  MemoryTransaction* transaction_;
  TableData* data_;
};

class MemoryTransaction final : public Transaction {
 public:
  MemoryTransaction(internal::MemoryState* state, TransactionMode mode)
      : state_(state), mode_(mode) {
    if (mode == TransactionMode::kWrite) {
      write_lock_ = std::unique_lock<std::shared_mutex>(state->mutex);
    } else {
      read_lock_ = std::shared_lock<std::shared_mutex>(state->mutex);
    }
  }
  ~MemoryTransaction() override { Rollback(); }

  TransactionMode mode() const override { return mode_; }

#define ENTITLE_MEMORY_ACCESSOR(Record, accessor) \
  Table<Record>& accessor() override { return accessor##_; }
  ENTITLE_FOR_EACH_RECORD(ENTITLE_MEMORY_ACCESSOR)
#undef ENTITLE_MEMORY_ACCESSOR

  absl::Status Commit() override {
    if (finished_) return internal::TransactionFinishedError();
    undo_.clear();
    Finish();
    return absl::OkStatus();
  }

  void Rollback() override {
    if (finished_) return;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      it->table->Put(it->key, it->before);
    }
    undo_.clear();
    Finish();
  }

  absl::Status Savepoint() override {
    if (absl::Status s = CheckUsable(true); !s.ok()) return s;
    savepoints_.push_back(undo_.size());
    return absl::OkStatus();
  }

  absl::Status RollbackToSavepoint() override {
    if (absl::Status s = CheckSavepoint(); !s.ok()) return s;
    const size_t mark = savepoints_.back();
    savepoints_.pop_back();
    while (undo_.size() > mark) {
      const Undo& undo = undo_.back();
      undo.table->Put(undo.key, undo.before);
      undo_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status ReleaseSavepoint() override {
    if (absl::Status s = CheckSavepoint(); !s.ok()) return s;
    savepoints_.pop_back();
    return absl::OkStatus();
  }

  // Called by the tables before each operation.
  absl::Status CheckUsable(bool write) const {
    if (finished_) return internal::TransactionFinishedError();
    if (write && mode_ != TransactionMode::kWrite) {
      return internal::ReadOnlyError();
    }
    return absl::OkStatus();
  }

  internal::MemoryState& state() { return *state_; }

  absl::StatusOr<Page<ProjectUserCount>> ProjectUsers(
      OrganizationId organization, const PageRequest& page) override {
    if (absl::Status s = internal::CheckPage(page); !s.ok()) return s;
    absl::StatusOr<std::map<IdentityId, int64_t>> counts =
        ProjectUserCounts(organization);
    if (!counts.ok()) return counts.status();
    Page<ProjectUserCount> result;
    int64_t skipped = 0;
    for (const auto& [identity, count] : *counts) {
      if (skipped++ < page.offset) continue;
      if (static_cast<int64_t>(result.items.size()) == page.limit) {
        result.has_more = true;
        break;
      }
      result.items.push_back(ProjectUserCount{identity, count});
    }
    return result;
  }

  absl::StatusOr<int64_t> CountProjectUsers(
      OrganizationId organization) override {
    absl::StatusOr<std::map<IdentityId, int64_t>> counts =
        ProjectUserCounts(organization);
    if (!counts.ok()) return counts.status();
    return static_cast<int64_t>(counts->size());
  }

  // Writes `row` (or removes the row) at `key`, remembering what was there.
  void Write(TableData& table, const Row& key, std::optional<Row> row) {
    auto it = table.rows.find(key);
    undo_.push_back(Undo{&table, key,
                         it == table.rows.end()
                             ? std::nullopt
                             : std::optional<Row>(it->second)});
    table.Put(key, row);
  }

 private:
  struct Undo {
    TableData* table;
    Row key;
    std::optional<Row> before;
  };

  absl::Status CheckSavepoint() const {
    if (absl::Status s = CheckUsable(true); !s.ok()) return s;
    if (savepoints_.empty()) return internal::NoSavepointError();
    return absl::OkStatus();
  }

  void Finish() {
    finished_ = true;
    savepoints_.clear();
    if (write_lock_.owns_lock()) write_lock_.unlock();
    if (read_lock_.owns_lock()) read_lock_.unlock();
  }

  TableData* Data(std::string_view name) { return &state_->Find(name); }

  // Per identity, how many of the organization's projects it is in.
  absl::StatusOr<std::map<IdentityId, int64_t>> ProjectUserCounts(
      OrganizationId organization) {
    if (absl::Status s = CheckUsable(false); !s.ok()) return s;
    const auto& schema = internal::SchemaOf<ProjectMemberRecord>();
    const std::vector<Condition> conditions =
        schema.Conditions(ProjectMemberFilter{.organization_id = organization});
    const TableData& members = *Data(schema.table);
    std::map<IdentityId, int64_t> counts;
    for (const auto& [key, row] : members.rows) {
      if (!internal::MatchesAll(row, conditions)) continue;
      ++counts[IdentityId(std::get<int64_t>(row[1]))];
    }
    return counts;
  }

  internal::MemoryState* state_;
  TransactionMode mode_;
  std::vector<size_t> savepoints_;  // undo_.size() at each open mark.
  std::unique_lock<std::shared_mutex> write_lock_;
  std::shared_lock<std::shared_mutex> read_lock_;
  bool finished_ = false;
  std::vector<Undo> undo_;

 public:
#define ENTITLE_MEMORY_TABLE(Record, accessor) \
  MemoryTable<Record> accessor##_{this,        \
                                  Data(internal::SchemaOf<Record>().table)};
  ENTITLE_FOR_EACH_RECORD(ENTITLE_MEMORY_TABLE)
#undef ENTITLE_MEMORY_TABLE
};

template <typename Record>
absl::StatusOr<typename Record::Key> MemoryTable<Record>::Insert(
    const Record& record) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  const TableSchema<Record>& table = schema();
  Row row = table.ToRow(record);
  if (table.auto_id) row[0] = data_->next_id;
  const Row key = table.KeyOf(row);
  if (data_->rows.contains(key)) return internal::DuplicateError(table, "key");
  internal::MemoryState& state = transaction_->state();
  if (absl::Status s = state.CheckUnique(*data_, key, row); !s.ok()) return s;
  if (absl::Status s = state.CheckReferences(*data_, row); !s.ok()) return s;
  // Ids are never reused, even when this transaction rolls back.
  if (table.auto_id) ++data_->next_id;
  transaction_->Write(*data_, key, row);
  Record stored = record;
  if constexpr (requires { stored.id; }) {
    stored.id = Key(std::get<int64_t>(row[0]));
  }
  return table.key_of_record(stored);
}

template <typename Record>
absl::StatusOr<Record> MemoryTable<Record>::Get(const Key& key) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  const Row key_row = schema().key_row(key);
  auto it = data_->rows.find(key_row);
  if (it == data_->rows.end())
    return internal::NotFoundError(schema(), key_row);
  return schema().FromRow(it->second);
}

template <typename Record>
absl::Status MemoryTable<Record>::Update(const Record& record) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  const TableSchema<Record>& table = schema();
  const Row row = table.ToRow(record);
  const Row key = table.KeyOf(row);
  if (!data_->rows.contains(key)) return internal::NotFoundError(table, key);
  internal::MemoryState& state = transaction_->state();
  if (absl::Status s = state.CheckUnique(*data_, key, row); !s.ok()) return s;
  if (absl::Status s = state.CheckReferences(*data_, row); !s.ok()) return s;
  transaction_->Write(*data_, key, row);
  return absl::OkStatus();
}

template <typename Record>
absl::Status MemoryTable<Record>::Delete(const Key& key) {
  if (absl::Status s = transaction_->CheckUsable(true); !s.ok()) return s;
  const Row key_row = schema().key_row(key);
  if (!data_->rows.contains(key_row)) {
    return internal::NotFoundError(schema(), key_row);
  }
  if (absl::Status s =
          internal::MemoryState::CheckNotReferenced(*data_, key_row);
      !s.ok()) {
    return s;
  }
  transaction_->Write(*data_, key_row, std::nullopt);
  return absl::OkStatus();
}

template <typename Record>
absl::StatusOr<Page<Record>> MemoryTable<Record>::List(
    const Filter& filter, const PageRequest& page) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  if (absl::Status s = internal::CheckPage(page); !s.ok()) return s;
  const std::vector<Condition> conditions = schema().Conditions(filter);
  Page<Record> result;
  int64_t skipped = 0;
  for (auto it = ScanStart(*data_, conditions); it != data_->rows.cend();
       ++it) {
    const Row& row = it->second;
    if (!internal::MatchesAll(row, conditions)) continue;
    if (skipped < page.offset) {
      ++skipped;
      continue;
    }
    if (static_cast<int64_t>(result.items.size()) == page.limit) {
      result.has_more = true;
      break;
    }
    absl::StatusOr<Record> record = schema().FromRow(row);
    if (!record.ok()) return record.status();
    result.items.push_back(*std::move(record));
  }
  return result;
}

template <typename Record>
absl::StatusOr<int64_t> MemoryTable<Record>::Count(const Filter& filter) {
  if (absl::Status s = transaction_->CheckUsable(false); !s.ok()) return s;
  const std::vector<Condition> conditions = schema().Conditions(filter);
  int64_t count = 0;
  for (auto it = ScanStart(*data_, conditions); it != data_->rows.cend();
       ++it) {
    if (internal::MatchesAll(it->second, conditions)) ++count;
  }
  return count;
}

}  // namespace

MemoryStore::MemoryStore()
    : state_(std::make_unique<internal::MemoryState>()) {}
MemoryStore::~MemoryStore() = default;

absl::StatusOr<std::unique_ptr<Transaction>> MemoryStore::Begin(
    TransactionMode mode) {
  return std::make_unique<MemoryTransaction>(state_.get(), mode);
}

}  // namespace entitle
