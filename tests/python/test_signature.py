"""AK/SK signed requests (docs/contract.md, AK/SK): access keys' lifecycle, the
SK sealed at rest, and signatures made by huaweicloudsdkcore's own Signer and by
an independent signer written here from the algorithm, verified by the core
through the binding; every tampered part is the one 403."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import quote, unquote

import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from clusteraccess import (
    ClusterAccessError,
    ForbiddenError,
    NewAccessKey,
    NotFoundError,
    Registry,
    SignedRequest,
    error_body,
)

if TYPE_CHECKING:
    from conftest import Installation

EMPTY_HASH = hashlib.sha256(b"").hexdigest()
HOST = "ucs.example.com:8443"


def sdk_date(unix_seconds: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(unix_seconds))


# --- an independent signer, from the algorithm (sdk-notes section 4) ----------


def independent_authorization(
    ak: str,
    sk: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    signed: list[str],
) -> str:
    """SDK-HMAC-SHA256 over the canonical request, written from the algorithm
    with Python's own quote/unquote, as the SDK's signer uses them."""
    uri = "/".join(quote(segment, safe="~") for segment in unquote(raw_path).split("/"))
    uri += "" if uri.endswith("/") else "/"
    pairs = sorted(
        (unquote(k), unquote(v)) for k, _, v in (part.partition("=") for part in raw_query.split("&") if part)
    )
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
    values = {name.lower(): value.strip() for name, value in headers}
    canonical_headers = "".join(f"{name}:{values[name]}\n" for name in signed)
    content = values.get("x-sdk-content-sha256")
    payload = EMPTY_HASH if not body else (content or hashlib.sha256(body).hexdigest())
    canonical = "\n".join([method.upper(), uri, query, canonical_headers, ";".join(signed), payload])
    to_sign = f"SDK-HMAC-SHA256\n{values['x-sdk-date']}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(signed)}, Signature={signature}"


def independently_signed(
    ak: str,
    sk: str,
    now: int,
    method: str = "GET",
    raw_path: str = "/v1/clusters",
    raw_query: str = "",
    extra: Optional[list[tuple[str, str]]] = None,
    body: bytes = b"",
) -> SignedRequest:
    headers = [("Host", HOST), ("X-Sdk-Date", sdk_date(now)), *(extra or [])]
    signed = sorted({name.lower() for name, _ in headers})
    authorization = independent_authorization(ak, sk, method, raw_path, raw_query, headers, body, signed)
    return SignedRequest(method, raw_path, raw_query, [*headers, ("Authorization", authorization)],
                         hashlib.sha256(body).hexdigest() if body else None)


# --- the SDK's signer ---------------------------------------------------------------


class SdkCredentials:
    """What huaweicloudsdkcore's Signer reads of a credentials object."""

    def __init__(self, key: NewAccessKey) -> None:
        self.ak = key.ak
        self.sk = key.sk


def sdk_signed(
    key: NewAccessKey,
    now: int,
    method: str = "GET",
    resource_path: str = "/v1/clusters",
    query: Optional[list[tuple[str, Any]]] = None,
    headers: Optional[dict[str, str]] = None,
    body: bytes = b"",
) -> SignedRequest:
    """A request signed by huaweicloudsdkcore.signer.signer.Signer, as the server receives it."""
    request = SdkRequest(method=method, schema="https", host=HOST, resource_path=resource_path,
                         query_params=list(query or []),
                         header_params={"X-Sdk-Date": sdk_date(now), **(headers or {})}, body=body)
    Signer(SdkCredentials(key)).sign(request)
    path, _, raw_query = request.uri.partition("?")
    # requests merges header names case-insensitively (the last spelling wins),
    # and sends the values as the signer left them: UTF-8 read as ISO-8859-1.
    wire: dict[str, tuple[str, str]] = {}
    for name, value in request.header_params.items():
        wire[name.lower()] = (name, str(value).encode("iso-8859-1").decode("utf-8"))
    return SignedRequest(method, path, raw_query, list(wire.values()),
                         hashlib.sha256(body).hexdigest() if body else None)


