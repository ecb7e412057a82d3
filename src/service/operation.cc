#include "service/operation.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace entitle::internal {

absl::StatusOr<Operation> Operation::Begin(ServiceContext& context) {
  ENTITLE_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> transaction,
                           context.store.Begin(TransactionMode::kWrite));
  return Operation(context, std::move(transaction));
}

void Operation::Audit(const Actor& actor,
                      std::optional<OrganizationId> organization,
                      std::string action, std::string target,
                      std::string detail) {
  AuditRecord record;
  record.at = now_;
  record.actor_id = actor.audit_id();
  record.organization_id = organization;
  record.action = std::move(action);
  record.target = std::move(target);
  record.outcome = "ok";
  // actor_id is unset for both the operator and anonymous actors; the detail
  // tells them apart.
  if (!actor.is_identity()) {
    const char* who = actor.is_operator() ? "by the operator" : "anonymous";
    detail = detail.empty() ? who : absl::StrCat(who, "; ", detail);
  }
  record.detail = std::move(detail);
  audit_.push_back(std::move(record));
}

void Operation::AuditFromOutside(OrganizationId organization,
                                 std::string action, std::string target,
                                 std::string detail) {
  AuditRecord record;
  record.at = now_;
  record.organization_id = organization;
  record.action = std::move(action);
  record.target = std::move(target);
  record.outcome = "ok";
  record.detail = detail.empty()
                      ? std::string("by another organization")
                      : absl::StrCat("by another organization; ", detail);
  audit_.push_back(std::move(record));
}

void Operation::Notify(Notification notification) {
  notifications_.push_back(std::move(notification));
}

absl::Status Operation::Savepoint() {
  ENTITLE_RETURN_IF_ERROR(transaction_->Savepoint());
  marks_.push_back(Mark{audit_.size(), notifications_.size(), events_.size(),
                        after_commit_.size()});
  return absl::OkStatus();
}

absl::Status Operation::RollbackToSavepoint() {
  ENTITLE_RETURN_IF_ERROR(transaction_->RollbackToSavepoint());
  const Mark mark = marks_.back();
  marks_.pop_back();
  audit_.erase(audit_.begin() + mark.audit, audit_.end());
  notifications_.erase(notifications_.begin() + mark.notifications,
                       notifications_.end());
  events_.erase(events_.begin() + mark.events, events_.end());
  after_commit_.erase(after_commit_.begin() + mark.after_commit,
                      after_commit_.end());
  return absl::OkStatus();
}

absl::Status Operation::ReleaseSavepoint() {
  ENTITLE_RETURN_IF_ERROR(transaction_->ReleaseSavepoint());
  marks_.pop_back();
  return absl::OkStatus();
}

absl::Status Operation::Commit() {
  for (const AuditRecord& record : audit_) {
    ENTITLE_RETURN_IF_ERROR(transaction_->audit().Insert(record));
  }
  for (const Notification& notification : notifications_) {
    OutboxRecord record;
    record.created_at = now_;
    record.recipient = notification.to;
    record.template_name = notification.template_name;
    record.subject = notification.subject;
    ENTITLE_RETURN_IF_ERROR(transaction_->outbox().Insert(record));
  }
  // ACT-7: domain events join the durable feed in the same commit, one per
  // organization they concern.
  for (const Event& event : events_) {
    if (const auto* changed =
            std::get_if<EmployeeOrganizationChanged>(&event)) {
      auto feed = [&](OrganizationId organization,
                      std::string_view detail) -> absl::Status {
        FeedEventRecord record;
        record.at = changed->at;
        record.kind = FeedEventKind::kEmployeeOrganizationChanged;
        record.organization_id = organization;
        record.identity_id = changed->identity;
        record.detail = std::string(detail);
        return transaction_->feed_events().Insert(record).status();
      };
      if (changed->previous.has_value()) {
        ENTITLE_RETURN_IF_ERROR(
            feed(*changed->previous, "no longer an employee"));
      }
      if (changed->current.has_value()) {
        ENTITLE_RETURN_IF_ERROR(feed(*changed->current, "now an employee"));
      }
    }
  }
  ENTITLE_RETURN_IF_ERROR(transaction_->Commit());
  context_->committed_changes.fetch_add(1, std::memory_order_acq_rel);
  for (auto& action : after_commit_) action();
  after_commit_.clear();
  for (const Notification& notification : notifications_) {
    context_->notifier.Send(notification);
  }
  notifications_.clear();
  for (const Event& event : events_) context_->events.Publish(event);
  events_.clear();
  return absl::OkStatus();
}

absl::StatusOr<Reading> Reading::Begin(ServiceContext& context) {
  ENTITLE_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> transaction,
                           context.store.Begin(TransactionMode::kRead));
  return Reading{std::move(transaction), context.clock.Now()};
}

}  // namespace entitle::internal
