"""A racing process for test_sdk_aksk.py: the cloud's SDK, signing with AK/SK.

    sdk_race_child.py PORT AK SK CLUSTER_ID BARRIER_DIR INDEX THREADS

Builds one UcsClient per thread (GlobalCredentials(AK, SK, domain id), the
server's loopback endpoint, no token), creates BARRIER_DIR/ready-INDEX, waits
for BARRIER_DIR/go, then calls show_cluster_access_info from THREADS threads
at once and prints one JSON list: per thread {"documents": [...]} or
{"error": "..."}. HOME is the parent's (the SDK's import writes
~/.huaweicloud/application_id). A connection or name lookup beyond loopback
is refused and reported as an error.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 60


def loopback_only(refused: list[str]) -> None:
    """Refuses (and records) every connection beyond loopback."""
    connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not ipaddress.ip_address(address[0]).is_loopback:
            refused.append(repr(address))
            raise OSError(f"connection beyond loopback refused: {address!r}")
        connect(self, address)

    setattr(socket.socket, "connect", guarded_connect)


def wait_for_go(barrier: Path, index: str) -> None:
    """Signals readiness and waits until the parent says go."""
    (barrier / f"ready-{index}").touch()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("sdk_race_child: no go signal")
        time.sleep(0.001)


def main() -> None:
    """Races as the module docstring says."""
    port, ak, sk, cluster_id, barrier_dir, index, threads = sys.argv[1:]
    refused: list[str] = []
    loopback_only(refused)
    from huaweicloudsdkcore.auth.credentials import GlobalCredentials
    from huaweicloudsdkcore.exceptions.exceptions import SdkException
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkucs.v1 import ShowClusterAccessInfoRequest, UcsClient

    clients = [
        UcsClient.new_builder()
        .with_http_config(HttpConfig.get_default_config())
        .with_credentials(GlobalCredentials(ak, sk, "domain0001"))
        .with_endpoints([f"http://127.0.0.1:{port}"])
        .build()
        for _ in range(int(threads))
    ]
    start = threading.Barrier(int(threads))
    results: list[dict[str, object]] = []

    def race(client: Any) -> None:
        """One racing call, recorded in `results`."""
        start.wait()
        try:
            response = client.show_cluster_access_info(ShowClusterAccessInfoRequest(clusterid=cluster_id))
            results.append({"documents": response.body})
        except SdkException as error:
            results.append({"error": str(error)})

    wait_for_go(Path(barrier_dir), index)
    workers = [threading.Thread(target=race, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.extend({"error": f"refused: {attempt}"} for attempt in refused)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
