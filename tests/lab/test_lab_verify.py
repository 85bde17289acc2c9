"""aiconform's verify phase against the lab: verdicts decided by a real control plane.

On the bare lab (nothing of the reference stack installed) the real scheduler allocates DRA devices and the probe
container sees exactly the device nodes of its allocation (labcluster/devices.py: the CDI injection is emulated,
the allocation is not): dra_support is Implemented; with the ResourceSlices withdrawn it is not (Partially: the API
is served, nothing can be allocated). gang_scheduling
has no gang scheduler to find: Not Implemented naming what was looked for.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.lab import LabHandle
from helpers.sim import run_tool

from aiconform import PROJECT_ROOT
from aiconform.lab import write_lab_engine_inventory

pytestmark = pytest.mark.lab


def test_verify_on_the_bare_lab(lab: LabHandle, tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yml"
    write_lab_engine_inventory(inv, lab.kubeconfig, {"aiconform_dra_support_log_timeout": 8,
                                                     "aiconform_dra_support_pod_running_timeout": 60})
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "aiconform.cli", "run", "-i", str(inv), "--phase", "verify",
                           "--only", "dra_support,gang_scheduling", "--reports-dir", str(reports)],
                          cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert "LAB cluster: lab (kwok nodes, no real accelerators)" in out, out
    # gang_scheduling Not Implemented (a MUST) decides the exit code: 1
    assert proc.returncode == 1, out
    results = json.loads(next(reports.glob("lab/*/results.json")).read_text())
    assert results["cluster"]["engine"] == "lab"
    by_id = {r["id"]: r for r in results["requirements"]}
    dra = by_id["dra_support"]
    assert dra["status"] == "Implemented", dra
    assert dra["facts"]["functional"]["probe"]["devices"][0].startswith("/dev/nvidia"), dra["facts"]["functional"]
    gang = by_id["gang_scheduling"]
    assert gang["status"] == "Not Implemented", gang
    assert "no gang scheduler found" in json.dumps(gang)
    run_dir = next(reports.glob("lab/2*"))
    assert (run_dir / "PRODUCT.yaml").read_text().startswith("# LAB CLUSTER")


def _verify_one(lab: LabHandle, tmp_path: Path, requirement: str, timeouts: dict[str, int],
                timeout: int = 900) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """``aiconform run --phase verify --only <requirement>`` on the lab: its result and the process."""
    inv = tmp_path / "inventory.yml"
    write_lab_engine_inventory(inv, lab.kubeconfig, {f"aiconform_{requirement}_{k}": v for k, v in timeouts.items()})
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "aiconform.cli", "run", "-i", str(inv), "--phase", "verify",
                           "--only", requirement, "--reports-dir", str(reports)],
                          cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=timeout)
    results = json.loads(next(reports.glob("lab/*/results.json")).read_text())
    return {r["id"]: r for r in results["requirements"]}[requirement], proc


def _secure_accelerator_access(lab: LabHandle, tmp_path: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    return _verify_one(lab, tmp_path, "secure_accelerator_access", {"log_timeout": 30, "pod_running_timeout": 60})


def test_secure_accelerator_access_is_decided_by_its_probes_on_the_lab(lab: LabHandle, tmp_path: Path) -> None:
    """Upstream's subtests, multi-container pod included, and the env-var bypass pods (ubuntu and the CUDA base
    image): every container runs, the real scheduler allocates, each container sees the devices of its own
    claims only: Implemented."""
    sec, proc = _secure_accelerator_access(lab, tmp_path)
    assert sec["status"] == "Implemented", (sec, proc.stdout[-3000:])
    checks = {c["name"]: c for c in sec["checks"]}
    for name in ("PositiveAccessTest", "NegativeIsolationTest", "MultiContainerIsolationTest", "EnvVarBypassTest",
                 "CrossPodIsolationTest"):
        assert checks[name]["outcome"] == "pass", checks
    multi = sec["facts"]["subtests"]["MultiContainerIsolationTest"]["pods"]["multi-container-pod"]["containers"]
    assert multi["authorized"]["count"] == 1 and multi["unauthorized"]["count"] == 0, multi
    assert multi["authorized"]["devices"][0].startswith("/dev/nvidia"), multi
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_secure_accelerator_access_with_the_toolkit_accepting_the_env_var_is_not_implemented(
        lab: LabHandle, tmp_path: Path) -> None:
    """The GPU nodes' NVIDIA Container Toolkit hands unprivileged containers the GPUs NVIDIA_VISIBLE_DEVICES names
    (accept-nvidia-visible-devices-envvar-when-unprivileged = true): a pod without a claim sees the node's GPUs."""
    from aiconform.labcluster import devices

    nodes = json.loads(run_tool(lab, "kubectl", "get", "nodes", "-o", "json").stdout)["items"]  # type: ignore[arg-type]
    configs = [lab.state / "nodes" / n["metadata"]["name"] / devices.TOOLKIT_CONFIG for n in nodes]
    try:
        for cfg in configs:
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(f"{devices.ACCEPT_ENVVAR} = true\n", encoding="utf-8")
        sec, proc = _secure_accelerator_access(lab, tmp_path)
    finally:
        for cfg in configs:
            cfg.unlink(missing_ok=True)
    assert sec["status"] == "Not Implemented", (sec, proc.stdout[-3000:])
    reasons = json.dumps(sec["reasons"])
    assert "EnvVarBypassTest: VIOLATION" in reasons and "envvar-plain/prober" in reasons, reasons
    checks = {c["name"]: c["outcome"] for c in sec["checks"]}
    # only the bypass breaks: the claims still decide for the pods that do not set the variable
    assert checks["MultiContainerIsolationTest"] == "pass" and checks["NegativeIsolationTest"] == "pass", checks
    assert proc.returncode == 1, proc.stdout[-3000:]


def test_dra_support_with_the_resource_slices_withdrawn_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """Runs last in the module: it deletes the lab's ResourceSlices (the lab publishes them once, at start)."""
    res = run_tool(lab, "kubectl", "delete", "resourceslices", "--all")  # type: ignore[arg-type]
    assert res.returncode == 0, res.stderr
    dra, proc = _verify_one(lab, tmp_path, "dra_support", {"log_timeout": 8, "pod_running_timeout": 20}, 600)
    # the API is served but nothing can be allocated: away from Implemented (Partially: the API part passes), a
    # MUST not implemented for the exit code, never an undecided error
    assert dra["status"] in ("Not Implemented", "Partially Implemented"), (dra, proc.stdout[-2000:])
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "ResourceSlice" in json.dumps(dra["reasons"]), dra["reasons"]
