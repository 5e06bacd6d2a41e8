// Faults under the download-once guarantee: a full disk, I/O errors at every
// write, sync and read of a download, a lock held past the busy timeout, a
// read-only file, truncated and garbage database files, and a failing random
// source, key generation or signing step.
//
// Each must give a clear 500 `Error` (never a crash, never a key), record no
// download, and leave a registry that works again, downloading exactly once,
// as soon as the fault is gone.
//
// Storage faults come from SqliteFaultVfs, a wrapper around SQLite's "unix"
// VFS installed as the default (the library needs no hook for them); crypto
// faults from the library's fault-injection seam (core/src/fault_injection.hpp).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "fault_injection.hpp"
#include "sqlite_fault_vfs.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::FileOp;
using testing::SqliteFaultVfs;
using testing::TempDir;

constexpr std::string_view kStorage = error_code::kStorageFailure;
constexpr std::string_view kCertificates = error_code::kCertificateFailure;

// One registry file with a public endpoint, a region, and a principal whose
// token is granted every cluster made by `fresh_cluster`.
class FaultInjection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SqliteFaultVfs::install(); }

  void SetUp() override {
    SqliteFaultVfs::reset();
    fault::clear_hooks();
    registry_.emplace(path_, options(5000ms));
    registry_->set_public_endpoint("proxy.example.com", 30123);
    registry_->add_region("eu-de", "proxy.eu-de.example.com", 30124);
    token_ = registry_->create_token("alice", 24h);
  }

  void TearDown() override {
    SqliteFaultVfs::reset();
    fault::clear_hooks();
  }

  static RegistryOptions options(std::chrono::milliseconds busy_timeout) {
    RegistryOptions o;
    o.busy_timeout = busy_timeout;
    return o;
  }

  ClusterId fresh_cluster(AccessNetwork network = AccessNetwork::kPublic) {
    ClusterSpec spec;
    spec.name = "fault-" + std::to_string(++clusters_);
    spec.provider = "eks";
    spec.network = network;
    const ClusterId id = registry_->register_cluster(spec);
    registry_->grant("alice", id);
    return id;
  }

  AccessRequest request(const ClusterId& id) const {
    return AccessRequest{id.str(), token_, std::nullopt, std::nullopt};
  }

  // The fault is gone: the cluster of `req` is not downloaded and no audit
  // record was added since there were `downloads_before`, seen through
  // `registry` and through a new, independent connection; then the registry
  // downloads it exactly once.
  void expect_untouched_then_downloads_once(Registry& registry, const AccessRequest& req,
                                            std::size_t downloads_before) {
    const ClusterId id = ClusterId::parse(req.cluster_id);
    {
      Registry independent(path_);
      for (Registry* view : {&registry, &independent}) {
        EXPECT_FALSE(view->cluster(id).downloaded_at.has_value());
        EXPECT_FALSE(view->cluster(id).certificate_serial.has_value());
        EXPECT_EQ(view->downloads().size(), downloads_before);
      }
    }
    const AccessInfo first = registry.access_info(req);
    ASSERT_TRUE(first.is_first_download());
    EXPECT_EQ(registry.cluster(id).certificate_serial, first.certificate_serial);
    const AccessInfo again = registry.access_info(req);
    EXPECT_FALSE(again.is_first_download());
    EXPECT_EQ(again.documents, std::vector<std::string>{kDownloaded});
    EXPECT_EQ(registry.downloads().size(), downloads_before + 1);
  }

  void expect_untouched_then_downloads_once(Registry& registry, const ClusterId& id,
                                            std::size_t downloads_before) {
    expect_untouched_then_downloads_once(registry, request(id), downloads_before);
  }

  // Runs access_info on fresh clusters with `op` failing with `error` after
  // 0, 1, 2, ... successful calls, until the download needs fewer calls than
  // that and succeeds. Every failing run must be a 500 `code` that leaves the
  // cluster untouched, and the registry must download it once the fault is
  // healed. With `reopen`, each run opens the registry anew under the fault
  // (opening reads and checks every page), so that reads fail too. Returns
  // the number of failing runs.
  int sweep(FileOp op, int error, std::string_view code, bool reopen) {
    int failing_runs = 0;
    for (int skip = 0; skip < 200; ++skip) {
      const ClusterId id = fresh_cluster();
      const std::size_t before = registry_->downloads().size();
      if (reopen) registry_.reset();
      SqliteFaultVfs::fail_after(op, skip, error);
      bool failed = false;
      try {
        if (!registry_) registry_.emplace(path_, options(5000ms));
        const AccessInfo info = registry_->access_info(request(id));
        SqliteFaultVfs::heal(op);
        EXPECT_TRUE(info.is_first_download());
        EXPECT_EQ(registry_->cluster(id).certificate_serial, info.certificate_serial);
      } catch (const Error& e) {
        failed = true;
        SqliteFaultVfs::heal(op);
        EXPECT_EQ(e.http_status(), 500) << "after " << skip << " calls: " << e.what();
        EXPECT_EQ(e.code(), code) << "after " << skip << " calls: " << e.what();
        if (!registry_) registry_.emplace(path_, options(5000ms));
        expect_untouched_then_downloads_once(*registry_, id, before);
      }
      if (!failed) break;
      ++failing_runs;
    }
    RecordProperty("failing_runs", failing_runs);
    return failing_runs;
  }

  TempDir dir_;
  std::string path_ = dir_.file("state.db");
  std::optional<Registry> registry_;
  std::string token_;
  int clusters_ = 0;
};

