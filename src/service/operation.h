// One public operation: a write transaction with the audit records and
// notifications it produces. Nothing leaves before the commit: audit and
// outbox rows are written in the transaction, notifications are handed to the
// notifier only after it committed, so a refused operation leaves no trace.
#ifndef ENTITLE_SRC_SERVICE_OPERATION_H_
#define ENTITLE_SRC_SERVICE_OPERATION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/string_view.h"
#include "entitle/actor.h"
#include "entitle/events.h"
#include "entitle/notifier.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "service/service_context.h"

namespace entitle::internal {

class Operation {
 public:
  // Begins a write transaction; the operation's time is read once, here.
  static absl::StatusOr<Operation> Begin(ServiceContext& context);

  Operation(Operation&&) = default;
  Operation& operator=(Operation&&) = default;

  Transaction& tx() { return *transaction_; }
  absl::Time now() const { return now_; }
  ServiceContext& context() { return *context_; }

  // Records a change for the audit trail (ORG-12), written at commit.
  void Audit(const Actor& actor, std::optional<OrganizationId> organization,
             std::string action, std::string target, std::string detail = "");

  // Records, in `organization`'s trail, a change made there by an actor from
  // outside it (an administrator of another organization whose act ended a
  // membership here, ORG-2, ID-13): SEC-3 keeps who that was, and what the
  // outside organization did, out of this organization's trail. The record
  // names no actor; its detail starts "by another organization".
  void AuditFromOutside(OrganizationId organization, std::string action,
                        std::string target, std::string detail = "");

  // Queues a notification, sent after the commit.
  void Notify(Notification notification);

  // Queues a domain event, published after the commit.
  void Publish(Event event) { events_.push_back(std::move(event)); }

  // Runs `action` after a successful commit (e.g. releasing a removed
  // member's seats, which live outside the store).
  void AfterCommit(std::function<void()> action) {
    after_commit_.push_back(std::move(action));
  }

  // Marks where the operation is (its store writes, audit records,
  // notifications, events and after-commit actions), so that one part of a
  // batch can be undone alone: RollbackToSavepoint drops everything since the
  // newest mark, ReleaseSavepoint keeps it. Marks nest. Fail as the
  // transaction's savepoints do.
  absl::Status Savepoint();
  absl::Status RollbackToSavepoint();
  absl::Status ReleaseSavepoint();

  // Writes the audit and outbox rows, commits, then sends the notifications
  // and publishes the events.
  absl::Status Commit();

 private:
  Operation(ServiceContext& context, std::unique_ptr<Transaction> transaction)
      : context_(&context),
        transaction_(std::move(transaction)),
        now_(context.clock.Now()) {}

  ServiceContext* context_;
  std::unique_ptr<Transaction> transaction_;
  absl::Time now_;
  std::vector<AuditRecord> audit_;
  std::vector<Notification> notifications_;
  std::vector<Event> events_;
  std::vector<std::function<void()>> after_commit_;
  struct Mark {
    size_t audit;
    size_t notifications;
    size_t events;
    size_t after_commit;
  };
  std::vector<Mark> marks_;
};

// A read transaction with the same single time reading.
struct Reading {
  static absl::StatusOr<Reading> Begin(ServiceContext& context);
  std::unique_ptr<Transaction> transaction;
  absl::Time now;
  Transaction& tx() { return *transaction; }
};

// How an audit record names what it changed: "<kind>#<id>", the kind as the
// id type names itself (identity#7, join-request#3).
template <typename Tag>
std::string AuditTarget(Id<Tag> id) {
  return absl::StrCat(Tag::kName, "#", id.value());
}

// Every record of `table` that matches `filter`, page by page.
template <typename Record>
absl::StatusOr<std::vector<Record>> ListAll(
    Table<Record>& table, const typename Record::Filter& filter) {
  std::vector<Record> all;
  PageRequest page{.offset = 0, .limit = 1000};
  while (true) {
    absl::StatusOr<Page<Record>> chunk = table.List(filter, page);
    if (!chunk.ok()) return chunk.status();
    for (Record& record : chunk->items) all.push_back(std::move(record));
    if (!chunk->has_more) return all;
    page.offset += page.limit;
  }
}

// The first record matching `filter`, or nothing.
template <typename Record>
absl::StatusOr<std::optional<Record>> FindFirst(
    Table<Record>& table, const typename Record::Filter& filter) {
  absl::StatusOr<Page<Record>> page =
      table.List(filter, PageRequest{.offset = 0, .limit = 1});
  if (!page.ok()) return page.status();
  if (page->items.empty()) return std::nullopt;
  return std::move(page->items.front());
}

// Deletes every record matching `filter`.
template <typename Record, typename KeyOf>
absl::Status DeleteAll(Table<Record>& table,
                       const typename Record::Filter& filter, KeyOf key_of) {
  absl::StatusOr<std::vector<Record>> records = ListAll(table, filter);
  if (!records.ok()) return records.status();
  for (const Record& record : *records) {
    if (absl::Status s = table.Delete(key_of(record)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The record `id` of `table` when it belongs to `organization`; otherwise
// NotFound ("The organization has no <what> #<id>."), whether it is missing or
// another organization's, so ids of other organizations reveal nothing.
template <typename Record>
absl::StatusOr<Record> LoadOwned(Table<Record>& table,
                                 OrganizationId organization,
                                 typename Record::Key id,
                                 std::string_view what) {
  absl::StatusOr<Record> record = table.Get(id);
  if ((!record.ok() && GetReason(record.status()) == Reason::kNotFound) ||
      (record.ok() && record->organization_id != organization)) {
    return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                     absl::StrCat("The organization has no ", AbslView(what),
                                  " #", id.value(), "."));
  }
  return record;
}

// Applies `mutate` to every record matching `filter` and writes it back.
template <typename Record, typename Mutate>
absl::Status UpdateAll(Table<Record>& table,
                       const typename Record::Filter& filter, Mutate mutate) {
  absl::StatusOr<std::vector<Record>> records = ListAll(table, filter);
  if (!records.ok()) return records.status();
  for (Record& record : *records) {
    mutate(record);
    if (absl::Status s = table.Update(record); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_SERVICE_OPERATION_H_
