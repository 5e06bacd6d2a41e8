"""The cloud's own Python SDK (huaweicloudsdkucs + huaweicloudsdkcore 3.1.219)
as the client of a real `clusteraccess serve` on loopback (docs/contract.md,
Cluster API): its parsed models and its ClientRequestException are what a
user of the SDK sees.

The SDK is built as sdk-notes' offline recipe says: GlobalCredentials with an
AK, an SK and a domain id (so it never asks IAM for one, nor the metadata
service for keys) and `.with_endpoints` (no region, so no IAM call at build
time). A fixture fails the test on any connection or name lookup beyond
loopback, and the SDK is imported with HOME pointed at a temporary directory
(its import writes ~/.huaweicloud/application_id).

The token rides as X-Auth-Token, added through each call's invoker; the AK/SK
signature the SDK adds is not what authenticates these calls.
"""

from __future__ import annotations

import importlib
import ipaddress
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from clusteraccess import DOWNLOADED

if TYPE_CHECKING:
    from conftest import Installation, Manifest, RunningServer

FORBIDDEN = "UCS.01000004"
BAD_PARAMETER = "UCS.01000011"
CLUSTER_FORBIDDEN = "Request forbidden: the cluster does not exist or you are not allowed to query it"


@dataclass(frozen=True)
class Sdk:
    """The SDK's modules, imported with HOME in a temporary directory."""

    ucs: Any  # huaweicloudsdkucs.v1
    core_exceptions: Any  # huaweicloudsdkcore.exceptions.exceptions
    GlobalCredentials: Any
    HttpConfig: Any
    home: Path


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sdk]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        ucs = importlib.import_module("huaweicloudsdkucs.v1")
        exceptions = importlib.import_module("huaweicloudsdkcore.exceptions.exceptions")
        credentials = importlib.import_module("huaweicloudsdkcore.auth.credentials")
        http_config = importlib.import_module("huaweicloudsdkcore.http.http_config")
        yield Sdk(ucs, exceptions, credentials.GlobalCredentials, http_config.HttpConfig, home)


