"""Undelivered first downloads record nothing (docs/contract.md, Serving safely).

The binding's `Delivery` reaches the core's DeliveryGuard; the service
abandons it when the client goes away while its first download is being
issued, and the core then commits nothing (499, logged, never sent). A client
gone after the commit is logged as "issued, not delivered" with the serial.

In-process tests drive the ASGI app with a scripted receive(); the server
tests close real connections (FIN, RST, garbage after the head) while the
request waits for a worker thread.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import anyio
import pytest

import clusteraccess
from clusteraccess import Delivery, Registry, RequestAbandonedError
from clusteraccess.app import create_app
from clusteraccess.service_logging import AccessLog

if TYPE_CHECKING:
    from conftest import Installation

ABANDONED = "UCS.01000012"


# --- the binding -------------------------------------------------------------------


def test_an_abandoned_delivery_makes_access_info_record_nothing_then_one_download(installation: Installation) -> None:
    registry, cluster, token = installation.registry, installation.public_cluster, installation.token
    delivery = Delivery()
    assert not delivery.abandoned and delivery.principal is None and delivery.certificate_serial is None
    delivery.abandon()
    delivery.abandon()  # harmless
    assert delivery.abandoned
    with pytest.raises(RequestAbandonedError) as raised:
        registry.access_info(cluster, token, delivery=delivery)
    assert (raised.value.status, raised.value.code) == (499, ABANDONED)
    assert isinstance(raised.value, clusteraccess.ClusterAccessError)
    assert registry.cluster(cluster).downloaded_at is None and registry.downloads() == []

    live = Delivery()
    documents = registry.access_info(cluster, token, delivery=live)
    assert len(documents) == 2
    (record,) = registry.downloads()
    assert (live.principal, live.certificate_serial) == (installation.principal, record.certificate_serial)
    assert token not in repr(live)

    # Answers that issue nothing ignore the guard and note no serial.
    again = Delivery()
    again.abandon()
    assert registry.access_info(cluster, token, delivery=again) == [clusteraccess.DOWNLOADED]
    assert (again.principal, again.certificate_serial) == (installation.principal, None)


def test_delivery_must_be_a_delivery(installation: Installation) -> None:
    with pytest.raises(TypeError, match="delivery"):
        installation.registry.access_info(installation.public_cluster, installation.token, delivery=object())  # type: ignore[arg-type]
    assert installation.registry.downloads() == []


def test_judge_answers_rejections_and_repeats_and_admits_first_downloads(installation: Installation) -> None:
    registry, cluster, token = installation.registry, installation.public_cluster, installation.token
    assert registry.judge_access_info(cluster, token) == (None, installation.principal)
    assert registry.downloads() == []
    with pytest.raises(clusteraccess.ForbiddenError):
        registry.judge_access_info(cluster, "cat_not-a-token")
    with pytest.raises(clusteraccess.BadRequestError):
        registry.judge_access_info(cluster, token, vpcendpoint="10.0.0.1")
    registry.access_info(cluster, token)
    assert registry.judge_access_info(cluster, token) == ([clusteraccess.DOWNLOADED], installation.principal)
    with pytest.raises(TypeError, match="unexpected keyword argument 'delivery'"):
        registry.judge_access_info(cluster, token, delivery=Delivery())  # type: ignore[call-arg]


# --- the endpoint, in-process ----------------------------------------------------------


class WaitsForAbandon:
    """The real registry, but access_info starts only once its delivery is
    abandoned (or after 10 s): the client's departure lands before the core's
    first look at the guard, whatever the machine's speed."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.judge_access_info = registry.judge_access_info
        self.public_endpoint = registry.public_endpoint

    def access_info(self, cluster_id: str, token: Optional[str], *, delivery: Optional[Delivery] = None, **kw: Any) -> list[str]:
        assert delivery is not None
        deadline = time.monotonic() + 10
        while not delivery.abandoned and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.registry.access_info(cluster_id, token, delivery=delivery, **kw)


