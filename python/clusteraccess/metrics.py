"""The service's Prometheus metrics, served at ``GET /metrics``.

A private `CollectorRegistry` (never prometheus_client's global one, so that
two services in one process, as in the tests, count apart). Requests are
counted in one place, `Metrics.observe`, called where a request's status
and outcome are known (`clusteraccess.app.RequestObserver`); connections the
server closes on its own are counted by the HTTP protocol.

Labels come from fixed sets only (route templates, statuses, error codes),
never from a path or header the client chose, so the number of series stays
bounded.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request

from ._core import internal_error
from .http_response import TextResponse

__all__ = ["ROUTES", "Metrics"]

# The route label of a request: its route's template, or "other" for a path
# no route serves (404s), whose own path would make a label per request.
ROUTES = (
    "/v1/clusters/{clusterid}/accessinfo",
    "/v1/clusters",
    "/v1/clusters/{clusterid}",
    "/v1/clusters/{clusterid}/activation",
    "/healthz",
    "/openapi.json",
    "/metrics",
)
_OTHER_ROUTE = "other"
# The core's storage-failure code, and the prefix every code of the core has
# (an outcome with it is an error answer's code).
_STORAGE_ERROR = internal_error().code
_ERROR_CODE_PREFIX = _STORAGE_ERROR[: _STORAGE_ERROR.index(".") + 1]
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's counters and histogram, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "clusteraccess_http_requests", "HTTP requests answered, by route template and status.",
            ["route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "clusteraccess_http_request_duration_seconds", "Time from request head to answer, by route template.",
            ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.first_downloads = Counter(
            "clusteraccess_first_downloads", "Manifests handed out: first downloads, each with a new agent key.",
            registry=self.registry,
        )
        self.rejections = Counter(
            "clusteraccess_rejections", "Error answers, by the error code of their body.",
            ["code"], registry=self.registry,
        )
        self.database_errors = Counter(
            "clusteraccess_database_errors", "Answers that failed on storage (a 5xx with the storage code).",
            registry=self.registry,
        )
        self.closed_connections = Counter(
            "clusteraccess_http_connections_closed", "Connections the server closed before a request was answered, "
            "by reason: header_timeout (no complete head in time), evicted (the oldest idle connection, to make "
            "room at the connection limit), over_limit (no room and none idle).",
            ["reason"], registry=self.registry,
        )
        # Labelled children, looked up once: labels() costs more than inc().
        self._request_children: dict[tuple[str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._rejection_children: dict[str, Any] = {}

    def observe(self, route: str, status: int, outcome: str, seconds: float) -> None:
        """Counts one answered request: route is a template of ROUTES (else "other"), outcome
        "issued", "downloaded", "ok" or an error code."""
        if route not in ROUTES:
            route = _OTHER_ROUTE
        key = (route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, str(status))
        child.inc()
        latency = self._latency_children.get(route)
        if latency is None:
            latency = self._latency_children[route] = self.latency.labels(route)
        latency.observe(seconds)
        if outcome == "issued":
            self.first_downloads.inc()
        elif outcome.startswith(_ERROR_CODE_PREFIX):
            rejection = self._rejection_children.get(outcome)
            if rejection is None:
                rejection = self._rejection_children[outcome] = self.rejections.labels(outcome)
            rejection.inc()
            if outcome == _STORAGE_ERROR and status >= 500:
                self.database_errors.inc()

    def connection_closed(self, reason: str) -> None:
        """Counts a connection the server closed on its own (see closed_connections)."""
        self.closed_connections.labels(reason).inc()

    async def endpoint(self, request: Request) -> TextResponse:
        """GET /metrics: the metrics in the Prometheus text format (0.0.4)."""
        return TextResponse(generate_latest(self.registry))
