// org, domain, invite and request: organizations and how people arrive.
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "context.h"
#include "entitle/invitations.h"
#include "entitle/organizations.h"
#include "fmt/core.h"
#include "views.h"

namespace entitle_admin {
namespace {

using entitle::IdentityId;
using entitle::OrganizationId;

// ------------------------------------------------------------------ org

int OrgCreate(Context& c, const Args& a) {
  absl::StatusOr<IdentityId> admin = c.Identity(a.Get("admin"));
  if (!admin.ok()) return c.Fail(admin.status());
  absl::StatusOr<OrganizationId> org =
      c.dir().organizations().Create(c.actor(), a.positional[0], *admin);
  if (!org.ok()) return c.Fail(org.status());
  c.out().Say(
      fmt::format("created organization #{} '{}' with {} as its first "
                  "administrator",
                  org->value(), a.positional[0], c.EmailOf(*admin)));
  c.out().Put("organization", org->value());
  return kExitOk;
}

int OrgShow(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::OrganizationInfo> info =
      c.dir().organizations().Get(c.actor(), *org);
  if (!info.ok()) return c.Fail(info.status());
  c.out().Print("organization", OrganizationFields(*info));
  return kExitOk;
}

int OrgSet(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  entitle::OrganizationSettings settings;
  if (a.Has("name")) settings.name = a.Get("name");
  for (const char* flag : {"discoverable", "auto-approve"}) {
    if (!a.Has(flag)) continue;
    absl::StatusOr<bool> value = ParseYesNo(a.Get(flag), flag);
    if (!value.ok()) return c.Fail(value.status());
    (std::string(flag) == "discoverable" ? settings.discoverable
                                         : settings.auto_approve_domain_joins) =
        *value;
  }
  if (!settings.name && !settings.discoverable &&
      !settings.auto_approve_domain_joins) {
    return c.Fail(UsageError(
        "nothing to set: give --name, --discoverable or --auto-approve"));
  }
  if (absl::Status s =
          c.dir().organizations().UpdateSettings(c.actor(), *org, settings);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("updated organization #{}", org->value()));
  return kExitOk;
}

// ------------------------------------------------------------------ domain

int DomainClaim(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::DomainClaim> claim =
      c.dir().organizations().ClaimDomain(c.actor(), *org, a.positional[1]);
  if (!claim.ok()) return c.Fail(claim.status());
  // SEC-4: the record is shown once by design (it holds the token, which is
  // stored only as a hash): the domain's owner publishes it in DNS, then runs
  // `domain verify`.
  c.out().Say(
      fmt::format("claimed {} (pending); publish this DNS TXT record, it is "
                  "shown only now, then run 'domain verify':",
                  claim->name));
  c.out().Say(fmt::format("  {}  TXT  \"{}\"", claim->record_name,
                          claim->record_value));
  c.out().Put("domain", {{"id", claim->id.value()},
                         {"name", claim->name},
                         {"status", "pending"},
                         {"record_name", claim->record_name},
                         {"record_value", claim->record_value}});
  return kExitOk;
}

int DomainVerify(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::DomainInfo> domain = c.Domain(*org, a.positional[1]);
  if (!domain.ok()) return c.Fail(domain.status());
  const bool by_operator = a.Has("operator");
  if (absl::Status s = by_operator
                           ? c.dir().organizations().VerifyDomainByOperator(
                                 c.actor(), *org, domain->id)
                           : c.dir().organizations().VerifyDomain(
                                 c.actor(), *org, domain->id);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format(
      "domain {} verified {}: organization #{} owns it", domain->name,
      by_operator ? "by the operator" : "by its DNS record", org->value()));
  return kExitOk;
}

int DomainList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::DomainInfo>> domains =
      c.dir().organizations().ListDomains(c.actor(), *org);
  if (!domains.ok()) return c.Fail(domains.status());
  c.out().Print("domains", DomainsTable(*domains));
  return kExitOk;
}

int DomainRemove(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::DomainInfo> domain = c.Domain(*org, a.positional[1]);
  if (!domain.ok()) return c.Fail(domain.status());
  if (absl::Status s =
          c.dir().organizations().RemoveDomain(c.actor(), *org, domain->id);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("removed domain {}", domain->name));
  return kExitOk;
}

// ------------------------------------------------------------------ invite

bool InviteFailed(entitle::InviteOutcome outcome) {
  return outcome == entitle::InviteOutcome::kInvalidEmail ||
         outcome == entitle::InviteOutcome::kDomainOwnedElsewhere;
}

int InviteSend(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  entitle::InvitationKind kind;
  std::optional<entitle::GroupId> group;
  const std::string kind_text = a.Get("kind");
  if (kind_text == "employee") {
    kind = entitle::InvitationKind::kEmployee;
  } else if (kind_text == "external") {
    kind = entitle::InvitationKind::kExternal;
  } else if (kind_text == "group") {
    kind = entitle::InvitationKind::kGroup;
    if (!a.Has("group"))
      return c.Fail(UsageError("--kind group needs --group"));
    absl::StatusOr<entitle::GroupId> g = c.Group(*org, a.Get("group"));
    if (!g.ok()) return c.Fail(g.status());
    group = *g;
  } else {
    return c.Fail(UsageError(fmt::format(
        "the kind is employee, external or group, not '{}'", kind_text)));
  }
  const std::vector<std::string> addresses(a.positional.begin() + 1,
                                           a.positional.end());
  absl::StatusOr<std::vector<entitle::InviteResult>> results =
      c.dir().invitations().Invite(c.actor(), *org, addresses, kind, group);
  if (!results.ok()) return c.Fail(results.status());
  c.out().Print("results", InviteResultsTable(*results));

  int64_t failed = 0;
  absl::Status first_failure;
  for (const entitle::InviteResult& r : *results) {
    if (!InviteFailed(r.outcome)) continue;
    if (failed++ == 0) {
      first_failure =
          entitle::MakeError(absl::StatusCode::kInvalidArgument,
                             r.outcome == entitle::InviteOutcome::kInvalidEmail
                                 ? entitle::Reason::kInvalidEmail
                                 : entitle::Reason::kDomainOwnedElsewhere,
                             fmt::format("{}: {}", r.address, r.message));
    }
  }
  if (failed > 0) {
    return c.Partial(fmt::format("{} of {} addresses were refused; the "
                                 "others were invited",
                                 failed, results->size()),
                     first_failure);
  }
  return kExitOk;
}

int InviteList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::InvitationInfo>> list =
      c.dir().invitations().List(c.actor(), *org);
  if (!list.ok()) return c.Fail(list.status());
  c.out().Print("invitations", InvitationsTable(*list));
  return kExitOk;
}

