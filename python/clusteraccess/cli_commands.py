"""The commands of the `clusteraccess` command line, one function each.

Each takes the parsed arguments and returns the exit status; failures are
raised (`ClusterAccessError`, `CommandError`, `OSError`) for `cli.main` to
report.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable

from ._core import DOWNLOADED, ClusterAccessError, error_body, migrate_registry
from .cli_inputs import EXIT_CODES, TOKEN_ENV, exit_code, open_registry, read_token, require_registry
from .cli_output import (
    ACCESS_KEY_FIELDS,
    CLUSTER_FIELDS,
    DOWNLOAD_FIELDS,
    EVENT_FIELDS,
    REGION_FIELDS,
    CommandError,
    fields_of,
    format_endpoint,
    format_time,
    manifest_output,
    print_json,
    print_records,
)

__all__ = ["COMMANDS", "EXIT_CODES", "TOKEN_ENV", "exit_code", "open_registry", "require_registry"]

Handler = Callable[[argparse.Namespace], int]


def cmd_init(args: argparse.Namespace) -> int:
    """Creates or opens the registry (making its CA) and applies the settings given."""
    registry = open_registry(args, create=True)
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
    print_records(
        open_registry(args).regions(), args.json, REGION_FIELDS, ["NAME", "PROXY HOST", "PROXY PORT"],
        lambda r: [r.name, r.proxy_host, str(r.proxy_port)],
    )
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
    print_records(
        open_registry(args).clusters(), args.json, CLUSTER_FIELDS,
        ["ID", "NAME", "CATEGORY", "PROVIDER", "NETWORK", "CREATED", "DOWNLOADED"],
        lambda c: [c.id, c.name, c.category, c.provider, c.network, format_time(c.created_at),
                   format_time(c.downloaded_at)],
    )
    return 0


def cmd_cluster_show(args: argparse.Namespace) -> int:
    """Shows one cluster."""
    cluster = open_registry(args).cluster(args.cluster_id)
    if args.json:
        print_json(fields_of(cluster, CLUSTER_FIELDS))
        return 0
    times = {"created_at": format_time(cluster.created_at), "downloaded_at": format_time(cluster.downloaded_at)}
    for key, value in {**fields_of(cluster, CLUSTER_FIELDS), **times}.items():
        print(f"{key + ':':<19} {'-' if value is None else value}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    """Creates a token for a principal and prints it (only once: just its hash is stored)."""
    print(open_registry(args).create_token(args.principal, ttl_seconds=args.ttl))
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revokes a token."""
    token = read_token(args)
    if token is None:
        raise CommandError(f"no token given (TOKEN, --token-file FILE or ${TOKEN_ENV})", exit_code=2)
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
    """GET /v1/clusters/{clusterid}/accessinfo: writes the manifest; once downloaded, prints the API's Downloaded answer."""
    registry = open_registry(args)
    token = read_token(args)
    # The output file is created before asking: the manifest can be had only once.
    with manifest_output(args.output) as output:
        try:
            documents = registry.access_info(
                args.cluster_id, token, vpcendpoint=args.vpcendpoint, region=args.region
            )
        except ClusterAccessError as error:
            print(error_body(error).decode(), file=sys.stderr)
            return exit_code(error)
        if documents == [DOWNLOADED]:
            print(json.dumps(documents))
            return 0
        output.write("---\n".join(documents))
    return 0


def cmd_accesskey_create(args: argparse.Namespace) -> int:
    """Creates an access key for a principal and prints its AK and SK (the SK only this once)."""
    key = open_registry(args).create_access_key(args.principal, ttl_seconds=args.ttl)
    print(f"AK {key.ak}")
    print(f"SK {key.sk}")
    return 0


def cmd_accesskey_list(args: argparse.Namespace) -> int:
    """Lists the access keys (never a secret)."""
    print_records(
        open_registry(args).access_keys(), args.json, ACCESS_KEY_FIELDS,
        ["AK", "PRINCIPAL", "CREATED", "EXPIRES", "REVOKED"],
        lambda k: [k.ak, k.principal, format_time(k.created_at), format_time(k.expires_at),
                   format_time(k.revoked_at) if k.revoked_at is not None else "-"],
    )
    return 0


