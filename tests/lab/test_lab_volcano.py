"""gang_scheduling decided by the real Volcano scheduler (``aiconform lab up --stack volcano``).

The lab runs Volcano's scheduler and controller-manager built from volcano.sh/volcano (their Deployments' pods run
the binaries) with a scheduler configuration of the lab's own (enqueue, allocate, backfill; the ``gang`` plugin)
and Queue ``default``. The verifier detects Volcano by its API group, writes a PodGroup (minMember = the Job's pods)
before each Job and hands the pods to ``schedulerName: volcano``: the two-pod gang is bound together and completes,
the gang larger than the cluster gets no pod bound -> Implemented. With the ``gang`` plugin left out of the
scheduler's configuration (the ConfigMap edited, the scheduler's pod restarted, as an operator would) Volcano binds
every pod that fits and the oversized gang starts partly -> Not Implemented. Nothing is stubbed: every binding and
PodGroup status comes from Volcano.

Volcano's webhook-manager (built from the same module) serves the chart's admission webhooks: the verifier's PodGroups
pass its real validator (its log names them), and what it rejects and defaults is asserted with server-side dry runs
(the webhooks are called, nothing is stored).

The probe pods ask for 4 CPUs each (``cpu_request``): the negative Job is then ~2x the lab's CPUs in a few dozen
pods, not a thousand (the partial case really runs what Volcano binds).

`make lab-build` builds the stack (``aiconform lab build --stack volcano``); without its binaries these tests skip
with the reason, except under CI, where that is a failure (``require_binaries``).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.lab import LabHandle, stack_lab, verify_on_lab, wait_for
from helpers.sim import run_tool

from aiconform import PROJECT_ROOT
from aiconform.labcluster import build, volcano

pytestmark = pytest.mark.lab
STACK = "volcano"
REQ = "gang_scheduling"
VARS = {"aiconform_gang_scheduling_cpu_request": "4", "aiconform_gang_scheduling_memory_request": "128Mi",
        "aiconform_gang_scheduling_negative_parallelism": 1, "aiconform_gang_scheduling_negative_window": 30,
        "aiconform_gang_scheduling_positive_timeout": 120}


lab = stack_lab(STACK)


def _verify(lab: LabHandle, tmp_path: Path, extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    results, out, _run = verify_on_lab(lab, tmp_path, REQ, {**VARS, **(extra or {})})
    return results[REQ], out


def _kubectl(lab: LabHandle, *args: str) -> str:
    res = run_tool(lab, "kubectl", *args)  # type: ignore[arg-type]
    assert res.returncode == 0, res.stderr
    return str(res.stdout)


def _scheduler_pod(lab: LabHandle) -> dict[str, Any]:
    pods = json.loads(_kubectl(lab, "get", "pods", "-n", volcano.NAMESPACE, "-l", f"app={volcano.SCHEDULER}",
                               "-o", "json"))["items"]
    return next((p for p in pods if not p["metadata"].get("deletionTimestamp")), {})


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def test_volcano_binds_the_gang_all_or_nothing(lab: LabHandle, tmp_path: Path) -> None:
    version = build.upstream_pin("volcano-scheduler")["version"]
    res = subprocess.run([sys.executable, "-m", "aiconform.cli", "lab", "status", "--kubeconfig", str(lab.kubeconfig)],
                         cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert f"real: volcano-scheduler {version} (built from volcano.sh/volcano" in res.stdout, res.stdout
    assert f"real: volcano-controller-manager {version} (built from volcano.sh/volcano" in res.stdout, res.stdout
    assert f"real: volcano-webhook-manager {version} (built from volcano.sh/volcano" in res.stdout, res.stdout
    info = json.loads((lab.state / "lab.json").read_text())["stack"]["volcano"]
    assert info["version"] == version and f"Deployments {volcano.NAMESPACE}/{volcano.SCHEDULER}" in info["runs_as"]
    assert "podgroups.scheduling.volcano.sh" in info["crds"] and "queues.scheduling.volcano.sh" in info["crds"], info
    # the controller-manager's queue controller opened the lab's Queue
    queue = json.loads(_kubectl(lab, "get", "queues.scheduling.volcano.sh", volcano.QUEUE, "-o", "json"))
    assert queue["status"]["state"] == "Open", queue.get("status")

    entry, out = _verify(lab, tmp_path)
    assert entry["status"] == "Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:]))
    facts = entry["facts"]
    assert facts["mechanism"]["name"] == "volcano" and facts["mechanism"]["source"] == "detected", facts["mechanism"]
    assert facts["podgroup"]["scheduler_name"] == volcano.SCHEDULER_NAME, facts["podgroup"]
    pos = facts["positive"]
    assert pos["complete"] and pos["succeeded"] == pos["parallelism"] == 2, pos
    assert all(p["node"] for p in pos["pods"]) and pos["max_bound_together"] == 2, pos["pods"]
    # Volcano's own status on the verifier's PodGroup (the verifier writes none)
    assert pos["podgroup"]["found"] and pos["podgroup"]["phase"] in ("Running", "Completed"), pos["podgroup"]
    neg = facts["negative"]
    assert neg["violation_count"] == 0 and neg["pods_seen"] == neg["parallelism"] > 2, neg
    # the gang plugin's own word: the PodGroup cannot be scheduled as a whole
    pg = neg["podgroup"]
    assert pg["found"] and pg["min_member"] == neg["parallelism"], pg
    unsched = [c for c in pg["conditions"] if c.get("type") == "Unschedulable" and c.get("status") == "True"]
    assert unsched and unsched[0].get("reason") == "NotEnoughResources", pg
    assert "tasks in gang unschedulable: pod group is not ready" in unsched[0].get("message", ""), pg
    assert f"{neg['parallelism']} minAvailable" in unsched[0]["message"], pg
    assert facts["cleanup"]["released"], facts["cleanup"]
    # both of the verifier's PodGroups went through Volcano's real PodGroup validator (klog V(3) at the chart's -v=4)
    pgs = [p["name"] for p in (pos["podgroup"], pg)]
    validated = wait_for("the webhook-manager's log of the verifier's PodGroups",
                         lambda: [n for n in pgs if f"Validating CREATE PodGroup {n}" in _admission_log(lab)] == pgs,
                         60)
    assert validated


def _admission_log(lab: LabHandle) -> str:
    pods = json.loads(_kubectl(lab, "get", "pods", "-n", volcano.NAMESPACE, "-l", f"app={volcano.ADMISSION}",
                               "-o", "json"))["items"]
    res = run_tool(lab, "kubectl", "logs", "-n", volcano.NAMESPACE, pods[0]["metadata"]["name"])  # type: ignore[arg-type]
    return str(res.stdout) if res.returncode == 0 else ""


def _vcjob(name: str, replicas: int, min_available: int | None = None) -> dict[str, Any]:
    task = {"replicas": replicas, "template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}
    return {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"tasks": [task], **({"minAvailable": min_available} if min_available is not None else {})}}


def _dry_run(lab: LabHandle, obj: dict[str, Any]) -> Any:
    """``kubectl create --dry-run=server``: admission (mutating, then validating webhooks) runs, nothing is stored."""
    return run_tool(lab, "kubectl", "create", "--dry-run=server", "-o", "json", "-f", "-",  # type: ignore[arg-type]
                    input=json.dumps(obj))


def test_volcanos_own_admission_webhooks_validate_and_mutate(lab: LabHandle) -> None:
    """The chart's webhook configurations are served by the real webhook-manager: it wrote its CA into them at start,
    rejects what v1.14.1's validators reject (a PodGroup in a queue that does not exist, a vcjob whose minAvailable
    exceeds its replicas) with their own messages, and its job mutator fills in a vcjob's defaults."""
    secret = json.loads(_kubectl(lab, "get", "secret", "-n", volcano.NAMESPACE, volcano.ADMISSION_SECRET, "-o", "json"))
    for _path, cfg in volcano.webhook_configurations():
        kind = cfg["kind"].lower()
        live = json.loads(_kubectl(lab, "get", kind, cfg["metadata"]["name"], "-o", "json"))
        # the lab wrote none: the webhook-manager's addCaCertForWebhook did, from --ca-cert-file
        assert [h["clientConfig"].get("caBundle") for h in live["webhooks"]] == [secret["data"]["ca.crt"]], live

    pg = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
          "metadata": {"name": "aiconform-no-queue", "namespace": "default"},
          "spec": {"minMember": 1, "queue": "aiconform-no-such-queue"}}
    res = _dry_run(lab, pg)
    assert res.returncode != 0, res.stdout
    assert 'admission webhook "validatepodgroup.volcano.sh" denied the request' in res.stderr, res.stderr
    assert 'unable to find queue: queue.scheduling.volcano.sh "aiconform-no-such-queue" not found' in res.stderr, \
        res.stderr
    ok = _dry_run(lab, {**pg, "spec": {"minMember": 1}})  # the CRD defaults spec.queue to default, which is Open
    assert ok.returncode == 0, ok.stderr

    res = _dry_run(lab, _vcjob("aiconform-too-small", replicas=2, min_available=3))
    assert res.returncode != 0, res.stdout
    assert 'admission webhook "validatejob.volcano.sh" denied the request' in res.stderr, res.stderr
    assert "job 'minAvailable' should not be greater than total replicas in tasks" in res.stderr, res.stderr

    res = _dry_run(lab, _vcjob("aiconform-defaults", replicas=2))
    assert res.returncode == 0, res.stderr
    spec = json.loads(res.stdout)["spec"]
    # set by mutatejob.volcano.sh only (the CRD's schema has no default for these)
    assert spec["minAvailable"] == 2 and spec["schedulerName"] == volcano.SCHEDULER_NAME, spec
    assert spec["tasks"][0]["name"] == "default0", spec["tasks"]


