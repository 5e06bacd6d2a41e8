"""`clusteraccess serve` over TLS, and its refusal to serve plain HTTP beyond
loopback (docs/contract.md, "Serving safely")."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from conftest import Installation, Manifest, RunningServer

    Serve = Callable[..., RunningServer]


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signs for 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def https_ready(ca: Path) -> Callable[[int], bool]:
    def ready(port: int) -> bool:
        context = ssl.create_default_context(cafile=str(ca))
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    return ready


def test_a_verifying_client_gets_the_manifest_over_https_and_plain_http_fails(
    serve: Serve, installation: Installation, tmp_path: Path, manifest_of: Callable[[list[str]], Manifest]
) -> None:
    ca, cert, key = make_pki(tmp_path)
    server = serve(installation.path, "--tls-cert", str(cert), "--tls-key", str(key), ready=https_ready(ca))
    context = ssl.create_default_context(cafile=str(ca))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=30, context=context)
    try:
        path = f"/v1/clusters/{installation.public_cluster}/accessinfo"
        connection.request("GET", path, headers={"X-Auth-Token": installation.token})
        response = connection.getresponse()
        documents = json.loads(response.read())
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        manifest = manifest_of(documents)
        assert b"PRIVATE KEY" in manifest.secret_file("proxy-agent.key")
        connection.request("GET", path, headers={"X-Auth-Token": installation.token})  # the same connection
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, ["Downloaded"])
    finally:
        connection.close()

    plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    with pytest.raises((http.client.HTTPException, OSError)):
        plain.request("GET", "/healthz")
        plain.getresponse().read()
    plain.close()
    # A client that does not trust the CA is refused by its own check.
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            ssl.create_default_context().wrap_socket(sock, server_hostname="127.0.0.1")


def run_serve(installation: Installation, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clusteraccess", "--db", str(installation.path), "serve", *args],
        capture_output=True, text=True, env=env, cwd=installation.path.parent, timeout=timeout,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_plain_http_beyond_loopback_is_refused(
    installation: Installation, python_env: dict[str, str], host: str
) -> None:
    result = run_serve(installation, python_env, "--host", host, "--port", "1")
    assert result.returncode == 2, result
    assert f"--host {host} is not a loopback address" in result.stderr
    assert "--tls-cert" in result.stderr and "--allow-plain-http" in result.stderr


def test_allow_plain_http_serves_beyond_loopback_with_a_warning(
    serve: Serve, installation: Installation
) -> None:
    server = serve(installation.path, "--host", "0.0.0.0", "--allow-plain-http")
    warnings = [line for line in server.log_lines() if line["level"] == "warning"]
    assert len(warnings) == 1 and "--allow-plain-http" in warnings[0]["message"], server.log_lines()


@pytest.mark.parametrize("which", ["cert only", "key only", "unreadable", "not pem", "wrong key"])
def test_bad_tls_files_are_refused_before_binding(
    installation: Installation, python_env: dict[str, str], tmp_path: Path, which: str
) -> None:
    ca, cert, key = make_pki(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, _, other_key = make_pki(other)
    args = {
        "cert only": ["--tls-cert", str(cert)],
        "key only": ["--tls-key", str(key)],
        "unreadable": ["--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")],
        "not pem": ["--tls-cert", str(ca.parent / "nothing"), "--tls-key", str(key)],
        "wrong key": ["--tls-cert", str(cert), "--tls-key", str(other_key)],
    }[which]
    (ca.parent / "nothing").write_text("not a certificate\n")
    result = run_serve(installation, python_env, *args, "--port", "1")
    assert result.returncode == 2, result
    line = result.stderr.strip()
    assert line.startswith("clusteraccess: --tls-") and line.count("\n") == 0, line
    expected = {
        "cert only": "--tls-cert needs --tls-key", "key only": "--tls-key needs --tls-cert",
        "unreadable": "cannot read it", "not pem": "not a PEM certificate", "wrong key": "not a PEM certificate",
    }[which]
    assert expected in line
