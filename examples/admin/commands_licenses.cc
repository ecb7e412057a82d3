// license, usage, expiry, serving, sessions and events: entitlements, named
// licenses, seat pools and their activations.
//
// The tool never serves seats (it never checks out): what it shows of the
// seats held comes from the activations the serving process writes (ACT-5),
// and a force release it makes reaches that process through the store.
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "command.h"
#include "context.h"
#include "entitle/licenses.h"
#include "entitle/organizations.h"
#include "fmt/core.h"
#include "views.h"

namespace entitle_admin {
namespace {

using entitle::EntitlementKind;
using entitle::IdentityId;
using entitle::OrganizationId;

int LicenseCreate(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  entitle::EntitlementTerms terms;
  terms.sku = a.Get("sku");
  const std::string kind = a.Get("kind");
  if (kind == "named") {
    terms.kind = EntitlementKind::kNamed;
  } else if (kind == "floating") {
    terms.kind = EntitlementKind::kFloating;
  } else {
    return c.Fail(
        UsageError(fmt::format("--kind is named or floating, not '{}'", kind)));
  }
  if (!absl::SimpleAtoi(a.Get("seats"), &terms.seats) || terms.seats <= 0) {
    return c.Fail(UsageError(fmt::format(
        "--seats takes a positive number, not '{}'", a.Get("seats"))));
  }
  absl::StatusOr<absl::Time> from = ParseDate(a.Get("from"));
  if (!from.ok()) return c.Fail(UsageError(from.status().message()));
  absl::StatusOr<absl::Time> to = ParseDate(a.Get("to"));
  if (!to.ok()) return c.Fail(UsageError(to.status().message()));
  terms.period_start = *from;
  terms.period_end = *to;
  if (a.Has("countries")) {
    terms.countries =
        absl::StrSplit(a.Get("countries"), ',', absl::SkipWhitespace());
  }
  absl::StatusOr<entitle::EntitlementRecord> e =
      c.dir().licenses().CreateEntitlement(c.actor(), *org, terms);
  if (!e.ok()) return c.Fail(e.status());
  c.out().Say(
      fmt::format("created entitlement #{}: {} {} seats of {}, {} to {}",
                  e->id.value(), e->seats, EntitlementKindName(e->kind), e->sku,
                  TableTime(e->period_start), TableTime(e->period_end)));
  c.out().Put("entitlement", e->id.value());
  return kExitOk;
}

int LicenseList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::EntitlementRecord>> list =
      c.dir().licenses().ListEntitlements(c.actor(), *org);
  if (!list.ok()) return c.Fail(list.status());
  c.out().Print("entitlements", EntitlementsTable(*list));
  return kExitOk;
}

int LicenseAssignOrUnassign(Context& c, const Args& a, bool assign) {
  absl::StatusOr<entitle::EntitlementRecord> e = c.Entitlement(a.positional[0]);
  if (!e.ok()) return c.Fail(e.status());
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[1]);
  if (!id.ok()) return c.Fail(id.status());
  entitle::Licenses& licenses = c.dir().licenses();
  absl::Status s = assign ? licenses.Assign(c.actor(), e->id, *id)
                          : licenses.Unassign(c.actor(), e->id, *id);
  if (!s.ok()) return c.Fail(s);
  c.out().Say(fmt::format("{} a {} license {} {}",
                          assign ? "assigned" : "unassigned", e->sku,
                          assign ? "to" : "from", c.EmailOf(*id)));
  return kExitOk;
}
int LicenseAssign(Context& c, const Args& a) {
  return LicenseAssignOrUnassign(c, a, true);
}
int LicenseUnassign(Context& c, const Args& a) {
  return LicenseAssignOrUnassign(c, a, false);
}

