// The machine's ceilings for a first download, with no clusteraccess code:
//
//  * sqlite_durable_update: one single-row conditional UPDATE per durable
//    transaction (BEGIN IMMEDIATE; UPDATE ... WHERE id = ? AND downloaded_at
//    IS NULL; COMMIT) on a WAL database with synchronous=FULL -- the storage
//    cost a download cannot avoid;
//  * openssl_keygen_sign: one EC P-256 key generation plus one ECDSA/SHA-256
//    signature over a certificate-sized message -- the crypto a download
//    cannot avoid.
//
// Their per-operation times added up are the issuance ceiling (bench/run.py
// does the sum); everything a real download costs beyond it counts against
// the library. Since a disk's fsync time drifts, library_bench also runs the
// same bare UPDATE interleaved op by op with the library's first downloads
// (bench_support.hpp, BareDurableUpdate); the table uses that figure.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "bench_support.hpp"

namespace {

using clusteraccess::bench::Latencies;

std::string g_workdir = "/tmp";
benchmark::IterationCount g_update_iterations = 2000;

void BM_SqliteDurableUpdate(benchmark::State& state) {
  clusteraccess::bench::BareDurableUpdate update(g_workdir + "/ceiling-update.db",
                                                 static_cast<std::size_t>(state.max_iterations));
  Latencies latencies(state);
  for (auto _ : state) latencies.time([&] { update.run(); });
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

// Roughly the DER size of an agent certificate's to-be-signed part.
constexpr std::size_t kCertificateSizedMessage = 480;

void BM_OpensslKeygenSign(benchmark::State& state) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> keygen(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!keygen || EVP_PKEY_keygen_init(keygen.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(keygen.get(), "P-256") != 1) {
    state.SkipWithError("keygen setup failed");
    return;
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(keygen.get(), &raw) != 1) {
    state.SkipWithError("CA keygen failed");
    return;
  }
  const std::unique_ptr<EVP_PKEY, PkeyFree> ca_key(raw);
  const std::unique_ptr<EVP_MD, MdFree> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> sign(EVP_MD_CTX_new());
  std::array<unsigned char, kCertificateSizedMessage> message{};
  RAND_bytes(message.data(), static_cast<int>(message.size()));
  std::array<unsigned char, 128> signature{};

  Latencies latencies(state);
  for (auto _ : state) {
    latencies.time([&] {
      EVP_PKEY* agent = nullptr;
      if (EVP_PKEY_generate(keygen.get(), &agent) != 1) throw std::runtime_error("keygen failed");
      EVP_PKEY_free(agent);
      std::size_t length = signature.size();
      if (EVP_DigestSignInit(sign.get(), nullptr, sha256.get(), nullptr, ca_key.get()) != 1 ||
          EVP_DigestSign(sign.get(), signature.data(), &length, message.data(), message.size()) != 1) {
        throw std::runtime_error("signing failed");
      }
      message[0] = signature[0];  // a new message each time
    });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

}  // namespace

int main(int argc, char** argv) {
  clusteraccess::bench::initialize(
      argc, argv,
      {{"--workdir", [](const std::string& value) { g_workdir = value; }},
       {"--update-iterations", [](const std::string& value) { g_update_iterations = std::atoll(value.c_str()); }}});
  benchmark::RegisterBenchmark("ceiling/sqlite_durable_update", BM_SqliteDurableUpdate)
      ->Iterations(g_update_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("ceiling/openssl_keygen_sign", BM_OpensslKeygenSign)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
