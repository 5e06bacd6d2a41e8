// The access information: the Kubernetes objects that install the proxy agent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/installation.hpp"
#include "secret_documents.hpp"
#include "secret_string.hpp"

namespace clusteraccess {

/// The private-network part of a manifest: the validated region name and the
/// canonical text of the VPC endpoint address.
struct PrivateAccess {
  std::string region;
  std::string vpcendpoint;
};

/// Everything a manifest is made of. Every string must already be validated
/// by its checker (names.hpp, ip_address.hpp); `render_manifest` checks them
/// again and throws rather than emit YAML from an unchecked value.
struct ManifestInput {
  ClusterId cluster_id;
  const std::string& ca_certificate_pem;
  const std::string& agent_certificate_pem;
  const SecretString& agent_private_key_pem;
  ProxyEndpoint proxy;  ///< for private access: the region's proxy server
  std::string agent_image;
  std::optional<PrivateAccess> private_access;
};

/// Renders the manifest, one Kubernetes object per string (YAML):
///  1. Secret `proxy-agent-cert` in `kube-system`, type Opaque, with data
///     `ca.crt`, `proxy-agent.crt`, `proxy-agent.key` (base64 of the PEMs);
///  2. Deployment `proxy-agent` in `kube-system` running `agent_image` with
///     args --ca-cert, --agent-cert, --agent-key (files of the Secret mounted
///     at /etc/proxy-agent/certs), --proxy-server-host, --proxy-server-port,
///     --agent-id=<cluster id>; with private access a hostAliases entry maps
///     the proxy host to the VPC endpoint address, and the region is recorded
///     as the label `clusteraccess/region`. When the proxy host of private
///     access is itself an IP literal, no host alias can name it: the agent
///     is pointed at the VPC endpoint directly (--proxy-server-host=<endpoint>)
///     and there is no hostAliases entry.
///     The Deployment runs 2 replicas, preferably on different nodes (pod
///     anti-affinity on kubernetes.io/hostname), with priority class
///     `system-cluster-critical`, cpu and memory requests and limits, no
///     service account token, and a pod that meets the "restricted" Pod
///     Security Standard: runAsNonRoot as user and group 65532 (also the
///     fsGroup, which lets the agent read the Secret's files), seccomp
///     RuntimeDefault, and a container without privilege escalation, with
///     every capability dropped and a read-only root filesystem.
/// Both objects carry the labels `app: proxy-agent` and
/// `clusteraccess/cluster-id: <cluster id>`. A DNS proxy host is written in
/// lowercase (Kubernetes accepts no other in hostAliases). Each string ends
/// with a newline and holds no `---` line, so `"---\n"`-joined they form one
/// multi-document file.
/// The Secret holds the agent's private key, so the documents come in a
/// container that wipes them unless they are handed on; no intermediate
/// (the key's base64, a partly built document) is left unwiped, and no
/// buffer holding key material is ever grown (which would leave a copy).
/// Throws `Error::internal` (500) if a value fails its check (the VPC
/// endpoint must be exactly the canonical text `canonical_unicast_ip` gives).
SecretDocuments render_manifest(const ManifestInput& input);

}  // namespace clusteraccess
