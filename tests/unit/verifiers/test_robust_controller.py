"""robust_controller judge, table-driven on facts built from real operator outputs.

Sources (parsed when ../shared is present, else those cases skip):
- stacks/..._v1.36_vks_robust_controller.md__raycluster_rayjob_status.txt: KubeRay 1.4.2, `kubectl get pods`
  (operator Running 1/1, head and worker pods) and `kubectl get rayclusters` (1/1 workers, 2 CPUs, 3G, STATUS ready).
- evidence/NVIDIA-aicr/.../robust-operator.md: the webhook rejection as kubectl printed it (HTTP 403 Forbidden,
  'admission webhook "vdynamographdeployment.kb.io" denied the request: ...').
- evidence/.../kops/tests/TestOperator_RobustController_ViaKuberay/output.md: KubeRay from the Helm chart, a RayJob
  completes, no webhook is tested (the chart ships none).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aiconform.results import Outcome, Status
from aiconform.verifiers import robust_controller as rc
from aiconform.verifiers.robust_controller import judge

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
VKS = SHARED / "stacks" / "cncf_k8s-ai-conformance__v1.36_vks_robust_controller.md__raycluster_rayjob_status.txt"
AICR = SHARED / "evidence/NVIDIA-aicr/docs/conformance/cncf/evidence/robust-operator.md"
KOPS = SHARED / "evidence/cncf-k8s-ai-conformance/v1.35/kops/tests/TestOperator_RobustController_ViaKuberay/output.md"
CRDS = [{"name": n, "present": True, "established": True, "versions": ["v1"]}
        for n in ("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io")]
WEBHOOK = {"configuration": "kuberay-validating-webhook-configuration", "name": "vraycluster.kb.io", "ca_bundle": True,
           "failure_policy": "Fail", "service": "kuberay-system/kuberay-webhook-service/validate-ray-io-v1-raycluster"}
# The Ray docs' (webhooks.md) rejection of two worker groups named group1, as the API server relays it.
RAY_DENIAL = ('admission webhook "vraycluster.kb.io" denied the request: spec.workerGroupSpecs[1]: Invalid value: '
              '"group1": worker group names must be unique')


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def _table(text: str, header_start: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    # kubectl columns are separated by 2+ spaces; a header such as "DESIRED WORKERS" holds one space
    cols = [0, *(m.end() for m in re.finditer(r" {2,}", lines[i]))]
    names = [lines[i][a:b].strip() for a, b in zip(cols, [*cols[1:], None], strict=False)]
    rows = []
    for line in lines[i + 1:]:
        if not line.strip() or line.startswith("=="):
            break
        rows.append({n: line[a:b].strip() for n, a, b in zip(names, cols, [*cols[1:], None], strict=False)})
    return rows


def vks_facts() -> dict[str, Any]:
    """The VKS cluster as the verifier would see it (KubeRay 1.4.2), plus aiconform's webhook registration."""
    text = _need(VKS)
    pod_block = text.split("==== block at line 110 ====", 1)[1]
    pods = _table(pod_block, "NAME ")
    rcs = _table(text.split("==== block at line 121 ====", 1)[1], "NAME ")
    rc_row = rcs[0]
    operator = [p for p in pods if p["NAME"].startswith("kuberay-operator")]
    children = [p for p in pods if p["NAME"].startswith(rc_row["NAME"])]
    return {
        "operator": "kuberay", "operator_name": "KubeRay", "namespace": "default",
        "selector": "app.kubernetes.io/name=kuberay-operator",
        "pods": [{"name": p["NAME"], "namespace": "default", "phase": p["STATUS"], "ready": p["READY"] == "1/1",
                  "restarts": int(p["RESTARTS"])} for p in operator],
        "operator_conditions": [{"deployment": "kuberay-operator", "type": "Available", "status": "True"}],
        "crds": CRDS, "webhooks": [WEBHOOK],
        "invalid": {"accepted": False, "status": 422, "message": RAY_DENIAL, "by_webhook": True,
                    "webhook_unreachable": False},
        "valid": {"name": rc_row["NAME"], "created": True, "ready": rc_row["STATUS"] == "ready",
                  "status": {"state": rc_row["STATUS"], "desiredWorkerReplicas": int(rc_row["DESIRED WORKERS"]),
                             "availableWorkerReplicas": int(rc_row["AVAILABLE WORKERS"]), "desiredCPU": rc_row["CPUS"],
                             "desiredMemory": rc_row["MEMORY"], "desiredGPU": rc_row["GPUS"]},
                  "children": {"pods": [{"name": p["NAME"], "phase": p["STATUS"],
                                         "node_type": "head" if "-head-" in p["NAME"] else "worker"} for p in children],
                               "services": [f"{rc_row['NAME']}-head-svc"]}},
    }


def aicr_denial() -> tuple[int, str]:
    line = next(ln for ln in _need(AICR).splitlines() if "denied the request" in ln)
    status = 403 if "(Forbidden)" in line else 400
    return status, line.split('error when creating "STDIN": ', 1)[1]


def by_name(verdict: Any) -> dict[str, Any]:
    return {c.name: c for c in verdict.checks}