int LicenseGrant(Context& c, const Args& a) {
  absl::StatusOr<entitle::EntitlementRecord> e = c.Entitlement(a.positional[0]);
  if (!e.ok()) return c.Fail(e.status());
  const bool has_email = a.positional.size() > 1;
  if (has_email == a.Has("group")) {
    return c.Fail(UsageError("give either EMAIL or --group NAME"));
  }
  entitle::PoolMember member;
  std::string who;
  if (has_email) {
    absl::StatusOr<IdentityId> id = c.Identity(a.positional[1]);
    if (!id.ok()) return c.Fail(id.status());
    member.identity = *id;
    who = c.EmailOf(*id);
  } else {
    absl::StatusOr<entitle::GroupId> group =
        c.Group(e->organization_id, a.Get("group"));
    if (!group.ok()) return c.Fail(group.status());
    member.group = *group;
    who = fmt::format("group '{}'", a.Get("group"));
  }
  absl::StatusOr<entitle::PoolGrantRecord> grant =
      c.dir().licenses().GrantPoolAccess(c.actor(), e->id, member);
  if (!grant.ok()) return c.Fail(grant.status());
  c.out().Say(fmt::format("gave {} access to the {} pool (grant #{})", who,
                          e->sku, grant->id.value()));
  c.out().Put("grant", grant->id.value());
  return kExitOk;
}

int LicenseRevoke(Context& c, const Args& a) {
  absl::StatusOr<int64_t> id = ParseId(a.positional[0], "a pool grant");
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s = c.dir().licenses().RevokePoolAccess(
          c.actor(), entitle::PoolGrantId(*id));
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("revoked pool grant #{}", *id));
  return kExitOk;
}

int LicenseHolders(Context& c, const Args& a) {
  absl::StatusOr<entitle::EntitlementRecord> e = c.Entitlement(a.positional[0]);
  if (!e.ok()) return c.Fail(e.status());
  entitle::Licenses& licenses = c.dir().licenses();
  if (e->kind == EntitlementKind::kNamed) {
    absl::StatusOr<std::vector<entitle::LicenseAssignmentRecord>> list =
        licenses.ListAssignments(c.actor(), e->id);
    if (!list.ok()) return c.Fail(list.status());
    Table table({"identity", "assigned"});
    for (const entitle::LicenseAssignmentRecord& r : *list) {
      table.Add({Text(c.EmailOf(r.identity_id)), When(r.assigned_at)});
    }
    c.out().Print("assignments", table);
    return kExitOk;
  }
  absl::StatusOr<std::vector<entitle::PoolGrantRecord>> grants =
      licenses.ListPoolAccess(c.actor(), e->id);
  if (!grants.ok()) return c.Fail(grants.status());
  // Group names are not needed to revoke: grants are revoked by id.
  Table table({"grant", "identity", "group", "granted"});
  for (const entitle::PoolGrantRecord& g : *grants) {
    table.Add({Cell{fmt::format("#{}", g.id.value()), Json(g.id.value())},
               Text(g.identity_id ? c.EmailOf(*g.identity_id) : ""),
               g.group_id ? Cell{fmt::format("#{}", g.group_id->value()),
                                 Json(g.group_id->value())}
                          : Cell{"-", Json(nullptr)},
               When(g.granted_at)});
  }
  c.out().Say("pool access:");
  c.out().Print("access", table);
  absl::StatusOr<std::vector<entitle::SeatHolder>> holders =
      licenses.Holders(c.actor(), e->id);
  if (!holders.ok()) return c.Fail(holders.status());
  c.out().Say(
      "seats held (as the serving process last wrote them to the store):");
  c.out().Print("seats", SeatsTable(c, *holders));
  return kExitOk;
}

// An identity named by email, or by id ("7" or "#7").
absl::StatusOr<IdentityId> IdentityOf(Context& c, const std::string& text) {
  if (absl::StrContains(text, "@")) return c.Identity(text);
  absl::StatusOr<int64_t> id = ParseId(text, "an identity");
  if (!id.ok()) {
    return UsageError(fmt::format(
        "'{}' is neither an email address nor an identity id", text));
  }
  return IdentityId(*id);
}