int InviteResend(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<int64_t> id = ParseId(a.positional[1], "an invitation");
  if (!id.ok()) return c.Fail(id.status());
  absl::StatusOr<entitle::InvitationId> now =
      c.dir().invitations().Resend(c.actor(), *org, entitle::InvitationId(*id));
  if (!now.ok()) return c.Fail(now.status());
  c.out().Say(
      fmt::format("invitation #{} resent as #{}; the old link no "
                  "longer works",
                  *id, now->value()));
  c.out().Put("invitation", now->value());
  return kExitOk;
}

int InviteRevoke(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<int64_t> id = ParseId(a.positional[1], "an invitation");
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s = c.dir().invitations().Revoke(c.actor(), *org,
                                                    entitle::InvitationId(*id));
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(
      fmt::format("revoked invitation #{}; its link no longer works", *id));
  return kExitOk;
}

// ------------------------------------------------------------------ request

int RequestLink(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  if (a.Has("disable")) {
    if (absl::Status s =
            c.dir().invitations().DisableRequestLink(c.actor(), *org);
        !s.ok()) {
      return c.Fail(s);
    }
    c.out().Say("the request-to-join link is disabled");
    return kExitOk;
  }
  absl::StatusOr<entitle::RequestLink> link =
      c.dir().invitations().CreateRequestLink(c.actor(), *org);
  if (!link.ok()) return c.Fail(link.status());
  c.out().Say(fmt::format(
      "made request-to-join link #{}; any earlier link no longer works",
      link->id.value()));
  c.out().Put("request_link", link->id.value());
  // The token is a live credential: printed only when asked for.
  if (c.show_links()) {
    c.out().Say(fmt::format("link: {}", link->token));
    c.out().Put("link", link->token);
  } else {
    c.out().Say("(its token is printed only with --show-links)");
  }
  return kExitOk;
}