@pytest.fixture
def key(installation: Installation) -> NewAccessKey:
    """An access key of the installation's principal, who holds grants on its clusters."""
    return installation.registry.create_access_key(installation.principal, ttl_seconds=3600)


def listed(registry: Registry, signature: SignedRequest) -> int:
    """How many clusters the signed caller may list (raises what the core refuses with)."""
    total: int = registry.api_list(None, signature=signature)["total"]
    return total


SDK_CASES: dict[str, dict[str, Any]] = {
    "json GET": dict(headers={"Content-Type": "application/json", "X-Domain-Id": "d0", "User-Agent": "sdk"}),
    "query: reserved and non-ASCII characters": dict(
        query=[("category", "a b+c~d*e/f"), ("order_by", "créé"), ("clusterids", "id1,id2")]),
    "query: repeated key and empty value": dict(query=[("multi", ["b", "a", "a"]), ("empty", ""), ("z", 1)]),
    "query: booleans": dict(query=[("enablestatus", False), ("limit", 10)]),
    "path: encoded segments": dict(resource_path="/v1/clusters/a%20b%2Fc%25d~%C3%A9/accessinfo"),
    "header value with inner spaces": dict(headers={"X-Custom": "  spaced  value ", "Content-Type": "application/json"}),
    "form body: UNSIGNED-PAYLOAD": dict(method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                        body=b"kind=Cluster&apiVersion=v1"),
    "json body": dict(method="POST", headers={"Content-Type": "application/json"}, body=b'{"kind": "Cluster"}'),
    "empty form body": dict(method="DELETE", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    "two spellings of content-type": dict(method="POST",
                                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                                   "content-type": "application/json"},
                                          body=b"kind=Cluster"),
    "security token": dict(headers={"X-Security-Token": "t" * 40, "Content-Type": "application/json"}),
}


@pytest.mark.parametrize("case", sorted(SDK_CASES))
def test_the_sdks_own_signer_is_verified(installation: Installation, key: NewAccessKey, case: str) -> None:
    signature = sdk_signed(key, installation.clock.now, **SDK_CASES[case])
    assert listed(installation.registry, signature) == 3


def test_the_sdk_signs_every_case_as_the_independent_signer(installation: Installation, key: NewAccessKey) -> None:
    # The same request from both signers carries the same Authorization header.
    sdk = sdk_signed(key, installation.clock.now, resource_path="/v1/clusters/a%20b/x",
                     query=[("k", "v w"), ("a", "")], headers={"X-Custom": " two  spaces "})
    names = [name for name, _ in sdk.headers if name != "Authorization"]
    mine = independently_signed(key.ak, key.sk, installation.clock.now, raw_path="/v1/clusters/a%20b/x",
                                raw_query=sdk.raw_query,
                                extra=[(n, v) for n, v in sdk.headers if n in names and n not in ("Host", "X-Sdk-Date")])
    assert dict(sdk.headers)["Authorization"] == dict(mine.headers)["Authorization"]


@pytest.mark.parametrize("raw_query", ["b=2&a=1&a=0&a=10", "empty=&flag&x=", "a+b=c%2Bd&%7e=~",
                                       "k=%E4%B8%80%20(%26%3D%3F!%23%25.*)", "&&z=1&&"])
@pytest.mark.parametrize("raw_path", ["/v1/clusters", "/v1/x%20y/(a)!*'", "/a%zz/%FF%41/%E2%82", "/a//b/"])
def test_canonicalisation_matches_the_independent_signer(
    installation: Installation, key: NewAccessKey, raw_path: str, raw_query: str
) -> None:
    signature = independently_signed(key.ak, key.sk, installation.clock.now, raw_path=raw_path, raw_query=raw_query,
                                     extra=[("X-Custom", "\t inner   spaces \t")])
    assert listed(installation.registry, signature) == 3


