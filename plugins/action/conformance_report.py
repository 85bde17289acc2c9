"""Action plugin: collect every ``aiconform_result_*`` fact of the host and write the run directory.

Runs on the controller. Facts flow in through task vars only (set by the verifier modules and preflight);
nothing is scraped from console output. The rendering itself is ``aiconform.report.render.write_run``.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

RESULT_PREFIX = "aiconform_result_"


def plain(value: Any) -> Any:
    """Ansible's tagged/lazy containers -> plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def build_model(task_vars: Mapping[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    cluster = dict(task_vars.get("aiconform_cluster") or {})
    cluster.setdefault("name", task_vars.get("inventory_hostname", "cluster"))
    run = dict(task_vars.get("aiconform_run") or {})
    run.setdefault("finished_at", datetime.now(UTC).isoformat())
    run.setdefault("phases", list(task_vars.get("ansible_run_tags") or []))
    run.setdefault("selected", [r.get("id") for r in results])
    return {"schema": 1, "cluster": cluster, "platform": dict(task_vars.get("aiconform_platform") or {}),
            "run": run, "requirements": sorted(results, key=lambda r: str(r.get("id")))}


def default_reports_dir(playbook_dir: str, cwd: str | None = None) -> str:
    """Where run directories go when neither the task nor ``aiconform_reports_dir`` says.

    A checkout (``conformance.yml`` or ``playbooks/*.yml``): ``reports/`` at the repository root, as always. An
    installed collection (its root holds ``MANIFEST.json`` when ansible-galaxy installed it, or it is
    ``ansible_collections/aiconform/conformance`` itself, as the aiconform wheel installs it into site-packages;
    read-only in an execution environment): ``reports/`` in the current working directory, never inside the
    collection. A playbook of the user's own: ``reports/`` beside it.
    """
    here = Path(playbook_dir).resolve()
    is_collection = (here.parent / "galaxy.yml").exists() or (here.parent / "MANIFEST.json").exists()
    root = here.parent if here.name == "playbooks" and is_collection else here  # the phase playbooks' dir
    installed = (root / "MANIFEST.json").exists() or (
        is_collection and len(root.parts) > 3 and root.parts[-3] == "ansible_collections")
    if installed:
        return str(Path(cwd or Path.cwd()) / "reports")
    return str(root / "reports")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("reports_dir", "fail_on_errors"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from ansible_collections.aiconform.conformance.plugins.module_utils import catalog
        from ansible_collections.aiconform.conformance.plugins.module_utils.report import render

        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args

        def var(name: str, default: Any = None) -> Any:
            if name not in task_vars:
                return default
            return plain(self._templar.template(task_vars[name]))

        results = []
        for name in sorted(task_vars):
            if name.startswith(RESULT_PREFIX):
                value = var(name)
                if isinstance(value, Mapping) and value.get("id") and value.get("status"):
                    results.append(dict(value))
        view_vars = {
            "aiconform_cluster": var("aiconform_cluster", {}),
            "aiconform_platform": var("aiconform_platform", {}),
            "aiconform_run": var("aiconform_run", {}),
            "inventory_hostname": var("inventory_hostname", "cluster"),
            "ansible_run_tags": var("ansible_run_tags", []),
        }
        model = build_model(view_vars, results)
        override = var("aiconform_kubernetes_version")
        if override and not model["cluster"].get("kubernetes_version"):
            model["cluster"]["kubernetes_version"] = override
        reports_dir = args.get("reports_dir") or var("aiconform_reports_dir") or \
            default_reports_dir(var("playbook_dir", "."))
        try:
            run_dir, rendered = render.write_run(model, reports_dir)
        except catalog.UnsupportedVersionError as exc:
            raise AnsibleActionFail(
                f"no requirement set for this cluster ({exc}); set aiconform_kubernetes_version if the cluster "
                "could not be reached") from None
        summary = [{
            "id": row.req.id, "level": row.req.level, "status": row.status, "product_status": row.product_status,
            "duration_s": round(row.result.duration_s, 2), "reason": row.reason, "notes": row.notes,
        } for row in rendered.view.rows]
        result.update(changed=True, run_dir=str(run_dir), cluster=str(model["cluster"]["name"]),
                      set_version=rendered.view.set_version, summary=summary, validation=rendered.messages,
                      simulated=bool(model["cluster"].get("simulated")))
        if args.get("fail_on_errors") and any(m.startswith("ERROR") for m in rendered.messages):
            result.update(failed=True, msg=f"the report in {run_dir} has validation errors")
        return result
