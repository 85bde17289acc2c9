"""gang_scheduling end to end: ansible-playbook conformance.yml --tags verify,gang_scheduling on the simulator.

The simulator's Kueue (aiconform/sim/controllers/kueue.py) answers as Kueue v0.19 does: the Job is held
suspended, one Workload per Job admitted all-or-nothing against nominalQuota, with the condition reasons and
event messages of the real Kueue outputs in ../shared/fixtures/stacks (VKS v1.36 kueue_events.txt, Kueue
v0.19.2 Workload status examples). Timeouts are shortened through inventory variables.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "gang_scheduling"
FAST = {"aiconform_gang_scheduling_negative_window": 3, "aiconform_gang_scheduling_positive_timeout": 20,
        "aiconform_gang_scheduling_release_timeout": 15, "aiconform_gang_scheduling_queue_ready_timeout": 10,
        # 2-CPU pods keep the negative Job (2x the cluster's CPU) at a few dozen pods in the simulator
        "aiconform_gang_scheduling_cpu_request": "2", "aiconform_gang_scheduling_negative_parallelism": 10}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_kueue_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["name"]: c["outcome"] for c in entry["checks"]} == {
        "PositiveGangScheduling": "pass", "NegativeGangScheduling": "pass", "Cleanup": "pass"}
    assert entry["test_name"] == "TestGangScheduling"
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    # Kueue's own words, as in the VKS evidence: quota reserved, admitted, job resumed; the big Job pending.
    assert "Quota reserved in ClusterQueue" in evidence and "Admitted by clusterQueue" in evidence
    assert "insufficient quota for cpu" in evidence
    assert entry["facts"]["kueue"]["api_version"] == "v1beta2"
    assert not probe_namespaces(lab, REQ)
    # the cluster-scoped ClusterQueue and ResourceFlavor the probe created are gone too
    from helpers.sim import run_tool
    left = run_tool(lab, "kubectl", "get", "clusterqueues,resourceflavors", "-o", "name")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout + left.stderr


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_a_gang_scheduler_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "kueue.x-k8s.io API group is not served" in " ".join(entry["reasons"])
    assert all(c["outcome"] == "skip" for c in entry["checks"])


@pytest.mark.parametrize("lab", ["broken-kueue"], indirect=True)
def test_scheduler_starting_part_of_the_gang_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["NegativeGangScheduling"]["outcome"] == "fail"
    assert "partial scheduling" in checks["NegativeGangScheduling"]["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_kueue_held_jobs_that_never_finish_time_out(lab, tmp_path):
    """The Job controller is stopped: admitted Jobs never run, so the positive case times out."""
    lab.controllers(job=False)
    entry, out = run_conformance(lab, tmp_path, REQ, {**FAST, "aiconform_gang_scheduling_positive_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    pos = next(c for c in entry["checks"] if c["name"] == "PositiveGangScheduling")
    assert pos["outcome"] == "fail" and "timed out after 4s" in pos["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/apis/batch/v1/namespaces/aiconform-gang-scheduling-[^/]+/jobs$", "verb": "create",
                "status": status})
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create Job" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
    from helpers.sim import run_tool
    left = run_tool(lab, "kubectl", "get", "clusterqueues,resourceflavors", "-o", "name")
    assert left.stdout.strip() == "", left.stdout
