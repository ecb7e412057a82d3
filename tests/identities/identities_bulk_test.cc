// Bulk lock, unlock and delete (Identities::LockMany, UnlockMany, DeleteMany:
// SPEC ADM-3, ID-9, ID-13, with SEC-2 inside a batch) on every backend.
//
// Each identity of a batch gets its own result; one refusal never stops or
// undoes the others; a batch that is wrong as a whole changes nothing.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "entitle/actor.h"
#include "entitle/identities.h"
#include "entitle/organizations.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;
using absl::StatusCode;

struct World {
  OrganizationId acme, beta;
  IdentityId ann;            // Administrator of Acme.
  IdentityId bea;            // Administrator of Acme.
  IdentityId cole;           // Co-Administrator of Acme.
  IdentityId dan, eve, fay;  // Employees of Acme.
  IdentityId bo;             // Administrator of Beta.
  IdentityId ben;            // Employee of Beta.
};

template <typename F>
World Build(F& f) {
  World w;
  const OrgWithAdmin acme = f.FoundOrg("Acme", "ann@acme.com", "acme.com");
  const OrgWithAdmin beta = f.FoundOrg("Beta", "bo@beta.com", "beta.com");
  w.acme = acme.org;
  w.ann = acme.admin;
  w.beta = beta.org;
  w.bo = beta.admin;
  w.bea = f.Employee(w.acme, w.ann, "bea@acme.com");
  w.cole = f.Employee(w.acme, w.ann, "cole@acme.com");
  w.dan = f.Employee(w.acme, w.ann, "dan@acme.com");
  w.eve = f.Employee(w.acme, w.ann, "eve@acme.com");
  w.fay = f.Employee(w.acme, w.ann, "fay@acme.com");
  w.ben = f.Employee(w.beta, w.bo, "ben@beta.com");
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(w.ann), w.acme, w.bea, f.AdminRole(w.acme)));
  ENTITLE_REQUIRE_OK(
      f.orgs().GrantRole(As(w.ann), w.acme, w.cole, f.CoAdminRole(w.acme)));
  return w;
}

const IdentityId kUnknown(987654);

// The result's reason, kNone for OK.
Reason ReasonOf(const IdentityResult& r) { return GetReason(r.status); }

void RequireIds(const std::vector<IdentityResult>& results,
                const std::vector<IdentityId>& ids) {
  REQUIRE(results.size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    REQUIRE(results[i].identity == ids[i]);
  }
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-3 bulk lock and unlock give each identity its own result; a refusal stops or undoes nothing",
    "[identities][ADM-3]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const std::vector<IdentityId> batch = {w.dan, kUnknown, w.ben, w.eve};

  auto locked = f.ids().LockMany(As(w.ann), batch);
  ENTITLE_REQUIRE_OK(locked);
  RequireIds(*locked, batch);
  ENTITLE_REQUIRE_OK((*locked)[0].status);
  REQUIRE(ReasonOf((*locked)[1]) == Reason::kNotFound);
  // ben is Beta's: Acme's administrator may not touch him.
  REQUIRE(ReasonOf((*locked)[2]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*locked)[3].status);
  REQUIRE(f.RawIdentity(w.dan).locked);
  REQUIRE(f.RawIdentity(w.eve).locked);
  REQUIRE_FALSE(f.RawIdentity(w.ben).locked);
  REQUIRE_REASON(f.ids().SignIn("dan@acme.com", kPassword),
                 Reason::kIdentityLocked);
  // Each success is audited as the single call is.
  const auto locks = f.AuditOf("identity.lock");
  REQUIRE(locks.size() == 2);
  REQUIRE(locks[0].target == "identity#" + std::to_string(w.dan.value()));
  REQUIRE(locks[1].target == "identity#" + std::to_string(w.eve.value()));
  REQUIRE(locks[0].actor_id == w.ann);

  auto unlocked = f.ids().UnlockMany(As(w.ann), batch);
  ENTITLE_REQUIRE_OK(unlocked);
  RequireIds(*unlocked, batch);
  ENTITLE_REQUIRE_OK((*unlocked)[0].status);
  REQUIRE(ReasonOf((*unlocked)[1]) == Reason::kNotFound);
  REQUIRE(ReasonOf((*unlocked)[2]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*unlocked)[3].status);
  REQUIRE_FALSE(f.RawIdentity(w.dan).locked);
  REQUIRE_FALSE(f.RawIdentity(w.eve).locked);
  REQUIRE(f.AuditOf("identity.unlock").size() == 2);
  ENTITLE_REQUIRE_OK(f.ids().SignIn("dan@acme.com", kPassword));
}

