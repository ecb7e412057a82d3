// Clocks (clock.h): FakeClock for tests, SystemClock for real time.
#include "absl/time/clock.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "entitle/clock.h"

namespace {

using entitle::FakeClock;
using entitle::SystemClock;

absl::Time Jan1st2026() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

TEST_CASE("clock: FakeClock starts at 2026-01-01T00:00:00Z and stands still",
          "[clock]") {
  FakeClock clock;
  REQUIRE(clock.Now() == Jan1st2026());
  REQUIRE(absl::FormatTime(absl::RFC3339_full, clock.Now(),
                           absl::UTCTimeZone()) == "2026-01-01T00:00:00+00:00");
  REQUIRE(clock.Now() == clock.Now());
  // Through the base class, as services see it.
  const entitle::Clock& base = clock;
  REQUIRE(base.Now() == Jan1st2026());
}

TEST_CASE("clock: FakeClock can start elsewhere", "[clock]") {
  const absl::Time start = absl::FromUnixMicros(123456789012345);
  FakeClock clock(start);
  REQUIRE(clock.Now() == start);
}

TEST_CASE("clock: FakeClock Advance moves by exactly the duration, either way",
          "[clock]") {
  FakeClock clock;
  clock.Advance(absl::Hours(3));
  REQUIRE(clock.Now() == Jan1st2026() + absl::Hours(3));
  clock.Advance(absl::Microseconds(1));
  REQUIRE(clock.Now() == Jan1st2026() + absl::Hours(3) + absl::Microseconds(1));
  clock.Advance(-absl::Hours(24));
  REQUIRE(clock.Now() ==
          Jan1st2026() - absl::Hours(21) + absl::Microseconds(1));
  clock.Advance(absl::ZeroDuration());
  REQUIRE(clock.Now() ==
          Jan1st2026() - absl::Hours(21) + absl::Microseconds(1));
}

TEST_CASE("clock: FakeClock Set jumps to the given time", "[clock]") {
  FakeClock clock;
  const absl::Time later = Jan1st2026() + absl::Hours(24 * 400);
  clock.Set(later);
  REQUIRE(clock.Now() == later);
  clock.Set(absl::UnixEpoch());
  REQUIRE(clock.Now() == absl::UnixEpoch());
  clock.Advance(absl::Seconds(1));
  REQUIRE(clock.Now() == absl::FromUnixSeconds(1));
}

TEST_CASE("clock: FakeClock keeps microseconds", "[clock]") {
  FakeClock clock;
  clock.Advance(absl::Microseconds(999999));
  REQUIRE(absl::ToUnixMicros(clock.Now()) == 1767225600LL * 1000000 + 999999);
}

TEST_CASE("clock: concurrent Advance from many threads adds up exactly",
          "[clock]") {
  FakeClock clock;
  constexpr int kThreads = 8;
  constexpr int kSteps = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&clock, t] {
      for (int i = 0; i < kSteps; ++i) {
        clock.Advance(absl::Microseconds(t + 1));
        (void)clock.Now();  // Readers beside writers.
      }
    });
  }
  for (auto& th : threads) th.join();
  // Sum over t of (t+1) * kSteps microseconds.
  const int64_t expected = int64_t{kSteps} * (kThreads * (kThreads + 1) / 2);
  REQUIRE(clock.Now() == Jan1st2026() + absl::Microseconds(expected));
}

TEST_CASE("clock: SystemClock tells the real time", "[clock]") {
  SystemClock& clock = SystemClock::Get();
  REQUIRE(&clock == &SystemClock::Get());
  const absl::Time before = absl::Now();
  const absl::Time now = clock.Now();
  const absl::Time after = absl::Now();
  REQUIRE(now >= before);
  REQUIRE(now <= after);
  REQUIRE(absl::AbsDuration(SystemClock().Now() - absl::Now()) <
          absl::Seconds(1));
}

}  // namespace
