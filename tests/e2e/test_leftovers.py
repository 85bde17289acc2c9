"""Probe objects of earlier runs (aiconform.verifiers.leftovers) on the simulator: dead runs' objects are removed,
a run still renewing its Lease is left alone, the current run's own objects are never touched."""
from __future__ import annotations

import time

import pytest
from aiconform.verifiers import leftovers
from aiconform.verifiers.runtime import MANAGED_BY, RUN_LABEL
from helpers.sim import SimHandle, run_tool

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"  # Kueue served: the ClusterQueue/ResourceFlavor part of the sweep runs


def _params(sim: SimHandle) -> dict:
    return {"kubeconfig": str(sim.kubeconfig), "validate_certs": True, "request_timeout": 10}


def _plant(sim: SimHandle, run: str) -> None:
    """What a run killed in gang_scheduling's negative window leaves: its namespace, LocalQueue's CQ and flavor."""
    labels = "\n".join(f"      {k}: {v}" for k, v in {**MANAGED_BY, RUN_LABEL: run}.items())
    manifest = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: aiconform-gang-scheduling-{run}
  labels:
{labels}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata:
  name: aiconform-{run}
  labels:
{labels}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata:
  name: aiconform-{run}
  labels:
{labels}
spec:
  namespaceSelector: {{}}
  resourceGroups: [{{coveredResources: [cpu], flavors: [{{name: aiconform-{run}, resources: [{{name: cpu, nominalQuota: "1"}}]}}]}}]
"""
    proc = run_tool(sim, "kubectl", "apply", "-f", "-", input=manifest)
    assert proc.returncode == 0, proc.stderr


def _objects(sim: SimHandle, run: str) -> list[str]:
    proc = run_tool(sim, "kubectl", "get", "namespaces,clusterqueues,resourceflavors", "-l", f"{RUN_LABEL}={run}",
                    "-o", "name")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_dead_runs_are_removed_live_and_own_runs_kept(sim):
    params = _params(sim)
    _plant(sim, "dead1")  # no lease at all (killed before it took one, or an older aiconform)
    _plant(sim, "live1")
    _plant(sim, "mine")
    live = leftovers.RunLease(params, "live1", renew_seconds=0.5, lease_seconds=3).start()
    assert not live.error, live.error
    try:
        assert len(_objects(sim, "live1")) == 4  # planted three + the lease's namespace
        started = time.monotonic()
        out = leftovers.sweep(params, "mine", cleanup_timeout=30)
        assert time.monotonic() - started < 15
        assert not out["errors"], out
        assert sorted(out["removed"]) == sorted([
            "Namespace aiconform-gang-scheduling-dead1 (run dead1)", "clusterqueues aiconform-dead1 (run dead1)",
            "resourceflavors aiconform-dead1 (run dead1)"])
        assert _objects(sim, "dead1") == []
        assert len(_objects(sim, "live1")) == 4 and any("still running" in k for k in out["kept"])
        assert len(_objects(sim, "mine")) == 3
    finally:
        live._stop.set()  # the run dies without its cleanup (as kill -9): the lease stays, no longer renewed
        live._thread.join()
    out = leftovers.sweep(params, "mine", cleanup_timeout=30)
    assert not out["errors"], out
    assert "Namespace aiconform-run-live1 (run live1)" in out["removed"]
    assert _objects(sim, "live1") == [] and len(_objects(sim, "mine")) == 3
    run_tool(sim, "kubectl", "delete", "namespace,clusterqueue,resourceflavor", "-l", f"{RUN_LABEL}=mine")


def test_nothing_to_do_is_quick_and_says_nothing(sim):
    started = time.monotonic()
    out = leftovers.sweep(_params(sim), "other")
    assert out == {"removed": [], "kept": [], "errors": []} and time.monotonic() - started < 5


def test_an_unreachable_cluster_is_an_error_not_a_crash(sim):
    out = leftovers.sweep({"host": "http://127.0.0.1:9", "request_timeout": 2}, "r")
    assert out["removed"] == [] and out["errors"] and "unreachable" in out["errors"][0]


def test_a_lease_taken_twice_by_the_same_run_is_taken_over(sim):
    params = _params(sim)
    first = leftovers.RunLease(params, "twice", renew_seconds=60).start()
    second = leftovers.RunLease(params, "twice", renew_seconds=60).start()
    try:
        assert not first.error and not second.error, (first.error, second.error)
    finally:
        first._stop.set()
        second.stop()
        first._thread.join()
    assert _objects(sim, "twice") == []  # stop() deleted the Lease namespace
