"""The lab behaves like a cluster to every client: real etcd and API server, kwok GPU nodes, kubectl and helm,
RBAC on, DRA allocation by the real scheduler."""
from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from helpers.lab import LabHandle
from helpers.sim import run_tool

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.lab


def kubectl(lab: LabHandle, *args: str, check: bool = True, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    res = run_tool(lab, "kubectl", *args, input=input, timeout=timeout)  # type: ignore[arg-type]
    if check:
        assert res.returncode == 0, f"kubectl {' '.join(args)}: {res.stdout}\n{res.stderr}"
    return res


def kget(lab: LabHandle, *args: str) -> dict:
    return json.loads(kubectl(lab, "get", *args, "-o", "json").stdout)


def wait(fn, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} not met in {timeout}s (last: {last})")


def test_livez_lists_the_real_etcd_check(lab: LabHandle) -> None:
    res = kubectl(lab, "get", "--raw", "/livez?verbose")
    assert "[+]etcd ok" in res.stdout
    assert "livez check passed" in res.stdout
    version = json.loads(kubectl(lab, "get", "--raw", "/version").stdout)
    assert version["gitVersion"].startswith("v1.") and version["gitVersion"] != "v0.0.0-master+$Format:%H$"


def test_admin_kubeconfig_is_private_and_tls_verified(lab: LabHandle) -> None:
    assert oct(lab.kubeconfig.stat().st_mode & 0o777) == "0o600"
    cfg = yaml.safe_load(lab.kubeconfig.read_text())
    assert cfg["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
    assert "insecure-skip-tls-verify" not in cfg["clusters"][0]["cluster"]
    # without the client certificate the real API server treats us as anonymous, and RBAC says no
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        urllib.request.urlopen(lab.url + "/api/v1/namespaces", context=ctx, timeout=10)  # noqa: S310
        raise AssertionError("anonymous list of namespaces succeeded")
    except urllib.error.HTTPError as exc:
        assert exc.code in (401, 403)


def test_gpu_lab_nodes_are_ready_kwok_nodes(lab: LabHandle) -> None:
    nodes = kget(lab, "nodes")["items"]
    names = {n["metadata"]["name"] for n in nodes}
    gpu = [n for n in nodes if n["status"]["capacity"].get("nvidia.com/gpu")]
    assert len(gpu) == 2, names
    assert any("node-role.kubernetes.io/control-plane" in n["metadata"]["labels"] for n in nodes)
    for n in nodes:
        ready = {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"]
        assert ready == "True", n["metadata"]["name"]
        assert n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    for n in gpu:
        assert n["metadata"]["labels"]["nvidia.com/gpu.present"] == "true"
    leases = kget(lab, "leases", "-n", "kube-node-lease")["items"]
    assert names <= {item["metadata"]["name"] for item in leases}


def test_kubectl_create_rollout_wait_delete_namespace(lab: LabHandle) -> None:
    # kubectl sends protobuf for built-in kinds: the real API server decodes it
    kubectl(lab, "create", "namespace", "lab-kubectl")
    kubectl(lab, "-n", "lab-kubectl", "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10",
            "--replicas=2")
    kubectl(lab, "-n", "lab-kubectl", "rollout", "status", "deployment/web", "--timeout=90s")
    kubectl(lab, "-n", "lab-kubectl", "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=60s")
    pods = kget(lab, "pods", "-n", "lab-kubectl")["items"]
    assert len(pods) == 2
    for p in pods:
        assert p["status"]["phase"] == "Running"
        assert p["status"]["podIP"].startswith("10.244.")
        # the real scheduler placed it: CPU workers only (GPU and control-plane nodes are tainted)
        assert p["spec"]["nodeName"].startswith("cpu-worker")
    kubectl(lab, "-n", "lab-kubectl", "apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": "lab-kubectl"},
        "data": {"a": "1"}}))
    kubectl(lab, "-n", "lab-kubectl", "apply", "--server-side", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": "lab-kubectl"},
        "data": {"a": "1", "b": "2"}}), check=False)
    kubectl(lab, "delete", "namespace", "lab-kubectl", "--wait=true", "--timeout=120s")
    res = kubectl(lab, "get", "namespace", "lab-kubectl", check=False)
    assert res.returncode != 0 and "NotFound" in res.stderr


