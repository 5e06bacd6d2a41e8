"""The `clusteraccess` command line: administer a registry and download access information."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from ._core import DOWNLOADED, Cluster, ClusterAccessError, Download, Region, Registry

DB_ENV = "CLUSTERACCESS_DB"
TOKEN_ENV = "CLUSTERACCESS_TOKEN"
DEFAULT_DB = "clusteraccess.db"

# The HTTP status of a ClusterAccessError without its middle zero.
EXIT_CODES = {400: 40, 403: 43, 404: 44, 409: 49, 500: 50}
EXIT_STATUS_HELP = """\
exit status:
  0                   success
  1                   no registry at --db, an -o file that exists (never overwritten), an I/O error
  2                   usage error; `serve` without the HTTP service installed
  40 43 44 49 50      the registry refused the request or failed: HTTP status 400, 403, 404, 409
                      or 500 (the status without its middle zero)

`accessinfo` prints the API's error body {"error_code": ..., "error_msg": ...} on stderr; the other
commands print a one-line error."""


class CommandError(Exception):
    """A failure outside the registry, reported as one line with its exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


Handler = Callable[[argparse.Namespace], int]


# --- helpers -----------------------------------------------------------------


def require_registry(path: str) -> None:
    """Fails unless there is a registry file at `path` (only `init` creates one)."""
    if not os.path.exists(path):
        raise CommandError(f"no registry at {path} (run `clusteraccess init` first, or give --db)")


def open_registry(args: argparse.Namespace) -> Registry:
    """Opens the registry at --db, which `init` must have created."""
    require_registry(args.db)
    return Registry(args.db)


def exit_code(error: ClusterAccessError) -> int:
    """The exit status for `error` (see EXIT_STATUS_HELP)."""
    return EXIT_CODES.get(error.status, 1)


def error_body(error: ClusterAccessError) -> str:
    """The API's error body for `error`, as one line of JSON."""
    return json.dumps({"error_code": error.code, "error_msg": error.message})


def format_time(seconds: int | None) -> str:
    """Unix seconds as ISO 8601 UTC; "-" for none."""
    if seconds is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_endpoint(host: str, port: int) -> str:
    """HOST:PORT, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Prints left-aligned columns under `headers`."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def print_json(value: object) -> None:
    """Prints `value` as indented JSON."""
    print(json.dumps(value, indent=2))


def cluster_dict(cluster: Cluster) -> dict[str, object]:
    """The fields of `cluster`, for JSON."""
    return {
        "id": cluster.id,
        "name": cluster.name,
        "category": cluster.category,
        "provider": cluster.provider,
        "network": cluster.network,
        "created_at": cluster.created_at,
        "downloaded_at": cluster.downloaded_at,
        "certificate_serial": cluster.certificate_serial,
    }


def download_dict(download: Download) -> dict[str, object]:
    """The fields of `download`, for JSON."""
    return {
        "cluster_id": download.cluster_id,
        "principal": download.principal,
        "downloaded_at": download.downloaded_at,
        "certificate_serial": download.certificate_serial,
        "network": download.network,
        "region": download.region,
        "vpcendpoint": download.vpcendpoint,
    }


def region_dict(region: Region) -> dict[str, object]:
    """The fields of `region`, for JSON."""
    return {"name": region.name, "proxy_host": region.proxy_host, "proxy_port": region.proxy_port}


@contextlib.contextmanager
def manifest_output(path: str | None) -> Iterator[TextIO]:
    """Standard output, or `path` created exclusively with mode 0600 (it will hold
    a private key). The file is removed again unless something was written to it."""
    if path is None:
        yield sys.stdout
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise CommandError(
            f"{path} exists; not overwriting it (the access information can be downloaded only "
            "once: give a new file)"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            yield file
            written = file.tell() > 0
    except BaseException:
        os.unlink(path)  # never leave part of a key behind
        raise
    if not written:
        os.unlink(path)


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


# --- commands --------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Creates or opens the registry (making its CA) and applies the settings given."""
    registry = Registry(args.db)
    if args.public_endpoint is not None:
        registry.set_public_endpoint(*args.public_endpoint)
    for name, host, proxy_port in args.region:
        registry.add_region(name, host, proxy_port)
    if args.agent_image is not None:
        registry.set_agent_image(args.agent_image)

    public = registry.public_endpoint()
    print(f"registry:        {registry.path}")
    print(f"public endpoint: {format_endpoint(*public) if public else '(not set)'}")
    print(f"agent image:     {registry.agent_image()}")
    for region in registry.regions():
        print(f"region {region.name}: {format_endpoint(region.proxy_host, region.proxy_port)}")
    return 0


def cmd_ca_cert(args: argparse.Namespace) -> int:
    """Prints the CA certificate that signs agent certificates (for the proxy server)."""
    sys.stdout.write(open_registry(args).ca_certificate_pem())
    return 0


def cmd_region_add(args: argparse.Namespace) -> int:
    """Adds a region or updates its proxy server."""
    open_registry(args).add_region(args.name, args.host, args.port)
    return 0


def cmd_region_list(args: argparse.Namespace) -> int:
    """Lists the regions."""
    regions = open_registry(args).regions()
    if args.json:
        print_json([region_dict(region) for region in regions])
    else:
        rows = [[r.name, r.proxy_host, str(r.proxy_port)] for r in regions]
        print_table(["NAME", "PROXY HOST", "PROXY PORT"], rows)
    return 0


def cmd_cluster_register(args: argparse.Namespace) -> int:
    """Registers a cluster and prints its id."""
    cluster_id = open_registry(args).register_cluster(
        args.name,
        provider=args.provider,
        category=args.category,
        network=args.network,
        cluster_id=args.id,
    )
    print(cluster_id)
    return 0