// clang-format off
TEMPLATE_TEST_CASE("ADM-3 a bulk call that is wrong as a whole is refused whole and changes nothing",
    "[identities][ADM-3]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  std::vector<IdentityId> too_many;
  for (size_t i = 0; i <= kMaxIdentityBatch; ++i) {
    too_many.push_back(IdentityId(static_cast<int64_t>(i) + 1));
  }
  const std::vector<IdentityId> twice = {w.dan, w.eve, w.dan};
  const auto before = f.Freeze();
  for (int which = 0; which < 3; ++which) {
    INFO("call " << which);
    auto call = [&](const Actor& actor, const std::vector<IdentityId>& ids) {
      switch (which) {
        case 0:
          return f.ids().LockMany(actor, ids);
        case 1:
          return f.ids().UnlockMany(actor, ids);
        default:
          return f.ids().DeleteMany(actor, ids);
      }
    };
    ENTITLE_REQUIRE_REFUSED(call(As(w.ann), {}), StatusCode::kInvalidArgument,
                            Reason::kInvalidArgument);
    ENTITLE_REQUIRE_REFUSED(call(As(w.ann), twice),
                            StatusCode::kInvalidArgument,
                            Reason::kInvalidArgument);
    ENTITLE_REQUIRE_REFUSED(call(kOp, too_many), StatusCode::kInvalidArgument,
                            Reason::kLimitExceeded);
    ENTITLE_REQUIRE_REFUSED(call(kAnon, {w.dan}), StatusCode::kPermissionDenied,
                            Reason::kPermissionDenied);
  }
  f.RequireUnchanged(before);
  // Exactly the limit is accepted (every id but the real ones is unknown).
  std::vector<IdentityId> at_limit(too_many.begin(), too_many.end() - 1);
  auto results = f.ids().UnlockMany(kOp, at_limit);
  ENTITLE_REQUIRE_OK(results);
  REQUIRE(results->size() == kMaxIdentityBatch);
}

// clang-format off
TEMPLATE_TEST_CASE("ID-13 bulk delete deletes each identity it may and reports the others",
    "[identities][ID-13]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  // bo is Beta's only administrator: the operator may not delete him.
  const std::vector<IdentityId> batch = {w.dan, w.bo, kUnknown, w.ben};
  auto deleted = f.ids().DeleteMany(kOp, batch);
  ENTITLE_REQUIRE_OK(deleted);
  RequireIds(*deleted, batch);
  ENTITLE_REQUIRE_OK((*deleted)[0].status);
  REQUIRE(ReasonOf((*deleted)[1]) == Reason::kLastAdministrator);
  REQUIRE(ReasonOf((*deleted)[2]) == Reason::kNotFound);
  ENTITLE_REQUIRE_OK((*deleted)[3].status);
  REQUIRE(f.MembershipsOf(w.dan).empty());
  REQUIRE(f.MembershipsOf(w.ben).empty());
  REQUIRE(f.Membership(w.beta, w.bo).has_value());
  REQUIRE(f.AuditOf("identity.delete").size() == 2);
  REQUIRE_REASON(f.ids().Get(kOp, w.dan), Reason::kNotFound);
  ENTITLE_REQUIRE_OK(f.ids().Get(kOp, w.bo));
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-2 inside a batch: a Co-Administrator's bulk lock, unlock and delete refuse the Administrators alone",
    "[identities][SEC-2]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const World w = Build(f);
  const Actor co = As(w.cole);

  auto locked = f.ids().LockMany(co, {w.bea, w.dan, w.ann, w.eve});
  ENTITLE_REQUIRE_OK(locked);
  REQUIRE(ReasonOf((*locked)[0]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*locked)[1].status);
  REQUIRE(ReasonOf((*locked)[2]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*locked)[3].status);
  REQUIRE_FALSE(f.RawIdentity(w.bea).locked);
  REQUIRE_FALSE(f.RawIdentity(w.ann).locked);
  REQUIRE(f.RawIdentity(w.dan).locked);
  REQUIRE(f.RawIdentity(w.eve).locked);

  // ann locks bea; the Co-Administrator may not unlock her, but dan yes.
  ENTITLE_REQUIRE_OK(f.ids().Lock(As(w.ann), w.bea));
  auto unlocked = f.ids().UnlockMany(co, {w.bea, w.dan});
  ENTITLE_REQUIRE_OK(unlocked);
  REQUIRE(ReasonOf((*unlocked)[0]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*unlocked)[1].status);
  REQUIRE(f.RawIdentity(w.bea).locked);
  REQUIRE_FALSE(f.RawIdentity(w.dan).locked);

  auto deleted = f.ids().DeleteMany(co, {w.ann, w.fay, w.bea});
  ENTITLE_REQUIRE_OK(deleted);
  REQUIRE(ReasonOf((*deleted)[0]) == Reason::kPermissionDenied);
  ENTITLE_REQUIRE_OK((*deleted)[1].status);
  REQUIRE(ReasonOf((*deleted)[2]) == Reason::kPermissionDenied);
  REQUIRE(f.Membership(w.acme, w.ann).has_value());
  REQUIRE(f.Membership(w.acme, w.bea).has_value());
  REQUIRE_FALSE(f.Membership(w.acme, w.fay).has_value());

  // Locking both Administrators in one batch: the first goes; the second is
  // then the last unlocked one and stays, whoever asks.
  ENTITLE_REQUIRE_OK(f.ids().Unlock(As(w.ann), w.bea));
  auto both = f.ids().LockMany(kOp, {w.ann, w.bea});
  ENTITLE_REQUIRE_OK(both);
  ENTITLE_REQUIRE_OK((*both)[0].status);
  REQUIRE(ReasonOf((*both)[1]) == Reason::kLastAdministrator);
  REQUIRE(f.RawIdentity(w.ann).locked);
  REQUIRE_FALSE(f.RawIdentity(w.bea).locked);
}

}  // namespace
}  // namespace entitle_test
