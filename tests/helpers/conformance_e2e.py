"""Shared by the verifier e2e tests: run conformance.yml against the simulator, read results.json."""
from __future__ import annotations

import json
import subprocess
import sys
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