int LicenseRelease(Context& c, const Args& a) {
  absl::StatusOr<entitle::EntitlementRecord> e = c.Entitlement(a.positional[0]);
  if (!e.ok()) return c.Fail(e.status());
  absl::StatusOr<IdentityId> id = IdentityOf(c, a.positional[1]);
  if (!id.ok()) return c.Fail(id.status());
  const entitle::DeviceId device(a.positional[2]);
  if (absl::Status s =
          c.dir().licenses().ForceRelease(c.actor(), e->id, *id, device);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format(
      "released the {} seat of {} on device {}; its next heartbeat is "
      "refused (force-released)",
      e->sku, c.EmailOf(*id), device.value()));
  c.out().Put("entitlement", e->id.value());
  c.out().Put("identity", id->value());
  c.out().Put("device", device.value());
  return kExitOk;
}

int Serving(Context& c, const Args&) {
  absl::StatusOr<std::optional<entitle::ServingClaim>> claim =
      c.dir().licenses().ServingStatus();
  if (!claim.ok()) return c.Fail(claim.status());
  if (!claim->has_value()) {
    c.out().Say("no process serves the seats of this store");
    c.out().Put("serving", nullptr);
    return kExitOk;
  }
  c.out().Print("serving", ServingFields(**claim));
  return kExitOk;
}

// An organization that exists: the listings of sessions and events answer an
// unknown organization with nothing, the tool with not-found. The lookup runs
// as the operator (context.h); the listing then checks the actor.
absl::StatusOr<OrganizationId> ExistingOrganization(Context& c,
                                                    const std::string& text) {
  absl::StatusOr<OrganizationId> org = c.Organization(text);
  if (!org.ok()) return org.status();
  absl::StatusOr<entitle::OrganizationInfo> info =
      c.dir().organizations().Get(entitle::Actor::Operator(), *org);
  if (!info.ok()) return info.status();
  return *org;
}

// --from and --to: the last 30 days by default.
absl::Status TimeRange(const Args& a, absl::Time* from, absl::Time* to) {
  *to = absl::Now();
  if (a.Has("to")) {
    absl::StatusOr<absl::Time> t = ParseDate(a.Get("to"));
    if (!t.ok()) {
      return UsageError(fmt::format("--to: {}", t.status().message()));
    }
    *to = *t;
  }
  *from = *to - absl::Hours(24 * 30);
  if (a.Has("from")) {
    absl::StatusOr<absl::Time> f = ParseDate(a.Get("from"));
    if (!f.ok()) {
      return UsageError(fmt::format("--from: {}", f.status().message()));
    }
    *from = *f;
  }
  if (*to <= *from) {
    return UsageError(fmt::format("--to ({}) must be after --from ({})",
                                  TableTime(*to), TableTime(*from)));
  }
  return absl::OkStatus();
}

