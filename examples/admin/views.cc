#include "views.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "entitle/status.h"
#include "fmt/core.h"

namespace entitle_admin {
namespace {

struct PermissionName {
  entitle::Permission bit;
  const char* name;
};
constexpr PermissionName kPermissionNames[] = {
    {entitle::kManageUsers, "users"},
    {entitle::kManageAdministrators, "admins"},
    {entitle::kManageLicenses, "licenses"},
    {entitle::kManageDomains, "domains"},
    {entitle::kViewUsage, "usage"},
    {entitle::kManageProjects, "projects"},
};

std::string Hash(int64_t id) { return fmt::format("#{}", id); }
Cell IdCell(int64_t id) { return Cell{Hash(id), Json(id)}; }

}  // namespace

std::string_view KindName(entitle::MembershipKind kind) {
  return kind == entitle::MembershipKind::kEmployee ? "employee" : "external";
}

absl::StatusOr<entitle::MembershipKind> ParseKind(std::string_view text) {
  if (text == "employee") return entitle::MembershipKind::kEmployee;
  if (text == "external") return entitle::MembershipKind::kExternal;
  return UsageError(
      fmt::format("the kind is employee or external, not '{}'", text));
}

std::string_view ActivationEndName(entitle::ActivationEnd end) {
  switch (end) {
    case entitle::ActivationEnd::kOpen:
      return "open";
    case entitle::ActivationEnd::kReleased:
      return "released";
    case entitle::ActivationEnd::kExpired:
      return "expired";
    case entitle::ActivationEnd::kRevoked:
      return "revoked";
    case entitle::ActivationEnd::kForceReleased:
      return "force-released";
    case entitle::ActivationEnd::kPeriodEnded:
      return "period-ended";
    case entitle::ActivationEnd::kLost:
      return "lost";
  }
  return "unknown";
}

std::string_view FeedEventKindName(entitle::FeedEventKind kind) {
  switch (kind) {
    case entitle::FeedEventKind::kCheckout:
      return "checkout";
    case entitle::FeedEventKind::kRelease:
      return "release";
    case entitle::FeedEventKind::kExpiry:
      return "expiry";
    case entitle::FeedEventKind::kRefusal:
      return "refusal";
    case entitle::FeedEventKind::kForceRelease:
      return "force-release";
    case entitle::FeedEventKind::kRevocation:
      return "revocation";
    case entitle::FeedEventKind::kPeriodEnd:
      return "period-end";
    case entitle::FeedEventKind::kEmployeeOrganizationChanged:
      return "employee-organization-changed";
  }
  return "unknown";
}

std::string_view EntitlementKindName(entitle::EntitlementKind kind) {
  return kind == entitle::EntitlementKind::kNamed ? "named" : "floating";
}

std::string_view InviteOutcomeName(entitle::InviteOutcome outcome) {
  switch (outcome) {
    case entitle::InviteOutcome::kInvited:
      return "invited";
    case entitle::InviteOutcome::kAlreadyInvited:
      return "already-invited";
    case entitle::InviteOutcome::kAlreadyMember:
      return "already-member";
    case entitle::InviteOutcome::kInvalidEmail:
      return "invalid-email";
    case entitle::InviteOutcome::kDomainOwnedElsewhere:
      return "domain-owned-elsewhere";
  }
  return "unknown";
}

std::string_view InvitationStateName(entitle::InvitationState state) {
  switch (state) {
    case entitle::InvitationState::kNew:
      return "New";
    case entitle::InvitationState::kRejected:
      return "Rejected";
    case entitle::InvitationState::kExpired:
      return "Expired";
  }
  return "unknown";
}

std::vector<std::string> PermissionNames(uint32_t permissions) {
  std::vector<std::string> names;
  for (const PermissionName& p : kPermissionNames) {
    if (permissions & p.bit) names.push_back(p.name);
  }
  return names;
}

absl::StatusOr<uint32_t> ParsePermissions(std::string_view list) {
  uint32_t permissions = 0;
  for (absl::string_view word :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',',
                      absl::SkipWhitespace())) {
    word = absl::StripAsciiWhitespace(word);
    bool known = false;
    for (const PermissionName& p : kPermissionNames) {
      if (word == p.name) {
        permissions |= p.bit;
        known = true;
      }
    }
    if (!known) {
      return UsageError(fmt::format(
          "unknown permission '{}' (use users, admins, licenses, domains, "
          "usage, projects)",
          std::string(word)));
    }
  }
  if (permissions == 0) return UsageError("--permissions names no permission");
  return permissions;
}

