"""GET /metrics: the service's Prometheus metrics, counted where each request's
status and outcome are known."""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import anyio
import httpx
import jsonschema
from prometheus_client.parser import text_string_to_metric_families

import clusteraccess
from clusteraccess.app import RequestObserver, create_app
from clusteraccess.metrics import Metrics
from clusteraccess.service_logging import AccessLog

if TYPE_CHECKING:
    from conftest import Installation, RunningServer

    Serve = Callable[..., RunningServer]

OPENAPI: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "python" / "clusteraccess" / "openapi.json").read_bytes()
)
ACCESS_INFO = "/v1/clusters/{clusterid}/accessinfo"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a metrics page, by name and labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def moved(before: Samples, after: Samples) -> Samples:
    """The samples that changed, by how much (histogram buckets left out)."""
    return {
        key: value - before.get(key, 0.0)
        for key, value in after.items()
        if value != before.get(key, 0.0) and not key[0].endswith(("_bucket", "_created", "_sum"))
    }


def get(port: int, target: str, token: Optional[str] = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", target, headers={"X-Auth-Token": token} if token else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def scrape(port: int) -> Samples:
    status, headers, body = get(port, "/metrics")
    assert status == 200
    documented = OPENAPI["paths"]["/metrics"]["get"]["responses"]["200"]
    assert headers["Content-Type"] == METRICS_TYPE and METRICS_TYPE in documented["content"]
    assert headers["Cache-Control"] == "no-store" and headers["X-Request-Id"]
    jsonschema.validate(body.decode(), documented["content"][METRICS_TYPE]["schema"])
    return samples(body.decode())


def route(template: str, status: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("clusteraccess_http_requests_total", (("route", template), ("status", str(status))))


def test_counters_move_as_requests_are_answered(serve: Serve, installation: Installation) -> None:
    server = serve(installation.path)
    path = f"/v1/clusters/{installation.public_cluster}/accessinfo"
    before = scrape(server.port)
    assert get(server.port, path)[0] == 403  # no token
    assert get(server.port, "/v1/clusters/not-an-id/accessinfo", installation.token)[0] == 400
    assert get(server.port, path, installation.token)[0] == 200  # the first download
    assert json.loads(get(server.port, path, installation.token)[2]) == ["Downloaded"]  # a repeat
    assert get(server.port, "/nowhere/" + "x" * 40)[0] == 404
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:  # not HTTP: the JSON 400
        sock.sendall(b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:  # a head over its bound: 431
        sock.sendall(b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 3000)
        assert sock.recv(100).startswith(b"HTTP/1.1 431 ")
    after = scrape(server.port)

    assert moved(before, after) == {
        route(ACCESS_INFO, 403): 1,
        route(ACCESS_INFO, 400): 1,
        route(ACCESS_INFO, 200): 2,
        route("other", 404): 1,
        route("other", 400): 1,
        route("other", 431): 1,
        route("/metrics", 200): 1,  # the first scrape
        ("clusteraccess_http_request_duration_seconds_count", (("route", ACCESS_INFO),)): 4,
        ("clusteraccess_http_request_duration_seconds_count", (("route", "other"),)): 3,
        ("clusteraccess_http_request_duration_seconds_count", (("route", "/metrics"),)): 1,
        ("clusteraccess_first_downloads_total", ()): 1,
        ("clusteraccess_rejections_total", (("code", "UCS.01000004"),)): 1,
        ("clusteraccess_rejections_total", (("code", "UCS.01000011"),)): 2,
        ("clusteraccess_rejections_total", (("code", "UCS.01000005"),)): 1,
        ("clusteraccess_rejections_total", (("code", "UCS.01000010"),)): 1,
    }
    assert after[("clusteraccess_database_errors_total", ())] == 0


def test_connections_closed_by_the_server_are_counted(serve: Serve, installation: Installation) -> None:
    server = serve(installation.path, "--header-timeout", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert sock.recv(10) == b""  # closed at the deadline, nothing sent
    closed = ("clusteraccess_http_connections_closed_total", (("reason", "header_timeout"),))
    assert scrape(server.port)[closed] >= 1


class FailingRegistry:
    """A registry whose storage fails, as the core reports it."""

    def judge_access_info(
        self, cluster_id: str, token: Optional[str], *, vpcendpoint: Optional[str] = None,
        region: Optional[str] = None, signature: Optional[clusteraccess.SignedRequest] = None,
    ) -> tuple[Optional[list[str]], str]:
        raise clusteraccess.internal_error()

    def access_info(
        self, cluster_id: str, token: Optional[str], *, vpcendpoint: Optional[str] = None,
        region: Optional[str] = None, signature: Optional[clusteraccess.SignedRequest] = None,
        delivery: Optional[clusteraccess.Delivery] = None,
    ) -> list[str]:
        raise clusteraccess.internal_error()

    def public_endpoint(self) -> Optional[tuple[str, int]]:
        return None


def test_storage_failures_are_counted_as_database_errors() -> None:
    metrics = Metrics()
    app = create_app(FailingRegistry(), observer=RequestObserver(AccessLog(io.StringIO()), metrics))

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            failed = await client.get(f"/v1/clusters/{clusteraccess.new_cluster_id()}/accessinfo",
                                      headers={"X-Auth-Token": "t"})
            return failed, await client.get("/metrics")

    failed, page = anyio.run(run)
    assert failed.status_code == 500 and failed.headers["cache-control"] == "no-store"
    found = samples(page.text)
    assert found[("clusteraccess_database_errors_total", ())] == 1
    assert found[route(ACCESS_INFO, 500)] == 1
    assert found[("clusteraccess_rejections_total", (("code", "UCS.01000007"),))] == 1


def reference_page(observations: list[tuple[str, int, str, float]], closed: list[str]) -> Samples:
    """What prometheus_client's own Counter and Histogram expose for the same
    requests: the metrics of `Metrics` as they were first written."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from clusteraccess.metrics import LATENCY_BUCKETS, ROUTES

    registry = CollectorRegistry(auto_describe=False)
    requests = Counter("clusteraccess_http_requests", "r", ["route", "status"], registry=registry)
    latency = Histogram("clusteraccess_http_request_duration_seconds", "l", ["route"], buckets=LATENCY_BUCKETS,
                        registry=registry)
    first_downloads = Counter("clusteraccess_first_downloads", "f", registry=registry)
    rejections = Counter("clusteraccess_rejections", "j", ["code"], registry=registry)
    database_errors = Counter("clusteraccess_database_errors", "d", registry=registry)
    closed_connections = Counter("clusteraccess_http_connections_closed", "c", ["reason"], registry=registry)
    for route, status, outcome, seconds in observations:
        route = route if route in ROUTES else "other"
        requests.labels(route, str(status)).inc()
        latency.labels(route).observe(seconds)
        if outcome == "issued":
            first_downloads.inc()
        elif outcome.startswith("UCS."):
            rejections.labels(outcome).inc()
            if outcome == clusteraccess.internal_error().code and status >= 500:
                database_errors.inc()
    for reason in closed:
        closed_connections.labels(reason).inc()
    return samples(generate_latest(registry).decode())


def test_the_counts_are_those_prometheus_client_would_make() -> None:
    """Every sample (buckets at and around their bounds, sums, counts) as
    prometheus_client's own metrics have them, `_created` aside (a time)."""
    storage = clusteraccess.internal_error().code
    observations = [
        (ACCESS_INFO, 200, "downloaded", 0.0005),  # on a bound: counted in its bucket
        (ACCESS_INFO, 200, "downloaded", 0.00050001),
        (ACCESS_INFO, 200, "issued", 0.003),
        (ACCESS_INFO, 403, "UCS.01000004", 0.0),
        (ACCESS_INFO, 500, storage, 10.0),
        (ACCESS_INFO, 503, storage, 0.2),  # a 503 with the storage code is a database error too
        (ACCESS_INFO, 400, storage, 0.2),  # not a 5xx: a rejection, no database error
        ("/nowhere/else", 404, "UCS.01000010", 10.5),  # past the last bound: +Inf only
        ("/metrics", 200, "ok", 0.01),
        ("/healthz", 503, "UCS.01000007", 0.001),
    ] + [(ACCESS_INFO, 200, "downloaded", 0.0001 * i) for i in range(200)]
    closed = ["header_timeout", "evicted", "header_timeout", "over_limit"]
    metrics = Metrics()
    for observation in observations:
        metrics.observe(*observation)
    for reason in closed:
        metrics.connection_closed(reason)

    async def page() -> str:
        return bytes((await metrics.endpoint(None)).body).decode()  # type: ignore[arg-type]

    text = anyio.run(page)
    ours = samples(text)
    reference = reference_page(observations, closed)
    assert {k: v for k, v in ours.items() if not k[0].endswith("_created")} == {
        k: v for k, v in reference.items() if not k[0].endswith("_created")
    }
    assert {k for k in ours if k[0].endswith("_created")} == {k for k in reference if k[0].endswith("_created")}
    assert ours[("clusteraccess_http_request_duration_seconds_bucket",
                 (("le", "0.0005"), ("route", ACCESS_INFO)))] == 8  # 0.0 twice, 0.0001 to 0.0005, 0.0005 again
    assert ours[("clusteraccess_database_errors_total", ())] == 3
    assert ours[("clusteraccess_http_connections_closed_total", (("reason", "header_timeout"),))] == 2


def test_a_fresh_page_holds_the_unlabelled_counters_at_zero() -> None:
    async def page() -> str:
        return bytes((await Metrics().endpoint(None)).body).decode()  # type: ignore[arg-type]

    found = samples(anyio.run(page))
    assert {k: v for k, v in found.items() if not k[0].endswith("_created")} == {
        ("clusteraccess_first_downloads_total", ()): 0,
        ("clusteraccess_database_errors_total", ()): 0,
    }