int Sessions(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = ExistingOrganization(c, a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::Time from, to;
  if (absl::Status s = TimeRange(a, &from, &to); !s.ok()) return c.Fail(s);
  if (a.Has("csv") && a.Has("hours")) {
    return c.Fail(UsageError("give --csv or --hours, not both"));
  }
  if (!a.Has("csv") && !a.Has("hours")) {
    absl::StatusOr<std::vector<entitle::Session>> sessions =
        AllSessions(c, *org, from, to);
    if (!sessions.ok()) return c.Fail(sessions.status());
    c.out().Say(
        fmt::format("sessions from {} to {}:", TableTime(from), TableTime(to)));
    c.out().Print("sessions", SessionsTable(c, *sessions, from, to));
    return kExitOk;
  }
  const entitle::SessionExport what =
      a.Has("hours") ? entitle::SessionExport::kHoursPerIdentity
                     : entitle::SessionExport::kSessions;
  absl::StatusOr<std::string> csv =
      c.dir().licenses().ExportSessions(c.actor(), *org, from, to, what);
  if (!csv.ok()) return c.Fail(csv.status());
  if (c.out().json()) {
    c.out().Put("csv", *csv);
    return kExitOk;
  }
  // SEC-13: the CSV may reach a terminal; each line goes through Escape.
  EscapingBuffer buffer(c.out().file());
  std::ostream out(&buffer);
  out << *csv;
  out.flush();
  buffer.Finish();
  return kExitOk;
}

int Events(Context& c, const Args& a) {
  int64_t after = 0;
  if (a.Has("after") &&
      (!absl::SimpleAtoi(a.Get("after"), &after) || after < 0)) {
    return c.Fail(UsageError(fmt::format(
        "--after takes an event id (0 or more), not '{}'", a.Get("after"))));
  }
  int limit = 100;
  if (a.Has("limit") && (!absl::SimpleAtoi(a.Get("limit"), &limit) ||
                         limit < 1 || limit > 1000)) {
    return c.Fail(UsageError(fmt::format(
        "--limit takes a number from 1 to 1000, not '{}'", a.Get("limit"))));
  }
  std::optional<OrganizationId> org;
  if (a.Has("org")) {
    absl::StatusOr<OrganizationId> o = ExistingOrganization(c, a.Get("org"));
    if (!o.ok()) return c.Fail(o.status());
    org = *o;
  }
  absl::StatusOr<std::vector<entitle::FeedEventRecord>> events =
      c.dir().licenses().Events(c.actor(), entitle::FeedEventId(after), limit,
                                org);
  if (!events.ok()) return c.Fail(events.status());
  c.out().Print("events", EventsTable(c, *events));
  if (!events->empty()) {
    c.out().Put("last", events->back().id.value());
  }
  return kExitOk;
}

int Usage(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<absl::Duration> window = ParseWindow(a.Get("window", "24h"));
  if (!window.ok()) return c.Fail(UsageError(window.status().message()));
  absl::StatusOr<std::vector<entitle::EntitlementUsage>> usage =
      c.dir().licenses().Usage(c.actor(), *org, *window);
  if (!usage.ok()) return c.Fail(usage.status());
  c.out().Print("usage", UsageTable(*usage));
  return kExitOk;
}

int Expiry(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  std::optional<int> days;
  if (a.Has("days")) {
    int n = 0;
    if (!absl::SimpleAtoi(a.Get("days"), &n) || n < 0) {
      return c.Fail(UsageError(fmt::format(
          "--days takes a number of days, not '{}'", a.Get("days"))));
    }
    days = n;
  }
  absl::StatusOr<std::vector<entitle::ExpiryWarning>> warnings =
      c.dir().licenses().ExpiryWarnings(c.actor(), *org, days);
  if (!warnings.ok()) return c.Fail(warnings.status());
  c.out().Print("warnings", ExpiryTable(c, *warnings));
  return kExitOk;
}

}  // namespace

