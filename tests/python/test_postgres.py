"""The PostgreSQL backend (docs/contract.md, Storage backends; docs/postgres.md):
one database, several replicas, the same guarantees; a lost database is a 500
and the service answers again once it is back, without a restart; `migrate`
moves a SQLite installation.

The replica and fault tests run their own throwaway cluster
(scripts/postgres.sh), so that stopping it disturbs nothing else."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import pytest
import yaml
from cryptography import x509

from clusteraccess import DOWNLOADED, ClusterAccessError, ConflictError, Registry, migrate_registry

if TYPE_CHECKING:
    from conftest import Locations, RunningServer

POSTGRES_SH = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
STORAGE_FAILURE = (500, "UCS.01000007")

pytestmark = pytest.mark.skipif(
    not os.environ.get("CLUSTERACCESS_TEST_POSTGRES"), reason="$CLUSTERACCESS_TEST_POSTGRES is not set"
)


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster of this test alone."""

    directory: str
    uri: str

    def run(self, command: str) -> None:
        """scripts/postgres.sh `command` on this cluster."""
        subprocess.run([str(POSTGRES_SH), command, self.directory], check=True, capture_output=True)

    def psql(self, *sql: str) -> str:
        """Runs `sql` as the cluster's superuser."""
        commands = [arg for statement in sql for arg in ("-c", statement)]
        return subprocess.run(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.directory, "-U", "postgres", "-d", "clusteraccess_test", *commands],
            check=True, capture_output=True, text=True,
        ).stdout


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A fresh PostgreSQL cluster, stopped and removed after the test."""
    directory = tempfile.mkdtemp(prefix="clusteraccess-pg-")
    os.rmdir(directory)
    uri = subprocess.run([str(POSTGRES_SH), "start", directory], check=True, capture_output=True,
                         text=True).stdout.strip()
    cluster = Cluster(directory, uri)
    try:
        yield cluster
    finally:
        cluster.run("stop")


def agent_serial(documents: list[str]) -> str:
    """The serial (hex) of the agent certificate in a first download's Secret."""
    import base64

    (secret,) = [doc for doc in map(yaml.safe_load, documents) if doc["kind"] == "Secret"]
    certificate = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["proxy-agent.crt"]))
    return format(certificate.serial_number, "x")


def get(port: int, path: str, token: Optional[str] = None) -> tuple[int, Any]:
    """GET path on 127.0.0.1:port: the status and the JSON body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"X-Auth-Token": token} if token else {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


Result = TypeVar("Result")


def race(clients: int, call: Callable[[int], Result]) -> list[Result]:
    """Runs call(i) in `clients` threads released at once; their results, in order."""
    start = threading.Barrier(clients)
    results: dict[int, Result] = {}

    def run(index: int) -> None:
        start.wait()
        results[index] = call(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == clients, "a racing client failed"
    return [results[i] for i in range(clients)]


def installation_on(uri: str, key: Path, clusters: int) -> tuple[Registry, str, list[str]]:
    """A registry at `uri`: a public endpoint, `clusters` clusters granted to alice, her token."""
    registry = Registry(uri, master_key_file=str(key))
    registry.set_public_endpoint("proxy.example.com", 443)
    token = registry.create_token("alice", ttl_seconds=3600)
    ids = [registry.register_cluster(f"race-{i:02d}", provider="eks") for i in range(clusters)]
    for cluster_id in ids:
        registry.grant("alice", cluster_id)
    return registry, token, ids


def assert_one_key_each(registry: Registry, ids: list[str], answers: list[tuple[int, Any]], generation: int) -> None:
    """Exactly one manifest per cluster among `answers`, its serial the audit record's; the rest ["Downloaded"]."""
    manifests = [body for status, body in answers if status == 200 and body != [DOWNLOADED]]
    assert all(status == 200 for status, _ in answers), answers
    assert len(manifests) == len(ids)
    serials = {agent_serial(body) for body in manifests}
    records = [record for record in registry.downloads()]
    assert len(records) == len(ids) * generation
    current = {registry.cluster(cluster_id).certificate_serial for cluster_id in ids}
    assert serials == current
    assert serials <= {record.certificate_serial for record in records}


