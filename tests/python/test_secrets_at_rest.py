"""Secrets at rest and files that are ours, seen from Python and the command line:
the CA key sealed under a master key file, and registry files never taken over."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clusteraccess import ClusterAccessError, InternalError, Registry

if TYPE_CHECKING:
    from conftest import Installation

PEM_PRIVATE_KEY = b"PRIVATE KEY"
# The DER prefix of every P-256 PKCS#8 key, as it starts in base64.
PKCS8_P256_BASE64 = b"MIGHAgEAMBMGByqGSM49"


def registry_files(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def test_the_database_and_its_wal_hold_no_clear_private_key(installation: Installation) -> None:
    registry, token = installation.registry, installation.token
    registry.access_info(installation.public_cluster, token)
    registry.access_info(
        installation.private_cluster, token, vpcendpoint="10.0.0.7", region=installation.region
    )
    files = registry_files(installation.path)
    assert files and Path(f"{installation.path}-wal") in files
    for path in files:
        data = path.read_bytes()
        assert PEM_PRIVATE_KEY not in data, path
        assert PKCS8_P256_BASE64 not in data, path
        assert base64.b64decode(PKCS8_P256_BASE64) not in data, path


def test_a_new_registry_creates_its_32_byte_master_key_0600(tmp_path: Path) -> None:
    old_mask = os.umask(0)
    try:
        Registry(str(tmp_path / "fresh.db")).close()
    finally:
        os.umask(old_mask)
    key_file = tmp_path / "fresh.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32


def test_a_missing_or_wrong_master_key_is_a_clear_error_that_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sealed.db"
    registry = Registry(str(db))
    ca = registry.ca_certificate_pem()
    registry.close()
    key_file = tmp_path / "sealed.db.key"
    good_key = key_file.read_bytes()
    before = db.read_bytes()

    key_file.unlink()
    with pytest.raises(InternalError) as missing:
        Registry(str(db))
    assert missing.value.code == "UCS.01000009" and "master key file does not exist" in missing.value.message
    assert not key_file.exists(), "opening a sealed registry must not invent a new key"

    key_file.write_bytes(os.urandom(32))
    key_file.chmod(0o600)
    with pytest.raises(InternalError) as wrong:
        Registry(str(db))
    assert wrong.value.code == "UCS.01000009" and "does not open" in wrong.value.message
    assert db.read_bytes() == before

    key_file.write_bytes(good_key)
    assert Registry(str(db)).ca_certificate_pem() == ca


def test_a_master_key_file_elsewhere_is_used_and_keeps_the_database_apart(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    key_file.parent.mkdir()
    db = tmp_path / "apart.db"
    ca = Registry(str(db), master_key_file=key_file).ca_certificate_pem()
    assert not (tmp_path / "apart.db.key").exists()
    assert Registry(str(db), master_key_file=str(key_file)).ca_certificate_pem() == ca
    with pytest.raises(InternalError):
        Registry(str(db))  # the default key file does not exist


def test_the_command_line_takes_the_master_key_file_from_a_flag_or_the_environment(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    db, key_file = tmp_path / "cli.db", tmp_path / "cli-master.key"
    env = {k: v for k, v in python_env.items() if not k.startswith("CLUSTERACCESS_")}

    def cli(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clusteraccess", "--db", str(db), *args],
            capture_output=True, text=True, env={**env, **(extra or {})}, timeout=60, check=False,
        )

    init = cli("--master-key-file", str(key_file), "init")
    assert init.returncode == 0, init.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not Path(f"{db}.key").exists()
    without = cli("ca-cert")
    assert without.returncode == 50 and "master key file does not exist" in without.stderr
    assert "BEGIN CERTIFICATE" in cli("ca-cert", extra={"CLUSTERACCESS_MASTER_KEY_FILE": str(key_file)}).stdout


def test_init_never_writes_through_a_planted_symlink(tmp_path: Path, python_env: dict[str, str]) -> None:
    target = tmp_path / "victim.db"
    target.write_bytes(b"")
    db = tmp_path / "registry.db"
    db.symlink_to(target)
    result = subprocess.run(
        [sys.executable, "-m", "clusteraccess", "--db", str(db), "init"],
        capture_output=True, text=True, env=python_env, timeout=60, check=False,
    )
    assert result.returncode == 50 and "symbolic link" in result.stderr
    assert target.read_bytes() == b""
    assert not Path(f"{db}.key").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_registry_file_made_in_advance_by_another_user_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "planted.db"
    db.write_bytes(b"")
    os.chown(db, 65534, 65534)
    with pytest.raises(ClusterAccessError) as refused:
        Registry(str(db))
    assert refused.value.status == 500 and "another user" in refused.value.message
    assert db.read_bytes() == b""
    assert not Path(f"{db}.key").exists()


def test_certificate_validity_out_of_bounds_is_refused_at_open(tmp_path: Path) -> None:
    for seconds in (0, -1, 3651 * 86400, 10**17):
        with pytest.raises(ClusterAccessError) as refused:
            Registry(str(tmp_path / "bounded.db"), certificate_validity_seconds=seconds)
        assert refused.value.status == 400 and "agent_certificate_validity" in refused.value.message
    assert not (tmp_path / "bounded.db").exists()