// --- storage -----------------------------------------------------------------

TEST_F(FaultInjection, DiskFullAtEveryWriteOfADownloadIs500AndRecordsNothing) {
  const int runs = sweep(FileOp::kWrite, SQLITE_FULL, kStorage, /*reopen=*/false);
  EXPECT_GE(runs, 1) << "a download writes at least once";
}

TEST_F(FaultInjection, WriteErrorAtEveryWriteOfADownloadIs500AndRecordsNothing) {
  EXPECT_GE(sweep(FileOp::kWrite, SQLITE_IOERR_WRITE, kStorage, false), 1);
}

TEST_F(FaultInjection, SyncErrorAtEverySyncOfADownloadIs500AndRecordsNothing) {
  // synchronous=FULL: the commit of a download syncs the WAL.
  EXPECT_GE(sweep(FileOp::kSync, SQLITE_IOERR_FSYNC, kStorage, false), 1);
}

TEST_F(FaultInjection, ReadErrorAtEveryReadOfOpenAndDownloadIs500AndRecordsNothing) {
  EXPECT_GE(sweep(FileOp::kRead, SQLITE_IOERR_READ, kStorage, /*reopen=*/true), 1);
}

TEST_F(FaultInjection, DiskFullThatLastsIs500EveryTimeThenHeals) {
  const ClusterId id = fresh_cluster();
  SqliteFaultVfs::fail_after(FileOp::kWrite, 0, SQLITE_FULL);
  for (int i = 0; i < 3; ++i) {
    EXPECT_CA_ERROR(registry_->access_info(request(id)), 500, kStorage);
  }
  // Administrative writes fail the same way.
  EXPECT_CA_ERROR(fresh_cluster(), 500, kStorage);
  EXPECT_GE(SqliteFaultVfs::failures(FileOp::kWrite), 4);
  SqliteFaultVfs::heal(FileOp::kWrite);
  expect_untouched_then_downloads_once(*registry_, id, 0);
}

