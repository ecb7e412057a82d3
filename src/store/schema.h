// How each record kind maps to a row of columns: the one description both store
// backends are built on. The SQLite backend binds and reads these columns and
// its DDL (src/sqlite/migrations.h) declares the same uniqueness rules and
// references; the memory backend enforces them from the description here. The
// conformance suite proves the two agree.
#ifndef ENTITLE_SRC_STORE_SCHEMA_H_
#define ENTITLE_SRC_STORE_SCHEMA_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "entitle/records.h"
#include "entitle/store.h"

namespace entitle::internal {

// Raw bytes, kept apart from text so SQLite stores them as BLOBs.
struct Blob {
  std::string bytes;
  friend auto operator<=>(const Blob&, const Blob&) = default;
  friend bool operator==(const Blob&, const Blob&) = default;
};

// One column's value. monostate is SQL NULL.
using Value = std::variant<std::monostate, int64_t, std::string, Blob>;
using Row = std::vector<Value>;

template <typename Record>
struct Column {
  std::string_view name;
  std::function<Value(const Record&)> get;
  // Fails with kStoreCorrupt when the value cannot be a field of this type.
  std::function<absl::Status(Record&, const Value&)> set;
};

enum class CompareOp { kEq, kGe, kGt, kLt };

struct Condition {
  int column;
  CompareOp op;
  Value value;
};

template <typename Filter>
struct FilterField {
  int column;
  CompareOp op;
  std::function<std::optional<Value>(const Filter&)> get;
};

// A uniqueness rule beyond the key. Rows with a NULL in `columns` are exempt
// (as in SQL). A partial rule applies only to rows whose `where_column` holds
// `where_value`.
struct UniqueIndex {
  std::vector<int> columns;
  int where_column = -1;
  Value where_value;
};

// `columns` of this table name the key of `parent_table`. Rows with a NULL in
// `columns` name nothing.
struct Reference {
  std::vector<int> columns;
  std::string_view parent_table;
};

// The part of a table's description that does not depend on the record type.
struct TableInfo {
  std::string_view table;
  bool auto_id = false;  // The first column is an id the store assigns.
  int key_columns = 1;   // The first `key_columns` columns are the key.
  std::vector<std::string_view> column_names;
  std::vector<UniqueIndex> uniques;
  std::vector<Reference> references;

  // The key part of a full row.
  Row KeyOf(const Row& row) const {
    return Row(row.begin(), row.begin() + key_columns);
  }
};

template <typename Record>
struct TableSchema : TableInfo {
  using Key = typename Record::Key;
  using Filter = typename Record::Filter;

  std::vector<Column<Record>> columns;
  std::vector<FilterField<Filter>> filters;
  std::function<Row(const Key&)> key_row;
  std::function<Key(const Record&)> key_of_record;

  Row ToRow(const Record& record) const {
    Row row;
    row.reserve(columns.size());
    for (const Column<Record>& column : columns)
      row.push_back(column.get(record));
    return row;
  }

  absl::StatusOr<Record> FromRow(const Row& row) const;

  std::vector<Condition> Conditions(const Filter& filter) const {
    std::vector<Condition> conditions;
    for (const FilterField<Filter>& field : filters) {
      if (std::optional<Value> value = field.get(filter)) {
        conditions.push_back({field.column, field.op, std::move(*value)});
      }
    }
    return conditions;
  }
};

template <typename Record>
absl::StatusOr<Record> TableSchema<Record>::FromRow(const Row& row) const {
  Record record;
  if (row.size() != columns.size()) {
    return absl::InternalError("row has the wrong number of columns");
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (absl::Status status = columns[i].set(record, row[i]); !status.ok()) {
      return status;
    }
  }
  return record;
}

// True when `value` satisfies `condition` (NULL satisfies nothing, as in SQL).
bool Matches(const Value& value, const Condition& condition);
bool MatchesAll(const Row& row, const std::vector<Condition>& conditions);

// Every record kind, with its table accessor name on Transaction.
#define ENTITLE_FOR_EACH_RECORD(X)                \
  X(IdentityRecord, identities)                   \
  X(OrganizationRecord, organizations)            \
  X(MembershipRecord, memberships)                \
  X(RoleRecord, roles)                            \
  X(RoleGrantRecord, role_grants)                 \
  X(GroupRecord, groups)                          \
  X(GroupMemberRecord, group_members)             \
  X(DomainRecord, domains)                        \
  X(InvitationRecord, invitations)                \
  X(RequestLinkRecord, request_links)             \
  X(JoinRequestRecord, join_requests)             \
  X(EntitlementRecord, entitlements)              \
  X(LicenseAssignmentRecord, license_assignments) \
  X(PoolGrantRecord, pool_grants)                 \
  X(ProjectRecord, projects)                      \
  X(ProjectMemberRecord, project_members)         \
  X(JobRecord, jobs)                              \
  X(AuditRecord, audit)                           \
  X(OutboxRecord, outbox)                         \
  X(LinkTokenRecord, link_tokens)                 \
  X(DeviceCheckRecord, device_checks)             \
  X(PoolUsageRecord, pool_usage)                  \
  X(ThrottleRecord, throttles)                    \
  X(ActivationRecord, activations)                \
  X(ServingClaimRecord, serving_claims)           \
  X(FeedEventRecord, feed_events)

// The description of each kind; defined in schema.cc, built once, never freed.
template <typename Record>
const TableSchema<Record>& SchemaOf();

#define ENTITLE_DECLARE_SCHEMA(Record, accessor) \
  template <>                                    \
  const TableSchema<Record>& SchemaOf<Record>();
ENTITLE_FOR_EACH_RECORD(ENTITLE_DECLARE_SCHEMA)
#undef ENTITLE_DECLARE_SCHEMA

// Every table's description, in the order parents come before children.
const std::vector<const TableInfo*>& AllTables();

}  // namespace entitle::internal

// Errors shared by the backends, so both say the same thing.
namespace entitle::internal {

absl::Status CheckPage(const PageRequest& page);
absl::Status TransactionFinishedError();
absl::Status ReadOnlyError();
absl::Status NoSavepointError();
absl::Status NotFoundError(const TableInfo& table, const Row& key);
// `what` names the taken unique key, e.g. "email" or "key".
absl::Status DuplicateError(const TableInfo& table, std::string_view what);
absl::Status MissingReferenceError(const TableInfo& table,
                                   std::string_view parent_table);
absl::Status StillReferencedError(const TableInfo& table, const Row& key,
                                  std::string_view child_table);
// "key" or the column names joined by ", ".
std::string DescribeColumns(const TableInfo& table,
                            const std::vector<int>& columns);
std::string DescribeKey(const Row& key);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_STORE_SCHEMA_H_
