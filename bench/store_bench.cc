// Store benchmarks: the cost of one small write transaction and of one indexed
// read, for each backend. The SQLite store uses a scratch file in the system's
// temporary directory (synchronous=FULL, the default), removed afterwards.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "entitle/email.h"
#include "entitle/memory_store.h"
#include "entitle/records.h"
#include "entitle/sqlite_store.h"
#include "entitle/store.h"

namespace {

enum class Backend { kMemory, kSqlite };

// A store of one backend; for SQLite, owns the scratch file.
class BenchStore {
 public:
  explicit BenchStore(Backend backend) {
    if (backend == Backend::kMemory) {
      store_ = std::make_unique<entitle::MemoryStore>();
      return;
    }
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat("entitle-bench-", getpid(), "-", counter++, ".db"))
                .string();
    RemoveFiles();
    auto opened = entitle::SqliteStore::Open(path_);
    if (!opened.ok()) {
      error_ = opened.status().ToString();
      return;
    }
    store_ = *std::move(opened);
  }
  ~BenchStore() {
    store_.reset();
    if (!path_.empty()) RemoveFiles();
  }

  entitle::Store* get() { return store_.get(); }
  const std::string& error() const { return error_; }

 private:
  void RemoveFiles() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }

  std::string path_;
  std::string error_;
  std::unique_ptr<entitle::Store> store_;
};

entitle::IdentityRecord MakeIdentity(int64_t n) {
  entitle::IdentityRecord record;
  record.email =
      *entitle::Email::Parse(absl::StrCat("user", n, "@example.com"));
  record.display_name = absl::StrCat("User ", n);
  record.country = "DE";
  record.language = "de";
  record.verified = true;
  return record;
}

// Inserts `record` in its own write transaction and commits it.
absl::Status InsertOne(entitle::Store& store,
                       const entitle::IdentityRecord& record) {
  auto txn = store.Begin(entitle::TransactionMode::kWrite);
  if (!txn.ok()) return txn.status();
  auto id = (*txn)->identities().Insert(record);
  if (!id.ok()) return id.status();
  return (*txn)->Commit();
}

void StoreInsertIdentity(benchmark::State& state, Backend backend) {
  BenchStore store(backend);
  if (store.get() == nullptr) {
    state.SkipWithError(store.error().c_str());
    return;
  }
  int64_t n = 0;
  for (auto _ : state) {
    // Building the record (a StrCat and an Email::Parse) is timed too; it is
    // small beside a transaction, and pausing the timer would cost more.
    entitle::IdentityRecord record = MakeIdentity(n++);
    if (absl::Status s = InsertOne(*store.get(), record); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void StoreGetIdentityByEmail(benchmark::State& state, Backend backend) {
  constexpr int64_t kIdentities = 1000;
  BenchStore store(backend);
  if (store.get() == nullptr) {
    state.SkipWithError(store.error().c_str());
    return;
  }
  {
    auto txn = store.get()->Begin(entitle::TransactionMode::kWrite);
    if (!txn.ok()) {
      state.SkipWithError(txn.status().ToString().c_str());
      return;
    }
    for (int64_t n = 0; n < kIdentities; ++n) {
      auto id = (*txn)->identities().Insert(MakeIdentity(n));
      if (!id.ok()) {
        state.SkipWithError(id.status().ToString().c_str());
        return;
      }
    }
    if (absl::Status s = (*txn)->Commit(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  std::vector<entitle::Email> emails;
  emails.reserve(kIdentities);
  for (int64_t n = 0; n < kIdentities; ++n) {
    emails.push_back(MakeIdentity(n).email);
  }

  const entitle::PageRequest page{.offset = 0, .limit = 1};
  size_t next = 0;
  for (auto _ : state) {
    entitle::IdentityFilter filter;
    filter.email = emails[next];
    next = (next + 1) % emails.size();
    auto txn = store.get()->Begin(entitle::TransactionMode::kRead);
    if (!txn.ok()) {
      state.SkipWithError(txn.status().ToString().c_str());
      break;
    }
    auto found = (*txn)->identities().List(filter, page);
    if (!found.ok() || found->items.size() != 1) {
      state.SkipWithError(found.ok() ? "identity not found"
                                     : found.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(found->items.front().id);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(StoreInsertIdentity, memory, Backend::kMemory);
BENCHMARK_CAPTURE(StoreInsertIdentity, sqlite, Backend::kSqlite);
BENCHMARK_CAPTURE(StoreGetIdentityByEmail, memory, Backend::kMemory);
BENCHMARK_CAPTURE(StoreGetIdentityByEmail, sqlite, Backend::kSqlite);

}  // namespace
