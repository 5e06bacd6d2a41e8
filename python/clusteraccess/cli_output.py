"""What the `clusteraccess` command line prints: times, endpoints, tables,
JSON, and the file a manifest is written to."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO, TypeVar

__all__ = [
    "ACCESS_KEY_FIELDS",
    "CLUSTER_FIELDS",
    "DOWNLOAD_FIELDS",
    "EVENT_FIELDS",
    "REGION_FIELDS",
    "CommandError",
    "fields_of",
    "format_endpoint",
    "format_time",
    "manifest_output",
    "print_json",
    "print_records",
    "print_table",
]

T = TypeVar("T")


class CommandError(Exception):
    """A failure outside the registry, reported as one line with its exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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


# The attributes of each record the JSON output holds, in order.
CLUSTER_FIELDS = (
    "id", "name", "category", "provider", "network", "created_at", "downloaded_at", "certificate_serial",
    "type", "cloud_provider", "phase", "generation", "connected_at",
)
DOWNLOAD_FIELDS = (
    "cluster_id", "principal", "downloaded_at", "certificate_serial", "network", "region", "vpcendpoint",
)
REGION_FIELDS = ("name", "proxy_host", "proxy_port")
# Never "sk": a listed key has none.
ACCESS_KEY_FIELDS = ("ak", "principal", "created_at", "expires_at", "revoked_at")
EVENT_FIELDS = ("at", "kind", "cluster_id", "principal", "certificate_serial", "generation")


def fields_of(record: object, fields: Sequence[str]) -> dict[str, object]:
    """The attributes `fields` of `record`, for JSON."""
    return {name: getattr(record, name) for name in fields}


def print_records(
    records: Sequence[T],
    as_json: bool,
    fields: Sequence[str],
    headers: Sequence[str],
    row: Callable[[T], Sequence[str]],
) -> None:
    """Prints `records` as a JSON list of their `fields`, or as a table of
    `row(record)` under `headers`."""
    if as_json:
        print_json([fields_of(record, fields) for record in records])
    else:
        print_table(headers, [row(record) for record in records])


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
