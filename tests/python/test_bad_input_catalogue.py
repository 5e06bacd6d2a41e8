"""A catalogue of hostile and malformed inputs to access_info, one table row each.

Every row names the field under attack, the value, and the exact answer: the
HTTP status and UCS error code (and, for a 400, the parameter the message
names). The other fields of each request are valid, so that the row tests the
one rule it is about. The catalogue covers SQL and YAML injection, unicode
confusables, overlong values, NUL, CR/LF and whitespace, in all four inputs.

After every row the whole database -- every table, as `iterdump` writes it --
must be byte-for-byte what it was: no bad input changes anything. At the end
the registry still hands out each key exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import pytest

import clusteraccess
from clusteraccess import ClusterAccessError, Registry

if TYPE_CHECKING:
    from conftest import Location, Locations

FORBIDDEN = (403, "UCS.01000004")
BAD_PARAMETER = (400, "UCS.01000011")
CATEGORY = (400, "UCS.01030011")

# Fixed ids, so that rows can name them.
PUBLIC = "6f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a10"
PRIVATE = "0a2b4c6d-8e0f-4a1b-8c3d-5e7f9a1b3c5d"
CCE = "c0ffee00-1234-4abc-9def-0123456789ab"
NOT_GRANTED = "deadbeef-0000-4000-8000-000000000001"
VPC = "10.20.30.40"
REGION = "eu-de"

LONG = 10_000
SQL_OR = "' OR 1=1 --"
SQL_DROP = "x'; DROP TABLE clusters; --"
YAML = ["eu-de\nkind: Secret", "1.2.3.4\n  - --evil", "{a: b}", "&anchor", "*alias", "!!python/object"]


@dataclass(frozen=True)
class Row:
    """One bad request: the field under attack and what the API must answer."""

    field: str  # clusterid, token, vpcendpoint, region
    value: Union[None, str, Callable[[str], str]]  # a function makes the value from the live token
    status: int
    code: str
    names: Optional[str] = None  # the parameter a 400's message must name
    cluster: str = PUBLIC  # the cluster asked for, when the field is not the id
    label: Optional[str] = None

    def id(self) -> str:
        if self.label is not None:
            return f"{self.field}=<{self.label}>"
        shown = repr(self.value)
        if len(shown) > 40:
            shown = shown[:28] + f"...({len(str(self.value))} chars)"
        return f"{self.field}={shown}"

    def concrete(self, token: str) -> Optional[str]:
        """The value sent, given the live token."""
        if callable(self.value):
            return self.value(token)
        return self.value


def clusterid_rows() -> Iterator[Row]:
    bad = [
        PUBLIC.upper(),
        "{" + PUBLIC + "}",
        "urn:uuid:" + PUBLIC,
        PUBLIC.replace("-", ""),  # 32 bare hex digits
        PUBLIC[:-1],  # 35 characters
        PUBLIC + "0",  # 37 characters
        PUBLIC[:8] + PUBLIC[9] + "-" + PUBLIC[10:],  # a hyphen one place late
        PUBLIC[:7] + "g" + PUBLIC[8:],  # not hex
        " " + PUBLIC,
        PUBLIC + " ",
        PUBLIC + "\n",
        PUBLIC + "\r\n",
        PUBLIC[:8] + "\x00" + PUBLIC[9:],  # NUL where a hyphen belongs
        PUBLIC + "\x00",
        "",
        PUBLIC.replace("a", "\u0430"),  # Cyrillic a
        PUBLIC.replace("1", "\uff11"),  # fullwidth 1
        PUBLIC.replace("2", "\u0662"),  # Arabic-Indic 2
        PUBLIC.replace("-", "\u2010"),  # unicode hyphen
        PUBLIC.replace("-", "\u2013"),  # en dash
        PUBLIC[:4] + "\u200b" + PUBLIC[4:],  # zero-width space
        SQL_OR,
        SQL_DROP,
        PUBLIC[:24] + "' OR 1=1 -- ",  # 36 characters, hyphens in place
        *YAML,
        "../../../etc/passwd",
        "%36f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a1",  # percent-encoding is the HTTP layer's job
        "f" * LONG,
    ]
    for value in bad:
        yield Row("clusterid", value, *BAD_PARAMETER, names="clusterid")
    # Well-formed but unknown, or not granted: the one 403, no existence oracle.
    yield Row("clusterid", "00000000-0000-0000-0000-000000000000", *FORBIDDEN)
    yield Row("clusterid", NOT_GRANTED, *FORBIDDEN)
    yield Row("clusterid", CCE, *CATEGORY)


def token_rows() -> Iterator[Row]:
    # Values made from the live token, by a function of it.
    derived: dict[str, Callable[[str], str]] = {
        "token + ' '": lambda t: t + " ",
        "' ' + token": lambda t: " " + t,
        "token + LF": lambda t: t + "\n",
        "token + CRLF": lambda t: t + "\r\n",
        "token + NUL": lambda t: t + "\x00",
        "NUL inside token": lambda t: t[:10] + "\x00" + t[10:],
        "'Bearer ' + token": lambda t: "Bearer " + t,
        "token uppercased": lambda t: t.upper(),
        "token lowercased": lambda t: t.lower(),
        "token minus its last character": lambda t: t[:-1],
        "token + 'x'": lambda t: t + "x",
        "token with a Cyrillic c": lambda t: t.replace("c", "\u0441", 1),
        "token with a fullwidth underscore": lambda t: t.replace("_", "\uff3f", 1),
        "token's SHA-256 in hex (the stored form)": lambda t: hashlib.sha256(t.encode()).hexdigest(),
        "token's SHA-256 bytes as latin-1": lambda t: hashlib.sha256(t.encode()).digest().decode("latin-1"),
    }
    for label, make in derived.items():
        yield Row("token", make, *FORBIDDEN, label=label)
    for value in [None, "", " ", "t" * 257, "t" * LONG, SQL_OR, "x'; DROP TABLE tokens; --", "*", "%", *YAML]:
        yield Row("token", value, *FORBIDDEN)


def vpcendpoint_rows() -> Iterator[Row]:
    bad: list[Optional[str]] = [
        None,
        "",  # empty counts as not given
        "localhost",
        "proxy.example.com",
        "10.0.0.0/24",
        "1.2.3.4:80",
        "[2001:db8::1]",
        "fe80::1%eth0",
        "fe80::1",
        "0.0.0.0",
        "127.0.0.1",
        "169.254.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "0x0a.0.0.1",
        "10.1",
        " 10.0.0.1",
        "10.0.0.1 ",
        "10.0.0.1\n",
        "10.0.0.1\r\n",
        "10.0.0.1\x00",
        "10.0.0.1 # comment",
        "\u0661\u0660.\u0660.\u0660.\u0661",  # Arabic-Indic digits
        "\uff11\uff10.0.0.1",  # fullwidth digits
        SQL_OR,
        *YAML,
        "1" * LONG,
    ]
    for value in bad:
        yield Row("vpcendpoint", value, *BAD_PARAMETER, names="vpcendpoint", cluster=PRIVATE)
    # A public cluster takes no network parameters at all.
    yield Row("vpcendpoint", VPC, *BAD_PARAMETER, names="vpcendpoint", cluster=PUBLIC)


def region_rows() -> Iterator[Row]:
    bad: list[Optional[str]] = [
        None,
        "",
        "EU-DE",
        "eu-de ",
        " eu-de",
        "eu-de\n",
        "eu-de\r\n",
        "eu-de\x00",
        "eu--de",
        "-eu-de",
        "eu-de-",
        "eu_de",
        "eu.de",
        "unknown-region",
        "a" * 64,
        "a" * LONG,
        "\u0435u-de",  # Cyrillic ie
        "eu\u2010de",  # unicode hyphen
        SQL_OR,
        "x'; DROP TABLE regions; --",
        *YAML,
    ]
    for value in bad:
        yield Row("region", value, *BAD_PARAMETER, names="region", cluster=PRIVATE)
    yield Row("region", REGION, *BAD_PARAMETER, names="region", cluster=PUBLIC)


ROWS = [*clusterid_rows(), *token_rows(), *vpcendpoint_rows(), *region_rows()]


@dataclass
class World:
    registry: Registry
    location: Location
    token: str


# The catalogue on every storage backend.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, locations: Locations) -> Iterator[World]:
    location = locations.make(request.param, tmp_path_factory.mktemp("catalogue"))
    registry = location.open()
    registry.set_public_endpoint("proxy.example.com", 30123)
    registry.add_region(REGION, "proxy.eu-de.example.com", 30124)
    registry.register_cluster("public-one", provider="eks", cluster_id=PUBLIC)
    registry.register_cluster("private-one", provider="aks", network="private", cluster_id=PRIVATE)
    registry.register_cluster("cce-one", provider="cce", category="self", cluster_id=CCE)
    registry.register_cluster("not-granted", provider="gke", cluster_id=NOT_GRANTED)
    token = registry.create_token("alice", ttl_seconds=3600)
    for cluster_id in (PUBLIC, PRIVATE, CCE):
        registry.grant("alice", cluster_id)
    yield World(registry, location, token)


def dump(location: Location) -> str:
    """Every table of the database, as SQL text, read outside the library."""
    return location.dump()


def request_of(row: Row, token: str) -> dict[str, Optional[str]]:
    """The request of `row`: the bad field, and valid values for the others."""
    private = row.cluster == PRIVATE
    fields: dict[str, Optional[str]] = {
        "clusterid": row.cluster,
        "token": token,
        "vpcendpoint": VPC if private else None,
        "region": REGION if private else None,
    }
    fields[row.field] = row.concrete(token)
    return fields


def test_the_catalogue_is_large_and_covers_every_field() -> None:
    assert len(ROWS) >= 60
    counts = {field: sum(row.field == field for row in ROWS) for field in ("clusterid", "token", "vpcendpoint", "region")}
    assert min(counts.values()) >= 15, counts
    assert len({(row.field, row.label or row.value, row.cluster) for row in ROWS}) == len(ROWS), "duplicate rows"


@pytest.mark.parametrize("row", ROWS, ids=Row.id)
def test_bad_input_gets_the_exact_error_and_changes_nothing(world: World, row: Row) -> None:
    before = dump(world.location)
    fields = request_of(row, world.token)
    cluster_id = fields["clusterid"]
    assert cluster_id is not None
    with pytest.raises(ClusterAccessError) as caught:
        world.registry.access_info(
            cluster_id, fields["token"], vpcendpoint=fields["vpcendpoint"], region=fields["region"]
        )
    error = caught.value
    assert (error.status, error.code) == (row.status, row.code), error.message
    if row.names is not None:
        assert row.names in error.message
    value = fields[row.field]
    if value is not None and len(value) >= 6:
        assert value not in error.message, "the message echoes the request"
    assert dump(world.location) == before, "a refused request changed the database"


def test_after_the_catalogue_each_cluster_is_downloaded_exactly_once(world: World) -> None:
    registry, token = world.registry, world.token
    before = len(registry.downloads())
    assert before == 0
    public = registry.access_info(PUBLIC, token)
    private = registry.access_info(PRIVATE, token, vpcendpoint=VPC, region=REGION)
    for documents in (public, private):
        assert documents != [clusteraccess.DOWNLOADED]
        assert any("kind: Secret" in document for document in documents)
    assert registry.access_info(PUBLIC, token) == [clusteraccess.DOWNLOADED]
    assert registry.access_info(PRIVATE, token, vpcendpoint=VPC, region=REGION) == [clusteraccess.DOWNLOADED]
    assert [d.cluster_id for d in registry.downloads()] == [PUBLIC, PRIVATE]
