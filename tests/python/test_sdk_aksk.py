"""The cloud's Python SDK (huaweicloudsdkucs + huaweicloudsdkcore 3.1.219)
authenticating with AK/SK, as a user would, against a real `clusteraccess
serve` on loopback (docs/contract.md, AK/SK): no X-Auth-Token, only the
SDK-HMAC-SHA256 signature its signer adds to every request.

The access key is made with `Registry.create_access_key` for the
installation's principal, who holds the grants. The SDK fixtures (imported
with HOME in a temporary directory; every connection beyond loopback
refused) are conftest.py's, shared with test_sdk_client.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pytest

from clusteraccess import DOWNLOADED, NewAccessKey

if TYPE_CHECKING:
    from conftest import Installation, Manifest, RunningServer, Sdk

FORBIDDEN = "UCS.01000004"
DOMAIN_ID = "domain0001"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
RACE_CHILD = Path(__file__).with_name("sdk_race_child.py")
TIMEOUT_SECONDS = 60

pytestmark = pytest.mark.usefixtures("loopback_only")


@pytest.fixture
def served(installation: Installation, serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(installation.path)


@pytest.fixture
def key(installation: Installation) -> NewAccessKey:
    """An access key of the installation's principal (alice, granted its clusters)."""
    return installation.registry.create_access_key(installation.principal, ttl_seconds=3600)


def ucs_client(sdk: Sdk, port: int, ak: str, sk: str, handler: Any = None) -> Any:
    """A UcsClient signing with GlobalCredentials(ak, sk, domain id), as the SDK's users build it."""
    builder = (
        sdk.ucs.UcsClient.new_builder()
        .with_http_config(sdk.HttpConfig.get_default_config())
        .with_credentials(sdk.GlobalCredentials(ak, sk, DOMAIN_ID))
        .with_endpoints([f"http://127.0.0.1:{port}"])
    )
    if handler is not None:
        builder = builder.with_http_handler(handler)
    return builder.build()


def registration(sdk: Sdk, name: str) -> Any:
    """A RegisterClusterRequest of an attached cluster named name."""
    ucs = sdk.ucs
    return ucs.RegisterClusterRequest(
        body=ucs.RegisterCluster(
            kind="Cluster",
            api_version="v1",
            metadata=ucs.RegisterClusterMetadata(name=name, labels={"env": "dev"}),
            spec=ucs.RegisterClusterSpec(category="attachedcluster", type="privatek8s", country="CN", city="110000"),
        )
    )


def register(client: Any, request: Any) -> Any:
    """register_cluster through the invoker with a JSON body (the generated call sends a form)."""
    return client.register_cluster_invoker(request).add_header("Content-Type", "application/json").invoke()


class SentRequests:
    """An SDK request handler (HttpHandler.add_request_handler) that records
    the headers of each signed request just before it is sent, and may
    rewrite its body (the signature is already made)."""

    def __init__(self, rewrite: Optional[Callable[[bytes], bytes]] = None) -> None:
        self.headers: list[dict[str, str]] = []
        self.rewrite = rewrite

    def __call__(self, **kwargs: Any) -> None:
        request = kwargs["request"]
        self.headers.append(dict(request.header_params))
        if self.rewrite is not None and request.body:
            request.body = self.rewrite(request.body)


def refused(sdk: Sdk, call: Callable[[], Any]) -> Any:
    """The ClientRequestException call raises, checked to be the one 403."""
    with pytest.raises(sdk.core_exceptions.ClientRequestException) as raised:
        call()
    error = raised.value
    assert (error.status_code, error.error_code) == (403, FORBIDDEN), (error.status_code, error.error_msg)
    assert error.request_id
    return error


