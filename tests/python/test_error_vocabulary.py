"""The errors of an HTTP front end, made by the core through the binding, and
the one error body: the core's, for any ClusterAccessError."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import clusteraccess
from clusteraccess import (
    BadRequestError,
    ClusterAccessError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    RequestHeaderFieldsTooLargeError,
    error_body,
)

FACTORIES: list[tuple[Callable[[], ClusterAccessError], type[ClusterAccessError], int, str, str]] = [
    (clusteraccess.route_not_found, NotFoundError, 404, "UCS.01000005", "Not found: no such API; see /openapi.json"),
    (lambda: clusteraccess.method_not_allowed("PUT"), MethodNotAllowedError, 405, "UCS.01000008",
     "Method not allowed: PUT"),
    (clusteraccess.malformed_request, BadRequestError, 400, "UCS.01000011",
     "Bad request: the request is not valid HTTP"),
    (lambda: clusteraccess.bad_parameter("region", "is given more than once"), BadRequestError, 400, "UCS.01000011",
     "Bad parameter value: region is given more than once"),
    (lambda: clusteraccess.request_head_too_large("over 16384 bytes"), RequestHeaderFieldsTooLargeError, 431,
     "UCS.01000010", "Request header fields too large: over 16384 bytes"),
    (lambda: clusteraccess.not_configured("no public proxy endpoint is set"), InternalError, 500, "UCS.01000009",
     "Installation not configured: no public proxy endpoint is set"),
    (clusteraccess.internal_error, InternalError, 500, "UCS.01000007", "Internal error"),
]


@pytest.mark.parametrize(("factory", "error_type", "status", "code", "message"), FACTORIES)
def test_factories_make_the_core_errors_of_their_class(
    factory: Callable[[], ClusterAccessError], error_type: type[ClusterAccessError], status: int, code: str,
    message: str,
) -> None:
    error = factory()
    assert type(error) is error_type
    assert (error.status, error.code, error.message) == (status, code, message)
    assert json.loads(error_body(error)) == {"error_code": code, "error_msg": message}


def test_error_body_is_the_cores_for_an_error_made_in_python_too() -> None:
    error = ClusterAccessError('a "quoted"\nmessage')
    error.status, error.code, error.message = 500, "UCS.01000007", 'a "quoted"\nmessage'
    assert error_body(error) == b'{"error_code": "UCS.01000007", "error_msg": "a \\"quoted\\"\\nmessage"}'


def test_error_body_of_a_raised_core_error() -> None:
    with pytest.raises(BadRequestError) as caught:
        clusteraccess.validate_cluster_id("nope")
    body = json.loads(error_body(caught.value))
    assert body == {"error_code": caught.value.code, "error_msg": caught.value.message}


def test_error_body_takes_only_cluster_access_errors() -> None:
    with pytest.raises(TypeError):
        error_body(ValueError("not ours"))  # type: ignore[arg-type]
