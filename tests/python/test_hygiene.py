"""Token and key hygiene, beyond the files of the registry (test_key_hygiene.py covers those).

- Tokens: the only stored form is the SHA-256 of the token (the lookup is by
  that hash, and the one comparison of token material is CRYPTO_memcmp of two
  hashes); the stored form is no credential.
- The CA's private key is never returned: not by any method of the Python
  API (every public method is called, and the test fails when a new one is
  not in its table), not by the command line, not over HTTP, not in a log.
- The only private key ever returned is the agent's, in the first download:
  a fresh EC P-256 key matching the agent certificate, not the CA's.
- The agent key and the token never reach a log: the command line's output
  (with ``-o FILE``) and the HTTP service's log stay free of them; the file
  ``-o`` writes is 0600 even under a permissive umask.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import clusteraccess
from clusteraccess import ClusterAccessError, Registry

REPO = Path(__file__).resolve().parents[2]


# --- helpers -------------------------------------------------------------------


def key_forms(pem: bytes) -> dict[str, bytes]:
    """The ways a private key (PEM) could show up in text or bytes."""
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    body_lines = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    return {
        "PEM": pem,
        "a PEM body line": body_lines[0],
        "DER": der,
        "DER base64": base64.b64encode(der),
        "PEM base64": base64.b64encode(pem),
        "private scalar": key.private_numbers().private_value.to_bytes(32, "big"),
        "private scalar hex": key.private_numbers().private_value.to_bytes(32, "big").hex().encode(),
    }


def found(forms: dict[str, bytes], data: bytes) -> list[str]:
    return [name for name, form in forms.items() if form in data]


def ca_private_key_pem(path: Path) -> bytes:
    """The CA key, read from the registry file itself, where it lives sealed
    (AES-256-GCM: a format byte, the 12-byte nonce, then ciphertext and tag)
    under the master key in the 0600 file next to it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (sealed,) = connection.execute("SELECT private_key FROM certificate_authority").fetchone()
    finally:
        connection.close()
    master_key = path.with_name(path.name + ".key").read_bytes()
    assert sealed[0] == 1
    return AESGCM(master_key).decrypt(sealed[1:13], sealed[13:], b"clusteraccess:certificate_authority:1")


def text_of(value: Any, depth: int = 0) -> str:
    """Everything a caller can see of `value`: its repr and, recursively, its items and attributes."""
    parts = [repr(value)]
    if depth > 3:
        return parts[0]
    if isinstance(value, (list, tuple, set)):
        parts += [text_of(item, depth + 1) for item in value]
    elif isinstance(value, dict):
        parts += [text_of(item, depth + 1) for pair in value.items() for item in pair]
    elif not isinstance(value, (str, bytes, int, float, bool, type(None))):
        for name in dir(value):
            if name.startswith("_"):
                continue
            attribute = getattr(value, name)
            if not callable(attribute):
                parts.append(text_of(attribute, depth + 1))
    return "\n".join(parts)


def secret_data(documents: list[str]) -> dict[str, bytes]:
    (secret,) = [doc for doc in map(yaml.safe_load, documents) if doc["kind"] == "Secret"]
    return {name: base64.b64decode(value, validate=True) for name, value in secret["data"].items()}


PUBLIC_ID = "6f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a10"
SECOND_ID = "0a2b4c6d-8e0f-4a1b-8c3d-5e7f9a1b3c5d"


@dataclass
class Setup:
    registry: Registry
    path: Path
    token: str
    ca_forms: dict[str, bytes]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    path = tmp_path / "registry.db"
    registry = Registry(str(path))
    registry.set_public_endpoint("proxy.example.com", 30123)
    registry.add_region("eu-de", "proxy.eu-de.example.com", 30124)
    registry.register_cluster("hygiene-one", provider="eks", cluster_id=PUBLIC_ID)
    registry.register_cluster("hygiene-two", provider="gke", cluster_id=SECOND_ID)
    token = registry.create_token("alice", ttl_seconds=3600)
    registry.grant("alice", PUBLIC_ID)
    registry.grant("alice", SECOND_ID)
    return Setup(registry, path, token, key_forms(ca_private_key_pem(path)))


# --- tokens --------------------------------------------------------------------