def _is_loopback(host: object) -> bool:
    if host in ("localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host if isinstance(host, str) else str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records (and refuses) every connection and name lookup beyond loopback.

    The SDK turns connection errors into its own exceptions, so the refusals
    are also checked after the test, whatever it caught."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    attempts: list[str] = []
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def checked(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(repr(address))
            raise OSError(f"test: connection beyond loopback refused: {address!r}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        checked(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        checked(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            attempts.append(f"lookup {host!r}")
            raise socket.gaierror(f"test: name lookup beyond loopback refused: {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts
    assert attempts == [], f"the test tried to reach beyond loopback: {attempts}"


class Caller:
    """A UcsClient on the server, calling with one token."""

    def __init__(self, sdk: Sdk, port: int, token: str) -> None:
        self.sdk = sdk
        self.token = token
        credentials = sdk.GlobalCredentials("AKNOTUSEDBYTHESERVER", "sk-not-used-by-the-server", "domain0001")
        self.client = (
            sdk.ucs.UcsClient.new_builder()
            .with_http_config(sdk.HttpConfig.get_default_config())
            .with_credentials(credentials)
            .with_endpoints([f"http://127.0.0.1:{port}"])
            .build()
        )

    def call(self, method: str, request: Any, **headers: str) -> Any:
        """client.<method>_invoker(request) with X-Auth-Token (and headers), invoked."""
        invoker = getattr(self.client, f"{method}_invoker")(request).add_header("X-Auth-Token", self.token)
        for name, value in headers.items():
            invoker = invoker.add_header(name.replace("_", "-"), value)
        return invoker.invoke()

    def register(self, name: str, **spec: Any) -> Any:
        """register_cluster with a JSON body (the generated call sends a form)."""
        body = self.sdk.ucs.RegisterCluster(
            kind="Cluster",
            api_version="v1",
            metadata=self.sdk.ucs.RegisterClusterMetadata(name=name, labels={"env": "dev", "team": "infra"}),
            spec=self.sdk.ucs.RegisterClusterSpec(
                **{"category": "attachedcluster", "type": "privatek8s", "country": "CN", "city": "110000", **spec}
            ),
        )
        return self.call("register_cluster", self.sdk.ucs.RegisterClusterRequest(body=body), Content_Type="application/json")

    def error(self, method: str, request: Any, **headers: str) -> Any:
        """The ClientRequestException the call raises."""
        with pytest.raises(self.sdk.core_exceptions.ClientRequestException) as raised:
            self.call(method, request, **headers)
        return raised.value


@pytest.fixture
def served(installation: Installation, serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(installation.path)


def assert_refused(error: Any, status: int, code: str, *words: str) -> None:
    assert (error.status_code, error.error_code) == (status, code), (error.status_code, error.error_code, error.error_msg)
    assert error.request_id, "the SDK reads X-Request-Id"
    for word in words:
        assert word in error.error_msg


def test_the_sdk_registers_lists_shows_downloads_activates_and_deletes(
    sdk: Sdk, installation: Installation, served: RunningServer, manifest_of: Callable[[list[str]], Manifest]
) -> None:
    ucs = sdk.ucs
    alice = Caller(sdk, served.port, installation.token)

    registered = alice.register("sdk-cluster", provider="openshift")
    assert registered.status_code == 201
    uid = registered.uid
    assert installation.registry.cluster(uid).name == "sdk-cluster"

    listed = alice.call("show_cluster_list", ucs.ShowClusterListRequest())
    assert listed.status_code == 200 and listed.total == 4  # the installation's three and this one
    assert sorted(item.metadata.uid for item in listed.items) == sorted(
        [uid, installation.public_cluster, installation.private_cluster, installation.cce_cluster]
    )
    page = alice.call("show_cluster_list", ucs.ShowClusterListRequest(limit=2, offset=3))
    assert page.total == 4 and len(page.items) == 1

    shown = alice.call("show_cluster", ucs.ShowClusterRequest(clusterid=uid))
    assert shown.status_code == 200 and shown.kind == "Cluster" and shown.api_version == "v1"
    assert (shown.metadata.uid, shown.metadata.name, shown.metadata.labels) == (
        uid, "sdk-cluster", {"env": "dev", "team": "infra"}
    )
    assert (shown.spec.category, shown.spec.type, shown.spec.provider) == ("attachedcluster", "privatek8s", "openshift")
    assert (shown.spec.country, shown.spec.city, shown.spec.manage_type) == ("CN", "110000", "discrete")
    assert shown.spec.is_downloaded_cert is False and shown.status.phase == "Pending"

    first = alice.call("show_cluster_access_info", ucs.ShowClusterAccessInfoRequest(clusterid=uid))
    manifest = manifest_of(first.body)
    assert manifest.args["agent-id"] == uid and b"PRIVATE KEY" in manifest.secret_file("proxy-agent.key")
    first_serial = installation.registry.cluster(uid).certificate_serial
    again = alice.call("show_cluster_access_info", ucs.ShowClusterAccessInfoRequest(clusterid=uid))
    assert again.body == [DOWNLOADED]
    shown = alice.call("show_cluster", ucs.ShowClusterRequest(clusterid=uid))
    assert shown.spec.is_downloaded_cert is True and shown.status.phase == "Initializing"

    activated = alice.call("retry_cluster_activation", ucs.RetryClusterActivationRequest(clusterid=uid))
    assert activated.status_code == 200 and activated.body["clusterId"] == uid and activated.body["message"]
    shown = alice.call("show_cluster", ucs.ShowClusterRequest(clusterid=uid))
    assert shown.spec.is_downloaded_cert is False and shown.status.phase == "Pending"
    renewed = alice.call("show_cluster_access_info", ucs.ShowClusterAccessInfoRequest(clusterid=uid))
    assert manifest_of(renewed.body).secret_file("proxy-agent.key") != manifest.secret_file("proxy-agent.key")
    second_serial = installation.registry.cluster(uid).certificate_serial
    assert first_serial and second_serial and second_serial != first_serial

    deleted = alice.call("delete_cluster", ucs.DeleteClusterRequest(clusterid=uid))
    assert deleted.status_code == 200 and deleted.body is None  # {}: nothing to say
    assert_refused(alice.error("show_cluster", ucs.ShowClusterRequest(clusterid=uid)), 403, FORBIDDEN)
    assert alice.call("show_cluster_list", ucs.ShowClusterListRequest()).total == 3


def test_the_sdk_raises_the_cloud_errors(sdk: Sdk, installation: Installation, served: RunningServer) -> None:
    ucs = sdk.ucs
    registry = installation.registry
    alice = Caller(sdk, served.port, installation.token)
    nobody = Caller(sdk, served.port, "not-a-token")
    bob = Caller(sdk, served.port, registry.create_token("bob", ttl_seconds=3600))
    unknown = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    owned = installation.public_cluster

    assert_refused(nobody.error("show_cluster", ucs.ShowClusterRequest(clusterid=owned)), 403, FORBIDDEN, "X-Auth-Token")
    assert_refused(nobody.error("show_cluster_list", ucs.ShowClusterListRequest()), 403, FORBIDDEN, "X-Auth-Token")
    unknown_error = alice.error("show_cluster", ucs.ShowClusterRequest(clusterid=unknown))
    assert_refused(unknown_error, 403, FORBIDDEN, CLUSTER_FORBIDDEN)
    not_granted = bob.error("show_cluster", ucs.ShowClusterRequest(clusterid=owned))
    assert (not_granted.error_code, not_granted.error_msg) == (unknown_error.error_code, unknown_error.error_msg)
    assert_refused(alice.error("show_cluster", ucs.ShowClusterRequest(clusterid="not-an-id")), 400, BAD_PARAMETER, "clusterid")
    # the SDK quotes "/" in a path parameter: %2F reaches the server, and stays inside the id
    slashed = f"{owned[:8]}/{owned[9:]}"
    assert_refused(alice.error("delete_cluster", ucs.DeleteClusterRequest(clusterid=slashed)), 400, BAD_PARAMETER, "clusterid")
    assert_refused(bob.error("delete_cluster", ucs.DeleteClusterRequest(clusterid=owned)), 403, FORBIDDEN, CLUSTER_FORBIDDEN)
    activation = ucs.RetryClusterActivationRequest(clusterid=owned)
    assert_refused(bob.error("retry_cluster_activation", activation), 403, FORBIDDEN, CLUSTER_FORBIDDEN)
    assert_refused(alice.error("show_cluster_list", ucs.ShowClusterListRequest(limit=1001)), 400, BAD_PARAMETER, "limit")

    kubeconfig = ucs.RegisterClusterRequest(
        body=ucs.RegisterCluster(
            kind="Cluster",
            api_version="v1",
            metadata=ucs.RegisterClusterMetadata(name="with-kubeconfig", annotations={"kubeconfig": "apiVersion: v1\n"}),
            spec=ucs.RegisterClusterSpec(category="attachedcluster", type="privatek8s"),
        )
    )
    error = alice.error("register_cluster", kubeconfig, Content_Type="application/json")
    assert_refused(error, 400, BAD_PARAMETER, "metadata.annotations.kubeconfig")
    with pytest.raises(sdk.core_exceptions.ClientRequestException) as raised:
        alice.register("odd-category", category="multicloud")
    assert_refused(raised.value, 400, BAD_PARAMETER, "spec.category")

    # none of it changed anything
    assert registry.cluster(owned).downloaded_at is None
    assert sorted(c.name for c in registry.clusters()) == ["cce-cluster", "prod-private", "prod-public"]


def test_the_generated_register_cluster_sends_a_form_and_is_told_to_send_json(
    sdk: Sdk, installation: Installation, served: RunningServer
) -> None:
    ucs = sdk.ucs
    alice = Caller(sdk, served.port, installation.token)
    body = ucs.RegisterCluster(
        kind="Cluster",
        api_version="v1",
        metadata=ucs.RegisterClusterMetadata(name="form-cluster"),
        spec=ucs.RegisterClusterSpec(category="attachedcluster", type="privatek8s"),
    )
    error = alice.error("register_cluster", ucs.RegisterClusterRequest(body=body))  # the SDK's own Content-Type
    assert_refused(error, 400, BAD_PARAMETER, "body", "application/json")
    assert "form-cluster" not in [c.name for c in installation.registry.clusters()]


def test_the_sdk_keeps_its_application_id_in_the_test_home(sdk: Sdk) -> None:
    # the import wrote it where HOME pointed, not into the real home directory
    assert (sdk.home / ".huaweicloud" / "application_id").is_file()
