"""The HTTP service: GET /v1/clusters/{clusterid}/accessinfo on Starlette and uvicorn.

Every decision about a request is made by the C++ core (`Registry.access_info`);
this module only translates HTTP into that call and its answer (or its
`ClusterAccessError`) back into HTTP. Run it with ``clusteraccess serve`` or
``python -m clusteraccess.service --db PATH``.

Routes (described in the package file ``openapi.json``, served as it is):

- ``GET /v1/clusters/{clusterid}/accessinfo`` -- the documented API;
- ``GET /healthz`` -- 200 ``{"status": "ok"}`` after a cheap database read;
- ``GET /openapi.json`` -- the OpenAPI description.

Decisions of the HTTP layer (the rules themselves live in the core):

- The cluster id is taken from the *raw* request path. Everything between
  ``/v1/clusters/`` and the final ``/accessinfo`` is the id, percent-decoded
  once: ``%2F`` never creates a path segment and ``..`` is never resolved, so
  such ids reach the core and are refused there (403 without a valid token,
  otherwise 400). Bytes that are not UTF-8 are decoded with U+FFFD, which no
  id, token, address or region contains, so the core refuses them as well.
- Query parameters other than ``vpcendpoint`` and ``region`` are ignored (as
  gateways add their own); an empty value counts as not given. A repeated
  ``vpcendpoint`` or ``region`` is refused before the rules are judged (400
  UCS.01000011 naming the parameter): the server cannot know which value was
  meant, and the refusal says nothing about tokens or clusters.
- Several ``X-Auth-Token`` headers are combined as HTTP does (``a, b``), which
  is no token: 403.
- ``HEAD`` on the endpoint is 405, not an implicit GET: a GET hands out the
  one-time key, and a HEAD response would throw it away.
- Unknown routes are 404 ``UCS.01000005``, wrong methods 405 ``UCS.01000008``
  (with ``Allow``), requests the HTTP parser rejects (e.g. raw non-ASCII bytes
  in the request line) 400 ``UCS.01000011`` and anything unexpected 500
  ``UCS.01000007`` ``Internal error``: always the JSON error body, the
  exception is logged server-side with the request id, never sent.
- Every response carries ``X-Request-Id`` (a sane incoming one,
  ``[A-Za-z0-9-]{1,64}``, is kept; otherwise a new uuid4 hex) and every
  request writes one JSON access-log line to stderr: never the token, never
  the query string. Other log lines (uvicorn's, exceptions) are JSON too.

Speed: a GET of the endpoint is dispatched by `RequestContext` straight to
`AccessInfoEndpoint` (no Starlette Request/Response objects, router or
exception middleware on the hot path), calls the core inline unless it may be
a first download (see `Service.is_fast`), and its access-log line is
formatted later, in a batch (see `AccessLog`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import logging.config
import random
import re
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from importlib import resources
from types import FrameType
from typing import Any, Optional, Protocol, Tuple
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._core import ClusterAccessError, Registry
from .service_logging import SCOPE_OUTCOME as _SCOPE_OUTCOME
from .service_logging import AccessLog, Scope, log_config

__all__ = [
    "AccessInfoEndpoint",
    "AccessInfoRegistry",
    "RequestContext",
    "Service",
    "auth_token",
    "cluster_id_from_raw_path",
    "create_app",
    "main",
    "query_parameters",
    "request_id",
    "serve",
]

log = logging.getLogger("clusteraccess.service")

# Error codes of the HTTP layer; the core's codes pass through unchanged.
NOT_FOUND = "UCS.01000005"
METHOD_NOT_ALLOWED = "UCS.01000008"
BAD_REQUEST = "UCS.01000011"
INTERNAL_ERROR = "UCS.01000007"
INTERNAL_ERROR_BODY = b'{"error_code":"UCS.01000007","error_msg":"Internal error"}'

ACCESS_INFO_PATH = "/v1/clusters/{clusterid}/accessinfo"
JSON = "application/json"
DOWNLOADED_BODY = b'["Downloaded"]'

_PATH_PREFIX = b"/v1/clusters/"
_PATH_SUFFIX = b"/accessinfo"
_QUERY_PARAMETERS = ("vpcendpoint", "region")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9-]{1,64}")
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)
# Scope key this module adds to each HTTP request's ASGI scope.
_SCOPE_REQUEST_ID = "clusteraccess.request_id"
# Clusters seen downloaded are remembered (up to this many) so that their
# requests skip the thread pool; see Service.is_fast.
_KNOWN_DOWNLOADED_LIMIT = 65536

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessInfoRegistry(Protocol):
    """What the service needs of a `Registry` (tests pass stand-ins)."""

    def access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
    ) -> list[str]:
        """The rules of the endpoint; raises `ClusterAccessError`."""

    def public_endpoint(self) -> Optional[Tuple[str, int]]:
        """A cheap read, for the health check."""


class _RequestRefused(Exception):
    """A request the HTTP layer refuses before asking the core."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- small helpers -----------------------------------------------------------


