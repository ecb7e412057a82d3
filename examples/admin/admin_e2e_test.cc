// End-to-end test of entitle-admin: runs the tool as a child process against
// temporary SQLite files and checks its output (JSON parsed with nlohmann),
// its stderr and its exit codes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "entitle/actor.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"
#include "entitle/store.h"
#include "fixtures/dnsmasq.h"
#include "nlohmann/json.hpp"
#include "output.h"

extern char** environ;

namespace {

using Json = nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs entitle-admin with `args`, feeding `input` on stdin; kills it after
// `timeout`.
Result RunTool(const std::vector<std::string>& args,
               const std::string& input = "",
               std::chrono::seconds timeout = std::chrono::seconds(120)) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  REQUIRE(pipe(in_pipe) == 0);
  REQUIRE(pipe(out_pipe) == 0);
  REQUIRE(pipe(err_pipe) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0],
                 err_pipe[1]}) {
    posix_spawn_file_actions_addclose(&actions, fd);
  }
  std::vector<std::string> argv_strings = {ENTITLE_ADMIN_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, ENTITLE_ADMIN_PATH, &actions, nullptr,
                                  argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);

  Result result;
  int in_fd = in_pipe[1];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (out_fd >= 0 || err_fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w =
            write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buffer[65536];
      ssize_t r = read(fds[i].fd, buffer, sizeof buffer);
      std::string& sink = fds[i].fd == out_fd ? result.out : result.err;
      if (r > 0) {
        sink.append(buffer, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) FAIL("entitle-admin timed out");
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The tool on one database file, fresh for each test.
class Tool {
 public:
  explicit Tool(const std::string& name) : db_(name + ".db") {
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-serving"}) {
      std::filesystem::remove(db_ + suffix);
    }
  }
  const std::string& db() const { return db_; }

  Result operator()(std::vector<std::string> args,
                    const std::string& input = "") const {
    args.insert(args.begin(), {"--db", db_});
    Result r = RunTool(args, input);
    UNSCOPED_INFO("entitle-admin " << Join(args) << "\n  exit " << r.exit_code
                                   << "\n  stdout: " << r.out
                                   << "\n  stderr: " << r.err);
    return r;
  }
  // Runs with --json and expects `exit_code`; returns the document.
  Json JsonOf(std::vector<std::string> args, int exit_code = 0) const {
    args.insert(args.begin(), "--json");
    Result r = (*this)(args);
    REQUIRE(r.exit_code == exit_code);
    return Json::parse(r.out);
  }
  // Runs and expects success.
  Result Ok(std::vector<std::string> args) const {
    Result r = (*this)(std::move(args));
    REQUIRE(r.exit_code == 0);
    return r;
  }

 private:
  static std::string Join(const std::vector<std::string>& args) {
    std::string text;
    for (const std::string& a : args) text += (text.empty() ? "" : " ") + a;
    return text.size() > 300 ? text.substr(0, 300) + "..." : text;
  }
  std::string db_;
};

// Exactly one stderr line `entitle-admin: ... (reason: <reason>)`.
void RequireErrorLine(const Result& r, const std::string& reason) {
  const std::vector<std::string> lines = Lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("entitle-admin: ", 0) == 0);
  const std::string tail = "(reason: " + reason + ")";
  REQUIRE(lines[0].size() >= tail.size());
  CHECK(lines[0].substr(lines[0].size() - tail.size()) == tail);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Anna, administrator of Acme (#1), which owns acme.example (the operator
// verified it: acme.example has no DNS zone to publish the proof in).
void SetUpAcme(const Tool& tool) {
  tool.Ok({"user", "register", "anna@acme.example", "--name", "Anna Berg",
           "--country", "SE"});
  Json org =
      tool.JsonOf({"org", "create", "Acme", "--admin", "anna@acme.example"});
  REQUIRE(org["organization"] == 1);
  Json claim = tool.JsonOf({"domain", "claim", "1", "acme.example"});
  CHECK(claim["domain"]["record_name"] == "_entitle-challenge.acme.example");
  const std::string value = claim["domain"]["record_value"];
  REQUIRE(value.rfind("entitle-domain-verification=", 0) == 0);
  REQUIRE(value.size() >= 28 + 22);
  tool.Ok({"domain", "verify", "1", "acme.example", "--operator"});
}

std::set<std::string> MemberEmails(const Tool& tool) {
  std::set<std::string> emails;
  const Json doc = tool.JsonOf({"member", "list", "1"});
  for (const Json& m : doc["members"]) {
    emails.insert(m["email"].get<std::string>());
  }
  return emails;
}

// clang-format off
TEST_CASE("SEC-4 entitle-admin: a domain is verified by its DNS TXT record, or by the operator") {
  // clang-format on
  Tool tool("dns");
  tool.Ok({"user", "register", "vera@victim.example"});
  tool.Ok({"org", "create", "Victim", "--admin", "vera@victim.example"});
  Result claimed = tool.Ok({"domain", "claim", "1", "victim.example"});
  // The record to publish is printed once, in zone-file form.
  const std::string prefix = "_entitle-challenge.victim.example  TXT  \"";
  const size_t at = claimed.out.find(prefix);
  REQUIRE(at != std::string::npos);
  const size_t start = at + prefix.size();
  const std::string value =
      claimed.out.substr(start, claimed.out.find('"', start) - start);
  REQUIRE(value.rfind("entitle-domain-verification=", 0) == 0);

  // DNS cannot be asked: nothing listens at the server given.
  const int closed = entitle_test::FreeLoopbackPort();
  Result down = tool({"--dns-server", "127.0.0.1:" + std::to_string(closed),
                      "domain", "verify", "1", "victim.example"});
  CHECK(down.exit_code == 1);
  RequireErrorLine(down, "verifier-unavailable");

  // The owner's DNS server, first without the record, then with it.
  {
    entitle_test::Dnsmasq empty(entitle_test::DnsmasqConfig{});
    Result missing =
        tool({"--dns-server", empty.server(), "domain", "verify", "1",
              "victim.example", "--as", "vera@victim.example"});
    CHECK(missing.exit_code == 1);
    RequireErrorLine(missing, "domain-proof-missing");
  }
  Json listed = tool.JsonOf({"domain", "list", "1"})["domains"];
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["status"] == "pending");
  {
    entitle_test::Dnsmasq dns(
        {.txt = {{"_entitle-challenge.victim.example", {value}}}});
    Result verified =
        tool.Ok({"--dns-server", dns.server(), "--as", "vera@victim.example",
                 "domain", "verify", "1", "victim.example"});
    CHECK(verified.out.find("by its DNS record") != std::string::npos);
  }
  listed = tool.JsonOf({"domain", "list", "1"})["domains"];
  CHECK(listed[0]["status"] == "verified");

  // --operator is the operator's alone.
  tool.Ok({"domain", "claim", "1", "victim.org"});
  Result refused = tool({"--as", "vera@victim.example", "domain", "verify", "1",
                         "victim.org", "--operator"});
  CHECK(refused.exit_code == 1);
  RequireErrorLine(refused, "permission-denied");
  Result by_operator =
      tool.Ok({"domain", "verify", "1", "victim.org", "--operator"});
  CHECK(by_operator.out.find("by the operator") != std::string::npos);
  Json audit = tool.JsonOf({"audit", "1"});
  CHECK(audit.dump().find("domain.verify.operator") != std::string::npos);
}

TEST_CASE("entitle-admin: organizations, domains, members and roles") {
  Tool tool("org");
  SetUpAcme(tool);
  Json domains = tool.JsonOf({"domain", "list", "#1"})["domains"];
  REQUIRE(domains.size() == 1);
  CHECK(domains[0]["domain"] == "acme.example");
  CHECK(domains[0]["status"] == "verified");
  CHECK(domains[0].count("verification_token") == 0);
  CHECK(domains[0]["record"] == "_entitle-challenge.acme.example");
  CHECK(domains[0].dump().find("entitle-domain-verification") ==
        std::string::npos);

  tool.Ok({"user", "register", "ben@acme.example", "--name", "Ben Okafor"});
  tool.Ok({"user", "register", "cleo@partner.example"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  tool.Ok({"member", "add", "1", "cleo@partner.example", "--kind=external"});
  // ORG-10: an address outside the organization's domains is refused.
  tool.Ok({"user", "register", "dan@elsewhere.example"});
  Result refused = tool(
      {"member", "add", "1", "dan@elsewhere.example", "--kind", "employee"});
  CHECK(refused.exit_code == 1);
  RequireErrorLine(refused, "domain-not-owned");

  Json members = tool.JsonOf({"member", "list", "1"})["members"];
  REQUIRE(members.size() == 3);
  CHECK(members[0]["email"] == "anna@acme.example");
  CHECK(members[0]["roles"] == Json::array({"Administrator"}));
  CHECK(members[1]["kind"] == "employee");
  CHECK(members[2]["kind"] == "external");

  Json role = tool.JsonOf({"role", "create", "1", "License desk",
                           "--permissions", "licenses,usage"});
  CHECK(role["role"].is_number());
  tool.Ok({"role", "grant", "1", "ben@acme.example", "license desk"});
  Json roles = tool.JsonOf({"role", "list", "1"})["roles"];
  bool found = false;
  for (const Json& r : roles) {
    if (r["name"] == "License desk") {
      found = true;
      CHECK(r["permissions"] == Json::array({"licenses", "usage"}));
      CHECK(r["built_in"] == false);
    }
  }
  CHECK(found);
  // ORG-4: roles are for employees only.
  Result external =
      tool({"role", "grant", "1", "cleo@partner.example", "License desk"});
  CHECK(external.exit_code == 1);
  RequireErrorLine(external, "not-employee");
  tool.Ok({"role", "revoke", "1", "ben@acme.example", "License desk"});

  tool.Ok({"member", "kind", "1", "ben@acme.example", "external"});
  tool.Ok({"member", "kind", "1", "ben@acme.example", "employee"});
  tool.Ok({"org", "set", "1", "--discoverable", "yes", "--name", "Acme AB"});
  Json org = tool.JsonOf({"org", "show", "1"})["organization"];
  CHECK(org["name"] == "Acme AB");
  CHECK(org["discoverable"] == true);

  Json ben = tool.JsonOf({"user", "show", "ben@acme.example"})["identity"];
  CHECK(ben["name"] == "Ben Okafor");
  CHECK(ben["verified"] == false);
  CHECK(ben["locked"] == false);

  tool.Ok({"group", "create", "1", "Design"});
  tool.Ok({"group", "add", "1", "Design", "ben@acme.example"});
  tool.Ok({"member", "remove", "1", "cleo@partner.example"});
  CHECK(MemberEmails(tool) ==
        std::set<std::string>{"anna@acme.example", "ben@acme.example"});
  // ORG-4: the last administrator stays.
  Result last = tool({"member", "remove", "1", "anna@acme.example"});
  CHECK(last.exit_code == 1);
  RequireErrorLine(last, "last-administrator");
}

TEST_CASE(
    "entitle-admin: invitations are sent per address, listed, resent "
    "and revoked") {
  Tool tool("invite");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});

  // INV-1: a result per address; a malformed one makes the exit code 3.
  Result sent = tool({"--json", "invite", "send", "1", "--kind", "employee",
                      "eva@acme.example", "not an address", "ben@acme.example",
                      "fred@acme.example"});
  REQUIRE(sent.exit_code == 3);
  RequireErrorLine(sent, "invalid-email");
  Json doc = Json::parse(sent.out);
  Json results = doc["results"];
  REQUIRE(results.size() == 4);
  CHECK(results[0]["outcome"] == "invited");
  CHECK(results[1]["outcome"] == "invalid-email");
  CHECK(results[2]["outcome"] == "already-member");
  CHECK(results[3]["outcome"] == "invited");
  CHECK(doc["error"]["reason"] == "invalid-email");
  // The mail went out, without its link.
  REQUIRE(doc["mail"].size() == 2);
  CHECK(doc["mail"][0]["template"] == "invitation");
  CHECK(doc["mail"][0].count("link") == 0);

  Json list = tool.JsonOf({"invite", "list", "1"})["invitations"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["email"] == "eva@acme.example");
  CHECK(list[0]["status"] == "New");
  const int eva = list[0]["id"];
  const int fred = list[1]["id"];

  // INV-3: a new link; the old invitation leaves the list.
  Result resent =
      tool({"--show-links", "invite", "resend", "1", std::to_string(eva)});
  REQUIRE(resent.exit_code == 0);
  CHECK(resent.out.find("mail to eva@acme.example: invitation") !=
        std::string::npos);
  CHECK(resent.out.find("link: ") != std::string::npos);
  tool.Ok({"invite", "revoke", "1", "#" + std::to_string(fred)});
  list = tool.JsonOf({"invite", "list", "1"})["invitations"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["email"] == "eva@acme.example");
  CHECK(list[0]["id"] != eva);

  // Without --show-links no token is printed.
  Result again = tool({"invite", "resend", "1", list[0]["id"].dump()});
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("link:") == std::string::npos);
  Result revoked_twice = tool({"invite", "revoke", "1", std::to_string(fred)});
  CHECK(revoked_twice.exit_code == 1);

  // INV-9: the request-to-join link's token only with --show-links.
  Json link = tool.JsonOf({"request", "link", "1"});
  CHECK(link.count("link") == 0);
  link = tool.JsonOf({"--show-links", "request", "link", "1"});
  CHECK(link["link"].get<std::string>().size() >= 22);
  CHECK(tool.JsonOf({"request", "list", "1"})["requests"].empty());
}

