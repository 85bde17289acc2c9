"""Fast tests of the runner's pieces: tags, event ingestion, exit codes, views, verify concurrency, lab inventory."""
from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
import yaml
from aiconform.verifiers import orchestrate, runtime

from aiconform.lab import provided_by_platform_vars, write_inventory
from aiconform.runner.engine import RunOutcome, UsageError, decide, print_summary, tags_for
from aiconform.runner.exitcodes import Exit
from aiconform.runner.progress import LineView, RunState, TableView


def ev(event: str, host: str = "c1", action: str = "", res: dict[str, Any] | None = None, **data: Any) -> dict:
    return {"event": event, "event_data": {"host": host, "task_action": action, "res": res or {}, **data}}


def preflight(host: str, selected: list[str], reachable: bool = True, error: str = "") -> dict:
    return ev("runner_on_ok", host, "aiconform.conformance.cluster_facts", {"ansible_facts": {
        "aiconform_cluster": {"reachable": reachable, "error": error, "server_version": "v1.34.1"},
        "aiconform_run": {"set_version": "v1.34", "selected": selected,
                          "requirement_set": [{"id": "dra_support", "level": "MUST"},
                                              {"id": "gang_scheduling", "level": "MUST"},
                                              {"id": "gpu_sharing", "level": "SHOULD"}]}}})


def result(host: str, req: str, status: str) -> dict:
    return ev("runner_item_on_ok", host, "aiconform.conformance.verify_status", {"ansible_facts": {
        f"aiconform_result_{req}": {"id": req, "status": status, "reasons": [f"{req} said {status}"],
                                    "duration_s": 1.5}}})


def feed(*events: dict) -> RunState:
    state = RunState()
    for e in events:
        state.handle(e)
    return state


def outcome(state: RunState, status: str = "successful") -> RunOutcome:
    o = RunOutcome(exit=Exit.OK, state=state, status=status, rc=0 if status == "successful" else 2, runner_dir="")
    decide(o, verify_ran=True, interrupted=False)
    return o


def test_tags_map_phases_and_ids():
    assert tags_for([], []) == []
    assert tags_for([], ["dra_support"]) == ["verify", "dra_support"]
    assert tags_for(["install", "verify"], ["gang_scheduling"]) == ["install", "verify", "gang_scheduling"]
    with pytest.raises(UsageError):
        tags_for(["deploy"], [])
    with pytest.raises(UsageError):
        tags_for([], ["no_such_requirement"])


def test_events_drive_states_and_elapsed():
    state = feed(preflight("c1", ["dra_support", "gang_scheduling"]),
                 ev("runner_on_ok", "c1", "aiconform.conformance.verify_dra_support", {"ansible_job_id": "j1"}))
    reqs = state.clusters["c1"].requirements
    assert reqs["dra_support"].state == "running" and reqs["gang_scheduling"].state == "pending"
    assert reqs["dra_support"].level == "MUST"
    state.handle(result("c1", "dra_support", "Not Implemented"))
    assert reqs["dra_support"].state == "failed" and reqs["dra_support"].elapsed(time.monotonic()) == 1.5
    # a verify task skipped (not selected) never shows as running
    state.handle(ev("runner_on_skipped", "c1", "aiconform.conformance.verify_gpu_sharing"))
    assert "gpu_sharing" not in reqs