def error_body(code: str, message: str) -> bytes:
    """The cloud's error body: {"error_code": ..., "error_msg": ...}."""
    return json.dumps({"error_code": code, "error_msg": message}, separators=(",", ":")).encode()


def _json_response(body: bytes, status: int = 200, headers: Optional[Mapping[str, str]] = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type=JSON)


def _error_response(status: int, code: str, message: str, scope: Scope) -> Response:
    scope[_SCOPE_OUTCOME] = code
    return _json_response(error_body(code, message), status)


def _percent_decode(raw: bytes, *, plus_is_space: bool = False) -> str:
    """Percent-decodes once; bytes that are not UTF-8 become U+FFFD."""
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode("utf-8", "replace")


def cluster_id_from_raw_path(raw_path: bytes) -> Optional[str]:
    """The cluster id of a raw /v1/clusters/{clusterid}/accessinfo path, or None.

    The id is all between ``/v1/clusters/`` and the last ``/accessinfo``,
    percent-decoded once, so ``%2F`` and ``..`` stay inside it (and make it
    invalid). The fixed segments may themselves be percent-encoded.
    """
    if raw_path.startswith(_PATH_PREFIX) and raw_path.endswith(_PATH_SUFFIX):
        middle = raw_path[len(_PATH_PREFIX) : -len(_PATH_SUFFIX)]
        if len(raw_path) >= len(_PATH_PREFIX) + len(_PATH_SUFFIX):
            return _percent_decode(middle)
    segments = raw_path.split(b"/")
    if len(segments) < 5:
        return None
    fixed = [_percent_decode(s) for s in (*segments[:3], segments[-1])]
    if fixed != ["", "v1", "clusters", "accessinfo"]:
        return None
    return _percent_decode(b"/".join(segments[3:-1]))


def query_parameters(query_string: bytes) -> dict[str, str]:
    """vpcendpoint and region from a raw query string; others are ignored.

    Raises _RequestRefused (400) when one of them is given more than once.
    """
    found: dict[str, str] = {}
    if not query_string:
        return found
    for pair in query_string.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = _percent_decode(raw_name, plus_is_space=True)
        if name not in _QUERY_PARAMETERS:
            continue
        if name in found:
            raise _RequestRefused(400, BAD_REQUEST, f"Bad parameter value: {name} is given more than once")
        found[name] = _percent_decode(raw_value, plus_is_space=True)
    return found


def auth_token(headers: Iterable[Tuple[bytes, bytes]]) -> Optional[str]:
    """The X-Auth-Token header; several are combined as HTTP does ("a, b")."""
    values = [value for name, value in headers if name == b"x-auth-token"]
    if not values:
        return None
    return b", ".join(values).decode("latin-1")


def request_id(headers: Iterable[Tuple[bytes, bytes]]) -> bytes:
    """A sane incoming X-Request-Id ([A-Za-z0-9-]{1,64}), else a new uuid4 hex."""
    for name, value in headers:
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return value
    return new_request_id().encode()


