// Download once, for real: threads, Registry objects and processes racing on
// one fresh cluster, and the agent key never reaching the database files.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

constexpr int kThreads = 8;
constexpr int kProcesses = 4;

struct Fixture {
  ClusterId id;
  std::string token;
};

// Sets up the registry at `path` with `clusters` fresh public clusters, all
// granted to one principal, and closes it again.
std::vector<Fixture> prepare(const std::string& path, int clusters) {
  Registry registry(path);
  registry.set_public_endpoint("proxy.example.com", 30123);
  const std::string token = registry.create_token("alice", 3600s);
  std::vector<Fixture> out;
  for (int i = 0; i < clusters; ++i) {
    ClusterSpec spec;
    spec.name = "race-" + std::to_string(i);
    spec.provider = "eks";
    const ClusterId id = registry.register_cluster(spec);
    registry.grant("alice", id);
    out.push_back(Fixture{id, token});
  }
  return out;
}

AccessRequest request_for(const Fixture& fixture) {
  return AccessRequest{fixture.id.str(), fixture.token, std::nullopt, std::nullopt};
}

// The outcome of a race between threads: every thread's result.
struct ThreadRace {
  std::vector<std::optional<AccessInfo>> results;
  std::atomic<int> errors{0};

  // One empty result per thread (AccessInfo is move-only: no assign(n, value)).
  void reset(int threads) {
    results.clear();
    results.resize(static_cast<std::size_t>(threads));
  }

  int keys() const {
    return static_cast<int>(std::count_if(results.begin(), results.end(), [](const auto& r) {
      return r.has_value() && r->is_first_download();
    }));
  }
  int downloaded() const {
    return static_cast<int>(std::count_if(results.begin(), results.end(), [](const auto& r) {
      return r.has_value() && !r->is_first_download() && r->documents == std::vector<std::string>{kDownloaded};
    }));
  }
  const AccessInfo* winner() const {
    for (const auto& r : results) {
      if (r && r->is_first_download()) return &*r;
    }
    return nullptr;
  }
};

