// ReadMostlyMutex (licenses/read_mostly_mutex.h), the lock a checkout takes
// shared on a floating entitlement's pool: readers share it, a writer has it
// alone, a writer waits for the readers already in and holds off those that
// come, and nothing written under it is lost.
//
// Every case would fail with a lock that does nothing (the writer would not
// wait, the invariant would tear, increments would be lost) or with one that
// serializes readers (they would never all be inside at once). Waits are
// bounded, so a broken lock fails rather than hangs where it can.
//
// Catch2 assertions are made only on the main thread; workers record failures.
#include "licenses/read_mostly_mutex.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace entitle::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Waits until `done()` or `limit` passed; returns `done()`.
template <typename F>
bool WaitFor(F done, milliseconds limit = milliseconds(10000)) {
  const auto until = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_CASE("ReadMostlyMutex: readers on many threads hold it together",
          "[read_mostly_mutex]") {
  // More threads than stripes, so some threads share a stripe.
  constexpr int kReaders = 20;
  ReadMostlyMutex mutex;
  std::atomic<int> inside{0};
  std::atomic<int> all_seen{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      ReadMostlyReaderLock lock(mutex);
      inside.fetch_add(1);
      // Stays in until every reader is in: only possible if they share it.
      if (WaitFor([&] { return inside.load() == kReaders; })) {
        all_seen.fetch_add(1);
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  CHECK(all_seen.load() == kReaders);
}

TEST_CASE("ReadMostlyMutex: a writer waits for the readers already in",
          "[read_mostly_mutex]") {
  ReadMostlyMutex mutex;
  std::atomic<bool> written{false};
  mutex.ReaderLock();
  std::thread writer([&] {
    ReadMostlyWriterLock lock(mutex);
    written.store(true);
  });
  std::this_thread::sleep_for(milliseconds(100));
  CHECK_FALSE(written.load());  // Still held shared.
  mutex.ReaderUnlock();
  writer.join();
  CHECK(written.load());
}

TEST_CASE("ReadMostlyMutex: readers and writers wait while a writer holds it",
          "[read_mostly_mutex]") {
  ReadMostlyMutex mutex;
  std::atomic<bool> read{false};
  std::atomic<bool> written{false};
  mutex.Lock();
  std::thread reader([&] {
    ReadMostlyReaderLock lock(mutex);
    read.store(true);
  });
  std::thread writer([&] {
    ReadMostlyWriterLock lock(mutex);
    written.store(true);
  });
  std::this_thread::sleep_for(milliseconds(100));
  CHECK_FALSE(read.load());
  CHECK_FALSE(written.load());
  mutex.Unlock();
  reader.join();
  writer.join();
  CHECK(read.load());
  CHECK(written.load());
}

TEST_CASE(
    "ReadMostlyMutex: a writer excludes readers and writers; no update "
    "is lost",
    "[read_mostly_mutex]") {
  constexpr int kWriters = 4;
  constexpr int kReaders = 20;
  constexpr int kWritesEach = 2000;
  ReadMostlyMutex mutex;
  // Written only under the exclusive hold: plain ints, so a torn pair or a
  // lost increment shows what the lock failed to exclude.
  int64_t first = 0;
  int64_t second = 0;
  std::atomic<int> writers_in{0};
  std::atomic<int> readers_in{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> reads{0};
  std::atomic<bool> stop{false};

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kWritesEach; ++i) {
        ReadMostlyWriterLock lock(mutex);
        if (writers_in.fetch_add(1) != 0) failures.fetch_add(1);
        if (readers_in.load() != 0) failures.fetch_add(1);
        const int64_t value = first;
        first = value + 1;
        if (i % 64 == 0) std::this_thread::yield();  // Widen the window.
        second = value + 1;
        writers_in.fetch_sub(1);
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        ReadMostlyReaderLock lock(mutex);
        readers_in.fetch_add(1);
        if (writers_in.load() != 0) failures.fetch_add(1);
        if (first != second) failures.fetch_add(1);
        readers_in.fetch_sub(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  stop.store(true);
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  CHECK(failures.load() == 0);
  CHECK(first == int64_t{kWriters} * kWritesEach);
  CHECK(second == first);
  CHECK(reads.load() > 0);
}

TEST_CASE("ReadMostlyMutex: a thread takes it again after dropping it",
          "[read_mostly_mutex]") {
  ReadMostlyMutex mutex;
  for (int i = 0; i < 1000; ++i) {
    { ReadMostlyReaderLock shared(mutex); }
    { ReadMostlyWriterLock exclusive(mutex); }
  }
  // Every reader mark was taken back: a writer on another thread gets in.
  std::atomic<bool> written{false};
  std::thread writer([&] {
    ReadMostlyWriterLock lock(mutex);
    written.store(true);
  });
  writer.join();
  CHECK(written.load());
}

}  // namespace
}  // namespace entitle::internal
