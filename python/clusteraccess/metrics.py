"""The service's Prometheus metrics, served at ``GET /metrics``.

A private `CollectorRegistry` (never prometheus_client's global one, so that
two services in one process, as in the tests, count apart). Requests are
counted in one place, `Metrics.observe`, called where a request's status
and outcome are known (`clusteraccess.app.RequestObserver`); connections the
server closes on its own are counted by the HTTP protocol.

Counting is on the hot path of every request, so it is plain Python: ints in
dicts keyed by label values, a histogram as bucket counts found by bisection.
prometheus_client only renders them, at scrape time, through a collector that
yields the same families, names, labels, values and ``_created`` timestamps
that its own Counter and Histogram would (their ``labels()``, ``inc()`` and
``observe()`` take a lock and walk the buckets on every call). Every count is
made on the event loop's thread, as is the scrape (an async endpoint).

Labels come from fixed sets only (route templates, statuses, error codes),
never from a path or header the client chose, so the number of series stays
bounded.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client import utils as prometheus_utils
from starlette.requests import Request

from ._core import internal_error
from .http_response import TextResponse

__all__ = ["LATENCY_BUCKETS", "ROUTES", "Metrics"]

# The route label of a request: its route's template, or "other" for a path
# no route serves (404s), whose own path would make a label per request.
ROUTES = frozenset(
    (
        "/v1/clusters/{clusterid}/accessinfo",
        "/v1/clusters",
        "/v1/clusters/{clusterid}",
        "/v1/clusters/{clusterid}/activation",
        "/healthz",
        "/openapi.json",
        "/metrics",
    )
)
_OTHER_ROUTE = "other"
# The core's storage-failure code, and the prefix every code of the core has
# (an outcome with it is an error answer's code).
_STORAGE_ERROR = internal_error().code
_ERROR_CODE_PREFIX = _STORAGE_ERROR[: _STORAGE_ERROR.index(".") + 1]
# Upper bounds of the latency histogram's buckets (seconds), +Inf aside: a
# duration counts in the first bucket whose bound is >= it, as Prometheus has it.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The "le" labels, written as prometheus_client writes them (it is untyped).
_go_float = cast(Callable[[float], str], prometheus_utils.floatToGoString)
_BUCKET_LABELS = (*(_go_float(bound) for bound in LATENCY_BUCKETS), "+Inf")

_REQUESTS = ("clusteraccess_http_requests", "HTTP requests answered, by route template and status.")
_LATENCY = ("clusteraccess_http_request_duration_seconds", "Time from request head to answer, by route template.")
_FIRST_DOWNLOADS = (
    "clusteraccess_first_downloads", "Manifests handed out: first downloads, each with a new agent key.",
)
_REJECTIONS = ("clusteraccess_rejections", "Error answers, by the error code of their body.")
_DATABASE_ERRORS = (
    "clusteraccess_database_errors", "Answers that failed on storage (a 5xx with the storage code).",
)
_CLOSED_CONNECTIONS = (
    "clusteraccess_http_connections_closed", "Connections the server closed before a request was answered, "
    "by reason: header_timeout (no complete head in time), evicted (the oldest idle connection, to make "
    "room at the connection limit), over_limit (no room and none idle).",
)


class _Latency:
    """One route's histogram: a count per bucket (not cumulative; the last is
    +Inf), the sum of the durations, and when the route was first seen."""

    __slots__ = ("counts", "sum", "created")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0
        self.created = time.time()


class Metrics:
    """The service's counters and histogram, in a registry of their own."""

    def __init__(self) -> None:
        created = time.time()
        # (route, status) -> [count, created], by first appearance.
        self._requests: dict[tuple[str, int], list[float]] = {}
        self._latency: dict[str, _Latency] = {}
        self._first_downloads = [0, created]
        # code -> [count, created]
        self._rejections: dict[str, list[float]] = {}
        self._database_errors = [0, created]
        # reason -> [count, created]
        self._closed_connections: dict[str, list[float]] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Families(self))

    def observe(self, route: str, status: int, outcome: str, seconds: float) -> None:
        """Counts one answered request: route is a template of ROUTES (else "other"), outcome
        "issued", "downloaded", "ok" or an error code."""
        if route not in ROUTES:
            route = _OTHER_ROUTE
        counter = self._requests.get((route, status))
        if counter is None:
            counter = self._requests[(route, status)] = [0, time.time()]
        counter[0] += 1
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = _Latency()
        latency.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latency.sum += seconds
        if outcome == "issued":
            self._first_downloads[0] += 1
        elif outcome.startswith(_ERROR_CODE_PREFIX):
            _count(self._rejections, outcome)
            if outcome == _STORAGE_ERROR and status >= 500:
                self._database_errors[0] += 1

    def connection_closed(self, reason: str) -> None:
        """Counts a connection the server closed on its own (see its metric's help)."""
        _count(self._closed_connections, reason)

    async def endpoint(self, request: Request) -> TextResponse:
        """GET /metrics: the metrics in the Prometheus text format (0.0.4)."""
        return TextResponse(generate_latest(self.registry))


def _count(counters: dict[str, list[float]], label: str) -> None:
    counter = counters.get(label)
    if counter is None:
        counter = counters[label] = [0, time.time()]
    counter[0] += 1


class _Families(Collector):
    """The metrics as prometheus_client's own Counter and Histogram families
    would be collected: the same samples, in the same order."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        # list() takes each snapshot in one step, so a count made meanwhile cannot break the iteration.
        yield _counter(_REQUESTS, [({"route": route, "status": str(status)}, counter)
                                   for (route, status), counter in list(metrics._requests.items())])
        yield _histogram(list(metrics._latency.items()))
        yield _counter(_FIRST_DOWNLOADS, [({}, metrics._first_downloads)])
        yield _counter(_REJECTIONS, [({"code": code}, counter) for code, counter in list(metrics._rejections.items())])
        yield _counter(_DATABASE_ERRORS, [({}, metrics._database_errors)])
        yield _counter(_CLOSED_CONNECTIONS, [({"reason": reason}, counter)
                                             for reason, counter in list(metrics._closed_connections.items())])


def _counter(name_and_help: tuple[str, str], series: list[tuple[dict[str, str], list[float]]]) -> Metric:
    name, documentation = name_and_help
    family = Metric(name, documentation, "counter")
    for labels, (count, created) in series:
        family.add_sample(name + "_total", labels, float(count))
        if _created_series():
            family.add_sample(name + "_created", labels, created)
    return family


def _histogram(routes: list[tuple[str, _Latency]]) -> Metric:
    name, documentation = _LATENCY
    family = Metric(name, documentation, "histogram")
    for route, latency in routes:
        labels = {"route": route}
        total = 0
        for bucket, count in zip(_BUCKET_LABELS, list(latency.counts)):
            total += count
            family.add_sample(name + "_bucket", {"route": route, "le": bucket}, float(total))
        family.add_sample(name + "_count", labels, float(total))
        family.add_sample(name + "_sum", labels, latency.sum)
        if _created_series():
            family.add_sample(name + "_created", labels, latency.created)
    return family


def _created_series() -> bool:
    """Whether prometheus_client writes ``_created`` samples (it does unless
    $PROMETHEUS_DISABLE_CREATED_SERIES or disable_created_metrics() says not)."""
    return bool(prometheus_metrics._use_created)