@pytest.mark.parametrize(("events", "status", "code"), [
    ([preflight("c1", ["dra_support"]), result("c1", "dra_support", "Implemented")], "successful", Exit.OK),
    ([preflight("c1", ["dra_support"]), result("c1", "dra_support", "Partially Implemented")], "successful",
     Exit.NOT_IMPLEMENTED),
    ([preflight("c1", ["dra_support"]), result("c1", "dra_support", "error")], "successful", Exit.UNDECIDED),
    ([preflight("c1", ["dra_support"])], "successful", Exit.UNDECIDED),  # selected MUST never reported
    ([preflight("c1", ["gpu_sharing"]), result("c1", "gpu_sharing", "Not Implemented")], "successful", Exit.OK),
    ([preflight("c1", [], reachable=False, error="connection refused"),
      ev("runner_on_failed", "c1", "ansible.builtin.fail", {"msg": "c1: connection refused"}, task="Fail")],
     "failed", Exit.UNREACHABLE),
    ([preflight("c1", ["dra_support"]), result("c1", "dra_support", "Implemented"),
      ev("runner_on_failed", "c1", "kubernetes.core.helm", {"msg": "boom"}, task="Install Kueue")], "failed",
     Exit.PLAYBOOK_FAILED),
    ([], "failed", Exit.PLAYBOOK_FAILED),  # syntax error: no cluster ever ran
    # a fleet: unreachable beats a finding, a finding beats an undecided requirement
    ([preflight("a", ["dra_support"]), result("a", "dra_support", "error"),
      preflight("b", ["dra_support"]), result("b", "dra_support", "Not Implemented")], "successful",
     Exit.NOT_IMPLEMENTED),
    ([preflight("a", ["dra_support"]), result("a", "dra_support", "Not Implemented"),
      preflight("b", [], reachable=False)], "failed", Exit.UNREACHABLE),
])
def test_exit_codes(events, status, code):
    assert outcome(feed(*events), status).exit == code


def preflight_ca(host: str, version: str) -> dict:
    return ev("runner_on_ok", host, "aiconform.conformance.cluster_facts", {"ansible_facts": {
        "aiconform_cluster": {"reachable": True, "server_version": f"{version}.2"},
        "aiconform_run": {"set_version": version, "selected": ["gang_scheduling", "cluster_autoscaling"],
                          "requirement_set": [{"id": "gang_scheduling", "level": "MUST"},
                                              {"id": "cluster_autoscaling", "level": "MUST"}]}}})


def na_result(host: str, req: str, reasons: list[str]) -> dict:
    return ev("runner_item_on_ok", host, "aiconform.conformance.verify_status", {"ansible_facts": {
        f"aiconform_result_{req}": {"id": req, "status": "N/A", "reasons": reasons, "duration_s": 1.0}}})


@pytest.mark.parametrize("version", ["v1.33", "v1.34", "v1.35", "v1.36", "v1.37"])
def test_conformant_cluster_without_autoscaler_exits_0(version: str) -> None:
    # the newest cncf validator accepts cluster_autoscaling N/A with notes in every version (conditional MUST)
    base = [preflight_ca("c1", version), result("c1", "gang_scheduling", "Implemented")]
    justified = na_result("c1", "cluster_autoscaling", ["the platform provides no cluster autoscaler"])
    assert outcome(feed(*base, justified)).exit == Exit.OK
    assert outcome(feed(*base, na_result("c1", "cluster_autoscaling", []))).exit == Exit.UNDECIDED  # no notes
    # any other MUST marked N/A still is not a pass
    other = [preflight_ca("c1", version), result("c1", "cluster_autoscaling", "Implemented"),
             na_result("c1", "gang_scheduling", ["no gangs here"])]
    assert outcome(feed(*other)).exit == Exit.UNDECIDED
    # the report's rows decide when present: their notes, and the report's placeholder is no justification
    for notes, code in (("bare metal: fixed node pools", Exit.OK), ("[justification required]", Exit.UNDECIDED)):
        state = feed(*base, justified, ev("runner_on_ok", "c1", "aiconform.conformance.conformance_report", {
            "run_dir": "/r", "set_version": version, "summary": [
                {"id": "gang_scheduling", "level": "MUST", "status": "Implemented", "notes": "ok"},
                {"id": "cluster_autoscaling", "level": "MUST", "status": "N/A", "reason": "N/A", "notes": notes}]}))
        assert outcome(state).exit == code, notes