int RequestList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::JoinRequestInfo>> list =
      c.dir().invitations().ListJoinRequests(c.actor(), *org);
  if (!list.ok()) return c.Fail(list.status());
  c.out().Print("requests", JoinRequestsTable(*list));
  return kExitOk;
}

int RequestDecide(Context& c, const Args& a, bool approve) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  std::vector<entitle::JoinRequestId> ids;
  for (size_t i = 1; i < a.positional.size(); ++i) {
    absl::StatusOr<int64_t> id = ParseId(a.positional[i], "a join request");
    if (!id.ok()) return c.Fail(id.status());
    ids.push_back(entitle::JoinRequestId(*id));
  }
  absl::StatusOr<std::vector<entitle::DecisionResult>> results =
      c.dir().invitations().Decide(c.actor(), *org, ids, approve);
  if (!results.ok()) return c.Fail(results.status());
  Table table({"request", "outcome", "reason", "message"});
  int64_t failed = 0;
  absl::Status first_failure;
  for (const entitle::DecisionResult& r : *results) {
    const bool ok = r.status.ok();
    table.Add(
        {Cell{fmt::format("#{}", r.request.value()), Json(r.request.value())},
         Text(ok ? (approve ? "approved" : "rejected") : "failed"),
         Text(ok ? "" : ReasonText(r.status)),
         Text(std::string(r.status.message()))});
    if (!ok && failed++ == 0) first_failure = r.status;
  }
  c.out().Print("results", table);
  if (failed > 0) {
    return c.Partial(
        fmt::format("{} of {} requests could not be {}", failed,
                    results->size(), approve ? "approved" : "rejected"),
        first_failure);
  }
  return kExitOk;
}
int RequestApprove(Context& c, const Args& a) {
  return RequestDecide(c, a, true);
}
int RequestReject(Context& c, const Args& a) {
  return RequestDecide(c, a, false);
}

}  // namespace

