"""The clusteraccess package: its exports, version, typing marker and exception hierarchy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import clusteraccess
from clusteraccess import _core

REPOSITORY = Path(__file__).resolve().parents[2]
ERRORS = {
    "BadRequestError": 400,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "MethodNotAllowedError": 405,
    "ConflictError": 409,
    "RequestHeaderFieldsTooLargeError": 431,
    "InternalError": 500,
}


def test_all_names_the_public_api_of_the_core() -> None:
    public_core = {name for name in vars(_core) if not name.startswith("_")}
    assert set(clusteraccess.__all__) == public_core | {"__version__"}
    assert len(clusteraccess.__all__) == len(set(clusteraccess.__all__))


@pytest.mark.parametrize("name", sorted(set(clusteraccess.__all__) - {"__version__"}))
def test_exports_are_the_core_objects_themselves(name: str) -> None:
    assert getattr(clusteraccess, name) is getattr(_core, name)


def declared_version(file_name: str, pattern: str) -> str:
    """The version the repository file `file_name` declares, found by `pattern`."""
    match = re.search(pattern, (REPOSITORY / file_name).read_text(), re.MULTILINE)
    assert match is not None, file_name
    return match[1]


def test_version_matches_pyproject_and_cmake() -> None:
    assert declared_version("pyproject.toml", r'^version = "([^"]+)"') == clusteraccess.__version__
    assert declared_version("CMakeLists.txt", r"project\(clusteraccess VERSION (\S+)") == clusteraccess.__version__


def test_package_ships_its_typing_marker_and_stub() -> None:
    package = Path(clusteraccess.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()


@pytest.mark.parametrize(("name", "status"), ERRORS.items())
def test_every_error_is_a_cluster_access_error_of_one_status(name: str, status: int) -> None:
    error_type = getattr(clusteraccess, name)
    assert issubclass(error_type, clusteraccess.ClusterAccessError)
    assert issubclass(clusteraccess.ClusterAccessError, Exception)
    assert error_type.__module__ == "clusteraccess"
    assert (error_type.__doc__ or "").startswith(str(status))


def test_errors_carry_status_code_and_message() -> None:
    with pytest.raises(clusteraccess.BadRequestError) as caught:
        clusteraccess.validate_cluster_id("NOT-AN-ID")
    error = caught.value
    assert (error.status, error.code) == (400, "UCS.01000011")
    assert re.fullmatch(r"UCS\.\d{8}", error.code)
    assert str(error) == error.message
    assert "NOT-AN-ID" not in error.message
