"""What the HTTP service reads of a request: the raw path, query and headers.

The cluster id is taken from the *raw* request path: everything between
``/v1/clusters/`` and the final ``/accessinfo``, percent-decoded once, so
``%2F`` never creates a path segment and ``..`` is never resolved; such ids
reach the core and are refused there. Bytes that are not UTF-8 are decoded
with U+FFFD, which no id, token, address or region contains, so the core
refuses them as well (docs/contract.md).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Optional, Tuple
from urllib.parse import unquote_to_bytes

from ._core import bad_parameter

__all__ = ["auth_token", "cluster_id_from_raw_path", "new_request_id", "query_parameters", "request_id"]

_PATH_PREFIX = b"/v1/clusters/"
_PATH_SUFFIX = b"/accessinfo"
_QUERY_PARAMETERS = ("vpcendpoint", "region")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9-]{1,64}")
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


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
    """vpcendpoint and region from a raw query string; others are ignored (as
    gateways add their own), and an empty value counts as not given.

    Raises BadRequestError (400) when one of them is given more than once:
    the server cannot know which value was meant, and the refusal says
    nothing about tokens or clusters.
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
            raise bad_parameter(name, "is given more than once")
        found[name] = _percent_decode(raw_value, plus_is_space=True)
    return found


def auth_token(headers: Iterable[Tuple[bytes, bytes]]) -> Optional[str]:
    """The X-Auth-Token header; several are combined as HTTP does ("a, b"),
    which is no token."""
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
