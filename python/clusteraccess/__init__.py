"""clusteraccess: the rules of GET /v1/clusters/{clusterid}/accessinfo.

Register third-party Kubernetes clusters in a `Registry` (one SQLite file),
grant tokens, and hand out each cluster's proxy-agent manifest exactly once::

    import clusteraccess

    registry = clusteraccess.Registry("state.db")
    registry.set_public_endpoint("proxy.example.com", 30123)
    cluster_id = registry.register_cluster("prod", provider="eks")
    token = registry.create_token("alice", ttl_seconds=3600)
    registry.grant("alice", cluster_id)
    documents = registry.access_info(cluster_id, token)  # then ["Downloaded"]

Every failure is a `ClusterAccessError` with `.status`, `.code` and `.message`.
"""

from ._core import (
    DEFAULT_AGENT_IMAGE,
    DOWNLOADED,
    BadRequestError,
    Cluster,
    ClusterAccessError,
    ConflictError,
    Download,
    ForbiddenError,
    InternalError,
    NotFoundError,
    Region,
    Registry,
    __version__,
    is_valid_cluster_id,
    new_cluster_id,
    validate_cluster_id,
)

__all__ = [
    "DEFAULT_AGENT_IMAGE",
    "DOWNLOADED",
    "BadRequestError",
    "Cluster",
    "ClusterAccessError",
    "ConflictError",
    "Download",
    "ForbiddenError",
    "InternalError",
    "NotFoundError",
    "Region",
    "Registry",
    "__version__",
    "is_valid_cluster_id",
    "new_cluster_id",
    "validate_cluster_id",
]
