#include "entitle/user_lists.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/names.h"
#include "base/status_macros.h"
#include "base/string_view.h"
#include "entitle/email.h"
#include "entitle/status.h"
#include "invitations/invitations_internal.h"
#include "licenses/licenses_internal.h"
#include "organizations/memberships.h"
#include "organizations/organizations_internal.h"
#include "service/authorization.h"
#include "service/operation.h"
#include "service/service_context.h"

namespace entitle {
namespace {

using internal::FindFirst;
using internal::ListAll;
using internal::Operation;
using internal::Reading;

constexpr size_t kMaxReportedEmailBytes = 320;
constexpr int kMaxRowsPerTransaction = 10000;

std::string_view KindName(MembershipKind kind) {
  return kind == MembershipKind::kEmployee ? "employee" : "external";
}

std::string StatusName(const IdentityRecord& identity,
                       const MembershipRecord& membership) {
  if (identity.locked) return "locked";
  if (!identity.verified) return "unverified";
  if (membership.status == MembershipStatus::kPendingProfile) {
    return "pending-profile";
  }
  return "active";
}

absl::Status MalformedHeader(std::string_view why) {
  return MakeError(
      absl::StatusCode::kInvalidArgument, Reason::kMalformedCsv,
      absl::StrCat("The CSV header ", AbslView(why), " The columns are ",
                   absl::StrJoin(kUserListColumns, ", "), "."));
}

// At most `limit` bytes of `text`, cut at a UTF-8 character boundary.
std::string Clip(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

// The email field as a row's result shows it: trimmed, up to its first line
// end (a malformed record's field may run over several), clipped.
std::string ReportedEmail(std::string_view field) {
  field = field.substr(0, std::min(field.find_first_of("\r\n"), field.size()));
  return Clip(StdView(absl::StripAsciiWhitespace(AbslView(field))),
              kMaxReportedEmailBytes);
}

// The non-empty, trimmed items of a ";"-separated list, in order, once each.
std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  for (absl::string_view piece : absl::StrSplit(AbslView(text), ';')) {
    const std::string_view item = StdView(absl::StripAsciiWhitespace(piece));
    if (item.empty()) continue;
    if (std::find(items.begin(), items.end(), item) != items.end()) continue;
    items.emplace_back(item);
  }
  return items;
}

// Which field of a record holds each column; -1 when absent.
struct Columns {
  int email = -1;
  int name = -1;
  int kind = -1;
  int roles = -1;
  int status = -1;
  int last_login = -1;
  int licenses = -1;
  size_t count = 0;
};

absl::StatusOr<Columns> ReadHeader(const CsvRow& header) {
  if (!header.error.ok()) {
    return MakeError(absl::StatusCode::kInvalidArgument, Reason::kMalformedCsv,
                     absl::StrCat("The CSV header cannot be read: ",
                                  header.error.message()));
  }
  Columns columns;
  columns.count = header.fields.size();
  std::set<std::string> seen;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[i]));
    if (!seen.insert(name).second) {
      return MalformedHeader(
          absl::StrCat("names the column '", name, "' twice."));
    }
    int* slot = name == "email"        ? &columns.email
                : name == "name"       ? &columns.name
                : name == "kind"       ? &columns.kind
                : name == "roles"      ? &columns.roles
                : name == "status"     ? &columns.status
                : name == "last_login" ? &columns.last_login
                : name == "licenses"   ? &columns.licenses
                                       : nullptr;
    if (slot == nullptr) {
      return MalformedHeader(absl::StrCat("names an unknown column '",
                                          Clip(header.fields[i], 64), "'."));
    }
    *slot = static_cast<int>(i);
  }
  if (columns.email < 0 || columns.kind < 0) {
    return MalformedHeader("needs the columns 'email' and 'kind'.");
  }
  return columns;
}

// Undoes the export's formula guard (csv.h, SEC-6) on every field.
void Unguard(CsvRow& row) {
  for (std::string& field : row.fields) {
    if (field.size() != UnguardCsvCell(field).size()) field.erase(0, 1);
  }
}

