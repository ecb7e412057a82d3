// A seeded, randomized model test of memberships and administrator roles
// (SPEC ORG-1 to ORG-5, ORG-10, ID-9, ID-13) on every backend.
//
// Random actors (the operator, administrators, co-administrators, plain
// members, outsiders, locked and deleted identities, anonymous) run random
// operations: Create (also as ORG-2's move to another employer), AddEmployee,
// AddExternal, RemoveMember, ChangeMembershipKind, GrantRole/RevokeRole of the
// built-in roles, Identities::Lock/Unlock/Delete. SEC-2 is part of the model:
// only the unlocked administrators count for ORG-4, the last unlocked one
// cannot be locked, and changing an administrator needs the administrators
// permission. A plain reference model
// predicts, from the SPEC and the public headers alone, whether each operation
// must succeed or which reasons it may be refused with; it is updated only
// when the operation reports success. After EVERY step the store (read through
// a read transaction) must equal the model, the invariants must hold, a
// refused operation must have changed nothing, and a successful one must have
// published exactly the predicted EmployeeOrganizationChanged events and, when
// it changed something, appended audit records. A divergence names the seed
// and the step.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/directory.h"
#include "entitle/events.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

// A small deterministic generator (splitmix64): the same sequence on every
// platform and standard library, so a seed reproduces a run anywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(Next() % n);
  }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }

 private:
  uint64_t state_;
};

// Domains of the identities' addresses. Organizations 0 to 4 (in creation
// order) verify d0.com to d4.com; organizations 0 and 1 keep a pending claim
// on p.com; nobody claims x.com.
const std::vector<std::string> kDomains = {
    "d0.com", "d1.com", "d2.com", "d3.com", "d4.com", "p.com", "x.com"};
constexpr size_t kVerifyingOrganizations = 5;
constexpr size_t kMaxIdentities = 36;
constexpr size_t kMaxOrganizations = 30;

struct MIdentity {
  IdentityId id;
  std::string email;
  std::string domain;
  bool exists = true;
  bool locked = false;
  bool operator==(const MIdentity&) const = default;
};

struct MOrg {
  OrganizationId id;
  RoleId admin;
  RoleId co;
  bool operator==(const MOrg&) const = default;
};

using MKey = std::pair<OrganizationId, IdentityId>;
using GKey = std::tuple<OrganizationId, IdentityId, RoleId>;

struct Model {
  std::vector<MIdentity> identities;
  std::vector<MOrg> orgs;
  std::map<MKey, MembershipKind> members;
  std::set<GKey> grants;
  std::map<std::string, OrganizationId> verified;
  std::map<std::string, std::set<OrganizationId>> pending;

  bool operator==(const Model&) const = default;

