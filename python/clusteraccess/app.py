"""The ASGI application of the HTTP service: the routes, and the middleware
every request passes through.

- Every response carries ``X-Request-Id`` (a sane incoming one,
  ``[A-Za-z0-9-]{1,64}``, is kept; otherwise a new uuid4 hex) and
  ``Cache-Control: no-store`` (clusteraccess.http_response); every request
  writes one JSON access-log line (never the token, never the query string)
  and is counted in the metrics, both by `RequestObserver`.
- Unknown routes are 404, wrong methods 405 (with ``Allow``), anything
  unexpected 500 ``Internal error``: always the core's error body, in the
  core's vocabulary; the exception is logged server-side with the request
  id, never sent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Send

from ._core import ClusterAccessError, internal_error, malformed_request, method_not_allowed, route_not_found
from .cluster_endpoints import ACTIVATION_PATH, CLUSTER_PATH, CLUSTERS_PATH, ClusterEndpoints, RawPathRoute
from .endpoints import AccessInfoEndpoint, AccessInfoRegistry, Service
from .http_request import cluster_id_from_raw_path, is_collection_path, request_id, resource_id_from_raw_path
from .http_response import JsonResponse, error_response
from .metrics import Metrics
from .service_logging import SCOPE_OUTCOME, AccessLog, Scope

__all__ = [
    "ACCESS_INFO_PATH",
    "RequestContext",
    "RequestObserver",
    "ServiceApplication",
    "create_app",
    "openapi_document",
]

log = logging.getLogger("clusteraccess.service")

ACCESS_INFO_PATH = "/v1/clusters/{clusterid}/accessinfo"
# Scope key this module adds to each HTTP request's ASGI scope.
_SCOPE_REQUEST_ID = "clusteraccess.request_id"
_INTERNAL_ERROR = internal_error()
# The route templates of the Starlette routes (the /v1/clusters routes match
# the raw path, so that an encoded slash stays inside an id, which the core
# refuses: their path is their template).
_ROUTE_TEMPLATES = {
    ACCESS_INFO_PATH: ACCESS_INFO_PATH,
    CLUSTERS_PATH: CLUSTERS_PATH,
    CLUSTER_PATH: CLUSTER_PATH,
    ACTIVATION_PATH: ACTIVATION_PATH,
    "/healthz": "/healthz",
    "/openapi.json": "/openapi.json",
    "/metrics": "/metrics",
}


class RequestObserver:
    """Where every answered request is recorded, once: its access-log line
    and its metrics. The middleware calls it for every request that reaches
    the application, the HTTP protocol for those refused before (a head that
    is not HTTP, or too large)."""

    def __init__(self, access_log: Optional[AccessLog] = None, metrics: Optional[Metrics] = None) -> None:
        self.access_log = access_log or AccessLog()
        self.metrics = metrics or Metrics()

    def done(self, scope: Scope, status: int, started: float, request_id: str, route: str = "") -> None:
        """Records the request of scope, answered with status; route is its
        route template ("" when no route served it)."""
        seconds = time.perf_counter() - started
        outcome = scope.get(SCOPE_OUTCOME) or ("ok" if status < 400 else str(status))
        self.access_log.record(scope, status, seconds, outcome, request_id)
        self.metrics.observe(route, status, outcome, seconds)


class RequestContext:
    """Gives every request an id (X-Request-Id), logs it, and turns any
    exception that escapes the application into the JSON 500.

    It is the outermost layer of the service's application (`ServiceApplication`),
    and dispatches the hot path: a GET of /v1/clusters/{clusterid}/accessinfo
    goes straight to `AccessInfoEndpoint.respond`, skipping all of Starlette
    (its error and exception middleware, router and send wrappers), which
    together cost more than the core's whole work. Everything else (other
    routes, other methods, paths that only look like the endpoint) goes
    through the Starlette application.
    """

    def __init__(
        self, app: ASGIApp, observer: Optional[RequestObserver] = None, fast_path: Optional[AccessInfoEndpoint] = None
    ) -> None:
        self.app = app
        self.observer = observer or RequestObserver()
        self.fast_path = fast_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope["headers"])
        rid_text = rid.decode("ascii")
        scope[_SCOPE_REQUEST_ID] = rid_text
        recorder = None
        status = 0
        route = ""
        try:
            response = None
            if self.fast_path is not None and scope["method"] == "GET":
                response = await self.fast_path.respond(scope, receive)
            if response is not None:
                route = ACCESS_INFO_PATH
                status = response.status_code
                response.raw_headers.append((b"x-request-id", rid))
                await response(scope, receive, send)
            else:
                recorder = _StatusRecorder(send, rid)
                await self.app(scope, receive, recorder)
                status = recorder.status
        except Exception:
            log.exception("unhandled exception", extra={"request_id": rid_text})
            response = error_response(_INTERNAL_ERROR, scope, headers=[(b"x-request-id", rid)])
            if recorder is not None:
                status = recorder.status
            if status == 0:
                status = response.status_code
                await response(scope, receive, send)
        finally:
            if not route:
                matched = scope.get("route")  # set by Starlette's router, on a full or partial match
                route = _ROUTE_TEMPLATES.get(getattr(matched, "path", ""), "")
            self.observer.done(scope, status, started, rid_text, route)


class ServiceApplication(Starlette):
    """The service's Starlette application, entered through its `RequestContext`.

    Starlette runs its own error middleware before any middleware of the
    application's; the service's context comes first instead, so that the
    hot path it dispatches pays for none of Starlette. Every other request
    goes on into Starlette as it would without the context (`starlette`).
    """

    context: RequestContext

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point: the request context, then (unless it answers itself) Starlette."""
        await self.context(scope, receive, send)

    async def starlette(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's own entry point: its middleware, router and routes."""
        await super().__call__(scope, receive, send)


class _StatusRecorder:
    """An ASGI send that adds X-Request-Id to the response and notes its status."""

    def __init__(self, send: Send, rid: bytes) -> None:
        self.send = send
        self.rid = rid
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), (b"x-request-id", self.rid)]
        await self.send(message)


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
    """404/405 (and any other HTTPException) with the core's error body."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) and exc.headers else {}
    error: ClusterAccessError
    if status == 404:
        error = route_not_found()
    elif status == 405:
        error = method_not_allowed(request.method)
    elif status < 500:
        error = malformed_request()
    else:
        error = _INTERNAL_ERROR
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return error_response(error, request.scope, status=status, headers=raw_headers)


async def _internal_error(request: Request, exc: Exception) -> JsonResponse:
    """Last resort behind RequestContext: the JSON 500, nothing leaked."""
    return error_response(_INTERNAL_ERROR, request.scope)


def _collection(raw_path: bytes) -> Optional[str]:
    """"" for the raw path /v1/clusters (a route without an id), else None."""
    return "" if is_collection_path(raw_path) else None


def _activation_id(raw_path: bytes) -> Optional[str]:
    """The cluster id of a raw /v1/clusters/{clusterid}/activation path, or None."""
    return cluster_id_from_raw_path(raw_path, b"/activation")


def openapi_document() -> bytes:
    """The package's openapi.json, as bytes."""
    return resources.files("clusteraccess").joinpath("openapi.json").read_bytes()


