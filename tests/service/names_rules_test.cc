// SEC-6 on every backend: each service checks the names it is given with the
// one validator (base/names.h, unit-tested in tests/base/names_test.cc):
// people's display names, organizations, roles, groups and projects. A name is
// valid UTF-8 without control or invisible characters, its limit counted in
// characters; a refused name changes nothing and carries kInvalidName.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "entitle/actor.h"
#include "entitle/identities.h"
#include "entitle/organizations.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/status.h"
#include "fixtures/directory_fixture.h"
#include "fixtures/store_fixtures.h"

namespace entitle_test {
namespace {

using namespace entitle;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kO = "\xC3\x96";             // Ö (NFC, two bytes)
const std::string kODecomposed = "O\xCC\x88";  // O + U+0308
const std::string kO200 = Repeat(kO, 200);     // 400 bytes, 200 characters

// Names every service refuses, with what is wrong with them.
const std::vector<std::pair<std::string, std::string>> kBadNames = {
    {Repeat(kO, 201), "201 characters"},
    {std::string(201, 'a'), "201 ASCII characters"},
    {"J\xF6rg Gr\xFC"
     "n",
     "Latin-1, not UTF-8"},
    {"Caf\xE9", "Latin-1 at the end"},
    {"Line\nbreak", "a line feed"},
    {"Bell\x07", "a control character"},
    {"C1 \xC2\x9B"
     "31m",
     "a C1 control"},
    {"Acme\xE2\x80\xAE"
     "exe.doc",
     "a right-to-left override"},
    {"Ac\xE2\x80\x8B"
     "me",
     "a zero-width space"},
    {"Ac\xC2\xAD"
     "me",
     "a soft hyphen"},
    {"\xEF\xBB\xBF"
     "Acme",
     "a byte order mark"},
    {"Acme\xE2\x81\xA7", "a right-to-left isolate"},
};

// Each service call that takes a name, set up once per backend.
template <typename Backend>
struct Namers {
  explicit Namers(DirectoryFixture<Backend>& fixture) : f(fixture) {
    const OrgWithAdmin acme =
        f.FoundOrg("Acme", "ann@acme.example", "acme.example");
    org = acme.org;
    admin = acme.admin;
    cad = f.Entitle(org, Floating("CAD")).id;
  }

  DirectoryFixture<Backend>& f;
  OrganizationId org;
  IdentityId admin;
  EntitlementId cad;
  int fresh = 0;

  // Each call, named; each returns the status and, when it succeeded, the
  // name as stored.
  using Call = std::function<std::pair<absl::Status, std::string>(
      const std::string& name)>;
  std::vector<std::pair<std::string, Call>> Calls() {
    return {
        {"Organizations::Create",
         [this](const std::string& name) {
           const IdentityId first = f.RegisterVerified(
               "first" + std::to_string(++fresh) + "@new.example");
           auto made = f.orgs().Create(kOp, name, first);
           if (!made.ok()) return Result(made.status());
           return Result(absl::OkStatus(),
                         f.template Get<OrganizationRecord>(*made).name);
         }},
        {"Organizations::UpdateSettings",
         [this](const std::string& name) {
           const absl::Status s = f.orgs().UpdateSettings(
               As(admin), org, OrganizationSettings{.name = name});
           return Result(s, f.template Get<OrganizationRecord>(org).name);
         }},
        {"Organizations::CreateRole",
         [this](const std::string& name) {
           auto made = f.orgs().CreateRole(As(admin), org, name, kViewUsage);
           if (!made.ok()) return Result(made.status());
           return Result(absl::OkStatus(),
                         f.template Get<RoleRecord>(*made).name);
         }},
        {"Organizations::CreateGroup",
         [this](const std::string& name) {
           auto made = f.orgs().CreateGroup(As(admin), org, name);
           if (!made.ok()) return Result(made.status());
           return Result(absl::OkStatus(),
                         f.template Get<GroupRecord>(*made).name);
         }},
        {"Projects::CreateProject",
         [this](const std::string& name) {
           auto made = f.prj().CreateProject(As(admin), org, cad, name, "eu");
           if (!made.ok()) return Result(made.status());
           return Result(absl::OkStatus(),
                         f.template Get<ProjectRecord>(made->id).name);
         }},
        {"Identities::Register (display name)",
         [this](const std::string& name) {
           auto made = f.ids().Register(
               kAnon, "person" + std::to_string(++fresh) + "@acme.example",
               Profile{.display_name = name});
           if (!made.ok()) return Result(made.status());
           return Result(absl::OkStatus(), f.RawIdentity(*made).display_name);
         }},
        {"Identities::UpdateProfile (display name)",
         [this](const std::string& name) {
           const absl::Status s = f.ids().UpdateProfile(
               As(admin), admin, ProfileUpdate{.display_name = name});
           return Result(s, f.RawIdentity(admin).display_name);
         }},
    };
  }

