"""gang_scheduling judge, table-driven on facts built from real Kueue outputs.

Sources (parsed when ../shared is present, else skipped):
- VKS v1.36 Kueue events (QuotaReserved / Admitted / Started / Resumed, and the Warning Pending
  "insufficient unused quota" of jobs held suspended): stacks/..._vks_gang_scheduling.md__kueue_events.txt
- Kueue v0.19.2 Workload status examples (admitted; pending on quota; inadmissible LocalQueue):
  stacks/kubernetes-sigs_kueue__v0.19.2__..._workload_status_examples.txt
- kOps v1.35 transcript: the Job completes ("condition met") under Kueue, with the "Use v1beta2" warning.
The small inline facts below restate what those files show (names, reasons, messages), nothing more.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.results import Outcome, Status
from aiconform.verifiers.gang_scheduling import judge
from aiconform.verifiers.gang_scheduling.mechanisms import MECHANISMS, choose

LOOKED_FOR = {name: m.group for name, m in MECHANISMS.items()}

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
STACKS = SHARED / "stacks"
VKS_EVENTS = STACKS / "cncf_k8s-ai-conformance__v1.36_vks_gang_scheduling.md__kueue_events.txt"
WL_EXAMPLES = STACKS / ("kubernetes-sigs_kueue__v0.19.2__site_content_en_docs_tasks_troubleshooting_"
                        "troubleshooting_jobs.md__workload_status_examples.txt")
KOPS = SHARED / "evidence/cncf-k8s-ai-conformance/v1.35/kops/tests/TestSchedulingOrchestration_GangScheduling_ViaKueue/output.md"
_EVENT = re.compile(r"^(Normal|Warning)\s+(\w+)\s+(\S+)\s+(.*)$")


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def vks_events() -> list[dict[str, str]]:
    out = []
    for line in _need(VKS_EVENTS).splitlines():
        m = _EVENT.match(line.strip())
        if m:
            out.append({"type": m[1], "reason": m[2], "object": m[3], "message": m[4]})
    return out


def wl_condition_blocks() -> list[list[dict[str, str]]]:
    """The status.conditions of each example; the file elides with '...' lines, which are dropped first."""
    out = []
    for chunk in _need(WL_EXAMPLES).split("\n---\n"):
        lines = [ln for ln in chunk.splitlines() if ln.strip() != "..." and not ln.startswith("#")]
        doc = yaml.safe_load("\n".join(lines)) or {}
        conds = (doc.get("status") or {}).get("conditions") if isinstance(doc, dict) else None
        if conds:
            out.append([{k: c[k] for k in ("type", "status", "reason", "message")} for c in conds])
    return out


def _wl(conds: list[dict[str, str]], name: str = "job-aiconform-gang-pos-1b468") -> dict[str, Any]:
    return {"found": True, "name": name, "conditions": conds}


def _base() -> dict[str, Any]:
    """A conformant run: Kueue v1beta2, the admitted/pending Workload conditions and events of the fixtures."""
    blocks = wl_condition_blocks()
    admitted = next(b for b in blocks if {c.get("type") for c in b} == {"QuotaReserved", "Admitted"})
    pending = next(b for b in blocks if len(b) == 1 and b[0].get("reason") == "Pending")  # quota exhausted
    evs = [e for e in vks_events() if "mbd4h" in e["object"]]  # the job admitted first at VKS
    return {
        "scheduler": "kueue",
        "mechanism": {"name": "kueue", "source": "detected", "found": ["kueue"], "looked_for": LOOKED_FOR},
        "kueue": {"served_versions": ["v1beta2", "v1beta1"], "api_version": "v1beta2", "deprecated_only": False},
        "queue": {"created": True, "usable": True, "name": "aiconform-gang", "cluster_queue": "aiconform-x"},
        "positive": {"job": "aiconform-gang-pos", "parallelism": 2, "complete": True, "failed": False,
                     "duration_s": 9.0, "labels_kept": True, "max_bound_together": 2,
                     "pods": [{"name": "aiconform-gang-pos-a", "phase": "Succeeded", "node": "gpu-node-1"},
                              {"name": "aiconform-gang-pos-b", "phase": "Succeeded", "node": "gpu-node-2"}],
                     "workload": _wl(admitted), "events": evs},
        "negative": {"job": "aiconform-gang-neg", "parallelism": 1000, "window_s": 30.0, "observed_s": 30.2,
                     "pods_seen": 0, "violations": [], "violation_count": 0, "suspended_throughout": True,
                     "workload": _wl(pending, "job-aiconform-gang-neg-4fbeb")},
        "cleanup": {"released": True, "jobs": ["aiconform-gang-pos", "aiconform-gang-neg"], "duration_s": 1.0},
    }


def _with(**changes: Any):
    def build() -> dict[str, Any]:
        facts = _base()
        for dotted, value in changes.items():
            node = facts
            *path, last = dotted.split("__")
            for part in path:
                node = node[part]
            node[last] = value
        return facts
    return build


def _broken_scheduler() -> dict[str, Any]:
    facts = _base()
    facts["negative"].update(suspended_throughout=False, pods_seen=1000, violation_count=3, violations=[
        {"name": f"aiconform-gang-neg-{i}", "phase": "Running", "node": f"gpu-node-{i}", "seen_after_s": 2.1}
        for i in range(3)])
    return facts


def _inadmissible() -> dict[str, Any]:
    facts = _base()
    inadm = next(b for b in wl_condition_blocks() if b and b[0].get("reason") == "Inadmissible")
    facts["positive"].update(complete=False, timeout="timed out after 120s waiting for Job aiconform-gang-pos "
                             "(parallelism 2) to complete: the Job is still suspended (never admitted by the gang "
                             "scheduler)", pods=[], workload=_wl(inadm))
    return facts


def _kops_v1beta1() -> dict[str, Any]:
    facts = _base()
    kops = _need(KOPS)
    assert "condition met" in kops and "Use v1beta2" in kops  # what kOps saw: Kueue served v1beta1 + deprecation
    facts["kueue"] = {"served_versions": ["v1beta1"], "api_version": "v1beta1", "deprecated_only": True}
    return facts


def _found(found: list[str], name: str | None = None, source: str | None = None):
    def build() -> dict[str, Any]:
        return {"scheduler": name, "mechanism": {"name": name, "source": source, "found": found,
                                                 "looked_for": LOOKED_FOR}}
    return build


def _podgroup(name: str, version: str, scheduler_name: str):
    """A conformant run through a PodGroup mechanism: the gang of 2 ran, the big one stayed pending."""
    def build() -> dict[str, Any]:
        facts = _base()
        facts.pop("kueue")
        facts.pop("queue")
        facts["scheduler"] = name
        facts["mechanism"] = {"name": name, "source": "detected", "found": [name], "looked_for": LOOKED_FOR}
        facts["podgroup"] = {"group": MECHANISMS[name].group, "served_versions": [version], "api_version": version,
                             "scheduler_name": scheduler_name}
        facts["positive"].pop("workload")
        facts["negative"].pop("workload")
        facts["negative"].update(suspended_throughout=False, pods_seen=1000, podgroup={
            "found": True, "name": "aiconform-gang-neg", "min_member": 1000, "phase": "Pending",
            "conditions": [{"type": "Unschedulable", "status": "True", "reason": "NotEnoughResources",
                            "message": "1000/1000 tasks in gang unschedulable"}]})
        return facts
    return build


def _with_podgroup_version():
    def build() -> dict[str, Any]:
        facts = _podgroup("volcano", "v1beta1", "volcano")()
        facts["podgroup"] = {"group": "scheduling.volcano.sh", "served_versions": ["v1"], "api_version": None}
        return facts
    return build


def _with_kai_queue_missing():
    def build() -> dict[str, Any]:
        facts = _podgroup("kai", "v2alpha2", "kai-scheduler")()
        facts["podgroup"].update(queue="team-x", queue_missing=True, queues=["default-parent-queue", "default-queue"])
        return facts
    return build


CASES = [
    # id, facts builder, status, reason fragment, {check: outcome}
    ("conformant", _base, Status.IMPLEMENTED, "co-scheduled and completed",
     {"PositiveGangScheduling": "pass", "NegativeGangScheduling": "pass", "Cleanup": "pass"}),
    ("kops-v1beta1-deprecated", _kops_v1beta1, Status.IMPLEMENTED, "v1beta1 (deprecated)", {}),
    ("broken-scheduler-partial-start", _broken_scheduler, Status.NOT_IMPLEMENTED, "partial scheduling: 3 pod(s)",
     {"PositiveGangScheduling": "pass", "NegativeGangScheduling": "fail"}),
    ("positive-never-admitted", _inadmissible, Status.NOT_IMPLEMENTED, "LocalQueue user-queue doesn't exist",
     {"PositiveGangScheduling": "fail"}),
    ("positive-failed", _with(positive__failed=True, positive__failed_reason="BackoffLimitExceeded"),
     Status.NOT_IMPLEMENTED, "BackoffLimitExceeded", {"PositiveGangScheduling": "fail"}),
    ("positive-pod-never-bound", _with(positive__pods=[{"name": "p-a", "phase": "Succeeded", "node": "n1"},
                                                       {"name": "p-b", "phase": "Pending", "node": ""}]),
     Status.NOT_IMPLEMENTED, "never bound to a node: p-b", {"PositiveGangScheduling": "fail"}),
    ("positive-labels-dropped", _with(positive__labels_kept=False), Status.NOT_IMPLEMENTED, "lost its gang",
     {"PositiveGangScheduling": "fail"}),
    ("negative-window-cut-short", _with(negative__observed_s=4.0), Status.NOT_IMPLEMENTED, "observed only 4s",
     {"NegativeGangScheduling": "fail"}),
    ("cleanup-not-released", _with(cleanup={"released": False, "timeout": "timed out after 60s waiting for the "
                                            "probe Jobs, pods and Workloads to be released: Workload "
                                            "job-aiconform-gang-neg-4fbeb"}),
     Status.NOT_IMPLEMENTED, "Workload job-aiconform-gang-neg-4fbeb", {"Cleanup": "fail"}),
    ("cleanup-missing-is-not-a-pass", _with(cleanup=None), Status.NOT_IMPLEMENTED, "Cleanup: not run",
     {"Cleanup": "skip"}),
    ("no-gang-scheduler", _found([]), Status.NOT_IMPLEMENTED, "kueue.x-k8s.io API group is not served",
     {"PositiveGangScheduling": "skip"}),
    ("no-gang-scheduler-names-what-was-looked-for", _found([]), Status.NOT_IMPLEMENTED,
     "Volcano (scheduling.volcano.sh), KAI Scheduler (scheduling.run.ai), scheduler-plugins coscheduling", {}),
    ("kueue-and-volcano-installed", _found(["kueue", "volcano"]), Status.UNKNOWN,
     "several gang schedulers are installed: Kueue (kueue.x-k8s.io), Volcano (scheduling.volcano.sh); set "
     "aiconform_gang_scheduling_scheduler", {"PositiveGangScheduling": "skip"}),
    ("inventory-names-a-missing-one", _found(["volcano"], "kai", "inventory"), Status.UNKNOWN,
     "aiconform_gang_scheduling_scheduler chose kai (aiconform_gang_scheduling_scheduler is set), but "
     "scheduling.run.ai is not served; installed: Volcano", {}),
    ("volcano", _podgroup("volcano", "v1beta1", "volcano"), Status.IMPLEMENTED,
     "mechanism: Volcano, a PodGroup scheduling.volcano.sh/v1beta1 with minMember = the Job's pods, schedulerName "
     "volcano (detected: the only gang scheduler installed)", {"NegativeGangScheduling": "pass"}),
    ("kai", _podgroup("kai", "v2alpha2", "kai-scheduler"), Status.IMPLEMENTED, "mechanism: KAI Scheduler", {}),
    ("coscheduling", _podgroup("coscheduling", "v1alpha1", "scheduler-plugins-scheduler"), Status.IMPLEMENTED,
     "mechanism: scheduler-plugins coscheduling", {}),
    ("kai-queue-missing", _with_kai_queue_missing(), Status.UNKNOWN,
     "KAI Scheduler queue 'team-x' does not exist (queues: default-parent-queue, default-queue); set "
     "aiconform_gang_scheduling_kai_queue", {"PositiveGangScheduling": "skip"}),
    ("podgroup-version-unknown", _with_podgroup_version(), Status.UNKNOWN, "not the PodGroup version aiconform "
     "writes (v1beta1)", {}),
    ("inventory-queue-missing", _with(queue={"usable": False, "error": "LocalQueue gang/e2e-lq (from the "
                                             "inventory) does not exist"}),
     Status.UNKNOWN, "LocalQueue gang/e2e-lq", {}),
    # the lab with its real Kueue stopped: the API server cannot call Kueue's webhook for its own ResourceFlavor
    ("kueue-not-running", _with(queue={"usable": False, "not_operational": (
        'create ResourceFlavor aiconform-x: API server error 500 (Internal error occurred: failed calling webhook '
        '"mresourceflavor.kb.io": failed to call webhook: Post "https://kueue-webhook-service.kueue-system.svc:443/'
        'mutate-kueue-x-k8s-io-v1beta2-resourceflavor?timeout=10s": no endpoints available for service '
        '"kueue-webhook-service")')}),
     Status.NOT_IMPLEMENTED, "Kueue is installed but not operational", {"PositiveGangScheduling": "skip"}),
]


@pytest.mark.parametrize(("build", "status", "fragment", "checks"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(build, status, fragment, checks):
    verdict = judge(build())
    assert verdict.status is status, verdict.reasons
    assert any(fragment in r for r in verdict.reasons), verdict.reasons
    got = {c.name: c.outcome.value for c in verdict.checks}
    for name, outcome in checks.items():
        assert got[name] == outcome, got


def test_pending_reason_from_kueue_is_shown_for_the_negative_job():
    verdict = judge(_base())
    neg = next(c for c in verdict.checks if c.name == "NegativeGangScheduling")
    assert neg.outcome is Outcome.PASS
    assert "insufficient quota for cpu" in neg.reason and "QuotaReserved=False" in neg.reason


def test_the_report_names_the_mechanism_also_on_failure():
    facts = _broken_scheduler()
    verdict = judge(facts)
    assert verdict.status is Status.NOT_IMPLEMENTED
    assert any(r.startswith("mechanism: Kueue, a queue of aiconform's own (detected") for r in verdict.reasons)


def test_podgroup_state_is_shown_for_the_negative_job():
    neg = next(c for c in judge(_podgroup("volcano", "v1beta1", "volcano")()).checks if c.name == "NegativeGangScheduling")
    assert "PodGroup aiconform-gang-neg minMember 1000, phase Pending" in neg.reason and "NotEnoughResources" in neg.reason


def test_the_schedulers_pending_reason_is_shown_for_the_negative_job():
    facts = _podgroup("coscheduling", "v1alpha1", "scheduler-plugins-scheduler")()
    facts["negative"]["pending_reason"] = {"reason": "Unschedulable", "message": "PodGroup ns/pg gets rejected due "
                                           "to Pod p is unschedulable even after PostFilter"}
    neg = next(c for c in judge(facts).checks if c.name == "NegativeGangScheduling")
    assert neg.outcome is Outcome.PASS and "pending: Unschedulable: PodGroup ns/pg gets rejected" in neg.reason


def test_a_kueue_queue_in_the_inventory_chooses_kueue_among_several():
    got = choose("auto", {"kueue.x-k8s.io", "scheduling.volcano.sh"}, "aiconform_gang_scheduling_cluster_queue")
    assert (got["name"], got["source"], got["variable"]) == ("kueue", "inventory",
                                                            "aiconform_gang_scheduling_cluster_queue")
    assert choose("volcano", {"kueue.x-k8s.io"}, "aiconform_gang_scheduling_queue_name")["name"] == "volcano"


@pytest.mark.parametrize(("requested", "groups", "name", "source"), [
    ("auto", {"kueue.x-k8s.io", "apps"}, "kueue", "detected"),
    ("auto", {"scheduling.volcano.sh", "batch.volcano.sh"}, "volcano", "detected"),
    ("auto", {"scheduling.run.ai"}, "kai", "detected"),
    ("auto", {"scheduling.x-k8s.io"}, "coscheduling", "detected"),
    ("auto", {"kueue.x-k8s.io", "scheduling.run.ai"}, None, None),   # several: the inventory must choose
    ("auto", {"apps"}, None, None),
    ("kai", {"kueue.x-k8s.io", "scheduling.run.ai"}, "kai", "inventory"),
    ("other", {"kueue.x-k8s.io"}, "other", "inventory"),
])
def test_choose_picks_the_only_one_installed_unless_the_inventory_says(requested, groups, name, source):
    got = choose(requested, groups)
    assert (got["name"], got["source"]) == (name, source)
    assert set(got["looked_for"]) == {"kueue", "volcano", "kai", "coscheduling"}


def test_kueue_conditions_noted_on_success():
    verdict = judge(_base())
    assert any("conditions: QuotaReserved, Admitted" in r for r in verdict.reasons)


def test_vks_events_show_the_kueue_admission_sequence():
    """The emulator's Kueue controller reproduces these reasons; pin what the real events say."""
    reasons = [e["reason"] for e in vks_events() if "mbd4h" in e["object"]]
    assert reasons[:4] == ["QuotaReserved", "Admitted", "Started", "Resumed"]


