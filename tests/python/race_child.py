"""A racing process for test_download_once.py.

    race_child.py DB TOKEN CLUSTER_ID BARRIER_DIR INDEX THREADS [MASTER_KEY_FILE]

Opens its own Registry on DB, creates BARRIER_DIR/ready-INDEX, waits for
BARRIER_DIR/go, then calls access_info from THREADS threads at once and prints
one JSON list: per thread {"documents": [...]} or {"error": "..."}.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from clusteraccess import ClusterAccessError, Registry

TIMEOUT_SECONDS = 60


def wait_for_go(barrier: Path, index: str) -> None:
    """Signals readiness and waits until the parent says go."""
    (barrier / f"ready-{index}").touch()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("race_child: no go signal")
        time.sleep(0.001)


def main() -> None:
    """Races as the module docstring says."""
    db, token, cluster_id, barrier_dir, index, threads, *key = sys.argv[1:]
    registry = Registry(db, master_key_file=key[0] if key else None)
    start = threading.Barrier(int(threads))
    results: list[dict[str, object]] = []

    def race() -> None:
        """One racing call, recorded in `results`."""
        start.wait()
        try:
            results.append({"documents": registry.access_info(cluster_id, token)})
        except ClusterAccessError as error:
            results.append({"error": f"{error.status} {error.code} {error.message}"})

    wait_for_go(Path(barrier_dir), index)
    workers = [threading.Thread(target=race) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