// `threads` threads, thread t calling registries[t % size], released at once.
void race_threads(std::vector<Registry*> registries, const Fixture& fixture, int threads, ThreadRace& race) {
  race.reset(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Registry& registry = *registries[static_cast<std::size_t>(t) % registries.size()];
      ++ready;
      while (!go.load()) std::this_thread::yield();
      try {
        race.results[static_cast<std::size_t>(t)] = registry.access_info(request_for(fixture));
      } catch (const std::exception& error) {
        ++race.errors;
        ADD_FAILURE() << "thread " << t << ": " << error.what();
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go = true;
  for (auto& worker : workers) worker.join();
}

TEST(Concurrency, EightThreadsOnOneRegistryGetExactlyOneKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const auto fixtures = prepare(path, 5);
  Registry registry(path);
  for (const Fixture& fixture : fixtures) {
    ThreadRace race;
    race_threads({&registry}, fixture, kThreads, race);
    EXPECT_EQ(race.errors.load(), 0);
    EXPECT_EQ(race.keys(), 1);
    EXPECT_EQ(race.downloaded(), kThreads - 1);
    ASSERT_NE(race.winner(), nullptr);
    EXPECT_EQ(registry.cluster(fixture.id).certificate_serial, race.winner()->certificate_serial);
  }
  EXPECT_EQ(registry.downloads().size(), fixtures.size());
}

TEST(Concurrency, EightThreadsOnOneInMemoryRegistryGetExactlyOneKey) {
  Registry registry(":memory:");
  registry.set_public_endpoint("proxy.example.com", 30123);
  ClusterSpec spec;
  spec.name = "race";
  spec.provider = "eks";
  const Fixture fixture{registry.register_cluster(spec), registry.create_token("alice", 3600s)};
  registry.grant("alice", fixture.id);
  ThreadRace race;
  race_threads({&registry}, fixture, kThreads, race);
  EXPECT_EQ(race.errors.load(), 0);
  EXPECT_EQ(race.keys(), 1);
  EXPECT_EQ(race.downloaded(), kThreads - 1);
  EXPECT_EQ(registry.downloads().size(), 1u);
}

TEST(Concurrency, EightThreadsOnSeveralRegistriesOnOneFileGetExactlyOneKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const auto fixtures = prepare(path, 5);
  std::vector<std::unique_ptr<Registry>> owned;
  std::vector<Registry*> registries;
  for (int i = 0; i < 4; ++i) {
    owned.push_back(std::make_unique<Registry>(path));
    registries.push_back(owned.back().get());
  }
  for (const Fixture& fixture : fixtures) {
    ThreadRace race;
    race_threads(registries, fixture, kThreads, race);
    EXPECT_EQ(race.errors.load(), 0);
    EXPECT_EQ(race.keys(), 1);
    EXPECT_EQ(race.downloaded(), kThreads - 1);
  }
  EXPECT_EQ(registries[0]->downloads().size(), fixtures.size());
}

// --- processes -------------------------------------------------------------------

class Pipe {
 public:
  Pipe() {
    if (::pipe(fds_) != 0) throw std::runtime_error("pipe failed");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }
  void close_write() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Reads `count` bytes from `fd`, waiting at most `deadline` in all.
std::string read_bytes(int fd, std::size_t count, std::chrono::milliseconds deadline) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (out.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[16];
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, count - out.size()));
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Children forked for one race. Each runs `body`, which prepares, calls
// `ready_and_wait()` (tell the parent it is ready, then block until the start
// signal: EOF on a pipe) and returns its result: `record_size` bytes written
// to the results pipe in one write (atomic, as records are < PIPE_BUF). A
// child whose body throws writes a record of 'E's. Children `_exit` without
// running this process's atexit handlers.
class ChildProcesses {
 public:
  using Body = std::function<std::string(const std::function<void()>& ready_and_wait)>;

  ChildProcesses(int count, std::size_t record_size, const Body& body) : record_size_(record_size) {
    for (int i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("fork failed");
      if (pid == 0) run_child(body);  // never returns
      pids_.push_back(pid);
    }
    start_.close_read();
    ready_.close_write();
    results_.close_write();
  }

  ~ChildProcesses() {
    for (const pid_t pid : pids_) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
      }
    }
  }
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;

  bool wait_ready(std::chrono::milliseconds deadline) {
    return read_bytes(ready_.read_end(), pids_.size(), deadline).size() == pids_.size();
  }
  void start() { start_.close_write(); }
  // The records of all children, in the order they finished.
  std::vector<std::string> results(std::chrono::milliseconds deadline) {
    const std::string bytes = read_bytes(results_.read_end(), pids_.size() * record_size_, deadline);
    std::vector<std::string> records;
    for (std::size_t at = 0; at + record_size_ <= bytes.size(); at += record_size_) {
      records.push_back(bytes.substr(at, record_size_));
    }
    return records;
  }
  // True when every child exited with status 0.
  bool reap() {
    bool clean = true;
    for (const pid_t pid : pids_) {
      int status = 0;
      if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) clean = false;
    }
    pids_.clear();
    return clean;
  }

 private:
  [[noreturn]] void run_child(const Body& body) {
    start_.close_write();
    ready_.close_read();
    results_.close_read();
    std::string record;
    const auto ready_and_wait = [this] {
      const char ready = 'R';
      if (::write(ready_.write_end(), &ready, 1) != 1) ::_exit(2);
      char ignored = 0;
      while (::read(start_.read_end(), &ignored, 1) > 0) {
      }
    };
    try {
      record = body(ready_and_wait);
    } catch (...) {
      record.clear();
    }
    if (record.size() != record_size_) record.assign(record_size_, 'E');
    const bool written = ::write(results_.write_end(), record.data(), record.size()) ==
                         static_cast<ssize_t>(record.size());
    ::_exit(written ? 0 : 3);
  }

  std::size_t record_size_;
  Pipe start_;
  Pipe ready_;
  Pipe results_;
  std::vector<pid_t> pids_;
};

// Children that each open their own Registry on `path`, then, on the start
// signal, call access_info once: 'K' (key), 'D' (Downloaded) or 'E'.
ChildProcesses::Body access_info_racer(const std::string& path, const Fixture& fixture) {
  return [path, fixture](const std::function<void()>& ready_and_wait) -> std::string {
    Registry registry(path);
    ready_and_wait();
    const AccessInfo info = registry.access_info(request_for(fixture));
    if (info.is_first_download()) return "K";
    if (info.documents == std::vector<std::string>{kDownloaded}) return "D";
    return "E";
  };
}

std::string joined(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& record : records) out += record;
  return out;
}

// After an activation the access information is downloaded again exactly
// once: threads of one process and several processes racing on a
// reactivated cluster get one new key between them.
TEST(Concurrency, ThreadsAndProcessesRacingOnAReactivatedClusterGetExactlyOneKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const auto fixtures = prepare(path, 1);
  const Fixture& fixture = fixtures.front();
  std::optional<std::string> first_serial;
  {
    Registry registry(path);
    first_serial = registry.access_info(request_for(fixture)).certificate_serial;
    registry.reactivate(fixture.id);
    ThreadRace race;
    race_threads({&registry}, fixture, kThreads, race);
    EXPECT_EQ(race.errors.load(), 0);
    EXPECT_EQ(race.keys(), 1);
    EXPECT_EQ(race.downloaded(), kThreads - 1);
    ASSERT_NE(race.winner(), nullptr);
    EXPECT_NE(race.winner()->certificate_serial, first_serial) << "a new serial";
    EXPECT_EQ(registry.cluster(fixture.id).certificate_serial, race.winner()->certificate_serial);
    registry.reactivate(fixture.id);
  }
  // No Registry exists in this process while the children are forked.
  ChildProcesses children(kProcesses, 1, access_info_racer(path, fixture));
  ASSERT_TRUE(children.wait_ready(20s)) << "children did not open their registries";
  children.start();
  const std::string results = joined(children.results(20s));
  EXPECT_TRUE(children.reap());
  EXPECT_EQ(std::count(results.begin(), results.end(), 'K'), 1) << results;
  EXPECT_EQ(std::count(results.begin(), results.end(), 'D'), kProcesses - 1) << results;
  Registry registry(path);
  EXPECT_EQ(registry.cluster(fixture.id).generation, 3);
  EXPECT_EQ(registry.downloads().size(), 3u) << "one download per generation";
}

TEST(Concurrency, FourProcessesOnOneFileGetExactlyOneKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const auto fixtures = prepare(path, 3);  // the Registry used for this is closed again
  for (const Fixture& fixture : fixtures) {
    // No Registry exists in this process while the children are forked.
    ChildProcesses children(kProcesses, 1, access_info_racer(path, fixture));
    ASSERT_TRUE(children.wait_ready(20s)) << "children did not open their registries";
    children.start();
    const std::string results = joined(children.results(20s));
    EXPECT_TRUE(children.reap());
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kProcesses)) << results;
    EXPECT_EQ(std::count(results.begin(), results.end(), 'K'), 1) << results;
    EXPECT_EQ(std::count(results.begin(), results.end(), 'D'), kProcesses - 1) << results;
  }
  Registry registry(path);
  const auto downloads = registry.downloads();
  ASSERT_EQ(downloads.size(), fixtures.size());
  for (const Fixture& fixture : fixtures) {
    EXPECT_TRUE(registry.cluster(fixture.id).downloaded_at.has_value());
  }
}

TEST(Concurrency, FourProcessesAndEightThreadsAtOnceGetExactlyOneKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const Fixture fixture = prepare(path, 1).front();
  ChildProcesses children(kProcesses, 1, access_info_racer(path, fixture));
  ASSERT_TRUE(children.wait_ready(20s));
  // Only now, after the fork, a Registry in this process.
  Registry registry(path);
  ThreadRace race;
  race.reset(kThreads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      try {
        race.results[static_cast<std::size_t>(t)] = registry.access_info(request_for(fixture));
      } catch (const std::exception& error) {
        ++race.errors;
        ADD_FAILURE() << error.what();
      }
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  children.start();
  go = true;
  for (auto& worker : workers) worker.join();
  const std::string results = joined(children.results(20s));
  EXPECT_TRUE(children.reap());
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kProcesses)) << results;
  EXPECT_EQ(race.errors.load(), 0);
  const auto child_keys = std::count(results.begin(), results.end(), 'K');
  EXPECT_EQ(child_keys + race.keys(), 1) << "children: " << results << ", threads: " << race.keys();
  EXPECT_EQ(std::count(results.begin(), results.end(), 'E'), 0) << results;
  EXPECT_EQ(registry.downloads().size(), 1u);
}

// --- a new registry file, created by several at once ----------------------------

std::string sha256(const std::string& text) {
  std::string digest(32, '\0');
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), reinterpret_cast<unsigned char*>(digest.data()), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != 32) {
    throw std::runtime_error("sha256 failed");
  }
  return digest;
}

TEST(Concurrency, FourProcessesCreatingOneNewRegistryAgreeOnOneCertificateAuthority) {
  TempDir dir;
  const std::string path = dir.file("new.db");
  ChildProcesses children(kProcesses, 32, [path](const std::function<void()>& ready_and_wait) {
    ready_and_wait();
    Registry registry(path);  // all create the file, schema and CA at once
    return sha256(registry.ca_certificate_pem());
  });
  ASSERT_TRUE(children.wait_ready(20s));
  children.start();
  const auto records = children.results(20s);
  EXPECT_TRUE(children.reap());
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kProcesses));
  Registry registry(path);
  const std::string expected = sha256(registry.ca_certificate_pem());
  for (const std::string& record : records) {
    EXPECT_NE(record, std::string(32, 'E')) << "a child failed to open the new registry";
    EXPECT_EQ(record, expected) << "children saw different certificate authorities";
  }
  // One master key file, which opens the one CA (this process just opened
  // it), and no temporary file left by the losers of the race to create it.
  EXPECT_EQ(testing::read_bytes(path + ".key").value_or("").size(), 32u);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "new.db" || name == "new.db.key" || name == "new.db-wal" || name == "new.db-shm") << name;
  }
}

