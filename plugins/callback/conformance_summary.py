"""Callback: one table per cluster at the end of the playbook, from the report task's returned summary."""
from __future__ import annotations

DOCUMENTATION = r"""
name: conformance_summary
type: aggregate
short_description: Print the AI-conformance summary table of every cluster at the end of the run
description:
  - Reads the result of each C(aiconform.conformance.conformance_report) task (never console output) and
    prints, per cluster, requirement, level, status, duration and a one-line reason, then the run directory.
  - Prints nothing when no report task ran.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
requirements:
  - enable in ansible.cfg (callbacks_enabled)
"""

from typing import Any  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402
from ansible_collections.aiconform.conformance.plugins.module_utils.results import Status  # noqa: E402

REPORT_ACTIONS = {"aiconform.conformance.conformance_report", "conformance_report"}
STATUS_MARK = {s.value: s.shown.mark for s in Status}


def summary_text(reports: dict[str, dict[str, Any]]) -> str:
    from tabulate import tabulate

    blocks = []
    for host in sorted(reports):
        res = reports[host]
        rows = [(r.get("id"), r.get("level"), r.get("status"), f"{float(r.get('duration_s') or 0):.1f}s",
                 _short(str(r.get("reason") or ""))) for r in res.get("summary") or []]
        title = f"AI conformance {res.get('set_version', '')}: {res.get('cluster', host)}"
        if res.get("simulated"):
            title += "  [SIMULATED CLUSTER - not a submission]"
        errors = sum(1 for m in res.get("validation") or [] if str(m).startswith("ERROR"))
        table = tabulate(rows, headers=["requirement", "level", "status", "duration", "reason"], tablefmt="simple")
        tail = f"run directory: {res.get('run_dir')}"
        if errors:
            tail += f"\nvalidation: {errors} error(s), see README.md in the run directory"
        blocks.append(f"{title}\n{table}\n{tail}")
    return "\n\n".join(blocks)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aiconform.conformance.conformance_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reports: dict[str, dict[str, Any]] = {}

    def v2_runner_on_ok(self, result: Any) -> None:
        task = result._task
        action = getattr(task, "resolved_action", None) or task.action
        if action not in REPORT_ACTIONS and task.action not in REPORT_ACTIONS:
            return
        data = result._result
        if data.get("run_dir"):
            self._reports[result._host.get_name()] = dict(data)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self._reports:
            return
        self._display.banner("AI CONFORMANCE SUMMARY")
        self._display.display(summary_text(self._reports))