// A real size limit, from the kernel rather than the wrapper VFS: in a child
// whose file-size limit (RLIMIT_FSIZE) is 0, every write that would extend a
// file fails (EFBIG), as on a full disk.
TEST_F(FaultInjection, FileSizeLimitIs500AndRecordsNothingThenWorks) {
  const ClusterId id = fresh_cluster();
  registry_.reset();  // checkpoints and removes the WAL; no connection crosses the fork
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int result = 3;
    try {
      Registry registry(path_);
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit none{0, 0};
      if (::setrlimit(RLIMIT_FSIZE, &none) != 0) ::_exit(4);
      registry.access_info(request(id));
      result = 1;
    } catch (const Error& e) {
      result = e.http_status() == 500 && e.code() == kStorage ? 0 : 2;
    } catch (...) {
    }
    ::_exit(result);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: downloaded, 2: not a 500 storage error, 3: not an Error, 4: setrlimit";
  Registry registry(path_);
  expect_untouched_then_downloads_once(registry, id, 0);
}

// Another connection holds the write lock for longer than the busy timeout:
// the key is made, the commit times out, the key is thrown away.
TEST_F(FaultInjection, WriteLockHeldPastTheBusyTimeoutIs500AndRecordsNothing) {
  const ClusterId id = fresh_cluster();
  Registry impatient(path_, options(50ms));
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  int generated = 0;
  fault::set_hook(fault::Point::kAfterKeyGeneration, [&] { return ++generated, false; });
  const auto started = std::chrono::steady_clock::now();
  const Error error = testing::error_of([&] { impatient.access_info(request(id)); });
  const auto waited = std::chrono::steady_clock::now() - started;
  fault::clear_hooks();
  EXPECT_EQ(error.http_status(), 500) << error.what();
  EXPECT_EQ(error.code(), kStorage);
  EXPECT_EQ(generated, 1) << "the lock is only needed to commit";
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);

  ASSERT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  expect_untouched_then_downloads_once(impatient, id, 0);
}

// The registry file may be read but not written. Root may write anything, so
// as root the attempt runs in a child that drops to user nobody.
TEST_F(FaultInjection, ReadOnlyFileIs500AndRecordsNothingThenWorksWhenWritable) {
  const ClusterId id = fresh_cluster();
  registry_.reset();  // no connection of this process crosses the fork
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0444), 0);

  const auto attempt = [&]() -> int {
    try {
      Registry registry(path_);
      registry.access_info(request(id));
      return 1;
    } catch (const Error& e) {
      return e.http_status() == 500 && e.code() == kStorage ? 0 : 2;
    } catch (...) {
      return 3;
    }
  };
  EXPECT_EQ(testing::run_unprivileged(attempt), 0)
      << "-1: crashed, 1: downloaded, 2: not a 500 storage error, 3: not an Error";

  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  Registry registry(path_);
  expect_untouched_then_downloads_once(registry, id, 0);
}

// What any open-and-download attempt on a damaged file must give: a 500
// Error, from opening or from access_info, never a key.
void expect_500_without_a_key(const std::string& path, const AccessRequest& request, const std::string& what) {
  try {
    Registry registry(path);
    const AccessInfo info = registry.access_info(request);
    ADD_FAILURE() << what << ": a damaged registry answered "
                  << (info.is_first_download() ? "with a key" : "Downloaded");
  } catch (const Error& e) {
    EXPECT_EQ(e.http_status(), 500) << what << ": " << e.what();
    EXPECT_TRUE(e.code() == kStorage || e.code() == kCertificates) << what << ": " << e.what();
  }
}

// A registry with some state, closed: the database file holds everything (the
// WAL is checkpointed and removed on the last close).
std::string closed_registry_bytes(const std::string& path, std::size_t& page_size) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &statement, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
  page_size = static_cast<std::size_t>(sqlite3_column_int(statement, 0));
  sqlite3_finalize(statement);
  sqlite3_close(db);
  EXPECT_FALSE(testing::read_bytes(path + "-wal").has_value()) << "the WAL should be gone";
  return testing::read_bytes(path).value_or("");
}

