"""The verify_status action plugin without a playbook: progress files, job files, dead jobs, other connections.

The playbook path (local connection) runs in one tests/verify test per requirement and in tests/e2e; this covers
what those cannot:
a job that dies or times out, and a non-local connection that must poll async_status.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiconform import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("aiconform_verify_status_action",
                                               PROJECT_ROOT / "plugins" / "action" / "verify_status.py")
assert _spec and _spec.loader
verify_status = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify_status)


def action(args: dict[str, Any], transport: str = "local") -> Any:
    task = SimpleNamespace(args=args, async_val=0, check_mode=False, action="aiconform.conformance.verify_status")
    shell = SimpleNamespace(tmpdir="/nonexistent")  # never None: no remote tmp is made
    connection = SimpleNamespace(transport=transport, _shell=shell)
    return verify_status.ActionModule(task, connection, None, None, None)


def result_of(rid: str, status: str) -> dict[str, Any]:
    return {"id": rid, "status": status, "reasons": [f"{rid} is {status}"], "started_at": 1.0, "finished_at": 2.0}


def test_a_finished_requirement_is_read_from_the_progress_dir_while_the_job_runs(tmp_path):
    progress = tmp_path / "progress"
    progress.mkdir()
    (progress / "0000-dra_support.json").write_text(json.dumps(result_of("dra_support", "Implemented")))
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps({"started": 1, "finished": 0, "ansible_job_id": "j1"}))
    job = {"ansible_job_id": "j1", "results_file": str(job_file), "progress_dir": str(progress),
           "requirements": ["gang_scheduling", "dra_support"]}
    res = action({"job": job, "requirement": "dra_support", "timeout": 5}).run(task_vars={})
    assert res["status"] == "Implemented" and res["requirement"] == "dra_support"
    assert res["ansible_facts"]["aiconform_result_dra_support"]["reasons"] == ["dra_support is Implemented"]
    # index mode: the first verdict to come is dra_support's, although gang_scheduling was planned first
    res = action({"job": job, "index": 0, "timeout": 5}).run(task_vars={})
    assert res["requirement"] == "dra_support"
    assert progress.is_dir()  # the job still runs: its other requirements still report here


def test_index_mode_reports_in_finish_order_and_unfinished_ones_last(tmp_path):
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps({"failed": True, "msg": "Timeout exceeded", "completed": ["c", "a"],
                                    "ansible_facts": {"aiconform_result_c": result_of("c", "Implemented"),
                                                      "aiconform_result_a": result_of("a", "N/A")}}))
    job = {"ansible_job_id": "j1", "results_file": str(job_file), "requirements": ["a", "b", "c"]}
    got = [action({"job": job, "index": i, "timeout": 5}).run(task_vars={}) for i in range(3)]
    assert [(r["requirement"], r["status"]) for r in got] == [("c", "Implemented"), ("a", "N/A"), ("b", "error")]
    assert "Timeout exceeded" in got[2]["reasons"][0]
    with pytest.raises(verify_status.AnsibleActionFail, match="out of range"):
        action({"job": job, "index": 3, "timeout": 5}).run(task_vars={})
    with pytest.raises(verify_status.AnsibleActionFail, match="exactly one of"):
        action({"job": job, "index": 0, "requirement": "a"}).run(task_vars={})


def test_after_the_job_ends_results_come_from_its_file_and_the_progress_dir_goes(tmp_path):
    progress = tmp_path / "progress"
    progress.mkdir()
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps({"changed": False, "ansible_facts": {
        "aiconform_result_gang_scheduling": result_of("gang_scheduling", "Not Implemented")}}))
    job = {"ansible_job_id": "j1", "results_file": str(job_file), "progress_dir": str(progress)}
    res = action({"job": job, "requirement": "gang_scheduling", "timeout": 5}).run(task_vars={})
    assert res["status"] == "Not Implemented" and not progress.exists()


@pytest.mark.parametrize(("job_data", "expected"), [
    ({"failed": 1, "finished": 1, "msg": "Timeout exceeded"}, "Timeout exceeded"),
    ({"failed": True, "msg": "MODULE FAILURE: Killed https://u:hunter2@api.example:6443"}, "MODULE FAILURE"),
])
def test_a_job_that_ended_without_the_result_gives_an_error_verdict_with_the_reason(tmp_path, job_data, expected):
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps(job_data))
    job = {"ansible_job_id": "j1", "results_file": str(job_file), "progress_dir": None}
    res = action({"job": job, "requirement": "dra_support", "timeout": 5}).run(task_vars={})
    data = res["ansible_facts"]["aiconform_result_dra_support"]
    assert res["status"] == data["status"] == "error" and expected in data["reasons"][0]
    assert "hunter2" not in json.dumps(res)  # URL credentials are redacted from the reason
    assert "failed" not in res  # a verdict, not a task failure: the report phase still runs


def test_invalid_options_fail_the_wait(tmp_path):
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps({"failed": True, "msg": "invalid verifier options: x", "errors": ["x"]}))
    job = {"ansible_job_id": "j1", "results_file": str(job_file)}
    with pytest.raises(verify_status.AnsibleActionFail, match="invalid verifier options"):
        action({"job": job, "requirement": "dra_support", "timeout": 5}).run(task_vars={})


def test_no_result_within_the_timeout_is_an_error_not_a_hang(tmp_path):
    import time

    progress = tmp_path / "progress"
    progress.mkdir()
    (progress / "0000-a.json").write_text(json.dumps(result_of("a", "Implemented")))
    job_file = tmp_path / "job"
    job_file.write_text(json.dumps({"started": 1, "finished": 0}))
    # the timeout counts from the job's start: a loop's later items do not wait again
    job = {"ansible_job_id": "j1", "results_file": str(job_file), "progress_dir": str(progress),
           "requirements": ["a", "b", "c"], "started_at": time.time() - 10}
    t0 = time.monotonic()
    got = [action({"job": job, "index": i, "timeout": 5, "poll_interval": 0.05}).run(task_vars={}) for i in range(3)]
    assert time.monotonic() - t0 < 2
    assert [(r["requirement"], r["status"]) for r in got] == [("a", "Implemented"), ("b", "error"), ("c", "error")]
    assert "within 5s of the verify job's start" in got[1]["reasons"][0]


def test_other_connections_poll_async_status(monkeypatch):
    calls: list[dict[str, Any]] = []
    answers = [{"started": True, "finished": False},
               {"started": True, "finished": True,
                "ansible_facts": {"aiconform_result_dra_support": result_of("dra_support", "Implemented")}}]
    act = action({"job": {"ansible_job_id": "j9", "progress_dir": "/never/read"}, "requirement": "dra_support",
                  "timeout": 5, "poll_interval": 0.01}, transport="ssh")
    monkeypatch.setattr(act, "get_shell_option", lambda name, default=None: default)
    monkeypatch.setattr(act, "_remote_expand_user", lambda path: path.replace("~", "/home/u"))

    def execute_module(module_name: str, task_vars: Any, module_args: dict[str, Any]) -> dict[str, Any]:
        calls.append({"module": module_name, **module_args})
        return answers.pop(0)

    monkeypatch.setattr(act, "_execute_module", execute_module)
    res = act.run(task_vars={})
    assert res["status"] == "Implemented"
    assert calls == [{"module": "ansible.legacy.async_status", "jid": "j9", "_async_dir": "/home/u/.ansible_async"}] * 2


def test_the_action_refuses_a_job_that_is_not_a_verify_start():
    with pytest.raises(verify_status.AnsibleActionFail, match="registered result"):
        action({"job": {"changed": False}, "requirement": "dra_support"}).run(task_vars={})


def test_progress_files_are_private_and_read_back_by_the_action(tmp_path):
    from aiconform.verifiers.orchestrate import _write_progress

    _write_progress(str(tmp_path), 3, "dra_support", result_of("dra_support", "Implemented"))
    files = list(Path(tmp_path).iterdir())
    assert [f.name for f in files] == ["0003-dra_support.json"] and files[0].stat().st_mode & 0o077 == 0
    # what the orchestrator writes is what the action reads, by id and by finish order
    assert verify_status.from_progress(str(tmp_path), "dra_support", None)["status"] == "Implemented"
    assert verify_status.from_progress(str(tmp_path), None, 3)["id"] == "dra_support"
    assert verify_status.from_progress(str(tmp_path), None, 2) is None
