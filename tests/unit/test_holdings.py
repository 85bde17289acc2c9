"""Safe concurrency (verifiers/holdings.py, verifiers/orchestrate.py): probes whose holdings conflict never
overlap, unrelated ones still do, and a timeout caused by aiconform's own pods is judged ``error``.
"""
from __future__ import annotations

import threading
import time
from itertools import combinations
from types import SimpleNamespace
from typing import Any

import pytest
from aiconform.results import Check, Outcome, RequirementResult, Status
from aiconform.verifiers import holdings, orchestrate, runtime

from aiconform import catalog

GPU_PROBES = ["dra_support", "secure_accelerator_access", "pod_autoscaling", "accelerator_metrics",
              "cluster_autoscaling", "gpu_sharing", "virtualized_accelerator", "driver_runtime_management"]


def _recording_verifier(intervals: dict[str, tuple[float, float]], lock: threading.Lock, seconds: float = 0.15,
                        outcome: tuple[Status, list[str]] = (Status.IMPLEMENTED, [])):
    def run_verifier(requirement: str, params: dict, *, check_mode: bool = False) -> RequirementResult:
        start = time.monotonic()
        runtime.pause(seconds)
        with lock:
            intervals[requirement] = (start, time.monotonic())
        return RequirementResult(id=requirement, status=outcome[0], reasons=list(outcome[1]),
                                 started_at=1.0, finished_at=2.0)
    return run_verifier


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_every_verifier_declares_valid_holdings_and_gpu_probes_hold_the_accelerators():
    declared = {rid: holdings.declared(runtime.load(rid)) for rid in catalog.all_ids()}
    assert set(declared) >= set(GPU_PROBES)
    for rid in GPU_PROBES:
        assert declared[rid].get(holdings.ACCELERATORS) == holdings.EXCLUSIVE, rid
    assert declared["cluster_autoscaling"][holdings.AUTOSCALER_POOL] == holdings.EXCLUSIVE
    # a gang larger than the cluster leaves pending pods an autoscaler may act on
    assert holdings.conflicts(declared["gang_scheduling"], declared["cluster_autoscaling"])
    assert not holdings.conflicts(declared["gang_scheduling"], declared["secure_accelerator_access"])


def test_a_wrong_declaration_is_refused():
    with pytest.raises(ValueError, match="gpus"):
        holdings.declared(SimpleNamespace(REQUIREMENT="x", HOLDS={"gpus": "exclusive"}))
    with pytest.raises(ValueError, match="mine"):
        holdings.declared(SimpleNamespace(REQUIREMENT="x", HOLDS={"accelerators": "mine"}))
    assert holdings.declared(SimpleNamespace(REQUIREMENT="x")) == {}


def test_conflicts_need_one_exclusive_holder():
    x, s = holdings.EXCLUSIVE, holdings.SHARED
    assert holdings.conflicts({"accelerators": x}, {"accelerators": s}) == ["accelerators"]
    assert holdings.conflicts({"accelerators": x}, {"accelerators": x}) == ["accelerators"]
    assert holdings.conflicts({"node_capacity": s}, {"node_capacity": s}) == []
    assert holdings.conflicts({"accelerators": x}, {"node_capacity": x}) == []
    assert holdings.conflicts({}, {"accelerators": x}) == []


def test_scheduler_starts_the_conflicting_chain_first_and_fills_slots_with_unrelated_probes():
    x, s = holdings.EXCLUSIVE, holdings.SHARED
    sched = holdings.Scheduler({"web": {"node_capacity": s}, "gpu1": {"accelerators": x},
                                "gpu2": {"accelerators": x}, "ca": {"accelerators": x, "node_capacity": x}}, 8)
    first = sched.ready()
    assert first[0] == "ca" and "gpu1" not in first and "gpu2" not in first and "web" not in first
    sched.done("ca")
    assert sorted(sched.ready()) == ["gpu1", "web"]  # gpu2 waits for gpu1; web runs beside it
    assert sched.ready() == []
    sched.done("gpu1")
    assert sched.ready() == ["gpu2"]


def test_the_limit_still_applies():
    sched = holdings.Scheduler({f"p{i}": {} for i in range(5)}, 2)
    assert len(sched.ready()) == 2 and sched.ready() == []