std::string_view Field(const CsvRow& row, int column) {
  if (column < 0 || static_cast<size_t>(column) >= row.fields.size()) {
    return {};
  }
  return row.fields[column];
}

// What one row asks for, once its fields are read and checked.
struct RowRequest {
  Email email;
  MembershipKind kind = MembershipKind::kExternal;
  std::vector<std::string> roles;
  std::vector<std::string> licenses;
};

absl::StatusOr<RowRequest> ParseRow(const CsvRow& row, const Columns& columns) {
  ENTITLE_RETURN_IF_ERROR(row.error);
  if (row.fields.size() != columns.count) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, Reason::kMalformedCsv,
        absl::StrCat("The record has ", row.fields.size(),
                     " fields; the header has ", columns.count, "."));
  }
  RowRequest request;
  ENTITLE_ASSIGN_OR_RETURN(request.email,
                           Email::Parse(StdView(absl::StripAsciiWhitespace(
                               AbslView(Field(row, columns.email))))));
  const std::string kind = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(AbslView(Field(row, columns.kind))));
  if (kind == "employee") {
    request.kind = MembershipKind::kEmployee;
  } else if (kind == "external") {
    request.kind = MembershipKind::kExternal;
  } else {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     absl::StrCat("Unknown membership kind '", Clip(kind, 64),
                                  "': use employee or external."));
  }
  request.roles = SplitList(Field(row, columns.roles));
  request.licenses = SplitList(Field(row, columns.licenses));
  return request;
}

// The entitlement an SKU names: the one whose period contains `now`, else
// the next to start.
absl::StatusOr<EntitlementRecord> EntitlementForSku(Transaction& tx,
                                                    OrganizationId organization,
                                                    const std::string& sku,
                                                    absl::Time now) {
  ENTITLE_ASSIGN_OR_RETURN(
      std::vector<EntitlementRecord> all,
      ListAll(tx.entitlements(),
              EntitlementFilter{.organization_id = organization, .sku = sku}));
  const EntitlementRecord* best = nullptr;
  for (const EntitlementRecord& e : all) {
    if (e.period_start <= now && now < e.period_end) return e;
    if (e.period_start > now &&
        (best == nullptr || e.period_start < best->period_start)) {
      best = &e;
    }
  }
  if (best != nullptr) return *best;
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kNoLicense,
      absl::StrCat("The organization has no current or coming entitlement "
                   "for the SKU '",
                   Clip(sku, 64), "'."));
}

// Applies one row inside `op` (under a savepoint the caller rolls back when
// this fails) and says what it did.
class RowApplier {
 public:
  // Forgets what the applier remembers of the transaction, after a row was
  // rolled back to its savepoint.
  void Forget() {
    invited_.clear();
    assigned_.clear();
  }

  // With `dry_run`, the operation is never committed: details name no
  // invitation ids, which would not exist.
  RowApplier(Operation& op, const Actor& actor,
             const OrganizationRecord& organization, bool dry_run)
      : op_(op),
        actor_(actor),
        organization_(organization),
        dry_run_(dry_run) {}

  absl::Status Apply(const RowRequest& request, UserImportRow& result) {
    Transaction& tx = op_.tx();
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<IdentityRecord> identity,
        FindFirst(tx.identities(), IdentityFilter{.email = request.email}));
    if (!identity.has_value()) return Invite(request, result);