  MIdentity* Identity(IdentityId id) {
    for (MIdentity& i : identities) {
      if (i.id == id) return &i;
    }
    return nullptr;
  }
  bool Exists(IdentityId id) {
    const MIdentity* i = Identity(id);
    return i != nullptr && i->exists;
  }
  const MOrg& Org(OrganizationId id) const {
    for (const MOrg& o : orgs) {
      if (o.id == id) return o;
    }
    FAIL("unknown organization in the model");
    return orgs.front();
  }
  std::optional<OrganizationId> Employer(IdentityId id) const {
    for (const auto& [key, kind] : members) {
      if (key.second == id && kind == MembershipKind::kEmployee)
        return key.first;
    }
    return std::nullopt;
  }
  bool IsMember(OrganizationId o, IdentityId id) const {
    return members.count({o, id}) != 0;
  }
  static uint32_t RolePermissions(const MOrg& o, RoleId role) {
    if (role == o.admin) return kAllPermissions;
    if (role == o.co) return kAllPermissions & ~uint32_t{kManageAdministrators};
    return 0;
  }
  // What `actor` may do in `o`: the operator everything; an identity what the
  // roles it holds there grant, when it exists, is not locked and is a member.
  uint32_t Permissions(const Actor& actor, OrganizationId o) {
    if (actor.is_operator()) return kAllPermissions;
    if (!actor.is_identity()) return 0;
    const MIdentity* i = Identity(actor.identity());
    if (i == nullptr || !i->exists || i->locked) return 0;
    if (!IsMember(o, i->id)) return 0;
    const MOrg& org = Org(o);
    uint32_t p = 0;
    for (const GKey& g : grants) {
      if (std::get<0>(g) == o && std::get<1>(g) == i->id) {
        p |= RolePermissions(org, std::get<2>(g));
      }
    }
    return p;
  }
  bool May(const Actor& actor, OrganizationId o, uint32_t permission) {
    return (Permissions(actor, o) & permission) == permission;
  }
  std::set<IdentityId> Administrators(OrganizationId o) const {
    std::set<IdentityId> admins;
    const MOrg& org = Org(o);
    for (const GKey& g : grants) {
      if (std::get<0>(g) == o && std::get<2>(g) == org.admin) {
        admins.insert(std::get<1>(g));
      }
    }
    return admins;
  }
  // SEC-2: locked administrators do not count as remaining ones (ORG-4).
  std::set<IdentityId> UnlockedAdministrators(OrganizationId o) const {
    std::set<IdentityId> unlocked;
    for (const IdentityId id : Administrators(o)) {
      for (const MIdentity& i : identities) {
        if (i.id == id && !i.locked) unlocked.insert(id);
      }
    }
    return unlocked;
  }
  // No other unlocked administrator would remain (organizations.h).
  bool IsLastAdministrator(OrganizationId o, IdentityId id) const {
    if (Administrators(o).count(id) == 0) return false;
    std::set<IdentityId> others = UnlockedAdministrators(o);
    others.erase(id);
    return others.empty();
  }
  // SEC-2: whether `actor` may change `id` as far as its administrator rights
  // go: the operator and `id` itself may; anyone else needs
  // kManageAdministrators in each organization `id` administers.
  bool MayChangeAdministrator(const Actor& actor, IdentityId id) {
    if (actor.is_operator()) return true;
    if (actor.is_identity() && actor.identity() == id) return true;
    for (const MOrg& org : orgs) {
      if (Administrators(org.id).count(id) != 0 &&
          !May(actor, org.id, kManageAdministrators)) {
        return false;
      }
    }
    return true;
  }
  bool MayChangeAdministratorIn(const Actor& actor, OrganizationId o,
                                IdentityId id) {
    if (actor.is_operator()) return true;
    if (actor.is_identity() && actor.identity() == id) return true;
    return Administrators(o).count(id) == 0 ||
           May(actor, o, kManageAdministrators);
  }
  bool IsLastAdministratorAnywhere(IdentityId id) const {
    for (const auto& [key, kind] : members) {
      if (key.second == id && IsLastAdministrator(key.first, id)) return true;
    }
    return false;
  }
  void EndMembership(OrganizationId o, IdentityId id) {
    members.erase({o, id});
    RevokeAll(o, id);
  }
  void RevokeAll(OrganizationId o, IdentityId id) {
    for (auto it = grants.begin(); it != grants.end();) {
      if (std::get<0>(*it) == o && std::get<1>(*it) == id) {
        it = grants.erase(it);
      } else {
        ++it;
      }
    }
  }
  // ORG-10: the first refusal of a direct employee add, in the header's order.
  Reason DirectEmployeeRefusal(OrganizationId o, const MIdentity& i) const {
    const std::optional<OrganizationId> employer = Employer(i.id);
    if (employer.has_value() && *employer != o)
      return Reason::kEmployeeElsewhere;
    auto owner = verified.find(i.domain);
    if (owner != verified.end()) {
      return owner->second == o ? Reason::kNone : Reason::kDomainOwnedElsewhere;
    }
    auto claims = pending.find(i.domain);
    if (claims != pending.end() && !claims->second.empty()) {
      return Reason::kDomainPending;
    }
    return Reason::kDomainNotOwned;
  }
};

// The outcome the model allows: success when `reasons` is empty, otherwise a
// refusal with one of `reasons`.
struct Prediction {
  std::vector<Reason> reasons;
  std::vector<EmployeeOrganizationChanged> events;  // On success; `at` unset.
};

std::string ReasonList(const std::vector<Reason>& reasons) {
  std::string out;
  for (Reason r : reasons) out += std::string(ReasonName(r)) + " ";
  return out.empty() ? "ok" : out;
}

std::string ActorName(const Actor& a) {
  std::ostringstream os;
  os << a;
  return os.str();
}

// Everything a refused operation must leave alone, read in one transaction.
// The append-only tables (audit, outbox) are compared by count, which keeps a
// long run from reading them whole at every step.
struct Light {
  std::vector<IdentityRecord> identities;
  std::vector<OrganizationRecord> organizations;
  std::vector<MembershipRecord> memberships;
  std::vector<RoleRecord> roles;
  std::vector<RoleGrantRecord> role_grants;
  std::vector<GroupRecord> groups;
  std::vector<GroupMemberRecord> group_members;
  std::vector<DomainRecord> domains;
  std::vector<InvitationRecord> invitations;
  std::vector<JoinRequestRecord> join_requests;
  std::vector<LicenseAssignmentRecord> license_assignments;
  std::vector<PoolGrantRecord> pool_grants;
  std::vector<ProjectMemberRecord> project_members;
  std::vector<LinkTokenRecord> link_tokens;
  std::vector<DeviceCheckRecord> device_checks;
  int64_t audit = 0;
  int64_t outbox = 0;
  size_t events = 0;
  size_t sent = 0;
  bool operator==(const Light&) const = default;
};