def create_app(
    registry: AccessInfoRegistry,
    *,
    access_log: Optional[AccessLog] = None,
    observer: Optional[RequestObserver] = None,
) -> ServiceApplication:
    """The ASGI application serving registry (shared by all requests and threads).

    observer records every request (default: one on access_log, or on a new
    AccessLog, with new Metrics). The lifespan's shutdown, which uvicorn runs
    after in-flight requests have finished, lets go of the registry.
    """
    service = Service(registry, openapi_document())
    observer = observer or RequestObserver(access_log)
    access_log = observer.access_log
    endpoint = AccessInfoEndpoint(service)
    clusters = ClusterEndpoints(service)
    # No implicit HEAD on the access-info route: see AccessInfoEndpoint.
    access_info = RawPathRoute(ACCESS_INFO_PATH, cluster_id_from_raw_path, endpoint, ["GET"])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()
            access_log.flush()

    app = ServiceApplication(
        routes=[
            RawPathRoute(CLUSTERS_PATH, _collection, clusters.clusters, ["GET", "POST"]),
            RawPathRoute(CLUSTER_PATH, resource_id_from_raw_path, clusters.cluster, ["GET", "DELETE"]),
            RawPathRoute(ACTIVATION_PATH, _activation_id, clusters.activation, ["PUT"]),
            access_info,
            Route("/healthz", service.healthz, methods=["GET"]),
            Route("/openapi.json", service.openapi_json, methods=["GET"]),
            Route("/metrics", observer.metrics.endpoint, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.context = RequestContext(app.starlette, observer=observer, fast_path=endpoint)
    app.router.redirect_slashes = False  # a redirect would not carry the JSON body
    app.state.service = service
    return app
