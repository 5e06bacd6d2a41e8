"""How the HTTP service answers: the one response writer.

Every answer the service sends is a `ServiceResponse`, whichever layer writes
it (the routes, the middleware, the HTTP protocol for requests that never
reach the application), so every answer carries ``Cache-Control: no-store``:
a manifest holds a private key, and an error says something about a token,
so no cache, proxy or browser may keep either.
"""

from __future__ import annotations

import http
import json
from collections.abc import Sequence
from typing import Optional, Tuple

from starlette.responses import Response
from starlette.types import Receive, Send

from ._core import DOWNLOADED, ClusterAccessError, error_body
from .service_logging import SCOPE_DETAIL, SCOPE_OUTCOME, Scope

__all__ = ["DOWNLOADED_BODY", "JsonResponse", "ServiceResponse", "TextResponse", "error_response", "response_bytes"]

# The body of every answer after the first download.
DOWNLOADED_BODY = json.dumps([DOWNLOADED], separators=(",", ":")).encode()

Header = Tuple[bytes, bytes]

_NO_STORE = (b"cache-control", b"no-store")


class ServiceResponse(Response):
    """A whole response with its body: the one way the service writes one.

    Starlette writes it (it is a Response); it only takes its headers as raw
    pairs, so that the hot path, which builds one per request without a
    Request object, skips the header normalisation a Response does.
    """

    media_type = "application/octet-stream"

    def __init__(self, body: bytes, status_code: int = 200, headers: Sequence[Header] = ()) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-type", self.media_type.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
            _NO_STORE,
            *headers,
        ]


    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Writes the response: its head, then its body. (Starlette's own
        also handles a websocket denial and a background task; the service
        serves no websocket and runs no task after an answer.)"""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


class JsonResponse(ServiceResponse):
    """A whole JSON response: every answer but the metrics."""

    media_type = "application/json"


class TextResponse(ServiceResponse):
    """A whole plain-text response: the Prometheus metrics."""

    media_type = "text/plain; version=0.0.4; charset=utf-8"


def error_response(
    error: ClusterAccessError, scope: Scope, *, status: Optional[int] = None, headers: Sequence[Header] = ()
) -> JsonResponse:
    """The answer to `error`: its body as the core writes it, with its status
    (or `status`); the error code becomes the request's logged outcome, and
    its log_detail (why a signature was refused), if any, the logged detail."""
    scope[SCOPE_OUTCOME] = error.code
    if error.log_detail:
        scope[SCOPE_DETAIL] = error.log_detail
    return JsonResponse(error_body(error), error.status if status is None else status, headers)


def response_bytes(response: ServiceResponse) -> bytes:
    """response as HTTP/1.1 bytes, for the answers the HTTP protocol writes
    itself (to requests that never reach the application)."""
    status = response.status_code
    head = b"".join(name + b": " + value + b"\r\n" for name, value in response.raw_headers)
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, http.HTTPStatus(status).phrase.encode(), head, bytes(response.body))