def new_request_id() -> str:
    """A random (version 4) UUID as 32 hex digits, like uuid.uuid4().hex.

    A request id correlates log lines; it is no secret, so the bits come from
    `random` (reseeded after fork) rather than a system call per request.
    """
    return f"{random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"


# --- the ASGI middleware: request id, access log, the last-resort 500 ---------


class RequestContext:
    """Gives every request an id (X-Request-Id), logs it, and turns any
    exception that escapes the application into the JSON 500.

    It also dispatches the hot path: a GET of /v1/clusters/{clusterid}/accessinfo
    goes straight to `AccessInfoEndpoint`, skipping Starlette's exception
    middleware, router and send wrappers, which together cost more than the
    core's whole work. Everything else (other routes, other methods, paths
    that only look like the endpoint) goes through the Starlette application.
    """

    def __init__(
        self, app: ASGIApp, access_log: Optional[AccessLog] = None, fast_path: Optional[AccessInfoEndpoint] = None
    ) -> None:
        self.app = app
        self.access_log = access_log or AccessLog()
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
        try:
            answer = None
            if self.fast_path is not None and scope["method"] == "GET":
                answer = await self.fast_path.respond(scope)
            if answer is not None:
                status = answer[0]
                await send_json(send, answer[0], answer[1], rid)
            else:
                recorder = _StatusRecorder(send, rid)
                await self.app(scope, receive, recorder)
                status = recorder.status
        except Exception:
            log.exception("unhandled exception", extra={"request_id": rid_text})
            scope[_SCOPE_OUTCOME] = INTERNAL_ERROR
            if recorder is not None:
                status = recorder.status
            if status == 0:
                status = 500
                await send_json(send, 500, INTERNAL_ERROR_BODY, rid)
        finally:
            self.access_log.write(scope, status, started, rid_text)


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


async def send_json(send: Send, status: int, body: bytes, rid: bytes) -> None:
    """Sends a whole JSON response with its X-Request-Id."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)), (b"x-request-id", rid)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- the endpoints ------------------------------------------------------------


class Service:
    """The endpoints, bound to one registry shared by all requests and threads."""

    def __init__(self, registry: AccessInfoRegistry, openapi: bytes) -> None:
        self.registry: Optional[AccessInfoRegistry] = registry
        self.openapi = openapi
        self._known_downloaded: set[str] = set()

    def close(self) -> None:
        """Lets go of the registry (the core closes its database with it)."""
        registry, self.registry = self.registry, None
        close = getattr(registry, "close", None)
        if callable(close):
            close()

    def registry_or_fail(self) -> AccessInfoRegistry:
        """The registry; RuntimeError (a 500) once the service is shut down."""
        if self.registry is None:
            raise RuntimeError("the service is shut down")
        return self.registry

    def is_fast(self, cluster_id: str, token: Optional[str]) -> bool:
        """True when the core will answer without issuing a certificate, so
        that the call can run inline, on the event loop.

        Inline vs thread pool: every answer but a first download takes the
        core a few microseconds (and it releases the GIL), while handing a
        call to a worker thread and back costs more than that: measured on
        loopback with wrk, one server core, the ["Downloaded"] path cost
        ~100 us of server CPU per request through the thread pool and ~64 us
        inline (a trivial Starlette endpoint: ~38 us). A first download takes
        milliseconds (key generation, a durable commit) and would stall every
        other request on the loop, so it runs in the thread pool: with first
        downloads in flight, the ["Downloaded"] p99 stayed at 3.5-4.8 ms this
        way and rose to ~6 ms (max ~50 ms) with everything inline.

        Only a request with a token and a well-formed id of a cluster not yet
        seen downloaded can issue; everything else runs inline. (Error answers
        are not remembered: a cluster refused now may be granted later.)
        """
        return not token or cluster_id in self._known_downloaded or not _looks_like_id(cluster_id)

    def _remember_downloaded(self, cluster_id: str) -> None:
        if len(self._known_downloaded) >= _KNOWN_DOWNLOADED_LIMIT:
            self._known_downloaded.clear()
        self._known_downloaded.add(cluster_id)

    def answer(self, documents: list[str], cluster_id: str, scope: Scope) -> bytes:
        """The 200 body for documents, remembering that cluster_id is downloaded."""
        self._remember_downloaded(cluster_id)
        if documents == ["Downloaded"]:
            scope[_SCOPE_OUTCOME] = "downloaded"
            return DOWNLOADED_BODY
        scope[_SCOPE_OUTCOME] = "issued"
        return json.dumps(documents, separators=(",", ":")).encode()

    async def healthz(self, request: Request) -> Response:
        """GET /healthz: 200 {"status": "ok"} when the database answers."""
        try:
            self.registry_or_fail().public_endpoint()
        except ClusterAccessError as error:
            return _error_response(503, error.code, error.message, request.scope)
        return _json_response(b'{"status":"ok"}')

    async def openapi_json(self, request: Request) -> Response:
        """GET /openapi.json: the package's openapi.json, byte for byte."""
        return _json_response(self.openapi)


