"""Real kubectl 1.33 and helm 3.18 against the simulator."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
CHART = str(Path(__file__).resolve().parents[1] / "charts" / "sim-demo")

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
"""
CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def kubectl(sim, *args: str, input: str | None = None, ok: bool = True):
    r = run_tool(sim, "kubectl", *args, input=input)
    if ok:
        assert r.returncode == 0, f"kubectl {' '.join(args)}: {r.stdout}{r.stderr}"
    return r


def test_kubectl_apply_get_wait_rollout_set_image_delete(sim):
    assert "deployment.apps/web created" in kubectl(sim, "apply", "-f", "-", input=DEPLOY).stdout
    assert "deployment.apps/web unchanged" in kubectl(sim, "apply", "-f", "-", input=DEPLOY).stdout
    kubectl(sim, "wait", "--for=condition=Available", "deploy/web", "--timeout=20s")
    assert "successfully rolled out" in kubectl(sim, "rollout", "status", "deploy/web", "--timeout=20s").stdout
    pods = kubectl(sim, "get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 2
    kubectl(sim, "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=20s")
    kubectl(sim, "set", "image", "deploy/web", "web=nginx:1.28")
    kubectl(sim, "rollout", "status", "deploy/web", "--timeout=20s")
    dep = json.loads(kubectl(sim, "get", "deploy", "web", "-o", "json").stdout)
    assert [c["image"] for c in dep["spec"]["template"]["spec"]["containers"]] == ["nginx:1.28"]
    assert dep["metadata"]["generation"] == 2 and dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    kubectl(sim, "delete", "deploy", "web")
    kubectl(sim, "wait", "--for=delete", "pod", "-l", "app=web", "--timeout=20s")
    assert kubectl(sim, "get", "rs", "-o", "name").stdout.strip() == ""  # garbage-collected


def test_kubectl_server_side_apply_diff_and_crd_then_cr(sim):
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, labels: {k: ssa}}\ndata: {a: '1'}\n"
    assert "serverside-applied" in kubectl(sim, "apply", "--server-side", "-f", "-", input=cm).stdout
    assert kubectl(sim, "get", "cm", "-l", "k=ssa", "-o", "name").stdout.strip() == "configmap/ssa"
    r = kubectl(sim, "diff", "-f", "-", input=cm.replace("'1'", "'2'"), ok=False)
    assert r.returncode == 1 and "+  a: \"2\"" in r.stdout  # diff uses dryRun=All and changes nothing
    assert json.loads(kubectl(sim, "get", "cm", "ssa", "-o", "json").stdout)["data"] == {"a": "1"}
    kubectl(sim, "apply", "-f", "-", input=CRD)
    kubectl(sim, "wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=10s")
    kubectl(sim, "apply", "-f", "-", input="apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {a: 1}\n")
    assert kubectl(sim, "get", "gd", "-o", "name").stdout.strip() == "gadget.example.com/g1"
    kubectl(sim, "patch", "gadget", "g1", "--subresource=status", "--type=merge", "-p",
            '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')
    kubectl(sim, "wait", "--for=condition=Ready", "gadget/g1", "--timeout=10s")
    kubectl(sim, "delete", "crd", "gadgets.example.com")
    r = kubectl(sim, "get", "gadgets", ok=False)
    assert r.returncode != 0


def test_kubectl_wait_times_out_with_controllers_off(sim):
    sim.controllers(kubelet=False)
    try:
        kubectl(sim, "apply", "-f", "-", input=DEPLOY.replace("web", "stuck"))
        r = kubectl(sim, "wait", "--for=condition=Available", "deploy/stuck", "--timeout=2s", ok=False)
        assert r.returncode == 1 and "timed out waiting for the condition" in r.stderr
        r = kubectl(sim, "rollout", "status", "deploy/stuck", "--timeout=2s", ok=False)
        assert r.returncode == 1
        pods = json.loads(kubectl(sim, "get", "pods", "-l", "app=stuck", "-o", "json").stdout)["items"]
        assert pods and all(p["status"]["phase"] == "Pending" for p in pods)
    finally:
        sim.controllers(kubelet=True)
    kubectl(sim, "wait", "--for=condition=Available", "deploy/stuck", "--timeout=20s")


def test_kubectl_watch_events(sim):
    r = run_tool(sim, "kubectl", "get", "cm", "-w", "--output-watch-events", "--request-timeout=2s", "-l", "w=1",
                 timeout=30)
    assert r.returncode in (0, 1)  # ends by the request timeout


def test_helm_install_upgrade_rollback_uninstall(sim):
    def helm(*args: str):
        r = run_tool(sim, "helm", *args, timeout=120)
        assert r.returncode == 0, f"helm {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout
    assert "STATUS: pending-install" in helm("install", "demo", CHART, "--dry-run=server")
    helm("install", "demo", CHART, "--wait", "--timeout", "60s")
    rel = json.loads(helm("list", "-o", "json"))
    assert [(r["name"], r["status"]) for r in rel] == [("demo", "deployed")]
    helm("upgrade", "demo", CHART, "--set", "image=nginx:1.28,replicaCount=3", "--wait", "--timeout", "60s")
    assert json.loads(helm("get", "values", "demo", "-o", "json")) == {"image": "nginx:1.28", "replicaCount": 3}
    hist = json.loads(helm("history", "demo", "-o", "json"))
    assert [h["status"] for h in hist] == ["superseded", "deployed"]
    helm("rollback", "demo", "1", "--wait", "--timeout", "60s")
    dep = json.loads(kubectl(sim, "get", "deploy", "demo-web", "-o", "json").stdout)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert dep["status"]["readyReplicas"] == 2
    helm("uninstall", "demo", "--wait", "--timeout", "60s")
    assert json.loads(helm("list", "-a", "-o", "json")) == []
    assert kubectl(sim, "get", "deploy,svc,cm", "-l", "app.kubernetes.io/instance=demo", "-o", "name").stdout.strip() == ""
