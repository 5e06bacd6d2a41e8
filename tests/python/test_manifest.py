"""The access information of a first download: Kubernetes objects and the agent credential."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clusteraccess import DEFAULT_AGENT_IMAGE, Registry

if TYPE_CHECKING:
    from conftest import Clock, Installation, Manifest

ManifestOf = Callable[[list[str]], "Manifest"]
PRIVATE_VPCENDPOINT = "10.1.2.3"


@pytest.fixture
def public_manifest(installation: Installation, manifest_of: ManifestOf) -> Manifest:
    """The first download of the public cluster."""
    return manifest_of(installation.registry.access_info(installation.public_cluster, installation.token))


@pytest.fixture
def private_manifest(installation: Installation, manifest_of: ManifestOf) -> Manifest:
    """The first download of the private cluster, through PRIVATE_VPCENDPOINT."""
    documents = installation.registry.access_info(
        installation.private_cluster,
        installation.token,
        vpcendpoint=PRIVATE_VPCENDPOINT,
        region=installation.region,
    )
    return manifest_of(documents)


def agent_certificate(manifest: Manifest) -> x509.Certificate:
    """The agent certificate of `manifest`."""
    return x509.load_pem_x509_certificate(manifest.secret_file("proxy-agent.crt"))


def test_documents_join_into_one_yaml_file_of_a_secret_and_a_deployment(public_manifest: Manifest) -> None:
    assert public_manifest.secret["apiVersion"] == "v1"
    assert public_manifest.deployment["apiVersion"] == "apps/v1"


def test_secret_holds_the_three_pem_files(public_manifest: Manifest) -> None:
    secret = public_manifest.secret
    assert secret["metadata"]["name"] == "proxy-agent-cert"
    assert secret["metadata"]["namespace"] == "kube-system"
    assert secret["type"] == "Opaque"
    assert set(secret["data"]) == {"ca.crt", "proxy-agent.crt", "proxy-agent.key"}
    assert public_manifest.secret_file("ca.crt").startswith(b"-----BEGIN CERTIFICATE-----")
    assert public_manifest.secret_file("proxy-agent.crt").startswith(b"-----BEGIN CERTIFICATE-----")
    assert public_manifest.secret_file("proxy-agent.key").startswith(b"-----BEGIN PRIVATE KEY-----")


def test_deployment_runs_the_agent_with_the_documented_arguments(
    installation: Installation, public_manifest: Manifest
) -> None:
    deployment = public_manifest.deployment
    assert deployment["metadata"]["name"] == "proxy-agent"
    assert deployment["metadata"]["namespace"] == "kube-system"
    args = public_manifest.args
    assert set(args) == {
        "ca-cert",
        "agent-cert",
        "agent-key",
        "proxy-server-host",
        "proxy-server-port",
        "agent-id",
    }
    host, port = installation.public_endpoint
    assert args["proxy-server-host"] == host
    assert args["proxy-server-port"] == str(port)
    assert args["agent-id"] == installation.public_cluster
    assert "hostAliases" not in public_manifest.pod_spec


def test_certificate_arguments_name_files_of_the_mounted_secret(public_manifest: Manifest) -> None:
    pod = public_manifest.pod_spec
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "proxy-agent-cert"
    directory = Path(mount["mountPath"])
    for flag, key in [("ca-cert", "ca.crt"), ("agent-cert", "proxy-agent.crt"), ("agent-key", "proxy-agent.key")]:
        assert Path(public_manifest.args[flag]) == directory / key


def test_deployment_uses_the_default_agent_image(public_manifest: Manifest) -> None:
    (container,) = public_manifest.pod_spec["containers"]
    assert container["image"] == DEFAULT_AGENT_IMAGE


def test_agent_certificate_is_issued_by_the_registry_ca(installation: Installation, public_manifest: Manifest) -> None:
    ca_pem = public_manifest.secret_file("ca.crt")
    assert ca_pem.decode() == installation.registry.ca_certificate_pem()
    ca = x509.load_pem_x509_certificate(ca_pem)
    agent_certificate(public_manifest).verify_directly_issued_by(ca)


def test_agent_key_is_a_fresh_p256_key_matching_the_certificate(public_manifest: Manifest) -> None:
    key = serialization.load_pem_private_key(public_manifest.secret_file("proxy-agent.key"), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    certificate_key = agent_certificate(public_manifest).public_key()
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(*raw) == certificate_key.public_bytes(*raw)


def test_agent_certificate_names_the_cluster_and_is_for_client_auth_only(
    installation: Installation, public_manifest: Manifest
) -> None:
    certificate = agent_certificate(public_manifest)
    (common_name,) = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert common_name.value == installation.public_cluster
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_agent_certificate_serial_is_the_recorded_one(installation: Installation, public_manifest: Manifest) -> None:
    serial = format(agent_certificate(public_manifest).serial_number, "x")
    (record,) = installation.registry.downloads()
    assert record.certificate_serial == serial
    assert installation.registry.cluster(installation.public_cluster).certificate_serial == serial


@pytest.mark.parametrize("validity", [3600, 86400 * 30])
def test_agent_certificate_validity_is_bounded_by_the_requested_one(
    tmp_path: Path, clock: Clock, manifest_of: ManifestOf, validity: int
) -> None:
    registry = Registry(str(tmp_path / "short.db"), clock=clock, certificate_validity_seconds=validity)
    registry.set_public_endpoint("proxy.example.com", 443)
    cluster_id = registry.register_cluster("short-lived", provider="gke")
    token = registry.create_token("alice")
    registry.grant("alice", cluster_id)

    certificate = agent_certificate(manifest_of(registry.access_info(cluster_id, token)))
    not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    skew = datetime.timedelta(minutes=5)
    assert not_after - not_before <= datetime.timedelta(seconds=validity) + skew
    now = datetime.datetime.fromtimestamp(clock.now, tz=datetime.timezone.utc)
    assert not_before <= now < not_after
    assert not_after == now + datetime.timedelta(seconds=validity)


def test_private_manifest_maps_the_region_proxy_to_the_vpcendpoint(
    installation: Installation, private_manifest: Manifest
) -> None:
    host, port = installation.region_endpoint
    assert private_manifest.pod_spec["hostAliases"] == [{"ip": PRIVATE_VPCENDPOINT, "hostnames": [host]}]
    assert private_manifest.args["proxy-server-host"] == host
    assert private_manifest.args["proxy-server-port"] == str(port)
    assert private_manifest.args["agent-id"] == installation.private_cluster


def test_private_manifest_keeps_the_vpcendpoint_in_canonical_form(
    installation: Installation, manifest_of: ManifestOf
) -> None:
    documents = installation.registry.access_info(
        installation.private_cluster, installation.token, vpcendpoint="fd00:0:0::10", region=installation.region
    )
    (alias,) = manifest_of(documents).pod_spec["hostAliases"]
    assert alias["ip"] == "fd00::10"
    assert installation.registry.downloads()[0].vpcendpoint == "fd00::10"


def test_every_first_download_issues_a_new_key_and_serial(
    public_manifest: Manifest, private_manifest: Manifest
) -> None:
    assert public_manifest.secret_file("proxy-agent.key") != private_manifest.secret_file("proxy-agent.key")
    serials = {agent_certificate(m).serial_number for m in (public_manifest, private_manifest)}
    assert len(serials) == 2


@pytest.mark.parametrize("network", ["public", "private"])
def test_deployment_runs_two_system_cluster_critical_replicas_preferably_on_two_nodes(
    public_manifest: Manifest, private_manifest: Manifest, network: str
) -> None:
    manifest = public_manifest if network == "public" else private_manifest
    spec = manifest.deployment["spec"]
    assert spec["replicas"] == 2
    pod = manifest.pod_spec
    assert pod["priorityClassName"] == "system-cluster-critical"
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    # The anti-affinity names the Deployment's own pods.
    assert term["podAffinityTerm"]["labelSelector"] == {"matchLabels": spec["selector"]["matchLabels"]}
    assert term["weight"] == 100


@pytest.mark.parametrize("network", ["public", "private"])
def test_pod_runs_unprivileged_as_a_numeric_non_root_user(
    public_manifest: Manifest, private_manifest: Manifest, network: str
) -> None:
    pod = (public_manifest if network == "public" else private_manifest).pod_spec
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }


def test_certificate_files_are_mounted_mode_0400_read_only(public_manifest: Manifest) -> None:
    pod = public_manifest.pod_spec
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    assert mount["readOnly"] is True
    (volume,) = pod["volumes"]
    assert volume["secret"]["defaultMode"] == 0o400
