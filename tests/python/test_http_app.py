"""The HTTP layer in-process: the catch-all 500, the thread-pool choice and the
raw path and query parsing, with stand-in registries. Everything else about the
service is tested over a real socket in test_http_service.py.

The app is driven through httpx's ASGI transport (starlette's TestClient warns
about its httpx dependency, and warnings are errors here).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path
from typing import Optional

import anyio
import httpx
import jsonschema
import pytest
from starlette.applications import Starlette

from clusteraccess import ClusterAccessError, Delivery, InternalError, SignedRequest
from clusteraccess.service import (
    auth_token,
    cluster_id_from_raw_path,
    create_app,
    new_request_id,
    query_parameters,
    request_id,
)
from clusteraccess.service_logging import AccessLog

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "python" / "clusteraccess" / "openapi.json").read_bytes())
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody", "components": OPENAPI["components"]}
CLUSTER_ID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"
SECRET_DETAIL = "disk I/O error in /var/lib/clusteraccess/registry.db: UPDATE clusters SET downloaded_at"


class FakeRegistry:
    """Answers like the core would -- judging without issuing, `answer` issued
    once, then ["Downloaded"] -- and records the calls and where they ran."""

    def __init__(self, answer: list[str] | BaseException) -> None:
        self.answer = answer
        self.issued = False
        self.calls: list[tuple[str, Optional[str], Optional[str], Optional[str]]] = []
        self.threads: list[tuple[str, str]] = []  # (method, thread name)

    def _called(self, method: str, cluster_id: str, token: Optional[str], vpcendpoint: Optional[str], region: Optional[str]) -> None:
        self.calls.append((cluster_id, token, vpcendpoint, region))
        self.threads.append((method, threading.current_thread().name))
        if isinstance(self.answer, BaseException):
            raise self.answer

    def judge_access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
        signature: Optional[SignedRequest] = None,
    ) -> tuple[Optional[list[str]], str]:
        self._called("judge_access_info", cluster_id, token, vpcendpoint, region)
        if self.answer == ["Downloaded"] or self.issued:
            return ["Downloaded"], "alice"
        return None, "alice"

    def access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
        signature: Optional[SignedRequest] = None,
        delivery: Optional[Delivery] = None,
    ) -> list[str]:
        self._called("access_info", cluster_id, token, vpcendpoint, region)
        assert isinstance(self.answer, list)
        if self.issued:
            return ["Downloaded"]
        self.issued = True
        return self.answer

    def public_endpoint(self) -> Optional[tuple[str, int]]:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return ("proxy.example.com", 30123)


def core_error(status: int, code: str, message: str) -> ClusterAccessError:
    """A ClusterAccessError as the core raises it."""
    error = InternalError(message) if status == 500 else ClusterAccessError(message)
    error.status, error.code, error.message = status, code, message
    return error


class Client:
    """Synchronous requests to an ASGI app, in-process."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, headers: Optional[dict[str, str]] = None) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, path, headers=headers)

        return anyio.run(send)

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def head(self, path: str, headers: Optional[dict[str, str]] = None) -> httpx.Response:
        return self.request("HEAD", path, headers)


def client_for(registry: FakeRegistry) -> Client:
    return Client(create_app(registry, access_log=AccessLog(io.StringIO())))