TEST_CASE("entitle-admin: licenses, pool access, usage and expiry") {
  Tool tool("licenses");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example", "--country", "NO"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  tool.Ok({"group", "create", "1", "Design"});
  tool.Ok({"group", "add", "1", "Design", "ben@acme.example"});

  // Entitlements are the operator's; an administrator is refused.
  Result denied = tool({"--as", "anna@acme.example", "license", "create", "1",
                        "--sku", "CAD-PRO", "--kind", "floating", "--seats",
                        "2", "--from", "2020-01-01", "--to", "2099-01-01"});
  CHECK(denied.exit_code == 1);
  RequireErrorLine(denied, "permission-denied");

  const auto now = std::chrono::system_clock::now();
  const std::time_t soon_t =
      std::chrono::system_clock::to_time_t(now + std::chrono::hours(24 * 10));
  char soon[32];
  std::strftime(soon, sizeof soon, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&soon_t));
  const int pool = tool.JsonOf({"license", "create", "1", "--sku", "CAD-PRO",
                                "--kind", "floating", "--seats", "2", "--from",
                                "2020-01-01", "--to", soon})["entitlement"];
  const int named = tool.JsonOf({"license", "create", "1", "--sku", "CAD-VIEW",
                                 "--kind", "named", "--seats", "1", "--from",
                                 "2020-01-01T00:00:00Z", "--to", "2099-01-01",
                                 "--countries", "SE,NO"})["entitlement"];
  Json list = tool.JsonOf({"license", "list", "1"})["entitlements"];
  REQUIRE(list.size() == 2);
  CHECK(list[1]["countries"] == Json::array({"NO", "SE"}));
  CHECK(list[0]["from"] == "2020-01-01T00:00:00Z");

  tool.Ok({"license", "assign", std::to_string(named), "ben@acme.example"});
  // ENT-2: one seat only; Anna's country SE is allowed but none is left.
  Result full =
      tool({"license", "assign", std::to_string(named), "anna@acme.example"});
  CHECK(full.exit_code == 1);
  RequireErrorLine(full, "licenses-exhausted");
  Json grant = tool.JsonOf({"--as", "anna@acme.example", "license", "grant",
                            std::to_string(pool), "anna@acme.example"});
  tool.Ok({"license", "grant", std::to_string(pool), "--group", "Design"});
  Result both = tool({"license", "grant", std::to_string(pool)});
  CHECK(both.exit_code == 2);

  Json holders = tool.JsonOf({"license", "holders", std::to_string(pool)});
  REQUIRE(holders["access"].size() == 2);
  CHECK(holders["access"][0]["identity"] == "anna@acme.example");
  CHECK(holders["seats"].empty());
  Json assigned = tool.JsonOf({"license", "holders", std::to_string(named)});
  REQUIRE(assigned["assignments"].size() == 1);
  CHECK(assigned["assignments"][0]["identity"] == "ben@acme.example");

  Json usage = tool.JsonOf({"usage", "1", "--window", "7d"})["usage"];
  REQUIRE(usage.size() == 2);
  CHECK(usage[0]["sku"] == "CAD-PRO");
  CHECK(usage[0]["purchased"] == 2);
  CHECK(usage[0]["with_access"] == 2);
  CHECK(usage[0]["in_use"] == 0);
  CHECK(usage[1]["with_access"] == 1);
  Result bad_window = tool({"usage", "1", "--window", "soon"});
  CHECK(bad_window.exit_code == 2);

  // ENT-9: CAD-PRO ends in 10 days.
  Json warnings = tool.JsonOf({"expiry", "1"})["warnings"];
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0]["sku"] == "CAD-PRO");
  CHECK(warnings[0]["days_left"] == 10);
  CHECK(warnings[0]["affected"].size() == 2);
  CHECK(tool.JsonOf({"expiry", "1", "--days", "5"})["warnings"].empty());

  tool.Ok({"license", "revoke", grant["grant"].dump()});
  tool.Ok({"license", "unassign", std::to_string(named), "ben@acme.example"});
  CHECK(tool.JsonOf({"usage", "1"})["usage"][1]["with_access"] == 0);
}

