"""Opening and closing a Registry: paths, context manager, close()."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from clusteraccess import DOWNLOADED, Registry


def test_accepts_a_pathlib_path(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "state.db")
    assert registry.path == str(tmp_path / "state.db")
    assert (tmp_path / "state.db").exists()


def test_context_manager_closes_the_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Registry(path) as registry:
        registry.set_public_endpoint("proxy.example.com", 443)
        assert not registry.closed
        assert Path(f"{path}-wal").exists()
    assert registry.closed
    # The last connection checkpoints and removes the write-ahead log.
    assert not Path(f"{path}-wal").exists()


def test_calls_after_close_raise_value_error_and_touch_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "state.db")
    registry.close()
    registry.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="closed"):
        registry.clusters()
    with pytest.raises(ValueError, match="closed"):
        registry.access_info("00000000-0000-0000-0000-000000000000", "token")


def test_state_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Registry(path) as registry:
        registry.set_public_endpoint("proxy.example.com", 443)
        cluster_id = registry.register_cluster("prod", provider="eks")
        token = registry.create_token("alice", ttl_seconds=3600)
        registry.grant("alice", cluster_id)
        ca = registry.ca_certificate_pem()
        assert registry.access_info(cluster_id, token) != [DOWNLOADED]
    with Registry(path) as reopened:
        assert reopened.ca_certificate_pem() == ca
        assert reopened.access_info(cluster_id, token) == [DOWNLOADED]


def test_close_waits_for_calls_in_flight(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "state.db")
    registry.set_public_endpoint("proxy.example.com", 443)
    ids = [registry.register_cluster(f"cluster-{i:03d}", provider="eks") for i in range(20)]
    token = registry.create_token("alice", ttl_seconds=3600)
    for cluster_id in ids:
        registry.grant("alice", cluster_id)
    results: list[object] = []

    def download_all() -> None:
        for cluster_id in ids:
            try:
                results.append(registry.access_info(cluster_id, token))
            except ValueError as error:
                results.append(error)

    worker = threading.Thread(target=download_all)
    worker.start()
    registry.close()
    worker.join()
    # Every call either completed with a manifest or was refused as closed;
    # none was cut off half-way.
    manifests = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, ValueError)]
    assert len(manifests) + len(refused) == len(ids)
    assert all(len(m) == 2 for m in manifests)
    with Registry(tmp_path / "state.db") as reopened:
        assert len(reopened.downloads()) == len(manifests)