def cmd_cluster_list(args: argparse.Namespace) -> int:
    """Lists the clusters, oldest first."""
    clusters = open_registry(args).clusters()
    if args.json:
        print_json([cluster_dict(cluster) for cluster in clusters])
    else:
        headers = ["ID", "NAME", "CATEGORY", "PROVIDER", "NETWORK", "CREATED", "DOWNLOADED"]
        rows = [
            [c.id, c.name, c.category, c.provider, c.network]
            + [format_time(c.created_at), format_time(c.downloaded_at)]
            for c in clusters
        ]
        print_table(headers, rows)
    return 0


def cmd_cluster_show(args: argparse.Namespace) -> int:
    """Shows one cluster."""
    cluster = open_registry(args).cluster(args.cluster_id)
    if args.json:
        print_json(cluster_dict(cluster))
        return 0
    times = {"created_at": format_time(cluster.created_at), "downloaded_at": format_time(cluster.downloaded_at)}
    for key, value in {**cluster_dict(cluster), **times}.items():
        print(f"{key + ':':<19} {'-' if value is None else value}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    """Creates a token for a principal and prints it (only once: just its hash is stored)."""
    print(open_registry(args).create_token(args.principal, ttl_seconds=args.ttl))
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revokes a token."""
    token = sys.stdin.readline().strip() if args.token == "-" else args.token
    open_registry(args).revoke_token(token)
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    """Allows a principal to query a cluster's access information."""
    open_registry(args).grant(args.principal, args.cluster_id)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Withdraws a grant."""
    open_registry(args).revoke_grant(args.principal, args.cluster_id)
    return 0


def cmd_accessinfo(args: argparse.Namespace) -> int:
    """GET /v1/clusters/{clusterid}/accessinfo: writes the manifest, or prints ["Downloaded"]."""
    registry = open_registry(args)
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    # The output file is created before asking: the manifest can be had only once.
    with manifest_output(args.output) as output:
        try:
            documents = registry.access_info(
                args.cluster_id, token, vpcendpoint=args.vpcendpoint, region=args.region
            )
        except ClusterAccessError as error:
            print(error_body(error), file=sys.stderr)
            return exit_code(error)
        if documents == [DOWNLOADED]:
            print(json.dumps(documents))
            return 0
        output.write("---\n".join(documents))
    return 0


def cmd_downloads(args: argparse.Namespace) -> int:
    """Lists the audit records of all downloads, oldest first."""
    downloads = open_registry(args).downloads()
    if args.json:
        print_json([download_dict(download) for download in downloads])
    else:
        headers = ["CLUSTER ID", "PRINCIPAL", "DOWNLOADED", "SERIAL", "NETWORK", "REGION", "VPCENDPOINT"]
        rows = [
            [
                d.cluster_id,
                d.principal,
                format_time(d.downloaded_at),
                d.certificate_serial,
                d.network,
                d.region or "-",
                d.vpcendpoint or "-",
            ]
            for d in downloads
        ]
        print_table(headers, rows)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serves GET /v1/clusters/{clusterid}/accessinfo over HTTP until interrupted."""
    require_registry(args.db)
    try:
        service = importlib.import_module("clusteraccess.service")
    except ModuleNotFoundError as error:
        raise CommandError(
            f"the HTTP service is not available (no module named {error.name!r}); "
            "install it with: pip install 'clusteraccess[serve]'",
            exit_code=2,
        ) from None
    service.serve(args.db, args.host, args.port)
    return 0


COMMANDS: dict[str, Handler] = {
    "init": cmd_init,
    "ca-cert": cmd_ca_cert,
    "region add": cmd_region_add,
    "region list": cmd_region_list,
    "cluster register": cmd_cluster_register,
    "cluster list": cmd_cluster_list,
    "cluster show": cmd_cluster_show,
    "token create": cmd_token_create,
    "token revoke": cmd_token_revoke,
    "grant": cmd_grant,
    "revoke": cmd_revoke,
    "accessinfo": cmd_accessinfo,
    "downloads": cmd_downloads,
    "serve": cmd_serve,
}


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
        help=f"the registry file (default: ${DB_ENV} or ./{DEFAULT_DB})",
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

    commands.group("token", "Tokens of principals.")
    token_create = commands.add("token create")
    token_create.add_argument("principal", metavar="PRINCIPAL")
    token_create.add_argument("--ttl", metavar="SECONDS", type=ttl, default=86400,
                              help="lifetime in seconds (default: 86400)")
    token_revoke = commands.add("token revoke")
    token_revoke.add_argument("token", metavar="TOKEN", help="the token, or - to read it from stdin")

    for name in ("grant", "revoke"):
        grant = commands.add(name)
        grant.add_argument("principal", metavar="PRINCIPAL")
        grant.add_argument("cluster_id", metavar="CLUSTER_ID")

    accessinfo = commands.add("accessinfo")
    accessinfo.add_argument("cluster_id", metavar="CLUSTER_ID")
    accessinfo.add_argument("--token", metavar="T", help=f"the X-Auth-Token (default: ${TOKEN_ENV})")
    accessinfo.add_argument("--vpcendpoint", metavar="IP",
                            help="private network: the VPC endpoint's IP address")
    accessinfo.add_argument("--region", metavar="R", help="private network: the access region")
    accessinfo.add_argument("-o", "--output", metavar="FILE",
                            help="write the manifest to FILE, created with mode 0600 (never overwritten)")

    commands.add("downloads").add_argument("--json", action="store_true", help="print JSON")

    serve = commands.add("serve")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8080, help="port to listen on (default: 8080)")
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
