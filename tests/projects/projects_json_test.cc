// The account API's JSON bodies (include/entitle/projects_json.h): the PRJ-6
// request body parser with its limits and every way a body can be wrong, and
// the responses (*ToJson), read back with nlohmann::json.
//
// "PRJ-6 ..." cases test the request body; "json: ..." cases the responses.
#include "entitle/projects_json.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "entitle/ids.h"
#include "entitle/projects.h"
#include "entitle/records.h"
#include "entitle/status.h"

namespace entitle_test {
namespace {

using namespace entitle;
using Json = nlohmann::json;

// ---------------------------------------------------------------- helpers

// REQUIREs that `body` parses; returns the request.
std::vector<ProjectMemberUpdates> MustParse(const std::string& body) {
  auto parsed = ParseMemberUpdateRequest(body);
  INFO("body: " << body.substr(0, 400));
  INFO("status: " << parsed.status().ToString());
  REQUIRE(parsed.ok());
  return *std::move(parsed);
}

// REQUIREs that `body` is refused with `code` / `reason` and that the message
// names `where` (a JSON path such as "[0].updates[1].role"; "" for the body
// as a whole). Returns the message.
std::string MustRefuse(const std::string& body, absl::StatusCode code,
                       Reason reason, const std::string& where) {
  auto parsed = ParseMemberUpdateRequest(body);
  INFO("body: " << body.substr(0, 400));
  INFO("status: " << parsed.status().ToString());
  INFO("expected reason " << ReasonName(reason) << ", path '" << where << "'");
  REQUIRE_FALSE(parsed.ok());
  REQUIRE(parsed.status().code() == code);
  REQUIRE(static_cast<int>(GetReason(parsed.status())) ==
          static_cast<int>(reason));
  const std::string message(parsed.status().message());
  REQUIRE_FALSE(message.empty());
  if (!where.empty()) {
    // The path itself, not a longer one that merely starts with it.
    const std::string named = where + ":";
    REQUIRE(message.find(named) != std::string::npos);
  }
  return message;
}

// kInvalidArgument / kInvalidArgument naming `where`.
std::string MustBeMalformed(const std::string& body, const std::string& where) {
  return MustRefuse(body, absl::StatusCode::kInvalidArgument,
                    Reason::kInvalidArgument, where);
}

// kLimitExceeded (with the InvalidArgument code, as every entitle limit).
std::string MustBeOverLimit(const std::string& body) {
  return MustRefuse(body, absl::StatusCode::kInvalidArgument,
                    Reason::kLimitExceeded, "");
}

// One project with `updates` (JSON text of the array's elements).
std::string OneProject(const std::string& id_json, const std::string& updates) {
  return "[{\"projectId\":" + id_json + ",\"updates\":[" + updates + "]}]";
}

std::string OneUpdate(const std::string& fields) {
  return OneProject("\"12\"", "{" + fields + "}");
}

const char kAdd[] =
    R"({"action":"ADD","email":"ada@example.com","role":"USER"})";

// `n` projects (ids 1..n) of one ADD each.
std::string Projects(int n) {
  std::string body = "[";
  for (int i = 1; i <= n; ++i) {
    if (i > 1) body += ",";
    body +=
        absl::StrCat(R"({"projectId":")", i, R"(","updates":[)", kAdd, "]}");
  }
  return body + "]";
}

// A project of id `id` with `n` updates.
std::string ProjectWithUpdates(int64_t id, int n) {
  std::string updates;
  for (int i = 0; i < n; ++i) {
    if (i > 0) updates += ",";
    updates += absl::StrCat(R"({"action":"ADD","email":"u)", i,
                            R"(@example.com","role":"ADMIN"})");
  }
  return absl::StrCat(R"({"projectId":")", id, R"(","updates":[)", updates,
                      "]}");
}

// REQUIREs that `text` is one JSON document, compact (no whitespace outside
// strings), and returns it parsed.
Json MustBeJson(const std::string& text) {
  INFO("json: " << text.substr(0, 600));
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE_FALSE(json.is_discarded());
  // Compact: as long as nlohmann's own compact dump of the same document
  // (which does not depend on the order of the fields).
  REQUIRE(text.size() == json.dump().size());
  return json;
}

// REQUIREs that `json` is an object holding exactly `fields`.
void RequireFields(const Json& json, std::vector<std::string> fields) {
  INFO("object: " << json.dump());
  REQUIRE(json.is_object());
  std::vector<std::string> got;
  for (const auto& [key, value] : json.items()) got.push_back(key);
  std::sort(got.begin(), got.end());
  std::sort(fields.begin(), fields.end());
  REQUIRE(got == fields);
}

// 2026-01-01T00:00:00Z plus `micros`.
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
absl::Time At(int64_t micros) { return kT0 + absl::Microseconds(micros); }

bool IsRfc3339Utc(const Json& value) {
  static const std::regex pattern(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z)");
  return value.is_string() &&
         std::regex_match(value.get<std::string>(), pattern);
}

ProjectRecord MakeProject(int64_t id, std::string name) {
  ProjectRecord p;
  p.id = ProjectId(id);
  p.organization_id = OrganizationId(2);
  p.entitlement_id = EntitlementId(5);
  p.name = std::move(name);
  p.region = "eu";
  p.created_at = At(0);
  return p;
}