template <typename F>
Light TakeLight(F& f) {
  auto txn = BeginRead(f.store());
  auto& t = *txn;
  Light l{ListAll(t.identities()),
          ListAll(t.organizations()),
          ListAll(t.memberships()),
          ListAll(t.roles()),
          ListAll(t.role_grants()),
          ListAll(t.groups()),
          ListAll(t.group_members()),
          ListAll(t.domains()),
          ListAll(t.invitations()),
          ListAll(t.join_requests()),
          ListAll(t.license_assignments()),
          ListAll(t.pool_grants()),
          ListAll(t.project_members()),
          ListAll(t.link_tokens()),
          ListAll(t.device_checks()),
          MustCount(t.audit()),
          MustCount(t.outbox()),
          f.events().Events().size(),
          f.notifier().Sent().size()};
  MustCommit(t);
  return l;
}

template <typename K, typename V>
std::string MapDiff(const std::map<K, V>& want, const std::map<K, V>& got) {
  std::ostringstream os;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      os << " missing " << k.first << "/" << k.second;
    } else if (!(it->second == v)) {
      os << " differs " << k.first << "/" << k.second;
    }
  }
  for (const auto& [k, v] : got) {
    if (want.find(k) == want.end())
      os << " unexpected " << k.first << "/" << k.second;
  }
  return os.str();
}

std::string GrantDiff(const std::set<GKey>& want, const std::set<GKey>& got) {
  std::ostringstream os;
  for (const GKey& g : want) {
    if (!got.count(g)) {
      os << " missing " << std::get<0>(g) << "/" << std::get<1>(g) << "/"
         << std::get<2>(g);
    }
  }
  for (const GKey& g : got) {
    if (!want.count(g)) {
      os << " unexpected " << std::get<0>(g) << "/" << std::get<1>(g) << "/"
         << std::get<2>(g);
    }
  }
  return os.str();
}

// The store equals the model, and the invariants hold in the store.
void CheckStore(Store& store, Model& m) {
  auto txn = BeginRead(store);
  const auto identities = ListAll(txn->identities());
  const auto organizations = ListAll(txn->organizations());
  const auto memberships = ListAll(txn->memberships());
  const auto roles = ListAll(txn->roles());
  const auto grants = ListAll(txn->role_grants());
  const auto domains = ListAll(txn->domains());
  MustCommit(*txn);

  std::map<IdentityId, bool> got_ids, want_ids;
  for (const IdentityRecord& r : identities) got_ids[r.id] = r.locked;
  for (const MIdentity& i : m.identities) {
    if (i.exists) want_ids[i.id] = i.locked;
  }
  REQUIRE(got_ids == want_ids);

  std::set<OrganizationId> got_orgs, want_orgs;
  for (const OrganizationRecord& r : organizations) got_orgs.insert(r.id);
  for (const MOrg& o : m.orgs) want_orgs.insert(o.id);
  REQUIRE(got_orgs == want_orgs);

  std::map<MKey, MembershipKind> got_members;
  for (const MembershipRecord& r : memberships) {
    got_members[{r.organization_id, r.identity_id}] = r.kind;
    // Every membership the model test makes is active.
    REQUIRE(r.status == MembershipStatus::kActive);
  }
  {
    const std::string diff = MapDiff(m.members, got_members);
    INFO("memberships (model vs store):" << diff);
    REQUIRE(diff.empty());
  }

  std::set<GKey> got_grants;
  for (const RoleGrantRecord& r : grants) {
    got_grants.insert({r.organization_id, r.identity_id, r.role_id});
  }
  {
    const std::string diff = GrantDiff(m.grants, got_grants);
    INFO("role grants (model vs store):" << diff);
    REQUIRE(diff.empty());
  }

  std::map<std::string, OrganizationId> got_verified;
  std::map<std::string, std::set<OrganizationId>> got_pending;
  for (const DomainRecord& d : domains) {
    if (d.status == DomainStatus::kVerified) {
      REQUIRE(got_verified.count(d.name) == 0);  // ORG-9: one owner.
      got_verified[d.name] = d.organization_id;
    } else {
      got_pending[d.name].insert(d.organization_id);
    }
  }
  REQUIRE(got_verified == m.verified);
  REQUIRE(got_pending == m.pending);

  // Invariants, on the store alone.
  std::set<IdentityId> existing;
  for (const IdentityRecord& r : identities) existing.insert(r.id);
  std::map<IdentityId, int> employee_orgs;
  std::map<MKey, MembershipKind> kinds;
  for (const MembershipRecord& r : memberships) {
    INFO("membership of " << r.identity_id << " in " << r.organization_id);
    REQUIRE(existing.count(r.identity_id) == 1);  // ID-13
    REQUIRE(got_orgs.count(r.organization_id) == 1);
    kinds[{r.organization_id, r.identity_id}] = r.kind;
    if (r.kind == MembershipKind::kEmployee) ++employee_orgs[r.identity_id];
  }
  for (const auto& [id, n] : employee_orgs) {
    INFO("employee organizations of " << id);
    REQUIRE(n <= 1);  // ORG-2
  }
  std::map<RoleId, RoleRecord> role_of;
  for (const RoleRecord& r : roles) role_of[r.id] = r;
  std::set<OrganizationId> administered;
  for (const RoleGrantRecord& g : grants) {
    INFO("grant of " << g.role_id << " to " << g.identity_id << " in "
                     << g.organization_id);
    REQUIRE(existing.count(g.identity_id) == 1);  // ID-13
    auto kind = kinds.find({g.organization_id, g.identity_id});
    REQUIRE(kind != kinds.end());
    REQUIRE(kind->second == MembershipKind::kEmployee);  // ORG-4
    auto role = role_of.find(g.role_id);
    REQUIRE(role != role_of.end());
    REQUIRE(role->second.organization_id == g.organization_id);
    if (role->second.permissions & kManageAdministrators) {
      administered.insert(g.organization_id);
    }
  }
  for (OrganizationId o : got_orgs) {
    INFO("administrators of " << o);
    REQUIRE(administered.count(o) == 1);  // ORG-4
  }
}