def test_two_replicas_sixteen_clients_one_key_per_cluster_and_again_after_activation(
    own_cluster: Cluster, tmp_path: Path, serve: Callable[..., RunningServer]
) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=6)
    env = {"CLUSTERACCESS_MASTER_KEY_FILE": str(key)}
    replicas = [serve(own_cluster.uri, env=env), serve(own_cluster.uri, env=env)]

    def client(index: int) -> list[tuple[int, Any]]:
        port = replicas[index % 2].port
        order = ids[index % len(ids):] + ids[: index % len(ids)]
        return [get(port, f"/v1/clusters/{cluster_id}/accessinfo", token) for cluster_id in order]

    answers = [answer for per_client in race(16, client) for answer in per_client]
    assert_one_key_each(registry, ids, answers, generation=1)

    for cluster_id in ids:
        registry.reactivate(cluster_id)
    answers = [answer for per_client in race(16, client) for answer in per_client]
    assert_one_key_each(registry, ids, answers, generation=2)
    assert {event.kind for event in registry.events()} == {"download", "activation"}


def test_a_crash_of_the_database_mid_run_records_no_second_key_and_the_service_recovers(
    own_cluster: Cluster, tmp_path: Path, serve: Callable[..., RunningServer]
) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=12)
    server = serve(own_cluster.uri, env={"CLUSTERACCESS_MASTER_KEY_FILE": str(key)})

    crashed = threading.Event()

    def client(index: int) -> list[tuple[int, Any]]:
        answers = []
        for position, cluster_id in enumerate(ids[index::4]):
            if index == 0 and position == 1:
                own_cluster.run("crash")  # pg_ctl -m immediate: no checkpoint, connections cut
                crashed.set()
            answers.append(get(server.port, f"/v1/clusters/{cluster_id}/accessinfo", token))
        return answers

    first_run = [a for per_client in race(4, client) for a in per_client]
    assert crashed.is_set()
    failed = [body for status, body in first_run if status == 500]
    assert failed and all(body["error_code"] == "UCS.01000007" for body in failed)
    status, body = get(server.port, "/healthz")
    assert status == 503 and body["error_code"] == "UCS.01000007"

    own_cluster.run("resume")
    deadline = time.monotonic() + 30
    while get(server.port, "/healthz")[0] != 200:
        assert time.monotonic() < deadline, "the service did not answer again"
        time.sleep(0.2)

    # Every manifest handed out before the crash is recorded, with its serial
    # and its event; every cluster without one is still downloadable, once.
    handed_out = {agent_serial(body) for status, body in first_run if status == 200 and body != [DOWNLOADED]}
    reopened = Registry(own_cluster.uri, master_key_file=str(key))
    records = {record.cluster_id: record.certificate_serial for record in reopened.downloads()}
    assert handed_out <= set(records.values())
    events = {(event.cluster_id, event.certificate_serial) for event in reopened.events() if event.kind == "download"}
    pending = {cluster_id for cluster_id in ids if reopened.cluster(cluster_id).downloaded_at is None}
    for cluster_id in ids:
        cluster = reopened.cluster(cluster_id)
        if cluster.downloaded_at is None:
            assert cluster.certificate_serial is None and cluster_id not in records
        else:
            assert records[cluster_id] == cluster.certificate_serial
            assert (cluster_id, cluster.certificate_serial) in events
    second_run = [get(server.port, f"/v1/clusters/{cluster_id}/accessinfo", token) for cluster_id in ids]
    assert all(status == 200 for status, _ in second_run), second_run
    fresh = [body for _, body in second_run if body != [DOWNLOADED]]
    assert len(fresh) == len(pending)
    assert len(reopened.downloads()) == len(ids)
    assert len({record.certificate_serial for record in reopened.downloads()}) == len(ids)


