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


# -- scale from zero, Karpenter, managed autoscalers, choosing the autoscaler ----------------------------------
# AICR's kwok Karpenter NodePool (fixtures/stacks): its template labels are what the inventory's pool label selects.
NODEPOOL = SHARED / "stacks/NVIDIA_aicr__kwok_manifests_karpenter_nodepool.yaml"
FROM_ZERO_MSG = "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector."


def aicr_nodepool() -> dict[str, Any]:
    np = next(d for d in yaml.safe_load_all(_need(NODEPOOL)) if d and d.get("kind") == "NodePool")
    tmpl = np["spec"]["template"]
    return {"name": np["metadata"]["name"], "labels": tmpl["metadata"]["labels"],
            "node_class_group": tmpl["spec"]["nodeClassRef"]["group"], "limits": np["spec"]["limits"]}


def _karpenter_found(with_ca: bool = False) -> dict[str, Any]:
    from aiconform.verifiers.cluster_autoscaling.fetch import KARPENTER_PROVIDERS
    np = aicr_nodepool()
    mechs = [{"name": "karpenter", "managed": False, "deployments": ["karpenter/karpenter"], "nodepools": [np["name"]],
              "how": f"Deployment karpenter/karpenter; NodePools {np['name']}; NodeClass "
                     f"{KARPENTER_PROVIDERS[np['node_class_group']]}"}]
    if with_ca:
        mechs.insert(0, {"name": "cluster-autoscaler", "managed": True, "deployments": [],
                         "status_configmaps": ["kube-system/cluster-autoscaler-status"],
                         "how": "managed by the provider (ConfigMap kube-system/cluster-autoscaler-status, no "
                                "Deployment in the cluster)"})
    return {"present": True, "mechanisms": mechs, "karpenter_nodepool_details": [np], "looked_for": "..."}


def _from_zero(events: list[dict[str, Any]], *, up: bool = True, mechanism: dict[str, Any] | None = None):
    def build() -> dict[str, Any]:
        f = _base()
        found = _detected()
        found["mechanisms"] = [{"name": "cluster-autoscaler", "managed": True, "how": "managed by the provider "
                                "(ConfigMap kube-system/cluster-autoscaler-status, no Deployment in the cluster)"}]
        f["autoscaler"] = found
        f["mechanism"] = mechanism or {"name": "cluster-autoscaler", "source": "detected", "detected": True,
                                       "how": found["mechanisms"][0]["how"]}
        f["baseline"] = {"ok": True, "nodes": []}
        f["baseline_pods"] = {"count": 0, "pods": []}
        f["trigger"].update(names_resource=False, names_selector=True, pool_was_empty=True,
                            unschedulable_message=FROM_ZERO_MSG, scale_up_events=events,
                            triggered_scale_up=[e["message"] for e in events if e["reason"] == "TriggeredScaleUp"])
        if not up:
            f["trigger"].update(running_on_new_node=False, node=None, timeout="timed out after 1200s waiting for the "
                                "trigger pod to run on a new node")
            f["scale_down"] = None
        return f
    return build


def _gke_nodes() -> list[str]:
    return [g["name"] for g in gke_status()["nodeGroups"]]


def _ca_event() -> list[dict[str, Any]]:
    group = _gke_nodes()[0]  # a GKE node group name from the real status, as CA names it in the event
    return [{"reason": "TriggeredScaleUp", "source": "cluster-autoscaler", "autoscaler": "cluster-autoscaler",
             "message": f"pod triggered scale-up: [{{{group} 0->1 (max: 2)}}]"}]


def _karpenter_from_zero() -> dict[str, Any]:
    from aiconform.verifiers.cluster_autoscaling.fetch import _select
    np = aicr_nodepool()
    key, value = next(iter(np["labels"].items()))
    found = _karpenter_found(with_ca=True)  # both present: the NodePool owning the pool label decides
    claim = f"{np['name']}-x7k2q"
    f = _from_zero([{"reason": "Nominated", "source": "karpenter", "autoscaler": "karpenter",
                     "message": f"Pod should schedule on: nodeclaim/{claim}"}],
                   mechanism=_select(found, "auto", key, value))()
    f["autoscaler"] = found
    f["options"]["node_pool_label"] = f["selector"] = f"{key}={value}"
    f["trigger"].update(node=claim, nodeclaim={"name": claim, "nodepool": np["name"], "nodeName": claim})
    return f


def _ambiguous() -> dict[str, Any]:
    from aiconform.verifiers.cluster_autoscaling.fetch import _select
    f = _base()
    f["autoscaler"] = _karpenter_found(with_ca=True)
    f["mechanism"] = _select(f["autoscaler"], "auto", "nvidia.com/gpu.present", "true")
    for k in ("baseline", "baseline_pods", "trigger", "scale_down"):
        f.pop(k)
    return f


def _selector_only_with_nodes() -> dict[str, Any]:
    f = _from_zero(_ca_event())()
    f["baseline"] = _base()["baseline"]
    f["trigger"]["pool_was_empty"] = False
    return f


