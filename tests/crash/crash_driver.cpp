// crash_driver: SIGKILL children in the middle of downloads, then check that
// the registry still keeps its promise.
//
// Round after round, the driver registers a few fresh clusters in one
// registry file and forks children that race to download them. Each child
// reports through a pipe every key it receives (the certificate serial,
// written the moment access_info returns) and is killed with SIGKILL:
//   - after a random delay (anywhere: opening, reading, signing, committing);
//   - when it reaches a chosen point of a download (through the library's
//     fault-injection seam): right after the agent key is generated, right
//     before the commit, or right after the commit but before the key is
//     returned. The child announces the point and blocks; the driver kills it;
//   - inside SQLite's I/O (through a wrapper VFS): before or after the N-th
//     write or sync of the download, or half-way through a write (a torn
//     WAL frame or database page).
// Some children are left alone, to finish and to measure a child's lifetime.
//
// Pointed at PostgreSQL (--db postgresql://..., a schema of its own made in
// that database and dropped at the end), the children are the clients of a
// database server, as `serve` replicas are, and the server is killed too:
// instead of SQLite's I/O, the server process (backend) that serves a
// child's connections gets the SIGKILL -- after a random delay, in the middle
// of the download's commit (its statements running, the key being made), or
// right after the commit. The postmaster then ends every other session and
// recovers from its write-ahead log, as after a crash of the database server:
// every child of that round may fail with a storage error (500), which is
// expected there and nowhere else, and the driver waits for the server to
// take connections again before it checks.
//
// Every third fresh cluster is downloaded by the driver and reactivated before
// the children start, so they race on its second generation.
//
// After every round the driver reopens the registry and checks, over all
// clusters so far (for each cluster's current generation):
//   - a cluster is downloaded iff its certificate serial and its audit record
//     are committed, with the same serial, and serials are unique;
//   - every key a child received belongs to the committed serial of its
//     cluster, and no cluster gave out more than one key.
// At the end: the database's own check (SQLite: integrity_check and
// foreign_key_check; PostgreSQL: every grant's copy of its cluster's state),
// and one more access_info per cluster: "Downloaded" for every downloaded
// cluster, and for the others their first (and only) key.
//
// Usage: crash_driver [--kills N] [--seed S] [--children N] [--clusters N]
//                     [--db PATH|postgresql://...] [--max-seconds S] [--verbose]
// --kills counts the SIGKILLs of children and of server processes.
// Exit status 0 when every check held, 1 otherwise.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "crash_location.hpp"
#include "fault_injection.hpp"
#include "sqlite_fault_vfs.hpp"

namespace ca = clusteraccess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Options {
  int kills = 200;
  unsigned seed = 0;
  int children = 4;  // per round
  int clusters = 3;  // fresh clusters per round
  std::string db;
  int max_seconds = 600;
  bool verbose = false;
};

// How a child is to die.
enum class Mode {
  kNone,             // left alone
  kRandomDelay,      // SIGKILL from the driver after a random delay
  kAfterKeyGeneration,
  kBeforeCommit,
  kAfterCommit,      // SIGKILL from the driver when the child announces the point
  kIoBefore,         // the child SIGKILLs itself before its N-th write or sync
  kIoAfter,          // ... after it
  kIoTorn,           // ... half-way through its N-th write
  // PostgreSQL: the child's server process is SIGKILLed
  kServerRandomDelay,  // by the driver, after a random delay
  kServerMidCommit,    // by the child, once its key is made (the commit's statements sent, nothing committed)
  kServerAfterCommit,  // by the child, once the download is committed (before the key is returned)
};
constexpr int kModeCount = 11;

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kNone: return "not killed";
    case Mode::kRandomDelay: return "random delay";
    case Mode::kAfterKeyGeneration: return "after key generation";
    case Mode::kBeforeCommit: return "before commit";
    case Mode::kAfterCommit: return "after commit, before return";
    case Mode::kIoBefore: return "before a write/sync";
    case Mode::kIoAfter: return "after a write/sync";
    case Mode::kIoTorn: return "torn write";
    case Mode::kServerRandomDelay: return "server, random delay";
    case Mode::kServerMidCommit: return "server, mid-commit";
    case Mode::kServerAfterCommit: return "server, after commit";
  }
  return "?";
}