  static std::pair<absl::Status, std::string> Result(absl::Status s,
                                                     std::string name = {}) {
    return {std::move(s), std::move(name)};
  }
};

// clang-format off
TEMPLATE_TEST_CASE("SEC-6 every service refuses a name that is not UTF-8, holds control or invisible characters, or is too long", "[names][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Namers<TestType> namers(f);
  const auto before = f.Freeze();
  for (const auto& [call_name, call] : namers.Calls()) {
    for (const auto& [name, what] : kBadNames) {
      INFO(call_name << ": " << what);
      const auto [status, stored] = call(name);
      INFO(status.ToString());
      REQUIRE_FALSE(status.ok());
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(GetReason(status) == Reason::kInvalidName);
    }
  }
  // Organizations::Create and Register make their identity first: undo the
  // count by comparing only what the refused calls could have written.
  const Snapshot now = f.Snap();
  CHECK(now.organizations == before.snapshot.organizations);
  CHECK(now.roles == before.snapshot.roles);
  CHECK(now.groups == before.snapshot.groups);
  CHECK(now.projects == before.snapshot.projects);
  CHECK(now.memberships == before.snapshot.memberships);
  // Register's refused identities were never made: only the first
  // administrators of Organizations::Create were.
  CHECK(now.identities.size() ==
        before.snapshot.identities.size() + kBadNames.size());
  CHECK(f.RawIdentity(namers.admin).display_name.empty());
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-6 every service takes 200 characters of two bytes each and refuses 201", "[names][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  Namers<TestType> namers(f);
  for (const auto& [call_name, call] : namers.Calls()) {
    INFO(call_name);
    {
      const auto [status, stored] = call(kO200);
      INFO(status.ToString());
      REQUIRE(status.ok());
      CHECK(stored == kO200);
    }
    {
      // Decomposed, 600 bytes: still 200 characters, stored in NFC.
      const std::string decomposed = Repeat(kODecomposed, 199) + "x";
      const auto [status, stored] = call(decomposed);
      INFO(status.ToString());
      REQUIRE(status.ok());
      CHECK(stored == Repeat(kO, 199) + "x");
    }
    {
      const auto [status, stored] = call(Repeat(kO, 201));
      CHECK(GetReason(status) == Reason::kInvalidName);
    }
    {
      // Joiners between letters are part of writing, and allowed.
      const std::string persian =
          "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE\xD9\x88\xD8\xA7\xD9\x87\xD9"
          "\x85";
      const auto [status, stored] = call(persian);
      INFO(status.ToString());
      REQUIRE(status.ok());
      CHECK(stored == persian);
    }
  }
}

// clang-format off
TEMPLATE_TEST_CASE("SEC-6 a refused display name leaves the profile as it was", "[names][sec]", ENTITLE_BACKENDS) {
  // clang-format on
  DirectoryFixture<TestType> f;
  const IdentityId ann =
      f.RegisterVerified("ann@acme.example", Profile{.display_name = "Ann"});
  const auto before = f.Freeze();
  REQUIRE_REASON(f.ids().UpdateProfile(
                     As(ann), ann,
                     ProfileUpdate{.display_name = "J\xF6rg", .country = "FI"}),
                 Reason::kInvalidName);
  REQUIRE_REASON(f.ids().Register(kAnon, "bob@acme.example",
                                  Profile{.display_name = "Bob\xE2\x80\xAE"}),
                 Reason::kInvalidName);
  f.RequireUnchanged(before);
  // Surrounding white space is trimmed from display names as before, and a
  // display name may be cleared.
  ENTITLE_REQUIRE_OK(f.ids().UpdateProfile(
      As(ann), ann, ProfileUpdate{.display_name = "  \xC3\x85sa  "}));
  CHECK(f.RawIdentity(ann).display_name == "\xC3\x85sa");
  ENTITLE_REQUIRE_OK(
      f.ids().UpdateProfile(As(ann), ann, ProfileUpdate{.display_name = ""}));
  CHECK(f.RawIdentity(ann).display_name.empty());
}

}  // namespace
}  // namespace entitle_test
