"""The HTTP service over a real socket.

The server is the real thing, `python -m clusteraccess.service`, started as a
subprocess on a free loopback port; the tests talk HTTP to it with
http.client (and a raw socket for bytes http.client refuses to send). Every
response is checked for Content-Type application/json, an X-Request-Id, and
against the schema the checked-in openapi.json gives for its status.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

import jsonschema
import pytest
import yaml

import clusteraccess
from clusteraccess import Registry

REPO_OPENAPI = Path(__file__).resolve().parents[2] / "python" / "clusteraccess" / "openapi.json"
OPENAPI: dict[str, Any] = json.loads(REPO_OPENAPI.read_bytes())
ACCESS_INFO_TEMPLATE = "/v1/clusters/{clusterid}/accessinfo"

FORBIDDEN = "UCS.01000004"
NOT_FOUND = "UCS.01000005"
INTERNAL = "UCS.01000007"
METHOD_NOT_ALLOWED = "UCS.01000008"
BAD_PARAMETER = "UCS.01000011"
CATEGORY_NOT_SUPPORTED = "UCS.01030011"


# --- talking to the server -----------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def request_id(self) -> str:
        return self.headers["X-Request-Id"]


def _schema_for(path: str, method: str, status: int) -> dict[str, Any]:
    """The response schema openapi.json gives; the error body for any
    undocumented error (unknown routes, odd paths)."""
    if path in OPENAPI["paths"]:
        template = path
    elif path.startswith("/v1/clusters/") and path.endswith("/accessinfo"):
        template = ACCESS_INFO_TEMPLATE
    elif path.startswith("/v1/clusters/") and path.endswith("/activation"):
        template = "/v1/clusters/{clusterid}/activation"
    elif path.startswith("/v1/clusters/") and "/" not in path[len("/v1/clusters/") :]:
        template = "/v1/clusters/{clusterid}"
    else:
        template = ""
    operation = OPENAPI["paths"].get(template, {}).get(method.lower(), {})
    response = operation.get("responses", {}).get(str(status))
    if response is None:
        assert status >= 400, f"{method} {path} -> {status} is not documented"
        return {"$ref": "#/components/schemas/ErrorBody"}
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def check_reply(reply: Reply, method: str, path: str) -> Reply:
    """What every response must have, whatever the request."""
    assert reply.headers.get_content_type() == "application/json", reply.headers
    assert reply.headers["Cache-Control"] == "no-store", reply.headers
    request_id = reply.headers["X-Request-Id"]
    assert request_id and len(request_id) <= 64 and all(c.isalnum() or c == "-" for c in request_id)
    assert reply.status != 500 or reply.json() == {"error_code": INTERNAL, "error_msg": "Internal error"}
    if method != "HEAD":
        schema = _schema_for(path.split("?", 1)[0], method, reply.status)
        document = {**schema, "components": OPENAPI["components"]}  # so that #/components refs resolve
        jsonschema.Draft202012Validator(document).validate(reply.json())
    return reply


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def request(
        self, target: str, token: Optional[str | bytes] = None, method: str = "GET", headers: Optional[dict[str, Any]] = None
    ) -> Reply:
        """One request on a new connection; target is sent exactly as given."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            if token is not None:
                connection.putheader("X-Auth-Token", token)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
        return check_reply(reply, method, target)

    def raw(self, request: bytes) -> Reply:
        """Sends request bytes as they are (http.client refuses non-ASCII)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(request)
            response = http.client.HTTPResponse(sock)
            response.begin()
            reply = Reply(response.status, response.headers, response.read())
        return check_reply(reply, "GET", request.split(b" ")[1].decode("latin-1"))

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line the server wrote to stderr; each must be JSON."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def access_lines(self, request_ids: set[str], timeout: float = 5.0) -> list[dict[str, Any]]:
        """The access-log lines of these requests (written just after the response)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [
                line
                for line in self.log_lines()
                if line.get("logger") == "clusteraccess.access" and line["request_id"] in request_ids
            ]
            if {line["request_id"] for line in lines} >= request_ids or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(db: Path, log_path: Path) -> Server:
    """python -m clusteraccess.service on a free port, once /healthz answers."""
    port = free_port()
    env = dict(os.environ)
    package_root = str(Path(clusteraccess.__file__).absolute().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "clusteraccess.service", "--db", str(db), "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
        cwd=db.parent,
    )
    log.close()
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if server.request("/healthz").status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not answer /healthz:\n{log_path.read_text()}")
        time.sleep(0.05)


