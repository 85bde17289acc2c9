"""``aiconform run`` / ``aiconform conformance`` end to end against the simulator (real ansible-runner path).

Restricted to dra_support (cheap, MUST in every set) with short timeouts. Broken clusters: the simulator's
DRA controller switched off (the claim is never allocated: Not Implemented), a kubeconfig at a closed port.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.sim import SimHandle

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e
REQ = "dra_support"
FAST = {"aiconform_dra_support_pod_running_timeout": 4, "aiconform_dra_support_log_timeout": 4,
        "aiconform_cleanup_timeout": 20}


def inventory(path: Path, clusters: dict[str, str]) -> Path:
    hosts = {name: {"ansible_connection": "local", "aiconform_kubeconfig": kc, **FAST} for name, kc in clusters.items()}
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return path


def aiconform(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aiconform.cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def token(kubeconfig: Path) -> str:
    return yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_all_pass_progress_summary_and_private_dir(sim_factory, tmp_path):
    lab: SimHandle = sim_factory("conformant", kubernetes_version="v1.35.2")
    secret = token(lab.kubeconfig)
    env = lab.subprocess_env()
    env["K8S_AUTH_API_KEY"] = secret  # a credential in the caller's environment must not reach the disk
    inv = inventory(tmp_path / "inv.yml", {"lab": str(lab.kubeconfig)})
    runner_dir = tmp_path / "runner"
    proc = aiconform("run", "-i", str(inv), "--only", REQ, "--reports-dir", str(tmp_path / "reports"),
                     "--runner-dir", str(runner_dir), env=env)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    # progress (not a TTY: one line per change, in order) ...
    lines = out.splitlines()
    idx = {key: next(i for i, line in enumerate(lines) if key in line)
           for key in ("lab: reachable", f"lab: {REQ} running", f"lab: {REQ} passed (Implemented)")}
    assert idx["lab: reachable"] < idx[f"lab: {REQ} running"] < idx[f"lab: {REQ} passed (Implemented)"]
    # ... the summary table, the run directory, the verdict
    assert any(line.split()[:3] == ["requirement", "level", "status"] for line in lines), out
    assert any(line.split()[:3] == [REQ, "MUST", "Implemented"] for line in lines), out
    run_dir = Path(next(line for line in lines if line.startswith("run directory: ")).split(": ", 1)[1])
    results = json.loads((run_dir / "results.json").read_text())
    assert [r["status"] for r in results["requirements"] if r["id"] == REQ] == ["Implemented"]
    assert out.rstrip().endswith("(exit 0)")
    # the private data dir: 0700, the job events kept, and no credential anywhere in it
    assert stat.S_IMODE(runner_dir.stat().st_mode) == 0o700
    files = [p for p in runner_dir.rglob("*") if p.is_file()]
    assert any("job_events" in p.parts for p in files)
    assert not (runner_dir / "env").exists() or not any((runner_dir / "env").iterdir())
    leaked = [str(p) for p in files if secret in p.read_text(errors="replace")]
    assert not leaked, leaked
    assert "--tags verify,dra_support" in " ".join(json.loads((runner_dir / "artifacts" / "aiconform" / "command")
                                                             .read_text())["command"])


def test_unreachable_cluster_exit_4(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    port = closed_port()
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "gone", "user": {"token": "t0ken-never-written"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}))
    inv = inventory(tmp_path / "inv.yml", {"gone": str(kubeconfig)})
    proc = aiconform("run", "-i", str(inv), "--only", REQ, "--reports-dir", str(tmp_path / "reports"),
                     env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=300)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "gone: UNREACHABLE" in proc.stdout
    assert f"127.0.0.1:{port}" in proc.stdout
    assert not list(tmp_path.glob("aiconform-run-*")), "the private data dir is removed after the run"


def test_fleet_of_three_with_one_broken(sim_factory, tmp_path):
    labs = {name: sim_factory("conformant", kubernetes_version="v1.34.1") for name in ("east", "west", "north")}
    labs["west"].controllers(dra=False)  # the claim is never allocated: dra_support Not Implemented
    inv = inventory(tmp_path / "inv.yml", {name: str(h.kubeconfig) for name, h in labs.items()})
    reports = tmp_path / "reports"
    proc = aiconform("run", "-i", str(inv), "--only", REQ, "--reports-dir", str(reports), "--forks", "3",
                     env=labs["east"].subprocess_env())
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "west: MUST not implemented: dra_support" in out
    run_dirs = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("run directory: ")]
    assert sorted(Path(d).parent.name for d in run_dirs) == ["east", "north", "west"]
    for d in run_dirs:
        assert (Path(d) / "results.json").is_file()
    fleet_md = (reports / "fleet.md").read_text()
    assert f"fleet summary: {reports / 'fleet.md'}" in out
    rows = {line.split("|")[1].strip(): line for line in fleet_md.splitlines() if line.startswith("|")}
    west = next(v for k, v in rows.items() if "west" in k)
    east = next(v for k, v in rows.items() if "east" in k)
    assert "Not Implemented" in west or "❌" in west, fleet_md
    assert "Not Implemented" not in east and "❌" not in east, fleet_md


def test_conformance_without_inventory_runs_the_simulated_lab(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = aiconform("conformance", "--only", REQ, "--reports-dir", str(tmp_path / "reports"),
                     *[f"-e{k}={v}" for k, v in FAST.items()], env=env)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert out.startswith("*** SIMULATED CLUSTER") and out.rstrip().endswith("***")
    assert "simulated-lab: reachable (SIMULATED cluster)" in out
    assert "[SIMULATED CLUSTER" in out and "aiconform run (SIMULATED)" in out
    run_dir = Path(next(line for line in out.splitlines() if line.startswith("run directory: ")).split(": ", 1)[1])
    assert json.loads((run_dir / "results.json").read_text())["cluster"]["simulated"] is True
    assert "simul" in (run_dir / "README.md").read_text().lower()
    url = next(line for line in out.splitlines() if line.startswith("simulated lab: ")).split()[2]
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as s:  # the simulator was stopped, its temp dir (kubeconfig) removed
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert not list(tmp_path.glob("aiconform-lab-*"))


def test_ctrl_c_stops_the_run_and_the_simulated_lab(tmp_path):
    import select
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "aiconform.cli", "conformance", "--only", REQ, "--reports-dir",
                             str(tmp_path / "reports")], cwd=PROJECT_ROOT, env={**os.environ, "TMPDIR": str(tmp_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url, deadline = "", time.monotonic() + 120
    while not url and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            line = proc.stdout.readline()
            url = line.split()[2] if line.startswith("simulated lab: ") else ""
    assert url, "the simulated lab never started"
    time.sleep(3)  # ansible-playbook is running now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) != 0, "the simulator is still serving"
    assert not list(tmp_path.glob("aiconform-lab-*")) and not list(tmp_path.glob("aiconform-run-*"))


def test_verdicts_are_reported_as_their_probes_finish(sim_factory, tmp_path):
    """dra_support is planned before gang_scheduling but made slow (a 15 s delay on its first create, a fault
    of the simulator): gang_scheduling's verdict must show first, while dra_support is still running."""
    lab: SimHandle = sim_factory("conformant", kubernetes_version="v1.35.2")
    lab.faults({"path": r"/resourceclaimtemplates$", "verb": "create", "delay": 15})
    inv = tmp_path / "inv.yml"
    gang = {"aiconform_gang_scheduling_negative_window": 3, "aiconform_gang_scheduling_positive_timeout": 20,
            "aiconform_gang_scheduling_release_timeout": 15, "aiconform_gang_scheduling_queue_ready_timeout": 10,
            "aiconform_gang_scheduling_cpu_request": "2", "aiconform_gang_scheduling_negative_parallelism": 10}
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"lab": {
        "ansible_connection": "local", "aiconform_kubeconfig": str(lab.kubeconfig), **FAST, **gang}}}}))
    proc = aiconform("run", "-i", str(inv), "--only", "dra_support,gang_scheduling", "--reports-dir",
                     str(tmp_path / "reports"), env=lab.subprocess_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert at("lab: dra_support running") < at("lab: gang_scheduling passed")
    assert at("lab: gang_scheduling passed") < at("lab: dra_support passed"), proc.stdout
