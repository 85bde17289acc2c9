"""Start the Kubernetes API simulator in its own process, with an isolated client environment."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiconform import PROJECT_ROOT
from aiconform.sim import process as sim_process
from aiconform.toolchain import ansible_env

# Per-run state and cache directories that clients use (discovery caches must not leak between runs).
ISOLATED_DIRS = ("TMPDIR", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "KUBECACHEDIR", "HELM_CACHE_HOME",
                 "HELM_CONFIG_HOME", "HELM_DATA_HOME")


class SimHandle:
    """A running simulator: ``.url``, ``.kubeconfig``, ``.env`` (for subprocesses), admin helpers."""

    def __init__(self, scenario: str = "empty", kubernetes_version: str | None = None, controllers: bool = True,
                 workdir: Path | None = None) -> None:
        self.scenario = scenario
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="aiconform-sim-"))
        self.kubeconfig = self.dir / "kubeconfig"
        self.env: dict[str, str] = {}
        for var in ISOLATED_DIRS:
            d = self.dir / var.lower()
            d.mkdir(parents=True, exist_ok=True)
            self.env[var] = str(d)
        self.env.update(KUBECONFIG=str(self.kubeconfig), K8S_AUTH_KUBECONFIG=str(self.kubeconfig),
                        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        # generous timeout: CI machines may be heavily loaded
        self.proc, self.url = sim_process.start(self.dir, scenario, kubernetes_version, controllers=controllers,
                                                env=self.env, own_session=False, timeout=90.0)

    def log(self) -> str:
        p = self.dir / "sim.log"
        return p.read_text() if p.exists() else ""

    # ---- simulator-only admin API ----
    def admin(self, path: str, body: Any = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def faults(self, *rules: dict[str, Any], replace: bool = True) -> list[dict[str, Any]]:
        """Install fault rules (``faults()`` with no rule clears them)."""
        if not rules:
            return self.admin("/_sim/faults", method="DELETE")["rules"]
        return self.admin("/_sim/faults", {"rules": list(rules), "replace": replace})["rules"]

    def requests(self, reset: bool = False) -> dict[str, Any]:
        return self.admin("/_sim/requests", method="DELETE" if reset else "GET")

    def controllers(self, **switches: bool) -> dict[str, bool]:
        return self.admin("/_sim/controllers", switches or None, method="POST" if switches else "GET")

    def reset(self, scenario: str | None = None) -> None:
        self.admin("/_sim/reset", {"scenario": scenario} if scenario else {})

    def stats(self) -> dict[str, Any]:
        return self.admin("/_sim/stats")

    def subprocess_env(self) -> dict[str, str]:
        """Environment for kubectl/helm/ansible-playbook talking to this simulator."""
        return {**ansible_env(), **self.env}

    def stop(self) -> None:
        sim_process.stop(self.proc)


def run_playbook(playbook: str | Path, sim: SimHandle, extra_vars: dict[str, Any] | None = None,
                 tags: list[str] | str | None = None, check: bool = False, timeout: float = 600,
                 args: list[str] | None = None) -> tuple[int, str]:
    """Run real ansible-playbook against the simulator; returns (rc, combined output).

    ``playbook`` is a path or the YAML text of a playbook (written next to the simulator's kubeconfig).
    """
    path = Path(playbook) if not isinstance(playbook, str) or "\n" not in playbook else None
    if path is None:
        path = sim.dir / f"playbook-{time.monotonic_ns()}.yml"
        path.write_text(str(playbook))
    cmd = ["ansible-playbook", str(path), "-i", "localhost,", "-c", "local",
           "-e", json.dumps({"ansible_python_interpreter": sys.executable, **(extra_vars or {})})]
    if tags:
        cmd += ["--tags", tags if isinstance(tags, str) else ",".join(tags)]
    if check:
        cmd.append("--check")
    cmd += args or []
    env = sim.subprocess_env()
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def run_tool(sim: SimHandle, *cmd: str, timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run kubectl/helm (from .tools/bin) against the simulator."""
    from aiconform.toolchain import tool
    return subprocess.run([tool(cmd[0]), *cmd[1:]], env=sim.subprocess_env(), capture_output=True, text=True,
                          timeout=timeout, input=input, cwd=sim.dir)


def until(fn: Any, timeout: float = 10.0) -> Any:
    """Poll ``fn`` every 0.1 s until it returns something truthy or ``timeout`` passes; returns its last value."""
    deadline = time.time() + timeout
    while True:
        val = fn()
        if val or time.time() > deadline:
            return val
        time.sleep(0.1)
