"""uvicorn's two HTTP protocols (httptools and h11), held to the bounds of a
request head, so that they hold whichever parser runs
(docs/contract.md, "Serving safely").

The bounds are kept by subclasses of uvicorn's two HTTP protocols, so that
they hold whichever parser runs (httptools or h11):

- a request head (request line and header fields) is counted as it arrives,
  before the parser buffers it: past `Limits.head_bytes` bytes, or
  `Limits.header_fields` fields, the request is answered 431 at once and the
  connection closed, so a client cannot make the server hold more;
- a head must be complete `Limits.header_timeout` seconds after the
  connection opened or the previous answer was sent, or the connection is
  closed (a client sending its head slowly holds a connection, not more);
  each connection keeps one timer for it, armed when the connection starts
  waiting for a head with none pending and, when it fires, checking the
  deadline of the head awaited then (re-armed if it is not due yet), so that
  a busy keep-alive connection arms no timer per request;
- at most `Limits.max_connections` connections are open: past it, the
  connection that has waited longest for a head is closed to make room (a
  client that connects and sends nothing loses its place to one that asks),
  and when none waits the new one is answered 503. The bound stays below the
  process's file limit, so that accepting never fails for lack of one.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from ._core import ClusterAccessError, internal_error, malformed_request, request_head_too_large
from .app import RequestObserver
from .coalesced_transport import CoalescedTransport
from .http_request import new_request_id
from .http_response import error_response, response_bytes
from .serve_settings import Limits

__all__ = ["protocol_class"]

# How long a refused connection is kept half-open, its input discarded, so
# that the client reads the answer: closing a socket with unread input sends
# a reset, which can destroy the answer in the client's buffers.
_LINGER_SECONDS = 2.0
# The end of a request head: an empty line (both parsers accept a bare LF).
_HEAD_END = re.compile(rb"\n\r?\n")
_OVERLOADED = internal_error()


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
    # The uvicorn protocol's own methods, set by each subclass: called
    # directly, as they run for every read and every answer.
    _feed: Callable[[bytes], None]
    _base_on_response_complete: Callable[[], None]

    def _bounds_init(self) -> None:
        limits = self.shared.limits
        self._head_limit = limits.head_bytes
        self._header_timeout = limits.header_timeout
        self._waiting = self.shared.waiting
        self._head_size = 0
        self._head_tail = b""
        self._head_timer: Any = None
        # loop.time() when the connection started waiting for the head it
        # waits for, None while it waits for none (a request is being served).
        self._waiting_since: Optional[float] = None
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
        # Each answer's head and body in one write (see CoalescedTransport).
        self.transport = CoalescedTransport(transport, self.loop)
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
        limit = self._head_limit
        if not self._head_tail and not self._in_body():
            # The common read: one whole head, alone (a GET on a keep-alive
            # connection): it ends with its only empty line. Two searches in
            # C say so for less than the pattern's.
            size = len(data)
            if (
                self._head_size + size <= limit
                and data.endswith(b"\r\n\r\n")
                and data.find(b"\n\r\n") == size - 3
                and b"\n\n" not in data
            ):
                self._head_size = 0
                self._feed(data)
                return
        feed: Callable[[bytes], None] = self._feed
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
        self._base_on_response_complete()
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
        self._waiting_since = self.loop.time()
        self._waiting[self] = None
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._header_timeout, self._check_head_deadline)

    def _head_received(self) -> None:
        """A whole head was parsed: the deadline is met (the timer, if armed,
        stays: it finds nothing due, or the deadline of a later head)."""
        self._waiting_since = None
        self._waiting.pop(self, None)

    def _too_many_fields(self, count: int) -> bool:
        """True (and the refusal noted) when a head has more than its fields' bound."""
        if count <= self.shared.limits.header_fields:
            return False
        self._refusal = f"more than {self.shared.limits.header_fields} header fields"
        return True

    def _stop_waiting(self) -> None:
        self._cancel_head_timer()
        self._waiting_since = None
        self._waiting.pop(self, None)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _check_head_deadline(self) -> None:
        self._head_timer = None
        since = self._waiting_since
        if since is None:
            return  # no head awaited: the next wait arms the timer again
        remaining = since + self._header_timeout - self.loop.time()
        if remaining > 0:
            self._head_timer = self.loop.call_later(remaining, self._check_head_deadline)
            return
        self._waiting_since = None
        self._waiting.pop(self, None)
        if not self.transport.is_closing():
            self.shared.observer.metrics.connection_closed("header_timeout")
            self.transport.close()

    def _evict_oldest_waiting(self) -> bool:
        """Closes the connection that has waited longest for a head; False when none waits."""
        waiting = self.shared.waiting
        while waiting:
            oldest, _ = waiting.popitem(last=False)
            oldest._stop_waiting()
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

    # The parser's callbacks run for every request: they call uvicorn's own
    # directly rather than through super().
    base_on_header = HttpToolsProtocol.on_header
    base_on_headers_complete = HttpToolsProtocol.on_headers_complete
    base_on_message_complete = HttpToolsProtocol.on_message_complete

    class BoundedHttpToolsProtocol(_BoundedHead, HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bounds_init()
            self._field_limit = shared.limits.header_fields
            self._body_expected = False

        def on_header(self, name: bytes, value: bytes) -> None:
            # uvicorn's on_message_begin starts each head's list of fields.
            if len(self.headers) >= self._field_limit and self._too_many_fields(len(self.headers) + 1):
                # httptools turns this into HttpParserCallbackError, which
                # uvicorn answers with send_400_response: the 431 noted.
                raise ValueError("too many header fields")
            base_on_header(self, name, value)

        def on_headers_complete(self) -> None:
            self._waiting_since = None  # _head_received, inline
            self._waiting.pop(self, None)
            self._body_expected = True
            base_on_headers_complete(self)

        def on_message_complete(self) -> None:
            self._body_expected = False
            base_on_message_complete(self)

        def _in_body(self) -> bool:
            return self._body_expected

    BoundedHttpToolsProtocol.shared = shared
    BoundedHttpToolsProtocol._feed = HttpToolsProtocol.data_received  # type: ignore[assignment]
    BoundedHttpToolsProtocol._base_on_response_complete = HttpToolsProtocol.on_response_complete  # type: ignore[assignment]
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
    BoundedH11Protocol._feed = H11Protocol.data_received  # type: ignore[assignment]
    BoundedH11Protocol._base_on_response_complete = H11Protocol.on_response_complete  # type: ignore[assignment]
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