def test_tokens_are_stored_as_their_sha256_and_nothing_else(setup: Setup) -> None:
    tokens = [setup.token] + [setup.registry.create_token(f"user{i}", ttl_seconds=60) for i in range(3)]
    connection = sqlite3.connect(f"file:{setup.path}?mode=ro", uri=True)
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(tokens)")]
        stored = {row[0] for row in connection.execute("SELECT hash FROM tokens")}
        dump = "\n".join(connection.iterdump()).encode()
    finally:
        connection.close()
    assert columns == ["hash", "principal", "created_at", "expires_at", "revoked_at"]
    assert stored == {hashlib.sha256(token.encode()).digest() for token in tokens}
    for token in tokens:
        random_part = base64.urlsafe_b64decode(token.removeprefix("cat_") + "=")
        for form in (token.encode(), token.removeprefix("cat_").encode(), random_part, random_part.hex().encode()):
            assert form not in dump


def test_the_stored_hash_is_no_credential(setup: Setup) -> None:
    stored = hashlib.sha256(setup.token.encode())
    for candidate in (stored.hexdigest(), "cat_" + stored.hexdigest(), base64.urlsafe_b64encode(stored.digest()).decode()):
        with pytest.raises(ClusterAccessError) as caught:
            setup.registry.access_info(PUBLIC_ID, candidate)
        assert (caught.value.status, caught.value.code) == (403, "UCS.01000004")
    assert setup.registry.downloads() == []


def test_token_material_is_compared_only_as_hashes_in_constant_time() -> None:
    """By construction, checked in the source: the token is hashed, looked up by
    its hash, and the one comparison is CRYPTO_memcmp of two 32-byte hashes."""
    token_cpp = (REPO / "core/src/token.cpp").read_text()
    body = token_cpp[token_cpp.index("bool hashes_equal") :]
    body = body[: body.index("\n}\n")]
    assert "CRYPTO_memcmp" in body
    # Rule 1 is judged in one place for accessinfo and the cluster API.
    service = (REPO / "core/src/authenticator.cpp").read_text()
    assert "hash_token(*token)" in service
    assert "hashes_equal(record->hash, hash)" in service
    for caller in ("access_info_service.cpp", "cluster_api_service.cpp"):
        assert "authenticator_.authenticate(" in (REPO / "core/src" / caller).read_text(), caller
    # A signature is compared the same way: CRYPTO_memcmp of the two hex strings.
    signature_cpp = (REPO / "core/src/request_signature.cpp").read_text()
    body = signature_cpp[signature_cpp.index("bool signature_matches") :]
    body = body[: body.index("\n}\n")]
    assert "CRYPTO_memcmp" in body
    store = (REPO / "core/src/sqlite_store.cpp").read_text()
    assert "WHERE t.hash = ?1" in store


# --- the CA key is never returned ----------------------------------------------


def refused(call: Callable[[], Any]) -> Any:
    """What `call` returned, or the ClusterAccessError it raised."""
    try:
        return call()
    except ClusterAccessError as error:
        return error


def registration(name: str) -> dict[str, Any]:
    """A minimal POST /v1/clusters body."""
    return {"kind": "Cluster", "apiVersion": "v1", "metadata": {"name": name},
            "spec": {"category": "attachedcluster", "type": "privatek8s"}}