TEST(Concurrency, EightThreadsCreatingOneNewRegistryAgreeOnOneCertificateAuthority) {
  TempDir dir;
  const std::string path = dir.file("new.db");
  std::vector<std::string> authorities(kThreads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      try {
        Registry registry(path);
        authorities[static_cast<std::size_t>(t)] = registry.ca_certificate_pem();
      } catch (const std::exception& error) {
        ++errors;
        ADD_FAILURE() << "thread " << t << ": " << error.what();
      }
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  go = true;
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(errors.load(), 0);
  const std::string expected = Registry(path).ca_certificate_pem();
  for (const std::string& authority : authorities) EXPECT_EQ(authority, expected);
  EXPECT_EQ(testing::read_bytes(path + ".key").value_or("").size(), 32u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 2)
      << "expected new.db and new.db.key only";
}

// --- the key never reaches the files -----------------------------------------------

std::string decode_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  out.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock counts padding as zero bytes.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(out.size() - padding);
  return out;
}

// The base64 body lines of a PEM block.
std::vector<std::string> pem_body_lines(const std::string& pem) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < pem.size()) {
    const auto end = pem.find('\n', pos);
    const std::string line = pem.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!line.empty() && line.rfind("-----", 0) != 0) lines.push_back(line);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return lines;
}

// The 32-byte private scalar of an EC private key in PEM.
std::string private_scalar(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                                           EVP_PKEY_free);
  if (!key) return {};
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return {};
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> scalar(raw, BN_clear_free);
  std::string out(32, '\0');
  if (BN_bn2binpad(scalar.get(), reinterpret_cast<unsigned char*>(out.data()), 32) != 32) return {};
  return out;
}

// Every file in `dir` (the database, -wal, -shm, journals), concatenated.
std::string all_files(const std::filesystem::path& dir, std::vector<std::string>& names) {
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    names.push_back(entry.path().filename().string());
    bytes += testing::read_bytes(entry.path().string()).value_or("");
  }
  return bytes;
}

struct KeyTraces {
  std::string base64;              // as in the Secret
  std::vector<std::string> lines;  // PEM body lines
  std::string der;                 // the PKCS#8 DER
  std::string scalar;              // the raw private key
};

void expect_absent(const std::string& haystack, const KeyTraces& key, const std::string& when) {
  EXPECT_EQ(haystack.find(key.base64), std::string::npos) << "base64 key in the files " << when;
  for (const std::string& line : key.lines) {
    EXPECT_EQ(haystack.find(line), std::string::npos) << "PEM key line in the files " << when << ": " << line;
  }
  EXPECT_EQ(haystack.find(key.der), std::string::npos) << "DER key in the files " << when;
  EXPECT_EQ(haystack.find(key.scalar), std::string::npos) << "private scalar in the files " << when;
}

TEST(Concurrency, DatabaseFilesNeverHoldTheAgentKeyAfterTheRace) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const Fixture fixture = prepare(path, 1).front();
  auto registry = std::make_unique<Registry>(path);
  auto other = std::make_unique<Registry>(path);
  ThreadRace race;
  race_threads({registry.get(), other.get()}, fixture, kThreads, race);
  ASSERT_EQ(race.keys(), 1);
  const AccessInfo& winner = *race.winner();

  KeyTraces key;
  const auto base64 = testing::yaml_quoted_value(winner.documents.at(0), "proxy-agent.key");
  ASSERT_TRUE(base64.has_value());
  key.base64 = *base64;
  const std::string pem = decode_base64(key.base64);
  ASSERT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << pem;
  key.lines = pem_body_lines(pem);
  ASSERT_GE(key.lines.size(), 2u);
  std::string body;
  for (const auto& line : key.lines) body += line;
  key.der = decode_base64(body);
  ASSERT_GT(key.der.size(), 60u);
  key.scalar = private_scalar(pem);
  ASSERT_EQ(key.scalar.size(), 32u);

  // The scan sees the stored data: the CA certificate's PEM lines are there.
  const auto ca = testing::yaml_quoted_value(winner.documents.at(0), "ca.crt");
  ASSERT_TRUE(ca.has_value());
  const auto ca_lines = pem_body_lines(decode_base64(*ca));
  ASSERT_FALSE(ca_lines.empty());

  std::vector<std::string> names;
  std::string files = all_files(dir.path(), names);
  EXPECT_NE(std::find(names.begin(), names.end(), "state.db-wal"), names.end()) << "expected a WAL while open";
  EXPECT_NE(files.find(ca_lines.front()), std::string::npos) << "the scan does not see stored data";
  expect_absent(files, key, "while the registries are open");

  registry.reset();
  other.reset();
  names.clear();
  files = all_files(dir.path(), names);
  EXPECT_NE(files.find(ca_lines.front()), std::string::npos);
  expect_absent(files, key, "after the registries are closed");
}

}  // namespace
}  // namespace clusteraccess
