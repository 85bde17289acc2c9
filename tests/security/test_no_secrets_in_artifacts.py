"""Known secrets planted in the kubeconfig, the inventory and the cluster appear in no artifact.

The run uses -v (module arguments and results in the output) and scans every file of the run
directory (results.json, PRODUCT.yaml, README.md, report.html, junit.xml, e2e.log, evidence/) plus
Ansible's stdout/stderr. The same run turns TLS verification off, which the report must say.
"""
from __future__ import annotations

import base64
import json
import secrets
import urllib.request
from pathlib import Path

import pytest
from _runs import finish, start_conformance
from helpers.sim import SimHandle

from aiconform.sim.cli import write_kubeconfig

pytestmark = pytest.mark.e2e


def test_planted_secrets_never_reach_reports_or_logs(tmp_path: Path) -> None:
    sim = SimHandle("conformant", workdir=tmp_path / "sim")
    planted = {
        "kubeconfig token": f"kubecfg-{secrets.token_hex(12)}",
        "api_key (no_log)": f"apikey-{secrets.token_hex(12)}",
        "registry password (no_log inventory)": f"regpass-{secrets.token_hex(12)}",
        "Secret data": f"secretdata-{secrets.token_hex(12)}",
    }
    try:
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, sim.url, planted["kubeconfig token"])  # any other token is admin to the sim
        issued = sim.admin("/_sim/tokens", {"name": "aiconform-verify", "namespace": "aiconform-system",
                                            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
        # The issued token is known only through the no_log variable: plant it, then use it.
        planted["api_key (no_log)"] = issued["token"]
        for ns in ("gpu-operator", "kube-system", "default"):
            body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "planted", "namespace": ns},
                    "type": "kubernetes.io/dockerconfigjson",
                    "data": {".dockerconfigjson": base64.b64encode(json.dumps(
                        {"auths": {"r.example": {"password": planted["Secret data"]}}}).encode()).decode(),
                        "token": base64.b64encode(planted["Secret data"].encode()).decode()}}
            req = urllib.request.Request(f"{sim.url}/api/v1/namespaces/{ns}/secrets", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).close()
        host_vars = {"aiconform_kubeconfig": str(kubeconfig), "aiconform_api_key": issued["token"],
                     "aiconform_image_pull_password": planted["registry password (no_log inventory)"],
                     "aiconform_validate_certs": False}
        run = tmp_path / "run"
        proc = start_conformance(sim, run, host_vars, tags="verify,dra_support,secure_accelerator_access",
                                 args=["-v"])
        results, out, err = finish(proc, run)
        users = {e["user"] for e in sim.admin("/_sim/requests?log=1")["log"]}
    finally:
        sim.stop()
    assert results["dra_support"]["status"] == "Implemented", results["dra_support"]["reasons"]
    assert "system:serviceaccount:aiconform-system:aiconform-verify" in users  # the api_key was really used

    needles = {what: [v, base64.b64encode(v.encode()).decode()] for what, v in planted.items()}
    sources = {"ansible stdout": out, "ansible stderr": err}
    run_dir = (run / "reports" / "sim" / "latest").resolve()
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"results.json", "PRODUCT.yaml", "README.md", "report.html", "junit.xml", "e2e.log"} <= {p.name for p in files}
    assert any("evidence" in p.parts for p in files)
    sources.update({str(p.relative_to(run_dir)): p.read_text(errors="replace") for p in files})
    leaks = [f"{what} in {where}" for where, text in sources.items() for what, vals in needles.items()
             if any(v in text for v in vals)]
    assert not leaks, leaks

    # TLS verification off is explicit and visible
    data = json.loads((run_dir / "results.json").read_text())
    assert data["cluster"]["tls_verify"] is False
    for name in ("README.md", "report.html"):
        assert "TLS verification off" in (run_dir / name).read_text(), name

