"""robust_controller: a complex AI operator with CRDs, webhooks and reconciliation (KAR-0063).

Upstream test: ``TestRobustCRDControllerOperation`` (requirements.md §4.2), which expects Kubeflow Trainer.
aiconform detects the operator (``operator: auto``): KubeRay (the reference stack's operator, with the validating
webhook its install role adds; stacks.md §13) or Kubeflow Trainer, whichever is installed, and runs the same
subtests for either; ``generic`` tests any other operator from the inventory (its CRD, operator pod selector, a
valid and an invalid resource). Only a webhook served by the operator's own Service counts. Timeouts default to
the upstream values.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "robust_controller"
TEST_NAME = "TestRobustCRDControllerOperation"
# What the probe holds while it runs (verifiers/holdings.py): the operator's pods for a valid resource.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The Ray image of the probe RayCluster (pinned in versions.yml verifier_probes).
DEFAULT_RAY_IMAGE = probe_image("ray")

OPTIONS: dict[str, dict[str, Any]] = {
    "operator": {
        "type": "str", "default": "auto", "choices": ["auto", "kuberay", "kubeflow-trainer", "generic"],
        "description": [('The operator to verify (upstream C(-operator); upstream accepts only '
                         'C(kubeflow-trainer)); C(auto) detects it.')],
        "sample": ('auto (detect KubeRay or Kubeflow Trainer) | kuberay | kubeflow-trainer (upstream -operator) | '
                   'generic'),
    },
    "operator_namespace": {
        "type": "str", "default": "",
        "description": ['Namespace of the operator pods; empty means C(kuberay-system) or C(kubeflow-system).'],
        "sample": '"" = kuberay-system / kubeflow-system (else any namespace)',
    },      # "" = kuberay-system / kubeflow-system
    "operator_selector": {
        "type": "str", "default": "",
        "description": [('Label selector of the operator pods; empty means '
                         'C(app.kubernetes.io/name=kuberay-operator) or '
                         'C(app.kubernetes.io/name=trainer,app.kubernetes.io/component=manager) (Kubeflow '
                         "Trainer's manifests).")],
        "sample": ('"" = app.kubernetes.io/name=kuberay-operator / Trainer\'s '
                   'app.kubernetes.io/name=trainer,app.kubernetes.io/component=manager'),
    },       # "" = app.kubernetes.io/name=<operator>
    # generic profile: the CRD (name), and one valid and one invalid resource of its kind (mappings)
    "operator_crd": {
        "type": "str", "default": "",
        "description": [("I(operator=generic) - name of the operator's namespaced CRD, e.g. "
                         'C(dynamographdeployments.nvidia.com).')],
        "sample": ("generic: the operator's namespaced CRD (e.g. dynamographdeployments.nvidia.com); also set the "
                   'selector'),
    },
    "operator_valid_resource": {
        "type": "dict", "default": {},
        "description": [("I(operator=generic) - a resource of the CRD's kind the operator must reconcile (a "
                         'mapping with C(metadata.name)).')],
        "sample": ('generic: a resource of that kind to be reconciled (ready-like condition True, or '
                   'status.state/phase ready)'),
    },
    "operator_invalid_resource": {
        "type": "dict", "default": {},
        "description": ["I(operator=generic) - a resource of the CRD's kind the operator's webhook must reject."],
        "sample": 'generic: one its own webhook must reject',
    },
    "operator_runtime_name": {
        "type": "str", "default": "torch-distributed",
        "description": ['ClusterTrainingRuntime of the valid TrainJob (upstream C(-operator-runtime-name)).'],
        "sample": 'ClusterTrainingRuntime (Trainer only)',
    },  # Trainer ClusterTrainingRuntime
    "operator_ready_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the operator pods to be Running and Ready (upstream 5m).'],
        "sample": 'seconds for operator pods Running (upstream 5m)',
    },      # upstream -operator-ready-timeout 5m
    "operator_reconcile_timeout": {
        "type": "int", "default": 180,
        "description": [('Seconds for the valid resource to be reconciled (upstream 3m; a RayCluster pulling a '
                         'large Ray image may need more).')],
        "sample": ('seconds for RayCluster ready / TrainJob Complete (upstream 3m; raise it when the Ray image is '
                   'pulled cold)'),
    },  # upstream -operator-reconcile-timeout 3m
    "ray_image": {
        "type": "str", "default": DEFAULT_RAY_IMAGE,
        "description": ['Ray image of the probe RayCluster; override for a mirror.'],
        "sample": 'image of the probe RayCluster',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