    const IdentityRecord& person = *identity;
    ENTITLE_ASSIGN_OR_RETURN(
        std::optional<MembershipRecord> membership,
        internal::FindMembership(tx, organization_.id, person.id));
    std::vector<std::string> done;
    bool added = false;
    if (!membership.has_value()) {
      ENTITLE_RETURN_IF_ERROR(
          request.kind == MembershipKind::kEmployee
              ? internal::AddEmployeeStep(op_, actor_, organization_.id, person)
              : internal::AddExternalStep(op_, actor_, organization_.id,
                                          person));
      added = true;
      done.push_back(
          absl::StrCat("added as ", AbslView(KindName(request.kind))));
    } else if (membership->kind != request.kind) {
      return MakeError(
          absl::StatusCode::kAlreadyExists, Reason::kAlreadyMember,
          absl::StrCat("This user is already ",
                       membership->kind == MembershipKind::kEmployee
                           ? "an employee"
                           : "an external member",
                       " of the organization; the row says ",
                       AbslView(KindName(request.kind)),
                       ". Change the membership's kind instead."));
    }
    ENTITLE_ASSIGN_OR_RETURN(std::vector<std::string> roles,
                             GrantRoles(person.id, request.roles));
    if (!roles.empty()) {
      done.push_back(absl::StrCat("roles: ", absl::StrJoin(roles, ";")));
    }
    ENTITLE_ASSIGN_OR_RETURN(std::vector<std::string> licenses,
                             GiveLicenses(person.id, request.licenses));
    if (!licenses.empty()) {
      done.push_back(absl::StrCat("licenses: ", absl::StrJoin(licenses, ";")));
    }
    result.outcome = added          ? UserImportOutcome::kAdded
                     : done.empty() ? UserImportOutcome::kUnchanged
                                    : UserImportOutcome::kUpdated;
    result.detail = done.empty() ? std::string("already a member")
                                 : absl::StrJoin(done, "; ");
    return absl::OkStatus();
  }

 private:
  absl::Status Invite(const RowRequest& request, UserImportRow& result) {
    ENTITLE_ASSIGN_OR_RETURN(
        InviteResult invited,
        internal::InviteStep(op_, actor_, organization_, request.email.str(),
                             request.kind == MembershipKind::kEmployee
                                 ? InvitationKind::kEmployee
                                 : InvitationKind::kExternal,
                             std::nullopt, invited_));
    std::string later;
    if (!request.roles.empty() || !request.licenses.empty()) {
      later = "; roles and licenses are not given: the user has no account yet";
    }
    switch (invited.outcome) {
      case InviteOutcome::kInvited:
        result.outcome = UserImportOutcome::kInvited;
        result.detail =
            dry_run_ ? absl::StrCat("an invitation would be sent", later)
                     : absl::StrCat("invitation #", invited.invitation->value(),
                                    " sent", later);
        return absl::OkStatus();
      case InviteOutcome::kAlreadyInvited:
        result.outcome = UserImportOutcome::kUnchanged;
        result.detail =
            dry_run_ ? absl::StrCat("already invited", later)
                     : absl::StrCat("already invited (invitation #",
                                    invited.invitation->value(), ")", later);
        return absl::OkStatus();
      case InviteOutcome::kDomainOwnedElsewhere:
        return MakeError(absl::StatusCode::kFailedPrecondition,
                         Reason::kDomainOwnedElsewhere, invited.message);
      case InviteOutcome::kAlreadyMember:
        return MakeError(absl::StatusCode::kAlreadyExists,
                         Reason::kAlreadyMember, invited.message);
      case InviteOutcome::kInvalidEmail:
        return MakeError(absl::StatusCode::kInvalidArgument,
                         Reason::kInvalidEmail, invited.message);
    }
    return MakeError(absl::StatusCode::kInternal, Reason::kNone,
                     "unknown invitation outcome");
  }

  absl::Status Require(uint32_t permission) {
    return internal::RequirePermission(op_.tx(), actor_, organization_.id,
                                       permission);
  }

  // The role names granted now (those held already are skipped).
  absl::StatusOr<std::vector<std::string>> GrantRoles(
      IdentityId identity, const std::vector<std::string>& names) {
    std::vector<std::string> granted;
    if (names.empty()) return granted;
    ENTITLE_RETURN_IF_ERROR(Require(kManageAdministrators));
    Transaction& tx = op_.tx();
    for (const std::string& name : names) {
      // Role names are stored as CheckName made them (in NFC).
      absl::StatusOr<std::string> stored = internal::CheckName(name, "role");
      ENTITLE_ASSIGN_OR_RETURN(
          std::optional<RoleRecord> role,
          FindFirst(tx.roles(),
                    RoleFilter{.organization_id = organization_.id,
                               .name = stored.ok() ? *stored : name}));
      if (!role.has_value()) {
        return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                         absl::StrCat("The organization has no role named '",
                                      Clip(name, 64), "'."));
      }
      absl::StatusOr<RoleGrantRecord> held = tx.role_grants().Get(
          RoleGrantKey{organization_.id, identity, role->id});
      if (held.ok()) continue;
      if (GetReason(held.status()) != Reason::kNotFound) return held.status();
      ENTITLE_RETURN_IF_ERROR(internal::GrantRoleStep(
          op_, actor_, organization_.id, identity, *role));
      granted.push_back(name);
    }
    return granted;
  }

  // The SKUs given now (licenses and direct pool access held already are
  // skipped).
  absl::StatusOr<std::vector<std::string>> GiveLicenses(
      IdentityId identity, const std::vector<std::string>& skus) {
    std::vector<std::string> given;
    if (skus.empty()) return given;
    ENTITLE_RETURN_IF_ERROR(Require(kManageLicenses));
    Transaction& tx = op_.tx();
    for (const std::string& sku : skus) {
      ENTITLE_ASSIGN_OR_RETURN(
          EntitlementRecord entitlement,
          EntitlementForSku(tx, organization_.id, sku, op_.now()));
      if (entitlement.kind == EntitlementKind::kNamed) {
        absl::StatusOr<LicenseAssignmentRecord> held =
            tx.license_assignments().Get(
                LicenseAssignmentKey{entitlement.id, identity});
        if (held.ok()) continue;
        if (GetReason(held.status()) != Reason::kNotFound) {
          return held.status();
        }
        ENTITLE_ASSIGN_OR_RETURN(int64_t * assigned,
                                 AssignedCount(entitlement));
        ENTITLE_RETURN_IF_ERROR(internal::AssignLicenseStep(
            op_, actor_, entitlement, identity, assigned));
      } else {
        ENTITLE_ASSIGN_OR_RETURN(
            std::optional<PoolGrantRecord> held,
            FindFirst(tx.pool_grants(),
                      PoolGrantFilter{.entitlement_id = entitlement.id,
                                      .identity_id = identity}));
        if (held.has_value()) continue;
        ENTITLE_RETURN_IF_ERROR(internal::GrantPoolAccessStep(
            op_, actor_, entitlement,
            PoolMember{.identity = identity, .group = std::nullopt}));
      }
      given.push_back(sku);
    }
    return given;
  }

  // The number of assignments of a named entitlement, counted once per
  // transaction and then kept by AssignLicenseStep: counting is a scan of
  // every assignment, which would make a large import quadratic.
  absl::StatusOr<int64_t*> AssignedCount(const EntitlementRecord& entitlement) {
    auto it = assigned_.find(entitlement.id);
    if (it == assigned_.end()) {
      ENTITLE_ASSIGN_OR_RETURN(
          int64_t count,
          op_.tx().license_assignments().Count(
              LicenseAssignmentFilter{.entitlement_id = entitlement.id}));
      it = assigned_.emplace(entitlement.id, count).first;
    }
    return &it->second;
  }

  Operation& op_;
  const Actor& actor_;
  const OrganizationRecord& organization_;
  std::map<Email, InvitationId> invited_;  // In this transaction.
  std::map<EntitlementId, int64_t> assigned_;
  bool dry_run_;
};

