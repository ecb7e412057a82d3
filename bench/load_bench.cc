// Sustained load:
//   - AdminWorkload/<sync_full>: one thread of mixed admin operations against
//     a SQLite file holding an organization of 2,000 members: add an external
//     member, assign a named license, read a page of 100 members, read one
//     member, unassign, remove the member, invite an address, read the usage
//     view, in turn. Reports operations per second and the p50/p99 latency of
//     one operation, with `PRAGMA synchronous` FULL (1, the default) or
//     NORMAL (0).
//   - SeatPoolChurn: a 100,000-seat pool with a 1-minute lease takes 5
//     million reservations from 1 million (identity, device) keys while a
//     fake clock advances 750 µs per reservation (80,000 arrivals per lease:
//     the pool runs about 80% full, and over the 62 simulated minutes every
//     lease expires and is reclaimed dozens of times), and a sweep runs every
//     10,000 reservations, as a host's periodic RecordUsage would. Reports
//     reservations per second, how many found the pool full (each such
//     refusal proves it by scanning the whole bitmap twice), and the peak
//     resident set of the process.
//
//   build/release/bench/load_bench --benchmark_filter=AdminWorkload
//   build/release/bench/load_bench --benchmark_filter=SeatPoolChurn
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "entitle/clock.h"
#include "entitle/directory.h"
#include "entitle/email.h"
#include "entitle/notifier.h"
#include "entitle/password_hasher.h"
#include "entitle/records.h"
#include "entitle/seat_pool.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

namespace {

using namespace entitle;

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

class DiscardingNotifier final : public Notifier {
 public:
  void Send(const Notification&) override {}
};

constexpr int kMembers = 2000;
constexpr int kGuests = 1000;

void BM_AdminWorkload(benchmark::State& state) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "entitle-load-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  SqliteOptions sqlite;
  sqlite.synchronous_full = state.range(0) != 0;
  auto opened = SqliteStore::Open(dir + "/store.db", sqlite);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  std::unique_ptr<SqliteStore> store = *std::move(opened);
  FakeClock clock;
  DiscardingNotifier notifier;
  Argon2idHasher hasher(Argon2idParams::MinimumForTests());
  DirectoryOptions options;
  options.clock = &clock;
  options.notifier = &notifier;
  options.hasher = &hasher;
  auto directory = std::make_unique<Directory>(*store, options);

  std::vector<IdentityId> guests;
  std::vector<std::string> guest_emails;
  IdentityId admin;
  {
    auto txn = store->Begin(TransactionMode::kWrite);
    for (int i = 0; i <= kMembers + kGuests; ++i) {
      IdentityRecord identity;
      const std::string email = i == 0 ? std::string("admin@acme.example")
                                : i <= kMembers
                                    ? absl::StrCat("m", i, "@acme.example")
                                    : absl::StrCat("g", i, "@partner.example");
      identity.email = *Email::Parse(email);
      identity.display_name = email;
      identity.country = "SE";
      identity.verified = true;
      identity.profile_complete = true;
      identity.created_at = clock.Now();
      IdentityId id = *(*txn)->identities().Insert(identity);
      if (i == 0) admin = id;
      if (i > kMembers) {
        guests.push_back(id);
        guest_emails.push_back(email);
      }
    }
    (*txn)->Commit().IgnoreError();
  }
  const Actor op = Actor::Operator();
  const OrganizationId org =
      *directory->organizations().Create(op, "Acme", admin);
  {
    auto txn = store->Begin(TransactionMode::kWrite);
    for (int i = 1; i <= kMembers; ++i) {
      MembershipRecord m;
      m.organization_id = org;
      m.identity_id = IdentityId(admin.value() + i);
      m.kind = MembershipKind::kExternal;
      m.created_at = clock.Now();
      (*txn)->memberships().Insert(m).IgnoreError();
    }
    (*txn)->Commit().IgnoreError();
  }
  EntitlementTerms terms;
  terms.sku = "CAD";
  terms.kind = EntitlementKind::kNamed;
  terms.seats = 100000;
  terms.period_start = clock.Now() - absl::Hours(24);
  terms.period_end = clock.Now() + absl::Hours(24 * 365);
  const EntitlementId cad =
      directory->licenses().CreateEntitlement(op, org, terms)->id;
  const Actor as_admin = Actor::Identity(admin);