// clang-format off
TEST_CASE("ADM-3 entitle-admin locks, unlocks and sends a password-reset link") {
  // clang-format on
  Tool tool("adm3");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  const std::vector<std::string> as_anna = {"--as", "anna@acme.example"};
  auto as = [&](std::vector<std::string> args) {
    args.insert(args.begin(), as_anna.begin(), as_anna.end());
    return args;
  };

  Result locked = tool.Ok(as({"user", "lock", "ben@acme.example"}));
  CHECK(locked.out.find("locked ben@acme.example") != std::string::npos);
  CHECK(tool.JsonOf({"user", "show",
                     "ben@acme.example"})["identity"]["locked"] == true);
  CHECK(tool.JsonOf({"member", "list", "1"})["members"][1]["locked"] == true);
  tool.Ok(as({"user", "unlock", "ben@acme.example"}));
  CHECK(tool.JsonOf({"user", "show",
                     "ben@acme.example"})["identity"]["locked"] == false);

  // ID-6: the link goes out; it is printed only with --show-links.
  Result reset = tool.Ok(as({"user", "reset-password", "ben@acme.example"}));
  CHECK(reset.out.find("mail to ben@acme.example: password-reset") !=
        std::string::npos);
  CHECK(reset.out.find("link:") == std::string::npos);
  Json shown = tool.JsonOf(
      as({"--show-links", "user", "reset-password", "ben@acme.example"}));
  REQUIRE(shown["mail"].size() == 1);
  CHECK(shown["mail"][0]["template"] == "password-reset");
  CHECK(shown["mail"][0]["link"].get<std::string>().size() >= 22);
  Result unknown = tool(as({"user", "reset-password", "nobody@acme.example"}));
  CHECK(unknown.exit_code == 1);
  RequireErrorLine(unknown, "unknown-user");
  CHECK(unknown.err.find("Sorry, we didn't recognise this user.") !=
        std::string::npos);

  // A member without the permission may not.
  tool.Ok({"user", "register", "cleo@acme.example"});
  tool.Ok({"member", "add", "1", "cleo@acme.example", "--kind", "employee"});
  Result denied =
      tool({"--as", "cleo@acme.example", "user", "lock", "ben@acme.example"});
  CHECK(denied.exit_code == 1);
  RequireErrorLine(denied, "permission-denied");

  // ORG-12: the audit trail records Anna as the actor.
  Json audit =
      tool.JsonOf({"audit", "1", "--action", "identity.lock"})["audit"];
  REQUIRE(audit.size() >= 1);
  CHECK(audit.back()["actor"] == "anna@acme.example");
  CHECK(audit.back()["outcome"] == "ok");
  Json last = tool.JsonOf(
      {"audit", "1", "--limit", "2", "--since", "2020-01-01"})["audit"];
  CHECK(last.size() == 2);
}

// clang-format off
TEST_CASE("ADM-1 entitle-admin exports the user list; importing it after "
          "removing members restores them") {
  // clang-format on
  Tool tool("adm1");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example", "--name",
           "Ben, \"B\" Okafor", "--country", "NO"});
  tool.Ok({"user", "register", "cleo@partner.example", "--name", "Cleo Díaz"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  tool.Ok({"member", "add", "1", "cleo@partner.example", "--kind", "external"});
  tool.Ok({"role", "create", "1", "License desk", "--permissions",
           "licenses,usage"});
  tool.Ok({"role", "grant", "1", "ben@acme.example", "License desk"});
  const int named =
      tool.JsonOf({"license", "create", "1", "--sku", "CAD-VIEW", "--kind",
                   "named", "--seats", "5", "--from", "2020-01-01", "--to",
                   "2099-01-01"})["entitlement"];
  const int pool =
      tool.JsonOf({"license", "create", "1", "--sku", "CAD-PRO", "--kind",
                   "floating", "--seats", "5", "--from", "2020-01-01", "--to",
                   "2099-01-01"})["entitlement"];
  tool.Ok({"license", "assign", std::to_string(named), "ben@acme.example"});
  tool.Ok({"license", "grant", std::to_string(pool), "ben@acme.example"});
  tool.Ok({"license", "grant", std::to_string(pool), "cleo@partner.example"});

  Result exported = tool.Ok({"export", "1", "--out", "adm1-first.csv"});
  CHECK(exported.out.find("exported 3 members to adm1-first.csv") !=
        std::string::npos);
  const std::string first = ReadFile("adm1-first.csv");
  CHECK(first.rfind("email,name,kind,roles,status,last_login,licenses\r\n",
                    0) == 0);
  CHECK(first.find("\"Ben, \"\"B\"\" Okafor\"") != std::string::npos);
  CHECK(first.find("License desk") != std::string::npos);
  CHECK(first.find("CAD-PRO;CAD-VIEW") != std::string::npos);
  // To stdout, and as a JSON string.
  CHECK(tool.Ok({"export", "1"}).out == first);
  CHECK(tool.JsonOf({"export", "1"})["csv"] == first);

  tool.Ok({"member", "remove", "1", "ben@acme.example"});
  tool.Ok({"member", "remove", "1", "cleo@partner.example"});
  CHECK(MemberEmails(tool) == std::set<std::string>{"anna@acme.example"});

  Json imported = tool.JsonOf({"import", "1", "adm1-first.csv"});
  Json rows = imported["rows"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["outcome"] == "unchanged");
  CHECK(rows[1]["outcome"] == "added");
  CHECK(rows[2]["outcome"] == "added");
  CHECK(imported["summary"]["failed"] == 0);
  CHECK(imported.count("error") == 0);

  tool.Ok({"export", "1", "--out", "adm1-second.csv"});
  CHECK(ReadFile("adm1-second.csv") == first);

  // Importing it again changes nothing; from stdin too.
  Result again = tool({"import", "1", "-"}, first);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("3 rows: 0 invited, 0 added, 0 updated, 3 unchanged, 0 "
                       "failed") != std::string::npos);
}

// clang-format off
TEST_CASE("ADM-2 entitle-admin imports a damaged CSV: every good row is "
          "applied and every bad one reported") {
  // clang-format on
  Tool tool("adm2");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  std::string csv = "email,kind,name\r\n";
  csv += "ben@acme.example,employee,Ben\r\n";       // 2 added
  csv += "eva@acme.example,employee,\r\n";          // 3 invited
  csv += "\"fay@acme.example\"x,external,Fay\r\n";  // 4 bad quotes
  csv += "gus\"@acme.example,external,Gus\r\n";     // 5 bad quote
  csv += "not-an-email,external,\r\n";              // 6 bad email
  csv += "hal@acme.example,contractor,\r\n";        // 7 unknown kind
  csv += "ida@acme.example,external," + std::string(10 << 20, 'x') +
         "\r\n";                                  // 8 a 10 MB field
  csv += "jon@partner.example,external,Jon\r\n";  // 9 invited
  WriteFile("adm2.csv", csv);

  Result r = tool({"--json", "import", "1", "adm2.csv"});
  REQUIRE(r.exit_code == 3);
  RequireErrorLine(r, "malformed-csv");
  Json doc = Json::parse(r.out);
  Json rows = doc["rows"];
  REQUIRE(rows.size() == 8);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"added", ""},
      {"invited", ""},
      {"failed", "malformed-csv"},
      {"failed", "malformed-csv"},
      {"failed", "invalid-email"},
      {"failed", "invalid-argument"},
      {"failed", "limit-exceeded"},
      {"invited", ""}};
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("row " << i << ": " << rows[i].dump());
    CHECK(rows[i]["record"] == static_cast<int>(i) + 2);
    CHECK(rows[i]["line"] == static_cast<int>(i) + 2);
    CHECK(rows[i]["outcome"] == expected[i].first);
    if (expected[i].second.empty()) {
      CHECK(rows[i]["reason"].is_null());
    } else {
      CHECK(rows[i]["reason"] == expected[i].second);
      CHECK(!rows[i]["detail"].get<std::string>().empty());
    }
  }
  CHECK(doc["summary"]["rows"] == 8);
  CHECK(doc["summary"]["failed"] == 5);
  CHECK(doc["error"]["reason"] == "malformed-csv");

  // The good rows are applied, the bad ones left no trace.
  CHECK(MemberEmails(tool) ==
        std::set<std::string>{"anna@acme.example", "ben@acme.example"});
  std::set<std::string> invited;
  const Json invitations = tool.JsonOf({"invite", "list", "1"});
  for (const Json& i : invitations["invitations"]) {
    invited.insert(i["email"].get<std::string>());
  }
  CHECK(invited ==
        std::set<std::string>{"eva@acme.example", "jon@partner.example"});

  // The store still exports consistently.
  tool.Ok({"export", "1", "--out", "adm2-after.csv"});
  const std::vector<std::string> lines = Lines(ReadFile("adm2-after.csv"));
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].rfind("anna@acme.example,", 0) == 0);
  CHECK(lines[2].rfind("ben@acme.example,", 0) == 0);

  // A dry run of the same file changes nothing and says so.
  Result dry = tool({"import", "1", "adm2.csv", "--dry-run"});
  CHECK(dry.exit_code == 3);
  CHECK(dry.out.find("dry run") != std::string::npos);
  CHECK(dry.err.find("would fail") != std::string::npos);

  // A header with an unknown column refuses the whole file.
  WriteFile("adm2-header.csv",
            "email,kind,shoe_size\r\nx@acme.example,employee,9\r\n");
  Result header = tool({"import", "1", "adm2-header.csv"});
  CHECK(header.exit_code == 1);
  RequireErrorLine(header, "malformed-csv");
}