# --- accessinfo, signed ------------------------------------------------------------


@pytest.mark.backends
def test_a_signed_accessinfo_succeeds_for_a_granted_principal(installation: Installation, key: NewAccessKey,
                                                              has_key: Callable[[list[str]], bool]) -> None:
    registry, cluster = installation.registry, installation.public_cluster
    path = f"/v1/clusters/{cluster}/accessinfo"
    signature = sdk_signed(key, installation.clock.now, resource_path=path,
                           headers={"Content-Type": "application/json"})
    assert registry.judge_access_info(cluster, None, signature=signature) == (None, installation.principal)
    assert has_key(registry.access_info(cluster, None, signature=signature))
    assert registry.access_info(cluster, None, signature=signature) == ["Downloaded"]
    assert [d.principal for d in registry.downloads()] == [installation.principal]
    # Not granted: the one forbidden body of an unknown cluster.
    stranger = registry.create_access_key("mallory", ttl_seconds=60)
    with pytest.raises(ForbiddenError) as caught:
        registry.access_info(cluster, None, signature=sdk_signed(stranger, installation.clock.now, resource_path=path))
    assert caught.value.code == "UCS.01000004" and "cluster" in caught.value.message.lower()


def tampered(signature: SignedRequest, *, method: Optional[str] = None, raw_path: Optional[str] = None,
             raw_query: Optional[str] = None, headers: Optional[list[tuple[str, str]]] = None,
             body_sha256: Optional[str] = None) -> SignedRequest:
    """`signature` with the given parts replaced."""
    return SignedRequest(
        method if method is not None else signature.method,
        raw_path if raw_path is not None else signature.raw_path,
        raw_query if raw_query is not None else signature.raw_query,
        headers if headers is not None else list(signature.headers),
        body_sha256 if body_sha256 is not None else signature.body_sha256,
    )


def replaced_header(signature: SignedRequest, name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in signature.headers]


def authorization_of(signature: SignedRequest) -> str:
    return dict(signature.headers)["Authorization"]