  std::vector<int64_t> latency_ns;
  latency_ns.reserve(1 << 20);
  int64_t step = 0;
  int64_t failures = 0;
  std::string first_failure;
  for (auto _ : state) {
    const int64_t guest = (step / 8) % kGuests;
    const absl::Time start = absl::Now();
    absl::Status status;
    switch (step % 8) {
      case 0:
        status = directory->organizations().AddExternal(as_admin, org,
                                                        guest_emails[guest]);
        break;
      case 1:
        status = directory->licenses().Assign(as_admin, cad, guests[guest]);
        break;
      case 2:
        status = directory->organizations()
                     .ListMembers(as_admin, org,
                                  PageRequest{.offset = (step * 37) % kMembers,
                                              .limit = 100})
                     .status();
        break;
      case 3:
        status = directory->organizations()
                     .GetMember(as_admin, org, guests[guest])
                     .status();
        break;
      case 4:
        status = directory->licenses().Unassign(as_admin, cad, guests[guest]);
        break;
      case 5:
        status = directory->organizations().RemoveMember(as_admin, org,
                                                         guests[guest]);
        break;
      case 6:
        status = directory->invitations()
                     .Invite(as_admin, org,
                             {absl::StrCat("new", step, "@x.example")},
                             InvitationKind::kExternal)
                     .status();
        break;
      case 7:
        status = directory->licenses()
                     .Usage(as_admin, org, absl::Hours(24))
                     .status();
        break;
    }
    latency_ns.push_back(absl::ToInt64Nanoseconds(absl::Now() - start));
    if (!status.ok() && failures++ == 0) first_failure = status.ToString();
    ++step;
  }
  if (failures > 0) state.SkipWithError(first_failure.c_str());
  std::sort(latency_ns.begin(), latency_ns.end());
  auto percentile = [&](double p) {
    if (latency_ns.empty()) return 0.0;
    const size_t at = std::min(latency_ns.size() - 1,
                               static_cast<size_t>(p * latency_ns.size()));
    return static_cast<double>(latency_ns[at]) / 1000.0;
  };
  state.counters["ops/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["p50_us"] = percentile(0.50);
  state.counters["p99_us"] = percentile(0.99);
  directory.reset();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_AdminWorkload)
    ->ArgName("sync_full")
    ->Arg(1)
    ->Arg(0)
    ->MinTime(5.0)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_SeatPoolChurn(benchmark::State& state) {
  constexpr uint32_t kSeats = 100000;
  constexpr int64_t kReservations = 5000000;
  constexpr int64_t kKeys = 1000000;
  const DeviceId devices[] = {DeviceId("desk"), DeviceId("laptop")};
  int64_t full = 0;
  for (auto _ : state) {
    const absl::Time epoch = absl::FromUnixSeconds(1767225600);
    SeatPool pool(kSeats, absl::Minutes(1), epoch);
    std::mt19937_64 rng(42);
    absl::Time now = epoch;
    for (int64_t i = 0; i < kReservations; ++i) {
      const uint64_t key = rng() % kKeys;
      const SeatKey seat_key{IdentityId(static_cast<int64_t>(key / 2) + 1),
                             devices[key % 2]};
      if (!pool.Acquire(seat_key, now).has_value()) ++full;
      now += absl::Microseconds(750);
      if (i % 10000 == 9999) pool.Sweep(now);
    }
    benchmark::DoNotOptimize(pool.core().in_use());
  }
  state.counters["reservations/s"] = benchmark::Counter(
      static_cast<double>(kReservations * state.iterations()),
      benchmark::Counter::kIsRate);
  state.counters["full"] = static_cast<double>(full);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_SeatPoolChurn)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
