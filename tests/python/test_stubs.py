"""_core.pyi matches the compiled module: names, signatures, defaults and types.

The stub is read with ast; the module's own signatures come from the first
line of pybind11's docstrings ("name(self: T, a: int, *, b: str = 'x') -> R").
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import clusteraccess
from clusteraccess import _core

STUB = ast.parse(Path(clusteraccess.__file__).with_name("_core.pyi").read_text())

# Where the stub is deliberately more precise than pybind11's rendering: (runtime, stub).
REFINED = {
    # The clock defaults to None and accepts it; pybind11 does not say so.
    ("Registry.__init__", "clock"): ("Callable[[], int]", "Callable[[], int] | None"),
    # The cluster API's answers are JSON objects; pybind11 says only "dict".
    ("Registry.api_register", "return"): ("dict", "dict[str, Any]"),
    ("Registry.api_list", "return"): ("dict", "dict[str, Any]"),
    ("Registry.api_show", "return"): ("dict", "dict[str, Any]"),
    ("Registry.api_reactivate", "return"): ("dict", "dict[str, Any]"),
    ("Cluster.to_sdk", "return"): ("dict", "dict[str, Any]"),
}


def normalized(annotation: str) -> str:
    """pybind11's spelling of a type, in the stub's."""
    annotation = annotation.replace("typing.SupportsInt | typing.SupportsIndex", "int")
    return re.sub(r"\b(clusteraccess\._core|collections\.abc|typing)\.", "", annotation)


def members(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The names a stub module or class body defines."""
    found: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
    return found


STUB_MODULE = members(STUB.body)
STUB_CLASSES = {name: node for name, node in STUB_MODULE.items() if isinstance(node, ast.ClassDef)}


def is_property(node: ast.stmt) -> bool:
    """True for a stub function decorated with @property."""
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list
    )