def test_an_unreachable_database_is_500_and_healthz_503_until_it_is_back(
    own_cluster: Cluster, tmp_path: Path, serve: Callable[..., RunningServer]
) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=1)
    server = serve(own_cluster.uri, env={"CLUSTERACCESS_MASTER_KEY_FILE": str(key)})
    assert get(server.port, "/healthz")[0] == 200
    own_cluster.run("crash")
    status, body = get(server.port, f"/v1/clusters/{ids[0]}/accessinfo", token)
    assert (status, body["error_code"]) == STORAGE_FAILURE
    assert own_cluster.directory not in json.dumps(body)
    assert get(server.port, "/healthz")[0] == 503
    with pytest.raises(ClusterAccessError) as caught:
        registry.public_endpoint()
    assert (caught.value.status, caught.value.code) == STORAGE_FAILURE
    own_cluster.run("resume")
    assert get(server.port, "/healthz")[0] == 200
    assert registry.public_endpoint() == ("proxy.example.com", 443)
    status, body = get(server.port, f"/v1/clusters/{ids[0]}/accessinfo", token)
    assert status == 200 and body != [DOWNLOADED]
    assert len(registry.downloads()) == 1


def test_a_replica_killed_mid_run_gives_no_second_key_and_the_other_serves_on(
    own_cluster: Cluster, tmp_path: Path, serve: Callable[..., RunningServer]
) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=48)
    env = {"CLUSTERACCESS_MASTER_KEY_FILE": str(key)}
    replicas = [serve(own_cluster.uri, env=env), serve(own_cluster.uri, env=env)]
    victim = replicas[0]

    # Killed once it has answered a few requests, its other clients' in flight.
    victim_answered = threading.Semaphore(0)

    def kill_the_victim_mid_run() -> None:
        for _ in range(4):
            assert victim_answered.acquire(timeout=60), "the victim answered nothing"
        victim.process.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_the_victim_mid_run)
    killer.start()

    def client(index: int) -> list[tuple[str, Optional[tuple[int, Any]]]]:
        port = replicas[index % 2].port
        order = ids[index % len(ids):] + ids[: index % len(ids)]
        answers: list[tuple[str, Optional[tuple[int, Any]]]] = []
        for cluster_id in order:
            try:
                answers.append((cluster_id, get(port, f"/v1/clusters/{cluster_id}/accessinfo", token)))
                if index % 2 == 0:
                    victim_answered.release()
            except (OSError, http.client.HTTPException):
                answers.append((cluster_id, None))  # the replica died under this request, or before it
        return answers

    answers = [answer for per_client in race(8, client) for answer in per_client]
    killer.join()
    assert victim.process.wait(timeout=15) == -signal.SIGKILL
    lost = [cluster_id for cluster_id, answer in answers if answer is None]
    assert lost, "the victim was killed after its clients were done"
    served = [answer for _, answer in answers if answer is not None]
    assert all(status == 200 for status, _ in served), served

    # The survivor and a replica started in the victim's place answer every
    # cluster: Downloaded where a download committed, its one key elsewhere.
    replacement = serve(own_cluster.uri, env=env)
    survivor = replicas[1]
    received: dict[str, list[str]] = {}
    for cluster_id, answer in answers:
        if answer is not None and answer[1] != [DOWNLOADED]:
            received.setdefault(cluster_id, []).append(agent_serial(answer[1]))
    for index, cluster_id in enumerate(ids):
        port = (survivor, replacement)[index % 2].port
        status, body = get(port, f"/v1/clusters/{cluster_id}/accessinfo", token)
        assert status == 200
        if body != [DOWNLOADED]:
            received.setdefault(cluster_id, []).append(agent_serial(body))
        assert get(port, f"/v1/clusters/{cluster_id}/accessinfo", token) == (200, [DOWNLOADED])

    # At most one key per cluster, the committed one, with its audit record
    # and event; a cluster whose key died with the victim stays downloaded.
    records = {record.cluster_id: record.certificate_serial for record in registry.downloads()}
    assert set(records) == set(ids) and len(registry.downloads()) == len(ids)
    events = {(event.cluster_id, event.certificate_serial) for event in registry.events() if event.kind == "download"}
    for cluster_id in ids:
        serial = registry.cluster(cluster_id).certificate_serial
        assert records[cluster_id] == serial and (cluster_id, serial) in events
        keys = received.get(cluster_id, [])
        assert len(keys) <= 1 and set(keys) <= {serial}


