// entitle-admin: the command-line admin tool over an entitle SQLite file.
//
//   entitle-admin [--db FILE] [--as EMAIL] [--json] [--show-links]
//   [--dns-server ADDR] <command> [args]
//
// main() parses the global flags (accepted before or after the command),
// finds the command among the declarations of the commands_*.cc files, checks
// its arguments and flags against the declaration, opens the store and a
// Directory over it, and runs the command. See `entitle-admin --help`.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "command.h"
#include "context.h"
#include "entitle/directory.h"
#include "entitle/domain_verifier.h"
#include "entitle/sqlite_store.h"
#include "fmt/core.h"
#include "output.h"

namespace entitle_admin {
namespace {

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> all = [] {
    std::vector<Command> commands;
    for (auto make : {PeopleCommands, OrganizationCommands, LicenseCommands,
                      ListCommands, DemoCommands}) {
      for (Command& c : make()) commands.push_back(std::move(c));
    }
    // Listed in the order an organization's life needs them.
    constexpr std::string_view kOrder[] = {
        "user",     "org",     "domain",  "member", "role",   "group",
        "invite",   "request", "license", "usage",  "expiry", "serving",
        "sessions", "events",  "audit",   "export", "import", "demo"};
    auto rank = [&](const Command& c) {
      const std::string group = c.name.substr(0, c.name.find(' '));
      return std::find(std::begin(kOrder), std::end(kOrder), group) -
             std::begin(kOrder);
    };
    std::stable_sort(
        commands.begin(), commands.end(),
        [&](const Command& a, const Command& b) { return rank(a) < rank(b); });
    return commands;
  }();
  return all;
}

// The first word of a command's name: "user" for "user lock".
std::string GroupOf(const std::string& name) {
  return name.substr(0, name.find(' '));
}

std::vector<const Command*> CommandsOfGroup(std::string_view group) {
  std::vector<const Command*> found;
  for (const Command& c : AllCommands()) {
    if (GroupOf(c.name) == group) found.push_back(&c);
  }
  return found;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& c : AllCommands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string Synopsis(const Command& c) {
  std::string text = "entitle-admin [global flags] " + c.name;
  for (const std::string& arg : c.args) text += " " + arg;
  for (const Flag& f : c.flags) {
    std::string flag = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
    text += f.required ? " " + flag : " [" + flag + "]";
  }
  return text;
}

constexpr char kGlobalFlagsHelp[] =
    "global flags (before or after the command):\n"
    "  --db FILE      the SQLite file (default: $ENTITLE_DB, else "
    "./entitle.db);\n"
    "                 a command that changes something creates it "
    "(owner-only);\n"
    "                 one that only reads (list, show, export, audit, "
    "--dry-run)\n"
    "                 fails on a missing file and creates nothing\n"
    "  --as EMAIL     act as this identity: its permissions apply and the "
    "audit\n"
    "                 trail records it (default: the operator)\n"
    "  --json         print one JSON document on stdout\n"
    "  --show-links   print the links in the mail this command sends (live\n"
    "                 credentials: keep them out of logs)\n"
    "  --dns-server ADDR\n"
    "                 the DNS server(s) 'domain verify' asks, IP[:PORT],\n"
    "                 comma-separated (default: the system resolver)\n"
    "  --help         this help ('entitle-admin help COMMAND' for one "
    "command)\n";

constexpr char kExitCodesHelp[] =
    "exit codes: 0 ok; 1 refused or failed (the reason is printed); 2 usage "
    "error;\n"
    "            3 partly done (some rows or addresses failed); 4 store "
    "missing,\n"
    "            unavailable or corrupt\n";

void PrintToolHelp() {
  fmt::print(
      "entitle-admin: administer identities, organizations, invitations and\n"
      "licenses in an entitle SQLite file.\n\n"
      "usage: entitle-admin [--db FILE] [--as EMAIL] [--json] [--show-links] "
      "COMMAND [ARGS]\n\n"
      "commands:\n");
  size_t width = 0;
  for (const Command& c : AllCommands()) width = std::max(width, c.name.size());
  for (const Command& c : AllCommands()) {
    fmt::print("  {:<{}}  {}\n", c.name, width, c.summary);
  }
  fmt::print(
      "\nORG is an organization id (3 or #3); members and identities "
      "are named by\nemail; invitations, join requests, entitlements "
      "and pool grants by id.\n\n{}\n{}\n"
      "example: entitle-admin --db acme.db member list 1\n",
      kGlobalFlagsHelp, kExitCodesHelp);
}

void PrintGroupHelp(std::string_view group) {
  fmt::print("entitle-admin {}: one of\n", group);
  for (const Command* c : CommandsOfGroup(group)) {
    fmt::print("  {:<22} {}\n", c->name, c->summary);
  }
  fmt::print("\nsee 'entitle-admin {} <subcommand> --help'\n", group);
}

// `text` broken into lines of at most `width` characters.
std::string Wrap(std::string_view text, size_t width) {
  std::string wrapped;
  size_t line = 0;
  for (absl::string_view word :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ' ',
                      absl::SkipEmpty())) {
    if (line > 0 && line + 1 + word.size() > width) {
      wrapped += '\n';
      line = 0;
    } else if (line > 0) {
      wrapped += ' ';
      ++line;
    }
    wrapped.append(word.data(), word.size());
    line += word.size();
  }
  return wrapped;
}

void PrintCommandHelp(const Command& c) {
  fmt::print("usage: {}\n\n{}\n", Synopsis(c), Wrap(c.description, 78));
  if (!c.flags.empty()) {
    fmt::print("\nflags:\n");
    for (const Flag& f : c.flags) {
      std::string name = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
      fmt::print("  {:<28} {}{}\n", name, f.help,
                 f.required ? " (required)" : "");
    }
  }
  fmt::print("\n{}\nexample:\n  {}\n", kGlobalFlagsHelp, c.example);
}

// One line on stderr (and the error document with --json); exit 2.
int UsageFailure(const GlobalOptions& options, std::string_view message,
                 std::string_view help_for) {
  Output out(options.json);
  out.Error(fmt::format("{}; see 'entitle-admin {}--help'", message,
                        help_for.empty() ? "" : std::string(help_for) + " "),
            "usage");
  out.Finish();
  return kExitUsage;
}

int Main(int argc, char** argv) {
  GlobalOptions options;
  bool help = false;
  std::vector<std::string> rest;

  // Pass 1: the global flags, wherever they are.
  const std::vector<std::string> argv_all(argv + 1, argv + argc);
  for (size_t i = 0; i < argv_all.size(); ++i) {
    const std::string& arg = argv_all[i];
    if (arg == "--") {
      rest.insert(rest.end(), argv_all.begin() + i, argv_all.end());
      break;
    }
    auto value_of = [&](std::string_view flag,
                        std::optional<std::string>& value) -> int {
      // "--db FILE" or "--db=FILE": 1 taken, 0 not this flag, -1 missing.
      const std::string prefix = "--" + std::string(flag);
      if (arg == prefix) {
        if (i + 1 >= argv_all.size()) return -1;
        value = argv_all[++i];
        return 1;
      }
      if (absl::StartsWith(arg, prefix + "=")) {
        value = arg.substr(prefix.size() + 1);
        return 1;
      }
      return 0;
    };
    std::optional<std::string> value;
    int taken = value_of("db", value);
    if (taken == 1) {
      options.db = *value;
      continue;
    }
    if (taken == 0) taken = value_of("as", value);
    if (taken == 1) {
      options.as = *value;
      continue;
    }
    if (taken == 0) taken = value_of("dns-server", value);
    if (taken == 1) {
      for (absl::string_view server : absl::StrSplit(*value, ',')) {
        if (!server.empty()) options.dns_servers.emplace_back(server);
      }
      continue;
    }
    if (taken == -1) {
      return UsageFailure(options, fmt::format("{} needs a value", arg), "");
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--show-links") {
      options.show_links = true;
    } else if (arg == "--help" || arg == "-h") {
      help = true;
    } else {
      rest.push_back(arg);
    }
  }

  // The command: one word, or a group and a subcommand.
  size_t used = 0;
  if (!rest.empty() && rest[0] == "help") {
    help = true;
    used = 1;
  }
  if (used >= rest.size() || absl::StartsWith(rest[used], "-")) {
    if (help) {
      PrintToolHelp();
      return kExitOk;
    }
    return UsageFailure(options,
                        rest.empty()
                            ? "no command given"
                            : fmt::format("unknown flag '{}'", rest[0]),
                        "");
  }
  const std::string group = rest[used++];
  const Command* command = FindCommand(group);
  if (command == nullptr) {
    if (CommandsOfGroup(group).empty()) {
      return UsageFailure(options, fmt::format("unknown command '{}'", group),
                          "");
    }
    if (used >= rest.size() || absl::StartsWith(rest[used], "-")) {
      if (help) {
        PrintGroupHelp(group);
        return kExitOk;
      }
      return UsageFailure(options,
                          fmt::format("'{}' needs a subcommand", group), group);
    }
    command = FindCommand(group + " " + rest[used]);
    if (command == nullptr) {
      return UsageFailure(
          options, fmt::format("unknown command '{} {}'", group, rest[used]),
          group);
    }
    ++used;
  }
  if (help) {
    PrintCommandHelp(*command);
    return kExitOk;
  }

  // Pass 2: the command's own arguments and flags.
  Args args;
  bool only_positional = false;
  for (size_t i = used; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    if (only_positional || !absl::StartsWith(arg, "--")) {
      if (arg == "--") {
        only_positional = true;
        continue;
      }
      args.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const Flag* flag = nullptr;
    for (const Flag& f : command->flags) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) {
      return UsageFailure(options, fmt::format("unknown flag '--{}'", name),
                          command->name);
    }
    if (flag->value.empty()) {
      args.flags[name] = "";
    } else if (inline_value) {
      args.flags[name] = *inline_value;
    } else if (i + 1 < rest.size()) {
      args.flags[name] = rest[++i];
    } else {
      return UsageFailure(
          options, fmt::format("--{} needs a value ({})", name, flag->value),
          command->name);
    }
  }
  size_t required = 0;
  bool variadic = false;
  for (const std::string& a : command->args) {
    if (!absl::StartsWith(a, "[")) ++required;
    variadic = variadic || absl::EndsWith(a, "...");
  }
  if (args.positional.size() < required) {
    std::string missing = command->args[args.positional.size()];
    if (absl::EndsWith(missing, "...")) missing.resize(missing.size() - 3);
    return UsageFailure(options, fmt::format("missing argument {}", missing),
                        command->name);
  }
  if (!variadic && args.positional.size() > command->args.size()) {
    return UsageFailure(options,
                        fmt::format("unexpected argument '{}'",
                                    args.positional[command->args.size()]),
                        command->name);
  }
  for (const Flag& f : command->flags) {
    if (f.required && !args.Has(f.name)) {
      return UsageFailure(options,
                          fmt::format("missing --{} {}", f.name, f.value),
                          command->name);
    }
  }

  if (options.db.empty()) {
    const char* env = std::getenv("ENTITLE_DB");
    options.db = env != nullptr && *env != '\0' ? env : "./entitle.db";
  }
  if (command->run_alone != nullptr) return command->run_alone(options, args);

  // Open the store and the services over it.
  Output out(options.json);
  auto finish = [&](int code) {
    out.Finish();
    return code;
  };
  int open_failed = kExitOk;
  // A command that changes nothing never creates the file: a mistyped --db
  // fails instead of leaving an empty database behind.
  const bool create = !command->read_only && !args.Has("dry-run");
  std::unique_ptr<entitle::SqliteStore> store =
      OpenStore(options.db, create, out, &open_failed);
  if (store == nullptr) return finish(open_failed);
  PrintingNotifier notifier(out, options.show_links);
  // SEC-4: domain proofs are read from DNS (the system resolver unless
  // --dns-server names others).
  entitle::DnsDomainVerifier dns(
      entitle::DnsVerifierOptions{.servers = options.dns_servers});
  entitle::DirectoryOptions directory_options;
  directory_options.notifier = &notifier;
  directory_options.domain_verifier = &dns;
  // ACT-5: the tool never checks out, so it never serves the store's seats
  // (no serving claim, no lock file): the seats it shows and force-releases
  // are the activations the serving process wrote to the store.
  entitle::Directory directory(*store, directory_options);
  Context context(directory, *store, out);
  context.set_command(command->name);
  context.set_show_links(options.show_links);
  if (options.as) {
    absl::StatusOr<entitle::IdentityId> actor = context.Identity(*options.as);
    if (!actor.ok()) return finish(context.Fail(actor.status()));
    context.set_actor(entitle::Actor::Identity(*actor));
  }
  return finish(command->run(context, args));
}

}  // namespace
}  // namespace entitle_admin

int main(int argc, char** argv) { return entitle_admin::Main(argc, argv); }