// ============================================== PRJ-6: the API page's body

// The body exactly as the API page shows it (../shared/seeds/003_*.txt).
const char kApiPageBody[] = R"([
{
"projectId": "string",
"updates": [
{
"action": "string",
"email": "string",
"role": "USER"
}
]
}
])";

std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

TEST_CASE("PRJ-6 the API page's example body: \"string\" is not a project id",
          "[projects][json]") {
  const std::string message = MustBeMalformed(kApiPageBody, "[0].projectId");
  CHECK(message.find("not a project id") != std::string::npos);
}

TEST_CASE("PRJ-6 the API page's example body with a real project id",
          "[projects][json]") {
  const std::string with_id =
      Replace(kApiPageBody, R"("projectId": "string")", R"("projectId": "12")");
  SECTION("its \"action\": \"string\" is no action either") {
    const std::string message =
        MustBeMalformed(with_id, "[0].updates[0].action");
    CHECK(message.find("ADD, REMOVE or UPDATE") != std::string::npos);
  }
  SECTION("with \"action\": \"ADD\" it parses to one ADD of USER") {
    const std::string body =
        Replace(with_id, R"("action": "string")", R"("action": "ADD")");
    const auto request = MustParse(body);
    REQUIRE(request.size() == 1);
    REQUIRE(request[0].project_id == ProjectId(12));
    REQUIRE(request[0].updates.size() == 1);
    const MemberUpdate& update = request[0].updates[0];
    REQUIRE(update.action == MemberUpdateAction::kAdd);
    // Addresses are checked when the job runs, not here.
    REQUIRE(update.email == "string");
    REQUIRE(update.role == ProjectRole::kUser);
    REQUIRE(request ==
            std::vector<ProjectMemberUpdates>{
                {ProjectId(12),
                 {{MemberUpdateAction::kAdd, "string", ProjectRole::kUser}}}});
  }
}

TEST_CASE("PRJ-6 every action and role, spelled exactly so",
          "[projects][json]") {
  const auto request = MustParse(R"([
    {"projectId": "3", "updates": [
      {"action": "ADD", "email": "a@example.com", "role": "ADMIN"},
      {"action": "UPDATE", "email": "b@example.com", "role": "USER"},
      {"action": "REMOVE", "email": "c@example.com"},
      {"action": "REMOVE", "email": "d@example.com", "role": null},
      {"action": "REMOVE", "email": "e@example.com", "role": "ADMIN"}]},
    {"projectId": 9, "updates": [
      {"action": "UPDATE", "email": "a@example.com", "role": "ADMIN"}]}
  ])");
  const std::vector<ProjectMemberUpdates> want = {
      {ProjectId(3),
       {{MemberUpdateAction::kAdd, "a@example.com", ProjectRole::kAdmin},
        {MemberUpdateAction::kUpdate, "b@example.com", ProjectRole::kUser},
        {MemberUpdateAction::kRemove, "c@example.com", ProjectRole::kUser},
        {MemberUpdateAction::kRemove, "d@example.com", ProjectRole::kUser},
        {MemberUpdateAction::kRemove, "e@example.com", ProjectRole::kAdmin}}},
      // A JSON integer id is accepted too.
      {ProjectId(9),
       {{MemberUpdateAction::kUpdate, "a@example.com", ProjectRole::kAdmin}}}};
  REQUIRE(request == want);
}

// clang-format off
TEST_CASE("PRJ-6 a request written by MemberUpdateRequestToJson reads back "
          "equal",
    "[projects][json]") {
  // clang-format on
  const std::vector<ProjectMemberUpdates> request = {
      {ProjectId(1),
       {{MemberUpdateAction::kAdd, "ada@example.com", ProjectRole::kAdmin},
        {MemberUpdateAction::kRemove, "bo@example.com", ProjectRole::kUser},
        {MemberUpdateAction::kUpdate, "Cy.Quote\"Back\\slash@example.com",
         ProjectRole::kUser}}},
      {ProjectId(std::numeric_limits<int64_t>::max()),
       {{MemberUpdateAction::kAdd, "j\u00f6rg@b\u00fccher.example",
         ProjectRole::kUser},
        {MemberUpdateAction::kRemove, "tab\there@example.com",
         ProjectRole::kAdmin}}},
      {ProjectId(77), {{MemberUpdateAction::kUpdate, "", ProjectRole::kAdmin}}},
  };
  const std::string text = MemberUpdateRequestToJson(request);
  const Json json = MustBeJson(text);
  REQUIRE(json.is_array());
  REQUIRE(json.size() == 3);
  for (const Json& project : json) {
    RequireFields(project, {"projectId", "updates"});
    REQUIRE(project["projectId"].is_string());
    for (const Json& update : project["updates"]) {
      RequireFields(update, {"action", "email", "role"});
    }
  }
  REQUIRE(json[1]["projectId"] == "9223372036854775807");
  REQUIRE(json[0]["updates"][1]["action"] == "REMOVE");
  REQUIRE(json[0]["updates"][2]["action"] == "UPDATE");
  REQUIRE(json[0]["updates"][0]["role"] == "ADMIN");
  REQUIRE(MustParse(text) == request);
  // Stable: the same text every time.
  REQUIRE(MemberUpdateRequestToJson(request) == text);
  // And at the limits.
  std::vector<ProjectMemberUpdates> full;
  for (int p = 1; p <= kMaxProjectsPerRequest; ++p) {
    ProjectMemberUpdates entry{ProjectId(p), {}};
    for (int u = 0; u < kMaxUpdatesPerProject; ++u) {
      entry.updates.push_back(
          {static_cast<MemberUpdateAction>(u % 3),
           absl::StrCat("u", u, "@p", p, ".example.com"),
           u % 2 ? ProjectRole::kAdmin : ProjectRole::kUser});
    }
    full.push_back(std::move(entry));
  }
  REQUIRE(MustParse(MemberUpdateRequestToJson(full)) == full);
}

