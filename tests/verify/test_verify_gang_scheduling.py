"""gang_scheduling on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,gang_scheduling``.

The simulator's Kueue (aiconform/sim/controllers/kueue.py) answers as Kueue v0.19 does: the Job is held
suspended, one Workload per Job admitted all-or-nothing against nominalQuota, with the condition reasons and
event messages of the real Kueue outputs in ../shared/fixtures/stacks (VKS v1.36 kueue_events.txt, Kueue
v0.19.2 Workload status examples). Timeouts are shortened through inventory variables.
"""
from __future__ import annotations

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

from aiconform.sim.scenario import load_scenario

pytestmark = pytest.mark.e2e
REQ = "gang_scheduling"
FAST = {"aiconform_gang_scheduling_negative_window": 3, "aiconform_gang_scheduling_positive_timeout": 20,
        "aiconform_gang_scheduling_release_timeout": 15, "aiconform_gang_scheduling_queue_ready_timeout": 10,
        # 2-CPU pods keep the negative Job (2x the cluster's CPU) at a few dozen pods in the simulator
        "aiconform_gang_scheduling_cpu_request": "2", "aiconform_gang_scheduling_negative_parallelism": 10}


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
    left = run_tool(lab, "kubectl", "get", "clusterqueues,resourceflavors", "-o", "name")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout + left.stderr


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_a_gang_scheduler_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    reasons = " ".join(entry["reasons"])
    assert "kueue.x-k8s.io API group is not served" in reasons
    # it says what was looked for
    assert "Volcano (scheduling.volcano.sh)" in reasons and "KAI Scheduler (scheduling.run.ai)" in reasons
    assert all(c["outcome"] == "skip" for c in entry["checks"])


# -- the PodGroup mechanisms: each detected on its own, the same positive and negative cases ----------------------
PODGROUP_MECHANISMS = [  # scenario suffix, what the report must name, the scheduler's own words in the evidence
    ("volcano", "mechanism: Volcano, a PodGroup scheduling.volcano.sh/v1beta1", "tasks in gang unschedulable"),
    ("kai", "mechanism: KAI Scheduler, a PodGroup scheduling.run.ai/v2alpha2", "required for gang scheduling"),
    ("coscheduling", "mechanism: scheduler-plugins coscheduling, a PodGroup scheduling.x-k8s.io/v1alpha1",
     "is unschedulable even after PostFilter"),
]


@pytest.mark.parametrize(("lab", "note", "words"), [(f"conformant-{m}", n, w) for m, n, w in PODGROUP_MECHANISMS],
                         indirect=["lab"], ids=[m for m, _, _ in PODGROUP_MECHANISMS])
