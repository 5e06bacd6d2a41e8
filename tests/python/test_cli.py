"""The `clusteraccess` command line, run as `python -m clusteraccess`."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clusteraccess import Registry, is_valid_cluster_id

if TYPE_CHECKING:
    from conftest import Manifest

ManifestOf = Callable[[list[str]], "Manifest"]
Result = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Cli:
    """Runs the command line on one registry file, in a directory of its own."""

    db: Path
    env: dict[str, str]

    def __call__(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        return subprocess.run(
            [sys.executable, "-m", "clusteraccess", "--db", str(self.db), *args],
            capture_output=True,
            text=True,
            input=stdin,
            env={**self.env, **(env or {})},
            cwd=self.db.parent,
            timeout=60,
        )


@dataclass(frozen=True)
class Prepared:
    """A registry made through the Python API, with one granted cluster of each network."""

    public_cluster: str
    private_cluster: str
    token: str


def succeeded(result: Result) -> str:
    """The stdout of a successful run."""
    assert (result.returncode, result.stderr) == (0, ""), result
    return result.stdout


def error_body(result: Result, exit_code: int) -> dict[str, str]:
    """The error body accessinfo printed on stderr, after checking the exit status."""
    assert result.returncode == exit_code, result
    assert result.stdout == ""
    body: dict[str, str] = json.loads(result.stderr)
    assert set(body) == {"error_code", "error_msg"}
    return body


def one_line_error(result: Result, exit_code: int) -> str:
    """The one-line error of an administrative command, after checking the exit status."""
    assert result.returncode == exit_code, result
    assert result.stdout == ""
    assert result.stderr.startswith("clusteraccess: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def cli(tmp_path: Path, python_env: dict[str, str]) -> Cli:
    """The command line on tmp_path/cli.db, with no CLUSTERACCESS_* variables set."""
    env = {k: v for k, v in python_env.items() if not k.startswith("CLUSTERACCESS_")}
    return Cli(db=tmp_path / "cli.db", env=env)


@pytest.fixture
def prepared(cli: Cli) -> Prepared:
    """The `cli` registry, set up through the Python API (see Prepared)."""
    registry = Registry(str(cli.db))
    registry.set_public_endpoint("proxy.example.com", 30123)
    registry.add_region("eu-de", "proxy.eu-de.example.com", 30124)
    public = registry.register_cluster("cli-public", provider="eks")
    private = registry.register_cluster("cli-private", provider="aks", network="private")
    token = registry.create_token("alice")
    registry.grant("alice", public)
    registry.grant("alice", private)
    return Prepared(public_cluster=public, private_cluster=private, token=token)


def test_init_register_grant_then_download_once(cli: Cli, manifest_of: ManifestOf) -> None:
    init = succeeded(
        cli("init", "--public-endpoint", "proxy.example.com:30123", "--region", "eu-de=proxy.eu-de.example.com:30124")
    )
    assert "proxy.example.com:30123" in init
    assert stat.S_IMODE(cli.db.stat().st_mode) == 0o600
    succeeded(cli("region", "add", "eu-nl", "proxy.eu-nl.example.com", "443"))
    regions = json.loads(succeeded(cli("region", "list", "--json")))
    assert [region["name"] for region in regions] == ["eu-de", "eu-nl"]

    cluster_id = succeeded(cli("cluster", "register", "prod", "--provider", "eks")).strip()
    assert is_valid_cluster_id(cluster_id)
    token = succeeded(cli("token", "create", "alice", "--ttl", "600")).strip()
    assert token and "\n" not in token
    succeeded(cli("grant", "alice", cluster_id))

    output = cli.db.parent / "agent.yaml"
    assert succeeded(cli("accessinfo", cluster_id, "--token", "-", "-o", str(output), stdin=token)) == ""
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    manifest = manifest_of([output.read_text()])
    assert manifest.args["agent-id"] == cluster_id

    again = succeeded(cli("accessinfo", cluster_id, "--token", "-", stdin=token))
    assert json.loads(again) == ["Downloaded"]
    (record,) = json.loads(succeeded(cli("downloads", "--json")))
    assert (record["cluster_id"], record["principal"]) == (cluster_id, "alice")


def test_init_applies_an_ipv6_endpoint_and_an_agent_image_to_an_existing_registry(cli: Cli) -> None:
    succeeded(cli("init"))
    output = succeeded(cli("init", "--public-endpoint", "[fd00::1]:443", "--agent-image", "example.com/agent:2"))
    assert "[fd00::1]:443" in output
    registry = Registry(str(cli.db))
    assert registry.public_endpoint() == ("fd00::1", 443)
    assert registry.agent_image() == "example.com/agent:2"


def test_cluster_list_and_show(cli: Cli, prepared: Prepared) -> None:
    table = succeeded(cli("cluster", "list")).splitlines()
    assert table[0].split() == ["ID", "NAME", "CATEGORY", "PROVIDER", "NETWORK", "CREATED", "DOWNLOADED"]
    assert sorted(line.split()[:2] for line in table[1:]) == sorted(
        [[prepared.public_cluster, "cli-public"], [prepared.private_cluster, "cli-private"]]
    )
    listed = {c["id"]: c for c in json.loads(succeeded(cli("cluster", "list", "--json")))}
    assert set(listed) == {prepared.public_cluster, prepared.private_cluster}

    shown = json.loads(succeeded(cli("cluster", "show", prepared.private_cluster, "--json")))
    assert shown == listed[prepared.private_cluster]
    assert (shown["network"], shown["provider"], shown["downloaded_at"]) == ("private", "aks", None)
    text = succeeded(cli("cluster", "show", prepared.private_cluster))
    assert "network:" in text and "private" in text


def test_accessinfo_prints_the_manifest_without_output_file(
    cli: Cli, prepared: Prepared, manifest_of: ManifestOf
) -> None:
    stdout = succeeded(
        cli("accessinfo", prepared.private_cluster, "--token", "-",
            "--vpcendpoint", "10.1.2.3", "--region", "eu-de", stdin=prepared.token)
    )
    manifest = manifest_of([stdout])
    assert manifest.pod_spec["hostAliases"] == [{"ip": "10.1.2.3", "hostnames": ["proxy.eu-de.example.com"]}]


def test_accessinfo_takes_the_token_and_db_from_the_environment(
    cli: Cli, prepared: Prepared, manifest_of: ManifestOf
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clusteraccess", "accessinfo", prepared.public_cluster],
        capture_output=True,
        text=True,
        env={**cli.env, "CLUSTERACCESS_TOKEN": prepared.token, "CLUSTERACCESS_DB": str(cli.db)},
        cwd=cli.db.parent.parent,
        timeout=60,
    )
    assert manifest_of([succeeded(result)]).args["agent-id"] == prepared.public_cluster


def test_forbidden_prints_the_error_body_and_exits_43(cli: Cli, prepared: Prepared) -> None:
    body = error_body(cli("accessinfo", prepared.public_cluster, "--token", "-", stdin="cat_wrong"), 43)
    assert body["error_code"] == "UCS.01000004"
    body = error_body(cli("accessinfo", prepared.public_cluster), 43)
    assert body["error_code"] == "UCS.01000004"


def test_bad_request_prints_the_error_body_and_exits_40(cli: Cli, prepared: Prepared) -> None:
    body = error_body(cli("accessinfo", "not-a-uuid", "--token", "-", stdin=prepared.token), 40)
    assert body["error_code"] == "UCS.01000011"
    body = error_body(cli("accessinfo", prepared.private_cluster, "--token", "-", stdin=prepared.token), 40)
    assert "vpcendpoint" in body["error_msg"]


def test_output_file_is_never_overwritten_and_the_download_is_not_spent(
    cli: Cli, prepared: Prepared, manifest_of: ManifestOf
) -> None:
    existing = cli.db.parent / "existing.yaml"
    existing.write_text("keep me\n")
    result = cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(existing), stdin=prepared.token)
    assert "exists" in one_line_error(result, 1)
    assert existing.read_text() == "keep me\n"

    fresh = cli.db.parent / "fresh.yaml"
    succeeded(cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(fresh), stdin=prepared.token))
    assert manifest_of([fresh.read_text()]).args["agent-id"] == prepared.public_cluster


def test_no_output_file_is_left_when_there_is_no_manifest(cli: Cli, prepared: Prepared) -> None:
    refused = cli.db.parent / "refused.yaml"
    error_body(cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(refused), stdin="cat_wrong"), 43)
    assert not refused.exists()

    succeeded(cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(cli.db.parent / "a"), stdin=prepared.token))
    downloaded = cli.db.parent / "downloaded.yaml"
    stdout = succeeded(cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(downloaded), stdin=prepared.token))
    assert json.loads(stdout) == ["Downloaded"]
    assert not downloaded.exists()


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["grant", "alice", "00000000-0000-0000-0000-000000000000"], 44),
        (["cluster", "show", "00000000-0000-0000-0000-000000000000"], 44),
        (["cluster", "show", "NOT-AN-ID"], 40),
        (["cluster", "register", "cli-public", "--provider", "eks"], 49),
        (["cluster", "register", "cce-one", "--provider", "eks", "--category", "self"], 40),
        (["revoke", "bob", "00000000-0000-0000-0000-000000000000"], 44),
        (["init", "--agent-image", "Not An Image"], 40),
    ],
    ids=["grant-unknown", "show-unknown", "show-bad-id", "duplicate", "bad-provider", "revoke-none", "bad-image"],
)
def test_refused_admin_commands_print_one_line_and_exit_by_status(
    cli: Cli, prepared: Prepared, args: list[str], exit_code: int
) -> None:
    assert "Traceback" not in one_line_error(cli(*args), exit_code)


def test_revoking_an_unknown_token_prints_one_line_and_exits_44(cli: Cli, prepared: Prepared) -> None:
    assert "Traceback" not in one_line_error(cli("token", "revoke", "-", stdin="cat_unknown\n"), 44)


def test_token_revoke_reads_the_token_from_stdin(cli: Cli, prepared: Prepared) -> None:
    succeeded(cli("token", "revoke", "-", stdin=prepared.token + "\n"))
    error_body(cli("accessinfo", prepared.public_cluster, "--token", "-", stdin=prepared.token), 43)


def test_commands_other_than_init_need_an_existing_registry(cli: Cli) -> None:
    assert "init" in one_line_error(cli("cluster", "list"), 1)
    assert not cli.db.exists()


@pytest.mark.parametrize(
    "args",
    [["init", "--public-endpoint", "no-port"], ["region", "add", "eu-de", "h.example.com", "70000"], ["cluster"], []],
    ids=["endpoint-without-port", "port-out-of-range", "group-without-action", "no-command"],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


# A stand-in for clusteraccess.service: its settings are the keywords given.
FAKE_SERVICE = """
service = types.ModuleType("clusteraccess.service")
service.ServeSettings = lambda **settings: settings
service.ServeError = type("ServeError", (ValueError,), {})
"""


def run_main_with_service(cli: Cli, service: str, *args: str) -> Result:
    """Runs cli.main(args) with `service` (Python source) in place of clusteraccess.service."""
    program = f"""