def test_a_statement_past_the_timeout_is_500_and_records_nothing(own_cluster: Cluster, tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=1)
    impatient = Registry(own_cluster.uri, master_key_file=str(key), busy_timeout_ms=200)
    # Another session holds the cluster's row lock for longer than the timeout.
    holder = subprocess.Popen(
        ["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-h", own_cluster.directory, "-U", "postgres",
         "-d", "clusteraccess_test", "-c",
         "BEGIN; SELECT 1 FROM clusters FOR UPDATE; SELECT pg_sleep(3); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        with pytest.raises(ClusterAccessError) as caught:
            impatient.access_info(ids[0], token)
        assert (caught.value.status, caught.value.code) == STORAGE_FAILURE
    finally:
        holder.wait(30)
    assert registry.downloads() == []
    assert registry.cluster(ids[0]).downloaded_at is None
    assert impatient.access_info(ids[0], token) != [DOWNLOADED]


def test_a_read_only_database_is_500_and_records_nothing(own_cluster: Cluster, tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    registry, token, ids = installation_on(own_cluster.uri, key, clusters=1)
    own_cluster.psql("ALTER DATABASE clusteraccess_test SET default_transaction_read_only = on")
    # The setting applies to new connections: a new registry's.
    read_only = Registry(own_cluster.uri, master_key_file=str(key))
    with pytest.raises(ClusterAccessError) as caught:
        read_only.access_info(ids[0], token)
    assert (caught.value.status, caught.value.code) == STORAGE_FAILURE
    own_cluster.psql("SET default_transaction_read_only = off",
                     "ALTER DATABASE clusteraccess_test SET default_transaction_read_only = off")
    fresh = Registry(own_cluster.uri, master_key_file=str(key))
    assert fresh.downloads() == []
    assert fresh.cluster(ids[0]).downloaded_at is None
    assert fresh.access_info(ids[0], token) != [DOWNLOADED]


def test_a_postgres_registry_needs_its_master_key_file_named(locations: Locations, tmp_path: Path) -> None:
    location = locations.make("postgres", tmp_path)
    with pytest.raises(ClusterAccessError) as caught:
        Registry(location.target)
    assert (caught.value.status, caught.value.code) == (500, "UCS.01000009")
    assert "master key" in caught.value.message
    # Named, the same file opens the same CA from every replica.
    first = location.open()
    assert location.open().ca_certificate_pem() == first.ca_certificate_pem()


def test_backup_of_a_postgres_registry_names_pg_dump(locations: Locations, tmp_path: Path) -> None:
    registry = locations.make("postgres", tmp_path).open()
    with pytest.raises(ClusterAccessError) as caught:
        registry.backup(tmp_path / "copy.db")
    assert (caught.value.status, caught.value.code) == (500, "UCS.01000009")
    assert "pg_dump" in caught.value.message
    assert not (tmp_path / "copy.db").exists()


# --- migrate ---------------------------------------------------------------------------


class FixedClock:
    """One clock for the source and the migrated registry, so that phases are judged alike."""

    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now


def agent_certificate_pem(documents: list[str]) -> str:
    """The agent certificate (PEM) of a first download."""
    import base64

    (secret,) = [doc for doc in map(yaml.safe_load, documents) if doc["kind"] == "Secret"]
    return base64.b64decode(secret["data"]["proxy-agent.crt"]).decode()


def revoked_serials(registry: Registry) -> set[str]:
    """The serials of the registry's revocation list."""
    crl = x509.load_pem_x509_crl(registry.certificate_revocation_list().encode())
    return {format(entry.serial_number, "x") for entry in crl}


def state_of(registry: Registry) -> dict[str, object]:
    """What a registry holds, as its API shows it."""
    return {
        "ca": registry.ca_certificate_pem(),
        "endpoint": registry.public_endpoint(),
        "image": registry.agent_image(),
        "regions": [(r.name, r.proxy_host, r.proxy_port) for r in registry.regions()],
        "clusters": [c.to_sdk() | {"serial": c.certificate_serial, "downloaded_at": c.downloaded_at,
                                   "generation": c.generation, "phase": c.phase} for c in registry.clusters()],
        "downloads": [(d.cluster_id, d.principal, d.downloaded_at, d.certificate_serial, d.network, d.region,
                       d.vpcendpoint) for d in registry.downloads()],
        "events": [(e.kind, e.cluster_id, e.at, e.principal, e.certificate_serial, e.generation)
                   for e in registry.events()],
        "revoked": revoked_serials(registry),
        "access_keys": [(k.ak, k.principal, k.created_at, k.expires_at, k.revoked_at)
                        for k in registry.access_keys()],
    }


def test_a_migrated_installation_answers_the_same(
    locations: Locations, tmp_path: Path, python_env: dict[str, str]
) -> None:
    clock = FixedClock()
    source_path = tmp_path / "state.db"
    source = Registry(str(source_path), clock=clock)
    source.set_public_endpoint("proxy.example.com", 443)
    source.add_region("eu-de", "proxy.eu-de.example.com", 30124)
    source.set_agent_image("registry.example.com/agent:1.2")
    alice = source.create_token("alice", ttl_seconds=86400)
    gone = source.create_token("alice", ttl_seconds=86400)
    source.revoke_token(gone)
    source.create_access_key("alice", ttl_seconds=3600)
    source.revoke_access_key(source.create_access_key("bob", ttl_seconds=60).ak)
    names = ("downloaded", "pending", "activated", "connected", "deleted", "private")
    ids = {name: source.register_cluster(f"cluster-{name}", provider="eks",
                                         network="private" if name == "private" else "public") for name in names}
    for cluster_id in ids.values():
        source.grant("alice", cluster_id)
    for name in ("downloaded", "activated", "connected", "deleted"):
        documents = source.access_info(ids[name], alice)
        if name == "connected":
            source.agent_connected(agent_certificate_pem(documents))
    source.access_info(ids["private"], alice, vpcendpoint="10.0.0.7", region="eu-de")
    source.reactivate(ids["activated"])
    source.delete_cluster(ids["deleted"])
    clock.now += 10

    target = locations.make("postgres", tmp_path / "target")
    (tmp_path / "target").mkdir()
    copied = migrate_registry(str(source_path), target.target)
    assert [table for table, _, _ in copied][:2] == ["settings", "certificate_authority"]
    counts = {table: rows for table, rows, _ in copied}
    assert counts["clusters"] == 5 and counts["deleted_clusters"] == 1 and counts["tokens"] == 2
    assert counts["downloads"] == 5 and counts["revocations"] == 2 and counts["access_keys"] == 2

    # The same master key file opens the copied CA.
    migrated = Registry(target.target, clock=clock, master_key_file=f"{source_path}.key")
    assert state_of(migrated) == state_of(source)

    for registry in (source, migrated):
        assert registry.access_info(ids["downloaded"], alice) == [DOWNLOADED]
        assert registry.access_info(ids["connected"], alice) == [DOWNLOADED]
        with pytest.raises(ClusterAccessError) as caught:
            registry.access_info(ids["downloaded"], gone)
        assert caught.value.status == 403
        with pytest.raises(ClusterAccessError) as caught:
            registry.access_info(ids["deleted"], alice)
        assert caught.value.status == 403
        with pytest.raises(ConflictError):
            registry.register_cluster("cluster-reborn", provider="eks", cluster_id=ids["deleted"])
        for name in ("pending", "activated"):
            documents = registry.access_info(ids[name], alice)
            assert documents != [DOWNLOADED]
            assert registry.access_info(ids[name], alice) == [DOWNLOADED]
    # New audit rows go on after the copied ones.
    assert len(migrated.downloads()) == 7 and len({d.certificate_serial for d in migrated.downloads()}) == 7

    with pytest.raises(ConflictError):
        migrate_registry(str(source_path), target.target)

    # The command line, into another empty registry.
    other = locations.make("postgres", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "clusteraccess", "migrate", "--from", str(source_path), "--to", other.target],
        capture_output=True, text=True, env=python_env,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert lines["downloads"][1] == "7" and lines["clusters"][1] == "5"
    again = subprocess.run(
        [sys.executable, "-m", "clusteraccess", "migrate", "--from", str(source_path), "--to", other.target],
        capture_output=True, text=True, env=python_env,
    )
    assert again.returncode == 49, again.stderr