enum class Op {
  kCreate,
  kAddEmployee,
  kAddExternal,
  kRemove,
  kChangeKind,
  kGrant,
  kRevoke,
  kLock,
  kUnlock,
  kDelete,
  kNewIdentity,
};

struct Weighted {
  Op op;
  int weight;
};
const std::vector<Weighted> kOps = {
    {Op::kCreate, 5},  {Op::kAddEmployee, 16}, {Op::kAddExternal, 12},
    {Op::kRemove, 10}, {Op::kChangeKind, 10},  {Op::kGrant, 14},
    {Op::kRevoke, 10}, {Op::kLock, 5},         {Op::kUnlock, 5},
    {Op::kDelete, 3},  {Op::kNewIdentity, 4},
};

template <typename Backend>
class ModelRun {
 public:
  explicit ModelRun(uint64_t seed) : seed_(seed), rng_(seed) {}

  void Run(int steps) {
    for (int i = 0; i < 12; ++i) NewIdentity();
    // The first organization, so the operations have somewhere to act.
    step_ = -1;
    Step(Op::kCreate, /*force_operator=*/true);
    for (step_ = 0; step_ < steps; ++step_) Step(PickOp(), false);
  }

 private:
  Op PickOp() {
    int total = 0;
    for (const Weighted& w : kOps) total += w.weight;
    int r = static_cast<int>(rng_.Below(static_cast<size_t>(total)));
    for (const Weighted& w : kOps) {
      if (r < w.weight) return w.op;
      r -= w.weight;
    }
    return Op::kAddExternal;
  }

  // An identity from the model: mostly existing ones, sometimes deleted.
  const MIdentity* AnyIdentity() {
    std::vector<const MIdentity*> alive, all;
    for (const MIdentity& i : m_.identities) {
      all.push_back(&i);
      if (i.exists) alive.push_back(&i);
    }
    if (alive.empty() || rng_.Chance(7)) return all[rng_.Below(all.size())];
    return alive[rng_.Below(alive.size())];
  }

  // An actor and the organization it acts in. Grant holders (administrators
  // and co-administrators, some of them locked) mostly act where they hold
  // the role, so that many operations are authorized.
  std::pair<Actor, OrganizationId> PickActorAndOrg() {
    const size_t r = rng_.Below(100);
    const OrganizationId any_org = m_.orgs[rng_.Below(m_.orgs.size())].id;
    if (r < 10) return {Actor::Operator(), BusyOrg()};
    if (r < 13) return {Actor::Anonymous(), any_org};
    if (r < 68 && !m_.grants.empty()) {
      // Mostly unlocked holders; locked ones now and then (ID-9).
      const bool want_locked = rng_.Chance(15);
      std::vector<GKey> holders;
      for (const GKey& g : m_.grants) {
        if (m_.Identity(std::get<1>(g))->locked == want_locked)
          holders.push_back(g);
      }
      if (holders.empty()) holders.assign(m_.grants.begin(), m_.grants.end());
      const GKey& g = holders[rng_.Below(holders.size())];
      const OrganizationId o = rng_.Chance(90) ? std::get<0>(g) : any_org;
      return {Actor::Identity(std::get<1>(g)), o};
    }
    const Actor actor = Actor::Identity(AnyIdentity()->id);
    if (rng_.Chance(60)) {
      std::vector<OrganizationId> mine;
      for (const auto& [key, kind] : m_.members) {
        if (key.second == actor.identity()) mine.push_back(key.first);
      }
      if (!mine.empty()) return {actor, mine[rng_.Below(mine.size())]};
    }
    return {actor, any_org};
  }

  // An organization, weighted by its number of members.
  OrganizationId BusyOrg() {
    if (m_.members.empty()) return m_.orgs.front().id;
    auto it = m_.members.begin();
    std::advance(it, static_cast<long>(rng_.Below(m_.members.size())));
    return it->first.first;
  }