// ================================================ PRJ-6: malformed bodies

TEST_CASE("PRJ-6 a body that is not JSON is refused", "[projects][json]") {
  for (const std::string& body : std::vector<std::string>{
           "", " ", "nope", "[", "[{]", "[{\"projectId\":\"1\",}]", "'[]'",
           "[{\"projectId\":\"1\",\"updates\":[]}] trailing", "\xEF\xBB\xBF[x]",
           std::string("[\0]", 3)}) {
    const std::string message = MustBeMalformed(body, "");
    CHECK(message.find("not JSON") != std::string::npos);
  }
}

TEST_CASE("PRJ-6 a body that is not an array of projects is refused",
          "[projects][json]") {
  for (const std::string body :
       {R"({"projectId":"1","updates":[]})", R"("[]")", "42", "null", "true"}) {
    const std::string message = MustBeMalformed(body, "");
    CHECK(message.find("array") != std::string::npos);
  }
  // No project at all.
  const std::string message = MustBeMalformed("[]", "");
  CHECK(message.find("no project") != std::string::npos);
  MustBeMalformed(" [ ] ", "");
}

TEST_CASE("PRJ-6 an element that is not an object is refused, naming it",
          "[projects][json]") {
  MustBeMalformed(R"(["12"])", "[0]");
  MustBeMalformed(R"([12])", "[0]");
  MustBeMalformed(R"([null])", "[0]");
  MustBeMalformed(R"([[{"projectId":"1","updates":[]}]])", "[0]");
  MustBeMalformed(absl::StrCat("[", ProjectWithUpdates(1, 1), ",",
                               ProjectWithUpdates(2, 1), ",5]"),
                  "[2]");
}

TEST_CASE("PRJ-6 a missing or mistyped projectId is refused, naming it",
          "[projects][json]") {
  MustBeMalformed(absl::StrCat("[{\"updates\":[", kAdd, "]}]"),
                  "[0].projectId");
  MustBeMalformed(
      absl::StrCat("[", ProjectWithUpdates(4, 1),
                   ",{\"projectid\":\"5\",\"updates\":[", kAdd, "]}]"),
      "[1].projectId");
  for (const std::string id : {"null", "true", "1.5", "12.0", "1e3", "{}", "[]",
                               "[12]", R"({"id":"12"})"}) {
    INFO("projectId: " << id);
    MustBeMalformed(OneProject(id, kAdd), "[0].projectId");
  }
}

TEST_CASE("PRJ-6 a projectId that is not a positive decimal id is refused",
          "[projects][json]") {
  for (const std::string id :
       {R"("0")",
        R"("-1")",
        R"("1x")",
        R"("x1")",
        R"("")",
        R"(" 12")",
        R"("12 ")",
        R"("+12")",
        R"("1.0")",
        R"("0x1F")",
        R"("1e3")",
        R"("12345678901234567890")",  // 20 digits
        R"("9223372036854775808")",   // 2^63: 19 digits, over int64
        R"("99999999999999999999999999999999999999")",
        R"("\u0661")",
        R"("1\u0000")",
        "0",
        "-1",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551615",
        "123456789012345678901234567890"}) {
    INFO("projectId: " << id);
    const std::string message =
        MustBeMalformed(OneProject(id, kAdd), "[0].projectId");
    CHECK(message.find("[0].projectId") != std::string::npos);
  }
  // The largest id there is, as a string and as a number.
  auto big = MustParse(OneProject(R"("9223372036854775807")", kAdd));
  REQUIRE(big[0].project_id == ProjectId(std::numeric_limits<int64_t>::max()));
  big = MustParse(OneProject("9223372036854775807", kAdd));
  REQUIRE(big[0].project_id == ProjectId(std::numeric_limits<int64_t>::max()));
  REQUIRE(MustParse(OneProject(R"("1")", kAdd))[0].project_id == ProjectId(1));
}

TEST_CASE("PRJ-6 updates missing or not an array are refused, naming them",
          "[projects][json]") {
  MustBeMalformed(R"([{"projectId":"12"}])", "[0].updates");
  for (const std::string updates :
       {"null", "{}", R"("ADD")", "1", "true", kAdd}) {
    INFO("updates: " << updates);
    MustBeMalformed(R"([{"projectId":"12","updates":)" + updates + "}]",
                    "[0].updates");
  }
  MustBeMalformed(absl::StrCat("[", ProjectWithUpdates(1, 2),
                               R"(,{"projectId":"2","Updates":[]}])"),
                  "[1].updates");
}