class AccessInfoEndpoint:
    """GET /v1/clusters/{clusterid}/accessinfo, as a bare ASGI application.

    The hot path of the service: no Request or Response objects, just the
    raw path, query and headers in, a status and a body out. `RequestContext`
    calls `respond` directly for GETs; the route around this object sees the
    other methods (405: GET only, as a HEAD would be an implicit download
    whose body is thrown away) and raises the 404 for paths that match the
    route only once percent-decoded.
    """

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (when not reached through RequestContext's fast path)."""
        if scope["method"] != "GET":
            raise HTTPException(405, headers={"Allow": "GET"})
        answer = await self.respond(scope)
        if answer is None:
            raise HTTPException(404)
        await send({"type": "http.response.start", "status": answer[0], "headers": _json_headers(answer[1])})
        await send({"type": "http.response.body", "body": answer[1]})

    async def respond(self, scope: Scope) -> Optional[Tuple[int, bytes]]:
        """(status, JSON body) for a GET of scope's path; None when the raw
        path is not /v1/clusters/{clusterid}/accessinfo."""
        cluster_id = cluster_id_from_raw_path(scope.get("raw_path") or scope["path"].encode())
        if cluster_id is None:
            return None
        try:
            parameters = query_parameters(scope["query_string"])
        except _RequestRefused as refused:
            return _error(refused.status, refused.code, refused.message, scope)
        token = auth_token(scope["headers"])
        service = self.service
        registry = service.registry_or_fail()
        try:
            if service.is_fast(cluster_id, token):
                documents = registry.access_info(cluster_id, token, **parameters)
            else:
                documents = await run_in_threadpool(_call_access_info, registry, cluster_id, token, parameters)
        except ClusterAccessError as error:
            return _error(error.status, error.code, error.message, scope)
        return 200, service.answer(documents, cluster_id, scope)


def _json_headers(body: bytes) -> list[Tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]


def _error(status: int, code: str, message: str, scope: Scope) -> Tuple[int, bytes]:
    scope[_SCOPE_OUTCOME] = code
    return status, error_body(code, message)


def _call_access_info(
    registry: AccessInfoRegistry, cluster_id: str, token: Optional[str], parameters: dict[str, str]
) -> list[str]:
    return registry.access_info(cluster_id, token, **parameters)


def _looks_like_id(text: str) -> bool:
    # The k8s-uuid shape, only to choose inline vs thread pool; the core
    # decides validity. Cheap checks first.
    return len(text) == 36 and text[8] == "-" and text[13] == "-"


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 (and any other HTTPException) with the JSON error body."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    if status == 404:
        code, message = NOT_FOUND, "Not found: no such API; see /openapi.json"
    elif status == 405:
        code, message = METHOD_NOT_ALLOWED, f"Method not allowed: {request.method}"
    elif status < 500:
        code, message = BAD_REQUEST, "Bad request"
    else:
        code, message = INTERNAL_ERROR, "Internal error"
    request.scope[_SCOPE_OUTCOME] = code
    return _json_response(error_body(code, message), status, headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Last resort behind RequestContext: the JSON 500, nothing leaked."""
    return _json_response(INTERNAL_ERROR_BODY, 500)


def openapi_document() -> bytes:
    """The package's openapi.json, as bytes."""
    return resources.files("clusteraccess").joinpath("openapi.json").read_bytes()


def create_app(registry: AccessInfoRegistry, *, access_log: Optional[AccessLog] = None) -> Starlette:
    """The ASGI application serving registry (shared by all requests and threads).

    The lifespan's shutdown, which uvicorn runs after in-flight requests have
    finished, lets go of the registry.
    """
    service = Service(registry, openapi_document())
    access_log = access_log or AccessLog()
    endpoint = AccessInfoEndpoint(service)
    access_info = Route(ACCESS_INFO_PATH.replace("{clusterid}", "{clusterid:path}"), endpoint, methods=["GET"])
    access_info.methods = {"GET"}  # no implicit HEAD: see AccessInfoEndpoint

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()
            access_log.flush()

    app = Starlette(
        routes=[
            access_info,
            Route("/healthz", service.healthz, methods=["GET"]),
            Route("/openapi.json", service.openapi_json, methods=["GET"]),
        ],
        middleware=[Middleware(RequestContext, access_log=access_log, fast_path=endpoint)],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # a redirect would not carry the JSON body
    app.state.service = service
    return app


# --- uvicorn -------------------------------------------------------------------


def _protocol_class(access_log: AccessLog) -> type[Any]:
    """uvicorn's HTTP protocol, answering unparseable requests with the JSON 400.

    uvicorn answers requests its parser rejects (raw non-ASCII bytes in the
    request line, bad framing) itself, with text/plain; this subclass keeps
    the error body and X-Request-Id for those too.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # pragma: no cover - uvicorn without [standard]
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]

    class JsonErrorProtocol(base):
        def send_400_response(self, msg: str) -> None:
            rid = new_request_id()
            body = error_body(BAD_REQUEST, "Bad request: the request is not valid HTTP")
            head = (
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nx-request-id: " + rid.encode()
                + b"\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head + body)
            self.transport.close()
            scope = {"method": "", "path": "", _SCOPE_OUTCOME: BAD_REQUEST}
            access_log.write(scope, 400, time.perf_counter(), rid)

    return JsonErrorProtocol


def serve(db_path: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serves the registry at db_path on host:port until SIGTERM or SIGINT.

    The registry is opened once, here, and shared by all requests. On a
    signal uvicorn stops accepting, lets in-flight requests finish, runs the
    lifespan shutdown (which lets go of the registry) and this returns.
    """
    import uvicorn

    registry = Registry(db_path)
    access_log = AccessLog()
    app = create_app(registry, access_log=access_log)
    del registry  # the app holds the only reference; its shutdown closes it
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_protocol_class(access_log),
        ws="none",
        lifespan="on",
        access_log=False,
        log_config=log_config(),
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    with _exit_0_after_signals(server):
        server.run()


@contextlib.contextmanager
def _exit_0_after_signals(server: Any) -> Iterator[None]:
    """Exit 0 after a graceful shutdown on SIGTERM/SIGINT.

    uvicorn re-raises the signal it caught once it has shut down, so that the
    process dies by it; the handlers installed here receive that signal (and
    any that arrives before uvicorn installs its own) and ask the server to
    exit instead, so that a clean shutdown returns from serve().
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Optional[list[str]] = None) -> int:
    """python -m clusteraccess.service --db PATH [--host H] [--port P]."""
    parser = argparse.ArgumentParser(
        prog="python -m clusteraccess.service",
        description="Serves GET /v1/clusters/{clusterid}/accessinfo over HTTP until SIGTERM or SIGINT.",
    )
    parser.add_argument("--db", required=True, help="the registry's SQLite file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    args = parser.parse_args(argv)
    serve(args.db, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