  // A target for `op` in `o`: mostly one the operation can apply to.
  const MIdentity* PickTarget(Op op, OrganizationId o) {
    std::vector<const MIdentity*> fitting;
    for (const MIdentity& i : m_.identities) {
      if (!i.exists) continue;
      const bool member = m_.IsMember(o, i.id);
      switch (op) {
        case Op::kAddEmployee:
          if (!member && m_.DirectEmployeeRefusal(o, i) == Reason::kNone) {
            fitting.push_back(&i);
          }
          break;
        case Op::kAddExternal:
          if (!member) fitting.push_back(&i);
          break;
        case Op::kGrant:
          if (member && m_.members.at({o, i.id}) == MembershipKind::kEmployee) {
            fitting.push_back(&i);
          }
          break;
        case Op::kRevoke:
          for (const GKey& g : m_.grants) {
            if (std::get<0>(g) == o && std::get<1>(g) == i.id) {
              fitting.push_back(&i);
              break;
            }
          }
          break;
        case Op::kChangeKind:
          // One whose kind can change: an external member the organization
          // could employ, or an employee who is not the last administrator.
          if (member && (m_.members.at({o, i.id}) == MembershipKind::kExternal
                             ? m_.DirectEmployeeRefusal(o, i) == Reason::kNone
                             : !m_.IsLastAdministrator(o, i.id))) {
            fitting.push_back(&i);
          }
          break;
        default:
          if (member) fitting.push_back(&i);
      }
    }
    if (!fitting.empty() && rng_.Chance(75)) {
      return fitting[rng_.Below(fitting.size())];
    }
    return AnyIdentity();
  }

  // The first administrator of a new organization: often an employee
  // elsewhere, so that Create is ORG-2's move.
  const MIdentity* PickFirstAdministrator() {
    std::vector<const MIdentity*> employed;
    for (const MIdentity& i : m_.identities) {
      if (i.exists && m_.Employer(i.id).has_value()) employed.push_back(&i);
    }
    if (!employed.empty() && rng_.Chance(60)) {
      return employed[rng_.Below(employed.size())];
    }
    return AnyIdentity();
  }

  // How the address is typed: as stored, upper-cased, or padded (ID-1).
  std::string Typed(const std::string& email) {
    switch (rng_.Below(4)) {
      case 0:
        return absl::AsciiStrToUpper(email);
      case 1:
        return absl::StrCat("  ", email, " ");
      default:
        return email;
    }
  }

  void NewIdentity() {
    if (m_.identities.size() >= kMaxIdentities) return;
    const size_t n = m_.identities.size();
    const std::string domain = kDomains[rng_.Below(kDomains.size())];
    const std::string email = absl::StrCat("u", n, "@", domain);
    const IdentityId id = f_.InsertIdentity(email, rng_.Chance(50));
    m_.identities.push_back(MIdentity{id, email, domain, true, false});
  }

  // Sets up the domains of the k-th organization (see kDomains).
  void SetUpDomains(const MOrg& org) {
    const size_t k = m_.orgs.size() - 1;
    const Actor op = Actor::Operator();
    if (k < kVerifyingOrganizations) {
      const std::string d = kDomains[k];
      f_.OwnDomain(org.id, d);
      m_.verified[d] = org.id;
    }
    if (k < 2) {
      ENTITLE_REQUIRE_OK(f_.orgs().ClaimDomain(op, org.id, "p.com"));
      m_.pending["p.com"].insert(org.id);
    }
  }

