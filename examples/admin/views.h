// The tables and records entitle-admin shows, built from what the services
// return. The subcommands and the demo print through these same functions.
#ifndef ENTITLE_EXAMPLES_ADMIN_VIEWS_H_
#define ENTITLE_EXAMPLES_ADMIN_VIEWS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "entitle/identities.h"
#include "entitle/invitations.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/user_lists.h"
#include "output.h"

namespace entitle_admin {

// Names as the command line spells them.
std::string_view KindName(entitle::MembershipKind kind);
absl::StatusOr<entitle::MembershipKind> ParseKind(std::string_view text);
std::string_view EntitlementKindName(entitle::EntitlementKind kind);
std::string_view InviteOutcomeName(entitle::InviteOutcome outcome);
std::string_view InvitationStateName(entitle::InvitationState state);
// ACT-6, ACT-7: as the store spells them ("force-released", "checkout").
std::string_view ActivationEndName(entitle::ActivationEnd end);
std::string_view FeedEventKindName(entitle::FeedEventKind kind);
// Permission bits as "users", "admins", "licenses", "domains", "usage",
// "projects".
std::vector<std::string> PermissionNames(uint32_t permissions);
absl::StatusOr<uint32_t> ParsePermissions(std::string_view list);

Fields IdentityFields(const entitle::IdentityInfo& identity);
Fields OrganizationFields(const entitle::OrganizationInfo& organization);
Table MembersTable(const std::vector<entitle::MemberInfo>& members);
Table RolesTable(const std::vector<entitle::RoleInfo>& roles);
Table DomainsTable(const std::vector<entitle::DomainInfo>& domains);
Table InviteResultsTable(const std::vector<entitle::InviteResult>& results);
Table InvitationsTable(const std::vector<entitle::InvitationInfo>& invitations);
Table JoinRequestsTable(const std::vector<entitle::JoinRequestInfo>& requests);
Table EntitlementsTable(const std::vector<entitle::EntitlementRecord>& list);
Table UsageTable(const std::vector<entitle::EntitlementUsage>& usage);
Table ExpiryTable(Context& context,
                  const std::vector<entitle::ExpiryWarning>& warnings);
Table AuditTable(Context& context,
                 const std::vector<entitle::AuditRecord>& records);
Table SeatsTable(Context& context,
                 const std::vector<entitle::SeatHolder>& holders);
// ACT-3: who serves the store's seats.
Fields ServingFields(const entitle::ServingClaim& claim);
// ACT-6: sessions with the hours each lasted inside [from, to).
Table SessionsTable(Context& context,
                    const std::vector<entitle::Session>& sessions,
                    absl::Time from, absl::Time to);
// ACT-7: feed events.
Table EventsTable(Context& context,
                  const std::vector<entitle::FeedEventRecord>& events);

// Every member of an organization, page by page.
absl::StatusOr<std::vector<entitle::MemberInfo>> AllMembers(
    Context& context, entitle::OrganizationId organization);

// The organization's audit trail matching `query`, paged through oldest
// first; with `newest` > 0 only the newest that many records.
absl::StatusOr<std::vector<entitle::AuditRecord>> AuditTrail(
    Context& context, entitle::OrganizationId organization,
    const entitle::AuditQuery& query, int64_t newest);

// ACT-6: every session of an organization overlapping [from, to), page by
// page.
absl::StatusOr<std::vector<entitle::Session>> AllSessions(
    Context& context, entitle::OrganizationId organization, absl::Time from,
    absl::Time to);

// The import report's columns and one row of it.
std::vector<StreamColumn> ImportColumns();
std::vector<Cell> ImportRowCells(const entitle::UserImportRow& row);
Fields ImportSummaryFields(const entitle::UserImportSummary& summary);

}  // namespace entitle_admin

#endif  // ENTITLE_EXAMPLES_ADMIN_VIEWS_H_