// clang-format off
TEST_CASE("ADM-2 entitle-admin reports the progress of a long import on stderr") {
  // clang-format on
  Tool tool("adm2-progress");
  SetUpAcme(tool);
  std::string csv = "email,kind\n";
  for (int i = 0; i < 12000; ++i) {
    csv += "user" + std::to_string(i) + "@acme.example,external\n";
  }
  WriteFile("adm2-progress.csv", csv);
  Result r = tool({"import", "1", "adm2-progress.csv", "--dry-run"});
  REQUIRE(r.exit_code == 0);
  // Not a terminal: one line each 5,000 rows of a file that has more.
  CHECK(Lines(r.err) ==
        std::vector<std::string>{"import: 5000 rows, 5000 ok, 0 failed",
                                 "import: 10000 rows, 10000 ok, 0 failed"});
  CHECK(r.out.find("dry run (nothing was changed): 12000 rows") !=
        std::string::npos);
  CHECK(tool.JsonOf({"invite", "list", "1"})["invitations"].empty());
}

TEST_CASE(
    "entitle-admin: errors give one stderr line and distinct exit "
    "codes") {
  Tool tool("errors");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});

  Result unknown = tool({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  RequireErrorLine(unknown, "usage");
  CHECK(unknown.err.find("see 'entitle-admin --help'") != std::string::npos);
  CHECK(unknown.out.empty());

  Result unknown_sub = tool({"user", "frobnicate"});
  CHECK(unknown_sub.exit_code == 2);
  RequireErrorLine(unknown_sub, "usage");

  Result flag = tool({"member", "list", "1", "--colour"});
  CHECK(flag.exit_code == 2);
  RequireErrorLine(flag, "usage");
  CHECK(flag.err.find("see 'entitle-admin member list --help'") !=
        std::string::npos);

  Result missing = tool({"member", "add", "1"});
  CHECK(missing.exit_code == 2);
  RequireErrorLine(missing, "usage");
  Result missing_flag = tool({"member", "add", "1", "ben@acme.example"});
  CHECK(missing_flag.exit_code == 2);
  Result bad_id = tool({"member", "list", "acme"});
  CHECK(bad_id.exit_code == 2);
  RequireErrorLine(bad_id, "usage");

  Result no_org = tool({"--json", "member", "list", "99"});
  CHECK(no_org.exit_code == 1);
  RequireErrorLine(no_org, "not-found");
  Json error = Json::parse(no_org.out)["error"];
  CHECK(error["reason"] == "not-found");
  CHECK(!error["message"].get<std::string>().empty());

  Result denied = tool({"member", "list", "1", "--as", "ben@acme.example"});
  CHECK(denied.exit_code == 1);
  RequireErrorLine(denied, "permission-denied");
  Result nobody = tool({"--as", "nobody@acme.example", "member", "list", "1"});
  CHECK(nobody.exit_code == 1);
  RequireErrorLine(nobody, "unknown-user");

  // Not an entitle database: the store is unusable.
  WriteFile("errors-corrupt.db", std::string(8192, 'x'));
  Result corrupt = RunTool({"--db", "errors-corrupt.db", "org", "show", "1"});
  CHECK(corrupt.exit_code == 4);
  CHECK(Lines(corrupt.err).size() == 1);
}

TEST_CASE("entitle-admin: --help works for the tool and every command") {
  const std::vector<std::vector<std::string>> commands = {
      {"user", "register"},
      {"user", "show"},
      {"user", "lock"},
      {"user", "unlock"},
      {"user", "reset-password"},
      {"user", "delete"},
      {"org", "create"},
      {"org", "show"},
      {"org", "set"},
      {"member", "list"},
      {"member", "add"},
      {"member", "kind"},
      {"member", "remove"},
      {"role", "list"},
      {"role", "create"},
      {"role", "grant"},
      {"role", "revoke"},
      {"group", "create"},
      {"group", "add"},
      {"domain", "claim"},
      {"domain", "verify"},
      {"domain", "list"},
      {"domain", "remove"},
      {"invite", "send"},
      {"invite", "list"},
      {"invite", "resend"},
      {"invite", "revoke"},
      {"request", "link"},
      {"request", "list"},
      {"request", "approve"},
      {"request", "reject"},
      {"license", "create"},
      {"license", "list"},
      {"license", "assign"},
      {"license", "unassign"},
      {"license", "grant"},
      {"license", "revoke"},
      {"license", "holders"},
      {"license", "release"},
      {"usage"},
      {"expiry"},
      {"serving"},
      {"sessions"},
      {"events"},
      {"audit"},
      {"export"},
      {"import"},
      {"demo"}};
  Result tool_help = RunTool({"--help"});
  CHECK(tool_help.exit_code == 0);
  for (const auto& command : commands) {
    std::string name;
    for (const std::string& word : command)
      name += (name.empty() ? "" : " ") + word;
    INFO(name);
    CHECK(tool_help.out.find("  " + name + " ") != std::string::npos);
    std::vector<std::string> args = command;
    args.push_back("--help");
    Result help = RunTool(args);
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("usage: entitle-admin") != std::string::npos);
    CHECK(help.out.find("example:") != std::string::npos);
    CHECK(help.err.empty());
    std::vector<std::string> via_help = {"help"};
    via_help.insert(via_help.end(), command.begin(), command.end());
    CHECK(RunTool(via_help).out == help.out);
  }
  CHECK(RunTool({"user", "--help"}).exit_code == 0);
  CHECK(RunTool({"help"}).exit_code == 0);
}

TEST_CASE(
    "entitle-admin: demo walks a fresh file and refuses an existing "
    "one") {
  const std::string db = "demo-e2e.db";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(db + suffix);
  }
  Result demo = RunTool({"demo", "--db", db}, "", std::chrono::seconds(300));
  INFO(demo.out << demo.err);
  REQUIRE(demo.exit_code == 0);
  CHECK(demo.out.find("demo finished: 12 steps") != std::string::npos);
  CHECK(demo.out.find("[12] ") != std::string::npos);
  // The seats read back from the activations, and the feed.
  CHECK(demo.out.find("holders from the activations:") != std::string::npos);
  CHECK(demo.out.find("events of Acme's feed:") != std::string::npos);
  CHECK(demo.out.find("(reason: invitation-superseded)") != std::string::npos);
  CHECK(demo.out.find("All license seats are reserved (reason: "
                      "seats-exhausted)") != std::string::npos);
  // The notifier prints a link as "link: <token>" on its own line.
  CHECK(demo.out.find("    link: ") == std::string::npos);
  CHECK(demo.err.empty());

  Result again = RunTool({"demo", "--db", db});
  CHECK(again.exit_code == 1);
  RequireErrorLine(again, "duplicate");
  CHECK(again.err.find("already exists") != std::string::npos);
}

// ------------------------------------------------- SEC-9, SEC-13 and --db

// Sets the umask of this process (and so of the tool it starts) for a scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  INFO(path);
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool AnyFileOf(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    if (std::filesystem::exists(db + suffix)) return true;
  }
  return false;
}

// The first character in `bytes` that a terminal could act on, described
// with its offset, or "" when there is none. The line feeds the tool writes
// are allowed. Decodes UTF-8 itself (not with the tool's code): bytes that are
// not UTF-8 count, and so do DEL, C1 controls and bidirectional controls.
std::string FirstTerminalControl(const std::string& bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const std::string at = " at offset " + std::to_string(i) + ": ..." +
                           bytes.substr(i > 20 ? i - 20 : 0, 40) + "...";
    if (lead < 0x80) {
      if ((lead < 0x20 && lead != '\n') || lead == 0x7F) {
        return "control byte " + std::to_string(lead) + at;
      }
      ++i;
      continue;
    }
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (lead < 0xC2 || lead > 0xF4 || i + length > bytes.size()) {
      return "a byte that is not UTF-8" + at;
    }
    uint32_t c = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if ((next & 0xC0) != 0x80) return "a byte that is not UTF-8" + at;
      c = (c << 6) | (next & 0x3F);
    }
    if ((length == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (length == 4 && (c < 0x10000 || c > 0x10FFFF))) {
      return "a byte that is not UTF-8" + at;
    }
    if (c <= 0x9F || c == 0x061C || c == 0x200E || c == 0x200F ||
        (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) {
      return "control character U+" + std::to_string(c) + at;
    }
    i += length;
  }
  return "";
}

// `crlf`: a CSV document's own line ends ("\r\n") are allowed on stdout.
void RequireNoTerminalControls(const Result& r, bool crlf = false) {
  std::string out = r.out;
  if (crlf) out = std::regex_replace(out, std::regex("\r\n"), "\n");
  CHECK(FirstTerminalControl(out) == "");
  CHECK(FirstTerminalControl(r.err) == "");
}

