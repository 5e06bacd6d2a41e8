"""The lifecycle seen from a proxy server (docs/contract.md, Lifecycle): a real
TLS handshake on loopback between a Python ssl server that requires a client
certificate from the registry's CA and checks the registry's revocation list
(VERIFY_CRL_CHECK_LEAF), and the agent's certificate and key from a
downloaded manifest. `Registry.agent_connected` must agree with the handshake
every time: the pair connects after its download, is refused after an
activation (its replacement connects) and after a deletion, and a download
whose agent never connected within the window is Failed and revoked.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import clusteraccess
from clusteraccess import Registry

if TYPE_CHECKING:
    from conftest import Clock, Installation, Manifest

WINDOW_SECONDS = 60


@pytest.fixture
def clock(clock: Clock) -> Clock:
    """The registry's clock, started two windows in the past: after a window
    has passed on it, the revocation list it signs (thisUpdate is the
    registry's now) is already valid for the real clock the TLS stack uses."""
    clock.now -= 2 * WINDOW_SECONDS
    return clock


@pytest.fixture
def registry(db_path: Path, clock: Clock) -> Registry:
    """The installation's registry, with a short connection window."""
    return Registry(str(db_path), clock=clock, connection_window_seconds=WINDOW_SECONDS)


@dataclass(frozen=True)
class ServerIdentity:
    """The proxy server's certificate, from a test CA the agents trust."""

    ca_pem: bytes
    cert_file: Path
    key_file: Path


@pytest.fixture
def server_identity(tmp_path: Path) -> ServerIdentity:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy server test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "server.crt", tmp_path / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ServerIdentity(ca_cert.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


@dataclass(frozen=True)
class Agent:
    """An agent's certificate and key, as files, from a downloaded manifest."""

    cert_pem: str
    cert_file: Path
    key_file: Path
    serial: int


class ProxyServer:
    """One TLS accept per `handshake`, with the registry's CA and its current CRL."""

    def __init__(self, registry: Registry, identity: ServerIdentity, directory: Path) -> None:
        self.registry = registry
        self.identity = identity
        self.directory = directory

    def _context(self) -> ssl.SSLContext:
        """A server context with the CRL as the registry signs it now (a reload)."""
        crl_file = self.directory / "agents.crl"
        crl_file.write_text(self.registry.certificate_revocation_list())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.identity.cert_file, self.identity.key_file)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.registry.ca_certificate_pem())
        context.load_verify_locations(cafile=str(crl_file))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return context

    def handshake(self, agent: Agent) -> Optional[str]:
        """None when the server accepted the agent's certificate; else why it refused."""
        server_context = self._context()
        client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_context.load_verify_locations(cadata=self.identity.ca_pem.decode())
        client_context.load_cert_chain(agent.cert_file, agent.key_file)
        outcome: list[Optional[str]] = []
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(10)

            def serve() -> None:
                try:
                    connection, _ = listener.accept()
                    with server_context.wrap_socket(connection, server_side=True) as tls:
                        peer = tls.getpeercert(binary_form=True)
                        assert peer is not None
                        assert x509.load_der_x509_certificate(peer).serial_number == agent.serial
                        tls.sendall(b"welcome")
                        outcome.append(None)
                except ssl.SSLCertVerificationError as error:
                    outcome.append(error.verify_message)
                except ssl.SSLError as error:
                    outcome.append(str(error))

            thread = threading.Thread(target=serve)
            thread.start()
            try:
                with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                    with client_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.recv(16)  # TLS 1.3: the server's verdict on the agent arrives after the handshake
            except (ssl.SSLError, OSError):
                pass
            thread.join(timeout=20)
        assert len(outcome) == 1, "the server saw no handshake"
        return outcome[0]


@pytest.fixture
def proxy(installation: Installation, server_identity: ServerIdentity, tmp_path: Path) -> ProxyServer:
    return ProxyServer(installation.registry, server_identity, tmp_path)


@pytest.fixture
def download(
    installation: Installation, manifest_of: Callable[[list[str]], Manifest], tmp_path: Path
) -> Callable[[str], Agent]:
    """Downloads a cluster's access information; the agent's pair from its Secret."""
    count = iter(range(1000))

    def get(cluster_id: str) -> Agent:
        manifest = manifest_of(installation.registry.access_info(cluster_id, installation.token))
        index = next(count)
        cert_file, key_file = tmp_path / f"agent-{index}.crt", tmp_path / f"agent-{index}.key"
        cert_pem = manifest.secret_file("proxy-agent.crt")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(manifest.secret_file("proxy-agent.key"))
        assert manifest.secret_file("ca.crt").decode() == installation.registry.ca_certificate_pem()
        serial = x509.load_pem_x509_certificate(cert_pem).serial_number
        return Agent(cert_pem.decode(), cert_file, key_file, serial)

    return get


def revoked_serials(registry: Registry) -> set[int]:
    crl = x509.load_pem_x509_crl(registry.certificate_revocation_list().encode())
    return {entry.serial_number for entry in crl}


def assert_agent_refused(registry: Registry, agent: Agent) -> None:
    with pytest.raises(clusteraccess.ForbiddenError, match="agent certificate refused"):
        registry.agent_connected(agent.cert_pem)


def test_a_downloaded_pair_connects_until_activation_or_deletion_revokes_it(
    installation: Installation, proxy: ProxyServer, download: Callable[[str], Agent]
) -> None:
    registry = installation.registry
    cluster_id = installation.public_cluster
    first = download(cluster_id)
    assert proxy.handshake(first) is None
    assert registry.agent_connected(first.cert_pem) == cluster_id
    assert registry.cluster(cluster_id).phase == "Available"

    registry.reactivate(cluster_id)
    assert first.serial in revoked_serials(registry)
    refusal = proxy.handshake(first)
    assert refusal is not None and "revoked" in refusal
    assert_agent_refused(registry, first)
    assert registry.cluster(cluster_id).phase == "Pending"

    second = download(cluster_id)
    assert second.serial != first.serial
    assert proxy.handshake(second) is None
    assert registry.agent_connected(second.cert_pem) == cluster_id
    assert registry.cluster(cluster_id).phase == "Available"

    registry.delete_cluster(cluster_id)
    assert second.serial in revoked_serials(registry)
    refusal = proxy.handshake(second)
    assert refusal is not None and "revoked" in refusal
    assert_agent_refused(registry, second)


def test_a_pair_not_connected_within_the_window_is_failed_and_revoked(
    installation: Installation, proxy: ProxyServer, download: Callable[[str], Agent]
) -> None:
    registry = installation.registry
    cluster_id = installation.public_cluster
    late = download(cluster_id)
    assert registry.cluster(cluster_id).phase == "Initializing"
    assert late.serial not in revoked_serials(registry)

    installation.clock.advance(WINDOW_SECONDS)
    assert registry.cluster(cluster_id).phase == "Failed"
    assert late.serial in revoked_serials(registry)
    refusal = proxy.handshake(late)
    assert refusal is not None and "revoked" in refusal
    assert_agent_refused(registry, late)
    assert registry.cluster(cluster_id).phase == "Failed"

    registry.reactivate(cluster_id)
    assert registry.cluster(cluster_id).phase == "Pending"
    again = download(cluster_id)
    assert proxy.handshake(again) is None
    assert registry.agent_connected(again.cert_pem) == cluster_id
    assert registry.cluster(cluster_id).phase == "Available"