def stop_server(server: Server) -> int:
    """SIGTERM, as a service manager would; returns the exit code."""
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        raise


# --- the installation the server serves ----------------------------------------


@dataclass
class World:
    registry: Registry
    token: str  # alice: granted every cluster registered through fresh_cluster
    stranger_token: str  # bob: granted nothing
    expired_token: str
    expired_at: float
    revoked_token: str
    private_id: str
    cce_id: str
    all_tokens: list[str] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def fresh_cluster(self, network: str = "public") -> str:
        """A new attached cluster, granted to alice, never downloaded."""
        cluster_id = self.registry.register_cluster(
            f"cluster-{network}-{next(self._names)}", provider="eks", network=network
        )
        self.registry.grant("alice", cluster_id)
        return cluster_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("http") / "registry.db"
    registry = Registry(str(db))
    registry.set_public_endpoint("proxy.example.com", 30123)
    registry.add_region("eu-de", "proxy.eu-de.example.com", 30124)
    token = registry.create_token("alice", ttl_seconds=3600)
    stranger_token = registry.create_token("bob", ttl_seconds=3600)
    expired_token = registry.create_token("alice", ttl_seconds=1)
    expired_at = math.floor(time.time()) + 1  # no later than the token's expiry
    revoked_token = registry.create_token("alice", ttl_seconds=3600)
    registry.revoke_token(revoked_token)
    cce_id = registry.register_cluster("cce-cluster", provider="cce", category="self")
    registry.grant("alice", cce_id)
    world = World(
        registry, token, stranger_token, expired_token, expired_at, revoked_token, "", cce_id,
        [token, stranger_token, expired_token, revoked_token],
    )
    world.private_id = world.fresh_cluster("private")
    yield world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[Server]:
    db = Path(world.registry.path)
    server = start_server(db, db.parent / "server.log")
    yield server
    assert stop_server(server) == 0


def accessinfo(cluster_id: str, query: str = "") -> str:
    return f"/v1/clusters/{cluster_id}/accessinfo" + (f"?{query}" if query else "")


def assert_error(reply: Reply, status: int, code: str, *words: str) -> dict[str, str]:
    assert reply.status == status, (reply.status, reply.body)
    body: dict[str, str] = reply.json()
    assert body["error_code"] == code, body
    for word in words:
        assert word in body["error_msg"], body
    return body


def private_key_of(documents: list[str]) -> Optional[str]:
    """The agent private key (PEM) the manifest carries, if any."""
    for document in documents:
        manifest = yaml.safe_load(document)
        if isinstance(manifest, dict) and manifest.get("kind") == "Secret":
            return base64.b64decode(manifest["data"]["proxy-agent.key"]).decode()
    return None


# --- the service ---------------------------------------------------------------


def test_health(server: Server) -> None:
    reply = server.request("/healthz")
    assert reply.status == 200 and reply.json() == {"status": "ok"}


def test_the_served_openapi_is_the_checked_in_file(server: Server) -> None:
    reply = server.request("/openapi.json")
    assert reply.status == 200
    assert reply.body == REPO_OPENAPI.read_bytes()
    assert reply.json() == OPENAPI
    assert OPENAPI["openapi"].startswith("3.")
    operation = OPENAPI["paths"][ACCESS_INFO_TEMPLATE]["get"]
    assert {"200", "400", "403", "500"} <= set(operation["responses"])
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert parameters[("header", "X-Auth-Token")]["required"] is True
    assert {("path", "clusterid"), ("query", "vpcendpoint"), ("query", "region")} <= set(parameters)


# --- the rules table, row by row -------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "cat_not-a-token", "x" * 300])
def test_step1_no_live_token_is_403(server: Server, world: World, token: Optional[str]) -> None:
    reply = server.request(accessinfo(world.fresh_cluster()), token)
    assert_error(reply, 403, FORBIDDEN, "X-Auth-Token")