def test_conformant_podgroup_scheduler_is_detected_and_implemented(lab, tmp_path, note, words):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["name"]: c["outcome"] for c in entry["checks"]} == {
        "PositiveGangScheduling": "pass", "NegativeGangScheduling": "pass", "Cleanup": "pass"}
    assert any(r.startswith(note) and "detected: the only gang scheduler installed" in r for r in entry["reasons"]), \
        entry["reasons"]
    neg = entry["facts"]["negative"]
    assert neg["pods_seen"] > 0 and not neg["suspended_throughout"]  # the gang's pods existed and stayed unbound
    assert neg["podgroup"]["min_member"] == neg["parallelism"]
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert words in evidence
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", [f"broken-{m}" for m, _, _ in PODGROUP_MECHANISMS], indirect=True)
def test_podgroup_scheduler_starting_part_of_the_gang_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["PositiveGangScheduling"]["outcome"] == "pass"
    assert checks["NegativeGangScheduling"]["outcome"] == "fail"
    assert "partial scheduling" in checks["NegativeGangScheduling"]["reason"]
    assert any(r.startswith("mechanism: ") for r in entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant-volcano"], indirect=True)
def test_kueue_and_volcano_together_need_the_inventory_to_choose(lab, tmp_path):
    kueue_crds = [o for o in load_scenario("conformant").objects
                  if o.get("kind") == "CustomResourceDefinition" and o["metadata"]["name"].endswith(".kueue.x-k8s.io")]
    crd_file = tmp_path / "kueue-crds.yaml"
    crd_file.write_text(yaml.safe_dump_all(kueue_crds))
    applied = run_tool(lab, "kubectl", "apply", "-f", str(crd_file))
    assert applied.returncode == 0, applied.stderr
    (tmp_path / "auto").mkdir()
    (tmp_path / "chosen").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "auto", REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "several gang schedulers are installed: Kueue (kueue.x-k8s.io), Volcano (scheduling.volcano.sh)" in \
        entry["reasons"][0] and "aiconform_gang_scheduling_scheduler" in entry["reasons"][0]
    # the inventory chooses: Volcano is tested
    entry, out = verify_in_process(lab, tmp_path / "chosen", REQ, {**FAST, "aiconform_gang_scheduling_scheduler": "volcano"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert any("mechanism: Volcano" in r and "chosen by aiconform_gang_scheduling_scheduler" in r
               for r in entry["reasons"])


@pytest.mark.parametrize("lab", ["broken-kueue"], indirect=True)
def test_scheduler_starting_part_of_the_gang_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["NegativeGangScheduling"]["outcome"] == "fail"
    assert "partial scheduling" in checks["NegativeGangScheduling"]["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_kueue_held_jobs_that_never_finish_time_out(lab, tmp_path):
    """The Job controller is stopped: admitted Jobs never run, so the positive case times out."""
    lab.controllers(job=False)
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_gang_scheduling_positive_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    pos = next(c for c in entry["checks"] if c["name"] == "PositiveGangScheduling")
    assert pos["outcome"] == "fail" and "timed out after 4s" in pos["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/apis/batch/v1/namespaces/aiconform-gang-scheduling-[^/]+/jobs$", "verb": "create",
                "status": status})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create Job" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
    left = run_tool(lab, "kubectl", "get", "clusterqueues,resourceflavors", "-o", "name")
    assert left.stdout.strip() == "", left.stdout




EXISTING_CQ = [
    {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "default-flavor"}, "spec": {}},
    {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "team-a"},
     "spec": {"namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
         {"name": "default-flavor", "resources": [{"name": "cpu", "nominalQuota": "40"},
                                                  {"name": "memory", "nominalQuota": "160Gi"}]}]}]}},
]


@pytest.mark.parametrize("lab", ["conformant-kai"], indirect=True)
def test_a_kai_queue_that_does_not_exist_is_unknown_not_a_verdict(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_gang_scheduling_kai_queue": "team-x"})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "queue 'team-x' does not exist (queues: default-parent-queue, default-queue)" in entry["reasons"][0]
    assert "aiconform_gang_scheduling_kai_queue" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["broken-kueue"], indirect=True)
def test_broken_kueue_through_an_existing_cluster_queue_is_not_implemented(lab, tmp_path):
    objs = tmp_path / "cq.yaml"
    objs.write_text(yaml.safe_dump_all(EXISTING_CQ))
    applied = run_tool(lab, "kubectl", "apply", "-f", str(objs))
    assert applied.returncode == 0, applied.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_gang_scheduling_cluster_queue": "team-a"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    neg = next(c for c in entry["checks"] if c["name"] == "NegativeGangScheduling")
    assert neg["outcome"] == "fail" and "partial scheduling" in neg["reason"]
    assert any("on ClusterQueue team-a" in r for r in entry["reasons"])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_kueue_through_an_existing_cluster_queue(lab, tmp_path):
    (tmp_path / "missing").mkdir()
    (tmp_path / "given").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "missing", REQ,
                                 {**FAST, "aiconform_gang_scheduling_cluster_queue": "team-a"})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "ClusterQueue team-a (from the inventory" in entry["reasons"][0]
    objs = tmp_path / "cq.yaml"
    objs.write_text(yaml.safe_dump_all(EXISTING_CQ))
    applied = run_tool(lab, "kubectl", "apply", "-f", str(objs))
    assert applied.returncode == 0, applied.stderr
    entry, out = verify_in_process(lab, tmp_path / "given", REQ,
                                 {**FAST, "aiconform_gang_scheduling_cluster_queue": "team-a"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert any(r.startswith("mechanism: Kueue, LocalQueue aiconform-gang-scheduling-") and "on ClusterQueue team-a" in r
               for r in entry["reasons"]), entry["reasons"]
    # the platform's own ClusterQueue is left in place
    left = run_tool(lab, "kubectl", "get", "clusterqueues", "-o", "name")
    assert left.stdout.strip() == "clusterqueue.kueue.x-k8s.io/team-a", left.stdout
