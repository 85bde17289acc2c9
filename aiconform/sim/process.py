"""Start and stop ``aiconform sim`` in a child process: the one place the CLI (``aiconform conformance``), the RBAC
coverage runs, the tests (``tests/helpers/sim.py``) and the benchmarks do it.

``start`` runs ``python -m aiconform.sim --port 0`` writing ``<directory>/kubeconfig``, its log to
``<directory>/sim.log``, and returns once the simulator printed its ``ready on <url>`` line (or raises
``SimStartError`` with the log's tail when it exited or was not ready in time). ``stop`` terminates it (SIGTERM,
SIGKILL after ``grace`` seconds) and closes its pipe.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from aiconform import PROJECT_ROOT

READY = "aiconform sim ready on "


class SimStartError(RuntimeError):
    """The simulator exited or was not ready in time; the message ends with its log's tail."""


def start(directory: Path, scenario: str = "empty", kubernetes_version: str | None = None, *,
          controllers: bool = True, env: dict[str, str] | None = None, own_session: bool = True,
          timeout: float = 30.0) -> tuple[subprocess.Popen[str], str]:
    """``(process, URL)`` of a simulator serving ``scenario``. ``own_session``: a terminal's Ctrl-C reaches the
    caller only, which stops the simulator after its own clean-up (the CLI); ``env`` is added to the caller's."""
    cmd = [sys.executable, "-m", "aiconform.sim", "--port", "0", "--kubeconfig", str(directory / "kubeconfig"),
           "--scenario", scenario]
    if kubernetes_version:
        cmd += ["--kubernetes-version", kubernetes_version]
    if not controllers:
        cmd.append("--no-controllers")
    log = directory / "sim.log"
    with open(log, "w", encoding="utf-8") as log_fh:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log_fh,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=own_session,
                                env={**os.environ, **env} if env else None)
    try:
        return proc, _wait_ready(proc, log, timeout)
    except BaseException:
        stop(proc)
        raise


def _wait_ready(proc: subprocess.Popen[str], log: Path, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SimStartError(f"the simulator exited (rc {proc.returncode}): {_tail(log)}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(READY):
                return line.split()[-1]
    raise SimStartError(f"the simulator was not ready after {timeout:g}s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else "(no log)"


def stop(proc: subprocess.Popen[str], grace: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
