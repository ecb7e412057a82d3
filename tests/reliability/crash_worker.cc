// A separate process that changes a SQLite store at random until it is
// killed, for crash_test.cc. Not a test itself.
//
//   crash_worker <db path> <seed> <log path>
//
// Opens the SqliteStore at <db path> (default options: synchronous FULL),
// reads what the file holds, and then applies random operations through a
// Directory, as the operator (and as the invitee to accept an invitation):
// registering identities, creating organizations with a first administrator,
// claiming and verifying domains, adding employees and external members
// (including employees of another organization, which ORG-10 refuses, and
// accepted employee invitations, which move them, ORG-2), removing members,
// creating entitlements with a few seats, assigning and unassigning named
// licenses (often one too many), granting and revoking pool access, deleting
// identities and importing a few CSV rows. It never lowers seat counts.
//
// The log at <log path> is appended to with write(2) on an O_APPEND
// descriptor, never buffered, one line at a time:
//
//   start <seed>              the worker (re)started on the file
//   ? <op> <identity>...      an operation begins; it may change what is
//                             true of the identities listed
//   <fact>                    after the operation returned OK: what is now
//   ...                       true (see below)
//   ok                        the operation returned OK
//   fail <reason>             it was refused (and so changed nothing)
//   bug <text>                it succeeded although the rules refuse it
//
// The facts and the closing line of an operation are written together in one
// write(2), only after the call returned, so every fact in the log was
// reported as done. An operation cut short by the kill leaves its "?" line
// without a closing line: it may or may not have committed. Facts:
//
//   identity <i>                    the identity exists
//   verified <i>                    ... and is verified
//   deleted <i>                     it no longer exists, nor anything of it
//   org <o>                         the organization exists
//   domain <o> <name>               o owns the verified domain
//   member <o> <i> employee|external
//   removed <o> <i>                 no membership, and none of o's licenses
//   entitlement <e> <o> named|floating <seats>
//   assigned <e> <o> <i>            a named license of e (of organization o)
//   unassigned <e> <o> <i>
//   pool <e> <o> <i>                direct access to e's pool
//   unpooled <e> <o> <i>
//
// Exits only on a bad command line (2), when the store cannot be opened or
// read at start (1), or when the log cannot be written (3).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "entitle/user_lists.h"

namespace {

using entitle::Actor;
using entitle::EntitlementId;
using entitle::EntitlementKind;
using entitle::IdentityId;
using entitle::MembershipKind;
using entitle::OrganizationId;

constexpr char kPassword[] = "Passw0rd!crash";
constexpr char kFreeDomain[] = "free-mail.example";

// ------------------------------------------------------------------- the log

class Log {
 public:
  explicit Log(int fd) : fd_(fd) {}

  void Start(uint64_t seed) {
    // A line torn by an earlier kill must not swallow this one.
    struct stat st;
    if (::fstat(fd_, &st) != 0) Die("fstat");
    if (st.st_size > 0) {
      char last = '\n';
      if (::pread(fd_, &last, 1, st.st_size - 1) != 1) Die("pread");
      if (last != '\n') Write("\n");
    }
    Write(absl::StrCat("start ", seed, "\n"));
  }

  // An operation that may change what is true of `identities` begins.
  void Begin(absl::string_view op, const std::vector<int64_t>& identities) {
    std::string line = absl::StrCat("? ", op);
    for (int64_t id : identities) absl::StrAppend(&line, " ", id);
    line += "\n";
    facts_.clear();
    Write(line);
  }
  void Fact(const std::string& fact) { facts_ += fact + "\n"; }
  void Ok() {
    facts_ += "ok\n";
    Write(facts_);
    facts_.clear();
  }
  void Fail(const absl::Status& status) {
    facts_.clear();
    Write(absl::StrCat(
        "fail ", std::string(entitle::ReasonName(entitle::GetReason(status))),
        "\n"));
  }
  void Bug(const std::string& text) { Write("bug " + text + "\n"); }

 private:
  [[noreturn]] static void Die(const char* what) {
    std::perror(what);
    std::exit(3);
  }
  void Write(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("write log");
      done += static_cast<size_t>(n);
    }
  }

  int fd_;
  std::string facts_;
};

const char* KindName(MembershipKind kind) {
  return kind == MembershipKind::kEmployee ? "employee" : "external";
}