  void Step(Op op, bool force_operator) {
    f_.clock().Advance(absl::Seconds(1));
    if (op == Op::kNewIdentity) {
      NewIdentity();
      return;
    }
    if (op == Op::kCreate && m_.orgs.size() >= kMaxOrganizations)
      op = Op::kGrant;
    const auto [picked_actor, picked_org] =
        force_operator ? std::pair<Actor, OrganizationId>(Actor::Operator(),
                                                          OrganizationId())
                       : PickActorAndOrg();
    Actor actor = picked_actor;
    Prediction p;
    std::string what;
    std::function<absl::Status()> run;
    // Applied to the model when the operation succeeds.
    std::function<void()> apply;

    if (op == Op::kCreate) {
      // Mostly the operator: ORG-2's move when the identity is employed.
      const Actor creator =
          force_operator || rng_.Chance(85) ? Actor::Operator() : actor;
      const MIdentity* admin = PickFirstAdministrator();
      const std::string name = absl::StrCat("Org", m_.orgs.size());
      what = absl::StrCat("Create(", ActorName(creator), ", ", name, ", ",
                          admin->email, admin->exists ? "" : " [deleted]", ")");
      const std::optional<OrganizationId> previous = m_.Employer(admin->id);
      if (!creator.is_operator()) {
        p.reasons = {Reason::kPermissionDenied};
      } else if (!admin->exists) {
        p.reasons = {Reason::kNotFound};
      } else if (previous.has_value() &&
                 m_.IsLastAdministrator(*previous, admin->id)) {
        p.reasons = {Reason::kLastAdministrator};
      }
      const IdentityId admin_id = admin->id;
      auto created = std::make_shared<OrganizationId>();
      run = [this, creator, name, admin_id, created]() {
        auto id = f_.orgs().Create(creator, name, admin_id);
        if (id.ok()) *created = *id;
        return id.status();
      };
      p.events = {
          EmployeeOrganizationChanged{admin_id, previous, std::nullopt, {}}};
      apply = [this, admin_id, previous, created]() {
        if (previous.has_value()) m_.EndMembership(*previous, admin_id);
        MOrg org{*created, f_.AdminRole(*created), f_.CoAdminRole(*created)};
        m_.orgs.push_back(org);
        m_.members[{org.id, admin_id}] = MembershipKind::kEmployee;
        m_.grants.insert({org.id, admin_id, org.admin});
      };
      // The event's `current` is the new organization, known only after.
      Execute(creator, what, p, run, apply, created.get());
      if (p.reasons.empty()) SetUpDomains(m_.orgs.back());
      return;
    }

    if (op == Op::kLock || op == Op::kUnlock || op == Op::kDelete) {
      const bool lock = op == Op::kLock;
      const MIdentity* target = AnyIdentity();
      if (op != Op::kDelete && rng_.Chance(60)) {
        // Mostly one whose state the call changes.
        std::vector<const MIdentity*> fitting;
        for (const MIdentity& i : m_.identities) {
          if (i.exists && i.locked != lock) fitting.push_back(&i);
        }
        if (!fitting.empty()) target = fitting[rng_.Below(fitting.size())];
      }
      const IdentityId tid = target->id;
      // Often someone holding a role in the target's employer acts.
      if (const auto employer = m_.Employer(tid);
          employer.has_value() && !force_operator && rng_.Chance(40)) {
        std::vector<IdentityId> holders;
        for (const GKey& g : m_.grants) {
          if (std::get<0>(g) == *employer) holders.push_back(std::get<1>(g));
        }
        actor = Actor::Identity(holders[rng_.Below(holders.size())]);
      }
      what = absl::StrCat(op == Op::kDelete ? "Delete"
                          : lock            ? "Lock"
                                            : "Unlock",
                          "(", ActorName(actor), ", ", target->email,
                          target->exists ? "" : " [deleted]", ")");
      const bool self = actor.is_identity() && actor.identity() == tid;
      bool authorized = false;
      if (actor.is_operator()) {
        authorized = true;
      } else if (self) {
        // Only Delete may be done to oneself, and not while locked.
        authorized = op == Op::kDelete && target->exists && !target->locked;
      } else if (actor.is_identity()) {
        const std::optional<OrganizationId> employer = m_.Employer(tid);
        authorized =
            employer.has_value() && m_.May(actor, *employer, kManageUsers);
      }
      // SEC-2: changing an administrator needs kManageAdministrators there.
      authorized = authorized && m_.MayChangeAdministrator(actor, tid);
      if (!target->exists) {
        p.reasons = {Reason::kNotFound, Reason::kPermissionDenied};
      } else if (!authorized) {
        p.reasons = {Reason::kPermissionDenied};
      } else if (op == Op::kDelete && m_.IsLastAdministratorAnywhere(tid)) {
        p.reasons = {Reason::kLastAdministrator};
      } else if (lock && !target->locked &&
                 m_.IsLastAdministratorAnywhere(tid)) {
        // SEC-2: the last unlocked administrator cannot be locked.
        p.reasons = {Reason::kLastAdministrator};
      }
      if (op == Op::kDelete) {
        if (auto employer = m_.Employer(tid)) {
          p.events = {
              EmployeeOrganizationChanged{tid, *employer, std::nullopt, {}}};
        }
        run = [this, actor, tid]() { return f_.ids().Delete(actor, tid); };
        apply = [this, tid]() {
          std::vector<OrganizationId> orgs;
          for (const auto& [key, kind] : m_.members) {
            if (key.second == tid) orgs.push_back(key.first);
          }
          for (OrganizationId o : orgs) m_.EndMembership(o, tid);
          m_.Identity(tid)->exists = false;
        };
      } else {
        run = [this, actor, tid, lock]() {
          return lock ? f_.ids().Lock(actor, tid) : f_.ids().Unlock(actor, tid);
        };
        apply = [this, tid, lock]() { m_.Identity(tid)->locked = lock; };
      }
      Execute(actor, what, p, run, apply, nullptr);
      return;
    }

    const OrganizationId org = picked_org;
    const MOrg& o = m_.Org(org);
    const MIdentity* target = PickTarget(op, org);
    const IdentityId tid = target->id;
    const bool member = m_.IsMember(org, tid);
    const auto kind_it = m_.members.find({org, tid});
    const std::string where =
        absl::StrCat(ActorName(actor), ", org#", org.value(), ", ",
                     target->email, target->exists ? "" : " [deleted]");
    switch (op) {
      case Op::kAddEmployee:
      case Op::kAddExternal: {
        const bool employee = op == Op::kAddEmployee;
        const bool ghost = rng_.Chance(4);
        const std::string email = ghost
                                      ? absl::StrCat("ghost", step_, "@d0.com")
                                      : Typed(target->email);
        what = absl::StrCat(employee ? "AddEmployee(" : "AddExternal(", where,
                            " as '", email, "')");
        if (!m_.May(actor, org, kManageUsers)) {
          p.reasons = {Reason::kPermissionDenied};
        } else if (ghost || !target->exists) {
          p.reasons = {Reason::kUnknownUser};
        } else {
          if (member) p.reasons.push_back(Reason::kAlreadyMember);
          if (employee) {
            const Reason r = m_.DirectEmployeeRefusal(org, *target);
            if (r != Reason::kNone) p.reasons.push_back(r);
          }
        }
        if (employee) {
          p.events = {EmployeeOrganizationChanged{tid, std::nullopt, org, {}}};
        }
        run = [this, actor, org, email, employee]() {
          return employee ? f_.orgs().AddEmployee(actor, org, email)
                          : f_.orgs().AddExternal(actor, org, email);
        };
        apply = [this, org, tid, employee]() {
          m_.members[{org, tid}] =
              employee ? MembershipKind::kEmployee : MembershipKind::kExternal;
        };
        break;
      }
      case Op::kRemove: {
        what = absl::StrCat("RemoveMember(", where, ")");
        if (!m_.May(actor, org, kManageUsers) ||
            !m_.MayChangeAdministratorIn(actor, org, tid)) {
          p.reasons = {Reason::kPermissionDenied};
        } else if (!member) {
          p.reasons = {Reason::kNotMember};
        } else if (m_.IsLastAdministrator(org, tid)) {
          p.reasons = {Reason::kLastAdministrator};
        }
        if (member && kind_it->second == MembershipKind::kEmployee) {
          p.events = {EmployeeOrganizationChanged{tid, org, std::nullopt, {}}};
        }
        run = [this, actor, org, tid]() {
          return f_.orgs().RemoveMember(actor, org, tid);
        };
        apply = [this, org, tid]() { m_.EndMembership(org, tid); };
        break;
      }
      case Op::kChangeKind: {
        // Mostly the other kind than the current one.
        const bool flip = rng_.Chance(85);
        const bool now_employee =
            member && kind_it->second == MembershipKind::kEmployee;
        const MembershipKind kind = (now_employee != flip)
                                        ? MembershipKind::kEmployee
                                        : MembershipKind::kExternal;
        const bool to_employee = kind == MembershipKind::kEmployee;
        what = absl::StrCat("ChangeMembershipKind(", where, ", ",
                            to_employee ? "employee" : "external", ")");
        if (!m_.May(actor, org, kManageUsers)) {
          p.reasons = {Reason::kPermissionDenied};
        } else if (!member) {
          p.reasons = {Reason::kNotMember};
        } else if (!m_.MayChangeAdministratorIn(actor, org, tid)) {
          p.reasons = {Reason::kPermissionDenied};  // SEC-2
        } else if (kind_it->second == kind) {
          p.reasons = {Reason::kAlreadyMember};
        } else if (to_employee) {
          const Reason r = m_.DirectEmployeeRefusal(org, *target);
          if (r != Reason::kNone) p.reasons = {r};
        } else if (m_.IsLastAdministrator(org, tid)) {
          p.reasons = {Reason::kLastAdministrator};
        }
        p.events = {
            to_employee
                ? EmployeeOrganizationChanged{tid, std::nullopt, org, {}}
                : EmployeeOrganizationChanged{tid, org, std::nullopt, {}}};
        run = [this, actor, org, tid, kind]() {
          return f_.orgs().ChangeMembershipKind(actor, org, tid, kind);
        };
        apply = [this, org, tid, kind]() {
          m_.members[{org, tid}] = kind;
          if (kind == MembershipKind::kExternal) m_.RevokeAll(org, tid);
        };
        break;
      }
      case Op::kGrant:
      case Op::kRevoke: {
        const bool grant = op == Op::kGrant;
        const bool admin_role = rng_.Chance(55);
        const RoleId role = admin_role ? o.admin : o.co;
        what = absl::StrCat(grant ? "GrantRole(" : "RevokeRole(", where, ", ",
                            admin_role ? "Administrator" : "Co-Administrator",
                            ")");
        const bool holds = m_.grants.count({org, tid, role}) != 0;
        if (!m_.May(actor, org, kManageAdministrators)) {
          p.reasons = {Reason::kPermissionDenied};
        } else if (grant) {
          if (!member) {
            p.reasons = {Reason::kNotMember};
          } else if (kind_it->second != MembershipKind::kEmployee) {
            p.reasons = {Reason::kNotEmployee};
          } else if (holds) {
            p.reasons = {Reason::kDuplicate, Reason::kAlreadyMember};
          }
        } else {
          if (!holds) {
            p.reasons = {Reason::kNotFound, Reason::kNotMember};
          } else if (admin_role && m_.IsLastAdministrator(org, tid)) {
            p.reasons = {Reason::kLastAdministrator};
          }
        }
        run = [this, actor, org, tid, role, grant]() {
          return grant ? f_.orgs().GrantRole(actor, org, tid, role)
                       : f_.orgs().RevokeRole(actor, org, tid, role);
        };
        apply = [this, org, tid, role, grant]() {
          if (grant) {
            m_.grants.insert({org, tid, role});
          } else {
            m_.grants.erase({org, tid, role});
          }
        };
        break;
      }
      default:
        FAIL("unhandled operation");
    }
    Execute(actor, what, p, run, apply, nullptr);
  }