// Truncated at every page boundary (and mid-page): opening or downloading
// fails with a 500, never a key; restored, the registry works again.
TEST_F(FaultInjection, TruncatedFileAtEveryPageIs500WithoutAKeyThenWorksWhenRestored) {
  const ClusterId downloaded = fresh_cluster();
  ASSERT_TRUE(registry_->access_info(request(downloaded)).is_first_download());
  const ClusterId id = fresh_cluster(AccessNetwork::kPrivate);
  for (int i = 0; i < 20; ++i) fresh_cluster();  // a few more pages
  registry_.reset();
  std::size_t page_size = 0;
  const std::string original = closed_registry_bytes(path_, page_size);
  ASSERT_GT(original.size(), 4 * page_size);
  const AccessRequest private_request{id.str(), token_, "10.1.2.3", "eu-de"};

  // Not 1 byte: SQLite's unix VFS reports a 1-byte file as empty (it writes
  // that byte itself into new files), so that one is a new, empty registry.
  std::vector<std::size_t> sizes = {2, 15, 16, 50, 100, page_size / 2};
  for (std::size_t size = page_size; size < original.size(); size += page_size) {
    sizes.push_back(size);
    sizes.push_back(size + page_size / 2);
  }
  for (const std::size_t size : sizes) {
    testing::write_bytes(path_, original.substr(0, size));
    expect_500_without_a_key(path_, private_request, "truncated to " + std::to_string(size) + " bytes");
    std::remove((path_ + "-wal").c_str());
    std::remove((path_ + "-shm").c_str());
  }

  testing::write_bytes(path_, original);
  Registry registry(path_);
  EXPECT_EQ(registry.downloads().size(), 1u);
  EXPECT_FALSE(registry.cluster(id).downloaded_at.has_value());
  const AccessInfo first = registry.access_info(private_request);
  EXPECT_TRUE(first.is_first_download());
  EXPECT_FALSE(registry.access_info(private_request).is_first_download());
  EXPECT_FALSE(registry.access_info(request(downloaded)).is_first_download());
}

// The file is cut short under a registry that has it open (the WAL was
// checkpointed into it first): a 500 -- not a crash, even when SQLite reads
// the file through a memory map. Once the bytes are restored, a registry
// opened anew works; the one that saw the damage may keep its (damaged)
// page cache and go on answering 500, but never with a key.
TEST_F(FaultInjection, TruncatedUnderAnOpenRegistryIs500ThenWorksWhenRestored) {
  std::vector<ClusterId> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(fresh_cluster());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  const std::string original = testing::read_bytes(path_).value_or("");
  ASSERT_GT(original.size(), 16384u);

  ASSERT_EQ(::truncate(path_.c_str(), 8192), 0);
  for (const ClusterId& id : {ids.back(), ids.front()}) {
    EXPECT_CA_ERROR(registry_->access_info(request(id)), 500, kStorage);
  }
  testing::write_bytes(path_, original);
  try {
    EXPECT_TRUE(registry_->access_info(request(ids[1])).is_first_download());
  } catch (const Error& e) {
    EXPECT_EQ(e.http_status(), 500) << e.what();
  }
  registry_.reset();
  Registry reopened(path_);
  const std::size_t before = reopened.downloads().size();
  EXPECT_LE(before, 1u);
  expect_untouched_then_downloads_once(reopened, ids.back(), before);
  expect_untouched_then_downloads_once(reopened, ids.front(), before + 1);
}

