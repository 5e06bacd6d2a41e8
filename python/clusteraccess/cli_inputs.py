"""Where a command of the `clusteraccess` command line gets its registry and
its token, and the exit status of a refusal."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from ._core import ClusterAccessError, Registry
from .cli_output import CommandError

__all__ = ["EXIT_CODES", "TOKEN_ENV", "exit_code", "is_database_uri", "open_registry", "read_token", "require_registry"]

TOKEN_ENV = "CLUSTERACCESS_TOKEN"

# The HTTP status of a ClusterAccessError without its middle zero.
EXIT_CODES = {400: 40, 403: 43, 404: 44, 409: 49, 500: 50}

def is_database_uri(location: str) -> bool:
    """Whether --db names a PostgreSQL database (its schema is created when first opened) rather than a file."""
    return location.startswith(("postgresql://", "postgres://"))


def require_registry(path: str) -> None:
    """Fails unless there is a registry file at `path` (only `init` creates one)."""
    if not is_database_uri(path) and not os.path.exists(path):
        raise CommandError(f"no registry at {path} (run `clusteraccess init` first, or give --db)")


def open_registry(args: argparse.Namespace, *, create: bool = False) -> Registry:
    """Opens the registry at --db (which only `init` may create) with its
    master key file (--master-key-file, $CLUSTERACCESS_MASTER_KEY_FILE, or the
    default next to the registry)."""
    if not create:
        require_registry(args.db)
    return Registry(args.db, master_key_file=args.master_key_file)


def read_token(args: argparse.Namespace) -> Optional[str]:
    """The token of a command, from --token-file FILE, --token - (a line of
    standard input), $CLUSTERACCESS_TOKEN, or --token TOKEN, which still works
    but warns: other users can read a process's arguments (ps, /proc)."""
    if args.token_file is not None and args.token is not None:
        raise CommandError("give either --token or --token-file, not both", exit_code=2)
    if args.token_file is not None:
        with open(args.token_file, encoding="utf-8") as file:
            return _one_line(file.readline(), "--token-file")
    if args.token == "-":
        return _one_line(sys.stdin.readline(), "standard input")
    if args.token is not None:
        print(
            "clusteraccess: warning: a token on the command line can be read by other users; "
            f"use --token -, --token-file FILE or ${TOKEN_ENV}",
            file=sys.stderr,
        )
        return str(args.token)
    return os.environ.get(TOKEN_ENV)


def _one_line(line: str, source: str) -> str:
    token = line.strip()
    if not token:
        raise CommandError(f"no token in {source}")
    return token


def exit_code(error: ClusterAccessError) -> int:
    """The exit status for `error` (see cli.EXIT_STATUS_HELP)."""
    return EXIT_CODES.get(error.status, 1)