def access_lines(server: RunningServer, count: int) -> list[dict[str, Any]]:
    """The server's access-log lines of the API (not the health checks), once
    count are written (they are written in batches)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [
            line
            for line in server.log_lines()
            if line.get("logger") == "clusteraccess.access" and line["path"].startswith("/v1/")
        ]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_a_signed_sdk_client_calls_every_operation(
    sdk: Sdk,
    installation: Installation,
    served: RunningServer,
    key: NewAccessKey,
    manifest_of: Callable[[list[str]], Manifest],
) -> None:
    ucs = sdk.ucs
    sent = SentRequests()
    client = ucs_client(sdk, served.port, key.ak, key.sk, sdk.HttpHandler().add_request_handler(sent))

    registered = register(client, registration(sdk, "signed-cluster"))
    assert registered.status_code == 201
    uid = registered.uid
    assert installation.registry.cluster(uid).name == "signed-cluster"

    listed = client.show_cluster_list(ucs.ShowClusterListRequest())
    assert listed.status_code == 200 and listed.total == 4  # the installation's three and the new one
    shown = client.show_cluster(ucs.ShowClusterRequest(clusterid=uid))
    assert (shown.metadata.uid, shown.metadata.name, shown.spec.is_downloaded_cert) == (uid, "signed-cluster", False)

    first = client.show_cluster_access_info(ucs.ShowClusterAccessInfoRequest(clusterid=uid))
    assert first.status_code == 200
    manifest = manifest_of(first.body)
    assert manifest.args["agent-id"] == uid and b"PRIVATE KEY" in manifest.secret_file("proxy-agent.key")
    again = client.show_cluster_access_info(ucs.ShowClusterAccessInfoRequest(clusterid=uid))
    assert again.body == [DOWNLOADED]
    # the download is recorded for the access key's principal
    assert [d.principal for d in installation.registry.downloads() if d.cluster_id == uid] == [installation.principal]

    activated = client.retry_cluster_activation(ucs.RetryClusterActivationRequest(clusterid=uid))
    assert activated.status_code == 200 and activated.body["clusterId"] == uid
    assert installation.registry.cluster(uid).downloaded_at is None
    deleted = client.delete_cluster(ucs.DeleteClusterRequest(clusterid=uid))
    assert deleted.status_code == 200
    assert uid not in [c.id for c in installation.registry.clusters()]

    # every call was signed, none carried a token
    assert len(sent.headers) == 7
    for headers in sent.headers:
        assert headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={key.ak}, SignedHeaders=")
        assert "X-Auth-Token" not in headers and headers["X-Domain-Id"] == DOMAIN_ID
    lines = access_lines(served, 7)
    assert [line["status"] for line in lines] == [201, 200, 200, 200, 200, 200, 200]
    assert [(line["outcome"], line["principal"]) for line in lines[3:5]] == [("issued", "alice"), ("downloaded", "alice")]
    assert all("detail" not in line for line in lines)


def test_the_ucs_client_refuses_basic_credentials_itself(sdk: Sdk, key: NewAccessKey) -> None:
    # UCS is a global service: its builder takes GlobalCredentials only, and
    # says so before any request is made (the refusal is the SDK's own).
    builder = (
        sdk.ucs.UcsClient.new_builder()
        .with_credentials(sdk.BasicCredentials(key.ak, key.sk, PROJECT_ID))
        .with_endpoints(["http://127.0.0.1:9"])
    )
    with pytest.raises(TypeError, match="supported credential type is GlobalCredentials") as raised:
        builder.build()
    assert "huaweicloudsdkcore" in str(raised.traceback[-1].path)


def test_basic_credentials_signed_requests_are_accepted(
    sdk: Sdk, installation: Installation, served: RunningServer, key: NewAccessKey, has_key: Callable[[list[str]], bool]
) -> None:
    ucs = sdk.ucs
    # A UcsClient built the way the SDK builds its project-scoped services'
    # clients (ClientBuilder's default credential type is BasicCredentials):
    # the signer adds and signs X-Project-Id.
    sent = SentRequests()
    client = (
        sdk.ClientBuilder(ucs.UcsClient, "BasicCredentials")
        .with_http_config(sdk.HttpConfig.get_default_config())
        .with_credentials(sdk.BasicCredentials(key.ak, key.sk, PROJECT_ID))
        .with_endpoints([f"http://127.0.0.1:{served.port}"])
        .with_http_handler(sdk.HttpHandler().add_request_handler(sent))
        .build()
    )
    cluster = installation.public_cluster
    first = client.show_cluster_access_info(ucs.ShowClusterAccessInfoRequest(clusterid=cluster))
    assert first.status_code == 200 and has_key(first.body)
    again = client.show_cluster_access_info(ucs.ShowClusterAccessInfoRequest(clusterid=cluster))
    assert again.body == [DOWNLOADED]
    shown = client.show_cluster(ucs.ShowClusterRequest(clusterid=cluster))
    assert shown.spec.is_downloaded_cert is True
    for headers in sent.headers:
        assert headers["X-Project-Id"] == PROJECT_ID and "X-Domain-Id" not in headers
        signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        assert "x-project-id" in signed

    # The same credentials' own signing (what the client submits to its
    # executor: Credentials.process_auth_request -> sign_request) on a bare
    # SdkRequest, sent with the http.client of the standard library.
    import http.client

    from huaweicloudsdkcore.sdk_request import SdkRequest

    request = SdkRequest(
        method="GET", schema="http", host=f"127.0.0.1:{served.port}",
        resource_path=f"/v1/clusters/{cluster}", query_params=[], header_params={"Content-Type": "application/json"},
        body="",
    )
    signed_request = sdk.BasicCredentials(key.ak, key.sk, PROJECT_ID).sign_request(request)
    assert "x-project-id" in signed_request.header_params["Authorization"]
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", signed_request.uri, headers=signed_request.header_params)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["metadata"]["uid"] == cluster
    finally:
        connection.close()


def test_bad_signatures_are_the_one_403_and_the_log_says_why(
    sdk: Sdk, installation: Installation, served: RunningServer, key: NewAccessKey
) -> None:
    ucs = sdk.ucs
    registry = installation.registry
    cluster = installation.public_cluster
    show = ucs.ShowClusterAccessInfoRequest(clusterid=cluster)

    wrong_sk = ucs_client(sdk, served.port, key.ak, key.sk[::-1])
    refused(sdk, lambda: wrong_sk.show_cluster_access_info(show))

    revoked = registry.create_access_key(installation.principal, ttl_seconds=3600)
    registry.revoke_access_key(revoked.ak)
    revoked_client = ucs_client(sdk, served.port, revoked.ak, revoked.sk)
    refused(sdk, lambda: revoked_client.show_cluster_access_info(show))

    expired = registry.create_access_key(installation.principal, ttl_seconds=1)
    time.sleep(max(0.0, expired.expires_at + 1.1 - time.time()))  # the server reads the real clock
    expired_client = ucs_client(sdk, served.port, expired.ak, expired.sk)
    refused(sdk, lambda: expired_client.show_cluster_access_info(show))

    # the body rewritten after it was signed (same length, so only the signature tells)
    tamper = SentRequests(rewrite=lambda body: body.replace(b"tampered-one", b"tampered-two"))
    tampering = ucs_client(sdk, served.port, key.ak, key.sk, sdk.HttpHandler().add_request_handler(tamper))
    refused(sdk, lambda: register(tampering, registration(sdk, "tampered-one")))
    assert len(tamper.headers) == 1

    # nothing was downloaded or registered
    assert registry.cluster(cluster).downloaded_at is None
    assert sorted(c.name for c in registry.clusters()) == ["cce-cluster", "prod-private", "prod-public"]
    # the access log says which check failed, naming the AK, never the SK or a signature
    lines = access_lines(served, 4)
    assert [(line["status"], line["outcome"]) for line in lines] == [(403, FORBIDDEN)] * 4
    details = [line["detail"] for line in lines]
    assert details == [
        f"signature: does not match (access key {key.ak})",
        f"signature: revoked access key (access key {revoked.ak})",
        f"signature: expired access key (access key {expired.ak})",
        f"signature: does not match (access key {key.ak})",
    ]
    log_text = served.log_path.read_text()
    for secret in (key.sk, key.sk[::-1], revoked.sk, expired.sk):
        assert secret not in log_text
    assert "Signature=" not in log_text


def test_a_valid_token_wins_over_a_bad_signature_and_a_good_signature_over_a_bad_token(
    sdk: Sdk, installation: Installation, served: RunningServer, key: NewAccessKey
) -> None:
    ucs = sdk.ucs
    cluster = installation.public_cluster
    show = ucs.ShowClusterRequest(clusterid=cluster)

    wrong_sk = ucs_client(sdk, served.port, key.ak, key.sk[::-1])
    with_token = wrong_sk.show_cluster_invoker(show).add_header("X-Auth-Token", installation.token).invoke()
    assert with_token.status_code == 200 and with_token.metadata.uid == cluster
    # (without the token, that signature is refused)
    refused(sdk, lambda: wrong_sk.show_cluster(show))

    signed = ucs_client(sdk, served.port, key.ak, key.sk)
    with_bad_token = signed.show_cluster_invoker(show).add_header("X-Auth-Token", "not-a-token").invoke()
    assert with_bad_token.status_code == 200 and with_bad_token.metadata.uid == cluster
    first = (
        signed.show_cluster_access_info_invoker(ucs.ShowClusterAccessInfoRequest(clusterid=cluster))
        .add_header("X-Auth-Token", "not-a-token")
        .invoke()
    )
    assert first.status_code == 200 and first.body != [DOWNLOADED]
    # a bad token and a bad signature: refused
    refused(sdk, lambda: wrong_sk.show_cluster_invoker(show).add_header("X-Auth-Token", "not-a-token").invoke())


def test_signed_first_downloads_racing_from_several_processes_deliver_once(
    sdk: Sdk,
    installation: Installation,
    served: RunningServer,
    key: NewAccessKey,
    python_env: dict[str, str],
    tmp_path: Path,
    has_key: Callable[[list[str]], bool],
) -> None:
    processes, threads = 4, 4
    cluster = installation.public_cluster
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**python_env, "HOME": str(sdk.home)}
    children = [
        subprocess.Popen(
            [sys.executable, str(RACE_CHILD), str(served.port), key.ak, key.sk, cluster, str(barrier), str(index),
             str(threads)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for index in range(processes)
    ]
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while len(list(barrier.glob("ready-*"))) < processes:
        assert time.monotonic() < deadline and all(child.poll() is None for child in children), "children not ready"
        time.sleep(0.01)
    (barrier / "go").touch()
    results: list[dict[str, Any]] = []
    for child in children:
        out, err = child.communicate(timeout=TIMEOUT_SECONDS)
        assert child.returncode == 0, err.decode()
        results.extend(json.loads(out))

    assert len(results) == processes * threads
    assert [r for r in results if "error" in r] == []
    bodies = [r["documents"] for r in results]
    assert sum(1 for body in bodies if has_key(body)) == 1
    assert [body for body in bodies if not has_key(body)] == [[DOWNLOADED]] * (processes * threads - 1)
    assert len([d for d in installation.registry.downloads() if d.cluster_id == cluster]) == 1