// Garbage: random bytes; and a valid SQLite header or first page followed by
// random pages, which gets past "not a database" into the B-trees.
TEST_F(FaultInjection, GarbageFilesAre500WithoutAKeyThenWorksWhenRestored) {
  const ClusterId id = fresh_cluster();
  registry_.reset();
  std::size_t page_size = 0;
  const std::string original = closed_registry_bytes(path_, page_size);

  std::mt19937 random(20240601);
  const auto noise = [&](std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(random() & 0xff);
    return out;
  };
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::size_t n : {std::size_t{512}, page_size, 8 * page_size}) {
    files.emplace_back("random " + std::to_string(n) + " bytes", noise(n));
  }
  for (int i = 0; i < 8; ++i) {
    files.emplace_back("header + random pages #" + std::to_string(i),
                       original.substr(0, 100) + noise(original.size() - 100));
    files.emplace_back("first page + random pages #" + std::to_string(i),
                       original.substr(0, page_size) + noise(original.size() - page_size));
  }
  for (std::size_t page = 1; page * page_size < original.size(); ++page) {
    std::string damaged = original;
    damaged.replace(page * page_size, page_size, noise(page_size));
    files.emplace_back("page " + std::to_string(page + 1) + " random", damaged);
  }
  int refused = 0;
  for (const auto& [what, bytes] : files) {
    testing::write_bytes(path_, bytes);
    try {
      Registry registry(path_);
      const AccessInfo info = registry.access_info(request(id));
      // One damaged page need not be one this download reads or writes (the
      // CA, say, is read at open and kept in memory). Then the download is
      // as good as on the healthy file: committed with its serial and audit.
      ASSERT_TRUE(info.is_first_download()) << what;
      EXPECT_EQ(registry.cluster(id).certificate_serial, info.certificate_serial) << what;
      EXPECT_EQ(registry.downloads().size(), 1u) << what;
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(e.http_status(), 500) << what << ": " << e.what();
    }
    std::remove((path_ + "-wal").c_str());
    std::remove((path_ + "-shm").c_str());
  }
  EXPECT_GE(refused, static_cast<int>(files.size()) / 2);

  testing::write_bytes(path_, original);
  Registry registry(path_);
  EXPECT_TRUE(registry.downloads().empty());
  EXPECT_TRUE(registry.access_info(request(id)).is_first_download());
  EXPECT_FALSE(registry.access_info(request(id)).is_first_download());
}

// A WAL file of garbage beside a healthy database is not a committed
// transaction: SQLite ignores frames whose checksums do not match.
TEST_F(FaultInjection, GarbageWalIsIgnoredAndInventsNoDownload) {
  const ClusterId id = fresh_cluster();
  registry_.reset();
  std::mt19937 random(7);
  std::string noise(64 * 1024, '\0');
  for (auto& c : noise) c = static_cast<char>(random() & 0xff);
  testing::write_bytes(path_ + "-wal", noise);
  Registry registry(path_);
  EXPECT_FALSE(registry.cluster(id).downloaded_at.has_value());
  expect_untouched_then_downloads_once(registry, id, 0);
}

// --- crypto ------------------------------------------------------------------

struct CryptoFault {
  fault::Point point;
  const char* name;
};

class CryptoFaults : public FaultInjection, public ::testing::WithParamInterface<CryptoFault> {};

TEST_P(CryptoFaults, FailingStepIs500CertificatesAndRecordsNothingThenWorks) {
  const ClusterId id = fresh_cluster();
  const ClusterId private_id = fresh_cluster(AccessNetwork::kPrivate);
  int calls = 0;
  fault::set_hook(GetParam().point, [&] { return ++calls, true; });
  EXPECT_CA_ERROR(registry_->access_info(request(id)), 500, kCertificates);
  EXPECT_CA_ERROR(registry_->access_info(AccessRequest{private_id.str(), token_, "10.0.0.1", "eu-de"}), 500,
                  kCertificates);
  fault::clear_hooks();
  EXPECT_GE(calls, 2);
  expect_untouched_then_downloads_once(*registry_, id, 0);
  expect_untouched_then_downloads_once(*registry_, AccessRequest{private_id.str(), token_, "10.0.0.1", "eu-de"},
                                       1);
}

