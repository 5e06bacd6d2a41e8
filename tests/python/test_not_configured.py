"""A registry without a public proxy endpoint refuses first downloads of
public clusters with a 500 that names the missing setting, and records nothing."""

from __future__ import annotations

import pytest

from clusteraccess import InternalError, Registry, error_body


def test_first_download_without_a_public_endpoint_is_refused_and_records_nothing(registry: Registry) -> None:
    cluster_id = registry.register_cluster("prod-public", provider="eks", network="public")
    token = registry.create_token("alice", ttl_seconds=3600)
    registry.grant("alice", cluster_id)
    assert registry.public_endpoint() is None

    with pytest.raises(InternalError) as refused:
        registry.access_info(cluster_id, token)
    assert refused.value.status == 500
    assert refused.value.code == "UCS.01000009"
    assert "public proxy endpoint" in refused.value.message
    assert b"UCS.01000009" in error_body(refused.value)
    assert registry.downloads() == []
    assert registry.cluster(cluster_id).downloaded_at is None

    # Once the setting is there, the cluster downloads, once.
    registry.set_public_endpoint("proxy.example.com", 30123)
    documents = registry.access_info(cluster_id, token)
    assert len(documents) == 2
    assert [download.cluster_id for download in registry.downloads()] == [cluster_id]
    assert registry.access_info(cluster_id, token) == ["Downloaded"]
    assert len(registry.downloads()) == 1