Fields IdentityFields(const entitle::IdentityInfo& i) {
  return {
      {"id", IdCell(i.id.value())},
      {"email", Text(i.email.str())},
      {"pending_email", Text(i.pending_email ? i.pending_email->str() : "")},
      {"name", Text(i.display_name)},
      {"country", Text(i.country)},
      {"language", Text(i.effective_language)},
      {"verified", YesNo(i.verified)},
      {"locked", YesNo(i.locked)},
      {"profile_complete", YesNo(i.profile_complete)},
      {"federated", YesNo(i.federated)},
      {"created", When(i.created_at)},
      {"last_login", When(i.last_login_at)},
  };
}

Fields OrganizationFields(const entitle::OrganizationInfo& o) {
  return {
      {"id", IdCell(o.id.value())},
      {"name", Text(o.name)},
      {"discoverable", YesNo(o.discoverable)},
      {"auto_approve", YesNo(o.auto_approve_domain_joins)},
      {"federation_provider", Text(o.federation_provider)},
      {"maintenance_until", When(o.maintenance_until)},
      {"created", When(o.created_at)},
  };
}

Table MembersTable(const std::vector<entitle::MemberInfo>& members) {
  Table table({"email", "name", "kind", "status", "roles", "locked", "since"});
  for (const entitle::MemberInfo& m : members) {
    table.Add({Text(m.email.str()), Text(m.display_name),
               Text(std::string(KindName(m.kind))),
               Text(m.status == entitle::MembershipStatus::kActive
                        ? "active"
                        : "pending-profile"),
               List(m.roles), YesNo(m.locked), When(m.since)});
  }
  return table;
}

Table RolesTable(const std::vector<entitle::RoleInfo>& roles) {
  Table table({"id", "name", "permissions", "built_in"});
  for (const entitle::RoleInfo& r : roles) {
    table.Add({IdCell(r.id.value()), Text(r.name),
               List(PermissionNames(r.permissions)), YesNo(r.built_in)});
  }
  return table;
}

Table DomainsTable(const std::vector<entitle::DomainInfo>& domains) {
  Table table({"id", "domain", "status", "claimed", "verified", "record"});
  for (const entitle::DomainInfo& d : domains) {
    table.Add({IdCell(d.id.value()), Text(d.name),
               Text(d.status == entitle::DomainStatus::kVerified ? "verified"
                                                                 : "pending"),
               When(d.claimed_at), When(d.verified_at), Text(d.record_name)});
  }
  return table;
}

Table InviteResultsTable(const std::vector<entitle::InviteResult>& results) {
  Table table({"address", "outcome", "invitation", "message"});
  for (const entitle::InviteResult& r : results) {
    table.Add({Text(r.address), Text(std::string(InviteOutcomeName(r.outcome))),
               r.invitation ? IdCell(r.invitation->value())
                            : Cell{"-", Json(nullptr)},
               Text(r.message)});
  }
  return table;
}

Table InvitationsTable(const std::vector<entitle::InvitationInfo>& list) {
  Table table({"id", "email", "kind", "status", "created", "expires"});
  for (const entitle::InvitationInfo& i : list) {
    std::string kind = i.kind == entitle::InvitationKind::kEmployee ? "employee"
                       : i.kind == entitle::InvitationKind::kExternal
                           ? "external"
                       : i.kind == entitle::InvitationKind::kFirstAdministrator
                           ? "first-administrator"
                           : "group";
    table.Add({IdCell(i.id.value()), Text(i.email.str()), Text(kind),
               Text(std::string(InvitationStateName(i.state))),
               When(i.created_at), When(i.expires_at)});
  }
  return table;
}