// The step fails once, in the middle of a run of downloads: only that one
// call fails.
TEST_P(CryptoFaults, OneFailureAmongDownloadsFailsOnlyThatCall) {
  std::vector<ClusterId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(fresh_cluster());
  bool armed = true;
  fault::set_hook(GetParam().point, [&] {
    const bool fail = armed;
    armed = false;
    return fail;
  });
  EXPECT_CA_ERROR(registry_->access_info(request(ids[0])), 500, kCertificates);
  for (std::size_t i = 1; i < ids.size(); ++i) {
    EXPECT_TRUE(registry_->access_info(request(ids[i])).is_first_download());
  }
  fault::clear_hooks();
  EXPECT_EQ(registry_->downloads().size(), 3u);
  expect_untouched_then_downloads_once(*registry_, ids[0], 3);
}

INSTANTIATE_TEST_SUITE_P(Steps, CryptoFaults,
                         ::testing::Values(CryptoFault{fault::Point::kRandomBytes, "RandomSource"},
                                           CryptoFault{fault::Point::kKeyGeneration, "KeyGeneration"},
                                           CryptoFault{fault::Point::kSign, "Signing"}),
                         [](const auto& info) { return std::string(info.param.name); });

// A token is no certificate: its failing random source is an internal error.
TEST_F(FaultInjection, FailingRandomSourceMakesNoToken) {
  fault::set_hook(fault::Point::kRandomBytes, [] { return true; });
  const Error error = testing::error_of([&] { registry_->create_token("bob", 1h); });
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_EQ(error.code(), Error::internal().code());
  EXPECT_NE(error.message().find("random source"), std::string::npos) << error.message();
  fault::clear_hooks();
  EXPECT_FALSE(registry_->create_token("bob", 1h).empty());
}

// A new registry whose CA cannot be made stores no half-made CA: the next
// open makes one.
TEST(FaultInjectionNewRegistry, FailingCaCreationIs500AndTheNextOpenMakesTheCa) {
  TempDir dir;
  const std::string path = dir.file("new.db");
  for (const auto point : {fault::Point::kKeyGeneration, fault::Point::kRandomBytes, fault::Point::kSign}) {
    fault::set_hook(point, [] { return true; });
    EXPECT_CA_ERROR(Registry{path}, 500, kCertificates);
    fault::clear_hooks();
  }
  Registry registry(path);
  EXPECT_NE(registry.ca_certificate_pem().find("BEGIN CERTIFICATE"), std::string::npos);
}

// --- the seam itself: a race lost between key generation and commit ----------

// Another caller completes the download while this one holds a fresh key:
// the commit changes nothing, the key is dropped, the answer is Downloaded.
TEST_F(FaultInjection, RaceLostBetweenKeyGenerationAndCommitAnswersDownloaded) {
  const ClusterId id = fresh_cluster();
  Registry other(path_);
  std::optional<AccessInfo> winner;
  fault::set_hook(fault::Point::kAfterKeyGeneration, [&] {
    if (!winner) {
      winner.emplace();  // the nested call passes this point too
      *winner = other.access_info(request(id));
    }
    return false;
  });
  const AccessInfo loser = registry_->access_info(request(id));
  fault::clear_hooks();
  ASSERT_TRUE(winner && winner->is_first_download());
  EXPECT_FALSE(loser.is_first_download());
  EXPECT_EQ(loser.documents, std::vector<std::string>{kDownloaded});
  const auto downloads = registry_->downloads();
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].certificate_serial, *winner->certificate_serial);
  EXPECT_EQ(registry_->cluster(id).certificate_serial, winner->certificate_serial);
}

// A first download passes each point once, in order, and makes one key; a
// later call passes none of them: it pays for no key generation.
TEST_F(FaultInjection, FirstDownloadPassesEachPointOnceLaterCallsMakeNoKey) {
  const ClusterId id = fresh_cluster();
  std::vector<fault::Point> seen;
  for (const auto point : {fault::Point::kKeyGeneration, fault::Point::kSign, fault::Point::kAfterKeyGeneration,
                           fault::Point::kBeforeCommit, fault::Point::kAfterCommit}) {
    fault::set_hook(point, [&seen, point] { return seen.push_back(point), false; });
  }
  EXPECT_TRUE(registry_->access_info(request(id)).is_first_download());
  const std::vector<fault::Point> first = seen;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(registry_->access_info(request(id)).documents, std::vector<std::string>{kDownloaded});
  }
  fault::clear_hooks();
  // The key is made by the store's commit (DownloadCommit::make_key), after
  // the point before it.
  EXPECT_EQ(first, (std::vector<fault::Point>{fault::Point::kBeforeCommit, fault::Point::kKeyGeneration,
                                              fault::Point::kSign, fault::Point::kAfterKeyGeneration,
                                              fault::Point::kAfterCommit}));
  EXPECT_EQ(seen, first) << "a later call reached key generation, signing or the commit";
}

