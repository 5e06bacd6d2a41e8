"""A plain-Python implementation of GET /v1/clusters/{clusterid}/accessinfo.

Kept in bench/ only as the peer the library must beat: the same rules, in the
same order, on the same database layout (it opens a registry file the library
created), with the standard library's sqlite3, hashlib and the `cryptography`
package. It is written the way a careful Python service would be: statements
cached by sqlite3, the CA loaded once, the key made outside the write
transaction, and the download committed durably (WAL, synchronous=FULL) with
the same conditional UPDATE as the library.

It is not part of the product and is not tested as such; bench/python_bench.py
checks that it answers the benchmark's requests as the library does.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import re
import secrets
import sqlite3
import time
from typing import Optional, Tuple, TypeGuard

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOWNLOADED = "Downloaded"
DEFAULT_AGENT_IMAGE = "swr.example.com/clusteraccess/proxy-agent:1.0.0"
MAX_TOKEN_LENGTH = 256
CLOCK_SKEW = 300
VALIDITY = 365 * 24 * 3600
CERT_DIRECTORY = "/etc/proxy-agent/certs"
# The pod and container settings the library's manifest carries (two
# replicas, system-cluster-critical, the restricted Pod Security Standard).
_POD_SETTINGS = (
    "      priorityClassName: system-cluster-critical\n      automountServiceAccountToken: false\n"
    "      securityContext:\n        runAsNonRoot: true\n        runAsUser: 65532\n        runAsGroup: 65532\n"
    "        fsGroup: 65532\n        seccompProfile:\n          type: RuntimeDefault\n"
    "      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n"
    "            - weight: 100\n              podAffinityTerm:\n                topologyKey: kubernetes.io/hostname\n"
    "                labelSelector:\n                  matchLabels:\n                    app: proxy-agent\n"
)
_CONTAINER_SETTINGS = (
    "          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n"
    "            limits:\n              cpu: 500m\n              memory: 256Mi\n"
    "          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n"
    "            capabilities:\n              drop:\n                - ALL\n"
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_REGION = re.compile(r"(?!.*--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_ADDRESS_CHARS = re.compile(r"[0-9a-fA-F.:]{1,45}\Z")


class PeerError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _unauthenticated() -> PeerError:
    return PeerError(403, "UCS.01000004", "Request forbidden: the X-Auth-Token is missing, invalid or expired")


def _cluster_forbidden() -> PeerError:
    return PeerError(
        403, "UCS.01000004", "Request forbidden: the cluster does not exist or you are not allowed to query it"
    )


def _bad_parameter(parameter: str, reason: str) -> PeerError:
    return PeerError(400, "UCS.01000011", f"Bad parameter value: {parameter} {reason}")


def _given(value: str | None) -> TypeGuard[str]:
    return value is not None and value != ""


def canonical_unicast_ip(text: str) -> str | None:
    if not _ADDRESS_CHARS.match(text):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
        mapped = True
    else:
        mapped = False
    if address.is_unspecified or address.is_loopback or address.is_multicast or address.is_link_local:
        return None
    if isinstance(address, ipaddress.IPv4Address) and (address.packed[0] == 0 or address.packed[0] >= 224):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.packed[:12] == bytes(12):
        return None
    return str(ipaddress.ip_address(text)) if mapped else str(address)


def _quoted(value: str) -> str:
    for c in value:
        if ord(c) < 0x20 or ord(c) >= 0x7F or c in '"\\':
            raise PeerError(500, "UCS.01000007", "Internal error: a manifest value failed its second check")
    return f'"{value}"'


def _labels(cluster_id: str, region: str | None, indent: str) -> str:
    out = f'{indent}app: proxy-agent\n{indent}"clusteraccess/cluster-id": {_quoted(cluster_id)}\n'
    if region is not None:
        out += f'{indent}"clusteraccess/region": {_quoted(region)}\n'
    return out


def render_manifest(cluster_id: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, proxy_host: str,
                    proxy_port: int, image: str, region: str | None, host_alias_ip: str | None) -> list[str]:
    b64 = base64.b64encode
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: proxy-agent-cert\n  namespace: kube-system\n"
        "  labels:\n" + _labels(cluster_id, region, "    ") + "type: Opaque\ndata:\n"
        f'  ca.crt: "{b64(ca_pem).decode()}"\n'
        f'  proxy-agent.crt: "{b64(cert_pem).decode()}"\n'
        f'  proxy-agent.key: "{b64(key_pem).decode()}"\n'
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: proxy-agent\n  namespace: kube-system\n"
        "  labels:\n" + _labels(cluster_id, region, "    ") + "spec:\n  replicas: 2\n  selector:\n"
        "    matchLabels:\n      app: proxy-agent\n  template:\n    metadata:\n      labels:\n"
        + _labels(cluster_id, region, "        ") + "    spec:\n"
    )
    if host_alias_ip is not None:
        deployment += (
            f"      hostAliases:\n        - ip: {_quoted(host_alias_ip)}\n          hostnames:\n"
            f"            - {_quoted(proxy_host)}\n"
        )
    deployment += _POD_SETTINGS
    deployment += f"      containers:\n        - name: proxy-agent\n          image: {_quoted(image)}\n          args:\n"
    for flag, value in (
        ("ca-cert", f"{CERT_DIRECTORY}/ca.crt"),
        ("agent-cert", f"{CERT_DIRECTORY}/proxy-agent.crt"),
        ("agent-key", f"{CERT_DIRECTORY}/proxy-agent.key"),
        ("proxy-server-host", proxy_host),
        ("proxy-server-port", str(proxy_port)),
        ("agent-id", cluster_id),
    ):
        deployment += f"            - {_quoted(f'--{flag}={value}')}\n"
    deployment += _CONTAINER_SETTINGS
    deployment += (
        "          volumeMounts:\n            - name: proxy-agent-cert\n"
        f"              mountPath: {CERT_DIRECTORY}\n              readOnly: true\n"
        "      volumes:\n        - name: proxy-agent-cert\n          secret:\n"
        "            secretName: proxy-agent-cert\n            defaultMode: 256\n"
    )
    return [secret, deployment]


class PeerService:
    """The rules on one registry file, one connection (one thread)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        cert_pem, sealed_key = self.db.execute(
            "SELECT certificate_pem, private_key FROM certificate_authority"
        ).fetchone()
        self.ca_pem = cert_pem.encode()
        self.ca_cert = x509.load_pem_x509_certificate(self.ca_pem)
        # Sealed as the library seals it: AES-256-GCM under the master key file
        # next to the registry (a format byte, the nonce, ciphertext and tag).
        with open(path + ".key", "rb") as key_file:
            master_key = key_file.read()
        key_pem = AESGCM(master_key).decrypt(sealed_key[1:13], sealed_key[13:], b"clusteraccess:certificate_authority:1")
        ca_key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise TypeError("the registry's CA key is not an EC key")
        self.ca_key = ca_key
        ski = self.ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)

    def _setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _admit(self, cluster_id: str, token: str | None, vpcendpoint: str | None,
               region: str | None) -> Tuple[str, bytes, bytes, str, bool, Optional[Tuple[str, str, str, int]]]:
        # 1. A live token.
        if not _given(token) or len(token) > MAX_TOKEN_LENGTH:
            raise _unauthenticated()
        token_hash = hashlib.sha256(token.encode()).digest()
        row = self.db.execute(
            "SELECT hash, principal, expires_at, revoked_at IS NOT NULL FROM tokens WHERE hash = ?", (token_hash,)
        ).fetchone()
        if row is None or not hmac.compare_digest(row[0], token_hash) or row[3] or row[2] <= int(time.time()):
            raise _unauthenticated()
        principal = row[1]
        # 2. A Kubernetes UUID.
        if not _UUID.match(cluster_id):
            raise _bad_parameter(
                "clusterid",
                "must be a Kubernetes UUID: 36 characters, lowercase hexadecimal digits and hyphens at "
                "offsets 8, 13, 18 and 23",
            )
        cid = bytes.fromhex(cluster_id.replace("-", ""))
        # 3. An existing cluster this principal may query.
        access = self.db.execute(
            "SELECT category, network, EXISTS (SELECT 1 FROM grants WHERE principal = ?2 AND cluster_id = ?1), "
            "downloaded_at IS NOT NULL FROM clusters WHERE id = ?1",
            (cid, principal),
        ).fetchone()
        if access is None or not access[2]:
            raise _cluster_forbidden()
        # 4. A third-party cluster.
        if access[0] != "attachedcluster":
            raise PeerError(400, "UCS.01030011", "Cluster category not supported")
        # 5. Network parameters.
        private = None
        if access[1] == "public":
            if _given(vpcendpoint):
                raise _bad_parameter("vpcendpoint", "must not be given for a cluster accessed over the public network")
            if _given(region):
                raise _bad_parameter("region", "must not be given for a cluster accessed over the public network")
        else:
            if not _given(vpcendpoint):
                raise _bad_parameter("vpcendpoint", "is required for a cluster accessed over the private network")
            endpoint = canonical_unicast_ip(vpcendpoint)
            if endpoint is None:
                raise _bad_parameter("vpcendpoint", "must be a literal unicast IPv4 or IPv6 address")
            if not _given(region):
                raise _bad_parameter("region", "is required for a cluster accessed over the private network")
            found = None
            if _REGION.match(region):
                found = self.db.execute(
                    "SELECT name, proxy_host, proxy_port FROM regions WHERE name = ?", (region,)
                ).fetchone()
            if found is None:
                raise _bad_parameter("region", "is not a region this installation serves")
            private = (found[0], endpoint, found[1], found[2])
        return principal, token_hash, cid, access[1], bool(access[3]), private

    def access_info(self, cluster_id: str, token: str | None, vpcendpoint: str | None = None,
                    region: str | None = None) -> list[str]:
        principal, token_hash, cid, network, downloaded, private = self._admit(cluster_id, token, vpcendpoint, region)
        if downloaded:
            return [DOWNLOADED]

        region_name: str | None = None
        endpoint: str | None = None
        if private is not None:
            region_name, endpoint, proxy_host, proxy_port = private
        else:
            host = self._setting("public_proxy_host")
            port = self._setting("public_proxy_port")
            if host is None or port is None:
                raise PeerError(500, "UCS.01000009", "Installation not configured: no public proxy endpoint is set")
            proxy_host, proxy_port = host, int(port)
        image = self._setting("agent_image") or DEFAULT_AGENT_IMAGE

        # The key and certificate, outside any transaction.
        now = int(time.time())
        key = ec.generate_private_key(ec.SECP256R1())
        serial = (int.from_bytes(secrets.token_bytes(16), "big") & ((1 << 126) - 1)) | (1 << 126)
        not_after = min(
            datetime.datetime.fromtimestamp(now + VALIDITY, datetime.timezone.utc), self.ca_cert.not_valid_after_utc
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "clusteraccess proxy-agent"),
                        x509.NameAttribute(NameOID.COMMON_NAME, cluster_id),
                    ]
                )
            )
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(datetime.datetime.fromtimestamp(now - CLOCK_SKEW, datetime.timezone.utc))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(self.aki, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        serial_hex = format(serial, "x")
        host = proxy_host if _is_ip(proxy_host) else proxy_host.lower()
        host_alias = None
        if endpoint is not None:
            if _is_ip(proxy_host):
                host = endpoint
            else:
                host_alias = endpoint
        documents = render_manifest(
            cluster_id, self.ca_pem, cert_pem, key_pem, host, proxy_port, image, region_name, host_alias
        )

        # The durable, conditional commit.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            changed = self.db.execute(
                "UPDATE clusters SET downloaded_at = ?1, certificate_serial = ?2 "
                "WHERE id = ?3 AND downloaded_at IS NULL "
                "AND EXISTS (SELECT 1 FROM grants WHERE principal = ?4 AND cluster_id = ?3) "
                "AND EXISTS (SELECT 1 FROM tokens WHERE hash = ?5 AND principal = ?4 "
                "AND revoked_at IS NULL AND expires_at > ?1)",
                (now, serial_hex, cid, principal, token_hash),
            ).rowcount
            if changed == 1:
                self.db.execute(
                    "INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, network, "
                    "region, vpcendpoint) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (cid, principal, now, serial_hex, network, region_name, endpoint),
                )
                self.db.execute("COMMIT")
                return documents
            self.db.execute("ROLLBACK")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if self._admit(cluster_id, token, vpcendpoint, region)[4]:
            return [DOWNLOADED]
        raise PeerError(500, "UCS.01000007", "Internal error: storage failure: the download could not be recorded")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
