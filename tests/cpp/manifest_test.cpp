#include "manifest.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "certificate_authority.hpp"
#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"

namespace clusteraccess {
namespace {

constexpr std::int64_t kNow = 1'750'000'000;
const ClusterId kId = ClusterId::parse("3f2b8c1e-9a4d-4e7b-8c6f-1d2e3f4a5b6c");

std::string decode_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "<invalid base64>";
  std::size_t length = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --length;
  out.resize(length);
  return out;
}

std::vector<std::string> lines_of(const std::string& doc) {
  std::vector<std::string> lines;
  std::istringstream stream(doc);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& doc, const std::string& line) {
  for (const auto& l : lines_of(doc)) {
    if (l == line) return true;
  }
  return false;
}

// The value of the Secret's `data` entry `key` (a double-quoted scalar).
std::string secret_data(const std::string& doc, const std::string& key) {
  const std::string prefix = "  " + key + ": \"";
  for (const auto& line : lines_of(doc)) {
    if (line.rfind(prefix, 0) == 0 && line.back() == '"') {
      return line.substr(prefix.size(), line.size() - prefix.size() - 1);
    }
  }
  return {};
}

struct Material {
  std::string ca_pem;
  std::string certificate_pem;
  SecretString key_pem;
};

const Material& material() {
  static const Material shared = [] {
    const CertificateAuthority ca(CertificateAuthority::create(kNow, std::chrono::hours(24)));
    AgentCredential credential = ca.issue(kId, kNow, std::chrono::hours(1));
    return Material{ca.certificate_pem(), credential.certificate_pem, std::move(credential.private_key_pem)};
  }();
  return shared;
}

ManifestInput public_input() {
  return ManifestInput{kId,
                       material().ca_pem,
                       material().certificate_pem,
                       material().key_pem,
                       ProxyEndpoint{"proxy.example.com", 8443},
                       "registry.example.com/proxy-agent:v1.0",
                       std::nullopt};
}

ManifestInput private_input(std::string region = "eu-de", std::string endpoint = "10.1.2.3") {
  ManifestInput input = public_input();
  input.private_access = PrivateAccess{std::move(region), std::move(endpoint)};
  return input;
}

void expect_rejected(const ManifestInput& input) {
  try {
    render_manifest(input);
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    // A broken invariant, not a certificate failure.
    EXPECT_EQ(e.status(), Status::kInternal);
    EXPECT_EQ(e.code(), Error::internal().code());
    EXPECT_NE(e.code(), error_code::kCertificateFailure);
    EXPECT_EQ(e.message().rfind("Internal error: ", 0), 0u) << e.message();
  }
}

TEST(Manifest, RendersSecretThenDeployment) {
  const auto docs = render_manifest(public_input());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_TRUE(has_line(docs[0], "apiVersion: v1"));
  EXPECT_TRUE(has_line(docs[0], "kind: Secret"));
  EXPECT_TRUE(has_line(docs[0], "  name: proxy-agent-cert"));
  EXPECT_TRUE(has_line(docs[0], "  namespace: kube-system"));
  EXPECT_TRUE(has_line(docs[0], "type: Opaque"));
  EXPECT_TRUE(has_line(docs[1], "apiVersion: apps/v1"));
  EXPECT_TRUE(has_line(docs[1], "kind: Deployment"));
  EXPECT_TRUE(has_line(docs[1], "  name: proxy-agent"));
  EXPECT_TRUE(has_line(docs[1], "  namespace: kube-system"));
  EXPECT_TRUE(has_line(docs[1], "  replicas: 2"));
}

TEST(Manifest, SecretDataDecodesToThePems) {
  const auto docs = render_manifest(public_input());
  EXPECT_EQ(decode_base64(secret_data(docs[0], "ca.crt")), material().ca_pem);
  EXPECT_EQ(decode_base64(secret_data(docs[0], "proxy-agent.crt")), material().certificate_pem);
  EXPECT_EQ(decode_base64(secret_data(docs[0], "proxy-agent.key")), material().key_pem.view());
}

// The documents hold the key: they come in a container that wipes them when
// it is dropped without handing them on.
TEST(Manifest, RenderedDocumentsAreWipedWhenDropped) {
  static_assert(std::is_same_v<decltype(render_manifest(public_input())), SecretDocuments>);
  int wiped = 0;
  fault::set_hook(fault::Point::kUnreturnedDocumentsWiped, [&wiped] { return ++wiped, false; });
  { const SecretDocuments docs = render_manifest(public_input()); }
  { const SecretDocuments docs = render_manifest(private_input()); }
  fault::clear_hooks();
  EXPECT_EQ(wiped, 2);
}

TEST(Manifest, SecretHoldsNoPlainPem) {
  const auto docs = render_manifest(public_input());
  EXPECT_EQ(docs[0].find("BEGIN"), std::string::npos);
  EXPECT_EQ(docs[1].find("BEGIN"), std::string::npos);
}

TEST(Manifest, DeploymentRunsTheAgentImageWithItsArgs) {
  const auto docs = render_manifest(public_input());
  const std::string& deployment = docs[1];
  EXPECT_TRUE(has_line(deployment, "        - name: proxy-agent"));
  EXPECT_TRUE(has_line(deployment, "          image: \"registry.example.com/proxy-agent:v1.0\""));
  for (const std::string arg : {"--ca-cert=/etc/proxy-agent/certs/ca.crt",
                                "--agent-cert=/etc/proxy-agent/certs/proxy-agent.crt",
                                "--agent-key=/etc/proxy-agent/certs/proxy-agent.key",
                                "--proxy-server-host=proxy.example.com", "--proxy-server-port=8443",
                                "--agent-id=3f2b8c1e-9a4d-4e7b-8c6f-1d2e3f4a5b6c"}) {
    EXPECT_TRUE(has_line(deployment, "            - \"" + arg + "\"")) << arg;
  }
}

TEST(Manifest, DeploymentMountsTheSecretReadOnly) {
  const std::string deployment = render_manifest(public_input())[1];
  EXPECT_NE(deployment.find("          volumeMounts:\n"
                            "            - name: proxy-agent-cert\n"
                            "              mountPath: /etc/proxy-agent/certs\n"
                            "              readOnly: true\n"),
            std::string::npos);
  EXPECT_NE(deployment.find("      volumes:\n"
                            "        - name: proxy-agent-cert\n"
                            "          secret:\n"
                            "            secretName: proxy-agent-cert\n"
                            "            defaultMode: 256\n"),
            std::string::npos);
}

TEST(Manifest, DeploymentRunsTwoSystemClusterCriticalReplicasPreferablyOnTwoNodes) {
  for (const ManifestInput& input : {public_input(), private_input()}) {
    const std::string deployment = render_manifest(input)[1];
    EXPECT_TRUE(has_line(deployment, "  replicas: 2"));
    EXPECT_FALSE(has_line(deployment, "  replicas: 1"));
    EXPECT_TRUE(has_line(deployment, "      priorityClassName: system-cluster-critical"));
    EXPECT_NE(deployment.find("      affinity:\n"
                              "        podAntiAffinity:\n"
                              "          preferredDuringSchedulingIgnoredDuringExecution:\n"
                              "            - weight: 100\n"
                              "              podAffinityTerm:\n"
                              "                topologyKey: kubernetes.io/hostname\n"
                              "                labelSelector:\n"
                              "                  matchLabels:\n"
                              "                    app: proxy-agent\n"),
              std::string::npos);
  }
}

// The "restricted" Pod Security Standard: the pod runs as a numeric non-root
// user with the runtime's seccomp profile; the container cannot gain
// privileges, holds no capability and cannot write its root filesystem.
TEST(Manifest, PodMeetsTheRestrictedPodSecurityStandard) {
  for (const ManifestInput& input : {public_input(), private_input()}) {
    const std::string deployment = render_manifest(input)[1];
    EXPECT_NE(deployment.find("      securityContext:\n"
                              "        runAsNonRoot: true\n"
                              "        runAsUser: 65532\n"
                              "        runAsGroup: 65532\n"
                              "        fsGroup: 65532\n"
                              "        seccompProfile:\n"
                              "          type: RuntimeDefault\n"),
              std::string::npos);
    EXPECT_NE(deployment.find("          securityContext:\n"
                              "            allowPrivilegeEscalation: false\n"
                              "            readOnlyRootFilesystem: true\n"
                              "            capabilities:\n"
                              "              drop:\n"
                              "                - ALL\n"),
              std::string::npos);
    EXPECT_TRUE(has_line(deployment, "      automountServiceAccountToken: false"));
    for (const std::string forbidden : {"privileged", "hostNetwork", "hostPID", "hostIPC", "hostPath", "hostPort",
                                        "add:", "runAsUser: 0", "Unconfined"}) {
      EXPECT_EQ(deployment.find(forbidden), std::string::npos) << forbidden;
    }
  }
}

TEST(Manifest, ContainerHasCpuAndMemoryRequestsAndLimits) {
  const std::string deployment = render_manifest(public_input())[1];
  EXPECT_NE(deployment.find("          resources:\n"
                            "            requests:\n"
                            "              cpu: 100m\n"
                            "              memory: 128Mi\n"
                            "            limits:\n"
                            "              cpu: 500m\n"
                            "              memory: 256Mi\n"),
            std::string::npos);
}

TEST(Manifest, SelectorMatchesPodLabelsAndObjectsNameTheCluster) {
  const auto docs = render_manifest(public_input());
  EXPECT_NE(docs[1].find("  selector:\n    matchLabels:\n      app: proxy-agent\n"), std::string::npos);
  EXPECT_TRUE(has_line(docs[1], "        app: proxy-agent"));
  const std::string label = "\"clusteraccess/cluster-id\": \"3f2b8c1e-9a4d-4e7b-8c6f-1d2e3f4a5b6c\"";
  EXPECT_TRUE(has_line(docs[0], "    " + label));
  EXPECT_TRUE(has_line(docs[1], "    " + label));
  EXPECT_TRUE(has_line(docs[1], "        " + label));
}

TEST(Manifest, PublicAccessHasNoHostAliasesNorRegion) {
  const auto docs = render_manifest(public_input());
  EXPECT_EQ(docs[1].find("hostAliases"), std::string::npos);
  EXPECT_EQ(docs[1].find("clusteraccess/region"), std::string::npos);
}

TEST(Manifest, PrivateAccessMapsProxyHostToTheEndpoint) {
  const auto docs = render_manifest(private_input());
  const std::string& deployment = docs[1];
  EXPECT_NE(deployment.find("    spec:\n"
                            "      hostAliases:\n"
                            "        - ip: \"10.1.2.3\"\n"
                            "          hostnames:\n"
                            "            - \"proxy.example.com\"\n"),
            std::string::npos);
  EXPECT_TRUE(has_line(deployment, "            - \"--proxy-server-host=proxy.example.com\""));
  EXPECT_TRUE(has_line(deployment, "    \"clusteraccess/region\": \"eu-de\""));
  EXPECT_TRUE(has_line(deployment, "        \"clusteraccess/region\": \"eu-de\""));
}

TEST(Manifest, PrivateAccessAcceptsIpv6Endpoint) {
  const auto docs = render_manifest(private_input("cn-north-4", "fd00::1"));
  EXPECT_TRUE(has_line(docs[1], "        - ip: \"fd00::1\""));
}

TEST(Manifest, PrivateAccessToIpProxyPointsAgentAtTheEndpoint) {
  ManifestInput input = private_input();
  input.proxy.host = "192.0.2.10";
  const auto docs = render_manifest(input);
  EXPECT_EQ(docs[1].find("hostAliases"), std::string::npos);
  EXPECT_TRUE(has_line(docs[1], "            - \"--proxy-server-host=10.1.2.3\""));
  EXPECT_EQ(docs[1].find("192.0.2.10"), std::string::npos);
}

TEST(Manifest, PublicAccessToIpProxyKeepsTheProxyAddress) {
  ManifestInput input = public_input();
  input.proxy.host = "192.0.2.10";
  EXPECT_TRUE(has_line(render_manifest(input)[1], "            - \"--proxy-server-host=192.0.2.10\""));
}

TEST(Manifest, DnsProxyHostIsWrittenInLowercase) {
  ManifestInput input = private_input();
  input.proxy.host = "Proxy.EU-DE.Example.com";
  const auto docs = render_manifest(input);
  EXPECT_TRUE(has_line(docs[1], "            - \"proxy.eu-de.example.com\""));
  EXPECT_TRUE(has_line(docs[1], "            - \"--proxy-server-host=proxy.eu-de.example.com\""));
}

TEST(Manifest, DocumentsJoinIntoOneMultiDocumentFile) {
  for (const ManifestInput& input : {public_input(), private_input()}) {
    const auto docs = render_manifest(input);
    std::string joined;
    for (const auto& doc : docs) {
      ASSERT_FALSE(doc.empty());
      EXPECT_EQ(doc.back(), '\n');
      for (const auto& line : lines_of(doc)) {
        EXPECT_NE(line.rfind("---", 0), 0u) << line;
        EXPECT_NE(line.rfind("...", 0), 0u) << line;
        EXPECT_EQ(line.find('\t'), std::string::npos) << line;
      }
      joined += (joined.empty() ? "" : "---\n") + doc;
    }
    int separators = 0;
    for (const auto& line : lines_of(joined)) separators += line == "---";
    EXPECT_EQ(separators, 1);
  }
}

TEST(Manifest, RejectsInjectedRegion) {
  expect_rejected(private_input("eu\nkind: x"));
  expect_rejected(private_input("eu-de\n"));
  expect_rejected(private_input("eu-de\"\nx: y"));
  expect_rejected(private_input("EU-DE"));
  expect_rejected(private_input(""));
}

TEST(Manifest, RejectsInjectedOrNonCanonicalEndpoint) {
  expect_rejected(private_input("eu-de", "1.2.3.4\n"));
  expect_rejected(private_input("eu-de", "1.2.3.4\"\n    x: y"));
  expect_rejected(private_input("eu-de", " 1.2.3.4"));
  expect_rejected(private_input("eu-de", "proxy.example.com"));
  expect_rejected(private_input("eu-de", "2001:DB8::1"));
  expect_rejected(private_input("eu-de", "127.0.0.1"));
  expect_rejected(private_input("eu-de", "1.2.3.4/32"));
  expect_rejected(private_input("eu-de", ""));
}

TEST(Manifest, RejectsBadProxyEndpoint) {
  ManifestInput input = public_input();
  input.proxy.host = "proxy.example.com\nkind: x";
  expect_rejected(input);
  input.proxy.host = "proxy\"example";
  expect_rejected(input);
  input.proxy.host = "";
  expect_rejected(input);
  ManifestInput no_port = public_input();
  no_port.proxy.port = 0;
  expect_rejected(no_port);
}

TEST(Manifest, RejectsBadImage) {
  ManifestInput input = public_input();
  input.agent_image = "registry.example.com/proxy-agent:v1\nkind: x";
  expect_rejected(input);
  input.agent_image = "registry.example.com/proxy-agent:\"v1\"";
  expect_rejected(input);
  input.agent_image = "";
  expect_rejected(input);
}

TEST(Manifest, RejectsMissingPem) {
  const std::string empty;
  const SecretString no_key;
  const ManifestInput no_ca{kId, empty, material().certificate_pem, material().key_pem,
                            ProxyEndpoint{"p.example", 1}, "r/i:1", std::nullopt};
  expect_rejected(no_ca);
  const ManifestInput no_certificate{kId, material().ca_pem, empty, material().key_pem,
                                     ProxyEndpoint{"p.example", 1}, "r/i:1", std::nullopt};
  expect_rejected(no_certificate);
  const ManifestInput keyless{kId, material().ca_pem, material().certificate_pem, no_key,
                              ProxyEndpoint{"p.example", 1}, "r/i:1", std::nullopt};
  expect_rejected(keyless);
}

}  // namespace
}  // namespace clusteraccess
