"""The action plugin and the summary callback through a real ansible-playbook run on localhost."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT
from aiconform.toolchain import ansible_env

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook", path=ansible_env()["PATH"]) is None,
                                reason="ansible-playbook not installed")

FACTS = {
    "aiconform_cluster": {"name": "lab-x", "server_version": "v1.37.2", "kubernetes_version": "v1.37",
                          "simulated": True, "api_server": "https://10.0.0.1:6443", "tls_verify": True,
                          "token": "must-not-leak-0123"},
    "aiconform_run": {"id": "20261127T041500Z", "started_at": "2026-11-27T04:15:00+00:00",
                      "selected": ["gang_scheduling", "gpu_sharing"]},
    "aiconform_platform": {"platformName": "Lab Platform", "vendorName": "Lab"},
    "aiconform_result_gang_scheduling": {
        "id": "gang_scheduling", "status": "Implemented", "reasons": ["all 4 pods of the gang admitted together"],
        "checks": [{"name": "kueue running", "outcome": "pass"}, {"name": "gang admitted", "outcome": "pass"}],
        "evidence": [{"title": "workloads", "kind": "command", "command": "kubectl get workloads -A",
                      "content": "NAME ADMITTED\ngang-1 True"}],
        "started_at": 100.0, "finished_at": 112.5},
    "aiconform_result_gpu_sharing": {"id": "gpu_sharing", "status": "Not Implemented",
                                     "reasons": ["no time-slicing or MIG configuration"], "started_at": 1.0,
                                     "finished_at": 2.0},
}


def _playbook(tmp_path: Path, with_report: bool) -> Path:
    plays = [{
        "name": "Fake verify phase",
        "hosts": "all",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [{"name": "Set verifier facts", "ansible.builtin.set_fact": FACTS, "tags": ["always"]}],
    }]
    if with_report:
        plays.append({"name": "Report", "ansible.builtin.import_playbook": str(PROJECT_ROOT / "playbooks" / "report.yml")})
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def _run(tmp_path: Path, playbook: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    reports = tmp_path / "reports"
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook),
         "-e", json.dumps({"aiconform_reports_dir": str(reports)}), *extra],
        cwd=PROJECT_ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300)


def test_report_task_writes_run_dir_and_callback_prints_table(tmp_path: Path) -> None:
    proc = _run(tmp_path, _playbook(tmp_path, with_report=True))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dir = tmp_path / "reports" / "lab-x" / "20261127T041500Z"
    assert (tmp_path / "reports" / "lab-x" / "latest").resolve() == run_dir.resolve()
    for name in ("results.json", "PRODUCT.yaml", "README.md", "report.html", "junit.xml", "e2e.log"):
        assert (run_dir / name).is_file(), name
    results = json.loads((run_dir / "results.json").read_text())
    assert sorted(r["id"] for r in results["requirements"]) == ["gang_scheduling", "gpu_sharing"]
    assert "token" not in results["cluster"]
    assert "must-not-leak-0123" not in "".join(p.read_text() for p in run_dir.rglob("*") if p.is_file())
    assert (run_dir / "evidence" / "gang_scheduling" / "01-workloads.txt").is_file()
    out = proc.stdout
    assert "AI CONFORMANCE SUMMARY" in out
    assert "AI conformance v1.37: lab-x  [SIMULATED CLUSTER - not a submission]" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("requirement") and "reason" in line)
    table = lines[header:]
    row = next(line for line in table if line.startswith("gang_scheduling "))
    assert row.split()[:4] == ["gang_scheduling", "MUST", "Implemented", "12.5s"]
    assert "all 4 pods of the gang admitted together" in row
    gpu = next(line for line in table if line.startswith("gpu_sharing "))
    assert gpu.split()[:5] == ["gpu_sharing", "SHOULD", "Not", "Implemented", "1.0s"]
    assert any(line.startswith("robust_controller ") and " unknown " in line for line in table)
    assert f"run directory: {run_dir}" in out


def test_tags_verify_also_writes_report(tmp_path: Path) -> None:
    proc = _run(tmp_path, _playbook(tmp_path, with_report=True), "--tags", "verify,gang_scheduling")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "AI CONFORMANCE SUMMARY" in proc.stdout
    assert (tmp_path / "reports" / "lab-x" / "latest" / "PRODUCT.yaml").is_file()


def test_callback_silent_without_report(tmp_path: Path) -> None:
    proc = _run(tmp_path, _playbook(tmp_path, with_report=False))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "AI CONFORMANCE SUMMARY" not in proc.stdout
    assert "run directory:" not in proc.stdout
    assert not (tmp_path / "reports").exists()