TEST_CASE("PRJ-6 an update that is not an object is refused, naming it",
          "[projects][json]") {
  MustBeMalformed(OneProject(R"("12")", R"("ADD")"), "[0].updates[0]");
  MustBeMalformed(OneProject(R"("12")", "null"), "[0].updates[0]");
  MustBeMalformed(OneProject(R"("12")", absl::StrCat("[", kAdd, "]")),
                  "[0].updates[0]");
  MustBeMalformed(absl::StrCat("[", ProjectWithUpdates(1, 3),
                               R"(,{"projectId":"2","updates":[)", kAdd, ",",
                               kAdd, ",7]}]"),
                  "[1].updates[2]");
}

TEST_CASE("PRJ-6 an unknown or missing action is refused, naming it",
          "[projects][json]") {
  for (const std::string action :
       {R"("add")", R"("Add")", R"("DELETE")", R"("remove")", R"("")",
        R"(" ADD")", R"("ADD ")", R"("INSERT")", "1", "null", "true",
        R"(["ADD"])"}) {
    INFO("action: " << action);
    const std::string message =
        MustBeMalformed(OneUpdate(R"("action":)" + action +
                                  R"(,"email":"a@example.com","role":"USER")"),
                        "[0].updates[0].action");
    CHECK(message.find("ADD, REMOVE or UPDATE") != std::string::npos);
  }
  MustBeMalformed(OneUpdate(R"("email":"a@example.com","role":"USER")"),
                  "[0].updates[0].action");
  MustBeMalformed(
      absl::StrCat("[", ProjectWithUpdates(1, 1), ",",
                   R"({"projectId":"2","updates":[)", kAdd,
                   R"(,{"action":"DELETE","email":"x@example.com"}]}])"),
      "[1].updates[1].action");
}

// clang-format off
TEST_CASE("PRJ-6 a role is needed for ADD and UPDATE, optional for REMOVE, and "
          "only USER or ADMIN",
    "[projects][json]") {
  // clang-format on
  for (const std::string action : {"ADD", "UPDATE"}) {
    INFO("action: " << action);
    MustBeMalformed(
        OneUpdate(R"("action":")" + action + R"(","email":"a@example.com")"),
        "[0].updates[0].role");
    MustBeMalformed(OneUpdate(R"("action":")" + action +
                              R"(","email":"a@example.com","role":null)"),
                    "[0].updates[0].role");
  }
  // REMOVE without a role.
  auto removed =
      MustParse(OneUpdate(R"("action":"REMOVE","email":"a@example.com")"));
  REQUIRE(removed[0].updates[0].action == MemberUpdateAction::kRemove);
  REQUIRE(removed[0].updates[0].email == "a@example.com");
  // Roles other than USER and ADMIN, for every action.
  for (const std::string action : {"ADD", "UPDATE", "REMOVE"}) {
    for (const std::string role :
         {R"("OWNER")", R"("user")", R"("admin")", R"("Admin")", R"("")",
          R"("USER ")", "0", "1", "true", R"(["USER"])", "{}"}) {
      INFO("action " << action << ", role " << role);
      const std::string message = MustBeMalformed(
          OneUpdate(R"("action":")" + action +
                    R"(","email":"a@example.com","role":)" + role),
          "[0].updates[0].role");
      CHECK(message.find("USER or ADMIN") != std::string::npos);
    }
  }
}

// clang-format off
TEST_CASE("PRJ-6 an email that is not a string is refused, naming it; an "
          "implausible one is not checked here",
    "[projects][json]") {
  // clang-format on
  for (const std::string email : {"5", "null", "true", R"(["a@example.com"])",
                                  R"({"address":"a@example.com"})"}) {
    INFO("email: " << email);
    MustBeMalformed(
        OneUpdate(R"("action":"ADD","role":"USER","email":)" + email),
        "[0].updates[0].email");
  }
  MustBeMalformed(OneUpdate(R"("action":"ADD","role":"USER")"),
                  "[0].updates[0].email");
  // Any string is taken as sent: a bad address fails its update when the
  // job runs.
  for (const std::string email : {"", "not an address", "  A@B.C  "}) {
    auto request = MustParse(OneUpdate(R"("action":"ADD","role":"USER",)"
                                       R"("email":")" +
                                       email + "\""));
    REQUIRE(request[0].updates[0].email == email);
  }
}

TEST_CASE("PRJ-6 fields this version does not know are ignored",
          "[projects][json]") {
  const auto request = MustParse(R"([
    {"name": "Bridge", "projectId": "12", "extra": {"deep": [1, 2, {"x": null}]},
     "updates": [
       {"comment": "hi", "action": "ADD", "email": "a@example.com",
        "role": "ADMIN", "notify": true, "roles": ["USER"]}],
     "ProjectId": "99", "projectID": "98"}
  ])");
  REQUIRE(request == std::vector<ProjectMemberUpdates>{
                         {ProjectId(12),
                          {{MemberUpdateAction::kAdd, "a@example.com",
                            ProjectRole::kAdmin}}}});
}

