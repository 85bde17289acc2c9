"""The reference stack for real on the lab: the install phase installs Kueue and the KubeRay operator from the
stand-in charts (with controller-gen's CRDs and RBAC of the pinned modules), the lab runs the real controllers'
binaries for their pods, and the verdicts of gang_scheduling and robust_controller come from what they do.

One lab (stack ``reference``) shared by the tests, in file order: install, verify (Implemented), the install again
(nothing changed), KubeRay's webhook configuration removed (robust_controller must fail although Kueue's own
``vraycluster.kb.io`` still matches RayClusters), Kueue stopped (gang_scheduling must not pass), teardown (nothing
left).
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.lab import LabHandle, require_binaries
from helpers.sim import run_playbook, run_tool
from install.cluster_objects import object_set

from aiconform import PROJECT_ROOT, versions
from aiconform.lab import component_switches, lab_components, lab_stack_vars, write_lab_engine_inventory
from aiconform.labcluster import build

pytestmark = pytest.mark.lab

INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"
TEARDOWN = PROJECT_ROOT / "playbooks" / "teardown.yml"
CONTROLLERS = ["kueue", "kuberay-operator", "metrics-server"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabHandle, dict[str, Any], set[Any]]]:
    require_binaries(stack="reference")
    work = tmp_path_factory.mktemp("lab-stack")
    handle = LabHandle(work, stack="reference")
    try:
        role_vars = {"aiconform_kubeconfig": str(handle.kubeconfig),
                     "aiconform_cluster": {"kubernetes_version": "v1.35", "reachable": True},
                     "aiconform_install_wait_timeout": 120, **component_switches(False),
                     **lab_stack_vars(CONTROLLERS, work / "charts")}
        yield handle, role_vars, object_set(handle.kubeconfig)
    finally:
        handle.stop()


def recap(output: str) -> dict[str, int]:
    m = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert m, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()), strict=True))


def kubectl(lab: LabHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tool(lab, "kubectl", *args)  # type: ignore[arg-type] - same interface as SimHandle


def verify(lab: LabHandle, tmp_path: Path, only: str) -> dict[str, dict[str, Any]]:
    inv = tmp_path / "inventory.yml"
    write_lab_engine_inventory(inv, lab.kubeconfig, {"aiconform_gang_scheduling_negative_window": 10,
                                                     "aiconform_engine_components": lab_components(CONTROLLERS)})
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "aiconform.cli", "run", "-i", str(inv), "--phase", "verify",
                           "--only", only, "--reports-dir", str(reports)],
                          cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=900)
    results = json.loads(next(reports.glob("lab/*/results.json")).read_text())
    readme = next(reports.glob("lab/2*/README.md")).read_text()
    return {r["id"]: r for r in results["requirements"]} | {"_out": {"text": proc.stdout + proc.stderr,
                                                                      "readme": readme}}


def pods_log(lab: LabHandle) -> str:
    return lab.log("pods")


def test_install_runs_the_real_controllers(stack: tuple[LabHandle, dict[str, Any], set[Any]]) -> None:
    lab, role_vars, _ = stack
    rc, out = run_playbook(INSTALL, lab, role_vars, timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]
    log = pods_log(lab)
    for name in CONTROLLERS:  # the pods of the chart's image run the binaries `aiconform lab build` made
        assert "started controller pid" in log and str(build.program_of(name).binary) in log, log[-3000:]
    # Kueue's internal cert manager (real code) wrote its Secret and injected the CA into its webhook configurations
    secret = json.loads(kubectl(lab, "-n", "kueue-system", "get", "secret", "kueue-webhook-server-cert",
                                "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    vwc = json.loads(kubectl(lab, "get", "validatingwebhookconfiguration",
                             "kueue-validating-webhook-configuration", "-o", "json").stdout)
    assert all(w["clientConfig"].get("caBundle") for w in vwc["webhooks"])
    assert "volume secret kueue-webhook-server-cert updated" in log  # the runner followed the Secret, as a kubelet
    # the real CRD schemas (with their defaults) and conversion webhooks, not the stand-in stubs
    crd = json.loads(kubectl(lab, "get", "crd", "workloads.kueue.x-k8s.io", "-o", "json").stdout)
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"
    assert "properties" in crd["spec"]["versions"][-1]["schema"]["openAPIV3Schema"]
    ray = json.loads(kubectl(lab, "get", "crd", "rayclusters.ray.io", "-o", "json").stdout)
    assert "properties" in ray["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_gang_scheduling_and_robust_controller_are_implemented_by_the_real_controllers(
        stack: tuple[LabHandle, dict[str, Any], set[Any]], tmp_path: Path) -> None:
    lab, _, _ = stack
    by_id = verify(lab, tmp_path, "gang_scheduling,robust_controller")
    out = by_id["_out"]["text"]
    gang, robust = by_id["gang_scheduling"], by_id["robust_controller"]
    assert gang["status"] == "Implemented", "\n".join((json.dumps(gang), out[-3000:], pods_log(lab)[-2000:]))
    # the admission decisions are the real Kueue's: its Workload conditions are in the verdict
    assert "QuotaReserved, Admitted, PodsReady" in json.dumps(gang), gang
    assert robust["status"] == "Implemented", "\n".join((json.dumps(robust), out[-3000:]))
    # the invalid RayCluster was rejected by the real operator's webhook (its own message)
    assert "vraycluster.kb.io" in json.dumps(robust) or "denied" in json.dumps(robust), robust
    # the report says which components were real
    kueue = versions.get("lab.controllers.kueue.version")
    assert f"real: kueue {kueue} (built from sigs.k8s.io/kueue)" in by_id["_out"]["readme"]


def test_the_install_again_changes_nothing(stack: tuple[LabHandle, dict[str, Any], set[Any]]) -> None:
    lab, role_vars, _ = stack
    rc, out = run_playbook(INSTALL, lab, role_vars, timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]
    changed = [line for line in out.splitlines() if line.startswith("changed:")]
    assert recap(out)["changed"] == 0, changed


def test_robust_controller_fails_without_kuberays_own_webhook(
        stack: tuple[LabHandle, dict[str, Any], set[Any]], tmp_path: Path) -> None:
    lab, _, _ = stack
    res = kubectl(lab, "delete", "validatingwebhookconfiguration", "kuberay-validating-webhook-configuration")
    assert res.returncode == 0, res.stderr
    # Kueue's vraycluster.kb.io still matches RayClusters (and is served by the real Kueue)
    assert "vraycluster.kb.io" in kubectl(lab, "get", "validatingwebhookconfiguration",
                                          "kueue-validating-webhook-configuration", "-o", "json").stdout
    robust = verify(lab, tmp_path, "robust_controller")["robust_controller"]
    assert robust["status"] == "Not Implemented", robust
    text = json.dumps(robust)
    assert "kueue-validating-webhook-configuration/vraycluster.kb.io" in text, robust
    assert "an invalid custom resource was accepted" in text, robust  # the real Kueue let it through


def test_gang_scheduling_fails_with_kueue_stopped(stack: tuple[LabHandle, dict[str, Any], set[Any]],
                                                   tmp_path: Path) -> None:
    lab, _, _ = stack
    res = kubectl(lab, "-n", "kueue-system", "scale", "deployment", "kueue-controller-manager", "--replicas=0")
    assert res.returncode == 0, res.stderr
    deadline = time.monotonic() + 60
    while "kueue-controller-manager" in kubectl(lab, "-n", "kueue-system", "get", "pods", "-o", "name").stdout:
        assert time.monotonic() < deadline, "the Kueue pod was not deleted"
        time.sleep(1)
    gang = verify(lab, tmp_path, "gang_scheduling")["gang_scheduling"]
    assert gang["status"] == "Not Implemented", gang
    assert "Kueue is installed but not operational" in json.dumps(gang), gang
    # decided by what the stopped controller no longer does: its webhooks are unreachable
    assert "kueue-webhook-service" in json.dumps(gang) and "no endpoints available" in json.dumps(gang), gang


def test_teardown_leaves_nothing_behind(stack: tuple[LabHandle, dict[str, Any], set[Any]]) -> None:
    lab, role_vars, initial = stack
    rc, out = run_playbook(TEARDOWN, lab, role_vars, timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]
    after = object_set(lab.kubeconfig)
    assert after == initial, {"left": sorted(after - initial), "removed": sorted(initial - after)}
    # the test covers the whole reference stack but Prometheus and its adapter (tests/lab/test_lab_prometheus.py)
    assert versions.get("lab.stacks.reference") == [*CONTROLLERS, "prometheus", "prometheus-adapter"]