template <typename R>
absl::StatusOr<std::vector<R>> ListAll(entitle::Table<R>& table) {
  std::vector<R> all;
  entitle::PageRequest page;
  page.limit = entitle::PageRequest::kMaxPageLimit;
  for (;;) {
    auto got = table.List({}, page);
    if (!got.ok()) return got.status();
    all.insert(all.end(), got->items.begin(), got->items.end());
    if (!got->has_more) break;
    page.offset += page.limit;
  }
  return all;
}

// ------------------------------------------------------------------ the model

// What the worker believes the file holds: read from the file at start, then
// kept up to date from the operations that returned OK.
struct Model {
  struct Person {
    std::string email;
    bool verified = false;
    std::map<int64_t, MembershipKind> orgs;  // organization -> kind
  };
  struct Entitlement {
    int64_t org = 0;
    EntitlementKind kind = EntitlementKind::kNamed;
    int64_t seats = 0;
    std::string sku;
    std::set<int64_t> holders;  // assigned (named) or with access (floating)
  };
  struct Org {
    std::vector<std::string> domains;  // verified
    std::set<int64_t> members;
    std::vector<int64_t> entitlements;
  };

  std::map<int64_t, Person> people;
  std::vector<int64_t> alive;  // keys of `people`, for picking at random
  std::map<std::string, int64_t> by_email;
  std::map<int64_t, Org> orgs;
  std::vector<int64_t> org_ids;
  std::map<int64_t, Entitlement> entitlements;
  std::vector<int64_t> named, floating;
  std::map<std::pair<int64_t, int64_t>, int64_t> pool_grants;  // (e, i) -> id
  std::map<std::string, int64_t> domain_owner;

  std::optional<int64_t> EmployerOf(int64_t identity) const {
    auto it = people.find(identity);
    if (it == people.end()) return std::nullopt;
    for (const auto& [org, kind] : it->second.orgs) {
      if (kind == MembershipKind::kEmployee) return org;
    }
    return std::nullopt;
  }

  void AddPerson(int64_t id, std::string email, bool verified) {
    by_email[email] = id;
    people[id] = Person{std::move(email), verified, {}};
    alive.push_back(id);
  }
  void AddOrg(int64_t id) {
    orgs[id];
    org_ids.push_back(id);
  }
  void AddEntitlement(int64_t id, int64_t org, EntitlementKind kind,
                      int64_t seats, std::string sku) {
    entitlements[id] = Entitlement{org, kind, seats, std::move(sku), {}};
    orgs[org].entitlements.push_back(id);
    (kind == EntitlementKind::kNamed ? named : floating).push_back(id);
  }
  void SetMember(int64_t org, int64_t identity, MembershipKind kind) {
    people[identity].orgs[org] = kind;
    orgs[org].members.insert(identity);
  }
  // Ends a membership with its licenses and pool access (ORG-5).
  void EndMember(int64_t org, int64_t identity) {
    people[identity].orgs.erase(org);
    orgs[org].members.erase(identity);
    for (int64_t e : orgs[org].entitlements) {
      entitlements[e].holders.erase(identity);
      pool_grants.erase({e, identity});
    }
  }
  void DeletePerson(int64_t identity) {
    std::vector<int64_t> memberships;
    for (const auto& [org, kind] : people[identity].orgs) {
      memberships.push_back(org);
    }
    for (int64_t org : memberships) EndMember(org, identity);
    by_email.erase(people[identity].email);
    people.erase(identity);
    for (size_t k = 0; k < alive.size(); ++k) {
      if (alive[k] == identity) {
        alive[k] = alive.back();
        alive.pop_back();
        break;
      }
    }
  }
};

