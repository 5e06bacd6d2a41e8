"""The administrative surface of Registry: settings, clusters, tokens and grants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clusteraccess import (
    DEFAULT_AGENT_IMAGE,
    BadRequestError,
    ClusterAccessError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    Registry,
    new_cluster_id,
)

if TYPE_CHECKING:
    from conftest import Installation, Manifest

ManifestOf = Callable[[list[str]], "Manifest"]
BAD_PARAMETER = (400, "UCS.01000011")


def status_and_code(error: ClusterAccessError) -> tuple[int, str]:
    """What identifies the kind of an error."""
    return error.status, error.code


# --- clusters -------------------------------------------------------------------------


def test_register_cluster_records_what_was_given(registry: Registry) -> None:
    cluster_id = registry.register_cluster("edge", provider="openshift", network="private")
    cluster = registry.cluster(cluster_id)
    assert (cluster.id, cluster.name, cluster.category, cluster.provider, cluster.network) == (
        cluster_id,
        "edge",
        "attachedcluster",
        "openshift",
        "private",
    )
    assert (cluster.downloaded_at, cluster.certificate_serial) == (None, None)
    assert [c.id for c in registry.clusters()] == [cluster_id]


def test_register_cluster_defaults_to_a_public_attached_cluster(registry: Registry) -> None:
    cluster = registry.cluster(registry.register_cluster("plain", provider="eks"))
    assert (cluster.category, cluster.network) == ("attachedcluster", "public")


def test_register_cluster_uses_the_given_id(registry: Registry) -> None:
    wanted = new_cluster_id()
    assert registry.register_cluster("given", provider="gke", cluster_id=wanted) == wanted
    assert registry.cluster(wanted).name == "given"


@pytest.mark.parametrize(
    "name",
    ["abc", "a" * 129, "Prod", "1prod", "-prod", "prod-", "prod_1", "prod 1", "prod\n", "pröd"],
    ids=["too-short", "too-long", "uppercase", "digit-first", "hyphen-first", "hyphen-last", "underscore",
         "space", "newline", "non-ascii"],
)
def test_register_cluster_rejects_a_bad_name(registry: Registry, name: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.register_cluster(name, provider="eks")
    assert status_and_code(caught.value) == BAD_PARAMETER
    assert "name" in caught.value.message
    assert registry.clusters() == []


def test_register_cluster_accepts_names_at_the_limits(registry: Registry) -> None:
    registry.register_cluster("abcd", provider="eks")
    registry.register_cluster("a" + "-9" * 63 + "z", provider="eks")
    assert len(registry.clusters()) == 2


@pytest.mark.parametrize(
    ("category", "provider"),
    [("attachedcluster", "cce"), ("attachedcluster", "turbo"), ("self", "eks"), ("attachedcluster", "EKS"),
     ("attachedcluster", "")],
)
def test_register_cluster_rejects_a_provider_of_another_category(
    registry: Registry, category: str, provider: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.register_cluster("wrong", provider=provider, category=category)
    assert "provider" in caught.value.message


@pytest.mark.parametrize("provider", ["eks", "aks", "gke", "ack", "tke", "openshift", "privatek8s"])
def test_register_cluster_accepts_every_attached_provider(registry: Registry, provider: str) -> None:
    registry.register_cluster(f"c-{provider}", provider=provider)


@pytest.mark.parametrize("provider", ["cce", "turbo"])
def test_register_cluster_accepts_cce_providers_for_self(registry: Registry, provider: str) -> None:
    cluster_id = registry.register_cluster(f"c-{provider}", provider=provider, category="self")
    assert registry.cluster(cluster_id).category == "self"


@pytest.mark.parametrize(("field", "value"), [("category", "cce"), ("network", "vpn")])
def test_register_cluster_rejects_an_unknown_category_or_network(registry: Registry, field: str, value: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        if field == "category":
            registry.register_cluster("odd", provider="eks", category=value)
        else:
            registry.register_cluster("odd", provider="eks", network=value)
    assert field in caught.value.message


def test_duplicate_name_is_a_conflict(registry: Registry) -> None:
    registry.register_cluster("twin", provider="eks")
    with pytest.raises(ConflictError) as caught:
        registry.register_cluster("twin", provider="aks")
    assert (caught.value.status, caught.value.code) == (409, "UCS.01000006")
    assert len(registry.clusters()) == 1


def test_duplicate_id_is_a_conflict(registry: Registry) -> None:
    cluster_id = registry.register_cluster("first", provider="eks")
    with pytest.raises(ConflictError):
        registry.register_cluster("second", provider="eks", cluster_id=cluster_id)
    assert [c.name for c in registry.clusters()] == ["first"]


def test_unknown_cluster_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFoundError) as caught:
        registry.cluster(new_cluster_id())
    assert (caught.value.status, caught.value.code) == (404, "UCS.01000005")


# --- tokens and grants -------------------------------------------------------------------


def test_tokens_are_unique_and_each_one_works(installation: Installation) -> None:
    registry = installation.registry
    tokens = {registry.create_token("carol") for _ in range(5)}
    assert len(tokens) == 5
    registry.grant("carol", installation.public_cluster)
    for token in tokens:
        registry.access_info(installation.public_cluster, token)


@pytest.mark.parametrize("ttl", [0, -1])
def test_create_token_rejects_a_ttl_below_one_second(registry: Registry, ttl: int) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.create_token("alice", ttl_seconds=ttl)
    assert "ttl" in caught.value.message


def test_create_token_rejects_a_ttl_past_the_end_of_time(registry: Registry) -> None:
    with pytest.raises(BadRequestError):
        registry.create_token("alice", ttl_seconds=2**63 - 1)


@pytest.mark.parametrize("principal", ["", "-alice", "a" * 65, "al ice", "alice\n", "al/ice"])
def test_principal_names_are_validated(registry: Registry, principal: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.create_token(principal)
    assert "principal" in caught.value.message


def test_revoke_unknown_token_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFoundError):
        registry.revoke_token("cat_unknown")


def test_revoking_a_token_twice_is_harmless(registry: Registry) -> None:
    token = registry.create_token("alice")
    registry.revoke_token(token)
    registry.revoke_token(token)


def test_grant_on_unknown_cluster_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFoundError):
        registry.grant("alice", new_cluster_id())


def test_grant_rejects_a_bad_cluster_id(registry: Registry) -> None:
    with pytest.raises(BadRequestError):
        registry.grant("alice", "not-a-uuid")


def test_granting_twice_keeps_a_single_grant(installation: Installation) -> None:
    registry = installation.registry
    registry.grant(installation.principal, installation.public_cluster)
    registry.revoke_grant(installation.principal, installation.public_cluster)
    with pytest.raises(ForbiddenError):
        registry.access_info(installation.public_cluster, installation.token)


def test_revoke_grant_withdraws_access_and_then_is_not_found(installation: Installation) -> None:
    registry = installation.registry
    registry.revoke_grant(installation.principal, installation.private_cluster)
    with pytest.raises(ForbiddenError):
        registry.access_info(installation.private_cluster, installation.token, vpcendpoint="10.0.0.1", region="eu-de")
    with pytest.raises(NotFoundError):
        registry.revoke_grant(installation.principal, installation.private_cluster)


# --- installation settings ----------------------------------------------------------------


def test_public_endpoint_is_unset_until_set(registry: Registry) -> None:
    assert registry.public_endpoint() is None
    registry.set_public_endpoint("proxy.example.com", 443)
    assert registry.public_endpoint() == ("proxy.example.com", 443)
    registry.set_public_endpoint("192.0.2.10", 8443)
    assert registry.public_endpoint() == ("192.0.2.10", 8443)


@pytest.mark.parametrize(
    ("host", "port", "named"),
    [
        ("proxy.example.com", 0, "port"),
        ("proxy.example.com", 70000, "port"),
        ("proxy.example.com", -1, "port"),
        ("", 443, "host"),
        ("proxy example.com", 443, "host"),
        ("proxy.example.com:443", 443, "host"),
        ("-proxy.example.com", 443, "host"),
        ("proxy..example.com", 443, "host"),
        ('proxy"example', 443, "host"),
        ("proxy.example.com\n", 443, "host"),
        ("https://proxy.example.com", 443, "host"),
    ],
)
def test_set_public_endpoint_validates_host_and_port(registry: Registry, host: str, port: int, named: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.set_public_endpoint(host, port)
    assert named in caught.value.message
    assert registry.public_endpoint() is None


def test_add_region_adds_and_updates(registry: Registry) -> None:
    registry.add_region("eu-de", "proxy.eu-de.example.com", 443)
    registry.add_region("ap-southeast-1", "10.0.0.1", 8443)
    registry.add_region("eu-de", "proxy2.eu-de.example.com", 444)
    regions = [(r.name, r.proxy_host, r.proxy_port) for r in registry.regions()]
    assert regions == [("ap-southeast-1", "10.0.0.1", 8443), ("eu-de", "proxy2.eu-de.example.com", 444)]


@pytest.mark.parametrize(
    ("name", "host", "port", "named"),
    [
        ("", "proxy.example.com", 443, "region"),
        ("EU-DE", "proxy.example.com", 443, "region"),
        ("eu--de", "proxy.example.com", 443, "region"),
        ("-eu", "proxy.example.com", 443, "region"),
        ("eu-", "proxy.example.com", 443, "region"),
        ("e" * 64, "proxy.example.com", 443, "region"),
        ("eu de", "proxy.example.com", 443, "region"),
        ("eu-de", "bad host", 443, "host"),
        ("eu-de", "proxy.example.com", 0, "port"),
        ("eu-de", "proxy.example.com", 65536, "port"),
    ],
)
def test_add_region_validates_its_values(registry: Registry, name: str, host: str, port: int, named: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.add_region(name, host, port)
    assert named in caught.value.message
    assert registry.regions() == []


def test_agent_image_defaults_and_can_be_set(registry: Registry) -> None:
    assert registry.agent_image() == DEFAULT_AGENT_IMAGE
    registry.set_agent_image("registry.example.com/team/agent@sha256:" + "a" * 64)
    assert registry.agent_image() == "registry.example.com/team/agent@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image", ["", "agent", "Registry.example.com/agent:1", "agent:1 ", 'agent:"1"', "agent:1\n", "/agent:1", "a//b:1"]
)
def test_set_agent_image_rejects_what_is_not_an_image_reference(registry: Registry, image: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        registry.set_agent_image(image)
    assert "image" in caught.value.message
    assert registry.agent_image() == DEFAULT_AGENT_IMAGE


def test_agent_image_appears_in_the_manifest(installation: Installation, manifest_of: ManifestOf) -> None:
    installation.registry.set_agent_image("registry.example.com/team/proxy-agent:2.3.4")
    manifest = manifest_of(installation.registry.access_info(installation.public_cluster, installation.token))
    (container,) = manifest.pod_spec["containers"]
    assert container["image"] == "registry.example.com/team/proxy-agent:2.3.4"


def test_first_download_without_a_public_endpoint_fails_and_records_nothing(registry: Registry) -> None:
    cluster_id = registry.register_cluster("no-endpoint", provider="eks")
    token = registry.create_token("alice")
    registry.grant("alice", cluster_id)
    with pytest.raises(ClusterAccessError) as caught:
        registry.access_info(cluster_id, token)
    assert caught.value.status == 500
    assert registry.downloads() == []
    registry.set_public_endpoint("proxy.example.com", 443)
    assert registry.access_info(cluster_id, token) != ["Downloaded"]


def test_registry_rejects_a_non_positive_certificate_validity(db_path: Path) -> None:
    with pytest.raises(BadRequestError):
        Registry(str(db_path), certificate_validity_seconds=0)


def test_registry_settings_persist_across_openings(installation: Installation) -> None:
    reopened = Registry(str(installation.path))
    assert reopened.public_endpoint() == installation.public_endpoint
    assert [r.name for r in reopened.regions()] == [installation.region]
    assert reopened.ca_certificate_pem() == installation.registry.ca_certificate_pem()
    assert {c.id for c in reopened.clusters()} == {
        installation.public_cluster,
        installation.private_cluster,
        installation.cce_cluster,
    }
