"""Storage failures are 500-class ClusterAccessErrors, never a crash, and record no download."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusteraccess import ClusterAccessError, InternalError, Registry

STORAGE_FAILURE = (500, "UCS.01000007")
NOBODY = 65534


def open_failure(path: Path) -> InternalError:
    """The error opening a registry at `path` raises."""
    with pytest.raises(InternalError) as caught:
        Registry(str(path))
    assert isinstance(caught.value, ClusterAccessError)
    return caught.value


def sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    """Runs one statement on the SQLite file `path` with Python's sqlite3 and commits."""
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def make_registry(path: Path) -> tuple[str, str]:
    """Creates and closes a registry at `path` with one granted public cluster; returns (cluster id, token)."""
    registry = Registry(str(path))
    registry.set_public_endpoint("proxy.example.com", 443)
    cluster_id = registry.register_cluster("stored", provider="ack")
    token = registry.create_token("alice")
    registry.grant("alice", cluster_id)
    del registry
    gc.collect()
    assert not Path(f"{path}-wal").exists(), "the registry was not closed"
    return cluster_id, token


def test_garbage_file_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"this is not an SQLite database\n" * 200)
    error = open_failure(db_path)
    assert (error.status, error.code) == STORAGE_FAILURE
    assert db_path.read_bytes() == b"this is not an SQLite database\n" * 200


@pytest.mark.parametrize("keep", [0.5, 0.9, 100], ids=["half", "most", "100-bytes"])
def test_truncated_registry_is_refused(db_path: Path, keep: float) -> None:
    make_registry(db_path)
    size = db_path.stat().st_size
    os.truncate(db_path, int(size * keep) if keep < 1 else int(keep))
    error = open_failure(db_path)
    assert (error.status, error.code) == STORAGE_FAILURE


def test_other_sqlite_database_is_refused_and_keeps_its_table(db_path: Path) -> None:
    sql(db_path, "CREATE TABLE notes (body TEXT)")
    sql(db_path, "INSERT INTO notes VALUES ('mine')")
    error = open_failure(db_path)
    assert (error.status, error.code) == STORAGE_FAILURE
    assert sql(db_path, "SELECT name FROM sqlite_schema WHERE type = 'table'") == [("notes",)]
    assert sql(db_path, "SELECT body FROM notes") == [("mine",)]


def test_other_sqlite_database_is_refused_without_changing_its_journal_mode(db_path: Path) -> None:
    sql(db_path, "CREATE TABLE notes (body TEXT)")
    open_failure(db_path)
    assert sql(db_path, "PRAGMA journal_mode") == [("delete",)]


def test_registry_from_a_newer_version_is_refused(db_path: Path) -> None:
    make_registry(db_path)
    sql(db_path, "PRAGMA user_version = 99")
    error = open_failure(db_path)
    assert (error.status, error.code) == STORAGE_FAILURE
    assert "newer" in error.message


def test_directory_is_refused(tmp_path: Path) -> None:
    assert open_failure(tmp_path).status == 500


def test_missing_parent_directory_is_refused(tmp_path: Path) -> None:
    assert open_failure(tmp_path / "missing" / "registry.db").status == 500
    assert not (tmp_path / "missing").exists()


# --- a registry the process may read but not write ------------------------------------

# Runs as an unprivileged user: root ignores file modes. It drops root only after
# its imports, since the interpreter may live where that user cannot read.
READ_ONLY_CHILD = """
import json, os, sys
from clusteraccess import ClusterAccessError, Registry
path, token, cluster_id, uid = sys.argv[1:]
if int(uid) >= 0:
    os.setgroups([])
    os.setgid(int(uid))
    os.setuid(int(uid))
stage = "open"
try:
    registry = Registry(path)
    stage = "access_info"
    registry.access_info(cluster_id, token)
    print(json.dumps({"stage": "none"}))
except ClusterAccessError as error:
    print(json.dumps({"stage": stage, "type": type(error).__name__, "status": error.status, "code": error.code}))
"""


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A directory another user can traverse (pytest's tmp_path is private to its owner)."""
    directory = Path(tempfile.mkdtemp(prefix="clusteraccess-"))
    os.chmod(directory, 0o755)
    yield directory
    os.chmod(directory, 0o755)
    shutil.rmtree(directory)


@pytest.mark.parametrize("directory_writable", [False, True], ids=["read-only-directory", "writable-directory"])
def test_read_only_registry_gives_a_500_and_records_nothing(
    shared_directory: Path, python_env: dict[str, str], directory_writable: bool
) -> None:
    path = shared_directory / "registry.db"
    cluster_id, token = make_registry(path)
    as_root = os.geteuid() == 0
    # Readable by the child, writable by nobody but root (which the child is not).
    os.chmod(path, 0o644 if as_root else 0o444)
    if directory_writable:
        os.chmod(shared_directory, 0o777)
    elif not as_root:
        os.chmod(shared_directory, 0o555)

    child = subprocess.run(
        [sys.executable, "-c", READ_ONLY_CHILD, str(path), token, cluster_id, str(NOBODY if as_root else -1)],
        capture_output=True,
        text=True,
        env=python_env,
        cwd=shared_directory,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout)
    assert outcome["stage"] in {"open", "access_info"}
    assert (outcome["type"], outcome["status"], outcome["code"]) == ("InternalError", *STORAGE_FAILURE)

    os.chmod(shared_directory, 0o755)
    os.chmod(path, 0o600)
    registry = Registry(str(path))
    assert registry.downloads() == []
    assert registry.cluster(cluster_id).downloaded_at is None
    assert registry.access_info(cluster_id, token) != ["Downloaded"]
