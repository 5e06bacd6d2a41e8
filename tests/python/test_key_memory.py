"""No loser's key lingers in memory.

Eight threads race for each of 40 first downloads in this process (the core
releases the GIL, so they really race: the losers make keys that are thrown
away). Then this process's readable, writable memory is scanned for private
key material -- the base64 of a PKCS#8 P-256 key's DER, and the base64 of its
PEM as the Secret carries it -- and every key found must be one a winner
received: the losers' keys were wiped.

The race and the scan run in a fresh interpreter (this file as a script), so
that keys other tests received -- Python strings freed but not wiped, which
are theirs to keep -- are not in the memory scanned.
"""

from __future__ import annotations

import base64
import ctypes
import json
import re
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import clusteraccess

if TYPE_CHECKING:
    from conftest import Installation

CLUSTERS = 40
THREADS = 8
# base64 of the DER every PKCS#8 P-256 key starts with, up to the private
# scalar; and base64 of "-----BEGIN PRIVATE KEY-----" (27 bytes: aligned).
DER_PREFIX = b"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"
PEM_B64_PREFIX = b"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"
# How much of the base64 run after a match is compared: past the fixed
# prefix, far enough into the private scalar to tell 40 keys apart.
DER_COMPARED = len(DER_PREFIX) + 12
PEM_COMPARED = 140
# Base64 runs shorter than this carry no key-specific bytes.
DER_DISTINCT_FROM = len(DER_PREFIX) + 4
PEM_DISTINCT_FROM = 108
CHUNK = 1 << 20
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]*")


def test_no_losers_key_lingers_after_races(installation: Installation, python_env: dict[str, str]) -> None:
    installation.registry.close()
    child = subprocess.run(
        [sys.executable, __file__, str(installation.path), installation.token, installation.principal],
        capture_output=True, text=True, timeout=120, env=python_env,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["winners"] == CLUSTERS
    assert report["witness_found"], "the scan misses a live key"
    assert report["lingering"] == 0, f"{report['lingering']} key(s) in memory that no winner received"


def race_and_scan(path: str, token: str, principal: str) -> dict[str, object]:
    """The race, then the scan; what the scan found, as the test checks it."""
    registry = clusteraccess.Registry(path)
    installation = _Setup(registry, token, principal)
    clusters = [registry.register_cluster(f"memory-{i}", provider="eks") for i in range(CLUSTERS)]
    for cluster_id in clusters:
        registry.grant(installation.principal, cluster_id)

    winners: list[list[str]] = []
    for cluster_id in clusters:
        answers: list[list[str]] = []
        start = threading.Barrier(THREADS)

        def race(cluster_id: str = cluster_id) -> None:
            start.wait()
            answers.append(registry.access_info(cluster_id, installation.token))

        threads = [threading.Thread(target=race) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        firsts = [documents for documents in answers if documents != [clusteraccess.DOWNLOADED]]
        assert len(firsts) == 1 and len(answers) == THREADS
        winners.append(firsts[0])
    assert len(registry.downloads()) == CLUSTERS

    # What the winners hold, in both forms the scan looks for.
    known_der: set[bytes] = set()
    known_pem_b64: set[bytes] = set()
    for documents in winners:
        secret = documents[0].encode()
        (pem_b64,) = re.findall(rb"(" + PEM_B64_PREFIX + rb"[A-Za-z0-9+/=]*)", secret)
        pem = base64.b64decode(pem_b64)
        known_pem_b64.add(pem_b64[:PEM_COMPARED])
        known_der.add(pem[pem.index(b"MIGH"):][:DER_COMPARED])
    assert len(known_der) == CLUSTERS and len(known_pem_b64) == CLUSTERS

    # A witness: one more key, alive in this process but not a winner's. The
    # scan must report it (and nothing else), or it could not see a loser's.
    witness_cluster = registry.register_cluster("memory-witness", provider="eks")
    registry.grant(installation.principal, witness_cluster)
    witness = registry.access_info(witness_cluster, installation.token)
    (witness_b64,) = re.findall(rb"(" + PEM_B64_PREFIX + rb"[A-Za-z0-9+/=]*)", witness[0].encode())

    found_der, found_pem = _scan_memory()
    lingering = [run for run in found_der if not any(k.startswith(run) for k in known_der)]
    lingering += [run for run in found_pem if not any(k.startswith(run) for k in known_pem_b64)]
    witness_found = any(witness_b64.startswith(run) for run in lingering)
    others = [run for run in lingering if not witness_b64.startswith(run)]
    assert witness
    return {"winners": len(winners), "witness_found": witness_found, "lingering": len(others)}


class _Setup:
    def __init__(self, registry: clusteraccess.Registry, token: str, principal: str) -> None:
        self.registry, self.token, self.principal = registry, token, principal


def _scan_memory() -> tuple[set[bytes], set[bytes]]:
    """The distinct base64 runs (cut to the compared length) that follow each
    prefix anywhere in this process's readable, writable memory.

    One buffer is read into and wiped after each chunk, so the scan leaves no
    copies behind of what it read; a match is kept only cut to the compared
    length, so its copy cannot be found longer than the original.
    """
    buffer = bytearray(CHUNK + PEM_COMPARED)
    address_of_buffer = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    found_der: set[bytes] = set()
    found_pem: set[bytes] = set()
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb", buffering=0) as memory:
        for fields in regions:
            if not fields[1].startswith("rw"):
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            offset = start
            while offset < end:
                length = min(CHUNK + PEM_COMPARED, end - offset)  # overlapping: no match cut in two
                try:
                    memory.seek(offset)
                    read = memory.readinto(memoryview(buffer)[:length]) or 0
                except OSError:
                    read = 0
                for prefix, distinct_from, compared, found in (
                    (DER_PREFIX[:20], DER_DISTINCT_FROM, DER_COMPARED, found_der),
                    (PEM_B64_PREFIX, PEM_DISTINCT_FROM, PEM_COMPARED, found_pem),
                ):
                    at = buffer.find(prefix, 0, read)
                    while at != -1:
                        match = _BASE64_RUN.match(buffer, at, min(at + compared, read))
                        if match is not None and match.end() - at >= distinct_from:
                            found.add(bytes(buffer[at:match.end()]))
                        at = buffer.find(prefix, at + 1, read)
                ctypes.memset(address_of_buffer, 0, len(buffer))
                offset += CHUNK
    return found_der, found_pem


if __name__ == "__main__":
    print(json.dumps(race_and_scan(*sys.argv[1:4])))