@pytest.mark.parametrize("concurrency", [8, 3])
def test_conflicting_probes_never_overlap_and_unrelated_ones_do(monkeypatch, concurrency):
    ids = [rid for rid in catalog.all_ids()]
    intervals: dict[str, tuple[float, float]] = {}
    monkeypatch.setattr(runtime, "run_verifier", _recording_verifier(intervals, threading.Lock()))
    results = orchestrate.run_all({rid: {} for rid in ids}, {}, run_id="r1", concurrency=concurrency)
    assert set(results) == set(ids) and {r["status"] for r in results.values()} == {"Implemented"}
    declared = {rid: holdings.declared(runtime.load(rid)) for rid in ids}
    clashes = [(a, b) for a, b in combinations(ids, 2)
               if holdings.conflicts(declared[a], declared[b]) and _overlap(intervals[a], intervals[b])]
    assert clashes == []
    together = [(a, b) for a, b in combinations(ids, 2)
                if not holdings.conflicts(declared[a], declared[b]) and _overlap(intervals[a], intervals[b])]
    assert together
    # every probe that only shares resources ran beside some GPU probe
    sharing_only = [rid for rid in ids if holdings.EXCLUSIVE not in declared[rid].values()]
    gpu = [rid for rid in ids if declared[rid].get(holdings.ACCELERATORS)]
    assert sharing_only and gpu
    assert [rid for rid in sharing_only if not any(_overlap(intervals[rid], intervals[g]) for g in gpu)] == []
    # some concurrency survives: the wall time is well below the serial sum
    wall = max(e for _, e in intervals.values()) - min(s for s, _ in intervals.values())
    serial = sum(e - s for s, e in intervals.values())
    assert wall < 0.8 * serial, (wall, serial)


# -- aiconform's own pods in the way ---------------------------------------------------------------------------
def _ns(name: str, requirement: str, run_id: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {holdings.REQUIREMENT_LABEL: requirement.replace("_", "-"),
                                                  holdings.RUN_LABEL: run_id, "app.kubernetes.io/managed-by": "aiconform"}}}


def _pod(name: str, ns: str, phase: str = "Running", gpu: bool = True, unschedulable: bool = False) -> dict[str, Any]:
    res = {"requests": {"cpu": "100m", **({"nvidia.com/gpu": "1"} if gpu else {})}}
    conds = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}] if unschedulable else []
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"containers": [{"name": "c", "resources": res}]},
            "status": {"phase": phase, "conditions": conds}}


def test_pod_holdings_come_from_its_spec_and_status():
    assert holdings.pod_holds(_pod("a", "n")) == {"accelerators", "node_capacity"}
    assert holdings.pod_holds(_pod("a", "n", gpu=False)) == {"node_capacity"}
    assert holdings.pod_holds(_pod("a", "n", phase="Succeeded")) == set()
    assert holdings.pod_holds(_pod("a", "n", phase="Pending", gpu=False, unschedulable=True)) == {
        "node_capacity", "autoscaler_pool"}
    claim = {"metadata": {"name": "c"}, "spec": {"containers": [{"name": "c"}], "resourceClaims": [{"name": "g"}]},
             "status": {"phase": "Pending"}}
    assert "accelerators" in holdings.pod_holds(claim)
    amd = _pod("a", "n", gpu=False)
    amd["spec"]["containers"][0]["resources"]["limits"] = {"amd.com/gpu": "1"}
    assert "accelerators" in holdings.pod_holds(amd)


def test_only_pods_of_conflicting_probes_that_really_hold_the_resource_are_in_the_way():
    holds_of = lambda rid: holdings.declared(runtime.load(rid))  # noqa: E731
    namespaces = [_ns("old-ca", "cluster_autoscaling", "r0"),          # leftover of an earlier run: GPUs held
                  _ns("mine", "secure_accelerator_access", "r1"),      # this probe itself
                  _ns("web", "ai_inference", "r1"),                     # unrelated probe of this run
                  _ns("idle", "pod_autoscaling", "r0")]                 # conflicting, but its pod is done
    pods = {"old-ca": [_pod("baseline-0", "old-ca"), _pod("baseline-1", "old-ca")],
            "mine": [_pod("p", "mine")], "web": [_pod("backend", "web", gpu=False)],
            "idle": [_pod("load", "idle", phase="Succeeded")]}
    found = holdings.in_the_way("secure_accelerator_access", "r1", holds_of("secure_accelerator_access"),
                                namespaces, lambda ns: pods[ns], holds_of)
    assert [f["pod"] for f in found] == ["old-ca/baseline-0", "old-ca/baseline-1"]
    assert found[0]["requirement"] == "cluster_autoscaling" and found[0]["holds"] == ["accelerators", "node_capacity"]