import sys, types
{service}
from clusteraccess.cli import main
sys.exit(main(sys.argv[1:]))
"""
    return subprocess.run(
        [sys.executable, "-c", program, "--db", str(cli.db), *args],
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=60,
    )


def test_serve_hands_db_host_and_port_to_the_http_service(cli: Cli, prepared: Prepared) -> None:
    fake = FAKE_SERVICE + """
service.serve = lambda db_path, host, port, settings: print(repr((db_path, host, port)))
sys.modules["clusteraccess.service"] = service
"""
    result = run_main_with_service(cli, fake, "serve", "--host", "0.0.0.0", "--port", "9443")
    assert succeeded(result) == repr((str(cli.db), "0.0.0.0", 9443)) + "\n"
    result = run_main_with_service(cli, fake, "serve")
    assert succeeded(result) == repr((str(cli.db), "127.0.0.1", 8080)) + "\n"


def test_serve_hands_its_options_to_the_http_service(cli: Cli, prepared: Prepared) -> None:
    fake = FAKE_SERVICE + """
service.serve = lambda db_path, host, port, settings: print(repr(sorted(settings.items())))
sys.modules["clusteraccess.service"] = service
"""
    result = run_main_with_service(
        cli, fake, "serve", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--http", "h11", "--header-timeout", "2.5",
        "--keep-alive-timeout", "1", "--limit-concurrency", "40", "--allow-plain-http",
    )
    assert succeeded(result) == repr(sorted({
        "http": "h11", "header_timeout": 2.5, "keep_alive_timeout": 1.0, "limit_concurrency": 40,
        "tls_cert": "c.pem", "tls_key": "k.pem", "allow_plain_http": True, "master_key_file": None,
    }.items())) + "\n"
    result = run_main_with_service(cli, fake, "serve")
    assert succeeded(result) == repr(sorted({
        "http": "auto", "header_timeout": 10.0, "keep_alive_timeout": 5.0, "limit_concurrency": None,
        "tls_cert": None, "tls_key": None, "allow_plain_http": False, "master_key_file": None,
    }.items())) + "\n"


@pytest.mark.parametrize("flag, value", [
    ("--header-timeout", "0"), ("--header-timeout", "-1"), ("--header-timeout", "soon"), ("--header-timeout", "3601"),
    ("--keep-alive-timeout", "0"), ("--limit-concurrency", "0"), ("--limit-concurrency", "many"), ("--http", "h2"),
])
def test_serve_refuses_bad_option_values_with_a_usage_error(cli: Cli, flag: str, value: str) -> None:
    result = cli("serve", flag, value)
    assert result.returncode == 2 and flag in result.stderr, result


@pytest.mark.parametrize("entry", [["-m", "clusteraccess", "serve"], ["-m", "clusteraccess.service"]],
                         ids=["clusteraccess-serve", "python-m-clusteraccess.service"])
def test_both_ways_to_serve_refuse_a_registry_that_does_not_exist(cli: Cli, entry: list[str]) -> None:
    missing = cli.db.parent / "typo.db"
    result = subprocess.run(
        [sys.executable, *entry, "--db", str(missing), "--port", "1"],
        capture_output=True, text=True, env=cli.env, cwd=cli.db.parent, timeout=60,
    )
    assert "no registry at" in one_line_error(result, 1)
    assert not missing.exists()


def test_python_m_clusteraccess_service_is_the_serve_command(cli: Cli, prepared: Prepared) -> None:
    fake = FAKE_SERVICE + """