@pytest.mark.backends
def test_every_tampered_part_is_the_one_bad_token_403(installation: Installation, key: NewAccessKey) -> None:
    registry, cluster, clock = installation.registry, installation.public_cluster, installation.clock
    good = sdk_signed(key, clock.now, resource_path=f"/v1/clusters/{cluster}/accessinfo",
                      query=[("region", "eu-de")], headers={"Content-Type": "application/json", "X-Domain-Id": "d"},
                      body=b"")
    auth = authorization_of(good)
    signature_hex = auth.rsplit("Signature=", 1)[1]
    flipped = signature_hex[:-1] + ("0" if signature_hex[-1] != "0" else "1")
    other_ak = ("A" if key.ak[0] != "A" else "B") + key.ak[1:]
    cases = {
        "method": tampered(good, method="DELETE"),
        "path": tampered(good, raw_path=f"/v1/clusters/{cluster}"),
        "query": tampered(good, raw_query="region=eu-fr"),
        "signed header": tampered(good, headers=replaced_header(good, "X-Domain-Id", "other")),
        "body": tampered(good, body_sha256=hashlib.sha256(b"x").hexdigest()),
        "signature": tampered(good, headers=replaced_header(good, "Authorization", auth.replace(signature_hex, flipped))),
        "unknown AK": tampered(good, headers=replaced_header(good, "Authorization", auth.replace(key.ak, other_ak))),
        "algorithm": tampered(good, headers=replaced_header(good, "Authorization", auth.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3"))),
        "no Authorization": tampered(good, headers=[h for h in good.headers if h[0] != "Authorization"]),
        "two Authorization": tampered(good, headers=[*good.headers, ("authorization", auth)]),
        "unsigned date": tampered(good, headers=replaced_header(good, "Authorization", auth.replace(";x-sdk-date", ""))),
        "malformed date": tampered(good, headers=replaced_header(good, "X-Sdk-Date", "2020-01-01T00:00:00Z")),
        "missing date": tampered(good, headers=[h for h in good.headers if h[0] != "X-Sdk-Date"]),
        "overlong": tampered(good, headers=replaced_header(good, "Authorization", auth + " " * 3000)),
        "upper-case hex": tampered(good, headers=replaced_header(good, "Authorization", auth.replace(signature_hex, signature_hex.upper()))),
    }
    bad_token = None
    with pytest.raises(ForbiddenError) as caught:
        registry.access_info(cluster, "cat_not-a-token")
    bad_token = error_body(caught.value)
    details = {}
    for name, signature in cases.items():
        with pytest.raises(ForbiddenError) as caught:
            registry.access_info(cluster, None, vpcendpoint=None, signature=signature)
        assert error_body(caught.value) == bad_token, name
        assert caught.value.status == 403 and caught.value.code == "UCS.01000004", name
        assert caught.value.log_detail.startswith("signature: "), name
        assert signature_hex not in caught.value.log_detail and key.sk not in caught.value.log_detail, name
        assert signature_hex not in str(caught.value) and key.sk not in repr(caught.value), name
        details[name] = caught.value.log_detail
    assert "does not match" in details["body"] and key.ak in details["body"]
    assert details["unknown AK"] == f"signature: unknown access key (access key {other_ak})"
    assert details["algorithm"] == "signature: malformed Authorization header"
    assert details["unsigned date"] == "signature: x-sdk-date is not a signed header"
    # The date window: 15 minutes either way, from the registry's clock.
    clock.advance(15 * 60 + 1)
    with pytest.raises(ForbiddenError) as caught:
        registry.access_info(cluster, None, signature=good)
    assert error_body(caught.value) == bad_token and "15 minutes" in caught.value.log_detail
    clock.advance(-(15 * 60 + 1))
    # Revoked, then expired keys.
    registry.revoke_access_key(key.ak)
    with pytest.raises(ForbiddenError) as caught:
        registry.access_info(cluster, None, signature=good)
    assert error_body(caught.value) == bad_token and "revoked" in caught.value.log_detail
    fresh = registry.create_access_key(installation.principal, ttl_seconds=60)
    clock.advance(60)
    with pytest.raises(ForbiddenError) as caught:
        registry.access_info(cluster, None, signature=sdk_signed(fresh, clock.now))
    assert error_body(caught.value) == bad_token and "expired" in caught.value.log_detail
    assert registry.downloads() == []


@pytest.mark.backends
def test_a_live_token_is_enough_whatever_the_signature(installation: Installation) -> None:
    registry = installation.registry
    junk = SignedRequest("GET", "/", "", [("Authorization", "junk")])
    assert registry.api_list(installation.token, signature=junk)["total"] == 3
    with pytest.raises(ForbiddenError) as caught:
        registry.api_list("cat_unknown", signature=junk)
    assert caught.value.log_detail == "signature: malformed Authorization header"
    with pytest.raises(ForbiddenError) as caught:
        registry.api_list("cat_unknown")
    assert caught.value.log_detail == ""


# --- access keys ------------------------------------------------------------------------


@pytest.mark.backends
def test_access_key_lifecycle_and_the_sk_never_listed(installation: Installation) -> None:
    registry, clock = installation.registry, installation.clock
    key = registry.create_access_key("bob", ttl_seconds=120)
    assert len(key.ak) == 20 and key.ak.isalnum() and key.ak.upper() == key.ak
    assert len(key.sk) == 40 and key.sk.isalnum()
    assert (key.created_at, key.expires_at) == (clock.now, clock.now + 120)
    assert key.sk not in repr(key)
    (listed_key,) = registry.access_keys()
    assert (listed_key.ak, listed_key.principal, listed_key.revoked_at) == (key.ak, "bob", None)
    assert not hasattr(listed_key, "sk")
    assert key.sk not in repr(registry.access_keys())
    clock.advance(5)
    registry.revoke_access_key(key.ak)
    assert registry.access_keys()[0].revoked_at == clock.now
    clock.advance(5)
    registry.revoke_access_key(key.ak)  # harmless; the first time stays
    assert registry.access_keys()[0].revoked_at == clock.now - 5
    with pytest.raises(NotFoundError):
        registry.revoke_access_key("A" * 20)
    for principal, ttl in [("", 60), ("bob", 0)]:
        with pytest.raises(ClusterAccessError) as caught:
            registry.create_access_key(principal, ttl_seconds=ttl)
        assert caught.value.status == 400


@pytest.mark.backends
def test_the_sk_is_sealed_at_rest(installation: Installation) -> None:
    registry = installation.registry
    keys = [registry.create_access_key("bob", ttl_seconds=60) for _ in range(3)]
    registry.close()
    if installation.location.backend == "sqlite":
        stored = b"".join(path.read_bytes() for path in installation.path.parent.iterdir() if path.is_file()
                          and path.name.startswith(installation.path.name) and not path.name.endswith(".key"))
    else:
        # Every row of the registry's schema, as pg_dump reads it from the server.
        stored = installation.location.dump().encode()
    for key in keys:
        assert key.ak.encode() in stored  # the rows are there ...
        assert key.sk.encode() not in stored  # ... their secrets are not


@pytest.mark.backends
def test_the_command_line_creates_lists_and_revokes(installation: Installation, python_env: dict[str, str]) -> None:
    installation.registry.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "clusteraccess", *installation.location.cli_args(), *args],
                              capture_output=True, text=True, env=python_env, timeout=60)

    created = run("accesskey", "create", "carol", "--ttl", "600")
    assert created.returncode == 0 and created.stderr == ""
    ak_line, sk_line = created.stdout.splitlines()
    ak, sk = ak_line.removeprefix("AK "), sk_line.removeprefix("SK ")
    assert len(ak) == 20 and len(sk) == 40
    table = run("accesskey", "list")
    as_json = run("accesskey", "list", "--json")
    assert ak in table.stdout and sk not in table.stdout + as_json.stdout
    (row,) = json.loads(as_json.stdout)
    assert set(row) == {"ak", "principal", "created_at", "expires_at", "revoked_at"}
    assert (row["ak"], row["principal"], row["revoked_at"]) == (ak, "carol", None)
    assert run("accesskey", "revoke", ak).returncode == 0
    assert json.loads(run("accesskey", "list", "--json").stdout)[0]["revoked_at"] is not None
    missing = run("accesskey", "revoke", "B" * 20)
    assert missing.returncode == 44 and sk not in missing.stderr
    with installation.location.open() as registry:
        with pytest.raises(ForbiddenError):
            registry.api_list(None, signature=independently_signed(ak, sk, int(time.time())))


@pytest.mark.backends
def test_a_signed_request_of_a_cli_made_key_verifies(installation: Installation, python_env: dict[str, str]) -> None:
    installation.registry.close()
    created = subprocess.run([sys.executable, "-m", "clusteraccess", *installation.location.cli_args(),
                              "accesskey", "create", installation.principal],
                             capture_output=True, text=True, env=python_env, timeout=60)
    ak, sk = (line.split(" ", 1)[1] for line in created.stdout.splitlines())
    with installation.location.open() as registry:
        signature = independently_signed(ak, sk, int(time.time()))
        assert registry.api_list(None, signature=signature)["total"] == 3


def test_signature_argument_types(installation: Installation) -> None:
    with pytest.raises(TypeError):
        installation.registry.access_info(installation.public_cluster, None, signature="not a request")  # type: ignore[arg-type]
