"""Running the HTTP service: uvicorn, its HTTP protocol, and the signals
that stop it."""

from __future__ import annotations

import contextlib
import http
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any, Optional

from ._core import Registry, malformed_request
from .app import create_app
from .http_request import new_request_id
from .http_response import error_response
from .service_logging import AccessLog, log_config

__all__ = ["serve"]


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
            scope = {"method": "", "path": ""}
            response = error_response(
                malformed_request(), scope, headers=[(b"x-request-id", rid.encode()), (b"connection", b"close")]
            )
            # No ASGI cycle runs for a request that never parsed: the
            # response is written here, from the same head and body.
            status_line = b"HTTP/1.1 %d %s\r\n" % (response.status_code, http.HTTPStatus(response.status_code).phrase.encode())
            head = b"".join(name + b": " + value + b"\r\n" for name, value in response.raw_headers)
            self.transport.write(status_line + head + b"\r\n" + bytes(response.body))
            self.transport.close()
            access_log.write(scope, response.status_code, time.perf_counter(), rid)

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