def runtime_signature(function: Any) -> ast.FunctionDef:
    """The signature pybind11 wrote on the first line of `function`'s docstring."""
    first_line = (function.__doc__ or "").splitlines()[0]
    if first_line.startswith("("):  # a property's getter has no name
        first_line = "fget" + first_line
    node = ast.parse(f"def {first_line}: ...").body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def parameters(function: ast.FunctionDef) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, name, annotation, default) of each parameter, annotations and defaults as source."""
    args = function.args
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    rows = []
    for kind, arguments, values in [
        ("positional", positional, defaults),
        ("keyword", args.kwonlyargs, list(args.kw_defaults)),
    ]:
        for argument, default in zip(arguments, values):
            annotation = ast.unparse(argument.annotation) if argument.annotation else None
            rows.append((kind, argument.arg, annotation, ast.unparse(default) if default else None))
    return rows


def assert_same_signature(qualified: str, runtime: ast.FunctionDef, stub: ast.FunctionDef) -> None:
    """Same parameters (kind, name, type, default) and return type, up to REFINED."""
    runtime_parameters, stub_parameters = parameters(runtime), parameters(stub)
    assert [(kind, name) for kind, name, _, _ in runtime_parameters] == [
        (kind, name) for kind, name, _, _ in stub_parameters
    ], qualified
    for (_, name, runtime_type, runtime_default), (_, _, stub_type, stub_default) in zip(
        runtime_parameters, stub_parameters
    ):
        if name == "self":
            continue
        expected = REFINED.get((qualified, name), (normalized(runtime_type or ""), stub_type))
        assert (normalized(runtime_type or ""), stub_type) == expected, f"{qualified}({name})"
        assert ast.literal_eval(runtime_default or "...") == ast.literal_eval(stub_default or "..."), (
            f"{qualified}({name}) default"
        )
    assert_same_return(qualified, runtime, stub)


def assert_same_return(qualified: str, runtime: ast.FunctionDef, stub: ast.FunctionDef) -> None:
    """Same return type, up to REFINED."""
    assert runtime.returns is not None and stub.returns is not None, qualified
    runtime_type, stub_type = normalized(ast.unparse(runtime.returns)), ast.unparse(stub.returns)
    assert (runtime_type, stub_type) == REFINED.get((qualified, "return"), (runtime_type, runtime_type)), qualified


def public_names(namespace: object) -> set[str]:
    """The names a module or class defines itself, without a leading underscore."""
    return {name for name in vars(namespace) if not name.startswith("_")}


def test_stub_and_module_define_the_same_public_names() -> None:
    assert {name for name in STUB_MODULE if not name.startswith("_")} == public_names(_core)


@pytest.mark.parametrize("name", sorted(n for n in public_names(_core) if inspect.isroutine(getattr(_core, n))))
def test_module_functions_match(name: str) -> None:
    stub = STUB_MODULE[name]
    assert isinstance(stub, ast.FunctionDef)
    assert_same_signature(name, runtime_signature(getattr(_core, name)), stub)


@pytest.mark.parametrize("name", ["DOWNLOADED", "DEFAULT_AGENT_IMAGE"])
def test_module_constants_match(name: str) -> None:
    stub = STUB_MODULE[name]
    assert isinstance(stub, ast.AnnAssign)
    assert ast.unparse(stub.annotation) == "Final[str]"
    assert isinstance(getattr(_core, name), str)


CLASSES = ["Registry", "Cluster", "Region", "Download", "Event"]


@pytest.mark.parametrize("class_name", CLASSES)
def test_classes_have_the_same_members(class_name: str) -> None:
    stub_members = members(STUB_CLASSES[class_name].body)
    runtime_class = getattr(_core, class_name)
    assert {name for name in stub_members if not name.startswith("_")} == public_names(runtime_class)
    for name in public_names(runtime_class):
        runtime_member = getattr(runtime_class, name)
        assert is_property(stub_members[name]) == isinstance(runtime_member, property), f"{class_name}.{name}"


@pytest.mark.parametrize(
    ("class_name", "name"),
    [(c, n) for c in CLASSES for n in sorted(public_names(getattr(_core, c)))],
)
def test_class_members_have_the_same_signature(class_name: str, name: str) -> None:
    stub = members(STUB_CLASSES[class_name].body)[name]
    assert isinstance(stub, ast.FunctionDef)
    qualified = f"{class_name}.{name}"
    runtime_member = getattr(getattr(_core, class_name), name)
    if isinstance(runtime_member, property):
        assert runtime_member.fset is None, f"{qualified} is writable at runtime"
        assert_same_return(qualified, runtime_signature(runtime_member.fget), stub)
    else:
        assert_same_signature(qualified, runtime_signature(runtime_member), stub)


def test_registry_constructor_matches() -> None:
    stub = members(STUB_CLASSES["Registry"].body)["__init__"]
    assert isinstance(stub, ast.FunctionDef)
    assert_same_signature("Registry.__init__", runtime_signature(_core.Registry.__init__), stub)


EXCEPTIONS = ["ClusterAccessError", "BadRequestError", "ForbiddenError", "NotFoundError", "MethodNotAllowedError",
              "ConflictError", "RequestHeaderFieldsTooLargeError",
              "InternalError"]


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_classes_have_the_same_bases(name: str) -> None:
    stub_bases = [ast.unparse(base) for base in STUB_CLASSES[name].bases]
    assert stub_bases == [base.__name__ for base in getattr(_core, name).__bases__]


def test_exception_attributes_have_the_stub_types() -> None:
    annotations = {
        node.target.id: ast.unparse(node.annotation)
        for node in STUB_CLASSES["ClusterAccessError"].body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert annotations == {"status": "int", "code": "str", "message": "str", "log_detail": "str"}
    with pytest.raises(_core.ClusterAccessError) as caught:
        _core.validate_cluster_id("nope")
    for attribute, type_name in annotations.items():
        assert type(getattr(caught.value, attribute)).__name__ == type_name
