"""Every row of docs/contract.md's rules table, in order, through Registry.access_info."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from clusteraccess import (
    DOWNLOADED,
    BadRequestError,
    ClusterAccessError,
    ForbiddenError,
    new_cluster_id,
)

if TYPE_CHECKING:
    from conftest import Installation

# Every rule on every storage backend.
pytestmark = pytest.mark.backends

FORBIDDEN = (403, "UCS.01000004")
BAD_PARAMETER = (400, "UCS.01000011")
CATEGORY_NOT_SUPPORTED = (400, "UCS.01030011")


def refusal(call: Callable[[], object]) -> ClusterAccessError:
    """The ClusterAccessError `call` raises."""
    with pytest.raises(ClusterAccessError) as caught:
        call()
    return caught.value


def status_and_code(error: ClusterAccessError) -> tuple[int, str]:
    """What identifies the kind of an error."""
    return error.status, error.code


def assert_nothing_recorded(installation: Installation) -> None:
    """No download recorded, in the audit log or on any cluster."""
    registry = installation.registry
    assert registry.downloads() == []
    for cluster in registry.clusters():
        assert cluster.downloaded_at is None
        assert cluster.certificate_serial is None


# --- 1. a live token ------------------------------------------------------------


@pytest.mark.parametrize("token", [None, ""], ids=["none", "empty"])
def test_missing_token_is_forbidden(installation: Installation, token: str | None) -> None:
    error = refusal(lambda: installation.registry.access_info(installation.public_cluster, token))
    assert isinstance(error, ForbiddenError)
    assert status_and_code(error) == FORBIDDEN
    assert_nothing_recorded(installation)


@pytest.mark.parametrize(
    "token",
    ["cat_unknown", "x" * 257, "\0", "not a token at all"],
    ids=["unknown", "overlong", "nul", "garbage"],
)
def test_unknown_token_is_forbidden(installation: Installation, token: str) -> None:
    error = refusal(lambda: installation.registry.access_info(installation.public_cluster, token))
    assert status_and_code(error) == FORBIDDEN


def test_token_with_an_extra_character_is_forbidden(installation: Installation) -> None:
    error = refusal(
        lambda: installation.registry.access_info(installation.public_cluster, installation.token + "x")
    )
    assert status_and_code(error) == FORBIDDEN


def test_token_expires_after_its_ttl(installation: Installation) -> None:
    registry, token = installation.registry, installation.token
    bad_id = "not-a-uuid"
    installation.clock.advance(3599)
    # A 400 for the cluster id shows the token passed step 1.
    assert status_and_code(refusal(lambda: registry.access_info(bad_id, token))) == BAD_PARAMETER
    installation.clock.advance(1)
    assert status_and_code(refusal(lambda: registry.access_info(bad_id, token))) == FORBIDDEN
    error = refusal(lambda: registry.access_info(installation.public_cluster, token))
    assert status_and_code(error) == FORBIDDEN
    assert_nothing_recorded(installation)


def test_revoked_token_is_forbidden(installation: Installation) -> None:
    installation.registry.revoke_token(installation.token)
    error = refusal(lambda: installation.registry.access_info(installation.public_cluster, installation.token))
    assert status_and_code(error) == FORBIDDEN
    assert_nothing_recorded(installation)


# --- 2. a Kubernetes UUID ---------------------------------------------------------


@pytest.mark.parametrize(
    "cluster_id",
    ["", "prod", "F47AC10B-58CC-4372-A567-0E02B2C3D479", "{f47ac10b-58cc-4372-a567-0e02b2c3d479}"],
    ids=["empty", "name", "uppercase", "braces"],
)
def test_bad_cluster_id_with_a_valid_token_is_a_bad_request(installation: Installation, cluster_id: str) -> None:
    error = refusal(lambda: installation.registry.access_info(cluster_id, installation.token))
    assert isinstance(error, BadRequestError)
    assert status_and_code(error) == BAD_PARAMETER
    assert "clusterid" in error.message
    assert_nothing_recorded(installation)


def test_uppercase_form_of_a_registered_id_is_a_bad_request(installation: Installation) -> None:
    upper = installation.public_cluster.upper()
    error = refusal(lambda: installation.registry.access_info(upper, installation.token))
    assert status_and_code(error) == BAD_PARAMETER


def test_token_is_judged_before_the_cluster_id(installation: Installation) -> None:
    error = refusal(lambda: installation.registry.access_info("not-a-uuid", "cat_unknown"))
    assert status_and_code(error) == FORBIDDEN
    error = refusal(lambda: installation.registry.access_info("not-a-uuid", None))
    assert status_and_code(error) == FORBIDDEN


# --- 3. an existing cluster the principal may query ---------------------------------


def test_unknown_and_ungranted_clusters_get_the_identical_403(installation: Installation) -> None:
    registry = installation.registry
    ungranted = registry.register_cluster("not-granted", provider="aks")
    unknown = refusal(lambda: registry.access_info(new_cluster_id(), installation.token))
    not_allowed = refusal(lambda: registry.access_info(ungranted, installation.token))
    assert status_and_code(unknown) == FORBIDDEN
    assert (type(unknown), unknown.status, unknown.code, unknown.message) == (
        type(not_allowed),
        not_allowed.status,
        not_allowed.code,
        not_allowed.message,
    )
    assert_nothing_recorded(installation)


def test_revoked_grant_is_forbidden(installation: Installation) -> None:
    registry = installation.registry
    registry.revoke_grant(installation.principal, installation.public_cluster)
    error = refusal(lambda: registry.access_info(installation.public_cluster, installation.token))
    assert status_and_code(error) == FORBIDDEN


def test_another_principals_grant_does_not_help(installation: Installation) -> None:
    registry = installation.registry
    bob = registry.create_token("bob")
    error = refusal(lambda: registry.access_info(installation.public_cluster, bob))
    assert status_and_code(error) == FORBIDDEN


def test_permission_is_judged_before_the_category(installation: Installation) -> None:
    bob = installation.registry.create_token("bob")
    error = refusal(lambda: installation.registry.access_info(installation.cce_cluster, bob))
    assert status_and_code(error) == FORBIDDEN


# --- 4. a third-party cluster --------------------------------------------------------


def test_cce_cluster_is_a_bad_request(installation: Installation) -> None:
    error = refusal(lambda: installation.registry.access_info(installation.cce_cluster, installation.token))
    assert isinstance(error, BadRequestError)
    assert status_and_code(error) == CATEGORY_NOT_SUPPORTED
    assert_nothing_recorded(installation)


def test_category_is_judged_before_the_network_parameters(installation: Installation) -> None:
    error = refusal(
        lambda: installation.registry.access_info(
            installation.cce_cluster, installation.token, vpcendpoint="bogus", region="nowhere"
        )
    )
    assert status_and_code(error) == CATEGORY_NOT_SUPPORTED


# --- 5. the network parameters ----------------------------------------------------------

BAD_VPCENDPOINTS = {
    "hostname": "vpce.example.com",
    "CIDR": "10.0.0.0/24",
    "with a port": "1.2.3.4:80",
    "unspecified IPv4": "0.0.0.0",
    "unspecified IPv6": "::",
    "broadcast": "255.255.255.255",
    "multicast IPv4": "224.0.0.1",
    "multicast IPv6": "ff02::1",
    "loopback IPv4": "127.0.0.1",
    "loopback IPv6": "::1",
    "link-local IPv4": "169.254.1.1",
    "link-local IPv6": "fe80::1",
    "IPv6 with a zone": "fe80::1%eth0",
    "bracketed IPv6": "[fd00::10]",
    "leading zero octet": "10.0.0.010",
    "three octets": "10.0.1",
    "octet out of range": "10.0.0.256",
    "leading space": " 10.0.0.1",
    "trailing newline": "10.0.0.1\n",
    "YAML injection": '10.0.0.1"\n  evil: "x',
    "NUL": "10.0.0.1\0",
    "non-ASCII digit": "10.0.0.\u0663",
}


@pytest.mark.parametrize("vpcendpoint", BAD_VPCENDPOINTS.values(), ids=BAD_VPCENDPOINTS.keys())
def test_private_cluster_rejects_a_vpcendpoint_that_is_not_a_unicast_ip(
    installation: Installation, vpcendpoint: str
) -> None:
    error = refusal(
        lambda: installation.registry.access_info(
            installation.private_cluster, installation.token, vpcendpoint=vpcendpoint, region=installation.region
        )
    )
    assert status_and_code(error) == BAD_PARAMETER
    assert "vpcendpoint" in error.message
    assert_nothing_recorded(installation)


@pytest.mark.parametrize("vpcendpoint", [None, ""], ids=["none", "empty"])
def test_private_cluster_requires_a_vpcendpoint(installation: Installation, vpcendpoint: str | None) -> None:
    error = refusal(
        lambda: installation.registry.access_info(
            installation.private_cluster, installation.token, vpcendpoint=vpcendpoint, region=installation.region
        )
    )
    assert status_and_code(error) == BAD_PARAMETER
    assert "vpcendpoint" in error.message


@pytest.mark.parametrize(
    "region",
    [None, "", "ap-southeast-9", "EU-DE", "eu-de ", "eu-de\n  evil: x", "eu--de", "eu-de\0"],
    ids=["none", "empty", "unknown", "uppercase", "trailing-space", "yaml-injection", "double-hyphen", "nul"],
)
def test_private_cluster_requires_a_known_region(installation: Installation, region: str | None) -> None:
    error = refusal(
        lambda: installation.registry.access_info(
            installation.private_cluster, installation.token, vpcendpoint="10.1.2.3", region=region
        )
    )
    assert status_and_code(error) == BAD_PARAMETER
    assert "region" in error.message
    assert_nothing_recorded(installation)


@pytest.mark.parametrize("vpcendpoint", ["10.1.2.3", "fd00::10", "2001:db8::1", "::ffff:10.1.2.3"])
def test_private_cluster_accepts_a_unicast_ipv4_or_ipv6_address(
    installation: Installation, vpcendpoint: str
) -> None:
    documents = installation.registry.access_info(
        installation.private_cluster, installation.token, vpcendpoint=vpcendpoint, region=installation.region
    )
    assert documents != [DOWNLOADED]
    (record,) = installation.registry.downloads()
    assert (record.network, record.region, record.vpcendpoint) == ("private", installation.region, vpcendpoint)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"vpcendpoint": "10.1.2.3"}, "vpcendpoint"),
        ({"region": "eu-de"}, "region"),
        ({"vpcendpoint": "10.1.2.3", "region": "eu-de"}, "vpcendpoint"),
        ({"vpcendpoint": "not an ip"}, "vpcendpoint"),
    ],
    ids=["vpcendpoint", "region", "both", "bad-vpcendpoint"],
)
def test_public_cluster_rejects_network_parameters(
    installation: Installation, parameters: dict[str, str], named: str
) -> None:
    error = refusal(
        lambda: installation.registry.access_info(
            installation.public_cluster,
            installation.token,
            vpcendpoint=parameters.get("vpcendpoint"),
            region=parameters.get("region"),
        )
    )
    assert status_and_code(error) == BAD_PARAMETER
    assert named in error.message
    assert_nothing_recorded(installation)


def test_public_cluster_takes_empty_network_parameters_as_not_given(installation: Installation) -> None:
    documents = installation.registry.access_info(
        installation.public_cluster, installation.token, vpcendpoint="", region=""
    )
    assert documents != [DOWNLOADED]


# --- 6 and 7. download once ------------------------------------------------------------


def test_first_call_returns_the_manifest_and_records_the_download(installation: Installation) -> None:
    registry = installation.registry
    documents = registry.access_info(installation.public_cluster, installation.token)
    assert len(documents) >= 2
    assert any("kind: Secret" in document for document in documents)

    (record,) = registry.downloads()
    assert (record.cluster_id, record.principal, record.network) == (
        installation.public_cluster,
        installation.principal,
        "public",
    )
    assert (record.region, record.vpcendpoint) == (None, None)
    assert record.downloaded_at == installation.clock.now
    cluster = registry.cluster(installation.public_cluster)
    assert cluster.downloaded_at == installation.clock.now
    assert cluster.certificate_serial == record.certificate_serial


def test_second_call_returns_downloaded(installation: Installation) -> None:
    registry = installation.registry
    registry.access_info(installation.public_cluster, installation.token)
    assert registry.access_info(installation.public_cluster, installation.token) == [DOWNLOADED]
    assert registry.access_info(installation.public_cluster, installation.token) == ["Downloaded"]
    assert len(registry.downloads()) == 1


def test_another_granted_principal_gets_downloaded_after_the_download(installation: Installation) -> None:
    registry = installation.registry
    registry.access_info(installation.public_cluster, installation.token)
    bob = registry.create_token("bob")
    registry.grant("bob", installation.public_cluster)
    assert registry.access_info(installation.public_cluster, bob) == [DOWNLOADED]
    assert [record.principal for record in registry.downloads()] == [installation.principal]


def test_downloaded_cluster_still_judges_steps_1_to_5(installation: Installation) -> None:
    registry = installation.registry
    private = installation.private_cluster
    registry.access_info(private, installation.token, vpcendpoint="10.1.2.3", region=installation.region)

    assert status_and_code(refusal(lambda: registry.access_info(private, None))) == FORBIDDEN
    bob = registry.create_token("bob")
    assert status_and_code(refusal(lambda: registry.access_info(private, bob))) == FORBIDDEN
    error = refusal(lambda: registry.access_info(private, installation.token, region=installation.region))
    assert status_and_code(error) == BAD_PARAMETER
    again = registry.access_info(private, installation.token, vpcendpoint="10.9.9.9", region=installation.region)
    assert again == [DOWNLOADED]


def test_each_cluster_is_downloaded_once_on_its_own(installation: Installation) -> None:
    registry, token = installation.registry, installation.token
    registry.access_info(installation.public_cluster, token)
    private = registry.access_info(
        installation.private_cluster, token, vpcendpoint="10.1.2.3", region=installation.region
    )
    assert private != [DOWNLOADED]
    serials = {record.certificate_serial for record in registry.downloads()}
    assert len(serials) == 2


def test_refused_calls_record_nothing(installation: Installation) -> None:
    registry, token = installation.registry, installation.token
    calls: list[Callable[[], object]] = [
        lambda: registry.access_info(installation.public_cluster, None),
        lambda: registry.access_info("bad", token),
        lambda: registry.access_info(new_cluster_id(), token),
        lambda: registry.access_info(installation.cce_cluster, token),
        lambda: registry.access_info(installation.private_cluster, token),
        lambda: registry.access_info(installation.public_cluster, token, region=installation.region),
    ]
    for call in calls:
        refusal(call)
    assert_nothing_recorded(installation)
    # ...and the cluster can still be downloaded afterwards.
    assert registry.access_info(installation.public_cluster, token) != [DOWNLOADED]