void Count(UserImportSummary& summary, const UserImportRow& row) {
  ++summary.rows;
  switch (row.outcome) {
    case UserImportOutcome::kInvited:
      ++summary.invited;
      break;
    case UserImportOutcome::kAdded:
      ++summary.added;
      break;
    case UserImportOutcome::kUpdated:
      ++summary.updated;
      break;
    case UserImportOutcome::kUnchanged:
      ++summary.unchanged;
      break;
    case UserImportOutcome::kFailed:
      ++summary.failed;
      break;
  }
}

}  // namespace

std::string_view UserImportOutcomeName(UserImportOutcome outcome) {
  switch (outcome) {
    case UserImportOutcome::kInvited:
      return "invited";
    case UserImportOutcome::kAdded:
      return "added";
    case UserImportOutcome::kUpdated:
      return "updated";
    case UserImportOutcome::kUnchanged:
      return "unchanged";
    case UserImportOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::StatusOr<int64_t> UserLists::Export(const Actor& actor,
                                          OrganizationId organization,
                                          std::ostream& out) {
  ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
  Transaction& tx = reading.tx();
  ENTITLE_RETURN_IF_ERROR(
      internal::AuthorizeIn(tx, actor, organization, kViewUsage));

  // Roles and licenses of every member, read per kind rather than per member.
  std::map<IdentityId, std::vector<std::string>> roles;
  std::map<IdentityId, std::vector<std::string>> licenses;
  {
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<RoleRecord> all_roles,
        ListAll(tx.roles(), RoleFilter{.organization_id = organization}));
    std::map<RoleId, std::string> role_names;
    for (const RoleRecord& role : all_roles) role_names[role.id] = role.name;
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<RoleGrantRecord> grants,
        ListAll(tx.role_grants(),
                RoleGrantFilter{.organization_id = organization}));
    for (const RoleGrantRecord& grant : grants) {
      roles[grant.identity_id].push_back(role_names[grant.role_id]);
    }
    ENTITLE_ASSIGN_OR_RETURN(
        std::vector<EntitlementRecord> entitlements,
        ListAll(tx.entitlements(),
                EntitlementFilter{.organization_id = organization}));
    for (const EntitlementRecord& e : entitlements) {
      if (e.kind == EntitlementKind::kNamed) {
        ENTITLE_ASSIGN_OR_RETURN(
            std::vector<LicenseAssignmentRecord> assigned,
            ListAll(tx.license_assignments(),
                    LicenseAssignmentFilter{.entitlement_id = e.id}));
        for (const auto& a : assigned) licenses[a.identity_id].push_back(e.sku);
      } else {
        ENTITLE_ASSIGN_OR_RETURN(
            std::vector<PoolGrantRecord> granted,
            ListAll(tx.pool_grants(), PoolGrantFilter{.entitlement_id = e.id}));
        for (const auto& g : granted) {
          // An exception's row denies the pool rather than gives it.
          if (g.identity_id.has_value() && !g.denied)
            licenses[*g.identity_id].push_back(e.sku);
        }
      }
    }
  }
  auto joined = [](std::map<IdentityId, std::vector<std::string>>& by_identity,
                   IdentityId identity) {
    auto it = by_identity.find(identity);
    if (it == by_identity.end()) return std::string();
    std::vector<std::string>& names = it->second;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return absl::StrJoin(names, ";");
  };

  std::string buffer;
  auto flush = [&]() -> absl::Status {
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.clear();
    if (!out) {
      return MakeError(absl::StatusCode::kUnavailable,
                       Reason::kStoreUnavailable,
                       "Writing the CSV export failed.");
    }
    return absl::OkStatus();
  };
  // SEC-6: every cell guarded against spreadsheet formulas (csv.h).
  AppendGuardedCsvRecord(buffer,
                         std::vector<std::string>(std::begin(kUserListColumns),
                                                  std::end(kUserListColumns)));
  int64_t written = 0;
  PageRequest page{.offset = 0, .limit = 1000};
  std::vector<std::string> fields(std::size(kUserListColumns));
  while (true) {
    ENTITLE_ASSIGN_OR_RETURN(
        Page<MembershipRecord> members,
        tx.memberships().List(MembershipFilter{.organization_id = organization},
                              page));
    for (const MembershipRecord& membership : members.items) {
      ENTITLE_ASSIGN_OR_RETURN(IdentityRecord identity,
                               tx.identities().Get(membership.identity_id));
      fields[0] = identity.email.str();
      fields[1] = identity.display_name;
      fields[2] = std::string(KindName(membership.kind));
      fields[3] = joined(roles, identity.id);
      fields[4] = StatusName(identity, membership);
      fields[5] =
          identity.last_login_at.has_value()
              ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *identity.last_login_at,
                                 absl::UTCTimeZone())
              : std::string();
      fields[6] = joined(licenses, identity.id);
      AppendGuardedCsvRecord(buffer, fields);
      ++written;
      if (buffer.size() >= 64 * 1024) {
        ENTITLE_RETURN_IF_ERROR(flush());
      }
    }
    if (!members.has_more) break;
    page.offset += page.limit;
  }
  ENTITLE_RETURN_IF_ERROR(flush());
  out.flush();
  if (!out) {
    return MakeError(absl::StatusCode::kUnavailable, Reason::kStoreUnavailable,
                     "Writing the CSV export failed.");
  }
  return written;
}