def test_vks_kuberay_with_webhook_is_implemented() -> None:
    facts = vks_facts()
    assert facts["valid"]["status"]["desiredCPU"] == "2" and facts["valid"]["status"]["desiredMemory"] == "3G"
    verdict = judge(facts)
    assert verdict.status is Status.IMPLEMENTED, verdict.reasons
    assert all(c.outcome is Outcome.PASS for c in verdict.checks)
    assert "raycluster-kuberay state ready, 1/1 workers, 2 pod(s)" in verdict.reasons[0]
    assert "kuberay-operator Available=True" in verdict.reasons[0]


def test_aicr_forbidden_denial_counts_as_a_webhook_rejection() -> None:
    status, message = aicr_denial()
    assert status == 403
    facts = vks_facts()
    facts["invalid"] = {"accepted": False, "status": status, "message": message, "by_webhook": True}
    verdict = judge(facts)
    assert verdict.status is Status.IMPLEMENTED
    assert "vdynamographdeployment.kb.io" in by_name(verdict)["WebhookRejectsInvalidCR"].reason


def test_kops_helm_install_without_webhook_is_not_implemented() -> None:
    """kOps installs KubeRay from the Helm chart: a RayJob completes, but there is no webhook to test."""
    assert "webhook" not in _need(KOPS).lower()
    facts = vks_facts()
    facts["webhooks"] = []
    facts["invalid"] = {"accepted": True}
    verdict = judge(facts)
    assert verdict.status is Status.NOT_IMPLEMENTED
    checks = by_name(verdict)
    assert checks["WebhookOperational"].outcome is Outcome.FAIL
    assert "Helm chart ships no webhook" in checks["WebhookOperational"].reason
    assert checks["WebhookRejectsInvalidCR"].outcome is Outcome.FAIL
    assert checks["ControllerReconcilesCR"].outcome is Outcome.PASS


def _mutate(**changes: Any) -> dict[str, Any]:
    facts = vks_facts()
    for key, value in changes.items():
        facts[key] = value
    return facts


@pytest.mark.parametrize("changes, status, failed, needle", [
    ({"pods": [], "crds": [{**c, "present": False, "established": False} for c in CRDS], "webhooks": [],
      "invalid": None, "valid": None}, Status.NOT_IMPLEMENTED, "OperatorPodsRunning", "is not installed"),
    ({"pods": [{"name": "kuberay-operator-x", "phase": "Pending", "ready": False}]},
     Status.NOT_IMPLEMENTED, "OperatorPodsRunning", "kuberay-operator-x Pending"),
    ({"crds": [{**CRDS[0], "established": False}, *CRDS[1:]]}, Status.NOT_IMPLEMENTED, "CRDRegistered",
     "rayclusters.ray.io"),
    ({"webhooks": [{**WEBHOOK, "ca_bundle": False}]}, Status.NOT_IMPLEMENTED, "WebhookOperational", "empty caBundle"),
    ({"invalid": {"accepted": False, "status": 500, "webhook_unreachable": True,
                  "message": 'Internal error occurred: failed calling webhook "vraycluster.kb.io": failed to call '
                             'webhook: Post "https://kuberay-webhook-service.kuberay-system.svc:443/validate-ray-io-'
                             'v1-raycluster?timeout=10s": no endpoints available for service "kuberay-webhook-service"'}},
     Status.NOT_IMPLEMENTED, "WebhookRejectsInvalidCR", "could not be called"),
    ({"invalid": {"accepted": False, "status": 422, "by_webhook": False,
                  "message": 'RayCluster.ray.io "x" is invalid: spec.headGroupSpec: Required value'}},
     Status.NOT_IMPLEMENTED, "WebhookRejectsInvalidCR", "not by an admission webhook"),
    ({"valid": {"name": "aiconform-raycluster", "created": True, "ready": False, "children": {},
                "timeout": "timed out after 180s waiting for RayCluster aiconform-raycluster to be reconciled: state "
                           "unset; pods: no pods; services: none"}},
     Status.NOT_IMPLEMENTED, "ControllerReconcilesCR", "no child object was created"),
    ({"valid": {"name": "aiconform-raycluster", "created": False, "message": RAY_DENIAL}},
     Status.NOT_IMPLEMENTED, "ControllerReconcilesCR", "was refused"),
])
def test_failures(changes: dict[str, Any], status: Status, failed: str, needle: str) -> None:
    verdict = judge(_mutate(**changes))
    assert verdict.status is status
    check = by_name(verdict)[failed]
    assert check.outcome is Outcome.FAIL and needle in check.reason, check.reason
    assert needle in " ".join(verdict.reasons)


def test_children_created_but_not_ready_is_unknown() -> None:
    """Head and worker pods exist but stay Pending (a 2-4 GB Ray image still pulling): the controller acted."""
    facts = vks_facts()
    facts["valid"].update(ready=False, timeout="timed out after 180s waiting for RayCluster raycluster-kuberay to be "
                                               "reconciled: state unset")
    for p in facts["valid"]["children"]["pods"]:
        p["phase"] = "Pending"
    verdict = judge(facts)
    assert verdict.status is Status.UNKNOWN
    assert "did not become ready in time" in verdict.reasons[0]


def test_upstream_defaults() -> None:
    assert rc.OPTIONS["operator_ready_timeout"]["default"] == 300
    assert rc.OPTIONS["operator_reconcile_timeout"]["default"] == 180
    assert rc.TEST_NAME == "TestRobustCRDControllerOperation"
    assert rc.OPTIONS["operator"]["choices"] == ["kuberay", "kubeflow-trainer"]
