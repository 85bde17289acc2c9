"""gang_scheduling decided by the real scheduler-plugins Coscheduling plugin (``aiconform lab up --stack coscheduling``).

The lab runs the scheduler-plugins kube-scheduler and controller built from sigs.k8s.io/scheduler-plugins (their
Deployments' pods run the binaries) as a second scheduler, ``scheduler-plugins-scheduler``, whose profile enables
Coscheduling (the lab's own KubeSchedulerConfiguration, written from upstream's as-a-second-scheduler chart). The
verifier detects the PodGroup API (scheduling.x-k8s.io), writes a PodGroup (minMember = the Job's pods) before each
Job and gives the pods the label ``scheduling.x-k8s.io/pod-group`` and ``schedulerName: scheduler-plugins-scheduler``:
the two-pod gang is bound together and completes, the gang larger than the cluster gets no pod bound ->
Implemented. With the profile's Coscheduling plugin left out (the ConfigMap edited, the scheduler's pod restarted, as
an operator would) the scheduler binds every pod that fits and the oversized gang starts partly -> Not Implemented.
Nothing is stubbed: every binding and PodGroup status comes from the real scheduler and controller.

The probe pods ask for 4 CPUs each (``cpu_request``): the negative Job is then ~2x the lab's CPUs in a few dozen
pods, not a thousand.

`make lab-build` builds the stack (``aiconform lab build --stack coscheduling``); without its binaries these tests
skip with the reason, except under CI, where that is a failure (``require_binaries``).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.lab import LabHandle, kubectl_ok, stack_lab, verify_on_lab, wait_for
from helpers.sim import run_tool

from aiconform import PROJECT_ROOT
from aiconform.labcluster import build, coscheduling

pytestmark = pytest.mark.lab
# what the Coscheduling plugin says on a pod it keeps from binding (pkg/coscheduling of v0.34.7)
COSCHEDULING_WORDS = re.compile(r"optimistic rejection in PostFilter|rejection in Unreserve|PodGroup \S+ gets rejected "
                                r"due to Pod \S+ is unschedulable even after PostFilter|cannot find enough sibling pods")
STACK = "coscheduling"
REQ = "gang_scheduling"
VARS = {"aiconform_gang_scheduling_cpu_request": "4", "aiconform_gang_scheduling_memory_request": "128Mi",
        "aiconform_gang_scheduling_negative_parallelism": 1, "aiconform_gang_scheduling_negative_window": 30,
        "aiconform_gang_scheduling_positive_timeout": 120}


lab = stack_lab(STACK)


def _verify(lab: LabHandle, tmp_path: Path, extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    results, out, _run = verify_on_lab(lab, tmp_path, REQ, {**VARS, **(extra or {})})
    return results[REQ], out


def _scheduler_pod(lab: LabHandle) -> dict[str, Any]:
    pods = json.loads(kubectl_ok(lab, "get", "pods", "-n", coscheduling.NAMESPACE, "-l", "component=scheduler",
                                 "-o", "json"))["items"]
    return next((p for p in pods if not p["metadata"].get("deletionTimestamp")), {})


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def test_coscheduling_binds_the_gang_all_or_nothing(lab: LabHandle, tmp_path: Path) -> None:
    version = build.upstream_pin("scheduler-plugins-scheduler")["version"]
    res = subprocess.run([sys.executable, "-m", "aiconform.cli", "lab", "status", "--kubeconfig", str(lab.kubeconfig)],
                         cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    for name in ("scheduler-plugins-scheduler", "scheduler-plugins-controller"):
        assert f"real: {name} {version} (built from sigs.k8s.io/scheduler-plugins" in res.stdout, res.stdout
    info = json.loads((lab.state / "lab.json").read_text())["stack"]["coscheduling"]
    assert info["version"] == version and f"Deployments {coscheduling.NAMESPACE}/{coscheduling.SCHEDULER}" in info[
        "runs_as"], info
    assert "podgroups.scheduling.x-k8s.io" in info["crds"] and "elasticquotas.scheduling.x-k8s.io" in info["crds"]

    entry, out = _verify(lab, tmp_path)
    assert entry["status"] == "Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:]))
    facts = entry["facts"]
    assert facts["mechanism"]["name"] == "coscheduling" and facts["mechanism"]["source"] == "detected", facts[
        "mechanism"]
    # the verifier's default schedulerName is the lab's second scheduler's profile
    assert facts["podgroup"]["scheduler_name"] == coscheduling.SCHEDULER_NAME, facts["podgroup"]
    pos = facts["positive"]
    assert pos["complete"] and pos["succeeded"] == pos["parallelism"] == 2, pos
    assert all(p["node"] for p in pos["pods"]), pos["pods"]
    # the real controller's status on the verifier's PodGroup (the verifier writes none)
    assert pos["podgroup"]["found"] and pos["podgroup"]["phase"] in ("Running", "Finished"), pos["podgroup"]
    neg = facts["negative"]
    assert neg["violation_count"] == 0 and neg["pods_seen"] == neg["parallelism"] > 2, neg
    pg = neg["podgroup"]
    # every member exists, none bound: the controller's phase is Scheduling (pods >= minMember) once it has synced
    # the group (on a loaded machine it may not have written one yet when the verifier read it), never Running
    assert pg["found"] and pg["min_member"] == neg["parallelism"] and pg["phase"] in ("", "Pending", "Scheduling"), pg
    # the plugin's own words on a pending member (the last one the verifier saw): a member that fits nowhere
    # rejects the whole group in PostFilter, the members waiting in Permit are rejected with it ("optimistic
    # rejection in PostFilter", or "rejection in Unreserve" when a sibling's reservation is undone), and before every
    # member exists PreFilter finds too few siblings
    # (on a loaded machine the scheduler may not have written a condition on the last pod yet: then nothing to read)
    why = neg.get("pending_reason") or {}
    if why:
        assert why.get("reason") == "Unschedulable", neg
        assert COSCHEDULING_WORDS.search(why.get("message", "")), why
    assert facts["cleanup"]["released"], facts["cleanup"]


def test_a_profile_without_coscheduling_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """Runs last in the module: from here on the second scheduler's profile has no Coscheduling plugin."""
    before = _scheduler_pod(lab)
    conf = coscheduling.scheduler_config(without=(coscheduling.GANG_PLUGIN,))
    patch = json.dumps({"data": {coscheduling.CONF_FILE: conf}})
    kubectl_ok(lab, "patch", "configmap", "-n", coscheduling.NAMESPACE, coscheduling.CONFIGMAP, "--type=merge",
               "-p", patch)
    kubectl_ok(lab, "delete", "pod", "-n", coscheduling.NAMESPACE, before["metadata"]["name"], "--wait=true")

    def restarted() -> dict[str, Any]:
        pod = _scheduler_pod(lab)
        return pod if pod and pod["metadata"]["uid"] != before["metadata"]["uid"] and _ready(pod) else {}

    pod = wait_for("the restarted scheduler-plugins scheduler pod to be Ready", restarted, 90)

    # the scheduler itself logs the profile it runs (klog -v=3: the configuration it loaded, without Coscheduling)
    def loaded() -> str:
        res = run_tool(lab, "kubectl", "logs", "-n", coscheduling.NAMESPACE, pod["metadata"]["name"])  # type: ignore[arg-type]
        logs = str(res.stdout) if res.returncode == 0 else ""  # "no logs found" until the runner has some
        return logs if "schedulerName: " + coscheduling.SCHEDULER_NAME in logs else ""

    logs = wait_for("the scheduler's logged configuration", loaded, 60)
    assert "Coscheduling" not in logs, logs[-3000:]

    # a 90 s window: a scheduler that has just restarted on a loaded machine can take a while to bind any pod
    entry, out = _verify(lab, tmp_path, {"aiconform_gang_scheduling_negative_window": 90})
    assert entry["status"] == "Not Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:]))
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["NegativeGangScheduling"]["outcome"] == "fail", checks
    assert "partial scheduling" in checks["NegativeGangScheduling"]["reason"], checks["NegativeGangScheduling"]
    neg = entry["facts"]["negative"]
    # the scheduler bound pods of the gang before the whole gang could run (4 CPUs each; the cluster fits fewer at
    # once); pods that finish free their CPUs for the next, so over the window every pod may have been started
    assert 0 < neg["violation_count"] <= neg["parallelism"], neg
    assert all(v["node"] for v in neg["violations"]), neg["violations"]
    # a pod kept pending (if the verifier saw one) was kept by the plain fit error, not by the Coscheduling plugin
    assert not COSCHEDULING_WORDS.search((neg.get("pending_reason") or {}).get("message", "")), neg["pending_reason"]
