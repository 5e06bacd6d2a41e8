#include "manifest.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base64.hpp"
#include "clusteraccess/error.hpp"
#include "ip_address.hpp"
#include "names.hpp"

namespace clusteraccess {

namespace {

constexpr std::string_view kName = "proxy-agent";
constexpr std::string_view kSecretName = "proxy-agent-cert";
constexpr std::string_view kNamespace = "kube-system";
constexpr std::string_view kCertDirectory = "/etc/proxy-agent/certs";
// Two agents, as the cloud's own manifest runs them: one can be rescheduled
// (a node drained, a rollout) while the other keeps the cluster reachable.
constexpr std::string_view kReplicas = "2";
// The agent is the cluster's way in for its owner: it goes before ordinary
// workloads when a node runs short.
constexpr std::string_view kPriorityClass = "system-cluster-critical";
// A numeric non-root user and group (the "nonroot" user of distroless
// images), so that runAsNonRoot can be checked without the image's passwd.
constexpr std::string_view kRunAsId = "65532";
// The agent relays connections; these bound what a busy one takes.
constexpr std::string_view kCpuRequest = "100m";
constexpr std::string_view kMemoryRequest = "128Mi";
constexpr std::string_view kCpuLimit = "500m";
constexpr std::string_view kMemoryLimit = "256Mi";

// A value that passed its checker failed the second check: stored data was
// changed behind the library's back, or a bug let it through. Either way no
// manifest is made, and it is no certificate failure.
[[noreturn]] void reject() { throw Error::internal("a manifest value failed its second check"); }

// Every value has passed its checker before it gets here; this is the last
// line of defence: anything that would need escaping inside a YAML
// double-quoted scalar is refused rather than escaped.
std::string quoted(std::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') reject();
  }
  std::string out;
  out.reserve(value.size() + 2);
  out.append(1, '"').append(value).append(1, '"');
  return out;
}

// ASCII only: std::tolower would follow the process locale.
std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The values of a manifest after their second check.
struct Values {
  std::string cluster_id;
  std::string proxy_host;
  std::string proxy_port;
  std::string image;
  std::optional<std::string> region;
  std::optional<std::string> host_alias_ip;  ///< set: map `proxy_host` to it
};

Values check_values(const ManifestInput& input) {
  Values values;
  const std::string id = input.cluster_id.str();
  if (!is_valid_cluster_id(id)) reject();
  if (!is_valid_host_name(input.proxy.host) || !is_valid_port(input.proxy.port)) reject();
  if (!is_valid_image_reference(input.agent_image)) reject();

  const bool proxy_is_ip = is_ip_literal(input.proxy.host);
  std::string proxy_host = proxy_is_ip ? input.proxy.host : lowercase(input.proxy.host);
  if (input.private_access) {
    const PrivateAccess& access = *input.private_access;
    if (!is_valid_region_name(access.region)) reject();
    const auto endpoint = canonical_unicast_ip(access.vpcendpoint);
    if (!endpoint || *endpoint != access.vpcendpoint) reject();
    values.region = access.region;
    if (proxy_is_ip) {
      proxy_host = *endpoint;
    } else {
      values.host_alias_ip = *endpoint;
    }
  }

  values.cluster_id = id;
  values.proxy_host = std::move(proxy_host);
  values.proxy_port = std::to_string(input.proxy.port);
  values.image = input.agent_image;
  return values;
}

std::string labels(const Values& values, std::string_view indent) {
  std::string out;
  out.append(indent).append("app: ").append(kName).append("\n");
  out.append(indent).append("\"clusteraccess/cluster-id\": ");
  out.append(quoted(values.cluster_id)).append("\n");
  if (values.region) {
    out.append(indent).append("\"clusteraccess/region\": ").append(quoted(*values.region)).append("\n");
  }
  return out;
}

// The lines every object starts with: its type, and its name, namespace and
// labels.
void append_head(std::string& doc, std::string_view api_version, std::string_view kind,
                 std::string_view name, const Values& values) {
  doc.append("apiVersion: ").append(api_version).append("\n"
             "kind: ").append(kind).append("\n"
             "metadata:\n"
             "  name: ").append(name).append("\n"
             "  namespace: ").append(kNamespace).append("\n"
             "  labels:\n");
  doc.append(labels(values, "    "));
}

// The Secret, added to `documents` as it is built: from its first byte of
// key material the document belongs to a container that wipes it, whatever
// happens next.
void render_secret(const ManifestInput& input, const Values& values, SecretDocuments& documents) {
  for (const std::string_view pem : {std::string_view(input.ca_certificate_pem),
                                     std::string_view(input.agent_certificate_pem),
                                     input.agent_private_key_pem.view()}) {
    if (pem.empty()) reject();
  }
  const std::string ca = base64_encode(input.ca_certificate_pem);
  const std::string certificate = base64_encode(input.agent_certificate_pem);
  // base64_encode reserves its exact output size, so the key's base64 is
  // written into one buffer, never grown, and wiped here.
  const SecretString key(base64_encode(input.agent_private_key_pem.view()));

  std::string doc;
  // Reserved up front, so that growing never leaves a copy of the key behind.
  doc.reserve(1024 + ca.size() + certificate.size() + key.view().size());
  append_head(doc, "v1", "Secret", kSecretName, values);
  doc.append("type: Opaque\n"
             "data:\n"
             "  ca.crt: \"").append(ca).append("\"\n"
             "  proxy-agent.crt: \"").append(certificate).append("\"\n");
  // The buffer changes hands (it is moved, not copied) before the key is
  // written into it, and the key goes in only if it fits the reservation.
  constexpr std::string_view kKeyHead = "  proxy-agent.key: \"";
  constexpr std::string_view kKeyTail = "\"\n";
  documents.push_back(std::move(doc));
  std::string& secret = documents.back();
  if (secret.capacity() - secret.size() < kKeyHead.size() + key.view().size() + kKeyTail.size()) {
    reject();  // a bug: the reservation above is too small
  }
  secret.append(kKeyHead).append(key.view()).append(kKeyTail);
}

std::string render_deployment(const Values& values) {
  std::string doc;
  append_head(doc, "apps/v1", "Deployment", kName, values);
  doc.append("spec:\n"
             "  replicas: ").append(kReplicas).append("\n"
             "  selector:\n"
             "    matchLabels:\n"
             "      app: ").append(kName).append("\n"
             "  template:\n"
             "    metadata:\n"
             "      labels:\n");
  doc.append(labels(values, "        "));
  doc.append("    spec:\n");
  if (values.host_alias_ip) {
    doc.append("      hostAliases:\n"
               "        - ip: ").append(quoted(*values.host_alias_ip)).append("\n"
               "          hostnames:\n"
               "            - ").append(quoted(values.proxy_host)).append("\n");
  }
  // The pod meets the Kubernetes "restricted" Pod Security Standard. The
  // agent needs no Kubernetes API credentials of its own (the manifest grants
  // its service account nothing), so no token is mounted. fsGroup: the kubelet
  // gives the Secret's files (mode 0400, owned by root) to this group,
  // readable by it (0440), so that the non-root agent can read its key.
  doc.append("      priorityClassName: ").append(kPriorityClass).append("\n"
             "      automountServiceAccountToken: false\n"
             "      securityContext:\n"
             "        runAsNonRoot: true\n"
             "        runAsUser: ").append(kRunAsId).append("\n"
             "        runAsGroup: ").append(kRunAsId).append("\n"
             "        fsGroup: ").append(kRunAsId).append("\n"
             "        seccompProfile:\n"
             "          type: RuntimeDefault\n"
             // Preferred, not required: a one-node cluster still runs both.
             "      affinity:\n"
             "        podAntiAffinity:\n"
             "          preferredDuringSchedulingIgnoredDuringExecution:\n"
             "            - weight: 100\n"
             "              podAffinityTerm:\n"
             "                topologyKey: kubernetes.io/hostname\n"
             "                labelSelector:\n"
             "                  matchLabels:\n"
             "                    app: ").append(kName).append("\n");
  const std::string certs(kCertDirectory);
  const auto arg = [&doc](std::string_view flag, std::string_view value) {
    std::string text;
    text.append("--").append(flag).append("=").append(value);
    doc.append("            - ").append(quoted(text)).append("\n");
  };
  doc.append("      containers:\n"
             "        - name: ").append(kName).append("\n"
             "          image: ").append(quoted(values.image)).append("\n"
             "          args:\n");
  arg("ca-cert", certs + "/ca.crt");
  arg("agent-cert", certs + "/proxy-agent.crt");
  arg("agent-key", certs + "/proxy-agent.key");
  arg("proxy-server-host", values.proxy_host);
  arg("proxy-server-port", values.proxy_port);
  arg("agent-id", values.cluster_id);
  doc.append("          resources:\n"
             "            requests:\n"
             "              cpu: ").append(kCpuRequest).append("\n"
             "              memory: ").append(kMemoryRequest).append("\n"
             "            limits:\n"
             "              cpu: ").append(kCpuLimit).append("\n"
             "              memory: ").append(kMemoryLimit).append("\n"
             "          securityContext:\n"
             "            allowPrivilegeEscalation: false\n"
             "            readOnlyRootFilesystem: true\n"
             "            capabilities:\n"
             "              drop:\n"
             "                - ALL\n"
             "          volumeMounts:\n"
             "            - name: ").append(kSecretName).append("\n"
             "              mountPath: ").append(kCertDirectory).append("\n"
             "              readOnly: true\n"
             "      volumes:\n"
             "        - name: ").append(kSecretName).append("\n"
             "          secret:\n"
             "            secretName: ").append(kSecretName).append("\n"
             // 0400 in decimal: YAML 1.1 and 1.2 read a leading-zero octal differently.
             "            defaultMode: 256\n");
  return doc;
}

}  // namespace

SecretDocuments render_manifest(const ManifestInput& input) {
  const Values values = check_values(input);
  SecretDocuments documents;
  documents.reserve(2);  // adding the Deployment moves no string
  render_secret(input, values, documents);
  documents.push_back(render_deployment(values));
  return documents;
}

}  // namespace clusteraccess
