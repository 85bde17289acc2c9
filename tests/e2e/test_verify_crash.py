"""kill -9 of the controller in the middle of verify, on the simulator: the next run removes what it left and says so.

The first run (ansible-playbook conformance.yml --tags verify,gang_scheduling) is killed with SIGKILL, together
with its detached async verify job, while gang_scheduling waits in its negative window: its probe namespace,
ClusterQueue, ResourceFlavor and Lease namespace stay. The next run (another requirement) must remove all of
them, name them in a warning, and not touch its own probes.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from helpers.conformance_e2e import run_conformance
from helpers.sim import SimHandle, run_tool

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def lab(sim_factory) -> SimHandle:
    return sim_factory("conformant")


def _labelled(sim: SimHandle, selector: str) -> list[str]:
    proc = run_tool(sim, "kubectl", "get", "namespaces,clusterqueues,resourceflavors", "-l", selector, "-o", "name")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def _run_ids(sim: SimHandle) -> set[str]:
    proc = run_tool(sim, "kubectl", "get", "namespaces", "-l", "aiconform.io/run-id",
                    "-o", "jsonpath={.items[*].metadata.labels.aiconform\\.io/run-id}")
    return set(proc.stdout.split())


def _ours(sim: SimHandle) -> list[int]:
    """Processes started for this simulator (their environment names its private directory), but not the simulator."""
    marker = str(sim.dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), sim.proc.pid):
            continue
        try:
            zombie = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
            if not zombie and marker in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return pids


def test_the_next_run_removes_what_a_killed_run_left(lab, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    inventory = first / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"sim": {
        "ansible_connection": "local", "ansible_python_interpreter": os.sys.executable,
        "aiconform_kubeconfig": str(lab.kubeconfig), "aiconform_reports_dir": str(first / "reports"),
        "aiconform_gang_scheduling_negative_window": 600, "aiconform_gang_scheduling_cpu_request": "2",
        "aiconform_gang_scheduling_negative_parallelism": 10}}}}))
    env = {**lab.subprocess_env(), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.Popen(["ansible-playbook", "conformance.yml", "-i", str(inventory), "--tags",
                             "verify,gang_scheduling"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        # mid-verify: the negative Job exists (the queue objects and the positive case are behind us)
        while time.monotonic() < deadline:
            jobs = run_tool(lab, "kubectl", "get", "jobs", "-A", "-o", "name").stdout
            if "-neg" in jobs:
                break
            assert proc.poll() is None, "the first run ended before it could be killed"
            time.sleep(1)
        else:
            pytest.fail("the first run never reached gang_scheduling's negative window")
        assert len(_ours(lab)) >= 2, _ours(lab)  # ansible-playbook and the detached verify job at least
        for _ in range(10):  # again, in case one forked meanwhile
            for pid in _ours(lab):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.poll()
            time.sleep(0.3)
            if not _ours(lab):
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not _ours(lab), "a process of the first run survived SIGKILL"
    [old_run] = _run_ids(lab)
    left = _labelled(lab, f"aiconform.io/run-id={old_run}")
    assert {"namespace/aiconform-gang-scheduling-" + old_run, "namespace/aiconform-run-" + old_run} <= set(left), left
    assert any(x.startswith("clusterqueue") for x in left) and any(x.startswith("resourceflavor") for x in left), left

    time.sleep(1.1)  # run ids are UTC seconds: the next run must get its own
    entry, out = run_conformance(lab, tmp_path, "robust_controller", {})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert _labelled(lab, f"aiconform.io/run-id={old_run}") == [], "an object of the killed run is still there"
    assert _labelled(lab, "app.kubernetes.io/managed-by=aiconform") == [], "probe objects of the second run left"
    flat = " ".join(out.split())
    assert "left by earlier run(s) that did not finish" in flat, out[-4000:]
    assert f"aiconform-gang-scheduling-{old_run}" in flat and f"aiconform-{old_run}" in flat