// ==================================================== PRJ-6: the limits

TEST_CASE("PRJ-6 at most 30 projects in one request", "[projects][json]") {
  REQUIRE(kMaxProjectsPerRequest == 30);
  const auto thirty = MustParse(Projects(30));
  REQUIRE(thirty.size() == 30);
  REQUIRE(thirty.front().project_id == ProjectId(1));
  REQUIRE(thirty.back().project_id == ProjectId(30));
  const std::string message = MustBeOverLimit(Projects(31));
  CHECK(message.find("30") != std::string::npos);
  CHECK(message.find("31") != std::string::npos);
  MustBeOverLimit(Projects(100));
}

TEST_CASE("PRJ-6 at most 15 updates for one project", "[projects][json]") {
  REQUIRE(kMaxUpdatesPerProject == 15);
  const auto fifteen = MustParse(absl::StrCat(
      "[", ProjectWithUpdates(5, 15), ",", ProjectWithUpdates(6, 15), "]"));
  REQUIRE(fifteen.size() == 2);
  REQUIRE(fifteen[0].updates.size() == 15);
  REQUIRE(fifteen[1].updates.size() == 15);
  REQUIRE(fifteen[1].updates[14].email == "u14@example.com");
  // The third project has one too many: the message names it.
  const std::string message = MustBeOverLimit(absl::StrCat(
      "[", ProjectWithUpdates(5, 15), ",", ProjectWithUpdates(6, 1), ",",
      ProjectWithUpdates(77, 16), "]"));
  CHECK(message.find("77") != std::string::npos);
  CHECK(message.find("[2]") != std::string::npos);
  CHECK(message.find("15") != std::string::npos);
  CHECK(message.find("16") != std::string::npos);
  // 30 projects of 15 updates each is the largest valid request.
  std::string full = "[";
  for (int p = 1; p <= 30; ++p) {
    if (p > 1) full += ",";
    full += ProjectWithUpdates(p, 15);
  }
  full += "]";
  const auto all = MustParse(full);
  REQUIRE(all.size() == 30);
  for (const auto& project : all) REQUIRE(project.updates.size() == 15);
}

// clang-format off
TEST_CASE("PRJ-6 a body over kMaxMemberUpdateBodyBytes is refused before it is "
          "read",
    "[projects][json]") {
  // clang-format on
  REQUIRE(kMaxMemberUpdateBodyBytes == size_t{1} << 20);
  // A valid body padded with whitespace to exactly the limit parses.
  const std::string valid = Projects(2);
  std::string at_limit = valid;
  at_limit.append(kMaxMemberUpdateBodyBytes - valid.size(), ' ');
  REQUIRE(at_limit.size() == kMaxMemberUpdateBodyBytes);
  REQUIRE(MustParse(at_limit).size() == 2);
  // One byte more is refused, valid or not.
  const std::string over = at_limit + " ";
  std::string message = MustBeOverLimit(over);
  CHECK(message.find(std::to_string(kMaxMemberUpdateBodyBytes)) !=
        std::string::npos);
  MustBeOverLimit(std::string(kMaxMemberUpdateBodyBytes + 1, '['));
  MustBeOverLimit(std::string(4 * kMaxMemberUpdateBodyBytes, 'x'));
  // A long address inside the limit is fine.
  const std::string long_email(100000, 'a');
  auto parsed =
      MustParse(OneUpdate(R"("action":"ADD","role":"USER","email":")" +
                          long_email + "@example.com\""));
  REQUIRE(parsed[0].updates[0].email.size() == long_email.size() + 12);
}

// ========================================== PRJ-6: hostile bodies, no crash

// clang-format off
TEST_CASE("PRJ-6 deeply nested arrays and objects are refused without a crash",
    "[projects][json]") {
  // clang-format on
  // Unclosed.
  MustBeMalformed(std::string(100000, '['), "");
  MustBeMalformed(std::string(500000, '['), "");
  // Closed: an array whose only element is an array.
  MustBeMalformed(std::string(100000, '[') + std::string(100000, ']'), "[0]");
  MustBeMalformed(std::string(500000, '[') + std::string(500000, ']'), "[0]");
  // Deep objects.
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  MustBeMalformed(objects, "");
  objects += "1";
  objects.append(100000, '}');
  MustBeMalformed(objects, "");
  // Deep nesting inside a field that is ignored, or where an update goes.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto ignored = MustParse(R"([{"projectId":"12","x":)" + deep +
                           R"(,"updates":[)" + kAdd + "]}]");
  REQUIRE(ignored[0].updates.size() == 1);
  MustBeMalformed(R"([{"projectId":"12","updates":[)" + deep + "]}]",
                  "[0].updates[0]");
  MustBeMalformed(R"([{"projectId":)" + deep + R"(,"updates":[]}])",
                  "[0].projectId");
}

