"""Shared by the verifier tests: run one requirement against the simulator and return its results.json entry.

``verify_in_process`` (the tests/verify tier) calls the verify job's own code (``orchestrate.run_all``: the
holdings scheduler, the timeout attribution, ``runtime.run_verifier``) in this process, with the options the
generated plan task gives from the same inventory variables (``verifier_options.planned_options``);
``run_conformance`` (one test per requirement, and the tests of the playbook itself) runs
``ansible-playbook conformance.yml --tags verify,<id>``. Both return (the entry, a text for failure messages).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from aiconform import PROJECT_ROOT
from helpers.sim import SimHandle


def run_conformance(sim: SimHandle, tmp: Path, requirement: str, host_vars: dict[str, Any],
                    timeout: float = 300) -> tuple[dict[str, Any], str]:
    """ansible-playbook conformance.yml --tags verify,<requirement> with a one-host inventory written here.

    Returns (the requirement's entry of <reports>/<host>/latest/results.json, the playbook output).
    """
    reports = tmp / "reports"
    inventory = tmp / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "aiconform_kubeconfig": str(sim.kubeconfig), "aiconform_reports_dir": str(reports),
            "aiconform_verify_timeout": int(timeout), **host_vars}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"sim": host}}}))
    env = sim.subprocess_env()
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(["ansible-playbook", "conformance.yml", "-i", str(inventory), "--tags",
                           f"verify,{requirement}"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout + 120)
    out = proc.stdout + proc.stderr
    results = reports / "sim" / "latest" / "results.json"
    assert results.is_file(), f"no results.json (rc={proc.returncode}):\n{out[-4000:]}"
    data = json.loads(results.read_text())
    entries = data.get("requirements") if isinstance(data, dict) else data
    if isinstance(entries, dict):
        entries = list(entries.values())
    entry = next((r for r in entries or [] if r.get("id") == requirement), None)
    assert entry is not None, f"{requirement} missing from results.json:\n{json.dumps(data)[:2000]}"
    return entry, out


def probe_namespaces(sim: SimHandle, requirement: str) -> list[str]:
    """Namespaces of this requirement's probes still present (must be none after a run)."""
    from helpers.sim import run_tool
    proc = run_tool(sim, "kubectl", "get", "namespaces", "-l", f"aiconform.io/requirement={requirement.replace('_', '-')}",
                    "-o", "jsonpath={.items[*].metadata.name}")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def verify_in_process(sim: SimHandle, tmp: Path, requirement: str, host_vars: dict[str, Any],
                      timeout: float = 300) -> tuple[dict[str, Any], str]:
    """The verify phase's job for one requirement, in this process; (its results.json entry, a summary text).

    What the playbook adds around the job is left out on purpose: its ``always`` block removes the run's probe
    namespaces, so here ``probe_namespaces`` checks the verifier's own cleanup.
    """
    from aiconform.results import RequirementResult
    from aiconform.verifiers import holdings, orchestrate, runtime

    from aiconform.verifier_options import planned_options

    plans, errors = orchestrate.validate_plans({requirement: planned_options(requirement, host_vars)},
                                               {"cleanup_timeout": host_vars.get("aiconform_cleanup_timeout")})
    assert not errors, errors
    connection = {"kubeconfig": str(sim.kubeconfig), "context": None, "host": None, "api_key": None,
                  "validate_certs": True, "ca_cert": None, "client_cert": None, "client_key": None,
                  "request_timeout": 30}
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{requirement[:8]}"
    holders = holdings.ClusterHolders(connection, run_id)
    out: dict[str, Any] = {}

    def job() -> None:
        try:
            out.update(orchestrate.run_all(plans, connection, run_id=run_id, holders=holders))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            out["__raised__"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=job, name=f"verify-{requirement}", daemon=True)
    thread.start()
    thread.join(timeout + 60)
    try:
        if thread.is_alive():  # the playbook's async job would time out here: stop the probe, then fail
            runtime.CANCEL.set()
            thread.join(120)
            raise AssertionError(f"{requirement} still running after {timeout + 60:g}s")
    finally:
        holders.close()
        if not thread.is_alive():
            runtime.CANCEL.clear()
    assert "__raised__" not in out, out.get("__raised__")
    assert requirement in out, f"no result for {requirement}: {sorted(out)}"
    # what results.json holds: from_dict -> to_dict, as the report phase writes it (report.model._normalize)
    entry = RequirementResult.from_dict(out[requirement]).to_dict()
    (tmp / "results").mkdir(parents=True, exist_ok=True)
    summary = json.dumps({k: entry.get(k) for k in ("status", "reasons", "checks")}, default=str)
    (tmp / "results" / f"{requirement}.json").write_text(json.dumps(entry, default=str))
    return entry, summary
