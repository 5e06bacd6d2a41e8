"""Running the HTTP service: uvicorn, its HTTP protocol with bounded request
heads, TLS, and the signals that stop it (docs/contract.md, "Serving safely").

The bounds are kept by subclasses of uvicorn's two HTTP protocols, so that
they hold whichever parser runs (httptools or h11):

- a request head (request line and header fields) is counted as it arrives,
  before the parser buffers it: past `Limits.head_bytes` bytes, or
  `Limits.header_fields` fields, the request is answered 431 at once and the
  connection closed, so a client cannot make the server hold more;
- a head must be complete `Limits.header_timeout` seconds after the
  connection opened or the previous answer was sent, or the connection is
  closed (a client sending its head slowly holds a connection, not more);
- at most `Limits.max_connections` connections are open: past it, the
  connection that has waited longest for a head is closed to make room (a
  client that connects and sends nothing loses its place to one that asks),
  and when none waits the new one is answered 503. The bound stays below the
  process's file limit, so that accepting never fails for lack of one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import resource
import signal
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, Optional

from ._core import ClusterAccessError, Registry, internal_error, malformed_request, request_head_too_large
from .app import RequestObserver, create_app
from .http_request import new_request_id
from .http_response import error_response, response_bytes
from .metrics import Metrics
from .service_logging import AccessLog, log_config

__all__ = ["HTTP_PARSERS", "Limits", "ServeError", "ServeSettings", "connection_allowance", "serve"]

log = logging.getLogger("clusteraccess.service")

HTTP_PARSERS = ("auto", "httptools", "h11")
# File descriptors kept out of the connection bound: standard streams, the
# listening socket, the event loop's own, the registry's database files, and
# room for what a library opens now and then.
FD_RESERVE = 32
DEFAULT_MAX_CONNECTIONS = 512
# How long a refused connection is kept half-open, its input discarded, so
# that the client reads the answer: closing a socket with unread input sends
# a reset, which can destroy the answer in the client's buffers.
_LINGER_SECONDS = 2.0
# The end of a request head: an empty line (both parsers accept a bare LF).
_HEAD_END = re.compile(rb"\n\r?\n")
_OVERLOADED = internal_error()


class ServeError(ValueError):
    """A `serve` setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Limits:
    """The bounds every connection is held to (see the module's docstring)."""

    head_bytes: int = 16 * 1024
    header_fields: int = 100
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass(frozen=True)
class ServeSettings:
    """What `clusteraccess serve` takes beyond the address (docs/contract.md)."""

    http: str = "auto"
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    limit_concurrency: Optional[int] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    allow_plain_http: bool = False


# --- the HTTP protocols ------------------------------------------------------------


class _Shared:
    """What a server's connections share: limits, the request observer, and
    the connections waiting for a head, oldest first."""

    def __init__(self, limits: Limits, observer: RequestObserver) -> None:
        self.limits = limits
        self.observer = observer
        self.waiting: OrderedDict[Any, None] = OrderedDict()