// clang-format off
TEST_CASE("PRJ-6 invalid UTF-8 in an address is refused cleanly or parsed, "
          "never a crash",
    "[projects][json]") {
  // clang-format on
  for (const std::string& bad :
       {std::string("\xFF"), std::string("a\xC3"), std::string("\xC3\x28"),
        std::string("\xED\xA0\x80"),  // A UTF-16 surrogate in UTF-8.
        std::string("\xF4\x90\x80\x80"), std::string("\xC0\xAF"),
        std::string("\x80\x80\x80"), std::string("x\0y", 3)}) {
    const std::string body =
        OneUpdate(R"("action":"ADD","role":"USER","email":"ada)" + bad +
                  "@example.com\"");
    auto parsed = ParseMemberUpdateRequest(body);
    INFO("status: " << parsed.status().ToString());
    if (parsed.ok()) {
      REQUIRE(parsed->size() == 1);
      REQUIRE(parsed->at(0).updates.size() == 1);
      // Whatever was kept, writing it out again gives valid JSON.
      MustBeJson(MemberUpdateRequestToJson(*parsed));
    } else {
      REQUIRE(parsed.status().code() == absl::StatusCode::kInvalidArgument);
      REQUIRE(GetReason(parsed.status()) == Reason::kInvalidArgument);
    }
  }
  // Escaped lone surrogates, and escaped NUL.
  for (const std::string escaped : {R"(\ud800)", R"(\udc00x)", R"(\u0000)"}) {
    const std::string body =
        OneUpdate(R"("action":"ADD","role":"USER","email":"ada)" + escaped +
                  "@example.com\"");
    auto parsed = ParseMemberUpdateRequest(body);
    INFO("status: " << parsed.status().ToString());
    if (!parsed.ok()) {
      REQUIRE(GetReason(parsed.status()) == Reason::kInvalidArgument);
    }
  }
}

// ============================================================== responses

TEST_CASE("json: MemberUpdateRequestToJson writes the API page's field names",
          "[projects][json]") {
  const std::string text = MemberUpdateRequestToJson(
      {{ProjectId(12),
        {{MemberUpdateAction::kAdd, "ada@example.com", ProjectRole::kUser}}}});
  const Json json = MustBeJson(text);
  REQUIRE(json == Json::parse(R"([{"projectId":"12","updates":[
      {"action":"ADD","email":"ada@example.com","role":"USER"}]}])"));
  REQUIRE(MustBeJson(MemberUpdateRequestToJson({})) == Json::array());
}

MemberUpdateJob MakeJob(JobStatus status) {
  MemberUpdateJob job;
  job.id = JobId(7);
  job.organization_id = OrganizationId(2);
  job.created_by = IdentityId(4);
  job.region = "eu";
  job.status = status;
  job.request = {
      {ProjectId(3),
       {{MemberUpdateAction::kAdd, "ada@example.com", ProjectRole::kAdmin},
        {MemberUpdateAction::kRemove, "bo@example.com", ProjectRole::kUser}}},
      {ProjectId(5),
       {{MemberUpdateAction::kUpdate, "nobody@example.com",
         ProjectRole::kUser}}}};
  job.created_at = At(0);
  return job;
}

TEST_CASE("json: a queued job", "[projects][json]") {
  const MemberUpdateJob job = MakeJob(JobStatus::kQueued);
  const Json json = MustBeJson(MemberUpdateJobToJson(job));
  RequireFields(json, {"jobId", "status", "region", "createdAt", "finishedAt",
                       "request", "results"});
  REQUIRE(json["jobId"] == "7");
  REQUIRE(json["status"] == "QUEUED");
  REQUIRE(json["region"] == "eu");
  REQUIRE(json["createdAt"] == "2026-01-01T00:00:00Z");
  REQUIRE(json["finishedAt"].is_null());
  REQUIRE(json["results"] == Json::array());
  REQUIRE(json["request"] ==
          MustBeJson(MemberUpdateRequestToJson(job.request)));
  // The request in the job reads back as the request.
  REQUIRE(MustParse(json["request"].dump()) == job.request);
  REQUIRE(MemberUpdateJobToJson(job) == MemberUpdateJobToJson(job));
}

