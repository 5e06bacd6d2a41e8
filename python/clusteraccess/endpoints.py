"""The endpoints of the HTTP service, bound to one registry.

- ``GET /v1/clusters/{clusterid}/accessinfo`` -- the documented API, as a
  bare ASGI application (`AccessInfoEndpoint`);
- ``GET /healthz`` -- 200 ``{"status": "ok"}`` after a cheap database read;
- ``GET /openapi.json`` -- the package's OpenAPI description, as it is.

Every decision about a request is the core's (`Registry.judge_access_info`,
`Registry.access_info`); these only translate HTTP into those calls and their
answer, or their `ClusterAccessError`, back into HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Optional, Protocol, Tuple

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Send

from ._core import DOWNLOADED, ClusterAccessError, Delivery, RequestAbandonedError, SignedRequest
from .http_request import auth_token, cluster_id_from_raw_path, query_parameters, signed_request
from .http_response import DOWNLOADED_BODY, JsonResponse, error_response
from .service_logging import SCOPE_OUTCOME, Scope

__all__ = [
    "ISSUED_NOT_DELIVERED",
    "NOT_COMMITTED",
    "SCOPE_PRINCIPAL",
    "AccessInfoEndpoint",
    "AccessInfoRegistry",
    "Service",
]

log = logging.getLogger("clusteraccess.service")

# The ASGI scope key under which the endpoint notes the principal of a
# request that passed rule 1 (a first download or [DOWNLOADED]), for the
# access log. A name, never a token.
SCOPE_PRINCIPAL = "clusteraccess.principal"
# Logged outcomes of a first download whose client went away: before the
# commit (nothing recorded, nothing sent), and after it (the certificate was
# issued and the cluster is downloaded, but the answer was lost).
NOT_COMMITTED = "not committed: client gone"
ISSUED_NOT_DELIVERED = "issued, not delivered"

_DOWNLOADED_DOCUMENTS = [DOWNLOADED]
# Set by RequestContext (app.py): correlates the warning of a lost answer with its access-log line.
_SCOPE_REQUEST_ID = "clusteraccess.request_id"
# nginx's "client closed request": logged for an abandoned first download, never sent.
_CLIENT_CLOSED_REQUEST = 499


class AccessInfoRegistry(Protocol):
    """What the service needs of a `Registry` (tests pass stand-ins)."""

    def judge_access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
        signature: Optional[SignedRequest] = None,
    ) -> Tuple[Optional[list[str]], str]:
        """Rules 1-5 without issuing: raises the rejection, or returns
        ([DOWNLOADED] or None for an admitted first download, principal)."""

    def access_info(
        self,
        cluster_id: str,
        token: Optional[str],
        *,
        vpcendpoint: Optional[str] = None,
        region: Optional[str] = None,
        signature: Optional[SignedRequest] = None,
        delivery: Optional[Delivery] = None,
    ) -> list[str]:
        """The rules of the endpoint, issuing a first download; raises `ClusterAccessError`."""

    def public_endpoint(self) -> Optional[Tuple[str, int]]:
        """A cheap read, for the health check."""


class Service:
    """The endpoints, bound to one registry shared by all requests and threads."""

    def __init__(self, registry: AccessInfoRegistry, openapi: bytes) -> None:
        self.registry: Optional[AccessInfoRegistry] = registry
        self.openapi = openapi

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

    def answer(self, documents: list[str], scope: Scope) -> bytes:
        """The 200 body for documents, noting the outcome in scope."""
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

    No timing oracle (docs/contract.md, Serving safely): every request is
    judged inline, on the event loop, by `Registry.judge_access_info`, which
    answers every rejection and every [DOWNLOADED] with the same work
    whatever the caller may not know (whether the cluster exists, or was
    downloaded). Only an admitted first download -- its caller holds a live
    token and a grant, so it may know -- goes to the thread pool, where
    `Registry.access_info` judges again and issues: making a key and waiting
    for a durable commit inline would stall every other request on the loop.

    Undelivered first downloads record nothing: while the core works, a
    watcher awaits the client's ``http.disconnect`` and abandons the
    request's `Delivery`; the core then commits nothing (499, logged as
    `NOT_COMMITTED`, nothing sent). A client gone after the commit is logged
    as `ISSUED_NOT_DELIVERED`, with the certificate serial.
    """

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (when not reached through the middleware's direct call)."""
        if scope["method"] != "GET":
            raise HTTPException(405, headers={"Allow": "GET"})
        response = await self.respond(scope, receive)
        if response is None:
            raise HTTPException(404)
        await response(scope, receive, send)

    async def respond(self, scope: Scope, receive: Optional[Receive] = None) -> Optional[JsonResponse]:
        """The answer to a GET of scope's path; None when the raw path is not
        /v1/clusters/{clusterid}/accessinfo.

        receive is the request's ASGI receive, watched for the client's
        departure during a first download (without it, the answer is always
        taken as wanted). The response returned for a request whose client is
        gone sends nothing.
        """
        cluster_id = cluster_id_from_raw_path(scope.get("raw_path") or scope["path"].encode())
        if cluster_id is None:
            return None
        service = self.service
        try:
            parameters: dict[str, Any] = query_parameters(scope["query_string"])
            token = auth_token(scope["headers"])
            # Only a request with an Authorization header is handed over as
            # signed, with no body (this GET reads none); the core judges the
            # token and the signature (docs/contract.md, AK/SK). Without the
            # header nothing more is built: the hot path stays as it was.
            signature = signed_request(scope)
            if signature is not None:
                parameters["signature"] = signature
            registry = service.registry_or_fail()
            documents, scope[SCOPE_PRINCIPAL] = registry.judge_access_info(cluster_id, token, **parameters)
            if documents is None:
                return await _first_download(service, registry, cluster_id, token, parameters, scope, receive)
        except ClusterAccessError as error:
            return error_response(error, scope)
        return JsonResponse(service.answer(documents, scope))


async def _first_download(
    service: Service,
    registry: AccessInfoRegistry,
    cluster_id: str,
    token: Optional[str],
    parameters: dict[str, Any],
    scope: Scope,
    receive: Optional[Receive],
) -> JsonResponse:
    """An admitted first download, issued on a worker thread while the
    client's departure is watched for (see AccessInfoEndpoint)."""
    delivery = Delivery()
    watcher = _watch_for_disconnect(receive, delivery) if receive is not None else None
    try:
        try:
            documents = await run_in_threadpool(
                registry.access_info, cluster_id, token, delivery=delivery, **parameters
            )
        except RequestAbandonedError:
            scope[SCOPE_OUTCOME] = NOT_COMMITTED
            return _Undeliverable()
        if delivery.principal is not None:
            scope[SCOPE_PRINCIPAL] = delivery.principal
        body = service.answer(documents, scope)
        if watcher is None or delivery.certificate_serial is None:
            return JsonResponse(body)  # nothing issued by this request (e.g. a race lost): nothing to lose
        response, watcher = _IssuedResponse(body, watcher, delivery.certificate_serial), None
        return response
    finally:
        if watcher is not None:
            watcher.cancel()


def _watch_for_disconnect(receive: Receive, delivery: Delivery) -> asyncio.Task[None]:
    """A task that abandons delivery when the client goes away.

    uvicorn reports ``http.disconnect`` when the connection is lost (FIN,
    RST) or its parser fails on bytes after the head (it then closes the
    connection); the request's own ``http.request`` messages come first.
    """

    async def watch() -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception:  # a receive that fails has no client behind it either
            log.debug("receive failed while a first download was issued", exc_info=True)
        # One atomic store: the core reads it on its worker thread.
        delivery.abandon()

    return asyncio.get_running_loop().create_task(watch())


class _Undeliverable(JsonResponse):
    """The "response" to a request whose client is gone: logged as 499, never sent."""

    def __init__(self) -> None:
        super().__init__(b"", _CLIENT_CLOSED_REQUEST)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sends nothing: there is nobody to send it to."""


class _IssuedResponse(JsonResponse):
    """A first download's manifest, written unless its client is already gone.

    The download is committed: a client that left is logged (outcome
    `ISSUED_NOT_DELIVERED` and a warning naming the certificate serial, never
    the key) so that an operator can tell a lost answer from a delivered one.
    """

    def __init__(self, body: bytes, watcher: asyncio.Task[None], certificate_serial: str) -> None:
        super().__init__(body)
        self._watcher = watcher
        self._certificate_serial = certificate_serial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Writes the manifest, or notes that its client is gone."""
        watcher = self._watcher
        try:
            gone = watcher.done()
            if not gone:
                await super().__call__(scope, receive, send)
                # The writes yield only when the socket's buffer is full; a
                # disconnect seen then made them no-ops. Once the last write
                # returns, receive() reports the end of the request, not a
                # departure: the check comes before any other task can run.
                gone = watcher.done()
        finally:
            watcher.cancel()
        if gone:
            scope[SCOPE_OUTCOME] = ISSUED_NOT_DELIVERED
            log.warning(
                "%s: the client went away after the download was committed; certificate serial %s",
                ISSUED_NOT_DELIVERED,
                self._certificate_serial,
                extra={"request_id": scope.get(_SCOPE_REQUEST_ID)},
            )