struct Cluster {
  std::string id;
  bool is_private;
};

ca::AccessRequest request_for(const Cluster& cluster, const std::string& token) {
  ca::AccessRequest request{cluster.id, token, std::nullopt, std::nullopt};
  if (cluster.is_private) {
    request.vpcendpoint = "10.20.30.40";
    request.region = "eu-de";
  }
  return request;
}

// One message to the driver, in one write (< PIPE_BUF bytes, so atomic).
void report(int fd, const std::string& line) {
  const std::string message = line + "\n";
  ssize_t ignored = ::write(fd, message.data(), message.size());
  static_cast<void>(ignored);
}

// --- the child ------------------------------------------------------------

// A child's exit status after it reported an error of the library (a
// clusteraccess::Error).
constexpr int kLibraryErrorExit = 2;

// The application_name of a child's connections (PostgreSQL).
std::string session_name(pid_t child) { return "crash-child-" + std::to_string(child); }

[[noreturn]] void run_child(const crash::Location& location, const std::string& token, std::vector<Cluster> clusters,
                            Mode mode, unsigned seed, int fd) {
  std::mt19937 random(seed);
  std::shuffle(clusters.begin(), clusters.end(), random);

  const auto announce_and_wait = [fd](const char* point) {
    return [fd, point] {
      report(fd, std::string("P ") + point);
      for (;;) ::pause();  // until the driver's SIGKILL
      return false;
    };
  };
  // Once: the server is gone after the first kill. None to kill when
  // another child's kill ended this child's session first.
  const auto kill_the_server = [fd, &location](const char* point) {
    return [fd, &location, point, done = std::make_shared<bool>(false)] {
      if (*done) return false;
      *done = true;
      if (location.kill_server_processes(session_name(::getpid())) > 0) report(fd, std::string("S ") + point);
      return false;
    };
  };
  switch (mode) {
    case Mode::kServerMidCommit:
      ca::fault::set_hook(ca::fault::Point::kAfterKeyGeneration, kill_the_server("mid-commit"));
      break;
    case Mode::kServerAfterCommit:
      ca::fault::set_hook(ca::fault::Point::kAfterCommit, kill_the_server("after-commit"));
      break;
    case Mode::kAfterKeyGeneration:
      ca::fault::set_hook(ca::fault::Point::kAfterKeyGeneration, announce_and_wait("after-key-generation"));
      break;
    case Mode::kBeforeCommit:
      ca::fault::set_hook(ca::fault::Point::kBeforeCommit, announce_and_wait("before-commit"));
      break;
    case Mode::kAfterCommit:
      ca::fault::set_hook(ca::fault::Point::kAfterCommit, announce_and_wait("after-commit"));
      break;
    default: break;
  }

  int exit_code = 0;
  try {
    ca::Registry registry = location.open(session_name(::getpid()));
    if (mode == Mode::kIoBefore || mode == Mode::kIoAfter || mode == Mode::kIoTorn) {
      // Counted from the first download on: the N-th write or sync of a
      // database or WAL file.
      const int target = std::uniform_int_distribution<int>(1, 12)(random);
      auto count = std::make_shared<int>(0);
      ca::testing::SqliteFaultVfs::set_hook([=](ca::testing::FileOp op, int flags, sqlite3_file* real,
                                                const void* data, int amount, sqlite3_int64 offset) {
        if (op != ca::testing::FileOp::kWrite && op != ca::testing::FileOp::kSync) return;
        if ((flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) == 0) return;
        if (++*count < target) return;
        if (mode == Mode::kIoAfter) {
          if (op == ca::testing::FileOp::kWrite) real->pMethods->xWrite(real, data, amount, offset);
          if (op == ca::testing::FileOp::kSync) real->pMethods->xSync(real, SQLITE_SYNC_NORMAL);
        } else if (mode == Mode::kIoTorn && op == ca::testing::FileOp::kWrite && amount > 1) {
          real->pMethods->xWrite(real, data, amount / 2, offset);
        }
        ::raise(SIGKILL);
      });
    }
    for (const Cluster& cluster : clusters) {
      const ca::AccessInfo info = registry.access_info(request_for(cluster, token));
      if (info.is_first_download()) {
        report(fd, "K " + cluster.id + " " + *info.certificate_serial);
      } else {
        report(fd, "D " + cluster.id);
      }
    }
  } catch (const ca::Error& error) {
    report(fd, "E " + std::to_string(error.http_status()) + " " + error.code() + " " + error.message());
    exit_code = kLibraryErrorExit;
  } catch (const std::exception& error) {
    report(fd, std::string("X ") + error.what());
    exit_code = 3;
  }
  ::close(fd);
  // The registry is closed (its destructors ran, under the sanitizers if
  // any); skip the exit-time work of the driver's process image (atexit
  // handlers, LeakSanitizer's whole-heap scan, which the test suite does).
  ::_exit(exit_code);
}