def cmd_accesskey_revoke(args: argparse.Namespace) -> int:
    """Revokes an access key."""
    open_registry(args).revoke_access_key(args.ak)
    return 0


def cmd_downloads(args: argparse.Namespace) -> int:
    """Lists the audit records of all downloads, oldest first."""
    print_records(
        open_registry(args).downloads(), args.json, DOWNLOAD_FIELDS,
        ["CLUSTER ID", "PRINCIPAL", "DOWNLOADED", "SERIAL", "NETWORK", "REGION", "VPCENDPOINT"],
        lambda d: [d.cluster_id, d.principal, format_time(d.downloaded_at), d.certificate_serial, d.network,
                   d.region or "-", d.vpcendpoint or "-"],
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Writes a consistent online copy of the registry to a new file."""
    open_registry(args).backup(args.destination)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copies a SQLite registry into an empty PostgreSQL one, verifies the copy and prints rows and digest per table."""
    require_registry(args.source)
    for table, rows, digest in migrate_registry(args.source, args.target):
        print(f"{table:<22} {rows:>8} rows  sha256 {digest}")
    return 0


def cmd_cluster_activate(args: argparse.Namespace) -> int:
    """Activation: revokes the cluster's agent certificate and returns it to Pending, so that its access information can be downloaded again, once."""
    open_registry(args).reactivate(args.cluster_id)
    return 0


def cmd_cluster_delete(args: argparse.Namespace) -> int:
    """Deletes a cluster: revokes its agent certificate, removes it and its grants; its id is never used again."""
    open_registry(args).delete_cluster(args.cluster_id)
    return 0


def cmd_agent_connected(args: argparse.Namespace) -> int:
    """The proxy server's report of an agent's TLS client certificate: prints the cluster id, now Available."""
    with open(args.cert, encoding="utf-8") as file:
        certificate = file.read()
    print(open_registry(args).agent_connected(certificate))
    return 0


def cmd_crl(args: argparse.Namespace) -> int:
    """Prints (or writes to FILE) the revocation list of agent certificates, a PEM CRL signed by the CA."""
    crl = open_registry(args).certificate_revocation_list()
    if args.output is None:
        sys.stdout.write(crl)
        return 0
    # Written whole under a temporary name and renamed, so that a TLS server
    # reloading the file never reads half a list.
    temporary = f"{args.output}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(crl)
    os.replace(temporary, args.output)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Lists the audit events (download, activation, connection, failure, deletion), by time."""
    print_records(
        open_registry(args).events(args.cluster), args.json, EVENT_FIELDS,
        ["TIME", "EVENT", "CLUSTER ID", "PRINCIPAL", "SERIAL"],
        lambda e: [format_time(e.at), e.kind, e.cluster_id, e.principal, e.certificate_serial or "-"],
    )
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
    settings = service.ServeSettings(
        http=args.http, header_timeout=args.header_timeout, keep_alive_timeout=args.keep_alive_timeout,
        limit_concurrency=args.limit_concurrency, tls_cert=args.tls_cert, tls_key=args.tls_key,
        allow_plain_http=args.allow_plain_http, master_key_file=args.master_key_file,
    )
    try:
        service.serve(args.db, args.host, args.port, settings)
    except service.ServeError as error:
        raise CommandError(str(error), exit_code=2) from None
    return 0


COMMANDS: dict[str, Handler] = {
    "init": cmd_init,
    "ca-cert": cmd_ca_cert,
    "region add": cmd_region_add,
    "region list": cmd_region_list,
    "cluster register": cmd_cluster_register,
    "cluster list": cmd_cluster_list,
    "cluster show": cmd_cluster_show,
    "cluster activate": cmd_cluster_activate,
    "cluster delete": cmd_cluster_delete,
    "agent connected": cmd_agent_connected,
    "crl": cmd_crl,
    "events": cmd_events,
    "token create": cmd_token_create,
    "token revoke": cmd_token_revoke,
    "accesskey create": cmd_accesskey_create,
    "accesskey list": cmd_accesskey_list,
    "accesskey revoke": cmd_accesskey_revoke,
    "grant": cmd_grant,
    "revoke": cmd_revoke,
    "accessinfo": cmd_accessinfo,
    "downloads": cmd_downloads,
    "backup": cmd_backup,
    "migrate": cmd_migrate,
    "serve": cmd_serve,
}
