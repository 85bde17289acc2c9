"""What each supported operator looks like: where it runs, its CRDs, webhook target and probe objects.

``kuberay`` and ``kubeflow-trainer`` are built in; ``generic`` is made from the inventory (a CRD name, an operator
selector, a valid and an invalid resource) by ``generic_profile``. ``OTHER_OPERATOR_CRDS`` are CRDs of AI
operators aiconform has no built-in profile for: found on a cluster without a built-in one, they make the
verdict Unknown (naming the generic profile's variables) rather than Not Implemented.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...kube import ClusterError


@dataclass(frozen=True)
class Profile:
    name: str
    namespace: str
    selector: str
    crds: tuple[str, ...]
    group: str
    version: str
    plural: str
    kind: str
    valid_manifest: str
    invalid_manifest: str
    install_hint: str
    # generic profile only: the resources from the inventory (the built-in ones are files in manifests/)
    valid_body: dict[str, Any] = field(default_factory=dict)
    invalid_body: dict[str, Any] = field(default_factory=dict)

    @property
    def builtin(self) -> str:
        """The built-in kind whose probe logic applies ("" for the generic profile)."""
        return "" if (self.valid_body or self.invalid_body) else self.kind


PROFILES = {
    "kuberay": Profile(
        name="KubeRay", namespace="kuberay-system", selector="app.kubernetes.io/name=kuberay-operator",
        crds=("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io"), group="ray.io", version="v1",
        plural="rayclusters", kind="RayCluster", valid_manifest="raycluster-valid.yml",
        invalid_manifest="raycluster-invalid.yml",
        install_hint=("the KubeRay Helm chart ships no webhook: install KubeRay's default-with-webhooks overlay, or "
                      "let aiconform's kuberay role register it (kuberay_webhook_enabled)")),
    "kubeflow-trainer": Profile(
        # upstream manifests/base/manager: pods labelled app.kubernetes.io/name=trainer, component=manager
        name="Kubeflow Trainer", namespace="kubeflow-system",
        selector="app.kubernetes.io/name=trainer,app.kubernetes.io/component=manager",
        crds=("trainjobs.trainer.kubeflow.org",), group="trainer.kubeflow.org", version="v1alpha1",
        plural="trainjobs", kind="TrainJob", valid_manifest="trainjob-valid.yml",
        invalid_manifest="trainjob-invalid.yml",
        install_hint="install Kubeflow Trainer with its validator.trainer.kubeflow.org webhook"),
}
BUILT_IN = tuple(PROFILES)  # detection order

# CRDs of AI operators with no built-in profile (testable with operator: generic), by the project's own names.
OTHER_OPERATOR_CRDS = {
    "dynamographdeployments.nvidia.com": "NVIDIA Dynamo",
    "inferenceservices.serving.kserve.io": "KServe",
    "pytorchjobs.kubeflow.org": "Kubeflow Training Operator v1",
    "mpijobs.kubeflow.org": "Kubeflow MPI Operator",
    "leaderworkersets.leaderworkerset.x-k8s.io": "LeaderWorkerSet",
    "jobsets.jobset.x-k8s.io": "JobSet",
    "notebooks.kubeflow.org": "Kubeflow Notebooks",
}

GENERIC_VARS = ("aiconform_robust_controller_operator: generic with aiconform_robust_controller_operator_crd, "
                "_operator_selector, _operator_valid_resource and _operator_invalid_resource")
# Status that counts as reconciled for a generic resource: a True condition of one of these types, or
# status.state / status.phase equal to one of these words (case-insensitive).
READY_CONDITIONS = ("Ready", "Available", "Complete", "Completed", "Succeeded", "Successful", "Running")
READY_STATES = ("ready", "available", "running", "succeeded", "successful", "complete", "completed", "deployed")


class ProfileError(ClusterError):
    """The generic profile's inventory variables are missing or inconsistent (an actionable message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="config")


def generic_profile(opts: dict[str, Any], crd: dict[str, Any]) -> Profile:
    """The generic profile from the options and the CRD as read (``crd``: the API object as a dict)."""
    name = opts.get("operator_crd") or ""
    spec = crd.get("spec") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served")]
    if not versions:
        raise ProfileError(f"CRD {name} serves no version")
    if spec.get("scope") == "Cluster":
        raise ProfileError(f"CRD {name} is cluster-scoped: aiconform creates the probe resources in its probe "
                           "namespace, so the generic profile needs a namespaced CRD")
    valid, invalid = opts.get("operator_valid_resource") or {}, opts.get("operator_invalid_resource") or {}
    version = next((v["name"] for v in versions if v.get("storage")), versions[0]["name"])
    given = str(valid.get("apiVersion") or "") if isinstance(valid, dict) else ""
    if given.startswith(f"{spec.get('group')}/") and given.split("/", 1)[1] in {v["name"] for v in versions}:
        version = given.split("/", 1)[1]
    names = spec.get("names") or {}
    for var, body in (("operator_valid_resource", valid), ("operator_invalid_resource", invalid)):
        if not isinstance(body, dict) or not (body.get("metadata") or {}).get("name"):
            raise ProfileError(f"aiconform_robust_controller_{var} must be a {names.get('kind') or name} "
                               "manifest (a mapping with metadata.name)")
        if body.get("kind") and body["kind"] != names.get("kind"):
            raise ProfileError(f"aiconform_robust_controller_{var} is a {body['kind']}, but CRD {name} defines "
                               f"{names.get('kind')}")
    return Profile(
        name=names.get("kind") or name, namespace=opts.get("operator_namespace") or "",
        selector=opts.get("operator_selector") or "", crds=(name,), group=spec.get("group", ""), version=version,
        plural=names.get("plural", ""), kind=names.get("kind", ""), valid_manifest="operator_valid_resource",
        invalid_manifest="operator_invalid_resource",
        install_hint=f"register the operator's validating webhook for {spec.get('group')}/{names.get('plural')}",
        valid_body=valid, invalid_body=invalid)


def check_generic_options(opts: dict[str, Any]) -> None:
    """Before any call: the generic profile needs its CRD, selector and both resources."""
    needed = ("operator_crd", "operator_selector", "operator_valid_resource", "operator_invalid_resource")
    missing = [f"aiconform_robust_controller_{k}" for k in needed if not opts.get(k)]
    if missing:
        raise ProfileError("operator: generic needs " + ", ".join(missing))