// What a hostile file or record may hold: a screen clear, an OSC 8 hyperlink
// (ending in a bell), a bare bell, a carriage return that rewrites the line,
// a right-to-left override, a C1 CSI, DEL, and the isolates. All valid UTF-8.
const std::string kClear = "\x1b[2J";
const std::string kHyperlink =
    "\x1b]8;;https://evil.example/\x07"
    "click\x1b]8;;\x07";
const std::string kRightToLeft = "\xe2\x80\xae";  // U+202E
const std::string kHostile = "Ann " + kClear + kHyperlink + " \x07X\rY " +
                             kRightToLeft + "gpj.exe \xc2\x9b" + "31m\x7f" +
                             "\xe2\x81\xa6iso\xe2\x81\xa9";
// And some bytes that are not UTF-8 (a lone CSI byte among them).
const std::string kNotUtf8 =
    "B\x9b"
    "2J\xff\xc0\xaf";

TEST_CASE("SEC-13 Escape shows every control escaped and keeps the rest") {
  using entitle_admin::Escape;
  using entitle_admin::Escaping;
  // Ordinary text, accents, scripts, emoji and backslashes are kept.
  for (const std::string kept :
       {"anna@acme.example",
        "\xc3\x85sa \xc3\x96"
        "berg",
        "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "C:\\dir\\x1b",
        "\xc2\xa0\xe2\x80\xaf\xe2\x81\xaa", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
        ""}) {
    CHECK(Escape(kept) == kept);
    CHECK(Escape(kept, Escaping::kJson) == kept);
  }
  CHECK(Escape(kClear) == "\\x1b[2J");
  CHECK(Escape(kHyperlink) ==
        "\\x1b]8;;https://evil.example/\\x07click\\x1b]8;;\\x07");
  CHECK(Escape("a\tb\nc\rd") == "a\\tb\\nc\\rd");
  CHECK(Escape(std::string("nul\0!", 5)) == "nul\\x00!");
  CHECK(Escape("del\x7f") == "del\\x7f");
  // C1 controls written as UTF-8.
  CHECK(Escape("\xc2\x80\xc2\x85\xc2\x9b\xc2\x9f") ==
        "\\u0080\\u0085\\u009b\\u009f");
  // Bidirectional controls and the line and paragraph separators.
  const std::pair<std::string, std::string> bidi[] = {
      {"\xd8\x9c", "\\u061c"},     {"\xe2\x80\x8e", "\\u200e"},
      {"\xe2\x80\x8f", "\\u200f"}, {"\xe2\x80\xa8", "\\u2028"},
      {"\xe2\x80\xa9", "\\u2029"}, {"\xe2\x80\xaa", "\\u202a"},
      {"\xe2\x80\xab", "\\u202b"}, {"\xe2\x80\xac", "\\u202c"},
      {"\xe2\x80\xad", "\\u202d"}, {"\xe2\x80\xae", "\\u202e"},
      {"\xe2\x81\xa6", "\\u2066"}, {"\xe2\x81\xa7", "\\u2067"},
      {"\xe2\x81\xa8", "\\u2068"}, {"\xe2\x81\xa9", "\\u2069"}};
  for (const auto& [raw, shown] : bidi) {
    INFO(shown);
    CHECK(Escape("a" + raw + "b") == "a" + shown + "b");
    CHECK(Escape(raw, Escaping::kJson) == shown);
  }
  // Bytes that are not UTF-8: a lone CSI byte, a stray continuation, 0xFF,
  // an overlong '/', a surrogate, a value past U+10FFFF, a cut sequence.
  CHECK(Escape("\x9b"
               "2J") == "\\x9b2J");
  CHECK(Escape("\x80\xff") == "\\x80\\xff");
  CHECK(Escape("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(Escape("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");
  CHECK(Escape("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(Escape("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(Escape("ok\xe2\x82") == "ok\\xe2\\x82");
  CHECK(Escape("\xe2\x82"
               "A") == "\\xe2\\x82A");

  // In JSON: escapes a parser reads back as the same text; the document's
  // own line breaks stay.
  const Json doc = {{"name", kHostile}};
  const std::string dumped = doc.dump(2);
  const std::string shown = Escape(dumped, Escaping::kJson);
  CHECK(FirstTerminalControl(shown) == "");
  CHECK(shown.find('\n') != std::string::npos);
  CHECK(Json::parse(shown) == doc);
  CHECK(shown.find("\\u202e") != std::string::npos);
  CHECK(shown.find("\\u009b") != std::string::npos);
  CHECK(shown.find("\\u007f") != std::string::npos);
  CHECK(Escape("\xff", Escaping::kJson) == "\\ufffd");

  // Whatever the bytes, nothing a terminal acts on is left.
  std::mt19937 random(13);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(random() % 24, '\0');
    for (char& b : bytes) b = static_cast<char>(random() % 256);
    const std::string text = Escape(bytes);
    INFO("round " << round);
    REQUIRE(FirstTerminalControl(text) == "");
    // Nothing printable is lost: a byte string without controls is kept.
    if (FirstTerminalControl(bytes).empty() &&
        bytes.find('\n') == std::string::npos) {
      REQUIRE(text == bytes);
    }
  }
}

// clang-format off
TEST_CASE("SEC-13 EscapingBuffer keeps a CSV's line ends and escapes the rest") {
  // clang-format on
  const std::string path = "sec13-buffer.txt";
  std::FILE* file = std::fopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  int64_t escaped = 0;
  {
    entitle_admin::EscapingBuffer buffer(file);
    std::ostream out(&buffer);
    out << "email,name\r\n";
    out << "a@x.example,\"" << kClear << "\"\r\n";
    out << "b@x.example,\"two\r\nlines\"\r\n";
    out.put('c');
    out << "@x.example,bell\x07 cr\r"
        << "end";
    buffer.Finish();
    escaped = buffer.escaped_lines();
  }
  std::fclose(file);
  CHECK(ReadFile(path) ==
        "email,name\r\na@x.example,\"\\x1b[2J\"\r\nb@x.example,\"two\r\n"
        "lines\"\r\nc@x.example,bell\\x07 cr\\rend");
  CHECK(escaped == 2);
}

// clang-format off
TEST_CASE("SEC-13 entitle-admin imports a CSV holding terminal escapes and prints them escaped") {
  // clang-format on
  Tool tool("sec13-import");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  // Each hostile cell reaches the report: an address that is not one is
  // echoed with its reason, and an unknown role or license is named in the
  // row's detail. The name column is read too.
  std::string csv = "email,kind,name,roles,licenses\r\n";
  csv += "ben@acme.example,employee,\"" + kHostile + "\",\"Desk" + kClear +
         "\rX" + kRightToLeft + "\",\r\n";
  csv += "\"mal" + kClear + "@acme.example\",external,Mal,,\r\n";
  csv += "\"" + kHyperlink + "@acme.example\",external,Osc,,\r\n";
  csv += "cid@acme.example,external,\"bell\x07\",,\"CAD" + kRightToLeft +
         "\x07\"\r\n";
  csv += "\"dee\r@acme.example\",external,\"cr\rname\",,\r\n";
  csv +=
      "\"x\xc2\x9b"
      "31m@acme.example\",external,C1,,\r\n";
  csv += "\"" + kNotUtf8 + "@acme.example\",external,Bytes,,\r\n";
  WriteFile("sec13-import.csv", csv);

  for (const bool json : {false, true}) {
    INFO((json ? "--json" : "text"));
    std::vector<std::string> args = {"import", "1", "sec13-import.csv",
                                     "--dry-run"};
    if (json) args.insert(args.begin(), "--json");
    Result r = tool(args);
    CHECK(r.exit_code == 3);
    RequireNoTerminalControls(r);
    if (json) {
      // The document still says exactly what the file held.
      const Json doc = Json::parse(r.out);
      REQUIRE(doc["rows"].size() == 7);
      CHECK(doc["rows"][1]["email"] == "mal" + kClear + "@acme.example");
      CHECK(doc["rows"][2]["email"] == kHyperlink + "@acme.example");
      CHECK(doc["rows"][1]["reason"] == "invalid-email");
      CHECK(doc["rows"][2]["reason"] == "invalid-email");
      CHECK(doc["rows"][0]["detail"].get<std::string>().find(
                "Desk" + kClear + "\rX" + kRightToLeft) != std::string::npos);
    } else {
      CHECK(r.out.find("mal\\x1b[2J@acme.example") != std::string::npos);
      CHECK(r.out.find("\\x1b]8;;https://evil.example/\\x07click\\x1b]8;;"
                       "\\x07@acme.example") != std::string::npos);
      CHECK(r.out.find("Desk\\x1b[2J\\rX\\u202e") != std::string::npos);
      CHECK(r.out.find("x\\u009b31m@acme.example") != std::string::npos);
      CHECK(r.out.find("B\\x9b2J\\xff\\xc0\\xaf@acme.example") !=
            std::string::npos);
      // The stderr line quotes the first failure, escaped too.
      RequireErrorLine(r, "not-found");
      CHECK(r.err.find("Desk\\x1b[2J\\rX\\u202e") != std::string::npos);
    }
  }
  // A dry run: nothing was applied.
  CHECK(MemberEmails(tool) == std::set<std::string>{"anna@acme.example"});
}

// clang-format off
TEST_CASE("SEC-13 entitle-admin prints stored names, audit records and exports with their controls escaped") {
  // clang-format on
  Tool tool("sec13-stored");
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example", "--name", "Ben"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  tool.Ok({"role", "create", "1", "Desk", "--permissions", "usage"});
  tool.Ok({"role", "grant", "1", "ben@acme.example", "Desk"});

  // Data that reached the file another way (an older version, another
  // program, plain SQL): written here through the store, unvalidated.
  {
    auto store = entitle::SqliteStore::Open(tool.db());
    REQUIRE(store.ok());
    auto txn = (*store)->Begin(entitle::TransactionMode::kWrite);
    REQUIRE(txn.ok());
    auto ben = (*txn)->identities().List(
        {.email = *entitle::Email::Parse("ben@acme.example")}, {});
    REQUIRE(ben.ok());
    REQUIRE(ben->items.size() == 1);
    entitle::IdentityRecord identity = ben->items[0];
    identity.display_name = kHostile;
    REQUIRE((*txn)->identities().Update(identity).ok());
    auto org = (*txn)->organizations().Get(entitle::OrganizationId(1));
    REQUIRE(org.ok());
    org->name = "Acme" + kClear;
    REQUIRE((*txn)->organizations().Update(*org).ok());
    auto roles = (*txn)->roles().List(
        {.organization_id = entitle::OrganizationId(1), .name = "Desk"}, {});
    REQUIRE(roles.ok());
    REQUIRE(roles->items.size() == 1);
    entitle::RoleRecord role = roles->items[0];
    role.name = "Desk" + kRightToLeft;
    REQUIRE((*txn)->roles().Update(role).ok());
    entitle::AuditRecord audit;
    audit.at = absl::Now();
    audit.organization_id = entitle::OrganizationId(1);
    audit.action = "note" + kClear;
    audit.target = kHyperlink;
    audit.outcome = "ok";
    audit.detail = kHostile + kNotUtf8;
    REQUIRE((*txn)->audit().Insert(audit).ok());
    REQUIRE((*txn)->Commit().ok());
  }

  const std::vector<std::vector<std::string>> reads = {
      {"user", "show", "ben@acme.example"},
      {"member", "list", "1"},
      {"role", "list", "1"},
      {"org", "show", "1"},
      {"audit", "1"},
      {"export", "1"}};
  for (const auto& args : reads) {
    INFO(args[0] << " " << args[1]);
    Result text = tool(args);
    CHECK(text.exit_code == 0);
    RequireNoTerminalControls(text, /*crlf=*/args[0] == "export");
    std::vector<std::string> json_args = args;
    json_args.insert(json_args.begin(), "--json");
    Result json = tool(json_args);
    CHECK(json.exit_code == 0);
    RequireNoTerminalControls(json);
    CHECK_NOTHROW(Json::parse(json.out));
  }
  Result shown = tool.Ok({"user", "show", "ben@acme.example"});
  CHECK(shown.out.find("Ann \\x1b[2J\\x1b]8;;https://evil.example/\\x07click"
                       "\\x1b]8;;\\x07 \\x07X\\rY \\u202egpj.exe \\u009b31m"
                       "\\x7f\\u2066iso\\u2069") != std::string::npos);
  CHECK(tool.Ok({"org", "show", "1"}).out.find("Acme\\x1b[2J") !=
        std::string::npos);
  CHECK(tool.Ok({"role", "list", "1"}).out.find("Desk\\u202e") !=
        std::string::npos);
  Result audit = tool.Ok({"audit", "1"});
  CHECK(audit.out.find("note\\x1b[2J") != std::string::npos);
  CHECK(audit.out.find("B\\x9b2J\\xff\\xc0\\xaf") != std::string::npos);

  // The stored data is unchanged: JSON gives it back exactly.
  CHECK(tool.JsonOf({"user", "show", "ben@acme.example"})["identity"]["name"] ==
        kHostile);
  CHECK(tool.JsonOf({"org", "show", "1"})["organization"]["name"] ==
        "Acme" + kClear);
  const Json trail = tool.JsonOf({"audit", "1", "--action", "note" + kClear});
  REQUIRE(trail["audit"].size() == 1);
  CHECK(trail["audit"][0]["target"] == kHyperlink);

  // The export: on stdout escaped, with a note on stderr; in a file exact.
  Result exported = tool.Ok({"export", "1"});
  CHECK(exported.out.find("\\x1b[2J") != std::string::npos);
  CHECK(exported.out.find("\r\n") != std::string::npos);  // CSV line ends.
  CHECK(exported.err.find("use --out FILE for the exact bytes") !=
        std::string::npos);
  tool.Ok({"export", "1", "--out", "sec13-stored.csv"});
  CHECK(ReadFile("sec13-stored.csv").find(kHostile) != std::string::npos);
  CHECK(tool.JsonOf({"export", "1"})["csv"] == ReadFile("sec13-stored.csv"));
}

// clang-format off
TEST_CASE("SEC-13 entitle-admin escapes the input it quotes in error lines") {
  // clang-format on
  Tool tool("sec13-errors");
  SetUpAcme(tool);
  const std::vector<std::vector<std::string>> refused = {
      {"frobnicate" + kClear},
      {"user", "show", "x" + kHyperlink + "@acme.example"},
      {"user", "show", "ghost" + kRightToLeft + "@acme.example"},
      {"member", "list", "1" + kClear},
      {"import", "1", "missing" + kClear + ".csv"},
      {"usage", "1", "--window", "soon\x07"},
      {"role", "grant", "1", "anna@acme.example", "No" + kClear},
      {"--as", "who\x1b[5m@acme.example", "org", "show", "1"},
      {"--json", "user", "show",
       "\xc2\x9b"
       "@acme.example"}};
  for (const auto& args : refused) {
    INFO(args[0]);
    Result r = tool(args);
    CHECK(r.exit_code != 0);
    CHECK(Lines(r.err).size() == 1);
    RequireNoTerminalControls(r);
  }
  Result quoted =
      tool({"role", "grant", "1", "anna@acme.example", "No" + kClear});
  CHECK(quoted.err.find("No\\x1b[2J") != std::string::npos);
  Result usage = tool({"member", "list", kHyperlink});
  CHECK(usage.err.find("\\x1b]8;;https://evil.example/\\x07click") !=
        std::string::npos);

  // What a write command is given reaches the store unchanged, or is
  // refused; either way what is printed is escaped.
  Result named =
      tool({"user", "register", "eve@acme.example", "--name", kHostile});
  RequireNoTerminalControls(named);
  if (named.exit_code == 0) {
    CHECK(tool.JsonOf({"user", "show",
                       "eve@acme.example"})["identity"]["name"] == kHostile);
  } else {
    CHECK(named.exit_code == 1);
    CHECK(Lines(named.err).size() == 1);
  }
}

// clang-format off
TEST_CASE("SEC-9 entitle-admin creates its database and an exported file owner-only, whatever the umask") {
  // clang-format on
  for (const mode_t mask : {mode_t{0000}, mode_t{0022}}) {
    INFO("umask " << mask);
    ScopedUmask scoped(mask);
    Tool tool("sec9-" + std::to_string(mask));
    std::filesystem::remove("sec9-export.csv");
    tool.Ok({"user", "register", "zed@acme.example", "--name", "Zed"});
    CHECK(ModeOf(tool.db()) == 0600);
    // After a write the WAL files are there for a moment only while the
    // tool runs; a second tool process keeps them: check with one open.
    {
      auto store = entitle::SqliteStore::Open(tool.db());
      REQUIRE(store.ok());
      auto txn = (*store)->Begin(entitle::TransactionMode::kWrite);
      REQUIRE(txn.ok());
      REQUIRE((*txn)->Commit().ok());
      CHECK(ModeOf(tool.db() + "-wal") == 0600);
      CHECK(ModeOf(tool.db() + "-shm") == 0600);
    }
    SetUpAcme(tool);
    tool.Ok({"export", "1", "--out", "sec9-export.csv"});
    CHECK(ModeOf("sec9-export.csv") == 0600);
    // An existing file keeps its mode.
    REQUIRE(chmod("sec9-export.csv", 0644) == 0);
    tool.Ok({"export", "1", "--out", "sec9-export.csv"});
    CHECK(ModeOf("sec9-export.csv") == 0644);
  }
}

TEST_CASE(
    "entitle-admin: a command that only reads fails on a missing --db "
    "and creates nothing") {
  const std::string db = "no-such.db";
  WriteFile("read-only.csv", "email,kind\r\nx@acme.example,external\r\n");
  const std::vector<std::vector<std::string>> reads = {
      {"user", "show", "anna@acme.example"},
      {"org", "show", "1"},
      {"member", "list", "1"},
      {"role", "list", "1"},
      {"domain", "list", "1"},
      {"invite", "list", "1"},
      {"request", "list", "1"},
      {"license", "list", "1"},
      {"license", "holders", "1"},
      {"usage", "1"},
      {"expiry", "1"},
      {"audit", "1"},
      {"export", "1"},
      {"export", "1", "--out", "read-only-export.csv"},
      {"import", "1", "read-only.csv", "--dry-run"},
      {"serving"},
      {"sessions", "1"},
      {"sessions", "1", "--hours"},
      {"events", "--limit", "5"}};
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(db + suffix);
  }
  for (const auto& command : reads) {
    for (const bool json : {false, true}) {
      std::vector<std::string> args = {"--db", db};
      if (json) args.push_back("--json");
      args.insert(args.end(), command.begin(), command.end());
      std::string named;
      for (const std::string& word : command) named += word + " ";
      INFO(named << (json ? "--json" : ""));
      Result r = RunTool(args);
      CHECK(r.exit_code == 4);
      RequireErrorLine(r, "not-found");
      CHECK(r.err.find("no database at " + db) != std::string::npos);
      if (json) {
        CHECK(Json::parse(r.out)["error"]["reason"] == "not-found");
      } else {
        CHECK(r.out.empty());
      }
      CHECK_FALSE(AnyFileOf(db));
      CHECK_FALSE(std::filesystem::exists("read-only-export.csv"));
    }
  }
  // $ENTITLE_DB is no different from --db.
  setenv("ENTITLE_DB", db.c_str(), 1);
  Result from_env = RunTool({"member", "list", "1"});
  unsetenv("ENTITLE_DB");
  CHECK(from_env.exit_code == 4);
  CHECK_FALSE(AnyFileOf(db));

  // A command that changes something creates the file; then reads work.
  Result made = RunTool({"--db", db, "user", "register", "anna@acme.example"});
  CHECK(made.exit_code == 0);
  CHECK(std::filesystem::exists(db));
  Result shown = RunTool({"--db", db, "user", "show", "anna@acme.example"});
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find("anna@acme.example") != std::string::npos);
}

// ---------------------------------------------------------------- activations

// The process that serves the seats of the tool's database: a Directory in
// this test process over the same SQLite file, with a clock of its own. Once
// it checks out it holds the serving claim and its OS lock, so entitle-admin
// is "another process" (ACT-5).
struct SeatServer {
  SeatServer(const std::string& db, absl::Time start) : clock(start) {
    auto opened = entitle::SqliteStore::Open(db);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    entitle::DirectoryOptions options;
    options.clock = &clock;
    directory = std::make_unique<entitle::Directory>(*store, options);
  }
  entitle::IdentityId Id(const std::string& email) {
    auto found =
        directory->identities().FindByEmail(entitle::Actor::Operator(), email);
    REQUIRE(found.ok());
    return found->id;
  }
  entitle::Licenses& licenses() { return directory->licenses(); }

  entitle::FakeClock clock;
  std::unique_ptr<entitle::SqliteStore> store;
  std::unique_ptr<entitle::Directory> directory;
};

// Acme (#1) with Anna and Ben, and a floating CAD-PRO pool of `seats` that
// both may use. Returns the pool's entitlement id.
int SetUpPool(const Tool& tool, int seats) {
  SetUpAcme(tool);
  tool.Ok({"user", "register", "ben@acme.example"});
  tool.Ok({"member", "add", "1", "ben@acme.example", "--kind", "employee"});
  const int pool =
      tool.JsonOf({"license", "create", "1", "--sku", "CAD-PRO", "--kind",
                   "floating", "--seats", std::to_string(seats), "--from",
                   "2020-01-01", "--to", "2099-01-01"})["entitlement"];
  for (const char* who : {"anna@acme.example", "ben@acme.example"}) {
    tool.Ok({"license", "grant", std::to_string(pool), who});
  }
  return pool;
}

// clang-format off
TEST_CASE("ACT-5 entitle-admin shows another process's holders and usage from the activations and force-releases a seat") {
  // clang-format on
  Tool tool("act5");
  const int pool = SetUpPool(tool, 2);
  const std::string e = std::to_string(pool);
  // Nobody serves yet.
  Result nobody = tool.Ok({"serving"});
  CHECK(nobody.out.find("no process serves") != std::string::npos);
  CHECK(tool.JsonOf({"serving"})["serving"].is_null());
  // The tool never serves: its reads of the seats take no claim and no lock.
  CHECK(tool.JsonOf({"license", "holders", e})["seats"].empty());
  CHECK(tool.JsonOf({"usage", "1"})["usage"][0]["in_use"] == 0);
  CHECK_FALSE(std::filesystem::exists(tool.db() + "-serving"));
  CHECK(tool.JsonOf({"serving"})["serving"].is_null());

  SeatServer server(tool.db(), absl::Now());
  const entitle::IdentityId anna = server.Id("anna@acme.example");
  const entitle::IdentityId ben = server.Id("ben@acme.example");
  REQUIRE(server.licenses()
              .Checkout(anna, "CAD-PRO", entitle::DeviceId("anna-laptop"))
              .ok());
  REQUIRE(server.licenses()
              .Checkout(ben, "CAD-PRO", entitle::DeviceId("ben-ws"))
              .ok());
  REQUIRE(server.licenses().FlushActivations().ok());

  // ACT-3: the tool names the serving process.
  Json serving = tool.JsonOf({"serving"})["serving"];
  CHECK(serving["holder"] == "entitle");
  CHECK(serving["process"] == static_cast<int64_t>(getpid()));
  CHECK(serving["epoch"].get<int64_t>() >= 1);
  CHECK(tool.Ok({"serving"}).out.find("process") != std::string::npos);

  // The holders and the seats in use, from the activations.
  Json holders = tool.JsonOf({"license", "holders", e})["seats"];
  REQUIRE(holders.size() == 2);
  std::set<std::string> held;
  for (const Json& h : holders) {
    held.insert(h["identity"].get<std::string>() + " " +
                h["device"].get<std::string>());
  }
  CHECK(held == std::set<std::string>{"anna@acme.example anna-laptop",
                                      "ben@acme.example ben-ws"});
  Json usage = tool.JsonOf({"usage", "1"})["usage"];
  REQUIRE(usage.size() == 1);
  CHECK(usage[0]["in_use"] == 2);

  // Refusals: an unknown entitlement, a device that holds no seat, a
  // malformed identity, and an administrator of another organization.
  Result unknown = tool({"license", "release", "99", "ben@acme.example", "x"});
  CHECK(unknown.exit_code == 1);
  RequireErrorLine(unknown, "not-found");
  Result not_held =
      tool({"license", "release", e, "ben@acme.example", "ben-laptop"});
  CHECK(not_held.exit_code == 1);
  RequireErrorLine(not_held, "seat-not-held");
  Result bad_id = tool({"license", "release", e, "ben", "ben-ws"});
  CHECK(bad_id.exit_code == 2);
  RequireErrorLine(bad_id, "usage");
  tool.Ok({"user", "register", "greta@globex.example"});
  tool.Ok({"org", "create", "Globex", "--admin", "greta@globex.example"});
  Result other_org = tool({"--as", "greta@globex.example", "license", "release",
                           e, "ben@acme.example", "ben-ws"});
  CHECK(other_org.exit_code == 1);
  RequireErrorLine(other_org, "permission-denied");
  CHECK(tool.JsonOf({"license", "holders", e})["seats"].size() == 2);

  // The force release, by Anna (by identity id), audited.
  Result released = tool({"--as", "anna@acme.example", "license", "release", e,
                          std::to_string(ben.value()), "ben-ws"});
  REQUIRE(released.exit_code == 0);
  CHECK(released.out.find("released the CAD-PRO seat of ben@acme.example on "
                          "device ben-ws") != std::string::npos);
  Json audit =
      tool.JsonOf({"audit", "1", "--action", "seat.force_release"})["audit"];
  REQUIRE(audit.size() == 1);
  CHECK(audit[0]["actor"] == "anna@acme.example");
  holders = tool.JsonOf({"license", "holders", e})["seats"];
  REQUIRE(holders.size() == 1);
  CHECK(holders[0]["identity"] == "anna@acme.example");
  CHECK(tool.JsonOf({"usage", "1"})["usage"][0]["in_use"] == 1);

  // The serving process frees the seat at its next flush; Ben's next
  // heartbeat is refused.
  REQUIRE(server.licenses().FlushActivations().ok());
  auto seats = server.licenses().Holders(entitle::Actor::Operator(),
                                         entitle::EntitlementId(pool));
  REQUIRE(seats.ok());
  REQUIRE(seats->size() == 1);
  CHECK(seats->front().key.identity == anna);
  auto beat = server.licenses().Heartbeat(ben, entitle::EntitlementId(pool),
                                          entitle::DeviceId("ben-ws"));
  CHECK(entitle::GetReason(beat.status()) == entitle::Reason::kForceReleased);
  CHECK(server.licenses()
            .Heartbeat(anna, entitle::EntitlementId(pool),
                       entitle::DeviceId("anna-laptop"))
            .ok());
  Result again = tool({"license", "release", e, "ben@acme.example", "ben-ws"});
  CHECK(again.exit_code == 1);
  RequireErrorLine(again, "seat-not-held");
}

// clang-format off
TEST_CASE("ACT-6 entitle-admin lists an organization's sessions and exports the hours per identity") {
  // clang-format on
  Tool tool("act6");
  const int pool = SetUpPool(tool, 2);
  {
    // Anna holds a seat for two hours, ending an hour ago; Ben for half an
    // hour, ending now.
    SeatServer server(tool.db(), absl::Now() - absl::Hours(3));
    const entitle::IdentityId anna = server.Id("anna@acme.example");
    const entitle::IdentityId ben = server.Id("ben@acme.example");
    const entitle::EntitlementId id(pool);
    REQUIRE(server.licenses()
                .Checkout(anna, "CAD-PRO", entitle::DeviceId("anna-laptop"))
                .ok());
    server.clock.Advance(absl::Hours(2));
    REQUIRE(server.licenses()
                .Release(anna, id, entitle::DeviceId("anna-laptop"))
                .ok());
    server.clock.Advance(absl::Minutes(30));
    REQUIRE(server.licenses()
                .Checkout(ben, "CAD-PRO", entitle::DeviceId("ben-ws"))
                .ok());
    server.clock.Advance(absl::Minutes(30));
    REQUIRE(
        server.licenses().Release(ben, id, entitle::DeviceId("ben-ws")).ok());
    REQUIRE(server.licenses().FlushActivations().ok());
  }

  Json sessions = tool.JsonOf({"sessions", "1"})["sessions"];
  REQUIRE(sessions.size() == 2);
  CHECK(sessions[0]["identity"] == "anna@acme.example");
  CHECK(sessions[0]["device"] == "anna-laptop");
  CHECK(sessions[0]["end_reason"] == "released");
  CHECK(sessions[0]["hours"].get<double>() == Approx(2.0).margin(0.01));
  CHECK(sessions[1]["identity"] == "ben@acme.example");
  CHECK(sessions[1]["hours"].get<double>() == Approx(0.5).margin(0.01));

  Result hours = tool.Ok({"sessions", "1", "--hours"});
  const std::vector<std::string> lines = Lines(hours.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "email,identity,sessions,hours\r");
  std::set<std::string> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    rows.insert(line.substr(0, line.find(',')) + " " +
                line.substr(line.rfind(',', line.rfind(',') - 1) + 1));
  }
  CHECK(rows == std::set<std::string>{"anna@acme.example 1,2.00\r",
                                      "ben@acme.example 1,0.50\r"});
  Result csv = tool.Ok({"sessions", "1", "--csv"});
  CHECK(csv.out.rfind("email,identity,device,sku,start,end,end_reason,hours",
                      0) == 0);
  CHECK(csv.out.find("anna-laptop,CAD-PRO,") != std::string::npos);
  CHECK(tool.JsonOf({"sessions", "1", "--hours"})["csv"].get<std::string>() ==
        hours.out);

  // A range that ends before the sessions holds none.
  CHECK(tool.JsonOf({"sessions", "1", "--from", "2026-01-01", "--to",
                     "2026-01-02T00:00:00Z"})["sessions"]
            .empty());

  // Bad input.
  Result bad_time = tool({"sessions", "1", "--from", "last tuesday"});
  CHECK(bad_time.exit_code == 2);
  RequireErrorLine(bad_time, "usage");
  CHECK(bad_time.err.find("'last tuesday' is not a date") != std::string::npos);
  Result backwards =
      tool({"sessions", "1", "--from", "2026-02-01", "--to", "2026-01-01"});
  CHECK(backwards.exit_code == 2);
  RequireErrorLine(backwards, "usage");
  Result both = tool({"sessions", "1", "--csv", "--hours"});
  CHECK(both.exit_code == 2);
  Result unknown = tool({"sessions", "9"});
  CHECK(unknown.exit_code == 1);
  RequireErrorLine(unknown, "not-found");
  Result member = tool({"--as", "ben@acme.example", "sessions", "1"});
  CHECK(member.exit_code == 1);
  RequireErrorLine(member, "permission-denied");
  CHECK(tool.JsonOf({"--as", "anna@acme.example", "sessions", "1"})["sessions"]
            .size() == 2);
}