def test_job_completes_through_kwok_and_the_real_job_controller(lab: LabHandle) -> None:
    kubectl(lab, "create", "namespace", "lab-job")
    # an image the lab has no program for: kwok completes it (known images run for real: test_lab_pods.py)
    kubectl(lab, "-n", "lab-job", "create", "job", "once", "--image=registry.example/kwok-only:1")
    kubectl(lab, "-n", "lab-job", "wait", "--for=condition=Complete", "job/once", "--timeout=90s")
    job = kget(lab, "job", "-n", "lab-job", "once")
    assert job["status"]["succeeded"] == 1
    kubectl(lab, "delete", "namespace", "lab-job", "--wait=false")


def test_rbac_denies_a_service_account_without_rules(lab: LabHandle) -> None:
    kubectl(lab, "create", "namespace", "lab-rbac")
    kubectl(lab, "-n", "lab-rbac", "create", "serviceaccount", "nobody")
    res = kubectl(lab, "auth", "can-i", "list", "secrets", "-n", "lab-rbac",
                  "--as=system:serviceaccount:lab-rbac:nobody", check=False)
    assert res.stdout.strip() == "no"
    kubectl(lab, "-n", "lab-rbac", "create", "role", "reader", "--verb=list", "--resource=secrets")
    kubectl(lab, "-n", "lab-rbac", "create", "rolebinding", "reader", "--role=reader",
            "--serviceaccount=lab-rbac:nobody")
    res = wait(lambda: kubectl(lab, "auth", "can-i", "list", "secrets", "-n", "lab-rbac",
                               "--as=system:serviceaccount:lab-rbac:nobody", check=False).stdout.strip() == "yes",
               timeout=20, what="RBAC grant")
    kubectl(lab, "delete", "namespace", "lab-rbac", "--wait=false")


def test_dra_claim_allocated_by_the_real_scheduler(lab: LabHandle) -> None:
    classes = {c["metadata"]["name"] for c in kget(lab, "deviceclasses")["items"]}
    assert "gpu.nvidia.com" in classes
    slices = kget(lab, "resourceslices")["items"]
    assert len(slices) == 2 and all(s["spec"]["driver"] == "gpu.nvidia.com" for s in slices)
    ns = "lab-dra"
    kubectl(lab, "create", "namespace", ns)
    docs = [
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "gpu", "namespace": ns},
         "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}]}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": ns},
         "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                  "resources": {"claims": [{"name": "gpu"}]}}],
                  "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu"}],
                  "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}},
    ]
    kubectl(lab, "apply", "-f", "-", input=yaml.safe_dump_all(docs))
    kubectl(lab, "-n", ns, "wait", "--for=condition=Ready", "pod/user", "--timeout=90s")
    claim = kget(lab, "resourceclaim", "-n", ns, "gpu")
    results = claim["status"]["allocation"]["devices"]["results"]
    assert results[0]["driver"] == "gpu.nvidia.com" and results[0]["device"] == "gpu-0"
    assert [r["name"] for r in claim["status"]["reservedFor"]] == ["user"]
    pod = kget(lab, "pod", "-n", ns, "user")
    assert pod["spec"]["nodeName"] == results[0]["pool"]
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_helm_install_upgrade_uninstall(lab: LabHandle) -> None:
    chart = Path(PROJECT_ROOT) / "tests" / "charts" / "sim-demo"
    res = run_tool(lab, "helm", "install", "demo", str(chart), "-n", "lab-helm", "--create-namespace",  # type: ignore[arg-type]
                   "--wait", "--timeout", "120s")
    assert res.returncode == 0, res.stderr
    res = run_tool(lab, "helm", "upgrade", "demo", str(chart), "-n", "lab-helm", "--wait",  # type: ignore[arg-type]
                   "--set", "replicaCount=1", "--timeout", "120s")
    assert res.returncode == 0, res.stderr
    res = run_tool(lab, "helm", "history", "demo", "-n", "lab-helm", "-o", "json")  # type: ignore[arg-type]
    assert [r["revision"] for r in json.loads(res.stdout)] == [1, 2]
    res = run_tool(lab, "helm", "uninstall", "demo", "-n", "lab-helm", "--wait")  # type: ignore[arg-type]
    assert res.returncode == 0, res.stderr
