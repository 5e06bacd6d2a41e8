"""The framework's trivial endpoint: one Starlette route answering a constant
``["Downloaded"]``, served by uvicorn with the settings `clusteraccess serve`
uses (httptools, uvloop, no websockets, no uvicorn access log, no server
header; the service only subclasses the httptools protocol to word its own
400s, a path no benchmark request takes). bench/http_bench.py runs it next to
the real service to give the ceiling of the framework on this machine.

    python bench/http_trivial.py --port PORT
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clusteraccess.service_logging import log_config

BODY = b'["Downloaded"]'


async def trivial(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(routes=[Route("/v1/clusters/{clusterid}/accessinfo", trivial, methods=["GET"]),
                            Route("/healthz", trivial, methods=["GET"])])
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        http="httptools",
        ws="none",
        lifespan="on",
        access_log=False,
        log_config=log_config(),
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
