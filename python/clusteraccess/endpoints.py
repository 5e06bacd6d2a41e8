"""The endpoints of the HTTP service, bound to one registry.

- ``GET /v1/clusters/{clusterid}/accessinfo`` -- the documented API, as a
  bare ASGI application (`AccessInfoEndpoint`);
- ``GET /healthz`` -- 200 ``{"status": "ok"}`` after a cheap database read;
- ``GET /openapi.json`` -- the package's OpenAPI description, as it is.

Every decision about a request is the core's (`Registry.access_info`); these
only translate HTTP into that call and its answer, or its
`ClusterAccessError`, back into HTTP.
"""

from __future__ import annotations

import json
from typing import Optional, Protocol, Tuple

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Send

from ._core import DOWNLOADED, ClusterAccessError
from .http_request import auth_token, cluster_id_from_raw_path, query_parameters
from .http_response import DOWNLOADED_BODY, JsonResponse, error_response
from .service_logging import SCOPE_OUTCOME, Scope

__all__ = ["AccessInfoEndpoint", "AccessInfoRegistry", "Service"]

# Clusters seen downloaded are remembered (up to this many) so that their
# requests skip the thread pool; see Service.is_fast.
_KNOWN_DOWNLOADED_LIMIT = 65536
_DOWNLOADED_DOCUMENTS = [DOWNLOADED]


class AccessInfoRegistry(Protocol):
    """What the service needs of a `Registry` (tests pass stand-ins)."""

    def access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
    ) -> list[str]:
        """The rules of the endpoint; raises `ClusterAccessError`."""

    def public_endpoint(self) -> Optional[Tuple[str, int]]:
        """A cheap read, for the health check."""


class Service:
    """The endpoints, bound to one registry shared by all requests and threads."""

    def __init__(self, registry: AccessInfoRegistry, openapi: bytes) -> None:
        self.registry: Optional[AccessInfoRegistry] = registry
        self.openapi = openapi
        self._known_downloaded: set[str] = set()

    def close(self) -> None:
        """Lets go of the registry (the core closes its database with it)."""
        registry, self.registry = self.registry, None
        close = getattr(registry, "close", None)
        if callable(close):
            close()

    def registry_or_fail(self) -> AccessInfoRegistry:
        """The registry; RuntimeError (a 500) once the service is shut down."""
        if self.registry is None:
            raise RuntimeError("the service is shut down")
        return self.registry

    def is_fast(self, cluster_id: str, token: Optional[str]) -> bool:
        """True when the core will answer without issuing a certificate, so
        that the call can run inline, on the event loop.

        Every answer but a first download is quick for the core (and it
        releases the GIL), quicker than handing the call to a worker thread
        and back. A first download makes a key and waits for a durable commit;
        inline, it would stall every other request on the loop, so it runs in
        the thread pool (bench/README.md has the figures).

        Only a request with a token and a well-formed id of a cluster not yet
        seen downloaded can issue; everything else runs inline. (Error answers
        are not remembered: a cluster refused now may be granted later.)
        """
        return not token or cluster_id in self._known_downloaded or not _looks_like_id(cluster_id)

    def answer(self, documents: list[str], cluster_id: str, scope: Scope) -> bytes:
        """The 200 body for documents, remembering that cluster_id is downloaded."""
        if len(self._known_downloaded) >= _KNOWN_DOWNLOADED_LIMIT:
            self._known_downloaded.clear()
        self._known_downloaded.add(cluster_id)
        if documents == _DOWNLOADED_DOCUMENTS:
            scope[SCOPE_OUTCOME] = "downloaded"
            return DOWNLOADED_BODY
        scope[SCOPE_OUTCOME] = "issued"
        return json.dumps(documents, separators=(",", ":")).encode()

    async def healthz(self, request: Request) -> JsonResponse:
        """GET /healthz: 200 {"status": "ok"} when the database answers."""
        try:
            self.registry_or_fail().public_endpoint()
        except ClusterAccessError as error:
            return error_response(error, request.scope, status=503)
        return JsonResponse(b'{"status":"ok"}')

    async def openapi_json(self, request: Request) -> JsonResponse:
        """GET /openapi.json: the package's openapi.json, byte for byte."""
        return JsonResponse(self.openapi)


class AccessInfoEndpoint:
    """GET /v1/clusters/{clusterid}/accessinfo, as a bare ASGI application.

    The hot path of the service: no Request object, just the raw path, query
    and headers in, a `JsonResponse` out. The service's middleware calls
    `respond` directly for GETs; the route around this object sees the other
    methods (405: GET only, as a HEAD would be an implicit download whose
    body is thrown away) and raises the 404 for paths that match the route
    only once percent-decoded.
    """

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (when not reached through the middleware's direct call)."""
        if scope["method"] != "GET":
            raise HTTPException(405, headers={"Allow": "GET"})
        response = await self.respond(scope)
        if response is None:
            raise HTTPException(404)
        await response(scope, receive, send)

    async def respond(self, scope: Scope) -> Optional[JsonResponse]:
        """The answer to a GET of scope's path; None when the raw path is not
        /v1/clusters/{clusterid}/accessinfo."""
        cluster_id = cluster_id_from_raw_path(scope.get("raw_path") or scope["path"].encode())
        if cluster_id is None:
            return None
        service = self.service
        try:
            parameters = query_parameters(scope["query_string"])
            token = auth_token(scope["headers"])
            registry = service.registry_or_fail()
            if service.is_fast(cluster_id, token):
                documents = registry.access_info(cluster_id, token, **parameters)
            else:
                documents = await run_in_threadpool(registry.access_info, cluster_id, token, **parameters)
        except ClusterAccessError as error:
            return error_response(error, scope)
        return JsonResponse(service.answer(documents, cluster_id, scope))


def _looks_like_id(text: str) -> bool:
    # The k8s-uuid shape, only to choose inline vs thread pool; the core
    # decides validity. Cheap checks first.
    return len(text) == 36 and text[8] == "-" and text[13] == "-"
