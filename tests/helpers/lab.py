"""Start the lab of real Kubernetes components (``aiconform lab up``) for tests, shaped like ``SimHandle``.

``LabHandle`` has the same ``url``, ``kubeconfig``, ``dir``, ``env`` and ``subprocess_env()`` as ``SimHandle``, so
``run_tool`` and ``run_playbook`` work with either engine. Tests marked ``lab`` need the binaries of ``aiconform
lab build``: without them they skip with the reason, except under CI (``CI`` set), where ``.ci/run`` builds them
first and a missing binary is a failure.
"""
from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from aiconform.labcluster import build, cluster
from aiconform.toolchain import ansible_env
from helpers.sim import ISOLATED_DIRS


def require_binaries(kubernetes_version: str | None = None, stack: str = "base") -> None:
    if build.find_binaries(kubernetes_version, stack) is not None:
        return
    why = (f"the lab's binaries for Kubernetes {build.resolve_minor(kubernetes_version)} and stack {stack} are not "
           f"built (missing {', '.join(build.missing(kubernetes_version, stack))}; run `aiconform lab build --stack {stack}`; "
           f"cache {build.lab_home()})")
    if os.environ.get("CI"):
        pytest.fail(why + " — .ci/run builds them before the tests", pytrace=False)
    pytest.skip(why)


class LabHandle:
    engine = "lab"

    def __init__(self, workdir: Path, kubernetes_version: str | None = None, gpus: int = 2,
                 stack: str = "base") -> None:
        self.dir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.env: dict[str, str] = {}
        for var in ISOLATED_DIRS:
            d = workdir / var.lower()
            d.mkdir(parents=True, exist_ok=True)
            self.env[var] = str(d)
        self.env.update(KUBECONFIG=str(self.kubeconfig), K8S_AUTH_KUBECONFIG=str(self.kubeconfig),
                        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        self.output = io.StringIO()
        self.running = cluster.start(self.kubeconfig, kubernetes_version=kubernetes_version, gpus=gpus,
                                     stack=stack, out=self.output)
        self.url = self.running.url
        self.state = self.running.state

    def subprocess_env(self) -> dict[str, str]:
        return {**ansible_env(), **self.env}

    def log(self, program: str) -> str:
        path = self.state / "logs" / f"{program}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        keep = os.environ.get("AICONFORM_TEST_LAB_LOGS")  # a directory: the lab's logs are copied there
        if keep and (self.state / "logs").is_dir():
            shutil.copytree(self.state / "logs", Path(keep) / self.dir.name, dirs_exist_ok=True)
            for log in (self.state / "pods").glob("*/*.log"):  # the containers' own output
                shutil.copy(log, Path(keep) / self.dir.name / f"{log.parent.name}-{log.name}")
        cluster.stop(self.running)


# -- what the lab test files share --------------------------------------------------------------------------------
def kubectl_ok(lab: LabHandle, *args: str, input: str | None = None, timeout: float = 60) -> str:
    """kubectl against the lab; its output, asserting it succeeded."""
    from helpers.sim import run_tool

    proc = run_tool(lab, "kubectl", *args, input=input, timeout=timeout)  # type: ignore[arg-type]
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def wait_for(what: str, fn: Any, timeout: float, interval: float = 2.0) -> Any:
    """``fn()`` once it is truthy; AssertionError naming ``what`` and its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not after {timeout:g}s (last: {last!r})")


def stack_lab(stack: str, gpus: int = 1) -> Any:
    """A module-scoped ``lab`` fixture for a test module of one lab stack: ``lab = stack_lab("volcano")``.

    Skips (or, under CI, fails) without the stack's binaries; the lab is started once for the module and stopped
    after its last test."""
    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
        """The lab with the test module's stack (``stack_lab``), started once for the module."""
        require_binaries(stack=stack)
        handle = LabHandle(tmp_path_factory.mktemp("lab"), gpus=gpus, stack=stack)
        yield handle
        handle.stop()
    return lab


def verify_on_lab(lab: LabHandle, tmp_path: Path, only: str, inventory: dict[str, Any] | None = None,
                  timeout: float = 900) -> tuple[dict[str, dict[str, Any]], str, Path]:
    """``aiconform run --phase verify --only <only>`` against the lab with the lab engine's inventory (plus
    ``inventory``): (requirement id -> its result, the run's output, the run directory)."""
    import json
    import subprocess
    import sys

    from aiconform import PROJECT_ROOT
    from aiconform.lab import write_lab_engine_inventory

    inv = tmp_path / "inventory.yml"
    write_lab_engine_inventory(inv, lab.kubeconfig, inventory or {})
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "aiconform.cli", "run", "-i", str(inv), "--phase", "verify",
                           "--only", only, "--reports-dir", str(reports)],
                          cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=timeout)
    found = sorted(reports.glob("lab/2*/results.json"))
    assert found, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(found[-1].read_text())
    return {r["id"]: r for r in results["requirements"]}, proc.stdout + proc.stderr, found[-1].parent
