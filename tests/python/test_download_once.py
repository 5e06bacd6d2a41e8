"""Download once, for real: racing threads and processes, and the GIL released meanwhile."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clusteraccess import DOWNLOADED, ClusterAccessError, Registry

if TYPE_CHECKING:
    from conftest import Installation

HasKey = Callable[[list[str]], bool]
RACE_CHILD = Path(__file__).with_name("race_child.py")
TIMEOUT_SECONDS = 60


def race_threads(count: int, call: Callable[[int], list[str]]) -> list[list[str]]:
    """Runs `call(i)` in `count` threads released at once; returns the bodies."""
    start = threading.Barrier(count)
    bodies: list[list[str]] = []
    errors: list[ClusterAccessError] = []

    def racer(index: int) -> None:
        """Waits for the others, then calls."""
        start.wait()
        try:
            bodies.append(call(index))
        except ClusterAccessError as error:
            errors.append(error)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert errors == []
    assert len(bodies) == count
    return bodies


def assert_exactly_one_key(bodies: list[list[str]], has_key: HasKey) -> None:
    """One body carries the key; every other one is ["Downloaded"]."""
    with_key = [body for body in bodies if has_key(body)]
    assert len(with_key) == 1
    assert [body for body in bodies if not has_key(body)] == [[DOWNLOADED]] * (len(bodies) - 1)


@pytest.mark.backends
def test_eight_threads_on_one_registry_get_exactly_one_key(installation: Installation, has_key: HasKey) -> None:
    registry, token, cluster_id = installation.registry, installation.token, installation.public_cluster
    bodies = race_threads(8, lambda _: registry.access_info(cluster_id, token))
    assert_exactly_one_key(bodies, has_key)
    assert len(registry.downloads()) == 1


@pytest.mark.backends
def test_eight_threads_with_a_registry_each_get_exactly_one_key(installation: Installation, has_key: HasKey) -> None:
    registries = [installation.location.open() for _ in range(8)]
    token, cluster_id = installation.token, installation.public_cluster
    bodies = race_threads(8, lambda i: registries[i].access_info(cluster_id, token))
    assert_exactly_one_key(bodies, has_key)
    assert len(installation.registry.downloads()) == 1


def wait_until(condition: Callable[[], bool], children: list[subprocess.Popen[str]]) -> None:
    """Polls `condition`, failing early when a child process died."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        for child in children:
            if child.poll() is not None:
                pytest.fail(f"racing process exited early: {child.communicate()}")
        assert time.monotonic() < deadline, "racing processes did not get ready"
        time.sleep(0.005)


@pytest.mark.backends
def test_threads_in_four_processes_get_exactly_one_key(
    installation: Installation, has_key: HasKey, tmp_path: Path
) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    arguments = [installation.location.target, installation.token, installation.public_cluster, str(barrier)]
    key = [str(installation.location.master_key_file)] if installation.location.master_key_file else []
    children = [
        subprocess.Popen(
            [sys.executable, str(RACE_CHILD), *arguments, str(index), "2", *key],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(4)
    ]
    wait_until(lambda: len(list(barrier.glob("ready-*"))) == 4, children)
    (barrier / "go").touch()

    results: list[dict[str, list[str]]] = []
    for child in children:
        stdout, stderr = child.communicate(timeout=TIMEOUT_SECONDS)
        assert child.returncode == 0, stderr
        results.extend(json.loads(stdout))
    assert [result for result in results if "error" in result] == []
    assert_exactly_one_key([result["documents"] for result in results], has_key)
    (record,) = installation.registry.downloads()
    assert record.cluster_id == installation.public_cluster


def test_access_info_releases_the_gil_while_it_waits_for_storage(installation: Installation) -> None:
    """A worker thread's first download blocks on a write lock held by this
    thread through Python's sqlite3; only if the worker released the GIL can
    this thread go on running Python, release the lock, and let it finish."""
    registry = Registry(str(installation.path), busy_timeout_ms=5000)
    outcome: list[object] = []
    calling = threading.Event()

    def download() -> None:
        """The first download, recorded in `outcome`."""
        calling.set()
        try:
            outcome.append(registry.access_info(installation.public_cluster, installation.token))
        except ClusterAccessError as error:
            outcome.append(error)

    lock = sqlite3.connect(installation.path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        worker = threading.Thread(target=download)
        worker.start()
        assert calling.wait(TIMEOUT_SECONDS)
        # With the GIL held by the worker, this thread would resume only after
        # the worker's busy timeout, and find it failed.
        time.sleep(0.5)
        assert outcome == [], "the worker did not wait for the lock while this thread ran"
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    worker.join(TIMEOUT_SECONDS)

    (documents,) = outcome
    assert isinstance(documents, list) and documents != [DOWNLOADED]


def test_a_storage_timeout_during_the_first_download_records_nothing(installation: Installation) -> None:
    registry = Registry(str(installation.path), busy_timeout_ms=50)
    lock = sqlite3.connect(installation.path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        with pytest.raises(ClusterAccessError) as caught:
            registry.access_info(installation.public_cluster, installation.token)
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    assert caught.value.status == 500
    assert installation.registry.downloads() == []
    # The key made for the failed call was never handed out, so the cluster is still downloadable.
    assert registry.access_info(installation.public_cluster, installation.token) != [DOWNLOADED]
