"""The `clusteraccess` command line: administer a registry and download access
information. This module holds the parser and `main`; the commands are in
`clusteraccess.cli_commands` (with their inputs in `clusteraccess.cli_inputs`), what they
print in `clusteraccess.cli_output`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._core import ClusterAccessError
from .cli_commands import COMMANDS, TOKEN_ENV, exit_code
from .cli_output import CommandError

__all__ = ["DB_ENV", "DEFAULT_DB", "build_parser", "main"]

DB_ENV = "CLUSTERACCESS_DB"
MASTER_KEY_ENV = "CLUSTERACCESS_MASTER_KEY_FILE"
DEFAULT_DB = "clusteraccess.db"

EXIT_STATUS_HELP = """\
exit status:
  0                   success
  1                   no registry at --db, an -o file that exists (never overwritten), an I/O error
  2                   usage error; `serve` without the HTTP service installed
  40 43 44 49 50      the registry refused the request or failed: HTTP status 400, 403, 404, 409
                      or 500 (the status without its middle zero)

`accessinfo` prints the API's error body {"error_code": ..., "error_msg": ...} on stderr; the other
commands print a one-line error."""


# --- argument types ------------------------------------------------------------


def port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {value}")
    return value


def ttl(text: str) -> int:
    """A token lifetime in seconds, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"out of range 1 to 2**63-1 seconds: {value}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, above 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"out of range: expected seconds above 0, at most 3600: {text}")
    return value


def positive(text: str) -> int:
    """A whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1: {value}")
    return value


def endpoint(text: str) -> tuple[str, int]:
    """HOST:PORT, with an IPv6 host in brackets ([fd00::1]:443)."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port(port_text)


def region_spec(text: str) -> tuple[str, str, int]:
    """NAME=HOST:PORT."""
    name, equals, rest = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=HOST:PORT, got {text!r}")
    return (name, *endpoint(rest))


# --- the parser ----------------------------------------------------------------


