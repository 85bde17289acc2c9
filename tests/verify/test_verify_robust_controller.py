"""robust_controller on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,robust_controller``.

The simulator's KubeRay (aiconform/sim/controllers/kuberay.py) applies the KubeRay validating webhook's rules only
when a ValidatingWebhookConfiguration registers it with a caBundle (as the API server calls only registered
webhooks), and reconciles a RayCluster into a head pod, head Service and workers with the status columns of the
real VKS v1.36 transcript (../shared/fixtures/stacks/..._vks_robust_controller.md__raycluster_rayjob_status.txt).
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "robust_controller"
FAST = {"aiconform_robust_controller_operator_ready_timeout": 10,
        "aiconform_robust_controller_operator_reconcile_timeout": 15}


def checks(entry: dict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in entry["checks"]}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_kuberay_with_webhook_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestRobustCRDControllerOperation"
    assert set(checks(entry).values()) == {"pass"} and len(entry["checks"]) == 5
    assert entry["reasons"][0].startswith("KubeRay (detected)")
    assert [c["operator"] for c in entry["facts"]["detection"]["candidates"]] == ["kuberay"]
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
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    got = checks(entry)
    assert got["WebhookOperational"] == got["WebhookRejectsInvalidCR"] == "fail"
    assert got["ControllerReconcilesCR"] == "pass"
    assert "Helm chart ships no webhook" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_an_operator_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no AI operator found" in entry["reasons"][0]
    assert "rayclusters.ray.io" in entry["reasons"][0] and "trainjobs.trainer.kubeflow.org" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_kuberay_set_but_absent_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_robust_controller_operator": "kuberay"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "KubeRay is not installed" in entry["reasons"][0]


DYNAMO_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "dynamographdeployments.nvidia.com"},
    "spec": {"group": "nvidia.com", "scope": "Namespaced",
             "names": {"plural": "dynamographdeployments", "singular": "dynamographdeployment",
                       "kind": "DynamoGraphDeployment", "listKind": "DynamoGraphDeploymentList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_other_ai_operator_without_a_profile_is_unknown(lab, tmp_path):
    """NVIDIA Dynamo's CRD (AICR's inference operator): aiconform cannot test it unasked, so Unknown + variables."""
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(DYNAMO_CRD))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "NVIDIA Dynamo (dynamographdeployments.nvidia.com)" in entry["reasons"][0]
    assert "aiconform_robust_controller_operator: generic" in entry["reasons"][0]


KUEUE_RAY_WEBHOOK = [
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "kueue-webhook-service", "namespace": "kueue-system"},
     "spec": {"selector": {"control-plane": "controller-manager"},
              "ports": [{"port": 443, "targetPort": 9443, "protocol": "TCP"}]}},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
     "metadata": {"name": "kueue-validating-webhook-configuration"},
     "webhooks": [{"name": "vraycluster.kb.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                   "failurePolicy": "Fail",
                   "clientConfig": {"caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                                    "service": {"name": "kueue-webhook-service", "namespace": "kueue-system",
                                                "path": "/validate-ray-io-v1-raycluster"}},
                   "rules": [{"apiGroups": ["ray.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                              "resources": ["rayclusters"]}]}]},
]


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_kueue_webhook_of_the_same_name_does_not_count(lab, tmp_path):
    """KubeRay's webhook removed, Kueue's RayCluster integration webhook (also vraycluster.kb.io) registered: it
    matches ray.io/rayclusters, is served by kueue-webhook-service, and lets the invalid RayCluster through."""
    proc = run_tool(lab, "kubectl", "delete", "validatingwebhookconfiguration", "kuberay-validating-webhook-configuration")
    assert proc.returncode == 0, proc.stderr
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump_all(KUEUE_RAY_WEBHOOK))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    got = checks(entry)
    assert got["WebhookOperational"] == got["WebhookRejectsInvalidCR"] == "fail"
    assert "kueue-system/kueue-webhook-service" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


MANIFESTS = Path(__file__).resolve().parents[2] / "plugins/module_utils/verifiers/robust_controller/manifests"


def _ray(name: str) -> dict:
    body = yaml.safe_load((MANIFESTS / name).read_text())
    for spec in [body["spec"]["headGroupSpec"]["template"]["spec"],
                 *[g["template"]["spec"] for g in body["spec"]["workerGroupSpecs"]]]:
        for ctr in spec["containers"]:
            ctr["image"] = "rayproject/ray:2.41.0"
    return copy.deepcopy(body)


GENERIC = {**FAST, "aiconform_robust_controller_operator": "generic",
           "aiconform_robust_controller_operator_crd": "rayclusters.ray.io",
           "aiconform_robust_controller_operator_selector": "app.kubernetes.io/name=kuberay-operator",
           "aiconform_robust_controller_operator_valid_resource": _ray("raycluster-valid.yml"),
           "aiconform_robust_controller_operator_invalid_resource": _ray("raycluster-invalid.yml")}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_generic_profile_is_implemented(lab, tmp_path):
    """The generic profile (CRD, selector and resources from the inventory) on KubeRay: reconciled by state ready."""
    entry, out = verify_in_process(lab, tmp_path, REQ, GENERIC)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("RayCluster (aiconform_robust_controller_operator: generic)")
    assert set(checks(entry).values()) == {"pass"}
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_generic_profile_without_its_webhook_is_not_implemented(lab, tmp_path):
    proc = run_tool(lab, "kubectl", "delete", "validatingwebhookconfiguration", "kuberay-validating-webhook-configuration")
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, GENERIC)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["WebhookRejectsInvalidCR"] == "fail"


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_generic_profile_missing_variables_is_a_clear_error(lab, tmp_path):
    host_vars = {k: v for k, v in GENERIC.items() if not k.endswith("_invalid_resource")}
    entry, out = verify_in_process(lab, tmp_path, REQ, host_vars)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "operator: generic needs aiconform_robust_controller_operator_invalid_resource" in entry["reasons"][0]
    assert "Traceback" not in out


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_operator_down_webhook_unreachable_and_nothing_reconciled(lab, tmp_path, monkeypatch):
    """Operator scaled to zero: its webhook Service has no endpoints (failurePolicy Fail) and nothing reconciles.

    In-process, the client's retry budget for a failing webhook call (45 s, a webhook pod restarting) is cut to
    5 s: the same retries, in a tenth of the time."""
    from aiconform import kube
    monkeypatch.setattr(kube, "DEFAULT_POLICY", kube.RetryPolicy(webhook_budget=5.0))
    proc = run_tool(lab, "kubectl", "scale", "deployment", "-n", "kuberay-system", "kuberay-operator", "--replicas=0")
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_robust_controller_operator_ready_timeout": 3})
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
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create RayCluster" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)



# -- Kubeflow Trainer (scenario kubeflow-trainer: upstream's manifests, AICR's webhook names) ----------------
@pytest.mark.parametrize("lab", ["kubeflow-trainer"], indirect=True)
def test_kubeflow_trainer_detected_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("Kubeflow Trainer (detected)")
    assert set(checks(entry).values()) == {"pass"}
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert 'admission webhook "validator.trainjob.trainer.kubeflow.org" denied the request' in evidence
    assert "specified clusterTrainingRuntime must be created before the TrainJob is created" in evidence
    assert {c["type"]: c["status"] for c in entry["facts"]["valid"]["status"]["conditions"]}["Complete"] == "True"
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["kubeflow-trainer"], indirect=True)
def test_kubeflow_trainer_without_its_webhook_is_not_implemented(lab, tmp_path):
    proc = run_tool(lab, "kubectl", "delete", "validatingwebhookconfiguration", "validator.trainer.kubeflow.org")
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    got = checks(entry)
    assert got["WebhookOperational"] == got["WebhookRejectsInvalidCR"] == "fail"
    assert got["ControllerReconcilesCR"] == "pass"
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["kubeflow-trainer"], indirect=True)
def test_kuberay_and_trainer_both_complete_are_unknown(lab, tmp_path):
    """Both operators installed and running: the inventory chooses."""
    objs = [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "rayclusters.ray.io"},
             "spec": {"group": "ray.io", "scope": "Namespaced",
                      "names": {"plural": "rayclusters", "singular": "raycluster", "kind": "RayCluster",
                                "listKind": "RayClusterList"},
                      "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                          "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "kuberay-operator", "namespace": "default"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "kuberay-operator"}},
                                   "spec": {"containers": [{"name": "kuberay-operator",
                                                            "image": "quay.io/kuberay/operator:v1.4.2"}]}}}}]
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump_all(objs))
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "auto").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "auto", REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "several AI operators found" in entry["reasons"][0]
    assert "aiconform_robust_controller_operator" in entry["reasons"][0]