class _BoundedHead:
    """The bounds, over either uvicorn protocol (a mixin placed before it).

    The subclass for each parser says when a head is complete (calls
    `_head_received`), counts header fields (calls `_too_many_fields`), and
    tells whether a request body is being received (`_in_body`).
    """

    shared: _Shared
    # Of uvicorn's protocol classes:
    transport: Any
    loop: Any
    connections: set[Any]
    cycle: Any
    limit_concurrency: Optional[int]
    timeout_keep_alive: int

    def _bounds_init(self) -> None:
        self._head_size = 0
        self._head_tail = b""
        self._head_timer: Any = None
        self._refusal: Optional[str] = None
        self._draining = False
        # uvicorn's own concurrency check answers text/plain; the bound on
        # connections below replaces it.
        self.limit_concurrency = None
        # uvicorn declares it int; it only passes it to call_later, which takes any seconds.
        self.timeout_keep_alive = self.shared.limits.keep_alive_timeout  # type: ignore[assignment]

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self.shared.limits.max_connections and not self._evict_oldest_waiting():
            self.shared.observer.metrics.connection_closed("over_limit")
            self._answer_and_close(_OVERLOADED, status=503)
            return
        self._await_head()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_waiting()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return
        limit = self.shared.limits.head_bytes
        feed: Callable[[bytes], None] = super().data_received  # type: ignore[misc]
        while data:
            if self._in_body():
                # A body is the parser's and the application's; a head
                # pipelined behind it in the same read is counted from the
                # next read on.
                feed(data)
                return
            match = _HEAD_END.search(self._head_tail + data) if self._head_tail else _HEAD_END.search(data)
            if match is None:
                self._head_size += len(data)
                if self._head_size > limit:
                    self._refuse_head(f"the request head is over {limit} bytes")
                    return
                self._head_tail = data[-2:]
                feed(data)
                return
            end = match.end() - len(self._head_tail)
            if self._head_size + end > limit:
                self._refuse_head(f"the request head is over {limit} bytes")
                return
            self._head_size = 0
            self._head_tail = b""
            if end == len(data):
                feed(data)
                return
            feed(data[:end])
            data = data[end:]
            if self._draining or self.transport.is_closing():
                return

    # uvicorn's protocol

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()

    def send_400_response(self, msg: str) -> None:
        """The parser refused the head: the JSON 400, or the 431 when it was refused for its fields."""
        if self._refusal is not None:
            self._refuse_head(self._refusal)
        else:
            self._answer_and_close(malformed_request())

    # the bounds

    def _in_body(self) -> bool:
        raise NotImplementedError

    def _await_head(self) -> None:
        """The connection now waits for a request head: start its deadline."""
        self._cancel_head_timer()
        self.shared.waiting[self] = None
        self._head_timer = self.loop.call_later(self.shared.limits.header_timeout, self._head_timed_out)

    def _head_received(self) -> None:
        """A whole head was parsed: the deadline is met."""
        self._stop_waiting()

    def _too_many_fields(self, count: int) -> bool:
        """True (and the refusal noted) when a head has more than its fields' bound."""
        if count <= self.shared.limits.header_fields:
            return False
        self._refusal = f"more than {self.shared.limits.header_fields} header fields"
        return True

    def _stop_waiting(self) -> None:
        self._cancel_head_timer()
        self.shared.waiting.pop(self, None)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self.shared.waiting.pop(self, None)
        if not self.transport.is_closing():
            self.shared.observer.metrics.connection_closed("header_timeout")
            self.transport.close()

    def _evict_oldest_waiting(self) -> bool:
        """Closes the connection that has waited longest for a head; False when none waits."""
        waiting = self.shared.waiting
        while waiting:
            oldest, _ = waiting.popitem(last=False)
            oldest._cancel_head_timer()
            if not oldest.transport.is_closing():
                self.shared.observer.metrics.connection_closed("evicted")
                oldest.transport.close()
                return True
        return False

    def _refuse_head(self, what: str) -> None:
        self._answer_and_close(request_head_too_large(what))

    def _answer_and_close(self, error: ClusterAccessError, status: Optional[int] = None) -> None:
        """Answers a request that never reached the application with error's
        body, then closes the connection once the client has read the answer
        (or after a while), discarding what it still sends."""
        started = time.perf_counter()
        rid = new_request_id()
        scope: dict[str, Any] = {"method": "", "path": "", "client": getattr(self, "client", None)}
        headers = [(b"x-request-id", rid.encode()), (b"connection", b"close")]
        response = error_response(error, scope, status=status, headers=headers)
        self._stop_waiting()
        self._draining = True
        self.transport.write(response_bytes(response))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        self.shared.observer.done(scope, response.status_code, started, rid)


