"""Every answer of the HTTP service says Cache-Control: no-store, whichever
layer writes it: a manifest holds a private key, an error tells about a token."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from clusteraccess import Registry

if TYPE_CHECKING:
    from conftest import Installation, RunningServer

    Serve = Callable[..., RunningServer]


def answer(port: int, head: bytes) -> http.client.HTTPResponse:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    response = http.client.HTTPResponse(sock, method=head.split(b" ", 1)[0].decode())
    response.begin()
    response.read()
    sock.close()
    return response


def test_every_kind_of_answer_says_no_store(serve: Serve, installation: Installation, tmp_path: Path) -> None:
    server = serve(installation.path)
    token = installation.token.encode()
    access = b"/v1/clusters/%s/accessinfo" % installation.public_cluster.encode()
    heads = {
        "manifest": (200, b"GET %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n" % (access, token)),
        "downloaded": (200, b"GET %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n" % (access, token)),
        "forbidden": (403, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % access),
        "bad parameter": (400, b"GET /v1/clusters/bad/accessinfo HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n" % token),
        "no route": (404, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"),
        "wrong method": (405, b"HEAD %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n" % (access, token)),
        "not HTTP": (400, b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n"),
        "head too large": (431, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 101 + b"\r\n"),
        "health": (200, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        "openapi": (200, b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"),
        "metrics": (200, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
    }
    # A 500: an installation with no public endpoint cannot hand out a manifest.
    unconfigured = Registry(str(tmp_path / "unconfigured.db"))
    cluster = unconfigured.register_cluster("lonely", provider="eks", network="public")
    other_token = unconfigured.create_token("bob", ttl_seconds=3600)
    unconfigured.grant("bob", cluster)
    other = serve(tmp_path / "unconfigured.db")
    for kind, (status, head) in heads.items():
        response = answer(server.port, head)
        assert (kind, response.status, response.headers["Cache-Control"]) == (kind, status, "no-store")
    response = answer(
        other.port, b"GET /v1/clusters/%s/accessinfo HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n"
        % (cluster.encode(), other_token.encode()),
    )
    assert (response.status, response.headers["Cache-Control"]) == (500, "no-store")
