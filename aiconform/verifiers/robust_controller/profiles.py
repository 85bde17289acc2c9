"""What each supported operator looks like: where it runs, its CRDs, webhook target and probe objects."""
from __future__ import annotations

from dataclasses import dataclass


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


PROFILES = {
    "kuberay": Profile(
        name="KubeRay", namespace="kuberay-system", selector="app.kubernetes.io/name=kuberay-operator",
        crds=("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io"), group="ray.io", version="v1",
        plural="rayclusters", kind="RayCluster", valid_manifest="raycluster-valid.yml",
        invalid_manifest="raycluster-invalid.yml",
        install_hint=("the KubeRay Helm chart ships no webhook: install KubeRay's default-with-webhooks overlay, or "
                      "let aiconform's kuberay role register it (kuberay_webhook_enabled)")),
    "kubeflow-trainer": Profile(
        name="Kubeflow Trainer", namespace="kubeflow-system", selector="app.kubernetes.io/name=kubeflow-trainer",
        crds=("trainjobs.trainer.kubeflow.org",), group="trainer.kubeflow.org", version="v1alpha1",
        plural="trainjobs", kind="TrainJob", valid_manifest="trainjob-valid.yml",
        invalid_manifest="trainjob-invalid.yml",
        install_hint="install Kubeflow Trainer with its validator.trainer.kubeflow.org webhook"),
}
