"""The rendered manifest is what a Kubernetes API server accepts, and its pod meets the restricted Pod Security Standard.

Every object of a first download is validated with kubernetes-validate, strict (no field the API does not
know), against the schemas of the newest Kubernetes version the package ships. The schemas are package data:
the tests run without a network, and a fixture makes sure of it.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

if TYPE_CHECKING:
    from conftest import Installation, Manifest

ManifestOf = Callable[[list[str]], "Manifest"]

# The restricted profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/), with the
# baseline rules it includes.
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
RESTRICTED_CAPABILITIES = {"NET_BIND_SERVICE"}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(pod_template: dict[str, Any]) -> list[str]:
    """The rules of the restricted Pod Security Standard that `pod_template` (metadata + spec) breaks."""
    spec: dict[str, Any] = pod_template["spec"]
    annotations: dict[str, str] = pod_template.get("metadata", {}).get("annotations", {})
    pod_context: dict[str, Any] = spec.get("securityContext", {})
    containers = [
        *spec.get("initContainers", []),
        *spec.get("containers", []),
        *spec.get("ephemeralContainers", []),
    ]
    contexts: list[tuple[str, dict[str, Any]]] = [("pod", pod_context)] + [
        (f"container {c['name']}", c.get("securityContext", {})) for c in containers
    ]
    violations: list[str] = []

    # Baseline.
    for where, context in contexts:
        if context.get("windowsOptions", {}).get("hostProcess"):
            violations.append(f"{where}: hostProcess")
        if context.get("privileged"):
            violations.append(f"{where}: privileged")
        if context.get("procMount", "Default") != "Default":
            violations.append(f"{where}: procMount")
        selinux = context.get("seLinuxOptions", {})
        if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            violations.append(f"{where}: seLinuxOptions")
        if context.get("appArmorProfile", {}).get("type", "RuntimeDefault") not in {"RuntimeDefault", "Localhost"}:
            violations.append(f"{where}: appArmorProfile")
        # Restricted: non-root, and seccomp never Unconfined.
        if context.get("runAsNonRoot") is False:
            violations.append(f"{where}: runAsNonRoot false")
        if context.get("runAsUser") == 0:
            violations.append(f"{where}: runAsUser 0")
        if context.get("seccompProfile", {}).get("type") == "Unconfined":
            violations.append(f"{where}: seccomp Unconfined")
    for key, value in annotations.items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            violations.append(f"annotation {key}")
    for namespace in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(namespace):
            violations.append(namespace)
    for sysctl in pod_context.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            violations.append(f"sysctl {sysctl['name']}")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            violations.append(f"volume {volume['name']}: hostPath")
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            violations.append(f"volume {volume['name']}: {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")

    # Restricted, for every container, the pod's setting counting where there is one.
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = pod_context.get("seccompProfile", {}).get("type") in {"RuntimeDefault", "Localhost"}
    for container in containers:
        name = container["name"]
        context = container.get("securityContext", {})
        for port in container.get("ports", []):
            if port.get("hostPort", 0) != 0:
                violations.append(f"container {name}: hostPort")
        if context.get("allowPrivilegeEscalation") is not False:
            violations.append(f"container {name}: allowPrivilegeEscalation not false")
        if not (pod_non_root or context.get("runAsNonRoot") is True):
            violations.append(f"container {name}: runAsNonRoot not true")
        if not (pod_seccomp or context.get("seccompProfile", {}).get("type") in {"RuntimeDefault", "Localhost"}):
            violations.append(f"container {name}: no RuntimeDefault or Localhost seccomp profile")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            violations.append(f"container {name}: capabilities not dropping ALL")
        added = set(capabilities.get("add", []))
        if not added <= BASELINE_CAPABILITIES or not added <= RESTRICTED_CAPABILITIES:
            violations.append(f"container {name}: capabilities added {sorted(added - RESTRICTED_CAPABILITIES)}")
    return violations


def newest_kubernetes_version() -> str:
    """The newest Kubernetes version whose schemas kubernetes-validate ships."""
    version: str = kubernetes_validate.latest_version()
    return version


def validate_strict(document: dict[str, Any]) -> str:
    """Validates `document` strictly against the newest schemas; returns the version validated against."""
    validated: str = kubernetes_validate.validate(document, newest_kubernetes_version(), strict=True)
    return validated


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails any attempt to open a network connection: the schemas must come from the package."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


@pytest.fixture(params=["public", "private"])
def rendered(request: pytest.FixtureRequest, installation: Installation) -> list[dict[str, Any]]:
    """Every object of the first download of the public or of the private cluster, parsed as kubectl reads them."""
    if request.param == "public":
        documents = installation.registry.access_info(installation.public_cluster, installation.token)
    else:
        documents = installation.registry.access_info(
            installation.private_cluster, installation.token, vpcendpoint="10.1.2.3", region=installation.region
        )
    objects = [obj for obj in yaml.safe_load_all("---\n".join(documents)) if obj is not None]
    assert [obj["kind"] for obj in objects] == ["Secret", "Deployment"]
    return objects


def deployment_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The Deployment among `objects`."""
    (deployment,) = [obj for obj in objects if obj["kind"] == "Deployment"]
    return deployment