// --- a delivery guard: a client gone before the commit records nothing ----------

constexpr std::string_view kAbandoned = error_code::kRequestAbandoned;

// Counts the passes of `point` while the hooks are set.
std::shared_ptr<int> count_passes(fault::Point point) {
  auto count = std::make_shared<int>(0);
  fault::set_hook(point, [count] { return ++*count, false; });
  return count;
}

// Abandoned at the last moment, right before the commit: 499, nothing
// committed, the rendered documents wiped unseen; the next call downloads once.
TEST_F(FaultInjection, GuardAbandonedBeforeCommitIs499RecordsNothingThenDownloadsOnce) {
  const ClusterId id = fresh_cluster();
  auto guard = std::make_shared<DeliveryGuard>();
  AccessRequest req = request(id);
  req.delivery = guard;
  fault::set_hook(fault::Point::kBeforeCommit, [guard] { return guard->abandon(), false; });
  const auto keys = count_passes(fault::Point::kAfterKeyGeneration);
  const auto commits = count_passes(fault::Point::kAfterCommit);
  const auto wiped = count_passes(fault::Point::kUnreturnedDocumentsWiped);
  const Error error = testing::error_of([&] { registry_->access_info(req); });
  fault::clear_hooks();
  EXPECT_EQ(error.status(), Status::kClientClosedRequest);
  EXPECT_EQ(error.http_status(), 499);
  EXPECT_EQ(error.code(), kAbandoned);
  EXPECT_EQ(*keys, 1) << "the guard was read after the key was made";
  EXPECT_EQ(*commits, 0);
  EXPECT_EQ(*wiped, 1) << "the rendered documents were not wiped";
  EXPECT_TRUE(registry_->downloads().empty());
  expect_untouched_then_downloads_once(*registry_, request(id), 0);
}

// try_access_info returns the same error, and a guard abandoned from another
// thread (as a front end's connection handler would) is seen.
TEST_F(FaultInjection, GuardAbandonedFromAnotherThreadIsReturnedByTryAccessInfo) {
  const ClusterId id = fresh_cluster();
  auto guard = std::make_shared<DeliveryGuard>();
  AccessRequest req = request(id);
  req.delivery = guard;
  fault::set_hook(fault::Point::kAfterKeyGeneration, [guard] {
    std::thread([guard] { guard->abandon(); }).join();
    return false;
  });
  auto answer = registry_->try_access_info(req);
  fault::clear_hooks();
  ASSERT_TRUE(std::holds_alternative<Error>(answer));
  EXPECT_EQ(std::get<Error>(answer).http_status(), 499);
  EXPECT_EQ(std::get<Error>(answer).code(), kAbandoned);
  expect_untouched_then_downloads_once(*registry_, request(id), 0);
}