class _Commands:
    """Adds the parsers of COMMANDS, one- or two-word ("cluster list")."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._top = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
        self._groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def group(self, name: str, summary: str) -> None:
        """Adds the command group `name` ("cluster")."""
        parser = self._top.add_parser(name, help=summary, description=summary)
        self._groups[name] = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def add(self, command: str) -> argparse.ArgumentParser:
        """Adds the parser of `command`, described by its handler's docstring."""
        group, _, action = command.partition(" ")
        summary = (COMMANDS[command].__doc__ or "").strip()
        parent = self._groups[group] if action else self._top
        parser = parent.add_parser(action or group, help=summary, description=summary)
        parser.set_defaults(command=command)
        return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog="clusteraccess",
        description="Register attached Kubernetes clusters, grant tokens, and hand out each "
        "cluster's proxy-agent manifest exactly once (GET /v1/clusters/{clusterid}/accessinfo).",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=os.environ.get(DB_ENV, DEFAULT_DB),
        help=f"the registry file, or a PostgreSQL URI postgresql://... (default: ${DB_ENV} or ./{DEFAULT_DB})",
    )
    parser.add_argument(
        "--master-key-file",
        metavar="FILE",
        default=os.environ.get(MASTER_KEY_ENV),
        help=f"the 32-byte key that seals the registry's secrets (default: ${MASTER_KEY_ENV} or the "
        "registry path + .key; `init` creates it, mode 0600)",
    )
    commands = _Commands(parser)

    init = commands.add("init")
    init.add_argument("--public-endpoint", metavar="HOST:PORT", type=endpoint,
                      help="the proxy server public-network agents connect to")
    init.add_argument("--region", metavar="NAME=HOST:PORT", type=region_spec, action="append", default=[],
                      help="a region and its proxy server for private-network agents (repeatable)")
    init.add_argument("--agent-image", metavar="IMAGE", help="the proxy agent's container image")

    commands.add("ca-cert")

    commands.group("region", "Regions served to private-network clusters.")
    region_add = commands.add("region add")
    region_add.add_argument("name", metavar="NAME")
    region_add.add_argument("host", metavar="HOST", help="the region's proxy server host")
    region_add.add_argument("port", metavar="PORT", type=port, help="the region's proxy server port")
    commands.add("region list").add_argument("--json", action="store_true", help="print JSON")

    commands.group("cluster", "Registered clusters.")
    register = commands.add("cluster register")
    register.add_argument("name", metavar="NAME")
    register.add_argument("--provider", required=True,
                          help="eks, aks, gke, ack, tke, openshift, privatek8s (attached); cce, turbo (self)")
    register.add_argument("--category", choices=["attachedcluster", "self"], default="attachedcluster")
    register.add_argument("--network", choices=["public", "private"], default="public")
    register.add_argument("--id", metavar="UUID", help="the cluster id (default: a new random one)")
    commands.add("cluster list").add_argument("--json", action="store_true", help="print JSON")
    show = commands.add("cluster show")
    show.add_argument("cluster_id", metavar="CLUSTER_ID")
    show.add_argument("--json", action="store_true", help="print JSON")

    for name in ("cluster activate", "cluster delete"):
        commands.add(name).add_argument("cluster_id", metavar="CLUSTER_ID")

    commands.group("agent", "Proxy agents.")
    commands.add("agent connected").add_argument(
        "--cert", metavar="FILE", required=True, help="the agent's client certificate (PEM), as the TLS handshake gave it")
    commands.add("crl").add_argument("-o", "--output", metavar="FILE", help="write the CRL to FILE (replaced whole)")
    events = commands.add("events")
    events.add_argument("--cluster", metavar="CLUSTER_ID", help="only this cluster's events")
    events.add_argument("--json", action="store_true", help="print JSON")

    commands.group("token", "Tokens of principals.")
    token_create = commands.add("token create")
    token_create.add_argument("principal", metavar="PRINCIPAL")
    token_create.add_argument("--ttl", metavar="SECONDS", type=ttl, default=86400,
                              help="lifetime in seconds (default: 86400)")
    token_revoke = commands.add("token revoke")
    token_revoke.add_argument("token", metavar="TOKEN", nargs="?",
                              help=f"the token: - reads it from stdin (default: ${TOKEN_ENV})")
    token_revoke.add_argument("--token-file", metavar="FILE", help="read the token from the first line of FILE")

    commands.group("accesskey", "Access keys (AK/SK) of principals, for signed requests.")
    accesskey_create = commands.add("accesskey create")
    accesskey_create.add_argument("principal", metavar="PRINCIPAL")
    accesskey_create.add_argument("--ttl", metavar="SECONDS", type=ttl, default=86400,
                                  help="lifetime in seconds (default: 86400)")
    commands.add("accesskey list").add_argument("--json", action="store_true", help="print JSON")
    commands.add("accesskey revoke").add_argument("ak", metavar="AK")

    for name in ("grant", "revoke"):
        grant = commands.add(name)
        grant.add_argument("principal", metavar="PRINCIPAL")
        grant.add_argument("cluster_id", metavar="CLUSTER_ID")

    accessinfo = commands.add("accessinfo")
    accessinfo.add_argument("cluster_id", metavar="CLUSTER_ID")
    accessinfo.add_argument("--token", metavar="T",
                            help=f"the X-Auth-Token; - reads it from stdin (default: ${TOKEN_ENV})")
    accessinfo.add_argument("--token-file", metavar="FILE", help="read the X-Auth-Token from the first line of FILE")
    accessinfo.add_argument("--vpcendpoint", metavar="IP",
                            help="private network: the VPC endpoint's IP address")
    accessinfo.add_argument("--region", metavar="R", help="private network: the access region")
    accessinfo.add_argument("-o", "--output", metavar="FILE",
                            help="write the manifest to FILE, created with mode 0600 (never overwritten)")

    commands.add("downloads").add_argument("--json", action="store_true", help="print JSON")
    commands.add("backup").add_argument(
        "destination", metavar="DEST", help="the copy to write: a new file, created with mode 0600")
    migrate = commands.add("migrate")
    migrate.add_argument("--from", dest="source", metavar="PATH", required=True,
                         help="the SQLite registry file to copy")
    migrate.add_argument("--to", dest="target", metavar="URI", required=True,
                         help="an empty PostgreSQL registry: postgresql://... (open it with the same master key file)")

    serve = commands.add("serve")
    # Also after the command, so that `python -m clusteraccess.service --db PATH`
    # is this command; SUPPRESS keeps the global --db when it is not given here.
    serve.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="the registry file, as above")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument("--tls-cert", metavar="FILE",
                       help="serve HTTPS with this PEM certificate (chain); needs --tls-key")
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    serve.add_argument("--allow-plain-http", action="store_true",
                       help="serve plain HTTP on a non-loopback --host (only behind a TLS-terminating proxy)")
    serve.add_argument("--http", choices=["auto", "httptools", "h11"], default="auto",
                       help="the HTTP/1.1 parser (default: auto, httptools when installed, else h11)")
    serve.add_argument("--header-timeout", metavar="SECONDS", type=seconds, default=10.0,
                       help="close a connection whose request head is not complete this long after it opened "
                       "or after the previous answer (default: 10)")
    serve.add_argument("--keep-alive-timeout", metavar="SECONDS", type=seconds, default=5.0,
                       help="close an idle keep-alive connection after this long (default: 5)")
    serve.add_argument("--limit-concurrency", metavar="N", type=positive,
                       help="at most N open connections (default: 512, or less when the file limit, raised "
                       "to its hard limit at start, leaves less room)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line `argv` (default: sys.argv[1:]) and returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ClusterAccessError as error:
        print(f"clusteraccess: error {error.status} ({error.code}): {error.message}", file=sys.stderr)
        return exit_code(error)
    except CommandError as error:
        print(f"clusteraccess: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"clusteraccess: {error}", file=sys.stderr)
        return 1