service.serve = lambda db_path, host, port, settings: print(repr((db_path, host, port)))
from clusteraccess import service as real
sys.modules["clusteraccess.service"] = service
sys.exit(real.main())
"""
    result = run_main_with_service(cli, fake, "--host", "0.0.0.0", "--port", "9443")
    assert succeeded(result) == repr((str(cli.db), "0.0.0.0", 9443)) + "\n"


def test_serve_without_the_http_service_exits_2(cli: Cli, prepared: Prepared) -> None:
    result = run_main_with_service(cli, "sys.modules['clusteraccess.service'] = None", "serve")
    assert "clusteraccess[serve]" in one_line_error(result, 2)


def test_help_documents_the_exit_status(cli: Cli) -> None:
    help_text = succeeded(cli("--help"))
    for code in ("40", "43", "44", "49", "50"):
        assert code in help_text
    assert "accessinfo" in help_text and "serve" in help_text


def test_ca_cert_prints_the_registry_ca(cli: Cli, prepared: Prepared) -> None:
    assert succeeded(cli("ca-cert")) == Registry(str(cli.db)).ca_certificate_pem()


# --- tokens stay off the command line -------------------------------------------


def test_accessinfo_reads_the_token_from_stdin_with_a_dash(cli: Cli, prepared: Prepared, manifest_of: ManifestOf) -> None:
    result = cli("accessinfo", prepared.public_cluster, "--token", "-", stdin=prepared.token + "\n")
    assert manifest_of([succeeded(result)]).args["agent-id"] == prepared.public_cluster
    # "-" is never taken for the token itself: the next call is judged with the real one.
    assert json.loads(succeeded(cli("accessinfo", prepared.public_cluster, "--token", "-", stdin=prepared.token))) == [
        "Downloaded"
    ]


def test_accessinfo_reads_the_token_from_a_file_or_the_environment(cli: Cli, prepared: Prepared) -> None:
    token_file = cli.db.parent / "token"
    token_file.write_text(prepared.token + "\n")
    assert succeeded(cli("accessinfo", prepared.public_cluster, "--token-file", str(token_file)))
    again = succeeded(cli("accessinfo", prepared.public_cluster, env={"CLUSTERACCESS_TOKEN": prepared.token}))
    assert json.loads(again) == ["Downloaded"]


def test_a_token_on_the_command_line_works_but_warns_without_echoing_it(cli: Cli, prepared: Prepared) -> None:
    result = cli("accessinfo", prepared.public_cluster, "--token", prepared.token)
    assert result.returncode == 0 and "kind: Secret" in result.stdout
    assert "warning" in result.stderr and "--token-file" in result.stderr
    assert prepared.token not in result.stderr


def test_an_empty_or_missing_token_source_is_refused_before_the_download(cli: Cli, prepared: Prepared) -> None:
    output = cli.db.parent / "never.yaml"
    empty = cli("accessinfo", prepared.public_cluster, "--token", "-", "-o", str(output), stdin="\n")
    assert empty.returncode == 1 and "no token" in empty.stderr
    missing = cli("accessinfo", prepared.public_cluster, "--token-file", str(cli.db.parent / "absent"))
    assert missing.returncode == 1
    both = cli("accessinfo", prepared.public_cluster, "--token", "-", "--token-file", "x", stdin=prepared.token)
    assert both.returncode == 2
    assert not output.exists()
    # Nothing was used up: the download is still there to be had.
    assert "kind: Secret" in succeeded(cli("accessinfo", prepared.public_cluster, "--token", "-", stdin=prepared.token))