def test_unexpected_exception_is_the_json_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    registry = FakeRegistry(RuntimeError(SECRET_DETAIL))
    with caplog.at_level(logging.ERROR, logger="clusteraccess"):
        response = client_for(registry).get(f"/v1/clusters/{CLUSTER_ID}/accessinfo", headers={"X-Auth-Token": "t"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"error_code": "UCS.01000007", "error_msg": "Internal error"}'
    jsonschema.validate(response.json(), ERROR_BODY)
    for leak in ("Traceback", "/var/lib", "UPDATE", "registry.db", "RuntimeError"):
        assert leak not in response.text
    # ... but the server's log has it, under the request id the client saw
    records = [r for r in caplog.records if getattr(r, "request_id", None) == response.headers["x-request-id"]]
    assert records and records[0].exc_info is not None
    assert SECRET_DETAIL in str(records[0].exc_info[1])


def test_a_core_500_passes_through_as_the_core_words_it() -> None:
    registry = FakeRegistry(core_error(500, "UCS.01020002", "Failed to get certs: the CA key cannot be loaded"))
    response = client_for(registry).get(f"/v1/clusters/{CLUSTER_ID}/accessinfo", headers={"X-Auth-Token": "t"})
    assert response.status_code == 500
    assert response.json() == {"error_code": "UCS.01020002", "error_msg": "Failed to get certs: the CA key cannot be loaded"}


def test_health_reflects_the_database() -> None:
    registry = FakeRegistry(core_error(500, "UCS.01000007", "Internal error: storage failure: database is locked"))
    response = client_for(registry).get("/healthz")
    assert response.status_code == 503
    assert response.json()["error_code"] == "UCS.01000007"
    assert client_for(FakeRegistry(["Downloaded"])).get("/healthz").json() == {"status": "ok"}


def test_the_request_reaches_the_core_as_sent() -> None:
    registry = FakeRegistry(["Downloaded"])
    response = client_for(registry).get(
        f"/v1/clusters/{CLUSTER_ID}/accessinfo?region=eu-de&vpcendpoint=10.0.0.1&other=1",
        headers={"X-Auth-Token": "cat_token"},
    )
    assert response.status_code == 200 and response.content == b'["Downloaded"]'
    assert registry.calls == [(CLUSTER_ID, "cat_token", "10.0.0.1", "eu-de")]


def test_every_request_is_judged_inline_and_only_admitted_first_downloads_go_to_the_thread_pool() -> None:
    registry = FakeRegistry(["apiVersion: v1\nkind: Secret\n"])
    client = client_for(registry)
    path = f"/v1/clusters/{CLUSTER_ID}/accessinfo"
    assert client.get(path, headers={"X-Auth-Token": "t"}).json() == ["apiVersion: v1\nkind: Secret\n"]  # admitted: issued on a worker thread
    assert client.get(path, headers={"X-Auth-Token": "t"}).json() == ["Downloaded"]  # downloaded: inline
    client.get(path)  # no token: inline
    client.get("/v1/clusters/not-an-id/accessinfo", headers={"X-Auth-Token": "t"})  # bad id: inline
    judged, issued, *rest = registry.threads
    assert judged[0] == "judge_access_info" and not judged[1].startswith("AnyIO worker thread")
    assert issued[0] == "access_info" and issued[1].startswith("AnyIO worker thread")
    assert [method for method, _ in rest] == ["judge_access_info"] * 3
    assert not any(name.startswith("AnyIO worker thread") for _, name in rest)


def test_head_never_reaches_the_core() -> None:
    registry = FakeRegistry(["apiVersion: v1\nkind: Secret\n"])
    response = client_for(registry).head(f"/v1/clusters/{CLUSTER_ID}/accessinfo", headers={"X-Auth-Token": "t"})
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert registry.calls == []


def test_lifespan_shutdown_lets_go_of_the_registry() -> None:
    registry = FakeRegistry(["Downloaded"])
    app = create_app(registry, access_log=AccessLog(io.StringIO()))

    async def run() -> None:
        async with app.router.lifespan_context(app):
            assert app.state.service.registry is registry
            assert (await Client(app).app.state.service.healthz(None)).status_code == 200

    anyio.run(run)
    assert app.state.service.registry is None


# --- the parsing helpers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        (f"/v1/clusters/{CLUSTER_ID}/accessinfo".encode(), CLUSTER_ID),
        (b"/v1/clusters//accessinfo", ""),
        (b"/v1/clusters/a%2Fb/accessinfo", "a/b"),
        (b"/v1/clusters/a/../b/accessinfo", "a/../b"),
        (b"/v1/clusters/%2e%2E/accessinfo", ".."),
        (b"/v1/clusters/%41%42/accessinfo", "AB"),
        (b"/v1/clusters/%FF/accessinfo", "\ufffd"),
        (b"/v1/clusters/a+b/accessinfo", "a+b"),
        (b"/v1/%63lusters/x/%61ccessinfo", "x"),
        (b"/v1/clusters/accessinfo", None),
        (b"/v1/clusters/x%2Faccessinfo", None),
        (b"/v1%2Fclusters/x/accessinfo", None),
        (b"/v1/clusters/x/accessinfo/", None),
        (b"/v2/clusters/x/accessinfo", None),
    ],
)
def test_cluster_id_from_raw_path(raw_path: bytes, expected: Optional[str]) -> None:
    assert cluster_id_from_raw_path(raw_path) == expected


