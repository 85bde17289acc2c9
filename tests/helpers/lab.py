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
from pathlib import Path

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
