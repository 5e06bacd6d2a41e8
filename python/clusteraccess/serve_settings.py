"""The settings of `clusteraccess serve`, checked before anything is bound:
the HTTP parser, the deadlines, the connection bound under the file limit,
TLS, and the refusal of plain HTTP beyond loopback
(docs/contract.md, "Serving safely"; docs/serving.md)."""

from __future__ import annotations

import contextlib
import ipaddress
import resource
import socket
import ssl
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "FD_RESERVE",
    "HTTP_PARSERS",
    "Limits",
    "ServeError",
    "ServeSettings",
    "check_settings",
    "connection_allowance",
    "is_loopback",
    "max_connections",
    "raise_file_limit",
]

HTTP_PARSERS = ("auto", "httptools", "h11")
# File descriptors kept out of the connection bound: standard streams, the
# listening socket, the event loop's own, the registry's database files, and
# room for what a library opens now and then.
FD_RESERVE = 32
DEFAULT_MAX_CONNECTIONS = 512
class ServeError(ValueError):
    """A `serve` setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Limits:
    """The bounds every connection is held to (see the module's docstring)."""

    head_bytes: int = 16 * 1024
    header_fields: int = 100
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass(frozen=True)
class ServeSettings:
    """What `clusteraccess serve` takes beyond the address (docs/contract.md)."""

    http: str = "auto"
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    limit_concurrency: Optional[int] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    allow_plain_http: bool = False
    #: The registry's master key file; None: the registry's default (path + ".key").
    master_key_file: Optional[str] = None



def raise_file_limit() -> int:
    """Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit then in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_allowance(file_limit: int) -> int:
    """How many connections a process with file_limit descriptors may hold open."""
    return file_limit - FD_RESERVE


def max_connections(requested: Optional[int], file_limit: int) -> int:
    allowance = connection_allowance(file_limit)
    if allowance < 1:
        raise ServeError(
            f"the file limit (RLIMIT_NOFILE {file_limit}) leaves no room for connections: "
            f"{FD_RESERVE} descriptors are reserved; raise it (ulimit -n)"
        )
    if requested is None:
        return min(DEFAULT_MAX_CONNECTIONS, allowance)
    if requested > allowance:
        raise ServeError(
            f"--limit-concurrency {requested} is above what the file limit allows: {allowance} "
            f"(RLIMIT_NOFILE {file_limit} minus {FD_RESERVE} reserved); lower it or raise the limit (ulimit -n)"
        )
    return requested


def is_loopback(host: str) -> bool:
    """True when every address host stands for is a loopback one (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)


def _check_tls(settings: ServeSettings) -> None:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        given, missing = ("--tls-cert", "--tls-key") if settings.tls_cert else ("--tls-key", "--tls-cert")
        raise ServeError(f"{given} needs {missing}: HTTPS takes a certificate and its private key")
    if settings.tls_cert is None or settings.tls_key is None:
        return
    for flag, path in (("--tls-cert", settings.tls_cert), ("--tls-key", settings.tls_key)):
        try:
            with open(path, "rb") as file:
                file.read(1)
        except OSError as error:
            raise ServeError(f"{flag} {path}: cannot read it: {error.strerror or error}") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(settings.tls_cert, settings.tls_key)
    except (ssl.SSLError, OSError) as error:
        raise ServeError(
            f"--tls-cert {settings.tls_cert} / --tls-key {settings.tls_key}: not a PEM certificate and its "
            f"private key ({error})"
        ) from None


def check_settings(host: str, settings: ServeSettings) -> None:
    """Raises ServeError for settings that cannot be served (before anything is bound)."""
    if settings.http not in HTTP_PARSERS:
        raise ServeError(f"--http {settings.http!r}: expected one of {', '.join(HTTP_PARSERS)}")
    if settings.http == "httptools":
        try:
            import httptools  # noqa: F401
        except ImportError:
            raise ServeError("--http httptools: httptools is not installed (pip install 'clusteraccess[serve]')") from None
    for flag, seconds in (("--header-timeout", settings.header_timeout), ("--keep-alive-timeout", settings.keep_alive_timeout)):
        if not 0 < seconds <= 3600:
            raise ServeError(f"{flag} {seconds}: expected seconds above 0, at most 3600")
    if settings.limit_concurrency is not None and settings.limit_concurrency < 1:
        raise ServeError(f"--limit-concurrency {settings.limit_concurrency}: expected at least 1")
    _check_tls(settings)
    if settings.tls_cert is None and not settings.allow_plain_http and not is_loopback(host):
        raise ServeError(
            f"--host {host} is not a loopback address: serving it over plain HTTP would send tokens and "
            "private keys in the clear; give --tls-cert and --tls-key, or --allow-plain-http when a "
            "TLS-terminating proxy is in front"
        )
