"""Secrets stay out of the registry's files: the agent key is never written, tokens only as hashes."""

from __future__ import annotations

import base64
import gc
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clusteraccess import Registry

if TYPE_CHECKING:
    from conftest import Manifest

ManifestOf = Callable[[list[str]], "Manifest"]
SUFFIXES = ("", "-wal", "-shm")


@dataclass(frozen=True)
class Secrets:
    """Every form in which the agent key and the token could be found in a file."""

    forms: dict[str, bytes]

    @classmethod
    def of(cls, manifest: Manifest, token: str) -> Secrets:
        """The forms of the key in `manifest` and of `token`."""
        pem = manifest.secret_file("proxy-agent.key")
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pem_body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
        forms = {
            "key PEM": pem,
            "key PEM body": pem_body,
            "key PEM first line": pem.splitlines()[1],
            "key DER": der,
            "key DER base64": base64.b64encode(der),
            "key PEM base64 (the Secret's value)": manifest.secret["data"]["proxy-agent.key"].encode(),
            "private scalar": key.private_numbers().private_value.to_bytes(32, "big"),
            "token": token.encode(),
            "token without prefix": token.split("_", 1)[-1].encode(),
        }
        return cls(forms)

    def found_in(self, path: Path) -> list[str]:
        """The names of the forms found in the registry file `path` or its -wal and -shm files."""
        contents = [Path(f"{path}{suffix}").read_bytes() for suffix in SUFFIXES if Path(f"{path}{suffix}").exists()]
        return [name for name, form in self.forms.items() if any(form in data for data in contents)]


def first_download(path: Path, manifest_of: ManifestOf) -> tuple[Registry, Secrets]:
    """A registry at `path` after the first download of a cluster, and the secrets of that download."""
    registry = Registry(str(path))
    registry.set_public_endpoint("proxy.example.com", 443)
    cluster_id = registry.register_cluster("hygiene", provider="tke")
    token = registry.create_token("alice")
    registry.grant("alice", cluster_id)
    manifest = manifest_of(registry.access_info(cluster_id, token))
    return registry, Secrets.of(manifest, token)


def test_no_secret_reaches_the_files_while_the_registry_is_open(db_path: Path, manifest_of: ManifestOf) -> None:
    registry, secrets = first_download(db_path, manifest_of)
    assert Path(f"{db_path}-wal").exists(), "expected WAL mode"
    assert secrets.found_in(db_path) == []
    assert len(registry.downloads()) == 1


def test_no_secret_reaches_the_files_after_the_registry_is_closed(db_path: Path, manifest_of: ManifestOf) -> None:
    registry, secrets = first_download(db_path, manifest_of)
    del registry
    gc.collect()
    assert secrets.found_in(db_path) == []
    assert len(Registry(str(db_path)).downloads()) == 1


def test_secret_forms_are_found_when_present(tmp_path: Path, db_path: Path, manifest_of: ManifestOf) -> None:
    """The search itself works: a file holding the key's DER is caught."""
    _, secrets = first_download(db_path, manifest_of)
    decoy = tmp_path / "decoy"
    decoy.write_bytes(b"junk" + secrets.forms["key DER"] + b"junk")
    assert "key DER" in secrets.found_in(decoy)
    assert "private scalar" in secrets.found_in(decoy)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_registry_files_are_private_to_their_owner(db_path: Path, manifest_of: ManifestOf, suffix: str) -> None:
    registry, _ = first_download(db_path, manifest_of)
    mode = stat.S_IMODE(Path(f"{db_path}{suffix}").stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert registry.path == str(db_path)


def test_registry_made_in_an_existing_empty_file_is_private(db_path: Path) -> None:
    db_path.touch(mode=0o644)
    os.chmod(db_path, 0o644)
    Registry(str(db_path))
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