Table JoinRequestsTable(const std::vector<entitle::JoinRequestInfo>& list) {
  Table table({"id", "email", "name", "source", "created"});
  for (const entitle::JoinRequestInfo& r : list) {
    table.Add(
        {IdCell(r.id.value()), Text(r.email.str()), Text(r.display_name),
         Text(r.source == entitle::JoinRequestSource::kLink ? "link"
                                                            : "discovery"),
         When(r.created_at)});
  }
  return table;
}

Table EntitlementsTable(const std::vector<entitle::EntitlementRecord>& list) {
  Table table({"id", "sku", "kind", "seats", "from", "to", "countries"});
  for (const entitle::EntitlementRecord& e : list) {
    table.Add({IdCell(e.id.value()), Text(e.sku),
               Text(std::string(EntitlementKindName(e.kind))), Number(e.seats),
               When(e.period_start), When(e.period_end), List(e.countries)});
  }
  return table;
}

Table UsageTable(const std::vector<entitle::EntitlementUsage>& usage) {
  Table table({"entitlement", "sku", "kind", "purchased", "with_access",
               "in_use", "peak", "over_allocated", "ends"});
  for (const entitle::EntitlementUsage& u : usage) {
    table.Add({IdCell(u.entitlement.id.value()), Text(u.entitlement.sku),
               Text(std::string(EntitlementKindName(u.entitlement.kind))),
               Number(u.purchased), Number(u.assigned_or_with_access),
               Number(u.in_use), Number(u.peak_in_use), YesNo(u.over_allocated),
               When(u.period_end)});
  }
  return table;
}

Table ExpiryTable(Context& context,
                  const std::vector<entitle::ExpiryWarning>& warnings) {
  Table table({"entitlement", "sku", "ends", "days_left", "affected"});
  for (const entitle::ExpiryWarning& w : warnings) {
    std::vector<std::string> affected;
    for (entitle::IdentityId id : w.affected) {
      affected.push_back(context.EmailOf(id));
    }
    table.Add({IdCell(w.entitlement.id.value()), Text(w.entitlement.sku),
               When(w.entitlement.period_end), Number(w.days_left),
               List(affected)});
  }
  return table;
}

Table AuditTable(Context& context,
                 const std::vector<entitle::AuditRecord>& records) {
  Table table({"id", "at", "actor", "action", "target", "outcome", "detail"});
  for (const entitle::AuditRecord& r : records) {
    table.Add({IdCell(r.id.value()), When(r.at),
               Text(r.actor_id ? context.EmailOf(*r.actor_id) : "operator"),
               Text(r.action), Text(r.target), Text(r.outcome),
               Text(r.detail)});
  }
  return table;
}

Table SeatsTable(Context& context,
                 const std::vector<entitle::SeatHolder>& holders) {
  Table table({"identity", "device", "since", "last_heartbeat", "expires"});
  for (const entitle::SeatHolder& h : holders) {
    table.Add({Text(context.EmailOf(h.key.identity)),
               Text(h.key.device.value()), When(h.since),
               When(h.last_heartbeat), When(h.expires_at)});
  }
  return table;
}

Fields ServingFields(const entitle::ServingClaim& claim) {
  return {{"holder", Text(claim.holder)},
          {"host", Text(claim.host)},
          {"process", Number(claim.process_id)},
          {"epoch", Number(claim.epoch)},
          {"since", When(claim.claimed_at)},
          {"renewed", When(claim.renewed_at)},
          {"lease_until", When(claim.lease_until)}};
}

Table SessionsTable(Context& context,
                    const std::vector<entitle::Session>& sessions,
                    absl::Time from, absl::Time to) {
  Table table({"session", "sku", "identity", "device", "start", "end",
               "end_reason", "hours"});
  for (const entitle::Session& s : sessions) {
    // The part of the session inside the range, as ExportSessions counts it.
    const absl::Duration inside = std::max(
        absl::ZeroDuration(), std::min(s.end, to) - std::max(s.start, from));
    const double hours = absl::ToDoubleHours(inside);
    table.Add({IdCell(s.activation.value()), Text(s.sku),
               Text(context.EmailOf(s.identity)), Text(s.device.value()),
               When(s.start), When(s.end),
               Text(std::string(ActivationEndName(s.end_reason))),
               Cell{fmt::format("{:.2f}", hours), Json(hours)}});
  }
  return table;
}