// clang-format off
TEST_CASE("ACT-7 entitle-admin reads the event feed in order, after an id") {
  // clang-format on
  Tool tool("act7");
  const int pool = SetUpPool(tool, 1);
  {
    SeatServer server(tool.db(), absl::Now());
    const entitle::IdentityId anna = server.Id("anna@acme.example");
    const entitle::IdentityId ben = server.Id("ben@acme.example");
    REQUIRE(server.licenses()
                .Checkout(anna, "CAD-PRO", entitle::DeviceId("anna-laptop"))
                .ok());
    REQUIRE(server.licenses().FlushActivations().ok());
    // The one seat is taken: Ben is refused.
    auto refused =
        server.licenses().Checkout(ben, "CAD-PRO", entitle::DeviceId("ben-ws"));
    REQUIRE(entitle::GetReason(refused.status()) ==
            entitle::Reason::kSeatsExhausted);
    REQUIRE(server.licenses().FlushActivations().ok());
    REQUIRE(server.licenses()
                .Release(anna, entitle::EntitlementId(pool),
                         entitle::DeviceId("anna-laptop"))
                .ok());
    REQUIRE(server.licenses().FlushActivations().ok());
  }

  // The whole feed: the domain events of the set-up, then the seat events.
  Json all = tool.JsonOf({"events", "--limit", "1000"})["events"];
  REQUIRE(all.size() >= 3);
  for (size_t i = 1; i < all.size(); ++i) {
    CHECK(all[i]["id"].get<int64_t>() > all[i - 1]["id"].get<int64_t>());
  }
  std::vector<Json> seat_events;
  for (const Json& ev : all) {
    if (ev["kind"] != "employee-organization-changed")
      seat_events.push_back(ev);
  }
  REQUIRE(seat_events.size() == 3);
  CHECK(seat_events[0]["kind"] == "checkout");
  CHECK(seat_events[0]["organization"] == 1);
  CHECK(seat_events[0]["entitlement"] == pool);
  CHECK(seat_events[0]["identity"] == "anna@acme.example");
  CHECK(seat_events[0]["device"] == "anna-laptop");
  CHECK(seat_events[1]["kind"] == "refusal");
  CHECK(seat_events[1]["identity"] == "ben@acme.example");
  CHECK(seat_events[1]["device"] == "ben-ws");
  CHECK(seat_events[1]["reason"] == "seats-exhausted");
  CHECK(seat_events[2]["kind"] == "release");

  // --limit 3: the first three, ids increasing; reading on after an id
  // gives the ones that follow it.
  Json first = tool.JsonOf({"events", "--limit", "3"})["events"];
  REQUIRE(first.size() == 3);
  for (size_t i = 0; i < first.size(); ++i) CHECK(first[i] == all[i]);
  Json rest = tool.JsonOf(
      {"events", "--after", all[0]["id"].dump(), "--limit", "2"})["events"];
  REQUIRE(rest.size() == 2);
  CHECK(rest[0] == all[1]);
  CHECK(rest[1] == all[2]);
  CHECK(tool.JsonOf({"events", "--after", all.back()["id"].dump()})["events"]
            .empty());
  Result text = tool.Ok({"events"});
  CHECK(text.out.find("seats-exhausted") != std::string::npos);
  CHECK(text.out.find("KIND") != std::string::npos);

  // An administrator reads its own organization's, naming it.
  Json own = tool.JsonOf(
      {"--as", "anna@acme.example", "events", "--org", "1"})["events"];
  CHECK(own.dump().find("seats-exhausted") != std::string::npos);
  Result unnamed = tool({"--as", "anna@acme.example", "events"});
  CHECK(unnamed.exit_code == 1);
  RequireErrorLine(unnamed, "permission-denied");
  Result member = tool({"--as", "ben@acme.example", "events", "--org", "1"});
  CHECK(member.exit_code == 1);
  RequireErrorLine(member, "permission-denied");

  // Bad input.
  for (const char* limit : {"0", "1001", "many"}) {
    Result bad = tool({"events", "--limit", limit});
    CHECK(bad.exit_code == 2);
    RequireErrorLine(bad, "usage");
  }
  Result bad_after = tool({"events", "--after", "-3"});
  CHECK(bad_after.exit_code == 2);
  Result unknown_org = tool({"events", "--org", "9"});
  CHECK(unknown_org.exit_code == 1);
  RequireErrorLine(unknown_org, "not-found");
  Result bad_org = tool({"events", "--org", "acme"});
  CHECK(bad_org.exit_code == 2);
  RequireErrorLine(bad_org, "usage");
}

}  // namespace