std::vector<Command> LicenseCommands() {
  return {
      {"license create",
       {"ORG"},
       {{"sku", "SKU", "the product code", true},
        {"kind", "named|floating",
         "named licenses (ENT-2) or a floating pool (ENT-3)", true},
        {"seats", "N", "seats purchased", true},
        {"from", "DATE", "period start: YYYY-MM-DD (UTC) or RFC 3339", true},
        {"to", "DATE", "period end (exclusive)", true},
        {"countries", "LIST",
         "ISO country codes where it may be used, e.g. SE,NO (default: "
         "everywhere)"}},
       "create an entitlement (operator)",
       "Records a purchase (ENT-1). Only the operator may: run it without "
       "--as.",
       "entitle-admin license create 1 --sku CAD-PRO --kind floating --seats 5 "
       "--from 2026-01-01 --to 2027-01-01 --countries SE,NO",
       LicenseCreate},
      {"license list",
       {"ORG"},
       {},
       "list entitlements",
       "Lists the organization's entitlements with their periods (ENT-8).",
       "entitle-admin license list 1",
       LicenseList,
       nullptr,
       kReadOnly},
      {"license assign",
       {"ENTITLEMENT", "EMAIL"},
       {},
       "assign a named license",
       "Assigns a named entitlement to a member, up to its seats (ENT-2).",
       "entitle-admin license assign 2 ben@acme.example",
       LicenseAssign},
      {"license unassign",
       {"ENTITLEMENT", "EMAIL"},
       {},
       "end a named license",
       "Ends a member's assignment of a named entitlement.",
       "entitle-admin license unassign 2 ben@acme.example",
       LicenseUnassign},
      {"license grant",
       {"ENTITLEMENT", "[EMAIL]"},
       {{"group", "NAME", "give the group access instead of one member"}},
       "give pool access",
       "Gives a member, or a group with --group, access to a floating pool "
       "(ENT-3). Prints the grant id that 'license revoke' takes.",
       "entitle-admin license grant 1 ben@acme.example",
       LicenseGrant},
      {"license revoke",
       {"GRANT"},
       {},
       "remove pool access",
       "Removes a pool grant by id (see 'license holders').",
       "entitle-admin license revoke 3",
       LicenseRevoke},
      {"license holders",
       {"ENTITLEMENT"},
       {},
       "who holds an entitlement",
       "For a named entitlement, its assignments; for a pool, its grants "
       "(with their ids) and the seats held (ENT-11), as the process that "
       "serves the seats last wrote them to the store (ACT-5: within its "
       "flush interval, one second by default).",
       "entitle-admin license holders 1",
       LicenseHolders,
       nullptr,
       kReadOnly},
      {"license release",
       {"ENTITLEMENT", "IDENTITY", "DEVICE"},
       {},
       "force-release a seat",
       "Frees the seat a device holds in a floating pool (ENT-11), audited. "
       "IDENTITY is an email address or an identity id. The process that "
       "serves the seats frees it at its next flush, and the device's next "
       "heartbeat is refused with force-released (ACT-5).",
       "entitle-admin license release 1 ben@acme.example ben-laptop",
       LicenseRelease},
      {"usage",
       {"ORG"},
       {{"window", "DURATION",
         "the peak's window, e.g. 24h, 7d (default 24h)"}},
       "seat usage per entitlement",
       "Per entitlement (ENT-8): seats purchased, members assigned or with "
       "access, seats in use now (from the activations the serving process "
       "wrote, ACT-5), the peak over the window (recorded by the licence "
       "server's RecordUsage), and whether it is over-allocated.",
       "entitle-admin usage 1 --window 7d",
       Usage,
       nullptr,
       kReadOnly},
      {"expiry",
       {"ORG"},
       {{"days", "N", "how far ahead to look (default 30)"}},
       "entitlements that end soon",
       "Entitlements whose period ends within N days, with the members who "
       "use them (ENT-9).",
       "entitle-admin expiry 1 --days 60",
       Expiry,
       nullptr,
       kReadOnly},
      {"serving",
       {},
       {},
       "which process serves the seats",
       "Shows the serving claim (ACT-3): the holder, host and process id of "
       "the one process that serves the store's seats, its epoch, since when "
       "it serves and when it last renewed the claim; or that no process "
       "serves them. This tool never serves seats itself.",
       "entitle-admin serving",
       Serving,
       nullptr,
       kReadOnly},
      {"sessions",
       {"ORG"},
       {{"from", "TIME",
         "range start: YYYY-MM-DD (UTC) or RFC 3339 (default: 30 days before "
         "--to)"},
        {"to", "TIME", "range end, exclusive (default: now)"},
        {"csv", "", "print the sessions as CSV"},
        {"hours", "", "print the hours per identity as CSV"}},
       "seat sessions and hours",
       "Lists the organization's ended seat sessions that overlap the range "
       "(ACT-6): identity, device, start, end, why it ended and the hours "
       "inside the range. --csv prints them as RFC 4180 CSV, --hours the "
       "sessions and hours per identity.",
       "entitle-admin sessions 1 --from 2026-11-01 --to 2026-12-01 --hours",
       Sessions,
       nullptr,
       kReadOnly},
      {"events",
       {},
       {{"after", "ID", "only events with an id above ID (default 0)"},
        {"limit", "N", "at most N events, 1 to 1000 (default 100)"},
        {"org", "ORG", "only this organization's (required with --as)"}},
       "the seat and domain event feed",
       "Reads the durable event feed oldest first (ACT-7): checkouts, "
       "releases, expiries, refusals with their reason, force releases and "
       "domain events, with increasing ids. Pass the last id seen as --after "
       "to read on. The operator reads every organization's; an "
       "administrator (--as) names its organization with --org.",
       "entitle-admin events --after 120 --limit 50",
       Events,
       nullptr,
       kReadOnly},
  };
}

}  // namespace entitle_admin