def api_calls(token: str) -> dict[str, Optional[Callable[[Registry], Any]]]:
    """How to call every public method of Registry (read-only ones, and writers with harmless values)."""
    return {
        "access_info": lambda r: [r.access_info(SECOND_ID, token), r.access_info(SECOND_ID, token)],
        "judge_access_info": lambda r: [r.judge_access_info(SECOND_ID, token), r.judge_access_info(PUBLIC_ID, token)],
        "add_region": lambda r: r.add_region("ap-sg", "proxy.ap-sg.example.com", 443),
        "agent_image": lambda r: r.agent_image(),
        "backup": lambda r: r.backup(Path(r.path).with_name("backup-copy.db")),
        "ca_certificate_pem": lambda r: r.ca_certificate_pem(),
        "close": None,  # called last, below
        "closed": lambda r: r.closed,
        "cluster": lambda r: r.cluster(PUBLIC_ID),
        "clusters": lambda r: r.clusters(),
        "create_token": lambda r: r.create_token("bob", ttl_seconds=60),
        "create_access_key": lambda r: r.create_access_key("bob", ttl_seconds=60).ak,
        "access_keys": lambda r: r.access_keys(),
        "revoke_access_key": lambda r: r.revoke_access_key(r.create_access_key("carol", ttl_seconds=60).ak),
        "downloads": lambda r: r.downloads(),
        "grant": lambda r: r.grant("bob", PUBLIC_ID),
        "path": lambda r: r.path,
        "public_endpoint": lambda r: r.public_endpoint(),
        "regions": lambda r: r.regions(),
        "register_cluster": lambda r: r.register_cluster("hygiene-three", provider="aks"),
        "revoke_grant": lambda r: r.revoke_grant("bob", PUBLIC_ID),
        "revoke_token": lambda r: r.revoke_token(r.create_token("carol", ttl_seconds=60)),
        "set_agent_image": lambda r: r.set_agent_image("swr.example.com/ns/agent:2.0"),
        "set_public_endpoint": lambda r: r.set_public_endpoint("proxy.example.com", 30123),
        "agent_connected": lambda r: refused(lambda: r.agent_connected("not a certificate")),
        "certificate_revocation_list": lambda r: r.certificate_revocation_list(),
        "events": lambda r: r.events(),
        "reactivate": lambda r: r.reactivate(SECOND_ID),
        "delete_cluster": lambda r: r.delete_cluster(r.register_cluster("hygiene-four", provider="eks")),
        "api_register": lambda r: r.api_register(token, registration("hygiene-five")),
        "api_list": lambda r: r.api_list(token),
        "api_show": lambda r: r.api_show(token, PUBLIC_ID),
        "api_reactivate": lambda r: r.api_reactivate(token, PUBLIC_ID),
        "api_delete": lambda r: r.api_delete(token, r.api_register(token, registration("hygiene-six"))["uid"]),
    }


def test_no_method_of_the_python_api_returns_the_ca_key(setup: Setup) -> None:
    registry = setup.registry
    calls = api_calls(setup.token)
    public = sorted(name for name in dir(Registry) if not name.startswith("_"))
    assert public == sorted(calls), "a Registry method is missing from this test's table"

    for name, call in calls.items():
        if call is None:
            continue
        text = text_of(call(registry))
        assert found(setup.ca_forms, text.encode()) == [], name
        if name != "access_info":
            assert "PRIVATE KEY" not in text, name
    # Module-level names too.
    for name in clusteraccess.__all__:
        value = getattr(clusteraccess, name)
        text = text_of(value() if name == "new_cluster_id" else value)
        assert found(setup.ca_forms, text.encode()) == [], name
    # Errors carry no key either.
    with pytest.raises(ClusterAccessError) as caught:
        registry.access_info("not-an-id", setup.token)
    assert found(setup.ca_forms, text_of(caught.value).encode()) == []
    registry.close()
    assert registry.closed