  void Execute(const Actor& actor, const std::string& what, const Prediction& p,
               const std::function<absl::Status()>& run,
               const std::function<void()>& apply,
               const OrganizationId* created) {
    INFO("actor: " << actor);
    INFO("seed " << seed_ << " step " << step_ << ": " << what);
    INFO("model predicts: " << ReasonList(p.reasons));
    const Light before = TakeLight(f_);
    const Model model_before = m_;
    const absl::Status status = run();
    INFO("status: " << status.ToString());
    const std::string op_name = what.substr(0, what.find('('));
    if (status.ok()) {
      ++outcomes_[op_name].first;
      for (const EmployeeOrganizationChanged& e : p.events) {
        if (created != nullptr && e.previous.has_value()) ++moves_;
      }
    } else {
      ++outcomes_[op_name].second;
    }
    if (p.reasons.empty()) {
      REQUIRE(status.ok());
    } else {
      REQUIRE_FALSE(status.ok());
      const Reason got = GetReason(status);
      bool expected = false;
      for (Reason r : p.reasons) expected |= r == got;
      INFO("reason: " << ReasonName(got));
      REQUIRE(expected);
      // A refused operation changed nothing.
      const Light after = TakeLight(f_);
      REQUIRE(after == before);
      CheckStore(f_.store(), m_);
      return;
    }
    apply();
    // The events: exactly those predicted, stamped now.
    std::vector<Event> all = f_.events().Events();
    std::vector<Event> fresh(all.begin() + static_cast<long>(before.events),
                             all.end());
    std::vector<EmployeeOrganizationChanged> want = p.events;
    for (EmployeeOrganizationChanged& e : want) {
      e.at = f_.clock().Now();
      if (created != nullptr) e.current = *created;
    }
    std::vector<EmployeeOrganizationChanged> got = EmployeeChanges(fresh);
    REQUIRE(got.size() == fresh.size());
    REQUIRE(got == want);
    // A change leaves an audit record.
    const Light after = TakeLight(f_);
    if (!(m_ == model_before)) REQUIRE(after.audit > before.audit);
    CheckStore(f_.store(), m_);
  }

