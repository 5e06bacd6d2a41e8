"""Type stubs of clusteraccess._core, the C++ core of clusteraccess (pybind11).

Kept in step with bindings/core_module.cpp; tests/python/test_stubs.py compares
the two.
"""

import os
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final

__version__: Final[str]
"""The library's version, as in CMakeLists.txt and pyproject.toml."""

DOWNLOADED: Final[str]
"""The one string of the body returned once a cluster was downloaded: "Downloaded"."""

DEFAULT_AGENT_IMAGE: Final[str]
"""The proxy agent image used until `Registry.set_agent_image` is called."""

class ClusterAccessError(Exception):
    """Base of every clusteraccess error: .status (HTTP status), .code (UCS.XXXXXXXX) and .message;
    .log_detail, for the operator's log only, says which check refused a signed request ("" otherwise)."""

    status: int
    code: str
    message: str
    log_detail: str

class BadRequestError(ClusterAccessError):
    """400: a bad parameter value."""

class ForbiddenError(ClusterAccessError):
    """403: request forbidden."""

class NotFoundError(ClusterAccessError):
    """404: no such object."""

class MethodNotAllowedError(ClusterAccessError):
    """405: the route does not serve this HTTP method."""

class ConflictError(ClusterAccessError):
    """409: the object exists already."""

class RequestHeaderFieldsTooLargeError(ClusterAccessError):
    """431: the HTTP request head is over its bounds."""

class RequestAbandonedError(ClusterAccessError):
    """499: the request's Delivery was abandoned before its first download was committed;
    nothing was recorded. For a front end's log, never sent to a client."""

class InternalError(ClusterAccessError):
    """500: storage, crypto or configuration failure; nothing was recorded."""

def error_body(error: ClusterAccessError) -> bytes:
    """The API's error body of error, as the core writes it: {"error_code": ..., "error_msg": ...}."""

# The errors of an HTTP front end, in the core's words (instances, to raise or answer with).

def route_not_found() -> NotFoundError:
    """404 UCS.01000005: no route of the API has this path."""

def method_not_allowed(method: str) -> MethodNotAllowedError:
    """405 UCS.01000008: the route does not serve method."""

def malformed_request() -> BadRequestError:
    """400 UCS.01000011: the bytes received are not a valid HTTP request."""

def bad_parameter(parameter: str, reason: str) -> BadRequestError:
    """400 UCS.01000011: parameter has a bad value; reason says what is wrong (never the value)."""

def request_head_too_large(what: str) -> RequestHeaderFieldsTooLargeError:
    """431 UCS.01000010: the request head is over its bounds; what says which."""

def not_configured(what: str) -> InternalError:
    """500 UCS.01000009: the installation lacks a setting; what names it and how to set it."""

def internal_error() -> InternalError:
    """500 UCS.01000007 "Internal error": a failure with no better name; the body says nothing more."""

def is_valid_cluster_id(text: str) -> bool:
    """True when text is a Kubernetes UUID (k8s-uuid)."""

def validate_cluster_id(text: str) -> str:
    """Returns text when it is a k8s-uuid; raises BadRequestError otherwise."""

def new_cluster_id() -> str:
    """A new random (version 4) cluster id."""

def migrate_registry(source: str, target: str) -> list[tuple[str, int, str]]:
    """Copies the SQLite registry file source into an empty PostgreSQL
    registry at the URI target (postgresql://...), verifies the copy (rows and
    a SHA-256 content digest per table, read back from the target) and
    returns (table, rows, digest) per table. The CA key is copied sealed: the
    target opens with the source's master key file. Raises ConflictError
    when the target holds data, NotFoundError when source does not exist."""

