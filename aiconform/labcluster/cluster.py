"""``aiconform lab up`` / ``down``: start and stop the lab, from the host's side.

``up`` binds a socket on 127.0.0.1, then starts the lab's machine (``node.py``) in a new network namespace with
``unshare`` (as root: ``--net``; otherwise ``--user --map-root-user --net``, rootless), handing it that socket.
When the machine prints that it is ready, ``up`` writes the admin kubeconfig (0600; certificates embedded) and a
state file beside it (``<kubeconfig>.lab.json``: the pid to signal, the state directory). It then waits in the
foreground until SIGTERM/Ctrl-C, stops the machine and removes the state directory, the state file and the
kubeconfig it wrote. ``--detach`` runs the same foreground process in the background; ``down`` signals it and
waits for it to have cleaned up.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiconform.labcluster import build, node, topology

MARKER = "# written by aiconform lab up: removed by aiconform lab down\n"


class LabError(RuntimeError):
    """Why the lab cannot start or stop, with what to do."""


@dataclass
class Running:
    url: str
    kubeconfig: Path
    state: Path
    proc: subprocess.Popen[str]


def state_file(kubeconfig: Path) -> Path:
    return kubeconfig.with_name(kubeconfig.name + ".lab.json")


def _check_kubeconfig_path(path: Path) -> None:
    if path.exists():
        head = path.read_text(encoding="utf-8", errors="replace")[:200]
        if not head.startswith(MARKER):
            raise LabError(f"{path} exists and was not written by aiconform lab: refusing to overwrite it "
                           "(pass a new path to --kubeconfig)")
        st = state_file(path)
        if st.exists():
            try:
                pid = int(json.loads(st.read_text())["pid"])
                os.kill(pid, 0)
            except (OSError, ValueError, KeyError, json.JSONDecodeError):
                pass
            else:
                raise LabError(f"a lab is already running with {path} (pid {pid}); `aiconform lab down "
                               f"--kubeconfig {path}` first")


def _unshare_cmd() -> list[str]:
    if not shutil.which("unshare") or not shutil.which("ip"):
        raise LabError("the lab needs `unshare` (util-linux) and `ip` (iproute2) to create its network namespace")
    cmd = ["unshare", "--net", "--fork", "--kill-child=SIGTERM"]
    if os.geteuid() != 0:
        cmd[1:1] = ["--user", "--map-root-user"]
    return cmd


def start(kubeconfig: Path, *, kubernetes_version: str | None = None, gpus: int = 2, port: int = 0,
          stack: str = "base", timeout: float = 240, out: TextIO = sys.stdout) -> Running:
    """Start the lab and return once its API server answers and its nodes are up."""
    if stack not in topology.STACKS:
        raise LabError(f"unknown stack {stack!r}; the lab has: {', '.join(topology.STACKS)}")
    minor = build.resolve_minor(kubernetes_version)
    binaries = build.find_binaries(minor, stack)
    if binaries is None:
        raise LabError(f"the lab's programs for Kubernetes {minor} and stack {stack} are not built (missing: "
                       f"{', '.join(build.missing(minor, stack))}): run `aiconform lab build --kubernetes-version "
                       f"{minor} --stack {stack}` first (cache: {build.lab_home()})")
    controllers = [f"{n}={binaries[n]}" for n in build.stack_controllers(stack)]
    kubeconfig = kubeconfig.expanduser().resolve()
    _check_kubeconfig_path(kubeconfig)
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="aiconform-lab-"))
    os.chmod(state, 0o700)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        shutil.rmtree(state, ignore_errors=True)
        raise LabError(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
    listener.listen(128)
    port = listener.getsockname()[1]
    cmd = [*_unshare_cmd(), sys.executable, "-m", "aiconform.labcluster.node", "--state", str(state),
           "--listen-fd", str(listener.fileno()), "--port", str(port), "--kube", str(binaries["kube"]),
           "--kwok", str(binaries["kwok"]), "--kubernetes-version", topology.full_version(minor),
           "--gpus", str(gpus), *(a for c in controllers for a in ("--controller", c))]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                      env.get("PYTHONPATH")]))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(state / "node.log", "w"),  # noqa: SIM115
                            stdin=subprocess.DEVNULL, text=True, pass_fds=(listener.fileno(),),
                            start_new_session=True, env=env)
    listener.close()
    print(f"aiconform lab: starting Kubernetes {topology.full_version(minor)} (etcd, kube-apiserver, "
          f"kube-controller-manager, kube-scheduler, kwok; {gpus} GPU node(s)) ...", file=out, flush=True)
    started = time.monotonic()
    try:
        url = _wait_ready(proc, state, timeout)
    except BaseException:
        stop_process(proc)
        shutil.rmtree(state, ignore_errors=True)
        raise
    admin = (state / "admin.kubeconfig").read_text(encoding="utf-8")
    fd = os.open(kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(MARKER + admin)
    state_file(kubeconfig).write_text(json.dumps({"pid": os.getpid(), "node_pid": proc.pid, "state": str(state),
                                                  "url": url}), encoding="utf-8")
    print(f"aiconform lab ready on {url} in {time.monotonic() - started:.1f}s (kubeconfig {kubeconfig})",
          file=out, flush=True)
    return Running(url, kubeconfig, state, proc)


def netns_command(running: Running, *cmd: str) -> list[str]:
    """``cmd`` run inside the lab's network namespace, where pod IPs and the API server's address answer (for
    tests and debugging). Rootless labs own their namespace from a user namespace: enter that one too."""
    ns = ["nsenter", "-t", str(running.proc.pid), "--net"]
    if os.geteuid() != 0:
        ns.append("--user")
    return [*ns, "--", *cmd]


def _wait_ready(proc: subprocess.Popen[str], state: Path, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"the lab stopped while starting (code {proc.returncode}):\n{_tail(state)}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(node.READY_PREFIX):
                return line[len(node.READY_PREFIX):].strip()
    raise LabError(f"the lab was not ready after {timeout:g}s:\n{_tail(state)}")


def _tail(state: Path, limit: int = 8000) -> str:
    parts = []
    log = state / "node.log"
    if log.exists():
        parts.append(log.read_text(errors="replace")[-limit:])
    return "\n".join(parts) or "(no output)"


def stop_process(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    if proc.poll() is None:
        # To the process group (``start_new_session``): unshare --fork blocks SIGTERM while it waits for its child,
        # so a signal to unshare alone never reached the machine (SIGKILL after the timeout, every time); the
        # machine (node.py, same group) stops its programs in order, then unshare exits with it.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def stop(running: Running) -> None:
    """Stop the machine, wait for its programs to end, remove everything ``start`` wrote."""
    stop_process(running.proc)
    _wait_node_gone(running.state)
    shutil.rmtree(running.state, ignore_errors=True)
    for path in (running.kubeconfig, state_file(running.kubeconfig)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _wait_node_gone(state: Path, timeout: float = 30) -> None:
    """unshare returns when it is signalled; wait until the machine's own processes have left the state dir."""
    deadline = time.monotonic() + timeout
    needle = str(state)
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if needle.encode() in cmdline:
                busy = True
                break
        if not busy:
            return
        time.sleep(0.2)


