"""The benchmark workload, seen from Python: a registry made by the library and
seeded in bulk with raw sqlite3 (the same layout bench/library_bench.cpp seeds).

The library creates the file, its schema, the CA, the public endpoint and two
tokens ("alice", granted every cluster, and "mallory", granted none). Then one
transaction inserts the clusters: every other one already downloaded (with its
audit record), the others not yet.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Workload:
    path: str
    clusters: int
    alice: str
    mallory: str
    downloaded: list[str] = field(default_factory=list)  # cluster ids
    fresh: list[str] = field(default_factory=list)  # not yet downloaded, shuffled


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every Python benchmark program takes: where its databases
    go and how many clusters its registry holds."""
    parser.add_argument("--workdir", default=None, help="where the databases go (default: a temporary dir)")
    parser.add_argument("--clusters", type=int, default=1000)


def fresh_paths(workdir: str | None, *names: str) -> list[str]:
    """Paths for new databases `names` in `workdir` (a new temporary directory
    when None), with any file left there by an earlier run removed."""
    workdir = workdir or tempfile.mkdtemp(prefix="clusteraccess-bench-")
    os.makedirs(workdir, exist_ok=True)
    paths = [os.path.join(workdir, name) for name in names]
    for path in paths:
        for suffix in ("", "-wal", "-shm", ".key"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    return paths


def _uuid_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def make_registry(core: Any, path: str, clusters: int, seed: int = 1) -> Workload:
    """Creates the registry at `path` (which must not exist) through `core`
    (clusteraccess._core) and seeds `clusters` clusters."""
    registry = core.Registry(path)
    registry.set_public_endpoint("proxy.example.com", 30123)
    alice = registry.create_token("alice", ttl_seconds=30 * 86400)
    mallory = registry.create_token("mallory", ttl_seconds=30 * 86400)
    del registry  # closes its connections

    rng = random.Random(seed)
    ids = []
    for _ in range(clusters):
        raw = bytearray(rng.randbytes(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        ids.append(bytes(raw))
    ids.sort()
    now = int(time.time())

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO clusters (id, name, category, provider, network, created_at, downloaded_at, "
        "certificate_serial) VALUES (?, ?, 'attachedcluster', 'eks', 'public', ?, ?, ?)",
        (
            (cid, f"bench-{i:08d}", now, now if i % 2 == 0 else None, f"{i + 1:032x}" if i % 2 == 0 else None)
            for i, cid in enumerate(ids)
        ),
    )
    db.executemany("INSERT INTO grants (principal, cluster_id) VALUES ('alice', ?)", ((cid,) for cid in ids))
    db.executemany(
        "INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, network) "
        "VALUES (?, 'alice', ?, ?, 'public')",
        ((cid, now, f"{i + 1:032x}") for i, cid in enumerate(ids) if i % 2 == 0),
    )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()

    workload = Workload(path, clusters, alice, mallory)
    workload.downloaded = [_uuid_text(cid) for i, cid in enumerate(ids) if i % 2 == 0]
    workload.fresh = [_uuid_text(cid) for i, cid in enumerate(ids) if i % 2 == 1]
    rng.shuffle(workload.fresh)
    return workload


def checkpoint(path: str) -> None:
    """Folds the WAL into the database file and empties it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
