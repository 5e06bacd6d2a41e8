"""The cluster API over raw HTTP (httpx) against a real `clusteraccess serve`
(docs/contract.md, Cluster API): every route, its refusals, and that a refusal
changes nothing. Every response is checked against openapi.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import httpx
import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clusteraccess import new_cluster_id

if TYPE_CHECKING:
    from conftest import Installation, RunningServer

OPENAPI: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "python" / "clusteraccess" / "openapi.json").read_bytes()
)
FORBIDDEN = "UCS.01000004"
CONFLICT = "UCS.01000006"
METHOD_NOT_ALLOWED = "UCS.01000008"
BAD_PARAMETER = "UCS.01000011"
BAD_TOKEN = "Request forbidden: the X-Auth-Token is missing, invalid or expired"
JSON = {"Content-Type": "application/json"}


def template_of(path: str) -> str:
    """The openapi.json path template a request path is served by ("" for none)."""
    if path == "/v1/clusters":
        return path
    rest = path.removeprefix("/v1/clusters/")
    if rest == path:
        return ""
    for suffix in ("/activation", "/accessinfo"):
        if rest.endswith(suffix):
            return "/v1/clusters/{clusterid}" + suffix
    return "/v1/clusters/{clusterid}" if "/" not in rest else ""


def checked(response: httpx.Response) -> httpx.Response:
    """What every answer must have; its body valid against openapi.json for its status."""
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]
    request = response.request
    operation = OPENAPI["paths"].get(template_of(request.url.raw_path.split(b"?")[0].decode()), {})
    documented = operation.get(request.method.lower(), {}).get("responses", {}).get(str(response.status_code))
    if documented is None:
        assert response.status_code >= 400, f"{request.method} {request.url} -> {response.status_code} is not documented"
        schema: dict[str, Any] = {"$ref": "#/components/schemas/ErrorBody"}
    else:
        schema = documented["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": OPENAPI["components"]}).validate(response.json())
    return response


class Api:
    """httpx on the server, every answer checked."""

    def __init__(self, port: int, token: Optional[str]) -> None:
        headers = {"X-Auth-Token": token} if token is not None else {}
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30)

    def send(self, method: str, target: str, **options: Any) -> httpx.Response:
        return checked(self.client.request(method, target, **options))

    def register(self, body: object) -> httpx.Response:
        return self.send("POST", "/v1/clusters", content=json.dumps(body).encode(), headers=JSON)

    def ids(self) -> list[str]:
        """Every cluster id the caller lists (one largest page)."""
        answer = self.send("GET", "/v1/clusters")
        assert answer.status_code == 200, answer.text
        return [item["metadata"]["uid"] for item in answer.json()["items"]]


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> dict[str, str]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, str] = response.json()
    assert body["error_code"] == code, body
    for word in words:
        assert word in body["error_msg"], body
    return body


def registration(name: str = "http-cluster", **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Cluster",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"env": "dev"}, "annotations": {"clusteraccess/network": "private"}},
        "spec": {"category": "attachedcluster", "type": "eks", "provider": "aws", "country": "DE", "city": "Berlin", **spec},
    }


@pytest.fixture
def served(installation: Installation, serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(installation.path)


@pytest.fixture
def caller(served: RunningServer) -> Iterator[Callable[[Optional[str]], Api]]:
    """Makes an Api on the server with a token (or none); closed after the test."""
    made: list[Api] = []

    def make(token: Optional[str]) -> Api:
        made.append(Api(served.port, token))
        return made[-1]

    yield make
    for api in made:
        api.client.close()


@pytest.fixture
def alice(installation: Installation, caller: Callable[[Optional[str]], Api]) -> Api:
    return caller(installation.token)


def test_registration_is_201_with_the_uid_granted_to_the_caller(installation: Installation, alice: Api) -> None:
    answer = alice.register(registration())
    assert answer.status_code == 201
    uid = answer.json()["uid"]
    assert uid in alice.ids()
    shown = alice.send("GET", f"/v1/clusters/{uid}")
    assert shown.status_code == 200
    cluster = shown.json()
    assert cluster["metadata"]["name"] == "http-cluster" and cluster["metadata"]["labels"] == {"env": "dev"}
    assert cluster["metadata"]["annotations"]["clusteraccess/network"] == "private"
    assert cluster["spec"]["type"] == "eks" and cluster["spec"]["provider"] == "aws"
    assert cluster["spec"]["IsDownloadedCert"] is False and cluster["status"]["phase"] == "Pending"
    assert installation.registry.cluster(uid).network == "private"
    # the id given in metadata.uid is the one registered; taken again, 409
    chosen = new_cluster_id()
    again = registration("chosen-id")
    again["metadata"]["uid"] = chosen
    assert alice.register(again).json() == {"uid": chosen}
    assert_error(alice.register(again), 409, CONFLICT)


BAD_FIELDS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("kind", lambda b: b.update(kind="Deployment")),
    ("apiVersion", lambda b: b.update(apiVersion="v2")),
    ("metadata.name", lambda b: b["metadata"].update(name="Bad_Name")),
    ("metadata.uid", lambda b: b["metadata"].update(uid="not-a-uuid")),
    ("metadata.labels", lambda b: b["metadata"].update(labels={"bad key!": "x"})),
    ("metadata.labels", lambda b: b["metadata"].update(labels="env=dev")),
    ("metadata.annotations.kubeconfig", lambda b: b["metadata"]["annotations"].update(kubeconfig="apiVersion: v1")),
    ("metadata.annotations.clusteraccess/network", lambda b: b["metadata"]["annotations"].update({"clusteraccess/network": "lan"})),
    ("spec.category", lambda b: b["spec"].update(category="multicloud")),
    ("spec.type", lambda b: b["spec"].update(type="nomad")),
    ("spec.provider", lambda b: b["spec"].update(provider="azure")),
    ("spec.country", lambda b: b["spec"].update(country="de")),
    ("spec.city", lambda b: b["spec"].update(city="x" * 33)),
    ("spec.manageType", lambda b: b["spec"].update(manageType="grouped")),
    ("spec.clusterGroupID", lambda b: b["spec"].update(clusterGroupID="fleet/1")),
    ("spec", lambda b: b.update(spec=["attachedcluster"])),
    ("metadata.name", lambda b: b["metadata"].update(name=7)),
]


def test_each_bad_field_is_400_naming_it_and_stores_nothing(installation: Installation, alice: Api) -> None:
    before = alice.ids()
    clusters = len(installation.registry.clusters())
    for field, spoil in BAD_FIELDS:
        body = registration("spoiled-cluster")
        spoil(body)
        assert_error(alice.register(body), 400, BAD_PARAMETER, field)
    assert_error(alice.register([registration()]), 400, BAD_PARAMETER, "body")
    assert alice.ids() == before and len(installation.registry.clusters()) == clusters


def test_bodies_that_are_not_json_are_400_naming_body(installation: Installation, alice: Api) -> None:
    good = json.dumps(registration()).encode()
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"content": good, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, "application/json"),
        ({"data": {"kind": "Cluster", "metadata": "name"}}, "application/json"),  # what the SDK's generated call sends
        ({"content": good, "headers": {"Content-Type": "text/plain"}}, "application/json"),
        ({"content": good}, "application/json"),  # no Content-Type at all
        ({"content": b'{"kind": "Cluster",', "headers": JSON}, "not valid JSON"),
        ({"content": b'{"kind": "\xff"}', "headers": JSON}, "not valid JSON"),
        ({"content": b"[" * 100_000, "headers": JSON}, "not valid JSON"),
        ({"content": b"9" * 5_000, "headers": JSON}, "not valid JSON"),
        ({"content": b"", "headers": JSON}, "not valid JSON"),
        ({"content": b" " * (256 * 1024 + 1), "headers": JSON}, "256 KiB"),
        ({"content": iter([b" " * 65536] * 5), "headers": JSON}, "256 KiB"),  # chunked: no Content-Length
    ]
    for options, words in refusals:
        assert_error(alice.send("POST", "/v1/clusters", **options), 400, BAD_PARAMETER, "body", words)
    # charset parameters are fine; nothing above was stored
    assert alice.send("POST", "/v1/clusters", content=good, headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 201
    assert [c.name for c in installation.registry.clusters()].count("http-cluster") == 1


def test_annotations_over_their_bound_are_the_core_s_answer(alice: Api) -> None:
    # a body under the service's 256 KiB but with 100 KiB of annotations: the core says which field
    body = registration("large-annotations")
    body["metadata"]["annotations"].update({f"note{i}": "x" * 2000 for i in range(50)})
    assert_error(alice.register(body), 400, BAD_PARAMETER, "metadata.annotations")


def test_a_bad_token_is_403_before_the_body_is_judged(caller: Callable[[Optional[str]], Api]) -> None:
    for token in (None, "not-a-token"):
        api = caller(token)
        assert_error(api.register(registration()), 403, FORBIDDEN, BAD_TOKEN)
        assert_error(api.register({"kind": "Deployment"}), 403, FORBIDDEN, BAD_TOKEN)
        assert_error(api.send("GET", "/v1/clusters"), 403, FORBIDDEN, BAD_TOKEN)


def test_refusals_by_id_are_the_access_info_rules(
    installation: Installation, alice: Api, caller: Callable[[Optional[str]], Api]
) -> None:
    registry = installation.registry
    bob = caller(registry.create_token("bob", ttl_seconds=3600))
    nobody = caller("not-a-token")
    owned = installation.public_cluster
    registry.access_info(owned, installation.token)
    generation = registry.cluster(owned).generation
    unknown = new_cluster_id()
    for method, suffix in [("GET", ""), ("DELETE", ""), ("PUT", "/activation")]:
        unknown_body = assert_error(alice.send(method, f"/v1/clusters/{unknown}{suffix}"), 403, FORBIDDEN)
        assert assert_error(bob.send(method, f"/v1/clusters/{owned}{suffix}"), 403, FORBIDDEN) == unknown_body
        for malformed in ["not-an-id", owned.upper(), f"{owned[:8]}%2F{owned[9:]}", f"{owned}%2F..", "%FF" * 18]:
            assert_error(alice.send(method, f"/v1/clusters/{malformed}{suffix}"), 400, BAD_PARAMETER, "clusterid")
        assert_error(nobody.send(method, f"/v1/clusters/{owned}{suffix}"), 403, FORBIDDEN, BAD_TOKEN)
    # none of it changed the cluster
    cluster = registry.cluster(owned)
    assert cluster.generation == generation and cluster.downloaded_at is not None
    assert_error(alice.send("PUT", f"/v1/clusters/{installation.cce_cluster}/activation"), 400, BAD_PARAMETER, "clusterid")


def test_activation_then_deletion(installation: Installation, alice: Api) -> None:
    registry = installation.registry
    owned = installation.public_cluster
    registry.access_info(owned, installation.token)
    first_serial = registry.cluster(owned).certificate_serial
    answer = alice.send("PUT", f"/v1/clusters/{owned}/activation", content=b"ignored")
    assert answer.status_code == 200 and answer.json()["clusterId"] == owned
    assert alice.send("GET", f"/v1/clusters/{owned}").json()["status"]["phase"] == "Pending"
    alice.send("GET", f"/v1/clusters/{owned}/accessinfo")
    assert registry.cluster(owned).certificate_serial not in (None, first_serial)

    deleted = alice.send("DELETE", f"/v1/clusters/{owned}")
    assert deleted.status_code == 200 and deleted.json() == {}
    for method, suffix in [("GET", ""), ("DELETE", ""), ("PUT", "/activation"), ("GET", "/accessinfo")]:
        assert_error(alice.send(method, f"/v1/clusters/{owned}{suffix}"), 403, FORBIDDEN)
    assert owned not in alice.ids()
    # the name is free again, the id never
    body = registration("prod-public")
    assert alice.register(body).status_code == 201
    body = registration("another-name")
    body["metadata"]["uid"] = owned
    assert_error(alice.register(body), 409, CONFLICT)


def test_listing_shows_granted_clusters_only_and_pages(installation: Installation, alice: Api) -> None:
    registry = installation.registry
    mine = [installation.public_cluster, installation.private_cluster, installation.cce_cluster]
    for index in range(4):
        mine.append(registry.register_cluster(f"alice-{index}", provider="eks"))
        registry.grant("alice", mine[-1])
        registry.register_cluster(f"bob-{index}", provider="eks")  # granted to nobody
    mine.sort()
    listed = alice.send("GET", "/v1/clusters").json()
    assert listed["total"] == 7 and [item["metadata"]["uid"] for item in listed["items"]] == mine
    pages = [alice.send("GET", f"/v1/clusters?limit=3&offset={offset}").json() for offset in (0, 3, 6, 9)]
    assert [page["total"] for page in pages] == [7, 7, 7, 7]
    assert [item["metadata"]["uid"] for page in pages for item in page["items"]] == mine
    assert pages[3]["items"] == []
    assert len(alice.send("GET", "/v1/clusters?limit=&offset=&other=1").json()["items"]) == 7  # empty: not given
    assert len(alice.send("GET", "/v1/clusters?limit=-1").json()["items"]) == 7
    for query, name in [
        ("limit=abc", "limit"), ("limit=1.5", "limit"), ("limit=0", "limit"), ("limit=1001", "limit"),
        ("limit=-2", "limit"), ("limit=" + "9" * 40, "limit"), ("limit=1&limit=2", "limit"),
        ("offset=-1", "offset"), ("offset=x", "offset"), ("offset=0&offset=0", "offset"),
        ("limit=%EF%BC%91", "limit"),  # a fullwidth digit is no decimal integer
    ]:
        assert_error(alice.send("GET", f"/v1/clusters?{query}"), 400, BAD_PARAMETER, name)


@pytest.mark.parametrize(
    ("target", "allowed", "refused"),
    [
        ("/v1/clusters", "GET, POST", ["PUT", "DELETE", "PATCH", "HEAD"]),
        ("/v1/clusters/{id}", "DELETE, GET", ["POST", "PUT", "PATCH", "HEAD"]),
        ("/v1/clusters/{id}/activation", "PUT", ["GET", "POST", "DELETE", "HEAD"]),
        ("/v1/clusters/{id}/accessinfo", "GET", ["POST", "PUT", "DELETE", "HEAD"]),
    ],
)
def test_wrong_methods_are_405_with_allow(
    installation: Installation, alice: Api, target: str, allowed: str, refused: list[str]
) -> None:
    path = target.replace("{id}", installation.public_cluster)
    for method in refused:
        response = alice.client.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == allowed, (method, response.headers)
        if method != "HEAD":
            assert_error(checked(response), 405, METHOD_NOT_ALLOWED, method)
    assert installation.registry.cluster(installation.public_cluster).downloaded_at is None


def test_metrics_count_the_routes_by_template(installation: Installation, alice: Api, served: RunningServer) -> None:
    uid = alice.register(registration()).json()["uid"]
    alice.send("GET", f"/v1/clusters/{uid}")
    alice.send("PUT", f"/v1/clusters/{uid}/activation")
    alice.send("DELETE", f"/v1/clusters/{new_cluster_id()}")
    alice.send("GET", "/v1/clusters")
    text = httpx.get(f"http://127.0.0.1:{served.port}/metrics").text
    counted = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "clusteraccess_http_requests"
        for sample in family.samples
        if sample.name == "clusteraccess_http_requests_total"
    }
    assert counted[("/v1/clusters", "201")] == 1 and counted[("/v1/clusters", "200")] == 1
    assert counted[("/v1/clusters/{clusterid}", "200")] == 1 and counted[("/v1/clusters/{clusterid}", "403")] == 1
    assert counted[("/v1/clusters/{clusterid}/activation", "200")] == 1
    assert uid not in text