def test_volcano_without_the_gang_plugin_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """Runs last in the module: from here on the scheduler runs a configuration without the ``gang`` plugin."""
    before = _scheduler_pod(lab)
    conf = volcano.scheduler_conf(without=("gang",))
    patch = json.dumps({"data": {volcano.CONF_FILE: conf}})
    _kubectl(lab, "patch", "configmap", "-n", volcano.NAMESPACE, volcano.CONFIGMAP, "--type=merge", "-p", patch)
    _kubectl(lab, "delete", "pod", "-n", volcano.NAMESPACE, before["metadata"]["name"], "--wait=true")
    deadline = time.monotonic() + 90
    pod: dict[str, Any] = {}
    while time.monotonic() < deadline:
        pod = _scheduler_pod(lab)
        if pod and pod["metadata"]["uid"] != before["metadata"]["uid"] and _ready(pod):
            break
        time.sleep(1)
    else:
        pytest.fail(f"the restarted Volcano scheduler pod is not Ready: {json.dumps(pod.get('status'))[:1500]}")
    # the scheduler itself says which plugins it loaded (klog V(2), -v=2 in the lab's Deployment)
    deadline = time.monotonic() + 60
    loaded = ""
    while time.monotonic() < deadline and not loaded:
        res = run_tool(lab, "kubectl", "logs", "-n", volcano.NAMESPACE, pod["metadata"]["name"])  # type: ignore[arg-type]
        logs = str(res.stdout) if res.returncode == 0 else ""  # "no logs found" until the runner has some
        loaded = next((line for line in logs.splitlines() if "Finished loading scheduler config" in line), "")
        time.sleep(1)
    assert loaded and "predicates" in loaded and "gang" not in loaded, loaded or lab.log("pods")[-3000:]

    # a 90 s window: a scheduler that has just restarted on a loaded CI machine took more than 30 s to bind any pod
    entry, out = _verify(lab, tmp_path, {"aiconform_gang_scheduling_negative_window": 90})
    assert entry["status"] == "Not Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:]))
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["NegativeGangScheduling"]["outcome"] == "fail", checks
    assert "partial scheduling" in checks["NegativeGangScheduling"]["reason"], checks["NegativeGangScheduling"]
    neg = entry["facts"]["negative"]
    # Volcano bound pods of the gang before the whole gang could run (4 CPUs each; the cluster fits fewer than 22 at
    # once). Pods that finish free their CPUs for the next, so over the window every pod may have been started.
    assert 0 < neg["violation_count"] <= neg["parallelism"], neg
    assert all(v["node"] for v in neg["violations"]), neg["violations"]
