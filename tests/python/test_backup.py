"""Backups: a consistent online copy of a registry, from Python and the command line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

from clusteraccess import DOWNLOADED, ClusterAccessError, Registry

if TYPE_CHECKING:
    from conftest import Installation


def test_the_copy_answers_as_the_registry_did(
    installation: Installation, tmp_path: Path, has_key: Callable[[list[str]], bool]
) -> None:
    registry, token = installation.registry, installation.token
    assert has_key(registry.access_info(installation.public_cluster, token))
    copy_path = tmp_path / "copy.db"
    registry.backup(copy_path)
    assert stat.S_IMODE(copy_path.stat().st_mode) == 0o600

    assert not Path(f"{copy_path}.key").exists(), "the master key must not travel with the copy"
    copy = Registry(str(copy_path), master_key_file=f"{installation.path}.key")
    assert copy.ca_certificate_pem() == registry.ca_certificate_pem()
    assert [c.id for c in copy.clusters()] == [c.id for c in registry.clusters()]
    assert [d.certificate_serial for d in copy.downloads()] == [d.certificate_serial for d in registry.downloads()]
    # Downloaded before the backup: still downloaded in the copy.
    assert copy.access_info(installation.public_cluster, token) == [DOWNLOADED]


def test_a_backup_taken_during_downloads_holds_each_download_whole(installation: Installation, tmp_path: Path) -> None:
    registry, token = installation.registry, installation.token
    ids = [registry.register_cluster(f"burst-{i:03d}", provider="eks") for i in range(40)]
    for cluster_id in ids:
        registry.grant(installation.principal, cluster_id)
    def download_all() -> None:
        for cluster_id in ids:
            registry.access_info(cluster_id, token)

    downloading = threading.Thread(target=download_all)
    downloading.start()
    copies: list[Path] = []
    for n in range(5):
        copies.append(tmp_path / f"copy-{n}.db")
        registry.backup(copies[-1])
    downloading.join()
    for copy_path in copies:
        copy = Registry(str(copy_path), master_key_file=f"{installation.path}.key")
        recorded = {d.cluster_id: d.certificate_serial for d in copy.downloads()}
        for cluster in copy.clusters():
            assert cluster.certificate_serial == recorded.get(cluster.id), "a download without its audit record"


def test_an_existing_destination_is_never_overwritten(registry: Registry, tmp_path: Path) -> None:
    destination = tmp_path / "taken.db"
    destination.write_text("keep me")
    with pytest.raises(ClusterAccessError) as refused:
        registry.backup(destination)
    assert refused.value.status == 500 and "exists already" in refused.value.message
    assert destination.read_text() == "keep me"


def test_a_planted_symlink_is_not_followed(registry: Registry, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    link = tmp_path / "copy.db"
    link.symlink_to(target)
    with pytest.raises(ClusterAccessError):
        registry.backup(link)
    assert not target.exists()


def test_the_command_line_backs_up_and_refuses_to_overwrite(
    installation: Installation, tmp_path: Path, python_env: dict[str, str]
) -> None:
    destination = tmp_path / "cli-copy.db"

    def backup() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clusteraccess", "--db", str(installation.path), "backup", str(destination)],
            capture_output=True, text=True, env=python_env, timeout=60, check=False,
        )

    first = backup()
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(os.stat(destination).st_mode) == 0o600
    assert [c.id for c in Registry(str(destination), master_key_file=f"{installation.path}.key").clusters()] == [c.id for c in installation.registry.clusters()]
    before = destination.read_bytes()
    second = backup()
    assert second.returncode == 50 and "exists already" in second.stderr
    assert destination.read_bytes() == before