def test_step1_revoked_token_is_403(server: Server, world: World) -> None:
    assert_error(server.request(accessinfo(world.fresh_cluster()), world.revoked_token), 403, FORBIDDEN)


def test_step1_expired_token_is_403(server: Server, world: World) -> None:
    time.sleep(max(0.0, world.expired_at + 0.05 - time.time()))
    assert_error(server.request(accessinfo(world.fresh_cluster()), world.expired_token), 403, FORBIDDEN)


def test_step1_is_judged_before_the_id(server: Server) -> None:
    assert_error(server.request(accessinfo("not-an-id")), 403, FORBIDDEN, "X-Auth-Token")


@pytest.mark.parametrize(
    "cluster_id",
    [
        "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0",  # uppercase
        "{0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0}",
        "urn:uuid:0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",
        "0f1e2d3c4b5a49788695a4b3c2d1e0f0",  # 32 bare hex digits
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f",
        "%200f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",  # leading space
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f%00",  # NUL
        "",
    ],
)
def test_step2_bad_cluster_id_is_400(server: Server, world: World, cluster_id: str) -> None:
    assert_error(server.request(accessinfo(cluster_id), world.token), 400, BAD_PARAMETER, "clusterid")


def test_step3_unknown_and_not_granted_are_the_same_403(server: Server, world: World) -> None:
    unknown = server.request(accessinfo("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"), world.token)
    not_granted = server.request(accessinfo(world.fresh_cluster()), world.stranger_token)
    assert_error(unknown, 403, FORBIDDEN)
    assert unknown.body == not_granted.body
    assert unknown.status == not_granted.status


def test_step4_cce_cluster_is_400(server: Server, world: World) -> None:
    assert_error(server.request(accessinfo(world.cce_id), world.token), 400, CATEGORY_NOT_SUPPORTED)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("", "vpcendpoint"),
        ("region=eu-de", "vpcendpoint"),
        ("vpcendpoint=10.0.0.1", "region"),
        ("vpcendpoint=not-an-ip&region=eu-de", "vpcendpoint"),
        ("vpcendpoint=10.0.0.0%2F8&region=eu-de", "vpcendpoint"),
        ("vpcendpoint=224.0.0.1&region=eu-de", "vpcendpoint"),
        ("vpcendpoint=10.0.0.1&region=mars-1", "region"),
        ("vpcendpoint=10.0.0.1&region=eu-de%0Akind:%20Secret", "region"),
        ("vpcendpoint=%FF&region=eu-de", "vpcendpoint"),  # not UTF-8
    ],
)
def test_step5_private_cluster_parameters_are_400(
    server: Server, world: World, query: str, parameter: str
) -> None:
    reply = server.request(accessinfo(world.private_id, query), world.token)
    assert_error(reply, 400, BAD_PARAMETER, parameter)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("vpcendpoint=10.0.0.1", "vpcendpoint"), ("region=eu-de", "region"), ("vpcendpoint=10.0.0.1&region=eu-de", "vpcendpoint")],
)
def test_step5_public_cluster_takes_no_network_parameters(
    server: Server, world: World, query: str, parameter: str
) -> None:
    reply = server.request(accessinfo(world.fresh_cluster(), query), world.token)
    assert_error(reply, 400, BAD_PARAMETER, parameter)