def _httptools_protocol(shared: _Shared) -> type[Any]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class BoundedHttpToolsProtocol(_BoundedHead, HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bounds_init()
            self._fields = 0
            self._body_expected = False

        def on_message_begin(self) -> None:
            self._fields = 0
            super().on_message_begin()

        def on_header(self, name: bytes, value: bytes) -> None:
            self._fields += 1
            if self._too_many_fields(self._fields):
                # httptools turns this into HttpParserCallbackError, which
                # uvicorn answers with send_400_response: the 431 noted.
                raise ValueError("too many header fields")
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._head_received()
            self._body_expected = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._body_expected = False
            super().on_message_complete()

        def _in_body(self) -> bool:
            return self._body_expected

    BoundedHttpToolsProtocol.shared = shared
    return BoundedHttpToolsProtocol


def _h11_protocol(shared: _Shared) -> type[Any]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class BoundedConnection(h11.Connection):
        """h11's connection, telling its protocol of each request head it parses."""

        def __init__(self, protocol: Any, max_incomplete_event_size: int) -> None:
            super().__init__(h11.SERVER, max_incomplete_event_size=max_incomplete_event_size)
            self.protocol = protocol

        def next_event(self) -> Any:
            event = super().next_event()
            if type(event) is h11.Request:
                self.protocol._head_received()
                if self.protocol._too_many_fields(len(event.headers)):
                    raise h11.RemoteProtocolError("too many header fields", error_status_hint=431)
            return event

    class BoundedH11Protocol(_BoundedHead, H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bounds_init()
            # Heads reach h11 already bounded; its own bound only has to stay
            # out of the way (pipelined heads wait in its buffer).
            self.conn = BoundedConnection(self, max_incomplete_event_size=4 * shared.limits.head_bytes)

        def _in_body(self) -> bool:
            return self.conn.their_state is h11.SEND_BODY

    BoundedH11Protocol.shared = shared
    return BoundedH11Protocol


def protocol_class(http: str, limits: Limits, observer: RequestObserver) -> type[Any]:
    """uvicorn's HTTP protocol for parser http ("auto", "httptools" or "h11"),
    held to limits, answering what never reaches the application (a head that
    is not HTTP, or is too large) with the JSON error body, recorded by observer."""
    shared = _Shared(limits, observer)
    if http == "h11":
        return _h11_protocol(shared)
    if http == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:
            return _h11_protocol(shared)
    return _httptools_protocol(shared)


# --- settings ------------------------------------------------------------------------


def raise_file_limit() -> int:
    """Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit then in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_allowance(file_limit: int) -> int:
    """How many connections a process with file_limit descriptors may hold open."""
    return file_limit - FD_RESERVE


def _max_connections(requested: Optional[int], file_limit: int) -> int:
    allowance = connection_allowance(file_limit)
    if allowance < 1:
        raise ServeError(
            f"the file limit (RLIMIT_NOFILE {file_limit}) leaves no room for connections: "
            f"{FD_RESERVE} descriptors are reserved; raise it (ulimit -n)"
        )
    if requested is None:
        return min(DEFAULT_MAX_CONNECTIONS, allowance)
    if requested > allowance:
        raise ServeError(
            f"--limit-concurrency {requested} is above what the file limit allows: {allowance} "
            f"(RLIMIT_NOFILE {file_limit} minus {FD_RESERVE} reserved); lower it or raise the limit (ulimit -n)"
        )
    return requested


def is_loopback(host: str) -> bool:
    """True when every address host stands for is a loopback one (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)


def _check_tls(settings: ServeSettings) -> None:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        given, missing = ("--tls-cert", "--tls-key") if settings.tls_cert else ("--tls-key", "--tls-cert")
        raise ServeError(f"{given} needs {missing}: HTTPS takes a certificate and its private key")
    if settings.tls_cert is None or settings.tls_key is None:
        return
    for flag, path in (("--tls-cert", settings.tls_cert), ("--tls-key", settings.tls_key)):
        try:
            with open(path, "rb") as file:
                file.read(1)
        except OSError as error:
            raise ServeError(f"{flag} {path}: cannot read it: {error.strerror or error}") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(settings.tls_cert, settings.tls_key)
    except (ssl.SSLError, OSError) as error:
        raise ServeError(
            f"--tls-cert {settings.tls_cert} / --tls-key {settings.tls_key}: not a PEM certificate and its "
            f"private key ({error})"
        ) from None


def _tls_context(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context for the certificate and key, refusing TLS before 1.2."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_settings(host: str, settings: ServeSettings) -> None:
    """Raises ServeError for settings that cannot be served (before anything is bound)."""
    if settings.http not in HTTP_PARSERS:
        raise ServeError(f"--http {settings.http!r}: expected one of {', '.join(HTTP_PARSERS)}")
    if settings.http == "httptools":
        try:
            import httptools  # noqa: F401
        except ImportError:
            raise ServeError("--http httptools: httptools is not installed (pip install 'clusteraccess[serve]')") from None
    for flag, seconds in (("--header-timeout", settings.header_timeout), ("--keep-alive-timeout", settings.keep_alive_timeout)):
        if not 0 < seconds <= 3600:
            raise ServeError(f"{flag} {seconds}: expected seconds above 0, at most 3600")
    if settings.limit_concurrency is not None and settings.limit_concurrency < 1:
        raise ServeError(f"--limit-concurrency {settings.limit_concurrency}: expected at least 1")
    _check_tls(settings)
    if settings.tls_cert is None and not settings.allow_plain_http and not is_loopback(host):
        raise ServeError(
            f"--host {host} is not a loopback address: serving it over plain HTTP would send tokens and "
            "private keys in the clear; give --tls-cert and --tls-key, or --allow-plain-http when a "
            "TLS-terminating proxy is in front"
        )


# --- running ----------------------------------------------------------------------------


def serve(db_path: str, host: str = "127.0.0.1", port: int = 8080, settings: Optional[ServeSettings] = None) -> None:
    """Serves the registry at db_path on host:port until SIGTERM or SIGINT.

    Raises ServeError, before binding anything, for settings that cannot be
    served. The registry is opened once, here, and shared by all requests. On
    a signal uvicorn stops accepting, lets in-flight requests finish, runs the
    lifespan shutdown (which lets go of the registry) and this returns.
    """
    import uvicorn

    settings = settings or ServeSettings()
    check_settings(host, settings)
    limits = Limits(
        header_timeout=settings.header_timeout,
        keep_alive_timeout=settings.keep_alive_timeout,
        max_connections=_max_connections(settings.limit_concurrency, raise_file_limit()),
    )
    registry = Registry(db_path)
    observer = RequestObserver(AccessLog(), Metrics())
    app = create_app(registry, observer=observer)
    del registry  # the app holds the only reference; its shutdown closes it
    tls: dict[str, Any] = {}
    if settings.tls_cert is not None:
        tls = {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key, "ssl_context_factory": _tls_context}
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_class(settings.http, limits, observer),
        ws="none",
        lifespan="on",
        access_log=False,
        log_config=log_config(),
        server_header=False,
        timeout_graceful_shutdown=30,
        **tls,
    )
    if settings.tls_cert is None and not is_loopback(host):
        log.warning(
            "serving plain HTTP on %s (--allow-plain-http): only a TLS-terminating proxy in front may reach it", host
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
