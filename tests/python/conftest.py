"""Fixtures of the pytest suite: registries in tmp_path, fresh or configured as an operator would.

pytest runs with --import-mode=importlib, so test modules cannot import this
one: what they share comes as fixtures, and they import its types for
annotations only (under TYPE_CHECKING).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import importlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

import clusteraccess
from clusteraccess import DOWNLOADED, Registry


class Clock:
    """A clock for Registry(clock=...) that tests move by hand: Unix seconds, starting now."""

    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        """Moves the clock `seconds` forward."""
        self.now += seconds


# --- storage backends -----------------------------------------------------------------

POSTGRES_ENV = "CLUSTERACCESS_TEST_POSTGRES"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs the tests marked `backends` that use the `backend` fixture once per backend."""
    if metafunc.definition.get_closest_marker("backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


def psql(uri: str, *sql: str) -> str:
    """Runs `sql` with psql on `uri`, stopping at the first error; returns its output."""
    commands = [arg for statement in sql for arg in ("-c", statement)]
    return subprocess.run(
        [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", uri, *commands],
        check=True, capture_output=True, text=True,
    ).stdout


@dataclass(frozen=True)
class Location:
    """Where a registry lives: a SQLite file, or a PostgreSQL schema of the
    test database (its URI selects it through search_path), with the master
    key file a PostgreSQL registry must name."""

    backend: str
    target: str
    master_key_file: Optional[Path]
    schema: Optional[str] = None

    def open(self, **options: Any) -> Registry:
        """A new Registry on this location."""
        if self.master_key_file is not None:
            options.setdefault("master_key_file", str(self.master_key_file))
        return Registry(self.target, **options)

    def cli_args(self) -> list[str]:
        """The command line's options naming this registry."""
        key = ["--master-key-file", str(self.master_key_file)] if self.master_key_file is not None else []
        return ["--db", self.target, *key]

    def dump(self) -> str:
        """Every table's content as SQL text, read outside the library."""
        if self.schema is None:
            connection = sqlite3.connect(f"file:{self.target}?mode=ro", uri=True)
            try:
                return "\n".join(connection.iterdump())
            finally:
                connection.close()
        dumped = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--data-only", "--schema", self.schema, "-d", os.environ[POSTGRES_ENV]],
            check=True, capture_output=True, text=True,
        ).stdout
        # \restrict and \unrestrict lines carry a random key per dump.
        return "\n".join(line for line in dumped.splitlines() if not line.startswith("\\"))


def with_parameter(uri: str, parameter: str) -> str:
    """`uri` with `parameter` (key=value) added to its query."""
    return uri + ("&" if "?" in uri else "?") + parameter


class Locations:
    """Makes fresh locations and drops the PostgreSQL schemas it made at the end."""

    def __init__(self) -> None:
        self.schemas: list[str] = []

    def make(self, backend: str, directory: Path) -> Location:
        """A fresh, empty location of `backend` (files go in `directory`); skips
        a PostgreSQL one when no test database is configured."""
        if backend == "sqlite":
            return Location("sqlite", str(directory / "registry.db"), None)
        admin = os.environ.get(POSTGRES_ENV)
        if not admin:
            pytest.skip(f"${POSTGRES_ENV} is not set (scripts/test.sh sets it)")
        schema = "t_" + secrets.token_hex(6)
        psql(admin, f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        uri = with_parameter(admin, f"options=-csearch_path%3D{schema}")
        return Location("postgres", uri, directory / "master.key", schema)

    def drop(self) -> None:
        """Drops every schema made (the server may be gone: then the cluster goes with it)."""
        admin = os.environ.get(POSTGRES_ENV)
        for schema in self.schemas:
            with contextlib.suppress(subprocess.CalledProcessError):
                assert admin is not None
                psql(admin, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def locations() -> Iterator[Locations]:
    """Fresh registry locations of any backend, for fixtures of any scope."""
    made = Locations()
    yield made
    made.drop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend: "sqlite" unless the test is marked `backends`."""
    name: str = getattr(request, "param", "sqlite")
    return name


@pytest.fixture
def location(backend: str, tmp_path: Path, locations: Locations) -> Location:
    """Where the `registry` fixture lives, on `backend`."""
    return locations.make(backend, tmp_path)


@dataclass(frozen=True)
class Installation:
    """A configured registry: a public endpoint, one region, three clusters and
    `principal` holding `token` with a grant on each cluster."""

    registry: Registry
    path: Path
    location: Location
    clock: Clock
    public_endpoint: tuple[str, int]
    region: str
    region_endpoint: tuple[str, int]
    principal: str
    token: str
    public_cluster: str
    private_cluster: str
    cce_cluster: str


@dataclass(frozen=True)
class Manifest:
    """A first-download body, parsed: the Secret and the Deployment."""

    secret: dict[str, Any]
    deployment: dict[str, Any]

    def secret_file(self, key: str) -> bytes:
        """The decoded value of `key` ("ca.crt", "proxy-agent.crt", "proxy-agent.key") in the Secret."""
        return base64.b64decode(self.secret["data"][key], validate=True)

    @property
    def pod_spec(self) -> dict[str, Any]:
        """The Deployment's pod template spec."""
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def args(self) -> dict[str, str]:
        """The proxy agent's arguments, `--flag=value` as {flag: value}."""
        (container,) = self.pod_spec["containers"]
        pairs = (str(arg).removeprefix("--").split("=", 1) for arg in container["args"])
        return {flag: value for flag, value in pairs}


def parse_manifest(documents: list[str]) -> Manifest:
    """Parses a first-download body the way `kubectl apply -f` reads the joined file."""
    assert documents != [DOWNLOADED], "not a first download"
    objects = list(yaml.safe_load_all("---\n".join(documents)))
    by_kind = {obj["kind"]: obj for obj in objects}
    assert len(by_kind) == len(objects) == 2, [obj["kind"] for obj in objects]
    return Manifest(secret=by_kind["Secret"], deployment=by_kind["Deployment"])


def holds_private_key(documents: list[str]) -> bool:
    """True when `documents` is a first-download body carrying a private key."""
    if documents == [DOWNLOADED]:
        return False
    return b"PRIVATE KEY" in parse_manifest(documents).secret_file("proxy-agent.key")


@pytest.fixture
def clock() -> Clock:
    """The clock of the `registry` fixture."""
    return Clock()


@pytest.fixture
def db_path(location: Location) -> Path:
    """Where the `registry` fixture lives, when it is a SQLite file."""
    return Path(location.target) if location.backend == "sqlite" else Path(os.devnull)


@pytest.fixture
def registry(location: Location, clock: Clock) -> Registry:
    """A fresh, empty registry on `clock`."""
    return location.open(clock=clock)


@pytest.fixture
def installation(registry: Registry, db_path: Path, location: Location, clock: Clock) -> Installation:
    """`registry`, configured (see Installation); nothing downloaded yet."""
    public_endpoint = ("proxy.example.com", 30123)
    region, region_endpoint = "eu-de", ("proxy.eu-de.example.com", 30124)
    registry.set_public_endpoint(*public_endpoint)
    registry.add_region(region, *region_endpoint)

    clusters = {
        "public": registry.register_cluster("prod-public", provider="eks", network="public"),
        "private": registry.register_cluster("prod-private", provider="privatek8s", network="private"),
        "cce": registry.register_cluster("cce-cluster", provider="cce", category="self"),
    }
    token = registry.create_token("alice", ttl_seconds=3600)
    for cluster_id in clusters.values():
        registry.grant("alice", cluster_id)
    return Installation(
        registry=registry,
        path=db_path,
        location=location,
        clock=clock,
        public_endpoint=public_endpoint,
        region=region,
        region_endpoint=region_endpoint,
        principal="alice",
        token=token,
        public_cluster=clusters["public"],
        private_cluster=clusters["private"],
        cce_cluster=clusters["cce"],
    )


@pytest.fixture
def manifest_of() -> Callable[[list[str]], Manifest]:
    """Parses a first-download body into a Manifest."""
    return parse_manifest


@pytest.fixture
def has_key() -> Callable[[list[str]], bool]:
    """Tells whether an access_info body carries a private key."""
    return holds_private_key


@pytest.fixture
def python_env() -> dict[str, str]:
    """The environment for a child Python that imports this same clusteraccess, from any directory."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(clusteraccess.__file__)))
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in paths)}


# --- a real `clusteraccess serve` on a free loopback port ------------------------------


@dataclass
class RunningServer:
    """A `python -m clusteraccess.service` subprocess (see the `serve` fixture)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line the server wrote to stderr; each must be JSON."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def rss_kib(self) -> int:
        """The server's resident set size (VmRSS), in KiB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_service(
    db: Path | str,
    log_path: Path,
    env: dict[str, str],
    *args: str,
    prefix: Sequence[str] = (),
    ready: Optional[Callable[[int], bool]] = None,
) -> RunningServer:
    """`prefix python -m clusteraccess.service --db db --port PORT args` on a free
    port, once ready(port) (default: a plain GET /healthz answers 200)."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "clusteraccess.service", "--db", str(db), "--port", str(port), *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            cwd=db.parent if isinstance(db, Path) else log_path.parent,
        )
    server = RunningServer(process, port, log_path)

    def healthy(port: int) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if (ready or healthy)(port):
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"the server did not come up:\n{log_path.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def serve(tmp_path: Path, python_env: dict[str, str]) -> Iterator[Callable[..., RunningServer]]:
    """Starts servers (start_service's arguments but env) and stops them after the test."""
    servers: list[RunningServer] = []

    def start(db: Path | str, *args: str, env: Optional[dict[str, str]] = None, **options: Any) -> RunningServer:
        log_path = tmp_path / f"server-{len(servers)}.log"
        server = start_service(db, log_path, {**python_env, **(env or {})}, *args, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- the cloud's SDK as a client (test_sdk_client.py, test_sdk_aksk.py) ---------


@dataclass(frozen=True)
class Sdk:
    """The SDK's modules, imported with HOME in a temporary directory."""

    ucs: Any  # huaweicloudsdkucs.v1
    core_exceptions: Any  # huaweicloudsdkcore.exceptions.exceptions
    GlobalCredentials: Any
    BasicCredentials: Any
    ClientBuilder: Any  # huaweicloudsdkcore.client.ClientBuilder
    HttpHandler: Any  # huaweicloudsdkcore.http.http_handler.HttpHandler
    HttpConfig: Any
    home: Path


@pytest.fixture(scope="session")
def sdk_modules(tmp_path_factory: pytest.TempPathFactory) -> Sdk:
    """The SDK, imported once (a module is imported once per process) with
    HOME in a temporary directory: the import writes ~/.huaweicloud/application_id."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        ucs = importlib.import_module("huaweicloudsdkucs.v1")
        exceptions = importlib.import_module("huaweicloudsdkcore.exceptions.exceptions")
        credentials = importlib.import_module("huaweicloudsdkcore.auth.credentials")
        client = importlib.import_module("huaweicloudsdkcore.client")
        http_handler = importlib.import_module("huaweicloudsdkcore.http.http_handler")
        http_config = importlib.import_module("huaweicloudsdkcore.http.http_config")
    return Sdk(ucs, exceptions, credentials.GlobalCredentials, credentials.BasicCredentials, client.ClientBuilder,
               http_handler.HttpHandler, http_config.HttpConfig, home)


@pytest.fixture(scope="module")
def sdk(sdk_modules: Sdk) -> Iterator[Sdk]:
    """The SDK, with HOME pointed at its temporary directory while the module's tests run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(sdk_modules.home))
        yield sdk_modules


def _is_loopback(host: object) -> bool:
    if host in ("localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host if isinstance(host, str) else str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records (and refuses) every connection and name lookup beyond loopback.

    The SDK turns connection errors into its own exceptions, so the refusals
    are also checked after the test, whatever it caught."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    attempts: list[str] = []
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def checked(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(repr(address))
            raise OSError(f"test: connection beyond loopback refused: {address!r}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        checked(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        checked(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            attempts.append(f"lookup {host!r}")
            raise socket.gaierror(f"test: name lookup beyond loopback refused: {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts
    assert attempts == [], f"the test tried to reach beyond loopback: {attempts}"
