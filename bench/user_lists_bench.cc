// The user list as CSV at company scale (ADM-1, ADM-2) on a SQLite file
// (synchronous FULL, the default).
//
//   - Import/<rows>/<rows per transaction>: a fresh file holding organization
//     Acme (owning acme.example) and rows/2 verified identities @acme.example;
//     the CSV (read from a file, as the admin tool does) adds each of those
//     as an employee with a named license and invites rows/2 new external
//     addresses. The file and the identities are made outside the timing.
//     rows_per_transaction 1 is a commit (and a disk sync) per row, the
//     default 256 batches rows under savepoints.
//   - Export/<rows>: the organization's list written as CSV after an import.
// Counters: rows/s, and the process's peak resident set (ru_maxrss) after
// the benchmark — run one benchmark at a time for a clean peak:
//
//   build/release/bench/user_lists_bench --benchmark_filter='Import/100000/256'
//   build/release/bench/user_lists_bench
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"
#include "entitle/user_lists.h"

namespace {

using namespace entitle;

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "entitle-bench-XXXXXX")
            .string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const char* name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

// Hands each message to nobody, as a host's mail queue would take it: the
// default in-memory notifier would keep 50,000 invitations in the process.
class DiscardingNotifier final : public Notifier {
 public:
  void Send(const Notification&) override {}
};

// A fresh store with Acme, its administrator, `existing` identities on its
// domain, a named CAD entitlement with a license for each, and the CSV file.
struct World {
  World(int64_t rows, TempDir& dir) : csv_path(dir.File("users.csv")) {
    auto opened = SqliteStore::Open(dir.File("store.db"));
    if (!opened.ok()) {
      Fail(opened.status());
      return;
    }
    store = *std::move(opened);
    DirectoryOptions options;
    options.clock = &clock;
    options.hasher = &hasher;
    options.notifier = &notifier;
    directory = std::make_unique<Directory>(*store, options);

    const int64_t existing = rows / 2;
    IdentityId admin;
    {
      auto txn = store->Begin(TransactionMode::kWrite);
      if (!txn.ok()) {
        Fail(txn.status());
        return;
      }
      for (int64_t i = 0; i <= existing; ++i) {
        IdentityRecord identity;
        identity.email =
            *Email::Parse(i == 0 ? std::string("admin@acme.example")
                                 : absl::StrCat("user", i, "@acme.example"));
        identity.display_name = absl::StrCat("User ", i);
        identity.country = "SE";
        identity.verified = true;
        identity.profile_complete = true;
        identity.created_at = clock.Now();
        auto id = (*txn)->identities().Insert(identity);
        if (!id.ok()) {
          Fail(id.status());
          return;
        }
        if (i == 0) admin = *id;
      }
      if (absl::Status s = (*txn)->Commit(); !s.ok()) {
        Fail(s);
        return;
      }
    }
    const Actor op = Actor::Operator();
    auto org = directory->organizations().Create(op, "Acme", admin);
    if (!org.ok()) {
      Fail(org.status());
      return;
    }
    organization = *org;
    auto claim = directory->organizations().ClaimDomain(op, organization,
                                                        "acme.example");
    if (!claim.ok()) {
      Fail(claim.status());
      return;
    }
    if (absl::Status s = directory->organizations().VerifyDomainByOperator(
            op, organization, claim->id);
        !s.ok()) {
      {
        Fail(s);
        return;
      }
    }
    EntitlementTerms terms;
    terms.sku = "CAD";
    terms.kind = EntitlementKind::kNamed;
    terms.seats = rows;
    terms.period_start = clock.Now() - absl::Hours(24);
    terms.period_end = clock.Now() + absl::Hours(24 * 365);
    if (auto e =
            directory->licenses().CreateEntitlement(op, organization, terms);
        !e.ok()) {
      {
        Fail(e.status());
        return;
      }
    }

    std::ofstream csv(csv_path, std::ios::binary);
    csv << "email,name,kind,roles,licenses\r\n";
    for (int64_t i = 1; i <= existing; ++i) {
      csv << "user" << i << "@acme.example,User " << i << ",employee,,CAD\r\n";
    }
    for (int64_t i = existing + 1; i <= rows; ++i) {
      csv << "guest" << i << "@partner.example,\"Guest, No. " << i
          << "\",external,,\r\n";
    }
    if (!csv) error = "cannot write the CSV file";
  }

  void Fail(const absl::Status& status) { error = status.ToString(); }

  FakeClock clock;
  DiscardingNotifier notifier;
  Argon2idHasher hasher{Argon2idParams::MinimumForTests()};
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<Directory> directory;
  OrganizationId organization;
  std::string csv_path;
  std::string error;
};

void BM_Import(benchmark::State& state) {
  const int64_t rows = state.range(0);
  UserImportOptions options;
  options.rows_per_transaction = static_cast<int>(state.range(1));
  int64_t failed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    World world(rows, dir);
    if (!world.error.empty()) {
      state.SkipWithError(world.error.c_str());
      return;
    }
    std::ifstream in(world.csv_path, std::ios::binary);
    state.ResumeTiming();
    auto summary = world.directory->user_lists().Import(
        Actor::Operator(), world.organization, in, options,
        [](const UserImportRow&) {});
    state.PauseTiming();
    if (!summary.ok()) {
      state.SkipWithError(summary.status().ToString().c_str());
      return;
    }
    failed += summary->failed;
    // Destroying the world (closing and removing the file) is not timed.
    world.directory.reset();
    world.store.reset();
    state.ResumeTiming();
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows * state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["failed"] = static_cast<double>(failed);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_Import)
    ->ArgNames({"rows", "per_txn"})
    ->Args({10000, 1})
    ->Args({10000, 256})
    ->Args({100000, 256})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Export(benchmark::State& state) {
  const int64_t rows = state.range(0);
  TempDir dir;
  World world(rows, dir);
  if (!world.error.empty()) {
    state.SkipWithError(world.error.c_str());
    return;
  }
  std::ifstream in(world.csv_path, std::ios::binary);
  auto imported = world.directory->user_lists().Import(
      Actor::Operator(), world.organization, in, UserImportOptions{},
      [](const UserImportRow&) {});
  if (!imported.ok()) {
    state.SkipWithError(imported.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    std::ostringstream out;
    auto written = world.directory->user_lists().Export(
        Actor::Operator(), world.organization, out);
    if (!written.ok()) {
      state.SkipWithError(written.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.str().size());
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows * state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Export)
    ->ArgName("rows")
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
