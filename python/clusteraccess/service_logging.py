"""Logging of the HTTP service: JSON lines on stderr, and the access log.

Every line the service writes is one JSON object. The access log writes one
line per request -- the client's address, never the token, never a
signature, never the query string -- in batches, off the request's own path
(see `AccessLog`). A refused signed request's line also says which check
refused it (``detail``: the core's `ClusterAccessError.log_detail`, which
names the check and the AK, never the signature, the SK or a token).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, Optional, TextIO, Tuple

__all__ = ["SCOPE_DETAIL", "SCOPE_OUTCOME", "SCOPE_PRINCIPAL", "AccessLog", "JsonFormatter", "Scope", "log_config"]

Scope = MutableMapping[str, Any]

# The ASGI scope key under which the service notes a request's outcome
# ("issued", "downloaded" or an error code) for the access log.
SCOPE_OUTCOME = "clusteraccess.outcome"
# The ASGI scope key under which the service notes who made a request (the
# principal its credential belongs to, once known) for the access log.
SCOPE_PRINCIPAL = "clusteraccess.principal"
# The ASGI scope key under which the service notes why the core refused a
# request, when the core says (a refused signature): the access log's
# "detail", for the operator only, never in the answer.
SCOPE_DETAIL = "clusteraccess.detail"

_MAX_LOGGED_PATH = 512
# How many principals' JSON texts the access log keeps (it starts over past it).
_PRINCIPALS_CACHED = 1024
_NEEDS_JSON_ESCAPE = re.compile(rb'["\\\x00-\x1f\x7f-\xff]')


class JsonFormatter(logging.Formatter):
    """One JSON object per log record: ts, level, logger, message, request_id."""

    def format(self, record: logging.LogRecord) -> str:
        """Formats record as one line of JSON (with exc_info as "exception")."""
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


class _DropParserWarnings(logging.Filter):
    """uvicorn's "Invalid HTTP request received." is in the access log already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Invalid HTTP request received."


def _timestamp(seconds: float) -> str:
    millis = int(seconds * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


_Entry = Tuple[float, str, str, bytes, int, float, str, Any, Optional[str], Optional[str]]


class AccessLog:
    """One JSON line per request on stderr. Never the token, never the query.

    Lines are written by hand rather than through `logging` and in batches:
    a request only appends a tuple, and the lines are formatted and written
    together at most `delay` seconds later (or once `batch` are pending, or
    at `flush()`, which the app's shutdown calls). Formatting a line per
    request, between two requests, cost as much as the rest of the service's
    own work on the hot path; formatted in a batch it costs a fraction.
    """

    def __init__(self, stream: Optional[TextIO] = None, *, delay: float = 0.05, batch: int = 1024) -> None:
        self._stream = stream
        self._delay = delay
        self._batch = batch
        self._pending: list[_Entry] = []
        self._second = -1
        self._second_text = ""
        self._millis = -1
        self._millis_text = ""
        # principal -> its JSON text: the same few names come back on every line.
        self._principals: dict[str, str] = {}

    def write(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        """Logs the request described by scope that ended with status.

        Called on the event loop's thread (or with no loop running, when the
        line is written at once).
        """
        outcome = scope.get(SCOPE_OUTCOME) or ("ok" if status < 400 else str(status))
        self.record(scope, status, time.perf_counter() - started, outcome, request_id)

    def record(self, scope: Scope, status: int, seconds: float, outcome: str, request_id: str) -> None:
        """`write`, for a caller that already knows the request's duration and
        its outcome ("ok", "downloaded", an error code, ...)."""
        pending = self._pending
        pending.append(
            (
                time.time(),
                request_id,
                scope.get("method", ""),
                scope.get("raw_path") or scope.get("path", "").encode(),
                status,
                seconds,
                outcome,
                scope.get("client"),
                scope.get(SCOPE_PRINCIPAL),
                scope.get(SCOPE_DETAIL),
            )
        )
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_later(self._delay, self.flush)
            except RuntimeError:
                self.flush()
        elif len(pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Writes the pending lines."""
        pending, self._pending = self._pending, []
        if pending:
            stream = self._stream or sys.stderr
            stream.write("".join([self._line(*entry) for entry in pending]))
            stream.flush()

    def _line(
        self,
        now: float,
        request_id: str,
        method: str,
        raw_path: bytes,
        status: int,
        duration: float,
        outcome: str,
        client: Any,
        principal: Optional[str],
        detail: Optional[str],
    ) -> str:
        # request_id, method and outcome are ASCII tokens (our own, or checked
        # by the HTTP parser), the client's address comes from the socket; the
        # path, the principal and the detail are JSON-escaped. The detail is
        # there only when the core gave one (a refused signature).
        raw_path = raw_path[:_MAX_LOGGED_PATH]
        if _NEEDS_JSON_ESCAPE.search(raw_path):
            path = json.dumps(raw_path.decode("latin-1"))
        else:
            path = f'"{raw_path.decode("ascii")}"'
        return (
            f'{{"ts":"{self._timestamp(now)}","level":"info","logger":"clusteraccess.access",'
            f'"request_id":"{request_id}","method":"{method}","path":{path},'
            f'"status":{status},"duration_ms":{duration * 1000:.3f},"outcome":"{outcome}",'
            f'"client":{_client_text(client)},"principal":{self._principal_text(principal)}'
            f'{_detail_text(detail)}}}\n'
        )

    def _principal_text(self, principal: Optional[str]) -> str:
        if principal is None:
            return "null"
        text = self._principals.get(principal)
        if text is None:
            if len(self._principals) >= _PRINCIPALS_CACHED:
                self._principals.clear()
            text = self._principals[principal] = json.dumps(principal)
        return text

    def _timestamp(self, now: float) -> str:
        # Many lines fall in the same millisecond, and all in the same second.
        second = int(now)
        millis = int(now * 1000)
        if millis == self._millis and second == self._second:
            return self._millis_text
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        self._millis = millis
        self._millis_text = f"{self._second_text}.{millis % 1000:03d}Z"
        return self._millis_text


def _detail_text(detail: Optional[str]) -> str:
    """The line's ',"detail":...' member, or "" when there is no detail."""
    return f',"detail":{json.dumps(detail)}' if detail else ""


def _client_text(client: Any) -> str:
    """scope["client"], (host, port), as a JSON string "host:port" ("[v6]:port"), or null."""
    if not client:
        return "null"
    host, port = client[0], client[1]
    return f'"[{host}]:{port}"' if ":" in host else f'"{host}:{port}"'


def log_config() -> dict[str, Any]:
    """logging.config.dictConfig for the service: JSON lines on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"parser": {"()": _DropParserWarnings}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False, "filters": ["parser"]},
            "uvicorn.error": {"level": "INFO", "filters": ["parser"]},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "clusteraccess": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }
