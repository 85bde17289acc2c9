"""Action plugin: verdicts from a ``verify`` job (started with ``async``/``poll: 0``) as soon as each is known.

Two ways to ask, both meant for a loop:

- ``index: i`` returns the i-th verdict to come (0-based), so a loop over ``range(len(job.requirements))``
  reports requirements in the order their verifiers finish - what a live progress view needs;
- ``requirement: <id>`` waits for that requirement.

While the job runs, verdicts are read from its progress directory (files ``<NNNN>-<id>.json``, NNNN = finish
order); once it has ended, from its result file (facts plus ``completed``, the finish order). Polling reads files
from the worker process instead of starting an ``async_status`` module process per poll, which on a fleet was
the largest share of the controller's CPU. On a non-local connection it polls ``async_status`` instead and
verdicts arrive when the whole job ends.

A verifier that ends without a result (the job was killed, timed out or crashed) gives an ``error`` result
saying so: the report phase still runs and names the cause. Invalid options fail the task (nothing ran).
``timeout`` counts from the job's start, so a loop never waits longer than that in total.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.aiconform.conformance.plugins.module_utils.redact import redact_text

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


def from_progress(progress_dir: str, requirement: str | None, index: int | None) -> dict[str, Any] | None:
    """The verdict asked for, if the job has written it to its progress directory yet."""
    pattern = f"[0-9][0-9][0-9][0-9]-{requirement}.json" if requirement else f"{index:04d}-*.json"
    for path in sorted(Path(progress_dir).glob(pattern)):
        data = _read_json(path)
        if data is not None:
            return data
    return None


def pick(requirements: list[str], completed: list[str], requirement: str | None, index: int | None) -> str:
    """Which requirement a finished job answers for: by id, or the index-th in finish order.

    Requirements the job never finished come after the finished ones, in plan order.
    """
    if requirement:
        return requirement
    order = [r for r in completed if r in requirements] + [r for r in requirements if r not in completed]
    if index is None:
        raise AssertionError('index is not None')
    if not 0 <= index < len(order):
        raise AnsibleActionFail(f"index {index} is out of range: the job verifies {len(order)} requirement(s)")
    return order[index]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("job", "requirement", "index", "timeout", "poll_interval"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = self._task.args
        job = args.get("job")
        if not isinstance(job, Mapping) or not job.get("ansible_job_id"):
            raise AnsibleActionFail("job must be the registered result of an async aiconform.conformance.verify task")
        requirement = str(args.get("requirement") or "") or None
        index = None if args.get("index") in (None, "") else int(args["index"])
        if (requirement is None) == (index is None):
            raise AnsibleActionFail("give exactly one of requirement (an id) and index (the n-th verdict to come)")
        requirements = [str(r) for r in job.get("requirements") or []]
        timeout = float(args.get("timeout") or 5400)
        local = self._connection.transport == "local"
        interval = float(args.get("poll_interval") or (1.0 if local else 2.0))
        progress_dir = job.get("progress_dir") if local else None
        jid = str(job["ansible_job_id"])
        deadline = float(job.get("started_at") or time.time()) + timeout
        while True:
            if progress_dir:
                data = from_progress(str(progress_dir), requirement, index)
                if data is not None:
                    return self._done(result, data)
            status = self._job_status(jid, str(job.get("results_file") or ""), local, task_vars)
            if job_finished(status):
                if status is None:
                    raise AssertionError('status is not None')
                if progress_dir:  # the job result has every verdict from now on
                    shutil.rmtree(str(progress_dir), ignore_errors=True)
                if status.get("errors"):  # the module refused its options before probing
                    raise AnsibleActionFail(str(status.get("msg") or "invalid verifier options"))
                facts = status.get("ansible_facts") or {}
                rid = pick(requirements, [str(r) for r in status.get("completed") or []], requirement, index)
                if isinstance(facts.get(RESULT_PREFIX + rid), Mapping):
                    return self._done(result, dict(facts[RESULT_PREFIX + rid]))
                why = " ".join(str(status.get("msg") or status.get("stderr") or "no message").split())[:500]
                return self._done(result, missing_result(rid, f"the verify job ended without a result for {rid}: {why}"))
            if time.time() >= deadline:
                done = {p.name.split("-", 1)[1].removesuffix(".json")
                        for p in Path(str(progress_dir)).glob("[0-9]*-*.json")} if progress_dir else set()
                # index mode: files 0..k-1 exist and k <= index, so the (index - k)-th unfinished one is ours
                pending = [r for r in requirements if r not in done]
                k = index - len(done) if index is not None else -1
                rid = requirement or (pending[k] if 0 <= k < len(pending) else f"verdict {index}")
                return self._done(result, missing_result(
                    rid, f"no result for {rid} within {timeout:g}s of the verify job's start "
                         "(aiconform_verify_timeout); the verify job may still be running"))
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
    def _done(result: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        rid = str(data.get("id") or "")
        result.update(changed=False, requirement=rid, status=str(data.get("status") or "unknown"),
                      reasons=list(data.get("reasons") or []), ansible_facts={RESULT_PREFIX + rid: data})
        return result
