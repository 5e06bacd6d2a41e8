"""The cluster API of the HTTP service (docs/contract.md, Cluster API), wire
compatible with the cloud's SDK (``huaweicloudsdkucs``):

- ``POST /v1/clusters`` -- register_cluster: a JSON body, 201 ``{"uid": ...}``;
- ``GET /v1/clusters?limit=&offset=`` -- show_cluster_list: 200
  ``{"items": [Cluster, ...], "total": N}``;
- ``GET /v1/clusters/{clusterid}`` -- show_cluster: 200 the SDK's Cluster;
- ``DELETE /v1/clusters/{clusterid}`` -- delete_cluster: 200 ``{}``;
- ``PUT /v1/clusters/{clusterid}/activation`` -- retry_cluster_activation:
  200 ``{"clusterId": ..., "message": ...}``.

Every judgement is the core's (`Registry.api_register`, ``api_list``,
``api_show``, ``api_delete``, ``api_reactivate``); this module only turns
HTTP into those calls and their answer, or their `ClusterAccessError`, back
into HTTP. What it refuses itself is what cannot be handed over: a body that
is not JSON (or too large to read), a limit or offset that is not a number.

Routes match the *raw* path, as the access-info endpoint does
(clusteraccess.http_request): the id is percent-decoded once, ``%2F`` stays
inside it, and the core refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Optional, Protocol, runtime_checkable

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Route

from ._core import ClusterAccessError, bad_parameter
from .endpoints import Service
from .http_request import auth_token, content_type_is_json, page_parameters
from .http_response import JsonResponse, error_response
from .service_logging import Scope

__all__ = [
    "ACTIVATION_PATH",
    "CLUSTERS_PATH",
    "CLUSTER_PATH",
    "MAX_BODY_BYTES",
    "ClusterApiRegistry",
    "ClusterEndpoints",
    "RawPathRoute",
]

CLUSTERS_PATH = "/v1/clusters"
CLUSTER_PATH = "/v1/clusters/{clusterid}"
ACTIVATION_PATH = "/v1/clusters/{clusterid}/activation"
# The largest registration body read. Four times the core's own bound on
# annotations (64 KiB in all), so that the core, not this bound, answers
# a body whose annotations are too large, naming them.
MAX_BODY_BYTES = 256 * 1024

# Why a body cannot be handed to the core (each raised as a new error:
# raising one instance again would pile up its traceback).
_NOT_JSON = "must be JSON: send it with Content-Type: application/json"
_TOO_LARGE = f"is over {MAX_BODY_BYTES // 1024} KiB"
_UNREADABLE = "is not valid JSON"
# The delete answer: the SDK's DeleteClusterResponse reads {} as no body.
_DELETED = b"{}"

RawMatcher = Callable[[bytes], Optional[str]]
Endpoint = Callable[[Request], Awaitable[JsonResponse]]


@runtime_checkable
class ClusterApiRegistry(Protocol):
    """What the cluster API needs of a `Registry`."""

    def api_register(self, token: Optional[str], body: object) -> dict[str, Any]:
        """POST /v1/clusters with the decoded JSON body."""

    def api_list(self, token: Optional[str], *, limit: int = -1, offset: int = 0) -> dict[str, Any]:
        """GET /v1/clusters."""

    def api_show(self, token: Optional[str], cluster_id: str) -> dict[str, Any]:
        """GET /v1/clusters/{clusterid}."""

    def api_delete(self, token: Optional[str], cluster_id: str) -> None:
        """DELETE /v1/clusters/{clusterid}."""

    def api_reactivate(self, token: Optional[str], cluster_id: str) -> dict[str, Any]:
        """PUT /v1/clusters/{clusterid}/activation."""


class RawPathRoute(Route):
    """A Starlette route matched on the raw request path.

    Starlette matches ``scope["path"]``, already percent-decoded, where an
    encoded slash is a real one; this route asks `matcher` about the raw
    path instead, and hands the id it finds to the endpoint as the path
    parameter ``clusterid``. `path` is the route's template (the metrics'
    route label). Another method than `methods` is 405 with ``Allow``; HEAD
    is never implied.
    """

    def __init__(self, template: str, matcher: RawMatcher, endpoint: Any, methods: list[str]) -> None:
        super().__init__(template, endpoint, methods=methods)
        self.methods = self._served = set(methods)
        self._matcher = matcher
        self._allow = ", ".join(sorted(methods))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL or PARTIAL (another method) when the raw path is this route's."""
        if scope["type"] != "http":
            return Match.NONE, {}
        cluster_id = self._matcher(scope.get("raw_path") or scope["path"].encode())
        if cluster_id is None:
            return Match.NONE, {}
        child_scope = {"endpoint": self.endpoint, "path_params": {"clusterid": cluster_id}}
        return (Match.FULL if scope["method"] in self._served else Match.PARTIAL), child_scope

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        """The endpoint, or 405 naming the methods served (sorted)."""
        if scope["method"] not in self._served:
            raise HTTPException(405, headers={"Allow": self._allow})
        await self.app(scope, receive, send)


