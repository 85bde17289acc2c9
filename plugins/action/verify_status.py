"""Action plugin: wait for one requirement's result from a ``verify`` job (started with ``async``/``poll: 0``).

Used in a loop over the job's requirements: each item returns ``aiconform_result_<id>`` as soon as that
verifier has finished (from the job's progress directory), or when the job ends (from its result file).
Polling here reads files from the worker process instead of starting an ``async_status`` module process per
poll, which on a fleet of clusters was the largest share of the controller's CPU. On a non-local connection
it falls back to ``async_status``.

A verifier that ends without a result (the job was killed, timed out or crashed) gives an ``error`` result
saying so: the report phase still runs and names the cause. Invalid options fail the task (nothing ran).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # the collection root is the aiconform checkout
    sys.path.insert(0, _ROOT)

from aiconform.redact import redact_text  # noqa: E402

RESULT_PREFIX = "aiconform_result_"


def _read_json(path: str | Path) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet, or being written (async_wrapper writes then renames)
    return data if isinstance(data, dict) else None


def job_finished(data: Mapping[str, Any] | None) -> bool:
    """async_wrapper's job file: {"started": 1, "finished": 0} while running, then the module's result."""
    return bool(data) and ("started" not in data or bool(data.get("finished")))


def missing_result(requirement: str, why: str) -> dict[str, Any]:
    """The result of a verifier that gave none: an error, with the reason, never a pass."""
    now = time.time()
    return {"id": requirement, "status": "error", "reasons": [redact_text(why)], "checks": [], "evidence": [],
            "facts": {}, "test_name": "", "notes": "", "started_at": now, "finished_at": now, "duration_s": 0.0}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("job", "requirement", "timeout", "poll_interval"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        job = self._task.args.get("job")
        requirement = str(self._task.args.get("requirement") or "")
        if not isinstance(job, Mapping) or not job.get("ansible_job_id"):
            raise AnsibleActionFail("job must be the registered result of an async aiconform.conformance.verify task")
        if not requirement:
            raise AnsibleActionFail("requirement is required")
        timeout = float(self._task.args.get("timeout") or 5400)
        local = self._connection.transport == "local"
        interval = float(self._task.args.get("poll_interval") or (1.0 if local else 2.0))
        progress_dir = job.get("progress_dir") if local else None
        jid = str(job["ansible_job_id"])
        deadline = time.monotonic() + timeout
        while True:
            if progress_dir:
                data = _read_json(Path(str(progress_dir)) / f"{requirement}.json")
                if data is not None:
                    return self._done(result, requirement, data)
            status = self._job_status(jid, str(job.get("results_file") or ""), local, task_vars)
            if job_finished(status):
                assert status is not None
                if progress_dir:  # the job result has every requirement from now on
                    shutil.rmtree(str(progress_dir), ignore_errors=True)
                facts = status.get("ansible_facts") or {}
                if isinstance(facts.get(RESULT_PREFIX + requirement), Mapping):
                    return self._done(result, requirement, dict(facts[RESULT_PREFIX + requirement]))
                if status.get("errors"):  # the module refused its options before probing
                    raise AnsibleActionFail(str(status.get("msg") or "invalid verifier options"))
                why = " ".join(str(status.get("msg") or status.get("stderr") or "no message").split())[:500]
                return self._done(result, requirement, missing_result(
                    requirement, f"the verify job ended without a result for {requirement}: {why}"))
            if time.monotonic() >= deadline:
                return self._done(result, requirement, missing_result(
                    requirement, f"no result for {requirement} after {timeout:g}s (aiconform_verify_timeout); "
                                 "the verify job may still be running"))
            time.sleep(interval)

    def _job_status(self, jid: str, results_file: str, local: bool,
                    task_vars: dict[str, Any] | None) -> dict[str, Any] | None:
        if local and results_file:
            return _read_json(results_file)
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        res = self._execute_module(module_name="ansible.legacy.async_status", task_vars=task_vars,
                                   module_args={"jid": jid, "_async_dir": async_dir})
        if res.get("failed") and res.get("msg") == "could not find job":
            return {"failed": True, "finished": True, "msg": f"async job {jid} not found"}
        return dict(res)

    @staticmethod
    def _done(result: dict[str, Any], requirement: str, data: dict[str, Any]) -> dict[str, Any]:
        result.update(changed=False, status=str(data.get("status") or "unknown"),
                      reasons=list(data.get("reasons") or []),
                      ansible_facts={RESULT_PREFIX + requirement: data})
        return result