def test_query_parameters() -> None:
    assert query_parameters(b"") == {}
    assert query_parameters(b"region=eu-de&vpcendpoint=10.0.0.1&x=1&x=2") == {"region": "eu-de", "vpcendpoint": "10.0.0.1"}
    assert query_parameters(b"region&vpcendpoint=") == {"region": "", "vpcendpoint": ""}
    assert query_parameters(b"%72egion=a+b%2Fc") == {"region": "a b/c"}
    assert query_parameters(b"region=%FF") == {"region": "\ufffd"}
    for repeated in (b"region=a&region=b", b"region=a&%72egion=a", b"vpcendpoint&vpcendpoint"):
        with pytest.raises(Exception, match="more than once"):
            query_parameters(repeated)


def test_auth_token_and_request_id() -> None:
    assert auth_token([(b"host", b"x")]) is None
    assert auth_token([(b"x-auth-token", b"a")]) == "a"
    assert auth_token([(b"x-auth-token", b"a"), (b"x-auth-token", b"b")]) == "a, b"
    assert auth_token([(b"x-auth-token", b"\xff")]) == "\xff"
    assert request_id([(b"x-request-id", b"abc-DEF-1")]) == b"abc-DEF-1"
    generated = request_id([(b"x-request-id", b"a b")]).decode()
    assert len(generated) == 32 and generated != request_id([]).decode()
    import uuid

    for _ in range(100):
        value = uuid.UUID(hex=new_request_id())
        assert value.version == 4 and value.variant == uuid.RFC_4122


def test_access_log_lines_are_batched_then_written() -> None:
    stream = io.StringIO()
    access_log = AccessLog(stream, delay=0.01, batch=3)
    scope = {"method": "GET", "raw_path": b'/odd/"path\\\xff', "clusteraccess.outcome": "UCS.01000011"}
    access_log.write(scope, 400, 0.0, "outside-a-loop")  # no loop: written at once
    assert json.loads(stream.getvalue())["path"] == '/odd/"path\\\u00ff'

    async def run() -> None:
        start = len(stream.getvalue().splitlines())
        access_log.write({"method": "GET", "path": "/a", "client": ("10.0.0.7", 50123)}, 200, 0.0, "r1")
        assert len(stream.getvalue().splitlines()) == start  # pending
        await anyio.sleep(0.05)
        assert len(stream.getvalue().splitlines()) == start + 1  # the timer wrote it
        for index in range(3):
            access_log.write({"method": "GET", "path": "/b"}, 404, 0.0, f"b{index}")
        assert len(stream.getvalue().splitlines()) == start + 4  # a full batch is written at once
        access_log.write({"method": "GET", "path": "/c"}, 200, 0.0, "c")
        access_log.flush()
        assert len(stream.getvalue().splitlines()) == start + 5

    anyio.run(run)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["outside-a-loop", "r1", "b0", "b1", "b2", "c"]
    assert lines[1] | {"ts": "", "duration_ms": 0} == {
        "ts": "", "level": "info", "logger": "clusteraccess.access", "request_id": "r1", "method": "GET",
        "path": "/a", "status": 200, "duration_ms": 0, "outcome": "ok", "client": "10.0.0.7:50123", "principal": None,
    }


def test_the_endpoint_also_works_as_a_plain_route() -> None:
    from starlette.routing import Route

    from clusteraccess.service import AccessInfoEndpoint, Service

    registry = FakeRegistry(["Downloaded"])
    endpoint = AccessInfoEndpoint(Service(registry, b"{}"))
    app = Starlette(routes=[Route("/v1/clusters/{clusterid:path}/accessinfo", endpoint)])
    response = Client(app).get(f"/v1/clusters/{CLUSTER_ID}/accessinfo", headers={"X-Auth-Token": "t"})
    assert response.status_code == 200 and response.json() == ["Downloaded"]
    assert response.headers["content-type"] == "application/json"