class ClusterEndpoints:
    """The cluster API's endpoints, bound to the service's registry.

    Registration, deletion and activation commit durably, so they run on the
    thread pool; so does a list, whose work grows with the page asked for.
    A show reads one cluster and runs inline, as access-info judgements do.
    Which it is depends on the route alone, never on what the caller may
    not know (whether a cluster exists, or is granted).
    """

    def __init__(self, service: Service) -> None:
        self.service = service

    def registry(self) -> ClusterApiRegistry:
        """The registry; RuntimeError (a 500) when it does not serve the cluster API."""
        registry = self.service.registry_or_fail()
        if not isinstance(registry, ClusterApiRegistry):
            raise RuntimeError("the registry does not serve the cluster API")
        return registry

    async def clusters(self, request: Request) -> JsonResponse:
        """POST /v1/clusters (register) and GET /v1/clusters (list)."""
        try:
            if request.method == "POST":
                body = await _json_body(request)
                uid = await run_in_threadpool(self.registry().api_register, _token(request), body)
                return _json(uid, 201)
            page = page_parameters(request.scope["query_string"])
            return _json(await run_in_threadpool(self.registry().api_list, _token(request), **page))
        except ClusterAccessError as error:
            return error_response(error, request.scope)

    async def cluster(self, request: Request) -> JsonResponse:
        """GET /v1/clusters/{clusterid} (show) and DELETE (delete)."""
        cluster_id: str = request.path_params["clusterid"]
        try:
            if request.method == "DELETE":
                await run_in_threadpool(self.registry().api_delete, _token(request), cluster_id)
                return JsonResponse(_DELETED)
            return _json(self.registry().api_show(_token(request), cluster_id))
        except ClusterAccessError as error:
            return error_response(error, request.scope)

    async def activation(self, request: Request) -> JsonResponse:
        """PUT /v1/clusters/{clusterid}/activation."""
        cluster_id: str = request.path_params["clusterid"]
        try:
            answer = await run_in_threadpool(self.registry().api_reactivate, _token(request), cluster_id)
            return _json(answer)
        except ClusterAccessError as error:
            return error_response(error, request.scope)


def _token(request: Request) -> Optional[str]:
    """The caller's credentials as received: today, the X-Auth-Token header."""
    return auth_token(request.scope["headers"])


def _json(document: object, status: int = 200) -> JsonResponse:
    return JsonResponse(json.dumps(document, separators=(",", ":")).encode(), status)


async def _json_body(request: Request) -> object:
    """The request's JSON body, decoded; 400 naming body when it is not
    declared application/json (the SDK's generated register_cluster sends a
    form, which cannot carry the nested registration), over MAX_BODY_BYTES,
    or not JSON. The value, whatever its type, is the core's to judge."""
    headers = request.scope["headers"]
    if not content_type_is_json(headers):
        raise bad_parameter("body", _NOT_JSON)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise bad_parameter("body", _TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise bad_parameter("body", _TOO_LARGE)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise bad_parameter("body", _UNREADABLE) from None
