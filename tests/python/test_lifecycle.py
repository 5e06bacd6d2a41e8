"""The cluster API and the lifecycle from Python and the command line
(docs/contract.md, Cluster API and Lifecycle)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cryptography import x509

from clusteraccess import BadRequestError, ClusterAccessError, ConflictError, ForbiddenError, Registry

if TYPE_CHECKING:
    from conftest import Clock, Location

# The lifecycle on every storage backend (the tests using `lifecycle`).
pytestmark = pytest.mark.backends

WINDOW = 600


def body(**spec: Any) -> dict[str, Any]:
    """A registration body; `spec` overrides spec fields (None removes one)."""
    fields = {"category": "attachedcluster", "type": "privatek8s", "country": "CN", "city": "110000", **spec}
    return {
        "kind": "Cluster",
        "apiVersion": "v1",
        "metadata": {"name": "attached-one", "labels": {"env": "prod"}},
        "spec": {k: v for k, v in fields.items() if v is not None},
    }


@pytest.fixture
def lifecycle(location: Location, clock: Clock) -> Registry:
    registry = location.open(clock=clock, connection_window_seconds=WINDOW)
    registry.set_public_endpoint("proxy.example.com", 443)
    return registry


@pytest.fixture
def token(lifecycle: Registry) -> str:
    return lifecycle.create_token("alice", ttl_seconds=86400 * 30)


def agent_certificate(documents: list[str]) -> str:
    (secret,) = [doc for doc in map(yaml.safe_load, documents) if doc["kind"] == "Secret"]
    return base64.b64decode(secret["data"]["proxy-agent.crt"]).decode()


def revoked_serials(registry: Registry) -> set[str]:
    crl = x509.load_pem_x509_crl(registry.certificate_revocation_list().encode())
    ca = x509.load_pem_x509_certificate(registry.ca_certificate_pem().encode())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > crl.last_update_utc
    return {format(entry.serial_number, "x") for entry in crl}


# --- registration ----------------------------------------------------------------


def test_register_returns_the_uid_and_show_gives_the_sdk_cluster(lifecycle: Registry, token: str) -> None:
    uid = lifecycle.api_register(token, body(provider="aws"))["uid"]
    shown = lifecycle.api_show(token, uid)
    assert json.loads(json.dumps(shown)) == shown, "ready to JSON-encode"
    assert shown["kind"] == "Cluster" and shown["apiVersion"] == "v1"
    assert shown["metadata"]["uid"] == uid
    assert shown["metadata"]["name"] == "attached-one"
    assert shown["metadata"]["labels"] == {"env": "prod"}
    assert shown["metadata"]["annotations"] == {"clusteraccess/network": "public"}
    assert shown["metadata"]["creationTimestamp"].endswith("Z")
    assert shown["spec"] == {
        "category": "attachedcluster", "type": "privatek8s", "provider": "aws", "country": "CN",
        "city": "110000", "manageType": "discrete", "IsDownloadedCert": False,
    }
    assert shown["status"] == {"phase": "Pending"}
    assert lifecycle.api_list(token) == {"items": [shown], "total": 1}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(kind="Pod"), "kind"),
        (lambda b: b.pop("apiVersion"), "apiVersion"),
        (lambda b: b["metadata"].pop("name"), "metadata.name"),
        (lambda b: b["metadata"].update(name=7), "metadata.name"),
        (lambda b: b["metadata"].update(labels=["a"]), "metadata.labels"),
        (lambda b: b["metadata"].update(labels={"env": 1}), "metadata.labels"),
        (lambda b: b["metadata"].update(labels={"bad key": "v"}), "metadata.labels"),
        (lambda b: b["metadata"].update(annotations={"kubeconfig": "x"}), "metadata.annotations.kubeconfig"),
        (lambda b: b["metadata"].update(annotations={"clusteraccess/network": "vpn"}),
         "metadata.annotations.clusteraccess/network"),
        (lambda b: b["spec"].update(category="cce"), "spec.category"),
        (lambda b: b["spec"].update(type="eks", provider="azure"), "spec.provider"),
        (lambda b: b["spec"].update(type="baremetal"), "spec.type"),
        (lambda b: b["spec"].update(provider=True), "spec.provider"),
        (lambda b: b["spec"].update(country="China"), "spec.country"),
        (lambda b: b["spec"].update(manageType="grouped"), "spec.clusterGroupID"),
        (lambda b: b.update(spec="attachedcluster"), "spec"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_nothing_is_stored(
    lifecycle: Registry, token: str, change: Any, field: str
) -> None:
    registration = body()
    change(registration)
    with pytest.raises(BadRequestError) as caught:
        lifecycle.api_register(token, registration)
    assert caught.value.code == "UCS.01000011"
    assert caught.value.message.startswith(f"Bad parameter value: {field} "), caught.value.message
    assert lifecycle.clusters() == []


def test_a_kubeconfig_is_refused_saying_why(lifecycle: Registry, token: str) -> None:
    registration = body()
    registration["metadata"]["annotations"] = {"kubeconfig": "apiVersion: v1"}
    with pytest.raises(BadRequestError) as caught:
        lifecycle.api_register(token, registration)
    assert "never stores cluster credentials" in caught.value.message


# --- rules 1-3 ----------------------------------------------------------------------


def test_every_call_judges_token_id_and_grant(lifecycle: Registry, token: str) -> None:
    uid = lifecycle.api_register(token, body())["uid"]
    other = lifecycle.create_token("bob", ttl_seconds=3600)
    unknown = "0a2b4c6d-8e0f-4a1b-8c3d-5e7f9a1b3c5d"
    for call in (lifecycle.api_show, lifecycle.api_delete, lifecycle.api_reactivate):
        for bad_token in (None, "", "cat_nope"):
            with pytest.raises(ForbiddenError):
                call(bad_token, uid)
        with pytest.raises(BadRequestError):
            call(token, uid.upper())
        with pytest.raises(ForbiddenError) as not_granted:
            call(other, uid)
        with pytest.raises(ForbiddenError) as absent:
            call(token, unknown)
        assert not_granted.value.message == absent.value.message
    with pytest.raises(ForbiddenError):
        lifecycle.api_list(None)
    with pytest.raises(ForbiddenError):
        lifecycle.api_register("cat_nope", body())
    assert lifecycle.api_list(other) == {"items": [], "total": 0}
    with pytest.raises(BadRequestError):
        lifecycle.api_list(token, limit=0)
    assert lifecycle.api_show(token, uid)["status"]["phase"] == "Pending"


# --- the lifecycle ----------------------------------------------------------------------


def test_phases_activation_and_a_new_serial(lifecycle: Registry, token: str, clock: Clock) -> None:
    uid = lifecycle.api_register(token, body())["uid"]
    first = lifecycle.access_info(uid, token)
    assert lifecycle.api_show(token, uid)["status"]["phase"] == "Initializing"
    assert lifecycle.api_show(token, uid)["spec"]["IsDownloadedCert"] is True
    clock.advance(WINDOW)
    assert lifecycle.cluster(uid).phase == "Failed"
    first_serial = lifecycle.cluster(uid).certificate_serial
    assert first_serial in revoked_serials(lifecycle)
    with pytest.raises(ForbiddenError):
        lifecycle.agent_connected(agent_certificate(first))

    answer = lifecycle.api_reactivate(token, uid)
    assert answer["clusterId"] == uid and answer["message"]
    assert lifecycle.cluster(uid).phase == "Pending"
    second = lifecycle.access_info(uid, token)
    assert lifecycle.cluster(uid).certificate_serial != first_serial
    assert lifecycle.agent_connected(agent_certificate(second)) == uid
    assert lifecycle.cluster(uid).phase == "Available"
    kinds = [event.kind for event in lifecycle.events(uid)]
    assert kinds == ["download", "failure", "activation", "download", "connection"]


def test_deletion_leaves_a_tombstone(lifecycle: Registry, token: str) -> None:
    uid = lifecycle.api_register(token, body())["uid"]
    documents = lifecycle.access_info(uid, token)
    lifecycle.api_delete(token, uid)
    with pytest.raises(ForbiddenError):
        lifecycle.api_show(token, uid)
    with pytest.raises(ForbiddenError):
        lifecycle.agent_connected(agent_certificate(documents))
    again = body()
    again["metadata"]["uid"] = uid
    with pytest.raises(ConflictError):
        lifecycle.api_register(token, again)
    assert lifecycle.events(uid)[-1].kind == "deletion"


def test_connection_window_is_checked_when_opened(tmp_path: Path) -> None:
    with pytest.raises(BadRequestError) as caught:
        Registry(str(tmp_path / "x.db"), connection_window_seconds=0)
    assert "connection_window" in caught.value.message


# --- the command line --------------------------------------------------------------------


def run(db: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clusteraccess", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, cwd=db.parent, timeout=60)


def test_command_line_activate_agent_crl_events_delete(tmp_path: Path, python_env: dict[str, str]) -> None:
    db = tmp_path / "cli.db"
    env = {k: v for k, v in python_env.items() if not k.startswith("CLUSTERACCESS_")}
    registry = Registry(str(db))
    registry.set_public_endpoint("proxy.example.com", 443)
    uid = registry.register_cluster("cli-one", provider="eks")
    token = registry.create_token("alice")
    registry.grant("alice", uid)
    first = registry.access_info(uid, token)
    registry.close()

    cert = tmp_path / "agent.crt"
    cert.write_text(agent_certificate(first))
    connected = run(db, env, "agent", "connected", "--cert", str(cert))
    assert (connected.returncode, connected.stdout.strip()) == (0, uid), connected
    assert run(db, env, "cluster", "activate", uid).returncode == 0
    refused = run(db, env, "agent", "connected", "--cert", str(cert))
    assert refused.returncode == 43 and "agent certificate refused" in refused.stderr

    crl_file = tmp_path / "agents.crl"
    assert run(db, env, "crl", "-o", str(crl_file)).returncode == 0
    crl = x509.load_pem_x509_crl(crl_file.read_bytes())
    serial = int(json.loads(run(db, env, "events", "--cluster", uid, "--json").stdout)[0]["certificate_serial"], 16)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    printed = x509.load_pem_x509_crl(run(db, env, "crl").stdout.encode())
    assert [r.serial_number for r in printed] == [r.serial_number for r in crl]

    events = json.loads(run(db, env, "events", "--json").stdout)
    assert [e["kind"] for e in events] == ["download", "connection", "activation"]
    table = run(db, env, "events").stdout.splitlines()
    assert table[0].split() == ["TIME", "EVENT", "CLUSTER", "ID", "PRINCIPAL", "SERIAL"]

    assert run(db, env, "cluster", "delete", uid).returncode == 0
    assert run(db, env, "cluster", "delete", uid).returncode == 44
    assert run(db, env, "cluster", "activate", "not-an-id").returncode == 40
    shown = run(db, env, "cluster", "register", "cli-one", "--provider", "eks", "--id", uid)
    assert shown.returncode == 49


def test_errors_keep_the_one_exception_tree(lifecycle: Registry) -> None:
    with pytest.raises(ClusterAccessError) as caught:
        lifecycle.agent_connected("garbage")
    assert (caught.value.status, caught.value.code) == (403, "UCS.01000004")