class Cluster:
    """A registered cluster. Times are Unix seconds."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str:
        """Either "attachedcluster" (third-party) or "self" (CCE)."""
    @property
    def provider(self) -> str: ...
    @property
    def network(self) -> str:
        """Either "public" or "private"."""
    @property
    def created_at(self) -> int: ...
    @property
    def downloaded_at(self) -> int | None: ...
    @property
    def certificate_serial(self) -> str | None:
        """Serial (lowercase hex) of the agent certificate issued at the download."""
    @property
    def type(self) -> str:
        """The cluster type of the cloud's table (spec.type); provider is its original name."""
    @property
    def cloud_provider(self) -> str:
        """The SDK's spec.provider (aws, ..., huaweicloud); "" when none."""
    @property
    def updated_at(self) -> int: ...
    @property
    def generation(self) -> int:
        """1 at registration, one more after each activation."""
    @property
    def connected_at(self) -> int | None:
        """When the agent first connected in the current generation."""
    @property
    def phase(self) -> str:
        """"Pending", "Initializing", "Available" or "Failed", judged when read."""
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def annotations(self) -> dict[str, str]: ...
    @property
    def country(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def manage_type(self) -> str:
        """"discrete" or "grouped"."""
    @property
    def cluster_group_id(self) -> str: ...
    @property
    def is_downloaded_cert(self) -> bool:
        """The SDK's spec.IsDownloadedCert: downloaded in the current generation."""
    def to_sdk(self) -> dict[str, Any]:
        """The SDK's Cluster (ShowClusterResponse) as a dict, ready to JSON-encode."""

class Event:
    """One audit event of a cluster's lifecycle. Times are Unix seconds."""

    @property
    def kind(self) -> str:
        """"download", "activation", "connection", "failure" or "deletion"."""
    @property
    def cluster_id(self) -> str: ...
    @property
    def at(self) -> int: ...
    @property
    def principal(self) -> str:
        """The API principal, "admin", "agent" (connection) or "clock" (failure)."""
    @property
    def certificate_serial(self) -> str | None: ...
    @property
    def generation(self) -> int: ...

class Region:
    """A region and the proxy server of its private-network agents."""

    @property
    def name(self) -> str: ...
    @property
    def proxy_host(self) -> str: ...
    @property
    def proxy_port(self) -> int: ...

class Download:
    """The audit record of one download."""

    @property
    def cluster_id(self) -> str: ...
    @property
    def principal(self) -> str: ...
    @property
    def downloaded_at(self) -> int: ...
    @property
    def certificate_serial(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def region(self) -> str | None: ...
    @property
    def vpcendpoint(self) -> str | None: ...

class Delivery:
    """The delivery of one answer of Registry.access_info: abandon() it when the
    answer can no longer reach its client, and a first download not yet committed
    records nothing (RequestAbandonedError, 499)."""

    def __init__(self) -> None: ...
    def abandon(self) -> None:
        """The answer is no longer wanted. Irreversible; calling it again is harmless."""
    @property
    def abandoned(self) -> bool:
        """True once abandon() was called."""
    @property
    def principal(self) -> str | None:
        """The principal whose token the answer was for (never the token); None until answered."""
    @property
    def certificate_serial(self) -> str | None:
        """The serial (lowercase hex) of the certificate a first download issued; None otherwise."""

class SignedRequest:
    """An HTTP request signed with an access key (SDK-HMAC-SHA256), every value exactly
    as received, for the core to verify: the method, the raw (percent-encoded) path
    without the query, the raw query string without '?', every header as received
    (name, value) in order, and the lowercase hex SHA-256 of the body (None for no body).

    Each text is taken as its UTF-8 bytes, or, given as bytes (what an ASGI server
    hands over), as it is; the properties read them back as str."""

    def __init__(
        self,
        method: str | bytes,
        raw_path: str | bytes,
        raw_query: str | bytes,
        headers: Sequence[tuple[str | bytes, str | bytes]],
        body_sha256: str | None = None,
    ) -> None: ...
    @property
    def method(self) -> str: ...
    @property
    def raw_path(self) -> str: ...
    @property
    def raw_query(self) -> str: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body_sha256(self) -> str | None: ...

class NewAccessKey:
    """A new access key, returned once by Registry.create_access_key: ak (20 characters
    A-Z0-9), sk (40 characters, shown only here, never stored in the clear),
    created_at, expires_at (Unix seconds)."""

    @property
    def ak(self) -> str: ...
    @property
    def sk(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...

class AccessKey:
    """An access key as Registry.access_keys lists it: ak, principal, created_at,
    expires_at, revoked_at (Unix seconds or None); never its secret."""

    @property
    def ak(self) -> str: ...
    @property
    def principal(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def revoked_at(self) -> int | None: ...

class Registry:
    """The state of one installation in one SQLite file, and the rules of
    GET /v1/clusters/{clusterid}/accessinfo."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 5000,
        certificate_validity_seconds: int = 31536000,
        clock: Callable[[], int] | None = None,
        master_key_file: str | os.PathLike[str] | None = None,
        connection_window_seconds: int = 1800,
    ) -> None:
        """Opens (creating it 0600, with its CA, on first use) the registry at path,
        or in the PostgreSQL database of a postgresql:// URI (docs/postgres.md; then
        master_key_file is required).

        The CA key is stored sealed under the 32-byte master key in
        master_key_file (default: path + ".key"), created 0600 with a new
        registry; a missing or wrong key is an InternalError that changes
        nothing. clock returns the current Unix time; tests use it to move time.
        connection_window_seconds: how long after a download the agent has to
        connect before the cluster is Failed (1 second to 7 days)."""
    def close(self) -> None:
        """Closes the database; later calls raise ValueError. Calls in flight finish first."""
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Registry: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def path(self) -> str: ...
    def set_public_endpoint(self, host: str, port: int) -> None:
        """Sets the proxy server that public-network agents connect to."""
    def public_endpoint(self) -> tuple[str, int] | None:
        """(host, port) of the public proxy server, if set."""
    def add_region(self, name: str, proxy_host: str, proxy_port: int) -> None:
        """Adds a region (or updates its proxy server)."""
    def regions(self) -> list[Region]:
        """The known regions, by name."""
    def set_agent_image(self, image: str) -> None:
        """Sets the container image of the proxy agent."""
    def agent_image(self) -> str:
        """The container image of the proxy agent."""
    def ca_certificate_pem(self) -> str:
        """The certificate authority's certificate (PEM)."""
    def register_cluster(
        self,
        name: str,
        *,
        provider: str,
        category: str = "attachedcluster",
        network: str = "public",
        cluster_id: str | None = None,
    ) -> str:
        """Registers a cluster and returns its id (cluster_id, or a new random one)."""
    def cluster(self, cluster_id: str) -> Cluster:
        """The cluster with this id; NotFoundError when there is none."""
    def clusters(self) -> list[Cluster]:
        """All clusters, oldest first."""
    def create_token(self, principal: str, *, ttl_seconds: int = 86400) -> str:
        """A new token for principal; returned once, only its hash is stored."""
    def revoke_token(self, token: str) -> None:
        """Revokes token; NotFoundError when no such token exists."""
    def create_access_key(self, principal: str, *, ttl_seconds: int = 86400) -> NewAccessKey:
        """A new access key for principal: NewAccessKey with ak and sk, the sk returned only here."""
    def access_keys(self) -> list[AccessKey]:
        """Every access key, oldest first; never a secret."""
    def revoke_access_key(self, ak: str) -> None:
        """Revokes the access key ak; NotFoundError when there is none."""
    def grant(self, principal: str, cluster_id: str) -> None:
        """Allows principal to query the cluster; NotFoundError for an unknown cluster."""
    def revoke_grant(self, principal: str, cluster_id: str) -> None:
        """Withdraws a grant; NotFoundError when there was none."""
    def access_info(
        self,
        cluster_id: str,
        token: str | None,
        *,
        vpcendpoint: str | None = None,
        region: str | None = None,
        signature: SignedRequest | None = None,
        delivery: Delivery | None = None,
    ) -> list[str]:
        """GET /v1/clusters/{clusterid}/accessinfo: the manifest documents on the
        first download, [DOWNLOADED] afterwards.

        signature: the request as received when it is signed with an access key;
        a live token is enough, otherwise the signature decides (ForbiddenError,
        its log_detail saying which check failed).

        With a delivery abandoned before the first download is committed, nothing
        is recorded and RequestAbandonedError (499) is raised; on an answer, the
        delivery notes its principal and certificate serial."""
    def judge_access_info(
        self,
        cluster_id: str,
        token: str | None,
        *,
        vpcendpoint: str | None = None,
        region: str | None = None,
        signature: SignedRequest | None = None,
    ) -> tuple[list[str] | None, str]:
        """The judgement of access_info without the issuing: raises what access_info
        raises for a rejection; returns ([DOWNLOADED], principal) for a cluster
        downloaded before and (None, principal) for an admitted first download,
        which only access_info issues. Makes no key, records nothing."""
    def downloads(self) -> list[Download]:
        """The audit records of all downloads, oldest first."""
    def reactivate(self, cluster_id: str) -> None:
        """Activation (admin): revokes the current agent certificate, back to Pending."""
    def delete_cluster(self, cluster_id: str) -> None:
        """Deletion (admin): revokes, removes the cluster and its grants; the id is never reused."""
    def agent_connected(self, certificate_pem: str) -> str:
        """The proxy server's report of an agent's TLS certificate: the cluster id,
        now Available; ForbiddenError ("agent certificate refused") otherwise."""
    def certificate_revocation_list(self) -> str:
        """A PEM X.509 CRL signed by the CA, of every revoked agent serial."""
    def events(self, cluster_id: str | None = None) -> list[Event]:
        """The audit events of one cluster, or of all, by time."""
    # Each api_* takes the caller's token and, for a signed request, signature=.
    def api_register(
        self, token: str | None, body: object, *, signature: SignedRequest | None = None
    ) -> dict[str, Any]:
        """POST /v1/clusters with the decoded JSON body: {"uid": id}."""
    def api_list(
        self,
        token: str | None,
        *,
        limit: int = -1,
        offset: int = 0,
        signature: SignedRequest | None = None,
    ) -> dict[str, Any]:
        """GET /v1/clusters: {"items": [Cluster, ...], "total": N} (SDK field names)."""
    def api_show(
        self, token: str | None, cluster_id: str, *, signature: SignedRequest | None = None
    ) -> dict[str, Any]:
        """GET /v1/clusters/{clusterid}: the SDK's Cluster."""
    def api_delete(
        self, token: str | None, cluster_id: str, *, signature: SignedRequest | None = None
    ) -> None:
        """DELETE /v1/clusters/{clusterid}."""
    def api_reactivate(
        self, token: str | None, cluster_id: str, *, signature: SignedRequest | None = None
    ) -> dict[str, Any]:
        """PUT /v1/clusters/{clusterid}/activation: {"clusterId": ..., "message": ...}."""
    def backup(self, destination: str | os.PathLike[str]) -> None:
        """A consistent online copy of the registry in a new 0600 file; an existing
        file is refused. The master key file is not part of it."""