std::vector<Command> OrganizationCommands() {
  return {
      {"org create",
       {"NAME"},
       {{"admin", "EMAIL", "the first administrator (an existing identity)",
         true}},
       "create an organization (operator)",
       "Creates an organization with its first administrator (ORG-1). Only "
       "the operator may: run it without --as.",
       "entitle-admin org create Acme --admin anna@acme.example",
       OrgCreate},
      {"org show",
       {"ORG"},
       {},
       "show an organization",
       "Shows the organization's settings. ORG is its id: 3 or #3.",
       "entitle-admin org show 1",
       OrgShow,
       nullptr,
       kReadOnly},
      {"org set",
       {"ORG"},
       {{"name", "NAME", "the new name"},
        {"discoverable", "yes|no",
         "whether identities of its verified domains find it (ORG-11)"},
        {"auto-approve", "yes|no",
         "approve join requests from its verified domains at once (INV-12)"}},
       "change an organization's settings",
       "Changes the settings given; the others stay.",
       "entitle-admin org set 1 --discoverable yes --auto-approve no",
       OrgSet},

      {"domain claim",
       {"ORG", "DOMAIN"},
       {},
       "claim an email domain",
       "Claims DOMAIN for the organization (pending, ORG-9) and prints the "
       "DNS TXT record that proves it (SEC-4). The record holds a secret "
       "token and is shown only this once: publish it in the domain's DNS, "
       "then run 'domain verify'.",
       "entitle-admin domain claim 1 acme.example",
       DomainClaim},
      {"domain verify",
       {"ORG", "DOMAIN"},
       {{"operator", "",
         "verify without a DNS proof (the operator only; audited as such)"}},
       "verify a claimed domain",
       "Verifies a pending claim by looking up its DNS TXT record (SEC-4; "
       "--dns-server chooses the server); the organization then owns the "
       "domain (ORG-9). Refused with domain-proof-missing while no record "
       "carries the claim's token, verifier-unavailable when DNS cannot be "
       "asked. With --operator the operator verifies it directly.",
       "entitle-admin domain verify 1 acme.example --dns-server 192.0.2.53",
       DomainVerify},
      {"domain list",
       {"ORG"},
       {},
       "list an organization's domains",
       "Lists claimed and verified domains.",
       "entitle-admin domain list 1",
       DomainList,
       nullptr,
       kReadOnly},
      {"domain remove",
       {"ORG", "DOMAIN"},
       {},
       "remove a domain",
       "Removes the claim or the ownership of DOMAIN.",
       "entitle-admin domain remove 1 acme.example",
       DomainRemove},

      {"invite send",
       {"ORG", "EMAIL..."},
       {{"kind", "employee|external|group", "what the invitees become", true},
        {"group", "NAME", "the group, for --kind group"}},
       "invite addresses",
       "Invites each address (INV-1); each gets its own result: invited, "
       "already-invited, already-member, invalid-email or "
       "domain-owned-elsewhere. Exits 3 when some addresses were refused "
       "(invalid-email, domain-owned-elsewhere); the others are invited.",
       "entitle-admin invite send 1 --kind employee ben@acme.example "
       "eva@acme.example",
       InviteSend},
      {"invite list",
       {"ORG"},
       {},
       "list invitations",
       "Lists the organization's invitations with their status: New, "
       "Rejected or Expired (INV-4). Accepted ones leave the list.",
       "entitle-admin invite list 1",
       InviteList,
       nullptr,
       kReadOnly},
      {"invite resend",
       {"ORG", "ID"},
       {},
       "resend an invitation",
       "Sends a new link valid for a week; the old link stays dead (INV-3).",
       "entitle-admin invite resend 1 4",
       InviteResend},
      {"invite revoke",
       {"ORG", "ID"},
       {},
       "revoke an invitation",
       "Revokes a New invitation; its link dies (INV-4).",
       "entitle-admin invite revoke 1 4",
       InviteRevoke},

      {"request link",
       {"ORG"},
       {{"disable", "", "disable the link instead"}},
       "make or rotate the request-to-join link",
       "Makes the organization's multi-use request-to-join link (INV-9), "
       "replacing any earlier one. Its token is printed only with "
       "--show-links, since it is a live credential.",
       "entitle-admin --show-links request link 1",
       RequestLink},
      {"request list",
       {"ORG"},
       {},
       "list pending join requests",
       "Lists join requests waiting for a decision (INV-11).",
       "entitle-admin request list 1",
       RequestList,
       nullptr,
       kReadOnly},
      {"request approve",
       {"ORG", "ID..."},
       {},
       "approve join requests",
       "Approves each request: the requester becomes an employee (ORG-2). "
       "Exits 3 when some could not be approved.",
       "entitle-admin request approve 1 5 6",
       RequestApprove},
      {"request reject",
       {"ORG", "ID..."},
       {},
       "reject join requests",
       "Rejects each request. Exits 3 when some could not be rejected.",
       "entitle-admin request reject 1 7",
       RequestReject},
  };
}

}  // namespace entitle_admin