absl::Status Load(entitle::Store& store, Model& model) {
  auto txn = store.Begin(entitle::TransactionMode::kRead);
  if (!txn.ok()) return txn.status();
  entitle::Transaction& tx = **txn;
  auto identities = ListAll(tx.identities());
  if (!identities.ok()) return identities.status();
  for (const auto& r : *identities) {
    model.AddPerson(r.id.value(), r.email.str(), r.verified);
  }
  auto orgs = ListAll(tx.organizations());
  if (!orgs.ok()) return orgs.status();
  for (const auto& r : *orgs) model.AddOrg(r.id.value());
  auto domains = ListAll(tx.domains());
  if (!domains.ok()) return domains.status();
  for (const auto& r : *domains) {
    if (r.status != entitle::DomainStatus::kVerified) continue;
    model.orgs[r.organization_id.value()].domains.push_back(r.name);
    model.domain_owner[r.name] = r.organization_id.value();
  }
  auto memberships = ListAll(tx.memberships());
  if (!memberships.ok()) return memberships.status();
  for (const auto& r : *memberships) {
    model.SetMember(r.organization_id.value(), r.identity_id.value(), r.kind);
  }
  auto entitlements = ListAll(tx.entitlements());
  if (!entitlements.ok()) return entitlements.status();
  for (const auto& r : *entitlements) {
    model.AddEntitlement(r.id.value(), r.organization_id.value(), r.kind,
                         r.seats, r.sku);
  }
  auto assignments = ListAll(tx.license_assignments());
  if (!assignments.ok()) return assignments.status();
  for (const auto& r : *assignments) {
    model.entitlements[r.entitlement_id.value()].holders.insert(
        r.identity_id.value());
  }
  auto grants = ListAll(tx.pool_grants());
  if (!grants.ok()) return grants.status();
  for (const auto& r : *grants) {
    if (!r.identity_id.has_value()) continue;
    model.entitlements[r.entitlement_id.value()].holders.insert(
        r.identity_id->value());
    model.pool_grants[{r.entitlement_id.value(), r.identity_id->value()}] =
        r.id.value();
  }
  return (*txn)->Commit();
}

// ----------------------------------------------------------------- the worker

class Worker {
 public:
  Worker(entitle::Directory& directory, Model& model, Log& log, uint64_t seed)
      : dir_(directory), model_(model), log_(log), seed_(seed), rng_(seed) {}

  void Step() {
    if (++steps_ % 256 == 0) dir_.default_notifier()->Clear();
    if (model_.alive.size() < 4) return Register();
    if (model_.org_ids.size() < 2) return CreateOrganization();
    switch (Pick({14, 3, 3, 12, 10, 9, 7, 5, 16, 5, 6, 2, 3, 4})) {
      case 0:
        return Register();
      case 1:
        return CreateOrganization();
      case 2:
        return ClaimDomain(RandomOrg());
      case 3:
        return AddEmployee();
      case 4:
        return AddExternal();
      case 5:
        return InviteAndAccept();
      case 6:
        return RemoveMember();
      case 7:
        return CreateEntitlement();
      case 8:
        return Assign();
      case 9:
        return Unassign();
      case 10:
        return GrantPool();
      case 11:
        return RevokePool();
      case 12:
        return DeleteIdentity();
      default:
        return Import();
    }
  }

