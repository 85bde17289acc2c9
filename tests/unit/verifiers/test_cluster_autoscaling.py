"""cluster_autoscaling judge, table-driven on facts built from real autoscaler outputs.

Sources (parsed when ../shared is present, else skipped):
- kOps v1.35 transcript: 2 GPU nodes (`nvidia.com/gpu.present=true`), scaled to 3 for a third GPU pod, then
  back to 2 ("Cluster scaled down: GPU nodes decreased to 2").
- AICR GKE `cluster-autoscaler-status` (YAML status of CA >= 1.30): autoscalerStatus Running, node groups.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiconform.results import Status
from aiconform.verifiers.cluster_autoscaling import judge

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
KOPS = SHARED / "evidence/cncf-k8s-ai-conformance/v1.35/kops/tests/Test_SchedulingOrchestration_ClusterAutoscaling/output.md"
CA_STATUS = SHARED / "stacks/NVIDIA_aicr__docs_conformance_cncf_evidence_cluster-autoscaling.md__cluster-autoscaler-status.yaml"


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def kops_nodes() -> list[str]:
    m = re.search(r"Found 2 GPU nodes initially \(\[(.*?)\]\)", _need(KOPS))
    assert m, "kOps transcript changed"
    return [n.split("/", 1)[1] for n in m[1].split()]


def gke_status() -> dict[str, Any]:
    doc = yaml.safe_load(_need(CA_STATUS))
    return {"autoscalerStatus": doc["autoscalerStatus"], "health": doc["clusterWide"]["health"]["status"],
            "nodeGroups": [{"name": g["name"], **g["health"]} for g in doc["nodeGroups"]]}


def _detected() -> dict[str, Any]:
    return {"present": True, "deployments": [], "status_configmaps": ["kube-system/cluster-autoscaler-status"],
            "karpenter_nodepools": [], "status": gke_status(), "looked_for": "..."}


def _base() -> dict[str, Any]:
    nodes = kops_nodes()
    return {
        "options": {"node_pool_label": "nvidia.com/gpu.present=true", "accelerator_resource": "nvidia.com/gpu"},
        "selector": "nvidia.com/gpu.present=true", "autoscaler": _detected(),
        "baseline": {"ok": True, "nodes": nodes},
        "baseline_pods": {"count": 2, "pods": [{"name": f"baseline-{i}", "phase": "Running", "node": n}
                                               for i, n in enumerate(nodes)]},
        "trigger": {"pending": True, "names_resource": True, "running_on_new_node": True, "node": "i-0c1f2a3b4d5e6f708",
                    "unschedulable_message": "0/5 nodes are available: 2 Insufficient nvidia.com/gpu, 3 node(s) "
                                             "didn't match Pod's node affinity/selector.",
                    "duration_s": 150.0, "triggered_scale_up": [], "not_triggered": []},
        "scale_down": {"returned": True, "stable": True, "returned_after_s": 1110.0, "duration_s": 1140.0},
    }


def _set(**changes: Any):
    def build() -> dict[str, Any]:
        f = _base()
        for dotted, v in changes.items():
            node = f
            *path, last = dotted.split("__")
            for p in path:
                node = node[p]
            node[last] = v() if callable(v) else v  # callables read ../shared lazily (skip, not error, when absent)
        return f
    return build


def _not_configured(present: bool):
    def build() -> dict[str, Any]:
        auto = _detected() if present else {"present": False, "deployments": [], "status_configmaps": [],
                                            "karpenter_nodepools": [], "looked_for": "a Deployment named or "
                                            "labelled cluster-autoscaler in any namespace, a ConfigMap "
                                            "cluster-autoscaler-status in any namespace, and karpenter.sh NodePools"}
        return {"options": {"node_pool_label": None}, "autoscaler": auto}
    return build


CASES = [
    ("kops-2-to-3-and-back", _base, Status.IMPLEMENTED, "grew from 2 to 3", {"ScaleDownToBaseline": "pass"}),
    ("no-pool-no-autoscaler", _not_configured(False), Status.NOT_APPLICABLE,
     "looked for a Deployment named or labelled cluster-autoscaler", {"ScaleUpOnNewNode": "skip"}),
    ("no-pool-but-gke-autoscaler", _not_configured(True), Status.UNKNOWN,
     "kube-system/cluster-autoscaler-status", {}),
    ("never-added-a-node", _set(trigger__running_on_new_node=False, trigger__timeout="timed out after 1200s waiting "
                                "for the trigger pod to run on a new node", trigger__not_triggered=[
                                    "pod didn't trigger scale-up: 1 max node group size reached"]),
     Status.NOT_IMPLEMENTED, "max node group size reached", {"ScaleUpOnNewNode": "fail"}),
    ("ran-on-baseline-node", _set(trigger__running_on_new_node=False, trigger__node="i-030791dc5a37cd257"),
     Status.NOT_IMPLEMENTED, "a baseline node", {"ScaleUpOnNewNode": "fail"}),
    ("pending-for-another-reason", _set(trigger__names_resource=False,
                                        trigger__unschedulable_message="0/3 nodes are available: 3 node(s) had "
                                        "untolerated taint {kwok-provider: true}."),
     Status.NOT_IMPLEMENTED, "untolerated taint", {"TriggerPodUnschedulable": "fail"}),
    ("spare-capacity", _set(trigger__pending=False, trigger__bound_at_once_to="i-030791dc5a37cd257"),
     Status.NOT_IMPLEMENTED, "scheduled at once", {"TriggerPodUnschedulable": "fail"}),
    ("no-scale-down", _set(scale_down={"returned": False, "timeout": "timed out after 1800s waiting for the pool",
                                       "duration_s": 1800.0}),
     Status.NOT_IMPLEMENTED, "did not return to 2", {"ScaleDownToBaseline": "fail"}),
    ("scale-down-not-stable", _set(scale_down__stable=False, scale_down__problem="the pool went to 3 nodes during "
                                   "the 30s stability window"), Status.NOT_IMPLEMENTED, "stability window", {}),
    ("scale-down-skipped-is-not-a-pass", _set(scale_down=None), Status.NOT_IMPLEMENTED, "no scale-up to undo",
     {"ScaleDownToBaseline": "skip"}),
    ("baseline-node-with-2-gpus", _set(baseline=lambda: {"ok": False, "nodes": kops_nodes()[:1],
                                                         "problem": "i-030791dc5a37cd257 has 2 allocatable nvidia.com/gpu"}),
     Status.UNKNOWN, "has 2 allocatable", {"StableBaseline": "fail"}),
]


@pytest.mark.parametrize(("build", "status", "fragment", "checks"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(build, status, fragment, checks):
    verdict = judge(build())
    assert verdict.status is status, verdict.reasons
    text = " ".join(verdict.reasons) + " " + " ".join(c.reason for c in verdict.checks)
    assert fragment in text, text
    got = {c.name: c.outcome.value for c in verdict.checks}
    for name, outcome in checks.items():
        assert got[name] == outcome, got


def test_never_implemented_without_a_pool():
    for present in (True, False):
        assert judge(_not_configured(present)()).status is not Status.IMPLEMENTED
