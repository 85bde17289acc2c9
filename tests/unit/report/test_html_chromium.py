"""report.html opens in headless Chromium without console errors; a screenshot is produced."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from aiconform.report import render
from aiconform.results import Status
from report_fixtures import model, result

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium not installed")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_html_renders_in_chromium(tmp_path: Path) -> None:
    m = model("v1.37", {"gpu_sharing": result("gpu_sharing", Status.NOT_IMPLEMENTED, reasons=["no MIG"]),
                        "cluster_autoscaling": result("cluster_autoscaling", Status.NOT_APPLICABLE, notes="bare metal")},
              simulated=True, omit=("workload_sandboxing",))
    run_dir = render.write_run(m, tmp_path / "reports")[0]
    html = run_dir / "report.html"
    shot = tmp_path / "report.png"
    proc = _chromium(f"--screenshot={shot}", "--window-size=1280,2400", html.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    dom = _chromium("--dump-dom", html.as_uri())
    assert dom.returncode == 0
    assert "SIMULATED CLUSTER" in dom.stdout and 'id="req-gang_scheduling"' in dom.stdout