TEST_CASE("json: a done job groups its results per project",
          "[projects][json]") {
  MemberUpdateJob job = MakeJob(JobStatus::kDone);
  job.finished_at = At(1500000);  // 1.5 s later.
  job.results = {
      {ProjectId(3), job.request[0].updates[0], absl::OkStatus()},
      {ProjectId(3), job.request[0].updates[1],
       MakeError(absl::StatusCode::kFailedPrecondition, Reason::kNotMember,
                 "bo@example.com is not a member of project 3.")},
      {ProjectId(5), job.request[1].updates[0],
       MakeError(absl::StatusCode::kNotFound, Reason::kUnknownUser,
                 "No identity has the address \"nobody@example.com\".")},
  };
  const Json json = MustBeJson(MemberUpdateJobToJson(job));
  RequireFields(json, {"jobId", "status", "region", "createdAt", "finishedAt",
                       "request", "results"});
  REQUIRE(json["status"] == "DONE");
  REQUIRE(IsRfc3339Utc(json["createdAt"]));
  REQUIRE(IsRfc3339Utc(json["finishedAt"]));
  REQUIRE(json["finishedAt"] == "2026-01-01T00:00:01.5Z");
  const Json& results = json["results"];
  REQUIRE(results.is_array());
  REQUIRE(results.size() == 2);
  RequireFields(results[0], {"projectId", "updates"});
  REQUIRE(results[0]["projectId"] == "3");
  REQUIRE(results[0]["updates"].size() == 2);
  RequireFields(results[0]["updates"][0],
                {"action", "email", "role", "status"});
  REQUIRE(results[0]["updates"][0] ==
          Json::parse(R"({"action":"ADD","email":"ada@example.com",
                          "role":"ADMIN","status":"OK"})"));
  RequireFields(results[0]["updates"][1],
                {"action", "email", "role", "status", "reason", "message"});
  REQUIRE(results[0]["updates"][1]["action"] == "REMOVE");
  REQUIRE(results[0]["updates"][1]["status"] == "FAILED");
  REQUIRE(results[0]["updates"][1]["reason"] == "not-member");
  REQUIRE(results[0]["updates"][1]["message"] ==
          "bo@example.com is not a member of project 3.");
  REQUIRE(results[1]["projectId"] == "5");
  REQUIRE(results[1]["updates"].size() == 1);
  REQUIRE(results[1]["updates"][0]["action"] == "UPDATE");
  REQUIRE(results[1]["updates"][0]["status"] == "FAILED");
  REQUIRE(results[1]["updates"][0]["reason"] == "unknown-user");
  REQUIRE(results[1]["updates"][0]["message"] ==
          "No identity has the address \"nobody@example.com\".");
}

TEST_CASE("json: a failed job has an error object", "[projects][json]") {
  MemberUpdateJob job = MakeJob(JobStatus::kFailed);
  job.finished_at = At(2);
  job.failure =
      MakeError(absl::StatusCode::kPermissionDenied, Reason::kPermissionDenied,
                "The submitter is no longer an account "
                "administrator of organization 2.");
  const Json json = MustBeJson(MemberUpdateJobToJson(job));
  RequireFields(json, {"jobId", "status", "region", "createdAt", "finishedAt",
                       "request", "results", "error"});
  REQUIRE(json["status"] == "FAILED");
  REQUIRE(json["results"] == Json::array());
  REQUIRE(json["finishedAt"] == "2026-01-01T00:00:00.000002Z");
  RequireFields(json["error"], {"reason", "message"});
  REQUIRE(json["error"]["reason"] == "permission-denied");
  REQUIRE(json["error"]["message"] ==
          "The submitter is no longer an account administrator of "
          "organization 2.");
  // No error object for jobs that did not fail.
  REQUIRE_FALSE(MustBeJson(MemberUpdateJobToJson(MakeJob(JobStatus::kDone)))
                    .contains("error"));
}

TEST_CASE("json: a projects page (PRJ-3)", "[projects][json]") {
  Page<ProjectRecord> page;
  const PageRequest asked = PageRequest::Numbered(2, 2);
  page.total = 5;
  page.has_more = true;
  page.items.push_back(MakeProject(3, "Bridge \"North\" \\ \u00c5sa"));
  ProjectRecord archived = MakeProject(4, "Tunnel");
  archived.status = ProjectStatus::kArchived;
  archived.region = "us";
  archived.entitlement_id = EntitlementId(6);
  archived.created_at = At(123456);
  page.items.push_back(archived);
  const Json json = MustBeJson(ProjectsPageToJson(page, asked));
  RequireFields(json, {"page", "size", "total", "hasMore", "items"});
  REQUIRE(json["page"] == 2);
  REQUIRE(json["size"] == 2);
  REQUIRE(json["total"] == 5);
  REQUIRE(json["hasMore"] == true);
  REQUIRE(json["items"].size() == 2);
  for (const Json& item : json["items"]) {
    RequireFields(item, {"projectId", "name", "region", "entitlementId",
                         "status", "createdAt"});
    REQUIRE(IsRfc3339Utc(item["createdAt"]));
  }
  REQUIRE(json["items"][0] == Json::parse(R"({"projectId":"3",
                          "name":"Bridge \"North\" \\ \u00c5sa",
                          "region":"eu","entitlementId":"5","status":"ACTIVE",
                          "createdAt":"2026-01-01T00:00:00Z"})"));
  REQUIRE(json["items"][1]["status"] == "ARCHIVED");
  REQUIRE(json["items"][1]["region"] == "us");
  REQUIRE(json["items"][1]["entitlementId"] == "6");
  REQUIRE(json["items"][1]["createdAt"] == "2026-01-01T00:00:00.123456Z");
  // An empty page.
  const Json empty =
      MustBeJson(ProjectsPageToJson({}, PageRequest::Numbered(1, 0)));
  REQUIRE(empty["items"] == Json::array());
  REQUIRE(empty["hasMore"] == false);
  REQUIRE(empty["total"] == 0);
}