  // Per operation name: how many succeeded and how many were refused.
  std::map<std::string, std::pair<int, int>> outcomes_;
  int moves_ = 0;  // Successful ORG-2 moves through Create.

 public:
  const std::map<std::string, std::pair<int, int>>& outcomes() const {
    return outcomes_;
  }
  int moves() const { return moves_; }

 private:
  uint64_t seed_;
  Rng rng_;
  int step_ = 0;
  DirectoryFixture<Backend> f_;
  Model m_;
};

// clang-format off
TEMPLATE_TEST_CASE("ORG-2 model: random operations by random actors keep the "
                   "store equal to a reference model and every invariant "
                   "(ORG-2 to ORG-5, ORG-10, ID-9, ID-13)",
    "[organizations][model]", ENTITLE_BACKENDS) {
  // clang-format on
  const int steps = std::is_same_v<TestType, MemoryBackend> ? 1500 : 900;
  for (uint64_t seed : {20260101ull, 7ull, 424242ull}) {
    ModelRun<TestType> run(seed);
    run.Run(steps);
    // The run exercised both outcomes of every operation, and ORG-2's move.
    INFO("seed " << seed);
    const std::vector<std::string> names = {"Create",
                                            "AddEmployee",
                                            "AddExternal",
                                            "RemoveMember",
                                            "ChangeMembershipKind",
                                            "GrantRole",
                                            "RevokeRole",
                                            "Lock",
                                            "Unlock",
                                            "Delete"};
    for (const std::string& name : names) {
      INFO("operation " << name);
      auto it = run.outcomes().find(name);
      REQUIRE(it != run.outcomes().end());
      CHECK(it->second.first >= 1);
      CHECK(it->second.second >= 1);
    }
    CHECK(run.moves() >= 1);
  }
}

}  // namespace
}  // namespace entitle_test
