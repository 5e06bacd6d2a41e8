"""How the HTTP service answers: a whole JSON body, and the error body of a
`ClusterAccessError` exactly as the core writes it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Optional, Tuple

from starlette.responses import Response

from ._core import DOWNLOADED, ClusterAccessError, error_body
from .service_logging import SCOPE_OUTCOME, Scope

__all__ = ["DOWNLOADED_BODY", "JsonResponse", "error_response"]

# The body of every answer after the first download.
DOWNLOADED_BODY = json.dumps([DOWNLOADED], separators=(",", ":")).encode()

Header = Tuple[bytes, bytes]


class JsonResponse(Response):
    """A whole JSON response: the one way the service writes a response.

    Starlette writes it (it is a Response); it only takes its headers as raw
    pairs, so that the hot path, which builds one per request without a
    Request object, skips the header normalisation a Response does.
    """

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200, headers: Sequence[Header] = ()) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)), *headers]


def error_response(
    error: ClusterAccessError, scope: Scope, *, status: Optional[int] = None, headers: Sequence[Header] = ()
) -> JsonResponse:
    """The answer to `error`: its body as the core writes it, with its status
    (or `status`); the error code becomes the request's logged outcome."""
    scope[SCOPE_OUTCOME] = error.code
    return JsonResponse(error_body(error), error.status if status is None else status, headers)