def test_a_timeout_while_aiconform_pods_held_the_gpus_is_an_error_never_not_implemented():
    pods = [{"pod": "old-ca/baseline-0", "requirement": "cluster_autoscaling", "run_id": "r0", "phase": "Running",
             "holds": ["accelerators"]}]
    timed = {"status": "Not Implemented", "reasons": ["pods did not start: timed out after 60s waiting for x"],
             "checks": [], "facts": {}}
    out = holdings.attribute(timed, pods)
    assert out["status"] == "error"
    assert "old-ca/baseline-0" in out["reasons"][0] and "cluster_autoscaling" in out["reasons"][0]
    assert out["reasons"][1].startswith("(would have been Not Implemented)")
    assert out["facts"]["aiconform_pods_in_the_way"] == pods
    # a timeout found only in the facts counts too
    facts_only = {"status": "Not Implemented", "reasons": ["x"], "checks": [],
                  "facts": {"positive": {"timeout": "timed out after 5s"}}}
    assert holdings.attribute(facts_only, pods)["status"] == "error"
    # no timeout, no pods, or a verdict that was not against the platform: unchanged
    plain_fail = {"status": "Not Implemented", "reasons": ["the webhook accepted an invalid resource"], "checks": []}
    assert holdings.attribute(plain_fail, pods) is plain_fail
    assert holdings.attribute(timed, []) is timed
    passed = {**timed, "status": "Implemented"}
    assert holdings.attribute(passed, pods) is passed


class _FakeHolders:
    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods, self.calls = pods, []

    def snapshot(self, requirement, holds, holds_of):
        self.calls.append(requirement)
        return list(self.pods) if holds.get("accelerators") else []


def test_run_all_judges_a_timeout_caused_by_aiconform_pods_as_error(monkeypatch):
    intervals: dict[str, tuple[float, float]] = {}
    timeout = (Status.NOT_IMPLEMENTED, ["timed out after 30s waiting for 2 pods to be Running"])
    monkeypatch.setattr(runtime, "run_verifier", _recording_verifier(intervals, threading.Lock(), 0.01, timeout))
    holders = _FakeHolders([{"pod": "aiconform-cluster-autoscaling-r0/base-0", "requirement": "cluster_autoscaling",
                             "run_id": "r0", "phase": "Running", "holds": ["accelerators"]}])
    results = orchestrate.run_all({"secure_accelerator_access": {}, "ai_inference": {}}, {}, run_id="r1",
                                  holders=holders)
    assert results["secure_accelerator_access"]["status"] == "error"
    assert "aiconform-cluster-autoscaling-r0/base-0" in results["secure_accelerator_access"]["reasons"][0]
    # ai_inference holds no GPUs: nothing of aiconform was in its way, its verdict stands
    assert results["ai_inference"]["status"] == "Not Implemented"


def test_cluster_holders_never_fail_the_run():
    class Broken(holdings.ClusterHolders):
        def _get(self, path):
            raise RuntimeError("forbidden")
    h = Broken({}, "r1")
    assert h.snapshot("dra_support", {"accelerators": "exclusive"}, lambda r: {}) == []
    assert h.snapshot("ai_inference", {}, lambda r: {}) == []


def test_check_result_type_is_kept():
    # attribute works on RequirementResult.to_dict() output (the orchestrator's data)
    r = RequirementResult(id="dra_support", status=Status.NOT_IMPLEMENTED, reasons=["timed out after 1s"],
                          checks=[Check("x", Outcome.FAIL, "timed out after 1s")], started_at=1.0, finished_at=2.0)
    out = holdings.attribute(r.to_dict(), [{"pod": "a/b", "requirement": "gpu_sharing", "run_id": "r0",
                                             "phase": "Running", "holds": ["accelerators"]}])
    assert out["status"] == "error" and out["checks"] == r.to_dict()["checks"]