def test_report_rows_take_precedence_and_summary_table():
    state = feed(preflight("c1", ["dra_support"]), result("c1", "dra_support", "Implemented"),
                 ev("runner_on_ok", "c1", "aiconform.conformance.conformance_report", {
                     "run_dir": "/r/c1/20260101T000000Z", "simulated": True, "set_version": "v1.34",
                     "summary": [{"id": "dra_support", "level": "MUST", "status": "Not Implemented",
                                  "duration_s": 2, "reason": "no device"},
                                 {"id": "gang_scheduling", "level": "MUST", "status": "unknown"}]}))
    o = outcome(state)
    assert o.exit == Exit.NOT_IMPLEMENTED
    buf = io.StringIO()
    print_summary(o, buf)
    text = buf.getvalue()
    assert "SIMULATED CLUSTER" in text and "run directory: /r/c1/20260101T000000Z" in text
    assert "gang_scheduling" not in text  # not selected: not in this run's table
    assert text.rstrip().endswith("(exit 1)")


def test_line_and_table_views():
    state = RunState()
    buf = io.StringIO()
    LineView(state, buf)
    state.handle(preflight("c1", ["dra_support"]))
    state.handle(ev("runner_on_ok", "c1", "verify_dra_support", {"ansible_job_id": "j1"}))
    state.handle(result("c1", "dra_support", "Implemented"))
    lines = buf.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines][1:] == [
        "c1: dra_support running", "c1: dra_support passed (Implemented) in 1.5s"]
    table = TableView(state, io.StringIO()).render()
    assert "dra_support" in table and "passed" in table and "1.5s" in table


def test_removed_leftovers_are_said_in_both_views():
    state = RunState()
    buf = io.StringIO()
    LineView(state, buf)
    state.handle(preflight("c1", ["dra_support"]))
    state.handle(ev("runner_on_ok", "c1", "aiconform.conformance.cleanup_leftovers", {"removed": []}))
    assert len(buf.getvalue().splitlines()) == 1  # nothing removed: nothing said
    state.handle(ev("runner_on_ok", "c1", "aiconform.conformance.cleanup_leftovers", {"removed": [
        "Namespace aiconform-gang-scheduling-r1 (run r1)", "clusterqueues aiconform-r1 (run r1)"]}))
    last = buf.getvalue().splitlines()[-1].split("] ", 1)[1]
    assert last == ("c1: removed 2 probe object(s) left by earlier runs that did not finish: "
                    "Namespace aiconform-gang-scheduling-r1 (run r1), clusterqueues aiconform-r1 (run r1)")
    assert "c1: removed 2 probe object(s)" in TableView(state, io.StringIO()).render()


def test_one_verify_job_marks_its_requirements_running_then_each_result_arrives():
    state = feed(preflight("c1", ["dra_support", "gang_scheduling"]),
                 ev("runner_on_ok", "c1", "aiconform.conformance.verify",
                    {"ansible_job_id": "j1", "requirements": ["dra_support", "gang_scheduling"]}))
    reqs = state.clusters["c1"].requirements
    assert reqs["dra_support"].state == reqs["gang_scheduling"].state == "running"
    item = result("c1", "gang_scheduling", "Implemented")
    item["event_data"]["task_action"] = "aiconform.conformance.verify_status"
    state.handle(item)
    assert reqs["gang_scheduling"].state == "passed" and reqs["dra_support"].state == "running"


def _fake_verifier(running: list[int], peak: list[int], lock: threading.Lock, seconds: float = 0.1):
    def run_verifier(requirement: str, params: dict, *, check_mode: bool = False):
        from aiconform.results import RequirementResult, Status

        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            runtime.pause(seconds)
            status, reasons = Status.IMPLEMENTED, []
        except runtime.Interrupted as exc:
            status, reasons = Status.ERROR, [str(exc)]
        finally:
            with lock:
                running[0] -= 1
        return RequirementResult(id=requirement, status=status, reasons=reasons, started_at=1.0, finished_at=2.0)
    return run_verifier


IDS6 = ["dra_support", "gang_scheduling", "gpu_sharing", "pod_autoscaling", "ai_inference", "robust_controller"]