// --- the driver ---------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int fd = -1;
  Mode mode = Mode::kNone;
  Clock::time_point started;
  std::optional<Clock::time_point> kill_at;
  bool killed_by_driver = false;
  bool server_kill_tried = false;  // kServerRandomDelay
  int storage_failures = 0;        // 500s reported (expected only where the server was killed)
  std::string storage_failure;
  std::string buffer;
  bool reaped = false;
  int status = 0;
  Clock::duration lifetime{};
};

struct Stats {
  int rounds = 0;
  int children = 0;
  int kills = 0;
  std::array<int, kModeCount> kills_by_mode{};
  int server_kills = 0;
  std::array<int, kModeCount> server_kills_by_mode{};
  int storage_failures = 0;  // children ended by a storage error after a server kill
  std::array<int, kModeCount> children_by_mode{};
  int completed = 0;
  int keys_received = 0;
  int downloaded_reports = 0;
};

struct Ledger {
  // Every key a child reported receiving: cluster -> serials.
  std::map<std::string, std::vector<std::string>> keys;
  std::vector<std::string> failures;
  void fail(const std::string& what) {
    if (failures.size() < 50) failures.push_back(what);
  }
};

int parse_int(const char* text, const char* flag) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 1'000'000'000) {
    std::fprintf(stderr, "crash_driver: bad value for %s: %s\n", flag, text);
    std::exit(64);
  }
  return static_cast<int>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  options.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "crash_driver: %s needs a value\n", arg.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (arg == "--kills") {
      options.kills = parse_int(value(), "--kills");
    } else if (arg == "--seed") {
      options.seed = static_cast<unsigned>(std::strtoul(value(), nullptr, 10));
    } else if (arg == "--children") {
      options.children = std::max(1, parse_int(value(), "--children"));
    } else if (arg == "--clusters") {
      options.clusters = std::max(1, parse_int(value(), "--clusters"));
    } else if (arg == "--db") {
      options.db = value();
    } else if (arg == "--max-seconds") {
      options.max_seconds = parse_int(value(), "--max-seconds");
    } else if (arg == "--verbose") {
      options.verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: crash_driver [--kills N] [--seed S] [--children N] [--clusters N] "
                   "[--db PATH] [--max-seconds S] [--verbose]\n");
      std::exit(arg == "--help" ? 0 : 64);
    }
  }
  return options;
}

// Registers `count` fresh clusters (public and private by turns), granted to
// the driver's principal. Every third one is downloaded here and reactivated
// (docs/contract.md, Lifecycle), so the children race on its second
// generation. No connection stays open afterwards.
std::vector<Cluster> fresh_clusters(const crash::Location& location, const std::string& token, int round,
                                    int count) {
  ca::Registry registry = location.open();
  std::vector<Cluster> out;
  for (int i = 0; i < count; ++i) {
    ca::ClusterSpec spec;
    spec.name = "crash-" + std::to_string(round) + "-" + std::to_string(i);
    spec.provider = "eks";
    spec.network = (round + i) % 2 == 0 ? ca::AccessNetwork::kPublic : ca::AccessNetwork::kPrivate;
    const ca::ClusterId id = registry.register_cluster(spec);
    registry.grant("crasher", id);
    out.push_back(Cluster{id.str(), spec.network == ca::AccessNetwork::kPrivate});
    if ((round + i) % 3 == 0) {
      registry.access_info(request_for(out.back(), token));
      registry.reactivate(id);
    }
  }
  return out;
}

// The storage error a client of a killed server gets.
bool is_storage_failure(const std::string& line) { return line.rfind("E 500 UCS.01000007 ", 0) == 0; }

