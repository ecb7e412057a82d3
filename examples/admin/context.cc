#include "context.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "command.h"
#include "entitle/email.h"
#include "fmt/core.h"

namespace entitle_admin {
namespace {

constexpr absl::string_view kUsagePayload = "type.entitle-admin/usage";

absl::Status NotFound(std::string message) {
  return entitle::MakeError(absl::StatusCode::kNotFound,
                            entitle::Reason::kNotFound, message);
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status(absl::StatusCode::kInvalidArgument, message);
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::StatusOr<int64_t> ParseId(std::string_view text, std::string_view what) {
  absl::string_view digits(text.data(), text.size());
  if (absl::StartsWith(digits, "#")) digits.remove_prefix(1);
  int64_t id = 0;
  if (!absl::SimpleAtoi(digits, &id) || id <= 0) {
    return UsageError(fmt::format(
        "'{}' is not {} id (a number such as 3 or #3)", text, what));
  }
  return id;
}

absl::StatusOr<bool> ParseYesNo(std::string_view text, std::string_view flag) {
  if (text == "yes") return true;
  if (text == "no") return false;
  return UsageError(fmt::format("--{} takes yes or no, not '{}'", flag, text));
}

std::string ReasonText(const absl::Status& status) {
  if (IsUsageError(status)) return "usage";
  const entitle::Reason reason = entitle::GetReason(status);
  if (reason != entitle::Reason::kNone) {
    return std::string(entitle::ReasonName(reason));
  }
  std::string code =
      absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
  return absl::StrReplaceAll(code, {{"_", "-"}});
}

std::unique_ptr<entitle::SqliteStore> OpenStore(const std::string& db,
                                                bool create, Output& out,
                                                int* exit_code) {
  entitle::SqliteOptions options;
  options.create_if_missing = create;
  absl::StatusOr<std::unique_ptr<entitle::SqliteStore>> store =
      entitle::SqliteStore::Open(db, options);
  if (store.ok()) return *std::move(store);
  const entitle::Reason r = entitle::GetReason(store.status());
  if (!create && r == entitle::Reason::kNotFound) {
    out.Error(fmt::format("no database at {}; a command that only reads does "
                          "not create one (check --db or $ENTITLE_DB)",
                          db),
              ReasonText(store.status()));
    *exit_code = kExitStoreDown;
    return nullptr;
  }
  out.Error(fmt::format("cannot open {}: {}", db, store.status().message()),
            ReasonText(store.status()));
  *exit_code = r == entitle::Reason::kStoreCorrupt ||
                       r == entitle::Reason::kStoreUnavailable ||
                       r == entitle::Reason::kNone
                   ? kExitStoreDown
                   : kExitRefused;
  return nullptr;
}

int Context::Fail(const absl::Status& status) {
  const std::string reason = ReasonText(status);
  if (IsUsageError(status)) {
    out_.Error(fmt::format("{}; see 'entitle-admin {}--help'", status.message(),
                           command_.empty() ? "" : command_ + " "),
               reason);
    return kExitUsage;
  }
  out_.Error(std::string(status.message()), reason);
  const entitle::Reason r = entitle::GetReason(status);
  if (r == entitle::Reason::kStoreUnavailable ||
      r == entitle::Reason::kStoreCorrupt) {
    return kExitStoreDown;
  }
  return kExitRefused;
}

int Context::Partial(std::string_view summary,
                     const absl::Status& first_failure) {
  out_.Error(
      fmt::format("{} (first failure: {})", summary, first_failure.message()),
      ReasonText(first_failure));
  return kExitPartial;
}

absl::StatusOr<entitle::IdentityId> Context::Identity(std::string_view email) {
  absl::StatusOr<entitle::IdentityInfo> info =
      directory_.identities().FindByEmail(entitle::Actor::Operator(), email);
  if (!info.ok()) return info.status();
  emails_[info->id] = info->email.str();
  return info->id;
}

std::string Context::EmailOf(entitle::IdentityId id) {
  auto it = emails_.find(id);
  if (it != emails_.end()) return it->second;
  absl::StatusOr<entitle::IdentityInfo> info =
      directory_.identities().Get(entitle::Actor::Operator(), id);
  std::string email =
      info.ok() ? info->email.str() : fmt::format("identity#{}", id.value());
  emails_[id] = email;
  return email;
}

absl::StatusOr<entitle::OrganizationId> Context::Organization(
    std::string_view text) {
  absl::StatusOr<int64_t> id = ParseId(text, "an organization");
  if (!id.ok()) return id.status();
  return entitle::OrganizationId(*id);
}

absl::StatusOr<entitle::RoleId> Context::Role(
    entitle::OrganizationId organization, std::string_view name) {
  absl::StatusOr<std::vector<entitle::RoleInfo>> roles =
      directory_.organizations().ListRoles(actor_, organization);
  if (!roles.ok()) return roles.status();
  const absl::string_view wanted(name.data(), name.size());
  for (const entitle::RoleInfo& role : *roles) {
    if (absl::EqualsIgnoreCase(role.name, wanted)) return role.id;
  }
  return NotFound(fmt::format("organization #{} has no role named '{}'",
                              organization.value(), name));
}

absl::StatusOr<entitle::GroupId> Context::Group(
    entitle::OrganizationId organization, std::string_view name) {
  // Organizations has no call that lists groups, so the name is looked up in
  // the store itself (a read; every change still goes through the services).
  absl::StatusOr<std::unique_ptr<entitle::Transaction>> txn =
      store_.Begin(entitle::TransactionMode::kRead);
  if (!txn.ok()) return txn.status();
  auto groups = (*txn)->groups().List(
      {.organization_id = organization, .name = std::string(name)}, {});
  if (!groups.ok()) return groups.status();
  if (groups->items.empty()) {
    return NotFound(fmt::format("organization #{} has no group named '{}'",
                                organization.value(), name));
  }
  return groups->items.front().id;
}

absl::StatusOr<entitle::DomainInfo> Context::Domain(
    entitle::OrganizationId organization, std::string_view name) {
  absl::StatusOr<std::string> wanted = entitle::NormalizeDomain(name);
  if (!wanted.ok()) return wanted.status();
  absl::StatusOr<std::vector<entitle::DomainInfo>> domains =
      directory_.organizations().ListDomains(actor_, organization);
  if (!domains.ok()) return domains.status();
  for (const entitle::DomainInfo& domain : *domains) {
    if (domain.name == *wanted) return domain;
  }
  return NotFound(fmt::format("organization #{} has not claimed {}",
                              organization.value(), *wanted));
}

absl::StatusOr<entitle::EntitlementRecord> Context::Entitlement(
    std::string_view text) {
  absl::StatusOr<int64_t> id = ParseId(text, "an entitlement");
  if (!id.ok()) return id.status();
  // Licenses lists entitlements per organization only; one is read from the
  // store by id (a read; changes go through the services).
  absl::StatusOr<std::unique_ptr<entitle::Transaction>> txn =
      store_.Begin(entitle::TransactionMode::kRead);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<entitle::EntitlementRecord> record =
      (*txn)->entitlements().Get(entitle::EntitlementId(*id));
  if (!record.ok() &&
      entitle::GetReason(record.status()) == entitle::Reason::kNotFound) {
    return NotFound(fmt::format("no entitlement #{}", *id));
  }
  return record;
}

}  // namespace entitle_admin
