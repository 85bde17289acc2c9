"""robust_controller end to end: ansible-playbook conformance.yml --tags verify,robust_controller on the simulator.

The simulator's KubeRay (aiconform/sim/controllers/kuberay.py) applies the KubeRay validating webhook's rules only
when a ValidatingWebhookConfiguration registers it with a caBundle (as the API server calls only registered
webhooks), and reconciles a RayCluster into a head pod, head Service and workers with the status columns of the
real VKS v1.36 transcript (../shared/fixtures/stacks/..._vks_robust_controller.md__raycluster_rayjob_status.txt).
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle, run_tool

pytestmark = pytest.mark.e2e
REQ = "robust_controller"
FAST = {"aiconform_robust_controller_operator_ready_timeout": 10,
        "aiconform_robust_controller_operator_reconcile_timeout": 15}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param)


def checks(entry: dict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in entry["checks"]}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_kuberay_with_webhook_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestRobustCRDControllerOperation"
    assert set(checks(entry).values()) == {"pass"} and len(entry["checks"]) == 5
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert 'admission webhook "vraycluster.kb.io" denied the request' in evidence
    assert "worker group names must be unique" in evidence
    assert entry["facts"]["valid"]["status"]["state"] == "ready"
    assert "aiconform-raycluster-head-svc" in entry["facts"]["valid"]["children"]["services"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_helm_install_without_webhook_is_not_implemented(lab, tmp_path):
    """What the KubeRay Helm chart alone gives: the operator and CRDs, no ValidatingWebhookConfiguration."""
    proc = run_tool(lab, "kubectl", "delete", "validatingwebhookconfiguration", "kuberay-validating-webhook-configuration")
    assert proc.returncode == 0, proc.stderr
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    got = checks(entry)
    assert got["WebhookOperational"] == got["WebhookRejectsInvalidCR"] == "fail"
    assert got["ControllerReconcilesCR"] == "pass"
    assert "Helm chart ships no webhook" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_an_operator_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "KubeRay is not installed" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_operator_down_webhook_unreachable_and_nothing_reconciled(lab, tmp_path):
    """Operator scaled to zero: its webhook Service has no endpoints (failurePolicy Fail) and nothing reconciles."""
    proc = run_tool(lab, "kubectl", "scale", "deployment", "-n", "kuberay-system", "kuberay-operator", "--replicas=0")
    assert proc.returncode == 0, proc.stderr
    entry, out = run_conformance(lab, tmp_path, REQ, {**FAST, "aiconform_robust_controller_operator_ready_timeout": 3})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    got = checks(entry)
    assert got["WebhookRejectsInvalidCR"] == "fail" and got["ControllerReconcilesCR"] == "fail"
    assert "no endpoints available" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/apis/ray.io/v1/namespaces/aiconform-robust-controller-[^/]+/rayclusters$", "verb": "create",
                "status": status})
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create RayCluster" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
