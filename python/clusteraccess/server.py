"""Running the HTTP service: uvicorn with the bounded protocols of
`clusteraccess.http_protocol`, the settings of `clusteraccess.serve_settings`,
TLS, and the signals that stop it (docs/contract.md, "Serving safely")."""

from __future__ import annotations

import contextlib
import logging
import signal
import ssl
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, Callable, Optional

from ._core import Registry
from .app import RequestObserver, create_app
from .http_protocol import protocol_class
from .metrics import Metrics
from .serve_settings import (
    HTTP_PARSERS,
    Limits,
    ServeError,
    ServeSettings,
    check_settings,
    connection_allowance,
    is_loopback,
    max_connections,
    raise_file_limit,
)
from .service_logging import AccessLog, log_config

__all__ = ["HTTP_PARSERS", "Limits", "ServeError", "ServeSettings", "connection_allowance", "serve"]

log = logging.getLogger("clusteraccess.service")


def _tls_context(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context for the certificate and key, refusing TLS before 1.2."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


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
        max_connections=max_connections(settings.limit_concurrency, raise_file_limit()),
    )
    registry = Registry(db_path, master_key_file=settings.master_key_file)
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
