// How entitle-admin's commands are declared: each is a `Command` with its
// arguments, flags, help text and the function that runs it. main.cc parses
// the command line against these declarations, so every command gets the same
// flag handling, usage errors and --help.
#ifndef ENTITLE_EXAMPLES_ADMIN_COMMAND_H_
#define ENTITLE_EXAMPLES_ADMIN_COMMAND_H_

#include <map>
#include <string>
#include <vector>

namespace entitle_admin {

class Context;
struct GlobalOptions;

// Exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,    // The operation was refused or failed (a Reason).
  kExitUsage = 2,      // Unknown command or flag, missing argument.
  kExitPartial = 3,    // Some rows or addresses of a bulk command failed.
  kExitStoreDown = 4,  // The store is missing, unavailable or corrupt.
};

struct Flag {
  std::string name;   // Without the leading "--".
  std::string value;  // Placeholder such as "N"; empty for a switch.
  std::string help;
  bool required = false;
};

// A command's arguments after parsing: positionals in order and flags by
// name (a switch maps to "").
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::string Get(const std::string& flag,
                  const std::string& fallback = "") const {
    auto it = flags.find(flag);
    return it == flags.end() ? fallback : it->second;
  }
};

struct Command {
  std::string name;  // "user lock"
  // Positional arguments: "EMAIL" required, "[EMAIL]" optional, "ID..." one
  // or more.
  std::vector<std::string> args;
  std::vector<Flag> flags;
  std::string summary;      // One line, for the command lists.
  std::string description;  // What it does, in a few sentences.
  std::string example;
  // Runs with an open store; returns the exit code.
  int (*run)(Context& context, const Args& args) = nullptr;
  // Runs instead of `run` for a command that opens its own store (demo).
  int (*run_alone)(const GlobalOptions& options, const Args& args) = nullptr;
  // A command that changes nothing (a list, a show, the export) opens an
  // existing database only: on a missing --db file it fails and creates
  // nothing. So does any command run with --dry-run. The others create the
  // file (owner-only) when it does not exist yet.
  bool read_only = false;
};

// For the declarations: `{..., Run, nullptr, kReadOnly}`.
inline constexpr bool kReadOnly = true;

// The commands of each file, in the order the help lists them.
std::vector<Command> PeopleCommands();        // user, member, role, group
std::vector<Command> OrganizationCommands();  // org, domain, invite, request
std::vector<Command> LicenseCommands();       // license, usage, expiry
std::vector<Command> ListCommands();          // audit, export, import
std::vector<Command> DemoCommands();          // demo

}  // namespace entitle_admin

#endif  // ENTITLE_EXAMPLES_ADMIN_COMMAND_H_