absl::StatusOr<UserImportSummary> UserLists::Import(
    const Actor& actor, OrganizationId organization, std::istream& in,
    const UserImportOptions& options,
    absl::FunctionRef<void(const UserImportRow&)> on_row) {
  if (options.rows_per_transaction < 1 ||
      options.rows_per_transaction > kMaxRowsPerTransaction) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     absl::StrCat("rows_per_transaction must be 1 to ",
                                  kMaxRowsPerTransaction, "."));
  }
  {
    ENTITLE_ASSIGN_OR_RETURN(Reading reading, Reading::Begin(context_));
    ENTITLE_RETURN_IF_ERROR(
        internal::AuthorizeIn(reading.tx(), actor, organization, kManageUsers));
  }

  CsvReader reader(in, options.limits);
  CsvRow row;
  if (!reader.Next(row)) {
    ENTITLE_RETURN_IF_ERROR(reader.status());
    return MakeError(absl::StatusCode::kInvalidArgument, Reason::kMalformedCsv,
                     "The CSV file is empty: it needs a header record.");
  }
  Unguard(row);
  ENTITLE_ASSIGN_OR_RETURN(Columns columns, ReadHeader(row));

  UserImportSummary summary;
  std::vector<UserImportRow> batch;
  batch.reserve(options.rows_per_transaction);
  bool more = true;
  while (more) {
    // Permission is checked again per batch: an import may outlive a change
    // of the actor's roles.
    ENTITLE_ASSIGN_OR_RETURN(
        internal::OperationIn begun,
        internal::BeginIn(context_, actor, organization, kManageUsers));
    Operation& op = begun.op;
    RowApplier applier(op, actor, begun.organization, options.dry_run);
    absl::Status store_failure;
    batch.clear();
    while (static_cast<int>(batch.size()) < options.rows_per_transaction) {
      if (!reader.Next(row)) {
        more = false;
        break;
      }
      Unguard(row);
      UserImportRow& result = batch.emplace_back();
      result.record = row.number;
      result.line = row.line;
      result.email = ReportedEmail(Field(row, columns.email));
      absl::StatusOr<RowRequest> request = ParseRow(row, columns);
      if (!request.ok()) {
        result.outcome = UserImportOutcome::kFailed;
        result.status = request.status();
        continue;
      }
      if (absl::Status s = op.Savepoint(); !s.ok()) {
        store_failure = s;
        break;
      }
      absl::Status applied = applier.Apply(*request, result);
      if (applied.ok()) {
        if (absl::Status s = op.ReleaseSavepoint(); !s.ok()) {
          store_failure = s;
          break;
        }
        continue;
      }
      if (internal::IsStoreFailure(applied)) {
        store_failure = applied;
        break;
      }
      if (absl::Status s = op.RollbackToSavepoint(); !s.ok()) {
        store_failure = s;
        break;
      }
      applier.Forget();
      result.outcome = UserImportOutcome::kFailed;
      result.detail.clear();
      result.status = applied;
    }
    if (store_failure.ok() && !options.dry_run) {
      store_failure = op.Commit();
    }
    // Unwritten rows fail with the store's reason; rows that failed on
    // their own keep theirs.
    for (UserImportRow& result : batch) {
      if (!store_failure.ok() &&
          (result.outcome != UserImportOutcome::kFailed ||
           result.status.ok())) {
        result.outcome = UserImportOutcome::kFailed;
        result.detail.clear();
        result.status = store_failure;
      }
      Count(summary, result);
      on_row(result);
    }
    ENTITLE_RETURN_IF_ERROR(store_failure);
  }
  ENTITLE_RETURN_IF_ERROR(reader.status());
  return summary;
}

}  // namespace entitle