TEST_CASE("json: a project users page (PRJ-4)", "[projects][json]") {
  Page<ProjectUser> page;
  const PageRequest asked = PageRequest::Numbered(1, 1000);
  page.total = 2;
  page.items = {{IdentityId(4), "ada@example.com", "Ada Lovelace", 3},
                {IdentityId(9), "bo@example.com", "", 1}};
  const Json json = MustBeJson(ProjectUsersPageToJson(page, asked));
  RequireFields(json, {"page", "size", "total", "hasMore", "items"});
  REQUIRE(json["size"] == 1000);
  REQUIRE(json["hasMore"] == false);
  REQUIRE(json["items"].size() == 2);
  RequireFields(json["items"][0], {"userId", "email", "name", "projectsCount"});
  REQUIRE(json["items"][0] ==
          Json::parse(R"({"userId":"4","email":"ada@example.com",
                          "name":"Ada Lovelace","projectsCount":3})"));
  REQUIRE(json["items"][1]["userId"] == "9");
  REQUIRE(json["items"][1]["projectsCount"] == 1);
  REQUIRE(json["items"][1]["projectsCount"].is_number_integer());
}

TEST_CASE("json: one user's projects (PRJ-5)", "[projects][json]") {
  UserProjects user;
  user.identity_id = IdentityId(4);
  user.email = "ada@example.com";
  user.display_name = "Ada";
  user.active_projects_count = 1;
  const PageRequest asked = PageRequest::Numbered(1, 25);
  user.projects.total = 2;
  ProjectRecord archived = MakeProject(8, "Old");
  archived.status = ProjectStatus::kArchived;
  user.projects.items = {{MakeProject(3, "Bridge"), ProjectRole::kAdmin, At(7)},
                         {archived, ProjectRole::kUser, At(0)}};
  const Json json = MustBeJson(UserProjectsToJson(user, asked));
  RequireFields(json, {"userId", "email", "name", "activeProjectsCount", "page",
                       "size", "total", "hasMore", "projects"});
  REQUIRE(json["userId"] == "4");
  REQUIRE(json["email"] == "ada@example.com");
  REQUIRE(json["name"] == "Ada");
  REQUIRE(json["activeProjectsCount"] == 1);
  REQUIRE(json["page"] == 1);
  REQUIRE(json["size"] == 25);
  REQUIRE(json["total"] == 2);
  REQUIRE(json["hasMore"] == false);
  REQUIRE(json["projects"].size() == 2);
  for (const Json& project : json["projects"]) {
    RequireFields(project, {"projectId", "name", "region", "entitlementId",
                            "status", "createdAt", "role", "addedAt"});
    REQUIRE(IsRfc3339Utc(project["addedAt"]));
  }
  REQUIRE(json["projects"][0]["projectId"] == "3");
  REQUIRE(json["projects"][0]["role"] == "ADMIN");
  REQUIRE(json["projects"][0]["status"] == "ACTIVE");
  REQUIRE(json["projects"][0]["addedAt"] == "2026-01-01T00:00:00.000007Z");
  REQUIRE(json["projects"][1]["role"] == "USER");
  REQUIRE(json["projects"][1]["status"] == "ARCHIVED");
}

TEST_CASE("json: responses stay valid JSON whatever names and addresses hold",
          "[projects][json]") {
  const std::string bad = std::string("bad \xFF\xC3 \xED\xA0\x80 end\x01\x1F") +
                          std::string("\0nul", 4);
  Page<ProjectRecord> projects;
  projects.items.push_back(MakeProject(3, bad));
  projects.items[0].region = bad;
  Json json = MustBeJson(ProjectsPageToJson(projects, PageRequest{}));
  REQUIRE(json["items"][0]["name"].is_string());

  Page<ProjectUser> users;
  users.items = {{IdentityId(4), bad, bad, 1}};
  json = MustBeJson(ProjectUsersPageToJson(users, PageRequest{}));
  REQUIRE(json["items"][0]["email"].is_string());

  UserProjects user;
  user.identity_id = IdentityId(4);
  user.email = bad;
  user.display_name = bad;
  user.projects.items = {{MakeProject(3, bad), ProjectRole::kUser, At(0)}};
  MustBeJson(UserProjectsToJson(user, PageRequest{}));

  MemberUpdateJob job = MakeJob(JobStatus::kFailed);
  job.region = bad;
  job.request[0].updates[0].email = bad;
  job.failure = MakeError(absl::StatusCode::kInternal, Reason::kNone, bad);
  json = MustBeJson(MemberUpdateJobToJson(job));
  REQUIRE(json["error"]["message"].is_string());
  job.status = JobStatus::kDone;
  job.results = {{ProjectId(3), job.request[0].updates[0],
                  MakeError(absl::StatusCode::kInvalidArgument,
                            Reason::kInvalidEmail, bad)}};
  json = MustBeJson(MemberUpdateJobToJson(job));
  REQUIRE(json["results"][0]["updates"][0]["reason"] == "invalid-email");

  std::vector<ProjectMemberUpdates> request = {
      {ProjectId(1), {{MemberUpdateAction::kAdd, bad, ProjectRole::kUser}}}};
  const std::string text = MemberUpdateRequestToJson(request);
  MustBeJson(text);
  // What the writer made of it the parser reads.
  auto parsed = MustParse(text);
  REQUIRE(parsed.size() == 1);
}

}  // namespace
}  // namespace entitle_test