def test_kubernetes_validate_knows_a_current_kubernetes() -> None:
    major, minor, *_ = (int(part) for part in newest_kubernetes_version().split("."))
    assert (major, minor) >= (1, 37)


def test_every_object_is_valid_for_the_newest_kubernetes_strictly(rendered: list[dict[str, Any]]) -> None:
    newest = newest_kubernetes_version()
    for obj in rendered:
        assert newest.startswith(validate_strict(obj)), obj["kind"]


def test_strict_validation_refuses_an_unknown_field(rendered: list[dict[str, Any]]) -> None:
    """The negative control: strict validation does refuse what the API would, so the test above can fail."""
    deployment = deployment_of(rendered)
    validate_strict(deployment)
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["securityContext"]["runAsNonRooot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(misspelt)
    unknown_top = copy.deepcopy(deployment)
    unknown_top["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(unknown_top)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "2"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(wrong_type)


def test_pod_meets_the_restricted_pod_security_standard(rendered: list[dict[str, Any]]) -> None:
    template = deployment_of(rendered)["spec"]["template"]
    assert restricted_violations(template) == []

    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["securityContext"]["runAsUser"], int) and pod["securityContext"]["runAsUser"] > 0
    assert isinstance(pod["securityContext"]["runAsGroup"], int) and pod["securityContext"]["runAsGroup"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}


def _set(path: list[str], value: object) -> Callable[[dict[str, Any]], None]:
    """A change to a pod template: sets the value at `path` (containers by index), making dicts on the way."""

    def change(template: dict[str, Any]) -> None:
        node: Any = template
        for key in path[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(path[-1])] = value
        else:
            node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("rule", "change"),
    [
        ("privilege escalation", _set(["spec", "containers", "0", "securityContext", "allowPrivilegeEscalation"], True)),
        ("capabilities kept", _set(["spec", "containers", "0", "securityContext", "capabilities"], {})),
        ("capability added", _set(["spec", "containers", "0", "securityContext", "capabilities", "add"], ["NET_ADMIN"])),
        ("root user", _set(["spec", "securityContext", "runAsUser"], 0)),
        ("root allowed", _set(["spec", "securityContext", "runAsNonRoot"], False)),
        ("container as root", _set(["spec", "containers", "0", "securityContext", "runAsNonRoot"], False)),
        ("no seccomp", _set(["spec", "securityContext", "seccompProfile"], {})),
        ("seccomp unconfined", _set(["spec", "containers", "0", "securityContext", "seccompProfile"], {"type": "Unconfined"})),
        ("privileged", _set(["spec", "containers", "0", "securityContext", "privileged"], True)),
        ("host network", _set(["spec", "hostNetwork"], True)),
        ("host port", _set(["spec", "containers", "0", "ports"], [{"containerPort": 80, "hostPort": 80}])),
        ("host path", _set(["spec", "volumes", "0"], {"name": "root", "hostPath": {"path": "/"}})),
        ("unsafe sysctl", _set(["spec", "securityContext", "sysctls"], [{"name": "kernel.msgmax", "value": "1"}])),
        ("selinux user", _set(["spec", "securityContext", "seLinuxOptions"], {"user": "system_u"})),
        ("proc mount", _set(["spec", "containers", "0", "securityContext", "procMount"], "Unmasked")),
        ("apparmor", _set(["spec", "securityContext", "appArmorProfile"], {"type": "Unconfined"})),
    ],
)  # fmt: skip
def test_restricted_check_finds_each_broken_rule(
    rendered: list[dict[str, Any]], rule: str, change: Callable[[dict[str, Any]], None]
) -> None:
    """The checker's negative controls: each change breaks one rule of the profile, and it says so."""
    template = copy.deepcopy(deployment_of(rendered)["spec"]["template"])
    change(template)
    assert restricted_violations(template) != [], rule