class DisconnectsAfterCommit:
    """The real registry; once access_info has committed, the client goes away
    (its receive() reports http.disconnect) before the answer is written."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.judge_access_info = registry.judge_access_info
        self.public_endpoint = registry.public_endpoint
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.gone: Optional[asyncio.Event] = None

    def access_info(self, cluster_id: str, token: Optional[str], **kw: Any) -> list[str]:
        documents = self.registry.access_info(cluster_id, token, **kw)
        assert self.loop is not None and self.gone is not None
        self.loop.call_soon_threadsafe(self.gone.set)
        time.sleep(0.3)  # the loop sees the departure before this answer is back
        return documents


def drive(app: Any, path: str, token: str, after_commit: Optional[DisconnectsAfterCommit] = None) -> list[dict[str, Any]]:
    """One GET through the app with a scripted receive(): the request, then
    http.disconnect at once (or, with after_commit, once it has committed).
    Returns what was sent."""
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        gone: Optional[asyncio.Event] = None
        if after_commit is not None:
            after_commit.loop, after_commit.gone = asyncio.get_running_loop(), asyncio.Event()
            gone = after_commit.gone
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            if gone is not None:
                await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(b"x-auth-token", token.encode())], "http_version": "1.1",
        }
        await app(scope, receive, send)

    anyio.run(run)
    return sent


def test_a_client_gone_before_the_commit_gets_nothing_and_nothing_is_recorded(installation: Installation) -> None:
    log = io.StringIO()
    registry = installation.registry
    access_log = AccessLog(log)
    app = create_app(WaitsForAbandon(registry), access_log=access_log)
    path = f"/v1/clusters/{installation.public_cluster}/accessinfo"
    assert drive(app, path, installation.token) == []
    access_log.flush()
    (line,) = [json.loads(text) for text in log.getvalue().splitlines()]
    assert (line["status"], line["outcome"]) == (499, "not committed: client gone")
    assert registry.cluster(installation.public_cluster).downloaded_at is None and registry.downloads() == []
    # The next client gets the manifest, once.
    documents = registry.access_info(installation.public_cluster, installation.token)
    assert len(documents) == 2 and len(registry.downloads()) == 1


def test_a_client_gone_after_the_commit_is_logged_issued_not_delivered_with_the_serial(
    installation: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    log = io.StringIO()
    registry = DisconnectsAfterCommit(installation.registry)
    access_log = AccessLog(log)
    app = create_app(registry, access_log=access_log)
    path = f"/v1/clusters/{installation.public_cluster}/accessinfo"

    with caplog.at_level("WARNING", logger="clusteraccess.service"):
        assert drive(app, path, installation.token, after_commit=registry) == []
    access_log.flush()
    (record,) = installation.registry.downloads()
    (line,) = [json.loads(text) for text in log.getvalue().splitlines()]
    assert (line["status"], line["outcome"]) == (200, "issued, not delivered")
    warnings = [r.getMessage() for r in caplog.records if r.name == "clusteraccess.service"]
    assert len(warnings) == 1 and record.certificate_serial in warnings[0]
    assert installation.token not in warnings[0] and "PRIVATE KEY" not in warnings[0]


def test_a_delivered_first_download_and_repeats_put_the_principal_in_the_scope(installation: Installation) -> None:
    from clusteraccess.endpoints import SCOPE_PRINCIPAL, AccessInfoEndpoint, Service

    endpoint = AccessInfoEndpoint(Service(installation.registry, b"{}"))
    path = f"/v1/clusters/{installation.public_cluster}/accessinfo"

    def respond(token: str) -> tuple[int, dict[str, Any]]:
        scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                                 "query_string": b"", "headers": [(b"x-auth-token", token.encode())]}

        async def run() -> int:
            response = await endpoint.respond(scope)
            assert response is not None
            return response.status_code

        return anyio.run(run), scope

    status, scope = respond(installation.token)
    assert status == 200 and scope[SCOPE_PRINCIPAL] == installation.principal and scope["clusteraccess.outcome"] == "issued"
    status, scope = respond(installation.token)
    assert status == 200 and scope[SCOPE_PRINCIPAL] == installation.principal and scope["clusteraccess.outcome"] == "downloaded"
    status, scope = respond("cat_not-a-token")
    assert status == 403 and SCOPE_PRINCIPAL not in scope


# --- the real server ------------------------------------------------------------------

# anyio's default thread limiter (Starlette's run_in_threadpool): 40 worker
# threads. More first downloads than that, all waiting on the registry's write
# lock, make the next ones queue for a thread before the core sees them.
THREADS = 40
BLOCKERS = THREADS + 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, token: str, request_id: Optional[str] = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"X-Auth-Token": token, **({"X-Request-Id": request_id} if request_id else {})}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def head_of(path: str, token: str, request_id: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {token}\r\n"
            f"X-Request-Id: {request_id}\r\n\r\n").encode()


def test_clients_gone_while_queued_for_a_worker_record_nothing_fin_rst_and_garbage(
    installation: Installation, tmp_path: Path
) -> None:
    registry = installation.registry
    clusters = [registry.register_cluster(f"blocker-{i}", provider="eks") for i in range(BLOCKERS)]
    victims = {kind: registry.register_cluster(f"victim-{kind}", provider="eks") for kind in ("fin", "rst", "garbage")}
    for cluster_id in [*clusters, *victims.values()]:
        registry.grant(installation.principal, cluster_id)

    port = free_port()
    log_path = tmp_path / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(clusteraccess.__file__).absolute().parent.parent),
                                                      env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "clusteraccess.service", "--db", str(installation.path),
                                    "--port", str(port)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.05)

        # The test holds the write lock: every first download waits in its
        # commit (the registry's busy timeout is longer than this test holds it).
        lock = sqlite3.connect(installation.path, isolation_level=None, timeout=10)
        lock.execute("BEGIN IMMEDIATE")
        answers: list[tuple[int, Any]] = []
        blockers = [threading.Thread(target=lambda c=c: answers.append(get(port, f"/v1/clusters/{c}/accessinfo",
                                                                              installation.token)))
                    for c in clusters]
        for thread in blockers:
            thread.start()
        time.sleep(1.0)  # every worker thread taken, the rest queued

        for kind, cluster_id in victims.items():
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head_of(f"/v1/clusters/{cluster_id}/accessinfo", installation.token, f"victim-{kind}"))
            time.sleep(0.1)  # the head is parsed and the request queued
            if kind == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif kind == "garbage":
                sock.sendall(b"\x00\x01 not http \xff\r\n\r\n")
                time.sleep(0.1)
            sock.close()
        time.sleep(0.3)  # the departures are seen
        lock.execute("ROLLBACK")
        lock.close()
        for thread in blockers:
            thread.join(timeout=30)
        assert len(answers) == BLOCKERS and all(status == 200 and len(body) == 2 for status, body in answers)

        # Nothing was recorded for the victims: a fresh client gets each manifest exactly once.
        for cluster_id in victims.values():
            assert registry.cluster(cluster_id).downloaded_at is None
            status, body = get(port, f"/v1/clusters/{cluster_id}/accessinfo", installation.token)
            assert status == 200 and len(body) == 2
            assert get(port, f"/v1/clusters/{cluster_id}/accessinfo", installation.token) == (200, ["Downloaded"])
        assert len(registry.downloads()) == BLOCKERS + len(victims)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    outcomes = {line["request_id"]: (line["status"], line["outcome"]) for line in lines
                if line.get("logger") == "clusteraccess.access" and line["request_id"].startswith("victim-")}
    assert outcomes == {f"victim-{kind}": (499, "not committed: client gone") for kind in victims}