def run_foreground(running: Running) -> int:
    """Wait until SIGTERM/SIGINT or until the lab dies; then stop it. Returns an exit code."""
    stopping = {"sig": False}

    def on_signal(_sig: int, _frame: object) -> None:
        stopping["sig"] = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping["sig"]:
            if running.proc.poll() is not None:
                print(f"aiconform lab: the lab stopped by itself (code {running.proc.returncode}):\n"
                      f"{_tail(running.state)}", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("aiconform lab: stopping ...", flush=True)
        stop(running)
        for s, h in old.items():
            signal.signal(s, h)
        print("aiconform lab: stopped and cleaned up", flush=True)


def down(kubeconfig: Path, timeout: float = 60) -> str:
    kubeconfig = kubeconfig.expanduser().resolve()
    st = state_file(kubeconfig)
    if not st.exists():
        raise LabError(f"no lab runs with {kubeconfig} (no {st.name} beside it)")
    try:
        info = json.loads(st.read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise LabError(f"{st} is not a lab state file: {exc}") from exc
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        # the foreground process is gone: clean what it left
        for path in (kubeconfig, st):
            path.unlink(missing_ok=True)
        if info.get("state"):
            shutil.rmtree(info["state"], ignore_errors=True)
        return f"the lab (pid {pid}) was not running; removed its files"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped the lab (pid {pid})"
        time.sleep(0.2)
    raise LabError(f"the lab (pid {pid}) did not stop within {timeout:g}s")
