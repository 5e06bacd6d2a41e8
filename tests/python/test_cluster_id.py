"""The cluster id rule: Kubernetes `k8s-uuid`, exactly as apimachinery validates it."""

from __future__ import annotations

import uuid

import pytest

from clusteraccess import (
    BadRequestError,
    Registry,
    is_valid_cluster_id,
    new_cluster_id,
    validate_cluster_id,
)

VALID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
assert len(VALID) == 36

ACCEPTED = [
    VALID,
    "00000000-0000-0000-0000-000000000000",  # nil
    "ffffffff-ffff-ffff-ffff-ffffffffffff",  # max
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # version 1
    "a3bb189e-8bf9-3888-9912-ace4e6543002",  # version 3
    "f47ac10b-58cc-4372-a567-0e02b2c3d479",  # version 4
    "886313e1-3b8a-5372-9b90-0c9aee199e5d",  # version 5
    "017f22e2-79b0-7cc3-98c4-dc0c0c07398f",  # version 7
    "01234567-89ab-cdef-0123-456789abcdef",  # no valid version or variant at all
]

REJECTED = {
    "uppercase": VALID.upper(),
    "one uppercase digit": VALID[:35] + "F",
    "mixed case": "0F1E2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "braces": "{" + VALID + "}",
    "braces in place of digits": "{" + VALID[1:35] + "}",
    "urn prefix": "urn:uuid:" + VALID,
    "32 bare hex digits": VALID.replace("-", ""),
    "35 characters": VALID[:35],
    "37 characters": VALID + "0",
    "hyphen moved": VALID[:7] + "-" + VALID[7] + VALID[9:],
    "hyphen missing, extra digit": VALID[:8] + "0" + VALID[9:],
    "hyphen at the end": VALID[:35] + "-",
    "non-hex letter g": "g" + VALID[1:],
    "underscore for hyphen": VALID.replace("-", "_"),
    "leading space": " " + VALID,
    "trailing space": VALID + " ",
    "trailing newline": VALID + "\n",
    "space in place of a digit": VALID[:10] + " " + VALID[11:],
    "tab in place of a digit": VALID[:10] + "\t" + VALID[11:],
    "newline in place of a digit": VALID[:35] + "\n",
    "embedded NUL in place of a digit": VALID[:10] + "\0" + VALID[11:],
    "trailing NUL": VALID + "\0",
    "empty": "",
    "hyphens only": "-" * 36,
}

# Non-ASCII digits: Arabic-Indic three (2 bytes in UTF-8) and fullwidth one (3 bytes).
ARABIC_3, FULLWIDTH_1 = "\u0663", "\uff11"
NON_ASCII = {
    # 36 code points (so 37 or 38 bytes of UTF-8)
    "Arabic-Indic digit, 36 code points": VALID[:35] + ARABIC_3,
    "fullwidth digit, 36 code points": FULLWIDTH_1 + VALID[1:],
    # 36 bytes of UTF-8 (so fewer code points)
    "Arabic-Indic digit, 36 UTF-8 bytes": VALID[:34] + ARABIC_3,
    "fullwidth digit, 36 UTF-8 bytes": VALID[:33] + FULLWIDTH_1,
    "non-ASCII in place of a hyphen, 36 UTF-8 bytes": VALID[:8] + "\u2010" + VALID[11:],
}


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepts_lowercase_canonical_ids_of_any_version(text: str) -> None:
    assert is_valid_cluster_id(text)
    assert validate_cluster_id(text) == text


@pytest.mark.parametrize("text", REJECTED.values(), ids=REJECTED.keys())
def test_rejects_anything_but_the_canonical_form(text: str) -> None:
    assert not is_valid_cluster_id(text)
    with pytest.raises(BadRequestError) as caught:
        validate_cluster_id(text)
    assert (caught.value.status, caught.value.code) == (400, "UCS.01000011")
    assert "clusterid" in caught.value.message


def test_non_ascii_cases_are_36_long_in_the_unit_they_name() -> None:
    for name, text in NON_ASCII.items():
        if "code points" in name:
            assert len(text) == 36 and len(text.encode()) > 36, name
        else:
            assert len(text.encode()) == 36 and len(text) < 36, name


@pytest.mark.parametrize("text", NON_ASCII.values(), ids=NON_ASCII.keys())
def test_rejects_non_ascii_digits_whether_36_code_points_or_36_bytes(text: str) -> None:
    assert not is_valid_cluster_id(text)
    with pytest.raises(BadRequestError):
        validate_cluster_id(text)


def test_new_ids_are_valid_random_version_4_uuids() -> None:
    ids = {new_cluster_id() for _ in range(100)}
    assert len(ids) == 100
    for text in ids:
        assert is_valid_cluster_id(text)
        assert uuid.UUID(text).version == 4
        assert str(uuid.UUID(text)) == text


def test_register_cluster_applies_the_same_rule_to_a_given_id(registry: Registry) -> None:
    with pytest.raises(BadRequestError):
        registry.register_cluster("upper", provider="eks", cluster_id=VALID.upper())
    assert registry.register_cluster("nil-id", provider="eks", cluster_id=ACCEPTED[1]) == ACCEPTED[1]


def test_registered_ids_are_returned_in_canonical_form(registry: Registry) -> None:
    cluster_id = registry.register_cluster("random", provider="gke")
    assert is_valid_cluster_id(cluster_id)
    assert registry.cluster(cluster_id).id == cluster_id