ZERO_CASES = [
    ("gke-managed-ca-from-zero", lambda: _from_zero(_ca_event())(), Status.IMPLEMENTED, "TriggeredScaleUp from "
     "cluster-autoscaler", {"TriggerPodUnschedulable": "pass", "StableBaseline": "pass"}),
    ("from-zero-no-event-no-node", lambda: _from_zero([], up=False)(), Status.NOT_IMPLEMENTED,
     "no autoscaler recorded a scale-up", {"TriggerPodUnschedulable": "fail", "ScaleUpOnNewNode": "fail"}),
    ("from-zero-grew-without-known-event", lambda: _from_zero([])(), Status.UNKNOWN,
     "no scale-up event aiconform recognises", {"TriggerPodUnschedulable": "fail", "ScaleUpOnNewNode": "pass"}),
    ("karpenter-aicr-nodepool-chosen-over-managed-ca", _karpenter_from_zero, Status.IMPLEMENTED,
     "Nominated from karpenter: Pod should schedule on: nodeclaim/gpu-autoscaling-test-x7k2q",
     {"ScaleUpOnNewNode": "pass"}),
    ("event-of-another-autoscaler-does-not-count", lambda: _from_zero(_ca_event(), mechanism={
        "name": "karpenter", "source": "inventory (aiconform_cluster_autoscaling_autoscaler)", "detected": False})(),
     Status.UNKNOWN, "no scale-up event aiconform recognises", {"TriggerPodUnschedulable": "fail"}),
    ("two-autoscalers-pool-unclaimed", _ambiguous, Status.UNKNOWN, "set aiconform_cluster_autoscaling_autoscaler",
     {"StableBaseline": "skip"}),
    ("selector-message-with-pool-nodes-is-not-enough", _selector_only_with_nodes, Status.NOT_IMPLEMENTED,
     "not for lack of nvidia.com/gpu", {"TriggerPodUnschedulable": "fail"}),
]


@pytest.mark.parametrize(("build", "status", "fragment", "checks"), [c[1:] for c in ZERO_CASES],
                         ids=[c[0] for c in ZERO_CASES])
def test_judge_scale_from_zero_and_mechanisms(build, status, fragment, checks):
    test_judge(build, status, fragment, checks)


def test_select_prefers_inventory_then_single_then_owner():
    from aiconform.verifiers.cluster_autoscaling.fetch import _select
    both = _karpenter_found(with_ca=True)
    assert _select(both, "cluster-autoscaler", "a", "b")["name"] == "cluster-autoscaler"
    assert _select(_karpenter_found(), "auto", "x", "y")["name"] == "karpenter"
    np = aicr_nodepool()
    assert _select(both, "auto", "karpenter.sh/nodepool", np["name"])["name"] == "karpenter"
    amb = _select(both, "auto", "karpenter.sh/nodepool", "other")
    assert amb.get("ambiguous") and len(amb["candidates"]) == 2
    assert _select({"mechanisms": []}, "auto", "a", "b") == {"name": None, "source": "none detected", "detected": False}


# -- DRA-only GPUs: VKS v1.36's ResourceSlices (NVIDIA DRA driver, one GRID A100-10C per node, no extended resource)
VKS_SLICES = SHARED / "stacks/cncf_k8s-ai-conformance__v1.36_vks_dra_support.md__resourceslices.yaml"
DRA_MSG = "0/5 nodes are available: 1 cannot allocate all claims, 4 node(s) didn't match Pod's node affinity/selector."


def vks_gpu_nodes() -> list[str]:
    doc = yaml.safe_load(_need(VKS_SLICES))
    return sorted(s["spec"]["nodeName"] for s in doc["items"] if s["spec"]["driver"] == "gpu.nvidia.com"
                  and any((d.get("attributes") or {}).get("type", {}).get("string") == "gpu" for d in s["spec"]["devices"]))


def _dra(**trigger: Any):
    def build() -> dict[str, Any]:
        f = _base()
        nodes = vks_gpu_nodes()
        f["claims"] = {"mode": "dra", "device_class": "gpu.nvidia.com", "driver": "gpu.nvidia.com", "type": "gpu",
                       "version": "v1", "source": "no allocatable nvidia.com/gpu: DRA"}
        f["baseline"] = {"ok": True, "nodes": nodes}
        f["baseline_pods"] = {"count": len(nodes), "pods": [{"name": f"baseline-{i}", "phase": "Running", "node": n}
                                                            for i, n in enumerate(nodes)]}
        f["trigger"].update(claims="dra", names_resource=True, unschedulable_message=DRA_MSG, pool_was_empty=False)
        f["trigger"].update(trigger)
        return f
    return build


DRA_CASES = [
    ("vks-dra-pool-grew-for-a-claim", _dra(), Status.IMPLEMENTED, "with one gpu.nvidia.com device (DRA) each",
     {"StableBaseline": "pass", "TriggerPodUnschedulable": "pass"}),
    ("vks-dra-pending-for-a-taint", _dra(names_resource=False, unschedulable_message="0/5 nodes are available: 1 node(s) "
                                         "had untolerated taint {nvidia.com/gpu: present}."),
     Status.NOT_IMPLEMENTED, "not for lack of gpu.nvidia.com device (DRA)", {"TriggerPodUnschedulable": "fail"}),
    ("deviceclass-missing", lambda: {**_dra()(), "claims": {"mode": "dra", "problem": "no allocatable nvidia.com/gpu on "
                                     "the pool's nodes, and DeviceClass gpu.nvidia.com is not there (DeviceClasses: "
                                     "none): set aiconform_cluster_autoscaling_device_class to the accelerator's "
                                     "DeviceClass"}},
     Status.UNKNOWN, "set aiconform_cluster_autoscaling_device_class", {"StableBaseline": "skip"}),
]


@pytest.mark.parametrize(("build", "status", "fragment", "checks"), [c[1:] for c in DRA_CASES],
                         ids=[c[0] for c in DRA_CASES])
def test_judge_dra_only(build, status, fragment, checks):
    test_judge(build, status, fragment, checks)
