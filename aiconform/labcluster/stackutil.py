"""What the lab's extra stacks (``karpenter.py``, ``volcano.py``) share: their namespace and controllers' identity,
their controller-gen CRDs read from the lab cache, applied and waited for until Established, and their Deployments' readiness."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from aiconform import versions

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def pin(controller: str) -> dict[str, Any]:
    """The controller's entry of versions.yml ``lab.controllers``."""
    return dict(versions.get(f"lab.controllers.{controller}"))


def image(controller: str) -> str:
    """The image reference whose pods the lab's pod runner backs with the controller's binary."""
    img = versions.get(str(pin(controller)["image"]))
    return f"{img['registry']}/{img['repository']}:{img['tag']}"


def controller_identity(ns: str, service_account: str, binding: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, object) of a stack's namespace, its controllers' ServiceAccount, and that account bound to
    cluster-admin (the lab's stacks run upstream controllers whose exact RBAC is not what they test)."""
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        (f"/api/v1/namespaces/{ns}/serviceaccounts",
         {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account, "namespace": ns}}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
         {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": binding},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
          "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": ns}]}),
    ]


def read_crds(manifests: Path, stack: str,
              fixup: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The CRDs controller-gen wrote under ``manifests/crds`` (``fixup`` applied to each)."""
    files = sorted((manifests / "crds").glob("*.yaml"))
    if not files:
        raise RuntimeError(f"no CRDs in {manifests / 'crds'}: run `aiconform lab build --stack {stack}`")
    docs = [d for f in files for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d]
    return [fixup(d) for d in docs] if fixup else docs


def established(api: Any, name: str) -> bool:
    status, out = api.request("GET", f"{CRD_PATH}/{name}")
    return status == 200 and any(c.get("type") == "Established" and c.get("status") == "True"
                                 for c in (out.get("status") or {}).get("conditions") or [])


def apply_crds(api: Any, crds: list[dict[str, Any]], owner: str, timeout: float = 60) -> list[str]:
    """Create ``crds`` and wait until the API server serves each (Established); returns their names."""
    names = []
    for crd in crds:
        api.create(CRD_PATH, crd)
        names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    while not all(established(api, n) for n in names):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{owner}'s CRDs were not Established after {timeout:g}s: {', '.join(names)}")
        time.sleep(0.3)
    return names


def deployment_unready(api: Any, namespace: str, *names: str) -> str | None:
    """None when each of the Deployments has a Ready pod, else why not (the first that has none)."""
    for name in names:
        status, dep = api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        if status != 200 or not (dep.get("status") or {}).get("readyReplicas"):
            return f"Deployment {namespace}/{name} has no Ready pod"
    return None