 private:
  // ------------------------------------------------------------ randomness
  size_t Pick(std::initializer_list<int> weights) {
    std::discrete_distribution<size_t> d(weights.begin(), weights.end());
    return d(rng_);
  }
  size_t Below(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int64_t RandomOrg() { return model_.org_ids[Below(model_.org_ids.size())]; }
  int64_t RandomPerson() { return model_.alive[Below(model_.alive.size())]; }
  template <typename Pred>
  std::optional<int64_t> RandomPersonWhere(Pred pred) {
    for (int tries = 0; tries < 30; ++tries) {
      int64_t id = RandomPerson();
      if (pred(id)) return id;
    }
    return std::nullopt;
  }
  std::optional<int64_t> RandomMember(int64_t org) {
    const std::set<int64_t>& members = model_.orgs[org].members;
    if (members.empty()) return std::nullopt;
    auto it = members.begin();
    std::advance(it, static_cast<long>(Below(members.size())));
    return *it;
  }
  std::string DomainOf(int64_t identity) {
    const std::string& email = model_.people[identity].email;
    return email.substr(email.find('@') + 1);
  }
  // The organization owning the identity's email domain, if any.
  std::optional<int64_t> DomainOwnerOf(int64_t identity) {
    auto it = model_.domain_owner.find(DomainOf(identity));
    if (it == model_.domain_owner.end()) return std::nullopt;
    return it->second;
  }
  std::string NewAddress(std::optional<int64_t> org) {
    std::string domain = kFreeDomain;
    if (org.has_value() && !model_.orgs[*org].domains.empty()) {
      const auto& domains = model_.orgs[*org].domains;
      domain = domains[Below(domains.size())];
    }
    return absl::StrCat("u", seed_, "n", ++names_, "@", domain);
  }

  // Facts of a membership that became employee at `org` (ORG-2: the previous
  // employee membership ended in the same transaction).
  void BecameEmployee(int64_t org, int64_t identity,
                      std::optional<int64_t> previous) {
    if (previous.has_value() && *previous != org) {
      model_.EndMember(*previous, identity);
      log_.Fact(absl::StrCat("removed ", *previous, " ", identity));
    }
    model_.SetMember(org, identity, MembershipKind::kEmployee);
    log_.Fact(absl::StrCat("member ", org, " ", identity, " employee"));
  }

  // ------------------------------------------------------------ operations

  void Register() {
    std::optional<int64_t> org;
    if (!model_.org_ids.empty() && Chance(0.7)) org = RandomOrg();
    const std::string email = NewAddress(org);
    log_.Begin("register", {});
    entitle::Profile profile;
    profile.display_name = "Crash " + email.substr(0, email.find('@'));
    auto id = dir_.identities().Register(Actor::Operator(), email, profile);
    if (!id.ok()) return log_.Fail(id.status());
    model_.AddPerson(id->value(), email, false);
    log_.Fact(absl::StrCat("identity ", id->value()));
    log_.Ok();
  }

  // Verifies `identity` through its verification link; true when verified.
  bool EnsureVerified(int64_t identity) {
    Model::Person& person = model_.people[identity];
    if (person.verified) return true;
    log_.Begin("verify", {identity});
    auto email = entitle::Email::Parse(person.email);
    if (!email.ok()) {
      log_.Fail(email.status());
      return false;
    }
    entitle::InMemoryNotifier& notifier = *dir_.default_notifier();
    std::optional<entitle::Notification> link =
        notifier.Last(*email, "verify-email");
    if (!link.has_value()) {
      if (absl::Status s = dir_.identities().ResendVerification(person.email);
          !s.ok()) {
        log_.Fail(s);
        return false;
      }
      link = notifier.Last(*email, "verify-email");
    }
    if (!link.has_value()) {
      log_.Bug(absl::StrCat("no verification link for identity ", identity));
      return false;
    }
    if (absl::Status s =
            dir_.identities().CompleteVerification(link->token, kPassword);
        !s.ok()) {
      log_.Fail(s);
      return false;
    }
    person.verified = true;
    log_.Fact(absl::StrCat("verified ", identity));
    log_.Ok();
    return true;
  }

  void CreateOrganization() {
    const int64_t admin = RandomPerson();
    const std::optional<int64_t> previous = model_.EmployerOf(admin);
    log_.Begin("create-organization", {admin});
    auto org = dir_.organizations().Create(
        Actor::Operator(), absl::StrCat("Crash ", seed_, "-", ++names_),
        IdentityId(admin));
    if (!org.ok()) return log_.Fail(org.status());
    model_.AddOrg(org->value());
    log_.Fact(absl::StrCat("org ", org->value()));
    BecameEmployee(org->value(), admin, previous);
    log_.Ok();
    ClaimDomain(org->value());
  }

  // ORG-9: claims a new domain for `org`, which the operator verifies
  // directly (SEC-4: no DNS here).
  void ClaimDomain(int64_t org) {
    const std::string name =
        absl::StrCat("o", org, "s", seed_, "n", ++names_, ".example");
    log_.Begin("claim-domain", {});
    auto claim = dir_.organizations().ClaimDomain(Actor::Operator(),
                                                  OrganizationId(org), name);
    if (!claim.ok()) return log_.Fail(claim.status());
    if (absl::Status s = dir_.organizations().VerifyDomainByOperator(
            Actor::Operator(), OrganizationId(org), claim->id);
        !s.ok()) {
      return log_.Fail(s);
    }
    model_.orgs[org].domains.push_back(claim->name);
    model_.domain_owner[claim->name] = org;
    log_.Fact(absl::StrCat("domain ", org, " ", claim->name));
    log_.Ok();
  }

  // ORG-10: mostly people of the organization's own domains; some of them
  // employees elsewhere, whom a direct add must refuse.
  void AddEmployee() {
    const int64_t org = RandomOrg();
    std::optional<int64_t> who =
        RandomPersonWhere([&](int64_t id) { return DomainOwnerOf(id) == org; });
    if (!who.has_value()) who = RandomPerson();
    const int64_t identity = *who;
    const std::optional<int64_t> previous = model_.EmployerOf(identity);
    log_.Begin("add-employee", {identity});
    absl::Status s = dir_.organizations().AddEmployee(
        Actor::Operator(), OrganizationId(org), model_.people[identity].email);
    if (!s.ok()) return log_.Fail(s);
    if (previous.has_value() && *previous != org) {
      log_.Bug(absl::StrCat("AddEmployee moved identity ", identity,
                            " from organization ", *previous, " to ", org));
    }
    BecameEmployee(org, identity, previous);
    log_.Ok();
  }

  void AddExternal() {
    const int64_t org = RandomOrg();
    const int64_t identity = RandomPerson();
    log_.Begin("add-external", {identity});
    absl::Status s = dir_.organizations().AddExternal(
        Actor::Operator(), OrganizationId(org), model_.people[identity].email);
    if (!s.ok()) return log_.Fail(s);
    model_.SetMember(org, identity, MembershipKind::kExternal);
    log_.Fact(absl::StrCat("member ", org, " ", identity, " external"));
    log_.Ok();
  }

  // INV-5, ORG-2: an employee invitation accepted moves an employee of
  // another organization.
  void InviteAndAccept() {
    const int64_t org = RandomOrg();
    std::optional<int64_t> who = RandomPersonWhere([&](int64_t id) {
      std::optional<int64_t> owner = DomainOwnerOf(id);
      return (!owner.has_value() || *owner == org) &&
             model_.EmployerOf(id).value_or(0) != org;
    });
    if (!who.has_value()) return;
    const int64_t identity = *who;
    if (!EnsureVerified(identity)) return;

    log_.Begin("invite", {});
    auto results = dir_.invitations().Invite(
        Actor::Operator(), OrganizationId(org), {model_.people[identity].email},
        entitle::InvitationKind::kEmployee);
    if (!results.ok()) return log_.Fail(results.status());
    log_.Ok();
    if (results->size() != 1 || !(*results)[0].invitation.has_value()) return;

    const std::optional<int64_t> previous = model_.EmployerOf(identity);
    log_.Begin("accept", {identity});
    auto accepted = dir_.invitations().AcceptById(
        Actor::Identity(IdentityId(identity)), *(*results)[0].invitation);
    if (!accepted.ok()) return log_.Fail(accepted.status());
    BecameEmployee(org, identity, previous);
    log_.Ok();
  }

  void RemoveMember() {
    const int64_t org = RandomOrg();
    std::optional<int64_t> identity = RandomMember(org);
    if (!identity.has_value()) return;
    log_.Begin("remove-member", {*identity});
    absl::Status s = dir_.organizations().RemoveMember(
        Actor::Operator(), OrganizationId(org), IdentityId(*identity));
    if (!s.ok()) return log_.Fail(s);
    model_.EndMember(org, *identity);
    log_.Fact(absl::StrCat("removed ", org, " ", *identity));
    log_.Ok();
  }

  void CreateEntitlement() {
    const int64_t org = RandomOrg();
    entitle::EntitlementTerms terms;
    terms.sku = absl::StrCat("SKU-", seed_, "-", ++names_);
    terms.kind =
        Chance(0.7) ? EntitlementKind::kNamed : EntitlementKind::kFloating;
    terms.seats = 1 + static_cast<int64_t>(Below(3));
    const absl::Time now = absl::Now();
    terms.period_start = now - absl::Hours(24);
    terms.period_end = now + absl::Hours(24 * 365);
    log_.Begin("create-entitlement", {});
    auto created = dir_.licenses().CreateEntitlement(
        Actor::Operator(), OrganizationId(org), terms);
    if (!created.ok()) return log_.Fail(created.status());
    model_.AddEntitlement(created->id.value(), org, terms.kind, terms.seats,
                          terms.sku);
    log_.Fact(absl::StrCat(
        "entitlement ", created->id.value(), " ", org,
        terms.kind == EntitlementKind::kNamed ? " named " : " floating ",
        terms.seats));
    log_.Ok();
  }

  // ENT-2: at most `seats` assignments; the worker asks for more often.
  void Assign() {
    if (model_.named.empty()) return CreateEntitlement();
    const int64_t e = model_.named[Below(model_.named.size())];
    Model::Entitlement& ent = model_.entitlements[e];
    std::optional<int64_t> identity =
        Chance(0.9) ? RandomMember(ent.org) : std::optional(RandomPerson());
    if (!identity.has_value()) return;
    log_.Begin("assign", {*identity});
    absl::Status s = dir_.licenses().Assign(Actor::Operator(), EntitlementId(e),
                                            IdentityId(*identity));
    if (!s.ok()) return log_.Fail(s);
    if (static_cast<int64_t>(ent.holders.size()) >= ent.seats) {
      log_.Bug(absl::StrCat("Assign of entitlement ", e, " beyond its ",
                            ent.seats, " seats"));
    }
    ent.holders.insert(*identity);
    log_.Fact(absl::StrCat("assigned ", e, " ", ent.org, " ", *identity));
    log_.Ok();
  }

  void Unassign() {
    if (model_.named.empty()) return;
    const int64_t e = model_.named[Below(model_.named.size())];
    Model::Entitlement& ent = model_.entitlements[e];
    if (ent.holders.empty()) return;
    auto it = ent.holders.begin();
    std::advance(it, static_cast<long>(Below(ent.holders.size())));
    const int64_t identity = *it;
    log_.Begin("unassign", {identity});
    absl::Status s = dir_.licenses().Unassign(
        Actor::Operator(), EntitlementId(e), IdentityId(identity));
    if (!s.ok()) return log_.Fail(s);
    ent.holders.erase(identity);
    log_.Fact(absl::StrCat("unassigned ", e, " ", ent.org, " ", identity));
    log_.Ok();
  }

  void GrantPool() {
    if (model_.floating.empty()) return CreateEntitlement();
    const int64_t e = model_.floating[Below(model_.floating.size())];
    Model::Entitlement& ent = model_.entitlements[e];
    std::optional<int64_t> identity = RandomMember(ent.org);
    if (!identity.has_value()) return;
    log_.Begin("grant-pool", {*identity});
    entitle::PoolMember member;
    member.identity = IdentityId(*identity);
    auto grant = dir_.licenses().GrantPoolAccess(Actor::Operator(),
                                                 EntitlementId(e), member);
    if (!grant.ok()) return log_.Fail(grant.status());
    ent.holders.insert(*identity);
    model_.pool_grants[{e, *identity}] = grant->id.value();
    log_.Fact(absl::StrCat("pool ", e, " ", ent.org, " ", *identity));
    log_.Ok();
  }

  void RevokePool() {
    if (model_.pool_grants.empty()) return;
    auto it = model_.pool_grants.begin();
    std::advance(it, static_cast<long>(Below(model_.pool_grants.size())));
    const auto [e, identity] = it->first;
    const int64_t grant = it->second;
    log_.Begin("revoke-pool", {identity});
    absl::Status s = dir_.licenses().RevokePoolAccess(
        Actor::Operator(), entitle::PoolGrantId(grant));
    if (!s.ok()) return log_.Fail(s);
    model_.pool_grants.erase({e, identity});
    model_.entitlements[e].holders.erase(identity);
    log_.Fact(absl::StrCat("unpooled ", e, " ", model_.entitlements[e].org, " ",
                           identity));
    log_.Ok();
  }

  void DeleteIdentity() {
    const int64_t identity = RandomPerson();
    log_.Begin("delete", {identity});
    absl::Status s =
        dir_.identities().Delete(Actor::Operator(), IdentityId(identity));
    if (!s.ok()) return log_.Fail(s);
    model_.DeletePerson(identity);
    log_.Fact(absl::StrCat("deleted ", identity));
    log_.Ok();
  }

  // ADM-2: a few rows, of known and new addresses, some with a license.
  void Import() {
    const int64_t org = RandomOrg();
    struct Row {
      std::string email;
      MembershipKind kind;
      std::optional<int64_t> identity;
      std::optional<int64_t> license;
    };
    std::vector<Row> rows;
    std::set<std::string> seen;
    std::vector<int64_t> touched;
    const size_t count = 2 + Below(4);
    for (size_t k = 0; k < count; ++k) {
      Row row;
      row.kind =
          Chance(0.5) ? MembershipKind::kEmployee : MembershipKind::kExternal;
      if (Chance(0.75)) {
        row.identity = RandomPerson();
        row.email = model_.people[*row.identity].email;
      } else {
        row.email = NewAddress(org);
      }
      if (!seen.insert(row.email).second) continue;
      const auto& ents = model_.orgs[org].entitlements;
      if (!ents.empty() && Chance(0.4)) row.license = ents[Below(ents.size())];
      if (row.identity.has_value()) touched.push_back(*row.identity);
      rows.push_back(std::move(row));
    }
    std::string csv = "email,kind,licenses\r\n";
    for (const Row& row : rows) {
      absl::StrAppend(&csv, row.email, ",", KindName(row.kind), ",",
                      row.license.has_value()
                          ? model_.entitlements[*row.license].sku
                          : std::string(),
                      "\r\n");
    }
    std::map<std::string, std::optional<int64_t>> previous;
    for (const Row& row : rows) {
      if (row.identity.has_value()) {
        previous[row.email] = model_.EmployerOf(*row.identity);
      }
    }

    log_.Begin("import", touched);
    std::istringstream in(csv);
    std::vector<entitle::UserImportRow> results;
    auto summary = dir_.user_lists().Import(
        Actor::Operator(), OrganizationId(org), in,
        entitle::UserImportOptions{},
        [&](const entitle::UserImportRow& r) { results.push_back(r); });
    if (!summary.ok()) return log_.Fail(summary.status());
    for (size_t k = 0; k < results.size() && k < rows.size(); ++k) {
      const Row& row = rows[k];
      const entitle::UserImportRow& result = results[k];
      if (result.outcome == entitle::UserImportOutcome::kFailed ||
          result.outcome == entitle::UserImportOutcome::kInvited ||
          !row.identity.has_value()) {
        continue;
      }
      const int64_t identity = *row.identity;
      if (row.kind == MembershipKind::kEmployee) {
        const std::optional<int64_t> before = previous[row.email];
        if (result.outcome == entitle::UserImportOutcome::kAdded &&
            before.has_value() && *before != org) {
          log_.Bug(absl::StrCat("import added identity ", identity,
                                " as an employee of ", org,
                                " while employed by ", *before));
        }
        BecameEmployee(org, identity, before);
      } else {
        model_.SetMember(org, identity, MembershipKind::kExternal);
        log_.Fact(absl::StrCat("member ", org, " ", identity, " external"));
      }
      if (row.license.has_value()) {
        Model::Entitlement& ent = model_.entitlements[*row.license];
        ent.holders.insert(identity);
        if (ent.kind == EntitlementKind::kNamed) {
          log_.Fact(
              absl::StrCat("assigned ", *row.license, " ", org, " ", identity));
        } else {
          log_.Fact(
              absl::StrCat("pool ", *row.license, " ", org, " ", identity));
        }
      }
    }
    log_.Ok();
  }

  entitle::Directory& dir_;
  Model& model_;
  Log& log_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  uint64_t names_ = 0;
  uint64_t steps_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <db path> <seed> <log path>\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  char* end = nullptr;
  const unsigned long long seed = std::strtoull(argv[2], &end, 10);
  if (end == argv[2] || *end != '\0') {
    std::fprintf(stderr, "crash_worker: bad seed '%s'\n", argv[2]);
    return 2;
  }
  // Read and write: Start reads the last byte back.
  const int fd = ::open(argv[3], O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("crash_worker: open log");
    return 3;
  }
  Log log(fd);
  log.Start(seed);

  auto store = entitle::SqliteStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_worker: open %s: %s\n", path.c_str(),
                 store.status().ToString().c_str());
    return 1;
  }
  Model model;
  if (absl::Status s = Load(**store, model); !s.ok()) {
    std::fprintf(stderr, "crash_worker: read %s: %s\n", path.c_str(),
                 s.ToString().c_str());
    return 1;
  }

  const entitle::Argon2idHasher hasher(
      entitle::Argon2idParams::MinimumForTests());
  entitle::DirectoryOptions options;
  options.hasher = &hasher;
  entitle::Directory directory(**store, options);
  Worker worker(directory, model, log, seed);
  for (;;) worker.Step();
}