// A client that leaves while its commit waits for the write lock (held here
// by another connection) still finds nothing recorded: the guard is read
// again once the lock is held.
TEST_F(FaultInjection, GuardAbandonedWhileTheCommitWaitsForTheLockRecordsNothing) {
  const ClusterId id = fresh_cluster();
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &holder), SQLITE_OK);
  auto guard = std::make_shared<DeliveryGuard>();
  AccessRequest req = request(id);
  req.delivery = guard;
  std::atomic<bool> at_commit{false};
  fault::set_hook(fault::Point::kBeforeCommit, [&] {
    // The lock is taken just before the commit would, so the commit waits.
    EXPECT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    at_commit = true;
    return false;
  });
  std::thread leaving([&] {
    while (!at_commit) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);  // the commit is waiting for the lock now
    guard->abandon();
    EXPECT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  });
  auto answer = registry_->try_access_info(req);
  leaving.join();
  fault::clear_hooks();
  sqlite3_close(holder);
  ASSERT_TRUE(std::holds_alternative<Error>(answer));
  EXPECT_EQ(std::get<Error>(answer).http_status(), 499);
  EXPECT_EQ(std::get<Error>(answer).code(), kAbandoned);
  expect_untouched_then_downloads_once(*registry_, request(id), 0);
}

// Abandoned before the call: no key is made for it.
TEST_F(FaultInjection, GuardAbandonedBeforeKeyGenerationMakesNoKey) {
  const ClusterId id = fresh_cluster();
  auto guard = std::make_shared<DeliveryGuard>();
  guard->abandon();
  AccessRequest req = request(id);
  req.delivery = guard;
  const auto generations = count_passes(fault::Point::kKeyGeneration);
  const auto keys = count_passes(fault::Point::kAfterKeyGeneration);
  EXPECT_CA_ERROR(registry_->access_info(req), 499, kAbandoned);
  fault::clear_hooks();
  EXPECT_EQ(*generations, 0);
  EXPECT_EQ(*keys, 0);
  expect_untouched_then_downloads_once(*registry_, request(id), 0);
}

// A guard changes nothing for answers that issue nothing, nor while it is not
// abandoned: a live guard's first download hands its documents over unwiped.
TEST_F(FaultInjection, GuardOnlyStopsFirstDownloads) {
  const ClusterId id = fresh_cluster();
  auto live = std::make_shared<DeliveryGuard>();
  AccessRequest req = request(id);
  req.delivery = live;
  const auto wiped = count_passes(fault::Point::kUnreturnedDocumentsWiped);
  const AccessInfo first = registry_->access_info(req);
  EXPECT_TRUE(first.is_first_download());
  EXPECT_EQ(first.documents.size(), 2u);
  EXPECT_EQ(*wiped, 0);
  fault::clear_hooks();

  auto gone = std::make_shared<DeliveryGuard>();
  gone->abandon();
  req.delivery = gone;
  EXPECT_EQ(registry_->access_info(req).documents, std::vector<std::string>{kDownloaded});
  AccessRequest unknown = request(ClusterId::generate());
  unknown.delivery = gone;
  EXPECT_CA_ERROR(registry_->access_info(unknown), 403, error_code::kForbidden);
  EXPECT_EQ(registry_->downloads().size(), 1u);
}

// The caller that loses the race renders no documents: they are rendered
// inside the commit, only by its winner (docs/postgres.md); the winner's are
// handed over, not wiped.
TEST_F(FaultInjection, RaceLoserWipesItsRenderedDocuments) {
  const ClusterId id = fresh_cluster();
  Registry other(path_);
  std::optional<AccessInfo> winner;
  int wiped_before_winner_returned = -1;
  const auto wiped = count_passes(fault::Point::kUnreturnedDocumentsWiped);
  fault::set_hook(fault::Point::kAfterKeyGeneration, [&] {
    if (!winner) {
      winner.emplace();  // the nested call passes this point too
      *winner = other.access_info(request(id));
      wiped_before_winner_returned = *wiped;
    }
    return false;
  });
  const AccessInfo loser = registry_->access_info(request(id));
  fault::clear_hooks();
  ASSERT_TRUE(winner && winner->is_first_download());
  EXPECT_EQ(loser.documents, std::vector<std::string>{kDownloaded});
  EXPECT_EQ(wiped_before_winner_returned, 0) << "the winner's documents were wiped, not handed over";
  EXPECT_EQ(*wiped, 0) << "the loser rendered documents";
}

}  // namespace
}  // namespace clusteraccess
