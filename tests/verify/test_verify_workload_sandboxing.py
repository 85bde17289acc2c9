"""workload_sandboxing on the simulator: the verify job in-process; the first test through ansible-playbook.
The v1.37 requirement set.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,workload_sandboxing``.

conformant carries RuntimeClass gvisor (handler runsc); the simulator's sandbox controller gives a runsc pod
gVisor's view (kernel 4.4.0, its own boot id) and any other pod the node's kernel and boot id.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "workload_sandboxing"
FAST = {"aiconform_kubernetes_version": "v1.37", "aiconform_workload_sandboxing_timeout": 5,
        "aiconform_cleanup_timeout": 20}
SUBTESTS = ["SchedulingAndExecution", "ProcessIsolation", "KernelAndMemoryIsolation", "FilesystemIsolation",
            "NetworkIsolation"]


def test_gvisor_is_implemented(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestWorkloadSandboxing"
    assert [c["name"] for c in entry["checks"]] == SUBTESTS and all(c["outcome"] == "pass" for c in entry["checks"])
    s, c = entry["facts"]["sandboxed"], entry["facts"]["control"]
    assert s["release"] == "4.4.0" and c["release"] == "5.15.0-139-generic" and s["node"] == c["node"]
    assert "RuntimeClass gvisor (handler runsc)" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_missing_unrecognised_and_fake_sandbox(sim_factory, tmp_path):
    """gpu-lab has no RuntimeClass (Not Implemented); one it cannot classify is unknown; a 'gvisor' class
    whose handler is runc shares the host kernel (KernelAndMemoryIsolation fails)."""
    lab = sim_factory("gpu-lab", kubernetes_version="v1.35.2")
    for d in ("missing", "unknown", "fake"):
        (tmp_path / d).mkdir()
    entry, out = verify_in_process(lab, tmp_path / "missing", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no sandboxing solution detected" in entry["reasons"][0]
    rc = "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: %s}\nhandler: %s\n"
    assert run_tool(lab, "kubectl", "apply", "-f", "-", input=rc % ("secure", "firecracker")).returncode == 0
    entry, out = verify_in_process(lab, tmp_path / "unknown", REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "secure (handler firecracker) is not a sandbox aiconform recognises" in entry["reasons"][0]
    assert run_tool(lab, "kubectl", "apply", "-f", "-", input=rc % ("gvisor", "runc")).returncode == 0
    entry, out = verify_in_process(lab, tmp_path / "fake", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "KernelAndMemoryIsolation: the sandboxed workload observes the same kernel identity" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_probe_never_starts_then_api_fault(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    lab.controllers(kubelet=False)
    for d in ("broken", "fault"):
        (tmp_path / d).mkdir()
    entry, out = verify_in_process(lab, tmp_path / "broken", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "timed out after 5s waiting for pod sandboxed-probe-pod to be Running" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
    lab.controllers(kubelet=True)
    lab.faults({"path": r"/api/v1/namespaces/aiconform-workload-sandboxing-[^/]+/pods$", "verb": "create",
                "status": 403})
    entry, out = verify_in_process(lab, tmp_path / "fault", REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
