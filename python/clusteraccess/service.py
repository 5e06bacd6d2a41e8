"""The HTTP service: GET /v1/clusters/{clusterid}/accessinfo on Starlette and uvicorn.

Every decision about a request is made by the C++ core (`Registry.access_info`);
the service only translates HTTP into that call and its answer (or its
`ClusterAccessError`) back into HTTP. Its parts:

- `clusteraccess.http_request` -- what is read of a request (raw path, query, headers);
- `clusteraccess.http_response` -- how it is answered (`JsonResponse`, the error body);
- `clusteraccess.endpoints` -- the routes' endpoints;
- `clusteraccess.app` -- the ASGI application and its middleware;
- `clusteraccess.server` -- uvicorn, bounded request heads, TLS, the signals that stop it;
- `clusteraccess.metrics` -- the Prometheus metrics at /metrics;
- `clusteraccess.service_logging` -- the JSON log lines and the access log.

This module is the service's import point. Run the service with
``clusteraccess serve`` or, the same command, ``python -m clusteraccess.service``
(both take ``--db PATH --host H --port P`` and the other options of
``clusteraccess serve --help``, and refuse a registry that does
not exist: only ``clusteraccess init`` creates one).
"""

from __future__ import annotations

import sys
from typing import Optional

from .app import ACCESS_INFO_PATH, RequestContext, create_app, openapi_document
from .endpoints import AccessInfoEndpoint, AccessInfoRegistry, Service
from .http_request import auth_token, cluster_id_from_raw_path, new_request_id, query_parameters, request_id
from .server import ServeError, ServeSettings, serve

__all__ = [
    "ACCESS_INFO_PATH",
    "AccessInfoEndpoint",
    "AccessInfoRegistry",
    "RequestContext",
    "ServeError",
    "ServeSettings",
    "Service",
    "auth_token",
    "cluster_id_from_raw_path",
    "create_app",
    "main",
    "new_request_id",
    "openapi_document",
    "query_parameters",
    "request_id",
    "serve",
]


def main(argv: Optional[list[str]] = None) -> int:
    """python -m clusteraccess.service [--db PATH] [--host H] [--port P]: `clusteraccess serve`."""
    from .cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