Table EventsTable(Context& context,
                  const std::vector<entitle::FeedEventRecord>& events) {
  Table table({"id", "at", "kind", "organization", "entitlement", "identity",
               "device", "reason", "detail"});
  auto optional_id = [](const auto& id) {
    return id ? IdCell(id->value()) : Cell{"-", Json(nullptr)};
  };
  for (const entitle::FeedEventRecord& e : events) {
    table.Add({IdCell(e.id.value()), When(e.at),
               Text(std::string(FeedEventKindName(e.kind))),
               optional_id(e.organization_id), optional_id(e.entitlement_id),
               Text(e.identity_id ? context.EmailOf(*e.identity_id) : ""),
               Text(e.device_id), Text(e.reason), Text(e.detail)});
  }
  return table;
}

absl::StatusOr<std::vector<entitle::Session>> AllSessions(
    Context& context, entitle::OrganizationId organization, absl::Time from,
    absl::Time to) {
  std::vector<entitle::Session> all;
  entitle::PageRequest page{.offset = 0, .limit = 1000};
  while (true) {
    absl::StatusOr<entitle::Page<entitle::Session>> sessions =
        context.dir().licenses().Sessions(context.actor(), organization, from,
                                          to, page);
    if (!sessions.ok()) return sessions.status();
    for (entitle::Session& s : sessions->items) all.push_back(std::move(s));
    if (!sessions->has_more) return all;
    page.offset += page.limit;
  }
}

absl::StatusOr<std::vector<entitle::MemberInfo>> AllMembers(
    Context& context, entitle::OrganizationId organization) {
  std::vector<entitle::MemberInfo> all;
  entitle::PageRequest page{.offset = 0, .limit = 1000};
  while (true) {
    absl::StatusOr<entitle::Page<entitle::MemberInfo>> members =
        context.dir().organizations().ListMembers(context.actor(), organization,
                                                  page);
    if (!members.ok()) return members.status();
    for (entitle::MemberInfo& m : members->items) all.push_back(std::move(m));
    if (!members->has_more) return all;
    page.offset += page.limit;
  }
}

absl::StatusOr<std::vector<entitle::AuditRecord>> AuditTrail(
    Context& context, entitle::OrganizationId organization,
    const entitle::AuditQuery& query, int64_t newest) {
  std::deque<entitle::AuditRecord> kept;
  entitle::PageRequest page{.offset = 0, .limit = 1000};
  while (true) {
    absl::StatusOr<entitle::Page<entitle::AuditRecord>> records =
        context.dir().organizations().ListAudit(context.actor(), organization,
                                                query, page);
    if (!records.ok()) return records.status();
    for (entitle::AuditRecord& r : records->items) {
      kept.push_back(std::move(r));
      if (newest > 0 && static_cast<int64_t>(kept.size()) > newest) {
        kept.pop_front();
      }
    }
    if (!records->has_more) break;
    page.offset += page.limit;
  }
  return std::vector<entitle::AuditRecord>(kept.begin(), kept.end());
}

std::vector<StreamColumn> ImportColumns() {
  return {{"record", 7},   {"line", 7},    {"email", 32},
          {"outcome", 10}, {"reason", 22}, {"detail", 0}};
}

std::vector<Cell> ImportRowCells(const entitle::UserImportRow& row) {
  const std::string reason =
      row.status.ok() ? "" : std::string(ReasonText(row.status));
  std::string detail = row.detail;
  if (!row.status.ok()) {
    detail = std::string(row.status.message()) +
             (row.detail.empty() ? "" : "; " + row.detail);
  }
  Cell reason_cell = Text(reason);
  if (reason.empty()) reason_cell.json = nullptr;
  return {Number(row.record),
          Number(row.line),
          Text(row.email),
          Text(std::string(entitle::UserImportOutcomeName(row.outcome))),
          reason_cell,
          Text(detail)};
}

Fields ImportSummaryFields(const entitle::UserImportSummary& s) {
  return {{"rows", Number(s.rows)},           {"invited", Number(s.invited)},
          {"added", Number(s.added)},         {"updated", Number(s.updated)},
          {"unchanged", Number(s.unchanged)}, {"failed", Number(s.failed)}};
}

}  // namespace entitle_admin