def test_step6_and_7_manifest_once_then_downloaded(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    first = server.request(accessinfo(cluster_id), world.token)
    assert first.status == 200
    documents = first.json()
    assert len(documents) >= 2 and all(isinstance(d, str) for d in documents)
    key = private_key_of(documents)
    assert key is not None and "PRIVATE KEY" in key
    kinds = [yaml.safe_load(d)["kind"] for d in documents]
    assert "Secret" in kinds and "Deployment" in kinds
    assert cluster_id in "".join(documents)
    assert world.registry.cluster(cluster_id).downloaded_at is not None

    for _ in range(2):
        again = server.request(accessinfo(cluster_id), world.token)
        assert again.status == 200 and again.json() == ["Downloaded"]


def test_private_cluster_manifest_maps_the_proxy_to_the_vpc_endpoint(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster("private")
    query = "vpcendpoint=192.168.0.10&region=eu-de"
    reply = server.request(accessinfo(cluster_id, query), world.token)
    assert reply.status == 200
    deployment = next(d for d in map(yaml.safe_load, reply.json()) if d["kind"] == "Deployment")
    aliases = deployment["spec"]["template"]["spec"]["hostAliases"]
    assert aliases == [{"ip": "192.168.0.10", "hostnames": ["proxy.eu-de.example.com"]}]
    assert server.request(accessinfo(cluster_id, query), world.token).json() == ["Downloaded"]


def test_downloaded_is_still_judged_by_the_rules(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    assert server.request(accessinfo(cluster_id), world.token).status == 200
    assert_error(server.request(accessinfo(cluster_id)), 403, FORBIDDEN)
    assert_error(server.request(accessinfo(cluster_id), world.stranger_token), 403, FORBIDDEN)
    assert_error(server.request(accessinfo(cluster_id, "region=eu-de"), world.token), 400, BAD_PARAMETER)


def test_unknown_and_empty_query_parameters_are_ignored(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    reply = server.request(accessinfo(cluster_id, "foo=bar&region=&vpcendpoint&x"), world.token)
    assert reply.status == 200 and private_key_of(reply.json()) is not None


def test_sixteen_concurrent_clients_one_key(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    barrier = threading.Barrier(16)
    replies: list[Reply] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            barrier.wait(timeout=10)
            reply = server.request(accessinfo(cluster_id), world.token)
            with lock:
                replies.append(reply)
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(replies) == 16 and all(reply.status == 200 for reply in replies)
    with_key = [reply for reply in replies if private_key_of(reply.json()) is not None]
    assert len(with_key) == 1
    assert sum(reply.json() == ["Downloaded"] for reply in replies) == 15


# --- path tricks and odd bytes: 400 or 403 with the JSON body, never 500 -----------


def test_dot_dot_segments_are_part_of_the_id(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    for target in [
        f"/v1/clusters/../clusters/{cluster_id}/accessinfo",
        f"/v1/clusters/{cluster_id}/../{cluster_id}/accessinfo",
        f"/v1/clusters/x/../{cluster_id}/accessinfo",
        "/v1/clusters/../accessinfo",
        "/v1/clusters/%2E%2E/accessinfo",
        f"/v1/clusters/./{cluster_id}/accessinfo",
    ]:
        assert_error(server.request(target, world.token), 400, BAD_PARAMETER, "clusterid")
    # none of them reached the cluster
    assert world.registry.cluster(cluster_id).downloaded_at is None


def test_encoded_slash_stays_inside_the_id(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    for target in [
        f"/v1/clusters/{cluster_id[:8]}%2F{cluster_id[9:]}/accessinfo",
        f"/v1/clusters/{cluster_id[:8]}%2f{cluster_id[9:]}/accessinfo",
        f"/v1/clusters/..%2F{cluster_id}/accessinfo",
        f"/v1/clusters/{cluster_id}%2F/accessinfo",
        f"/v1/clusters/{cluster_id}%2F..%2F{cluster_id}/accessinfo",
    ]:
        assert_error(server.request(target, world.token), 400, BAD_PARAMETER, "clusterid")
    assert world.registry.cluster(cluster_id).downloaded_at is None
    # ... and an encoded slash never turns a shorter path into the endpoint: it
    # is GET /v1/clusters/{clusterid} of the id "<id>/accessinfo", refused
    reply = server.request(f"/v1/clusters/{cluster_id}%2Faccessinfo", world.token)
    assert_error(reply, 400, BAD_PARAMETER, "clusterid")
    assert world.registry.cluster(cluster_id).downloaded_at is None


def test_percent_encoded_uppercase_is_still_uppercase(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    upper = "".join(f"%{ord(c):02X}" for c in cluster_id.upper())
    assert_error(server.request(accessinfo(upper), world.token), 400, BAD_PARAMETER, "clusterid")
    assert world.registry.cluster(cluster_id).downloaded_at is None


def test_percent_encoded_lowercase_is_the_same_id(server: Server, world: World) -> None:
    # Percent-decoding is what a client means (RFC 3986): the same resource.
    cluster_id = world.fresh_cluster()
    encoded = "".join(f"%{ord(c):02X}" for c in cluster_id)
    assert server.request(accessinfo(encoded), world.token).status == 200
    assert server.request(accessinfo(cluster_id), world.token).json() == ["Downloaded"]


def test_ten_kilobyte_cluster_id_is_400(server: Server, world: World) -> None:
    assert_error(server.request(accessinfo("a" * 10240), world.token), 400, BAD_PARAMETER, "clusterid")
    assert_error(server.request(accessinfo("%41" * 3500)), 403, FORBIDDEN)


def test_ten_kilobyte_token_is_403(server: Server, world: World) -> None:
    assert_error(server.request(accessinfo(world.fresh_cluster()), "t" * 10240), 403, FORBIDDEN)


@pytest.mark.parametrize("parameter", ["region", "vpcendpoint"])
def test_repeated_query_parameter_is_400_naming_it(server: Server, world: World, parameter: str) -> None:
    query = f"vpcendpoint=10.0.0.1&region=eu-de&{parameter}=" + ("eu-de" if parameter == "region" else "10.0.0.1")
    reply = server.request(accessinfo(world.private_id, query), world.token)
    assert_error(reply, 400, BAD_PARAMETER, parameter, "more than once")
    assert world.registry.cluster(world.private_id).downloaded_at is None


def test_several_token_headers_are_no_token(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    request = (
        f"GET {accessinfo(cluster_id)} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {world.token}\r\n"
        f"X-Auth-Token: {world.token}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert_error(server.raw(request), 403, FORBIDDEN)


def test_raw_non_utf8_bytes_in_the_path_are_400(server: Server, world: World) -> None:
    request = b"GET /v1/clusters/\xff\xfe\x80/accessinfo HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + world.token.encode() + b"\r\n\r\n"
    assert_error(server.raw(request), 400, BAD_PARAMETER)


def test_raw_non_utf8_bytes_in_the_query_are_400(server: Server, world: World) -> None:
    target = accessinfo(world.private_id).encode() + b"?vpcendpoint=10.0.0.1&region=eu\xff"
    request = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + world.token.encode() + b"\r\n\r\n"
    assert_error(server.raw(request), 400, BAD_PARAMETER)


def test_percent_encoded_non_utf8_is_400(server: Server, world: World) -> None:
    reply = server.request(accessinfo("%FF%FE" + "0" * 34), world.token)
    assert_error(reply, 400, BAD_PARAMETER, "clusterid")
    reply = server.request(accessinfo(world.private_id, "vpcendpoint=10.0.0.1&region=eu-de%C0"), world.token)
    assert_error(reply, 400, BAD_PARAMETER, "region")


def test_non_utf8_bytes_in_the_token_are_403(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    reply = server.request(accessinfo(cluster_id), world.token.encode() + b"\xff\xfe")
    assert_error(reply, 403, FORBIDDEN)
    assert_error(server.request(accessinfo(cluster_id), b"\xc3\x28\xa0\xa1"), 403, FORBIDDEN)


def test_garbage_that_is_not_http_gets_the_json_body(server: Server) -> None:
    assert_error(server.raw(b"GET /v1/clusters/a b/accessinfo HTTP/1.1\r\nHost: x\r\n\r\n"), 400, BAD_PARAMETER)


# --- routes and methods ----------------------------------------------------------


# (/v1/clusters and /v1/clusters/{clusterid} are the cluster API's: tests/python/test_cluster_http.py)
@pytest.mark.parametrize(
    "target", ["/", "/v1/clusters/x/accessinfo/", "/v1/clusters/x/y", "/v2/clusters/x/accessinfo", "/docs"]
)
def test_unknown_route_is_404_json(server: Server, world: World, target: str) -> None:
    assert_error(server.request(target, world.token), 404, NOT_FOUND)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_method_is_405_json(server: Server, world: World, method: str) -> None:
    reply = server.request(accessinfo(world.fresh_cluster()), world.token, method=method)
    assert_error(reply, 405, METHOD_NOT_ALLOWED, method)
    assert reply.headers["Allow"] == "GET"


def test_head_is_405_and_downloads_nothing(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    reply = server.request(accessinfo(cluster_id), world.token, method="HEAD")
    assert reply.status == 405 and reply.headers["Allow"] == "GET"
    assert world.registry.cluster(cluster_id).downloaded_at is None
    assert private_key_of(server.request(accessinfo(cluster_id), world.token).json()) is not None


def test_healthz_post_is_405(server: Server) -> None:
    assert_error(server.request("/healthz", method="POST"), 405, METHOD_NOT_ALLOWED)


# --- request ids and the access log ---------------------------------------------------


def test_a_sane_request_id_is_kept_and_others_replaced(server: Server, world: World) -> None:
    assert server.request("/healthz", headers={"X-Request-Id": "abc-123-DEF"}).request_id == "abc-123-DEF"
    for insane in ["a b", "x" * 65, "<script>", "id\u00e9".encode("latin-1"), ""]:
        request_id = server.request("/healthz", headers={"X-Request-Id": insane}).request_id
        assert len(request_id) == 32 and int(request_id, 16) >= 0


def test_access_log_one_json_line_per_request_without_the_token(server: Server, world: World) -> None:
    cluster_id = world.fresh_cluster()
    requests = [
        (accessinfo(cluster_id), world.token, 200, "issued"),
        (accessinfo(cluster_id), world.token, 200, "downloaded"),
        (accessinfo(cluster_id), world.stranger_token, 403, FORBIDDEN),
        (accessinfo("bad"), world.token, 400, BAD_PARAMETER),
        ("/nowhere", world.token, 404, NOT_FOUND),
    ]
    expected = {}
    for index, (target, token, status, outcome) in enumerate(requests):
        request_id = f"log-{os.getpid()}-{index}"
        reply = server.request(target, token, headers={"X-Request-Id": request_id})
        assert reply.status == status and reply.request_id == request_id
        expected[request_id] = (target, status, outcome)
    # one raw, unparseable request: logged under the id it was answered with
    garbage = server.raw(b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n")
    expected[garbage.request_id] = ("", 400, BAD_PARAMETER)

    lines = server.access_lines(set(expected))
    assert sorted(line["request_id"] for line in lines) == sorted(expected)
    for line in lines:
        target, status, outcome = expected[line["request_id"]]
        assert line["path"] == target
        assert line["status"] == status and line["outcome"] == outcome
        assert line["method"] in ("GET", "")
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["ts"].endswith("Z")

    log_text = server.log_path.read_text()
    for token in world.all_tokens:
        assert token not in log_text
    assert "Traceback" not in log_text
    assert all(isinstance(line, dict) for line in server.log_lines())  # every line is JSON


# --- shutdown -------------------------------------------------------------------------


def test_sigterm_finishes_in_flight_requests_and_exits_0(world: World, tmp_path: Path) -> None:
    server = start_server(Path(world.registry.path), tmp_path / "server.log")
    cluster_id = world.fresh_cluster()
    replies: list[Reply] = []
    # Hold the database's write lock, so that the first download, having made
    # its key, waits to record it: a request certainly in flight.
    lock = sqlite3.connect(world.registry.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        client = threading.Thread(target=lambda: replies.append(server.request(accessinfo(cluster_id), world.token)))
        client.start()
        time.sleep(0.3)
        assert client.is_alive() and not replies
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert server.process.poll() is None, "exited with a request in flight"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    client.join(timeout=30)
    assert server.process.wait(timeout=15) == 0
    assert len(replies) == 1 and replies[0].status == 200
    assert private_key_of(replies[0].json()) is not None
    assert world.registry.cluster(cluster_id).downloaded_at is not None
    messages = [line.get("message", "") for line in server.log_lines()]
    assert any("Shutting down" in message for message in messages)
    assert [line["outcome"] for line in server.log_lines() if line.get("logger") == "clusteraccess.access"][-1] == "issued"
