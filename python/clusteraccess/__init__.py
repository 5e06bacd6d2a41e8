"""clusteraccess: the rules of GET /v1/clusters/{clusterid}/accessinfo.

Register third-party Kubernetes clusters in a `Registry` (one SQLite file),
grant tokens, and hand out each cluster's proxy-agent manifest exactly once::

    import clusteraccess

    registry = clusteraccess.Registry("state.db")
    registry.set_public_endpoint("proxy.example.com", 30123)
    cluster_id = registry.register_cluster("prod", provider="eks")
    token = registry.create_token("alice", ttl_seconds=3600)
    registry.grant("alice", cluster_id)
    documents = registry.access_info(cluster_id, token)  # then [clusteraccess.DOWNLOADED]

Every failure is a `ClusterAccessError` with `.status`, `.code` and `.message`;
`error_body(error)` is the API's JSON error body of one, and the functions
named after the core's errors (`route_not_found()`, ...) make the errors of
an HTTP front end in the core's words.
"""

from ._core import (
    DEFAULT_AGENT_IMAGE,
    DOWNLOADED,
    AccessKey,
    BadRequestError,
    Cluster,
    ClusterAccessError,
    ConflictError,
    Delivery,
    Download,
    Event,
    ForbiddenError,
    InternalError,
    MethodNotAllowedError,
    NewAccessKey,
    NotFoundError,
    Region,
    Registry,
    RequestAbandonedError,
    RequestHeaderFieldsTooLargeError,
    SignedRequest,
    __version__,
    bad_parameter,
    error_body,
    internal_error,
    is_valid_cluster_id,
    malformed_request,
    method_not_allowed,
    migrate_registry,
    new_cluster_id,
    not_configured,
    request_head_too_large,
    route_not_found,
    validate_cluster_id,
)

__all__ = [
    "DEFAULT_AGENT_IMAGE",
    "DOWNLOADED",
    "AccessKey",
    "BadRequestError",
    "Cluster",
    "ClusterAccessError",
    "ConflictError",
    "Delivery",
    "Download",
    "Event",
    "ForbiddenError",
    "InternalError",
    "MethodNotAllowedError",
    "NewAccessKey",
    "NotFoundError",
    "Region",
    "Registry",
    "RequestAbandonedError",
    "RequestHeaderFieldsTooLargeError",
    "SignedRequest",
    "__version__",
    "bad_parameter",
    "error_body",
    "internal_error",
    "is_valid_cluster_id",
    "malformed_request",
    "method_not_allowed",
    "migrate_registry",
    "new_cluster_id",
    "not_configured",
    "request_head_too_large",
    "route_not_found",
    "validate_cluster_id",
]