def test_the_one_private_key_returned_is_a_fresh_agent_key_not_the_cas(setup: Setup) -> None:
    documents = setup.registry.access_info(PUBLIC_ID, setup.token)
    assert found(setup.ca_forms, "\n".join(documents).encode()) == []
    data = secret_data(documents)
    assert found(setup.ca_forms, b"\n".join(data.values())) == []

    agent_key = serialization.load_pem_private_key(data["proxy-agent.key"], password=None)
    assert isinstance(agent_key, ec.EllipticCurvePrivateKey)
    assert agent_key.curve.name == "secp256r1"
    agent_cert = x509.load_pem_x509_certificate(data["proxy-agent.crt"])
    ca_cert = x509.load_pem_x509_certificate(data["ca.crt"])
    numbers = agent_key.public_key().public_numbers()
    assert agent_cert.public_key().public_numbers() == numbers  # type: ignore[union-attr]
    assert ca_cert.public_key().public_numbers() != numbers  # type: ignore[union-attr]
    ca_key = serialization.load_pem_private_key(ca_private_key_pem(setup.path), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    assert ca_key.private_numbers().private_value != agent_key.private_numbers().private_value
    # Exactly one private key in the whole manifest.
    assert sum(value.count(b"PRIVATE KEY-----\n") for value in data.values()) == 2  # BEGIN and END


# --- the command line ------------------------------------------------------------


def run_cli(db: Path, *args: str, umask: int | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CLUSTERACCESS_TOKEN", None)
    env.pop("CLUSTERACCESS_DB", None)

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "clusteraccess", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        preexec_fn=set_umask,
        timeout=60,
        check=False,
    )


def test_command_line_prints_no_key_and_writes_the_manifest_0600_under_any_umask(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    outputs: list[tuple[str, str]] = []

    def cli(*args: str, ok: bool = True, **kwargs: Any) -> str:
        result = run_cli(db, *args, **kwargs)
        outputs.append((" ".join(args), result.stdout + result.stderr))
        if ok:
            assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    cli("init", "--public-endpoint", "proxy.example.com:30123", "--region", "eu-de=proxy.eu-de.example.com:30124")
    cluster_id = cli("cluster", "register", "cli-one", "--provider", "eks")
    private_id = cli("cluster", "register", "cli-two", "--provider", "aks", "--network", "private")
    token = cli("token", "create", "alice", "--ttl", "3600")
    cli("grant", "alice", cluster_id)
    cli("grant", "alice", private_id)
    manifest = tmp_path / "manifest.yaml"
    private_manifest = tmp_path / "private.yaml"
    cli("accessinfo", cluster_id, "--token", token, "-o", str(manifest), umask=0)
    cli("accessinfo", private_id, "--token", token, "--vpcendpoint", "10.0.0.9", "--region", "eu-de",
        "-o", str(private_manifest), umask=0o002)
    cli("accessinfo", cluster_id, "--token", token)  # ["Downloaded"]
    cli("accessinfo", cluster_id, "--token", "wrong", ok=False)
    cli("accessinfo", "NOT-AN-ID", "--token", token, ok=False)
    for listing in (["cluster", "list"], ["cluster", "list", "--json"], ["cluster", "show", cluster_id, "--json"],
                    ["downloads"], ["downloads", "--json"], ["region", "list", "--json"], ["ca-cert"]):
        cli(*listing)
    cli("token", "revoke", "-", stdin=token + "\n")

    for path in (manifest, private_manifest):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    agent_forms = {
        f"{path.name} {name}": form
        for path in (manifest, private_manifest)
        for name, form in key_forms(secret_data(path.read_text().split("---\n"))["proxy-agent.key"]).items()
    }
    ca_forms = key_forms(ca_private_key_pem(db))
    for command, output in outputs:
        data = output.encode()
        assert found(ca_forms, data) == [], command
        assert found(agent_forms, data) == [], command
        assert "PRIVATE KEY" not in output, command
        if not command.startswith("token create"):
            assert token not in output, command


# --- the HTTP service's log --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def service(db: Path, log: Path) -> Iterator[str]:
    httpx = pytest.importorskip("httpx")
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "clusteraccess.service", "--db", str(db), "--port", str(port)],
            stdout=stderr,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_service_log_holds_no_key_and_no_token(setup: Setup, tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    setup.registry.close()
    log = tmp_path / "service.log"
    bodies: list[bytes] = []
    with service(setup.path, log) as base:
        url = f"{base}/v1/clusters/{PUBLIC_ID}/accessinfo"
        first = httpx.get(url, headers={"X-Auth-Token": setup.token}, timeout=30)
        assert first.status_code == 200
        documents = first.json()
        for response in (
            httpx.get(url, headers={"X-Auth-Token": setup.token}, timeout=30),
            httpx.get(url, headers={"X-Auth-Token": setup.token + "x"}, timeout=30),
            httpx.get(url + "?vpcendpoint=10.0.0.1", headers={"X-Auth-Token": setup.token}, timeout=30),
            httpx.get(f"{base}/v1/clusters/{SECOND_ID}/accessinfo?region=eu-de%0akind:%20Secret",
                      headers={"X-Auth-Token": setup.token}, timeout=30),
            httpx.get(f"{base}/openapi.json", timeout=30),
            httpx.get(f"{base}/nowhere?token={setup.token}", timeout=30),
        ):
            bodies.append(response.content)
    agent_forms = key_forms(secret_data(documents)["proxy-agent.key"])
    logged = log.read_bytes()
    assert logged.count(b"\n") >= 7, "one access-log line per request"
    assert found(agent_forms, logged) == []
    assert found(setup.ca_forms, logged) == []
    assert setup.token.encode() not in logged
    assert b"PRIVATE KEY" not in logged
    for body in bodies:
        assert found(agent_forms, body) == [] and found(setup.ca_forms, body) == []
        assert b"PRIVATE KEY" not in body and setup.token.encode() not in body
    assert re.search(rb'"status":\s*200', logged)
