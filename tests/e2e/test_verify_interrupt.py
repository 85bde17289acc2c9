"""A verify job stopped by SIGTERM (Ctrl-C of an operator, an async timeout's kill, a CI cancel) on the simulator.

The job body (aiconform.verifiers.orchestrate, as run by the aiconform.conformance.verify module) runs two
long probes as threads; SIGTERM reaches the main thread only, which must stop both probes at their next wait,
let their cleanup delete the probe namespaces, and still report each requirement as an error saying why.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from helpers.conformance_e2e import probe_namespaces
from helpers.sim import SimHandle, run_tool

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e

JOB = """
import json, sys
from aiconform.verifiers import orchestrate
plans, errors = orchestrate.validate_plans({
    # the negative window and the HPA stabilization keep both probes busy for minutes
    "gang_scheduling": {"negative_window": 300, "cpu_request": "2", "negative_parallelism": 10},
    "pod_autoscaling": {"stabilization_window": 300},
}, {"cleanup_timeout": 30})
assert not errors, errors
results = orchestrate.run_all(plans, {"kubeconfig": sys.argv[1], "validate_certs": True, "request_timeout": 30},
                              run_id="sigterm1")
print(json.dumps({rid: {"status": r["status"], "reasons": r["reasons"]} for rid, r in results.items()}))
"""


@pytest.fixture
def lab(sim_factory) -> SimHandle:
    return sim_factory("conformant")


def test_sigterm_stops_every_probe_thread_and_cleans_up(lab):
    proc = subprocess.Popen([sys.executable, "-c", JOB, str(lab.kubeconfig)], cwd=PROJECT_ROOT,
                            env=lab.subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (probe_namespaces(lab, "gang_scheduling")
                                                   and probe_namespaces(lab, "pod_autoscaling")):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)
        assert probe_namespaces(lab, "gang_scheduling") and probe_namespaces(lab, "pod_autoscaling")
        time.sleep(2)  # both probes are waiting on the cluster now
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert time.monotonic() - stopped < 60, "the probes did not stop at their next wait"
    results = json.loads(out.strip().splitlines()[-1])
    for rid in ("gang_scheduling", "pod_autoscaling"):
        assert results[rid]["status"] == "error", results
        assert any("cancelled" in r or "interrupted" in r for r in results[rid]["reasons"]), results[rid]
        assert not probe_namespaces(lab, rid), f"{rid}: probe namespace left behind"
    # gang_scheduling's cluster-scoped Kueue objects are deleted in a finally block: also after a SIGTERM
    left = run_tool(lab, "kubectl", "get", "clusterqueues,resourceflavors", "-o", "name")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout + left.stderr
