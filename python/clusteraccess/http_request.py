"""What the HTTP service reads of a request: the raw path, query and headers.

The cluster id is taken from the *raw* request path: everything between
``/v1/clusters/`` and the final ``/accessinfo`` (or ``/activation``; for
``/v1/clusters/{clusterid}``, the one raw segment after ``/v1/clusters/``),
percent-decoded once, so
``%2F`` never creates a path segment and ``..`` is never resolved; such ids
reach the core and are refused there. Bytes that are not UTF-8 are decoded
with U+FFFD, which no id, token, address or region contains, so the core
refuses them as well (docs/contract.md).

A request with an ``Authorization`` header is handed to the core as a
`SignedRequest` (`signed_request`) made of what was received, byte for byte:
the core canonicalises and verifies (docs/contract.md, AK/SK).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from typing import Any, Optional, Tuple
from urllib.parse import unquote_to_bytes

from ._core import SignedRequest, bad_parameter

__all__ = [
    "auth_token",
    "cluster_id_from_raw_path",
    "content_type_is_json",
    "is_collection_path",
    "new_request_id",
    "page_parameters",
    "query_parameters",
    "request_id",
    "resource_id_from_raw_path",
    "signed_request",
]

_PATH_PREFIX = b"/v1/clusters/"
_PATH_PREFIX_LENGTH = len(_PATH_PREFIX)
_ACCESS_INFO_SUFFIX = b"/accessinfo"
_QUERY_PARAMETERS = ("vpcendpoint", "region")
_PAGE_PARAMETERS = ("limit", "offset")
_FIXED_SEGMENTS = ["", "v1", "clusters"]
_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")
# The core takes limit and offset as 64-bit integers; a longer number is
# handed over as the nearest of them, so that the core, not this layer,
# says what is wrong with it.
_INT64_DIGITS = 19
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
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


def cluster_id_from_raw_path(raw_path: bytes, suffix: bytes = _ACCESS_INFO_SUFFIX) -> Optional[str]:
    """The cluster id of a raw /v1/clusters/{clusterid}<suffix> path, or None.

    The id is all between ``/v1/clusters/`` and the last suffix (default
    ``/accessinfo``), percent-decoded once, so ``%2F`` and ``..`` stay inside
    it (and make it invalid). The fixed segments may themselves be
    percent-encoded.
    """
    if raw_path.startswith(_PATH_PREFIX) and raw_path.endswith(suffix):
        suffix_length = len(suffix)
        if len(raw_path) >= _PATH_PREFIX_LENGTH + suffix_length:
            middle = raw_path[_PATH_PREFIX_LENGTH:-suffix_length]
            # _percent_decode, inline for the usual id with nothing encoded.
            return _percent_decode(middle) if b"%" in middle else middle.decode("utf-8", "replace")
    segments = raw_path.split(b"/")
    if len(segments) < 5:
        return None
    fixed = [_percent_decode(s) for s in (*segments[:3], segments[-1])]
    if fixed != [*_FIXED_SEGMENTS, suffix.decode("ascii").lstrip("/")]:
        return None
    return _percent_decode(b"/".join(segments[3:-1]))


def resource_id_from_raw_path(raw_path: bytes) -> Optional[str]:
    """The cluster id of a raw /v1/clusters/{clusterid} path, or None.

    The id is the one raw segment after ``/v1/clusters/``, percent-decoded
    once: ``%2F`` stays inside it, while a raw ``/`` makes the path another
    route's (or none).
    """
    segments = raw_path.split(b"/")
    if len(segments) != 4 or [_percent_decode(s) for s in segments[:3]] != _FIXED_SEGMENTS:
        return None
    return _percent_decode(segments[3])


def is_collection_path(raw_path: bytes) -> bool:
    """True for the raw path /v1/clusters (its segments may be percent-encoded)."""
    segments = raw_path.split(b"/")
    return len(segments) == 3 and [_percent_decode(s) for s in segments] == _FIXED_SEGMENTS


def query_parameters(query_string: bytes, names: Tuple[str, ...] = _QUERY_PARAMETERS) -> dict[str, str]:
    """The parameters names (default: vpcendpoint and region) from a raw query
    string; others are ignored (as gateways add their own), and an empty
    value counts as not given.

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
        if name not in names:
            continue
        if name in found:
            raise bad_parameter(name, "is given more than once")
        found[name] = _percent_decode(raw_value, plus_is_space=True)
    return found


def page_parameters(query_string: bytes) -> dict[str, int]:
    """limit and offset of GET /v1/clusters from a raw query string, as
    `query_parameters` reads them, as integers for the core, which judges
    their range.

    Raises BadRequestError (400) naming the parameter when it is not a
    decimal integer: there is no number to hand over.
    """
    found: dict[str, int] = {}
    for name, text in query_parameters(query_string, _PAGE_PARAMETERS).items():
        if not text:
            continue  # an empty value counts as not given
        match = _INTEGER.fullmatch(text)
        if match is None:
            raise bad_parameter(name, "must be an integer")
        sign, digits = match.groups()
        if len(digits) > _INT64_DIGITS:
            found[name] = _INT64_MIN if sign == "-" else _INT64_MAX
        else:
            found[name] = max(_INT64_MIN, min(_INT64_MAX, int(sign + digits)))
    return found


def content_type_is_json(headers: Iterable[Tuple[bytes, bytes]]) -> bool:
    """True when the one Content-Type header is application/json (any
    parameters, such as a charset, aside)."""
    values = [value for name, value in headers if name == b"content-type"]
    if len(values) != 1:
        return False
    media_type = values[0].split(b";", 1)[0].strip().lower()
    return media_type == b"application/json"


def auth_token(headers: Iterable[Tuple[bytes, bytes]]) -> Optional[str]:
    """The X-Auth-Token header; several are combined as HTTP does ("a, b"),
    which is no token."""
    values = [value for name, value in headers if name == b"x-auth-token"]
    if not values:
        return None
    return b", ".join(values).decode("latin-1")


def signed_request(scope: Any, body_sha256: Optional[str] = None) -> Optional[SignedRequest]:
    """The request of an ASGI scope as the core verifies a signature over it,
    or None when it carries no ``Authorization`` header (then no signature is
    judged, and nothing is built).

    Everything is handed over as the server received it, as bytes (the core
    reads header values as the UTF-8 bytes the SDKs send; decoding them here
    and encoding them again could change them): the method, the raw path
    (still percent-encoded), the raw query string, every header in the order
    received (the server lowercased the names; the core compares them
    ignoring case), and body_sha256, the hex SHA-256 of the body the
    endpoint read (None for no body).
    """
    headers: Sequence[Tuple[bytes, bytes]] = scope["headers"]
    for name, _ in headers:
        if name == b"authorization":
            break
    else:
        return None
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return SignedRequest(scope["method"], raw_path, scope["query_string"], headers, body_sha256)


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
    return (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET).to_bytes(16, "big").hex()
