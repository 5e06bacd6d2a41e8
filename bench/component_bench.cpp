// Pieces of a download, timed alone (private headers, as the unit tests use
// them), to show where the time of a first download goes:
//
//   component/keygen_sign_ceiling   the OpenSSL floor (as ceiling_bench)
//   component/certificate_issue     CertificateAuthority::issue: key, certificate, PEMs
//   component/render_manifest       the two YAML documents from the PEMs
//   component/hash_token            SHA-256 of a token (every request pays it)
#include <chrono>
#include <string>

#include "bench_support.hpp"
#include "certificate_authority.hpp"
#include "manifest.hpp"
#include "token.hpp"

namespace {

namespace ca = clusteraccess;
using clusteraccess::bench::Latencies;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::chrono::seconds kValidity{365LL * 24 * 3600};

const ca::CertificateAuthority& authority() {
  static const ca::CertificateAuthority instance(ca::CertificateAuthority::create(kNow, 10 * kValidity));
  return instance;
}

void BM_CertificateIssue(benchmark::State& state) {
  const auto& issuer = authority();
  const ca::ClusterId id = ca::ClusterId::generate();
  Latencies latencies(state);
  for (auto _ : state) {
    latencies.time([&] { benchmark::DoNotOptimize(issuer.issue(id, kNow, kValidity)); });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

void BM_RenderManifest(benchmark::State& state) {
  const auto& issuer = authority();
  const ca::ClusterId id = ca::ClusterId::generate();
  const ca::AgentCredential credential = issuer.issue(id, kNow, kValidity);
  Latencies latencies(state);
  for (auto _ : state) {
    latencies.time([&] {
      benchmark::DoNotOptimize(ca::render_manifest(ca::ManifestInput{
          id, issuer.certificate_pem(), credential.certificate_pem, credential.private_key_pem,
          ca::ProxyEndpoint{"proxy.example.com", 30123}, ca::kDefaultAgentImage, std::nullopt}));
    });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

void BM_HashToken(benchmark::State& state) {
  const std::string token = ca::generate_token();
  Latencies latencies(state);
  for (auto _ : state) {
    latencies.time([&] { benchmark::DoNotOptimize(ca::hash_token(token)); });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

}  // namespace

BENCHMARK(BM_CertificateIssue)->Name("component/certificate_issue")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RenderManifest)->Name("component/render_manifest")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HashToken)->Name("component/hash_token")->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