def test_verify_runs_plans_concurrently_within_the_limit_and_writes_progress(tmp_path, monkeypatch):
    running, peak, lock = [0], [0], threading.Lock()
    monkeypatch.setattr(runtime, "run_verifier", _fake_verifier(running, peak, lock))
    seen: list[str] = []
    results = orchestrate.run_all({rid: {} for rid in IDS6}, {}, run_id="r1", concurrency=2,
                                  progress_dir=str(tmp_path), on_result=lambda rid, _d: seen.append(rid))
    assert peak[0] == 2 and sorted(seen) == sorted(IDS6)
    assert {r["status"] for r in results.values()} == {"Implemented"}
    # one file per verdict, numbered in finish order (what verify_status's index mode reads)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:04d}-{rid}.json" for i, rid in enumerate(results)]
    assert list(results) == seen
    assert all(p.stat().st_mode & 0o077 == 0 for p in tmp_path.iterdir())


def test_a_cancelled_verify_run_interrupts_every_probe(monkeypatch):
    running, peak, lock = [0], [0], threading.Lock()
    monkeypatch.setattr(runtime, "run_verifier", _fake_verifier(running, peak, lock, seconds=30))
    timer = threading.Timer(0.3, runtime.CANCEL.set)
    timer.start()
    t0 = time.monotonic()
    try:
        results = orchestrate.run_all({rid: {} for rid in IDS6[:3]}, {}, run_id="r1", concurrency=8)
    finally:
        runtime.CANCEL.clear()
    assert time.monotonic() - t0 < 10
    assert {r["status"] for r in results.values()} == {"error"}
    assert all("cancelled" in r["reasons"][0] for r in results.values())


@pytest.mark.parametrize(("plans", "expected"), [
    ({"gang_scheduling": {"negative_window": "soon"}}, "gang_scheduling: "),
    ({"gang_scheduling": {"no_such_option": 1}}, "no_such_option"),
    ({"no_such_requirement": {}}, "unknown requirement 'no_such_requirement'"),
    ({"gang_scheduling": ["not", "a", "mapping"]}, "options must be a mapping"),
])
def test_invalid_verifier_options_are_refused_before_anything_runs(plans, expected):
    validated, errors = orchestrate.validate_plans(plans)
    assert not validated and len(errors) == 1 and expected in errors[0], errors


def test_plans_take_defaults_and_the_run_wide_cleanup_timeout():
    validated, errors = orchestrate.validate_plans(
        {"gang_scheduling": {"negative_window": 3, "parallelism": None}, "dra_support": {"cleanup_timeout": 5}},
        {"cleanup_timeout": 20})
    assert not errors
    assert validated["gang_scheduling"]["negative_window"] == 3
    assert validated["gang_scheduling"]["parallelism"] == 2  # None = not set: the upstream default
    assert validated["gang_scheduling"]["cleanup_timeout"] == 20
    assert validated["dra_support"]["cleanup_timeout"] == 5  # the requirement's own value wins


def test_lab_inventory_declares_every_component_provided(tmp_path):
    switches = provided_by_platform_vars()
    assert "kueue_provided_by_platform" in switches and all(v is True for v in switches.values())
    path = tmp_path / "inv.yml"
    write_inventory(path, tmp_path / "kubeconfig")
    host = yaml.safe_load(path.read_text())["all"]["hosts"]["simulated-lab"]
    assert host["aiconform_simulated"] is True and host["ansible_connection"] == "local"
    assert host["aiconform_kubeconfig"] == str(tmp_path / "kubeconfig")
    assert host["gpu_operator_provided_by_platform"] is True


def test_a_run_that_reached_no_cluster_is_not_a_success():
    o = outcome(feed())  # ansible-playbook succeeded, but the inventory had no host (or --limit matched none)
    assert o.exit == Exit.PLAYBOOK_FAILED
    assert "no cluster was run" in o.reasons["(inventory)"]