@pytest.mark.parametrize(("message", "own"), [
    ('API server error 500 (Internal error occurred: failed calling webhook "mresourceflavor.kb.io": failed to call '
     'webhook: Post "https://kueue-webhook-service.kueue-system.svc:443/mutate-kueue-x-k8s-io-v1beta2-resourceflavor'
     '?timeout=10s": no endpoints available for service "kueue-webhook-service")', True),
    ('Internal error occurred: failed calling webhook "vresourceflavor.kb.io": context deadline exceeded', True),
    # a policy engine's webhook down says nothing about Kueue: stays an error
    ('Internal error occurred: failed calling webhook "validation.gatekeeper.sh": failed to call webhook: Post '
     '"https://gatekeeper-webhook-service.gatekeeper-system.svc:443/v1/admit": context deadline exceeded', False),
    ('API server error 500 (etcdserver: request timed out)', False),
])
def test_only_kueues_own_webhook_failing_means_kueue_is_not_operational(message: str, own: bool) -> None:
    from aiconform.verifiers.gang_scheduling.fetch import KUEUE_OWN_WEBHOOK
    assert bool(KUEUE_OWN_WEBHOOK.search(message)) is own


@pytest.mark.parametrize(("option", "want"), [("", "scheduler-plugins-scheduler"), ("my-gang-scheduler", "my-gang-scheduler")])
def test_a_coscheduling_gangs_pods_go_to_the_second_scheduler_named_by_the_option(option: str, want: str) -> None:
    """The probe pods' schedulerName: the chart's second scheduler (the lab's coscheduling stack runs that profile),
    or the inventory's ``scheduler_name`` for a scheduler-plugins install under another name; the PodGroup label
    ties them to the PodGroup, whose minMember is every pod of the Job."""
    import importlib
    from types import SimpleNamespace

    fetch = importlib.import_module("aiconform.verifiers.gang_scheduling.fetch")

    created: dict[str, Any] = {}

    def create_job(ns: str, job: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        created["job"] = job
        return job

    def create_pg(group: str, version: str, ns: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        created["podgroup"] = (group, version, plural, body)
        return body

    ctx = SimpleNamespace(
        options={"image": "busybox", "cpu_request": "1", "memory_request": "64Mi", "scheduler_name": option},
        run_id="r1", call=lambda _what, fn, *a, **kw: fn(*a, **kw), record=lambda *a, **kw: None,
        batch=SimpleNamespace(create_namespaced_job=create_job),
        custom=SimpleNamespace(create_namespaced_custom_object=create_pg))
    m = MECHANISMS["coscheduling"]
    gang = fetch.gang_of(m, "v1alpha1", ctx.options)
    fetch._job(ctx, "ns", "gang-neg", {}, 5, gang)  # type: ignore[arg-type]
    tpl = created["job"]["spec"]["template"]
    assert tpl["spec"]["schedulerName"] == want
    assert tpl["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] == "gang-neg"
    group, version, plural, pg = created["podgroup"]
    assert (group, version, plural) == ("scheduling.x-k8s.io", "v1alpha1", "podgroups")
    assert pg["spec"]["minMember"] == 5 and pg["metadata"]["name"] == "gang-neg"
