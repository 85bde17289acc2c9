"""Run conformance.yml against the simulator with a chosen identity (admin kubeconfig or an issued token)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from helpers.sim import SimHandle

from aiconform import PROJECT_ROOT
from aiconform.sim.cli import write_kubeconfig


def issue_token(sim: SimHandle, rules: list[dict[str, Any]], name: str = "aiconform-verify") -> str:
    return sim.admin("/_sim/tokens", {"name": name, "namespace": "aiconform-system", "rules": rules})["token"]


def start_conformance(sim: SimHandle, tmp: Path, host_vars: dict[str, Any], tags: str = "verify",
                      token: str | None = None, args: list[str] | None = None) -> subprocess.Popen[str]:
    """ansible-playbook conformance.yml with a one-host inventory; with ``token`` the run uses only it.

    The token goes in as aiconform_host + aiconform_api_key, and KUBECONFIG/K8S_AUTH_KUBECONFIG point at
    a kubeconfig holding the same token, so nothing can fall back to the admin identity unnoticed.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "aiconform_reports_dir": str(tmp / "reports"), "aiconform_verify_timeout": 600, **host_vars}
    env = sim.subprocess_env()
    env["ANSIBLE_NOCOLOR"] = "1"
    if token:
        kubeconfig = tmp / "sa-kubeconfig"
        write_kubeconfig(kubeconfig, sim.url, token)
        env.update(KUBECONFIG=str(kubeconfig), K8S_AUTH_KUBECONFIG=str(kubeconfig))
        host.update(aiconform_host=sim.url, aiconform_api_key=token)
    else:
        host.setdefault("aiconform_kubeconfig", str(sim.kubeconfig))
    (tmp / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"sim": host}}}))
    return subprocess.Popen(["ansible-playbook", "conformance.yml", "-i", str(tmp / "inventory.yml"), "--tags", tags,
                             *(args or [])], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], tmp: Path, timeout: float = 900) -> tuple[dict[str, dict[str, Any]], str, str]:
    """Wait; return ({requirement id: results.json entry}, stdout, stderr)."""
    out, err = proc.communicate(timeout=timeout)
    results = tmp / "reports" / "sim" / "latest" / "results.json"
    assert results.is_file(), f"no results.json (rc={proc.returncode}):\n{(out + err)[-4000:]}"
    data = json.loads(results.read_text())
    return {r["id"]: r for r in data["requirements"]}, out, err