void handle_line(const std::string& line, Child& child, bool& server_killed, Stats& stats, Ledger& ledger) {
  if (line.rfind("S ", 0) == 0) {
    server_killed = true;
    ++stats.server_kills;
    ++stats.server_kills_by_mode[static_cast<std::size_t>(child.mode)];
  } else if (is_storage_failure(line)) {
    if (child.storage_failures++ == 0) child.storage_failure = line;
  } else if (line.rfind("P ", 0) == 0) {
    if (!child.killed_by_driver) {
      ::kill(child.pid, SIGKILL);
      child.killed_by_driver = true;
    }
  } else if (line.rfind("K ", 0) == 0) {
    std::istringstream in(line.substr(2));
    std::string cluster;
    std::string serial;
    in >> cluster >> serial;
    ledger.keys[cluster].push_back(serial);
    ++stats.keys_received;
  } else if (line.rfind("D ", 0) == 0) {
    ++stats.downloaded_reports;
  } else {
    ledger.fail("child " + std::to_string(child.pid) + " (" + mode_name(child.mode) + ") reported: " + line);
  }
}

// Runs one round of children to their end; true when a server process was
// killed in it (PostgreSQL).
bool run_round(const Options& options, const crash::Location& location, const std::string& token,
               const std::vector<Cluster>& clusters, std::mt19937& random, Clock::duration& typical_lifetime,
               Stats& stats, Ledger& ledger) {
  // Modes by weight: killed after a random delay most often; every other way
  // regularly. On PostgreSQL the server's process stands in for SQLite's I/O;
  // a server kill cuts every child of its round, so it is rarer.
  static constexpr std::array<Mode, 12> kSqliteModes = {
      Mode::kRandomDelay,  Mode::kRandomDelay, Mode::kRandomDelay, Mode::kAfterKeyGeneration,
      Mode::kBeforeCommit, Mode::kAfterCommit, Mode::kIoBefore,    Mode::kIoAfter,
      Mode::kIoTorn,       Mode::kIoTorn,      Mode::kNone,        Mode::kRandomDelay};
  static constexpr std::array<Mode, 16> kPostgresModes = {
      Mode::kRandomDelay,        Mode::kRandomDelay,       Mode::kRandomDelay,     Mode::kRandomDelay,
      Mode::kAfterKeyGeneration, Mode::kBeforeCommit,      Mode::kAfterCommit,     Mode::kAfterKeyGeneration,
      Mode::kBeforeCommit,       Mode::kAfterCommit,       Mode::kNone,            Mode::kNone,
      Mode::kRandomDelay,        Mode::kServerRandomDelay, Mode::kServerMidCommit, Mode::kServerAfterCommit};
  bool server_killed = false;
  std::vector<Child> children(static_cast<std::size_t>(options.children));
  for (Child& child : children) {
    const auto pick = [&random](const auto& modes) {
      return modes[std::uniform_int_distribution<std::size_t>(0, modes.size() - 1)(random)];
    };
    child.mode = location.postgres() ? pick(kPostgresModes) : pick(kSqliteModes);
    ++stats.children_by_mode[static_cast<std::size_t>(child.mode)];
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      ledger.fail("pipe failed");
      return server_killed;
    }
    const unsigned child_seed = static_cast<unsigned>(random());
    std::fflush(nullptr);
    child.started = Clock::now();
    child.pid = ::fork();
    if (child.pid < 0) {
      ledger.fail("fork failed");
      return server_killed;
    }
    if (child.pid == 0) {
      ::close(fds[0]);
      run_child(location, token, clusters, child.mode, child_seed, fds[1]);
    }
    ::close(fds[1]);
    child.fd = fds[0];
    ++stats.children;
    if (child.mode == Mode::kRandomDelay || child.mode == Mode::kServerRandomDelay) {
      const auto limit = std::chrono::duration_cast<std::chrono::microseconds>(typical_lifetime).count();
      const auto delay = std::uniform_int_distribution<long long>(0, std::max<long long>(1, limit))(random);
      child.kill_at = child.started + std::chrono::microseconds(delay);
    }
  }

  const auto deadline = Clock::now() + 60s;  // no child may hang
  for (;;) {
    std::vector<pollfd> polled;
    std::vector<Child*> owners;
    auto wake = Clock::now() + 20ms;
    for (Child& child : children) {
      if (child.fd >= 0) {
        polled.push_back(pollfd{child.fd, POLLIN, 0});
        owners.push_back(&child);
      }
      if (child.kill_at && !child.killed_by_driver && !child.server_kill_tried) wake = std::min(wake, *child.kill_at);
    }
    if (polled.empty()) break;
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    ::poll(polled.data(), polled.size(), static_cast<int>(std::max<long long>(0, timeout)));
    for (std::size_t i = 0; i < polled.size(); ++i) {
      Child& child = *owners[i];
      if ((polled[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char chunk[512];
      const ssize_t n = ::read(child.fd, chunk, sizeof chunk);
      if (n > 0) {
        child.buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t newline;
        while ((newline = child.buffer.find('\n')) != std::string::npos) {
          handle_line(child.buffer.substr(0, newline), child, server_killed, stats, ledger);
          child.buffer.erase(0, newline + 1);
        }
      } else {
        ::close(child.fd);  // EOF: the child is gone (or going)
        child.fd = -1;
        child.lifetime = Clock::now() - child.started;
      }
    }
    const auto now = Clock::now();
    for (Child& child : children) {
      const bool due = child.kill_at && now >= *child.kill_at;
      if (due && child.mode == Mode::kServerRandomDelay && !child.server_kill_tried) {
        child.server_kill_tried = true;
        try {
          // None when the child has not connected yet, or is done.
          if (location.kill_server_processes(session_name(child.pid)) > 0) {
            server_killed = true;
            ++stats.server_kills;
            ++stats.server_kills_by_mode[static_cast<std::size_t>(child.mode)];
          }
        } catch (const ca::Error&) {
          // The server is down already: another child's kill.
        } catch (const std::exception& error) {
          ledger.fail(error.what());
        }
      } else if (due && child.mode != Mode::kServerRandomDelay && !child.killed_by_driver) {
        ::kill(child.pid, SIGKILL);
        child.killed_by_driver = true;
      }
      if (now > deadline && child.fd >= 0 && !child.killed_by_driver) {
        ledger.fail("child " + std::to_string(child.pid) + " (" + mode_name(child.mode) + ") hung");
        ::kill(child.pid, SIGKILL);
        child.killed_by_driver = true;
      }
    }
  }

  for (Child& child : children) {
    if (::waitpid(child.pid, &child.status, 0) != child.pid) {
      ledger.fail("waitpid failed");
      continue;
    }
    if (child.storage_failures > 0 && !server_killed) {
      ledger.fail("child " + std::to_string(child.pid) + " (" + mode_name(child.mode) +
                  ") failed with no server killed: " + child.storage_failure);
    }
    if (WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGKILL) {
      ++stats.kills;
      ++stats.kills_by_mode[static_cast<std::size_t>(child.mode)];
    } else if (WIFEXITED(child.status) && WEXITSTATUS(child.status) == kLibraryErrorExit &&
               child.storage_failures > 0) {
      ++stats.storage_failures;
    } else if (WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) {
      ++stats.completed;
      // A child that finished sets the scale of the random delays.
      typical_lifetime = (typical_lifetime * 3 + child.lifetime) / 4;
    } else {
      ledger.fail("child " + std::to_string(child.pid) + " (" + mode_name(child.mode) + ") ended with " +
                  (WIFSIGNALED(child.status) ? "signal " + std::to_string(WTERMSIG(child.status))
                                             : "exit status " + std::to_string(WEXITSTATUS(child.status))));
    }
  }
  return server_killed;
}

// The invariant over every cluster, on a fresh connection after the kills.
// Audit records are per cluster and generation (an activation starts a new
// one); the cluster's current generation is the one judged.
void check_invariant(const crash::Location& location, const Ledger& keys_ledger, Ledger& ledger) {
  ca::Registry registry = location.open();
  std::map<std::pair<std::string, std::int64_t>, std::string> audited;  // (cluster, generation) -> serial
  std::set<std::string> serials;
  for (const ca::LifecycleEvent& event : registry.events()) {
    if (event.kind != ca::LifecycleEventKind::kDownload) continue;
    const std::string id = event.cluster_id.str();
    const std::string serial = event.certificate_serial.value_or("");
    if (!audited.emplace(std::make_pair(id, event.generation), serial).second) {
      ledger.fail("cluster " + id + " has two audit records in one generation");
    }
    if (!serials.insert(serial).second) ledger.fail("serial " + serial + " audited twice");
  }
  if (audited.size() != registry.downloads().size()) ledger.fail("downloads() and events() disagree");
  std::set<std::string> known;
  for (const ca::Cluster& cluster : registry.clusters()) {
    const std::string id = cluster.id.str();
    known.insert(id);
    const bool downloaded = cluster.downloaded_at.has_value();
    const auto audit = audited.find(std::make_pair(id, cluster.generation));
    if (downloaded != cluster.certificate_serial.has_value()) {
      ledger.fail("cluster " + id + ": downloaded_at and certificate_serial disagree");
    }
    if (downloaded != (audit != audited.end())) {
      ledger.fail("cluster " + id + (downloaded ? ": downloaded without an audit record"
                                                : ": an audit record but not downloaded"));
    }
    if (downloaded && audit != audited.end() && cluster.certificate_serial != audit->second) {
      ledger.fail("cluster " + id + ": committed serial differs from the audited one");
    }
    const auto received = keys_ledger.keys.find(id);
    if (received == keys_ledger.keys.end()) continue;
    if (received->second.size() > 1) {
      ledger.fail("cluster " + id + " gave out " + std::to_string(received->second.size()) + " keys");
    }
    for (const std::string& serial : received->second) {
      if (!downloaded) {
        ledger.fail("cluster " + id + ": a key was received but the cluster is not downloaded");
      } else if (cluster.certificate_serial != serial) {
        ledger.fail("cluster " + id + ": received serial " + serial + " is not the committed one");
      }
    }
  }
  for (const auto& entry : audited) {
    if (known.count(entry.first.first) == 0) ledger.fail("audit record for unknown cluster " + entry.first.first);
  }
}

// Once more, every cluster: Downloaded where a download was committed, the
// one and only key elsewhere.
void final_pass(const crash::Location& location, const std::string& token, const std::vector<Cluster>& clusters,
                const Ledger& keys_ledger, Ledger& ledger, int& late_keys) {
  ca::Registry registry = location.open();
  for (const Cluster& cluster : clusters) {
    const ca::ClusterId id = ca::ClusterId::parse(cluster.id);
    const bool downloaded = registry.cluster(id).downloaded_at.has_value();
    const ca::AccessInfo info = registry.access_info(request_for(cluster, token));
    if (downloaded && info.is_first_download()) {
      ledger.fail("cluster " + cluster.id + " gave a second key");
    }
    if (!downloaded) {
      if (!info.is_first_download()) ledger.fail("cluster " + cluster.id + " not downloaded, yet no key");
      if (keys_ledger.keys.count(cluster.id) != 0) {
        ledger.fail("cluster " + cluster.id + " gave a key before and is not downloaded");
      }
      ++late_keys;
      if (registry.access_info(request_for(cluster, token)).is_first_download()) {
        ledger.fail("cluster " + cluster.id + " gave a second key in the final pass");
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  std::mt19937 random(options.seed);
  ca::testing::SqliteFaultVfs::install();  // inherited by every child; inert until a child sets a hook

  std::optional<crash::Location> made;
  try {
    made.emplace(options.db);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "crash_driver: %s\n", error.what());
    return 1;
  }
  const crash::Location& location = *made;
  std::printf("crash_driver: seed %u, target %d kills, %d children x %d fresh clusters per round, %s\n",
              options.seed, options.kills, options.children, options.clusters, location.describe().c_str());

  std::string token;
  {
    ca::Registry registry = location.open();
    registry.set_public_endpoint("proxy.example.com", 30123);
    registry.add_region("eu-de", "proxy.eu-de.example.com", 30124);
    token = registry.create_token("crasher", std::chrono::hours(24 * 7));
  }

  Stats stats;
  Ledger keys_ledger;  // what children received
  Ledger ledger;       // what went wrong
  std::vector<Cluster> all_clusters;
  Clock::duration typical_lifetime = 30ms;
  const auto started = Clock::now();
  const auto give_up = started + std::chrono::seconds(options.max_seconds);
  while (stats.kills + stats.server_kills < options.kills && ledger.failures.empty()) {
    if (Clock::now() > give_up) {
      ledger.fail("time limit reached after " + std::to_string(stats.kills + stats.server_kills) + " kills");
      break;
    }
    ++stats.rounds;
    try {
      const std::vector<Cluster> clusters = fresh_clusters(location, token, stats.rounds, options.clusters);
      all_clusters.insert(all_clusters.end(), clusters.begin(), clusters.end());
      const bool server_killed =
          run_round(options, location, token, clusters, random, typical_lifetime, stats, keys_ledger);
      ledger.failures.insert(ledger.failures.end(), keys_ledger.failures.begin(), keys_ledger.failures.end());
      keys_ledger.failures.clear();
      if (server_killed && !location.wait_until_serving(60s)) {
        ledger.fail("the database server did not take connections again within 60 s");
      }
      check_invariant(location, keys_ledger, ledger);
    } catch (const std::exception& error) {
      ledger.fail(std::string("round ") + std::to_string(stats.rounds) + ": " + error.what());
    }
    if (options.verbose) {
      std::printf("round %d: %d kills, %d server kills, %d keys received\n", stats.rounds, stats.kills,
                  stats.server_kills, stats.keys_received);
    }
  }

  // The server kills are the point of a run on PostgreSQL: a run that
  // could not make any proves nothing about them.
  const int server_children = stats.children_by_mode[static_cast<std::size_t>(Mode::kServerRandomDelay)] +
                              stats.children_by_mode[static_cast<std::size_t>(Mode::kServerMidCommit)] +
                              stats.children_by_mode[static_cast<std::size_t>(Mode::kServerAfterCommit)];
  if (location.postgres() && server_children >= 4 && stats.server_kills == 0) {
    ledger.fail(std::to_string(server_children) + " children were to have their server killed, and none was");
  }

  int late_keys = 0;
  std::string database = "not checked";
  if (ledger.failures.empty()) {
    try {
      final_pass(location, token, all_clusters, keys_ledger, ledger, late_keys);
      check_invariant(location, keys_ledger, ledger);
    } catch (const std::exception& error) {
      ledger.fail(std::string("final pass: ") + error.what());
    }
  }
  try {
    database = location.check_database();
  } catch (const std::exception& error) {
    database = error.what();
  }
  if (database != "ok") ledger.fail("database check: " + database);

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("crash_driver: %d rounds, %d children, %d SIGKILLs of children and %d of server processes in %.1f s\n",
              stats.rounds, stats.children, stats.kills, stats.server_kills, seconds);
  for (int m = 0; m < kModeCount; ++m) {
    const auto mode = static_cast<std::size_t>(m);
    if (stats.children_by_mode[mode] == 0) continue;
    std::printf("  %-28s %4d children, %4d killed, %4d server kills\n", mode_name(static_cast<Mode>(m)),
                stats.children_by_mode[mode], stats.kills_by_mode[mode], stats.server_kills_by_mode[mode]);
  }
  long downloaded = 0;
  try {
    downloaded = static_cast<long>(location.open().downloads().size());
  } catch (const std::exception& error) {
    ledger.fail(std::string("reopening: ") + error.what());
  }
  // Committed downloads whose key never reached a child: the child was
  // killed after the commit, before reporting, or its server was, after
  // writing the commit and before answering it (the child got a 500). The
  // cluster is downloaded; the key never left.
  const long lost = downloaded - stats.keys_received - late_keys;
  if (lost < 0) ledger.fail("more keys received than downloads committed");
  std::printf("  %zu clusters, %d keys received by children, %d later calls answered Downloaded,\n"
              "  %d children ended by a storage error after a server kill,\n"
              "  %d keys given out in the final pass, %ld downloads committed in all,\n"
              "  %ld keys lost with a child (or a server process) killed after the commit; database check: %s\n",
              all_clusters.size(), stats.keys_received, stats.downloaded_reports, stats.storage_failures, late_keys,
              downloaded, lost, database.c_str());

  if (!ledger.failures.empty()) {
    std::printf("crash_driver: FAILED (seed %u)\n", options.seed);
    for (const std::string& failure : ledger.failures) std::printf("  %s\n", failure.c_str());
    return 1;
  }
  std::printf("crash_driver: OK\n");
  return 0;
}
