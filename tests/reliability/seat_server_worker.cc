// A process that serves the floating seats of a SQLite store under heavy
// checkout traffic until it is killed, for seat_server_test.cc. Not a test
// itself.
//
//   seat_server_worker <db path> <holder> <seed> <entitlement id> <sku>
//                      <member id,member id,...> [--standby | --once]
//
// Opens the SqliteStore at <db path> (default options: synchronous FULL) and
// a Directory that persists activations (flush interval 30 ms) under the
// serving name <holder>. Then:
//   (default)  takes the serving claim at once (Licenses::Serve()), prints
//              "serving epoch <n>" and waits for a line on stdin before the
//              traffic starts, so that the test can read what the rebuilt
//              store holds before this process changes it;
//   --standby  prints "standby" and waits in Licenses::Serve(wait) until the
//              claim is free, then as above;
//   --once     does one Checkout of <sku> for the first member on device
//              "probe" without serving first, prints "ok" or
//              "refused <reason name> <message>" and exits 0.
// The traffic: 3 threads of Checkout, Heartbeat and Release over random
// (member, device) keys, 3 devices per member; a key belongs to one thread
// only, so no key is held by two threads at once. The process keeps no
// record of what it holds: a key held before a restart is renewed by its
// next Checkout, and a Release of a key that holds nothing is refused with
// kSeatNotHeld. A refusal other than kSeatsExhausted and kSeatNotHeld is a
// bug: it is printed on stderr and the process exits 4.
//
// Exits 2 on a bad command line, 1 when the store cannot be opened or the
// claim not taken.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "entitle/directory.h"
#include "entitle/ids.h"
#include "entitle/licenses.h"
#include "entitle/password_hasher.h"
#include "entitle/sqlite_store.h"
#include "entitle/status.h"

namespace {

using namespace entitle;

constexpr int kThreads = 3;
constexpr int kDevicesPerMember = 3;

void Say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

[[noreturn]] void Bug(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "bug: %s: %s\n", what, status.ToString().c_str());
  std::fflush(stderr);
  std::_Exit(4);
}

bool Expected(const absl::Status& status) {
  if (status.ok()) return true;
  const Reason reason = GetReason(status);
  return reason == Reason::kSeatsExhausted || reason == Reason::kSeatNotHeld;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7 || argc > 8) {
    std::fprintf(stderr,
                 "usage: seat_server_worker <db> <holder> <seed> "
                 "<entitlement> <sku> <members> [--standby|--once]\n");
    return 2;
  }
  const std::string db = argv[1];
  const std::string holder = argv[2];
  uint64_t seed = 0;
  int64_t entitlement_id = 0;
  if (!absl::SimpleAtoi(argv[3], &seed) ||
      !absl::SimpleAtoi(argv[4], &entitlement_id)) {
    return 2;
  }
  const EntitlementId entitlement(entitlement_id);
  const std::string sku = argv[5];
  std::vector<IdentityId> members;
  for (absl::string_view part : absl::StrSplit(argv[6], ',')) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(part, &id)) return 2;
    members.emplace_back(id);
  }
  const std::string mode = argc == 8 ? argv[7] : "";
  if (members.empty() ||
      (!mode.empty() && mode != "--standby" && mode != "--once")) {
    return 2;
  }

  auto store = SqliteStore::Open(db);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  Argon2idHasher hasher(Argon2idParams::MinimumForTests());
  DirectoryOptions options;
  options.hasher = &hasher;
  options.license_policy.persist_activations = true;
  options.license_policy.activation_flush_interval = absl::Milliseconds(30);
  options.license_policy.serving_holder = holder;
  auto directory = std::make_unique<Directory>(**store, options);
  Licenses& licenses = directory->licenses();

  if (mode == "--once") {
    auto lease = licenses.Checkout(members.front(), sku, DeviceId("probe"));
    if (lease.ok()) {
      Say("ok");
    } else {
      Say("refused " + std::string(ReasonName(GetReason(lease.status()))) +
          " " + std::string(lease.status().message()));
    }
    return 0;
  }

  if (mode == "--standby") {
    Say("standby");
    absl::Status served;
    do {
      served = licenses.Serve(absl::Seconds(60));
    } while (GetReason(served) == Reason::kServedElsewhere);
    if (!served.ok()) {
      std::fprintf(stderr, "serve: %s\n", served.ToString().c_str());
      return 1;
    }
  } else {
    absl::Status served = licenses.Serve();
    if (!served.ok()) {
      std::fprintf(stderr, "serve: %s\n", served.ToString().c_str());
      return 1;
    }
  }
  auto claim = licenses.ServingStatus();
  if (!claim.ok() || !claim->has_value()) {
    std::fprintf(stderr, "no claim after Serve\n");
    return 1;
  }
  Say("serving epoch " + std::to_string((*claim)->epoch));
  std::string go;
  if (!std::getline(std::cin, go)) return 0;  // The test went away.

  // Key k = member * kDevicesPerMember + device belongs to thread k % kThreads.
  const int keys = static_cast<int>(members.size()) * kDevicesPerMember;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(t));
      std::uniform_int_distribution<int> pick(0, keys - 1);
      std::uniform_int_distribution<int> op(0, 99);
      while (true) {
        int k = pick(rng);
        k -= k % kThreads;
        k += t;
        if (k >= keys) continue;
        const IdentityId who =
            members[static_cast<size_t>(k) / kDevicesPerMember];
        const DeviceId device("device-" +
                              std::to_string(k % kDevicesPerMember));
        const int o = op(rng);
        if (o < 45) {
          auto lease = licenses.Checkout(who, sku, device);
          if (!Expected(lease.status())) Bug("checkout", lease.status());
        } else if (o < 60) {
          auto lease = licenses.Heartbeat(who, entitlement, device);
          if (!Expected(lease.status())) Bug("heartbeat", lease.status());
        } else {
          absl::Status s = licenses.Release(who, entitlement, device);
          if (!Expected(s)) Bug("release", s);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return 0;
}
