"""The lab's Prometheus and prometheus-adapter: build tags, the lab stand-in charts as the install role renders them
(Prometheus configuration, arguments, images the pod runner backs with the built binaries), the lab's settings."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiconform import PROJECT_ROOT, versions
from aiconform.lab import LAB_ROLES, lab_components, lab_prometheus_vars, prometheus_proxy_url
from aiconform.labcluster import build, charts, pods
from aiconform.toolchain import tool

CONTROLLERS = ["prometheus", "prometheus-adapter"]


def helm_template(chart: Path, release: str, namespace: str, values: dict[str, Any]) -> dict[tuple[str, str], Any]:
    vals = chart.parent / f"{release}-values.json"
    vals.write_text(json.dumps(values))
    proc = subprocess.run([tool("helm"), "template", release, str(chart), "-n", namespace, "-f", str(vals)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(proc.stdout) if d}


def image_ref(key: str) -> str:
    img = versions.get(key)
    return f"{img['registry']}/{img['repository']}:{img['tag']}"


def test_prometheus_is_built_with_only_kubernetes_service_discovery(tmp_path: Path) -> None:
    prom = build.program_of("prometheus")
    assert prom.tags == ("remove_all_sd", "enable_kubernetes_sd")
    cmd = build.go_build_command("go", tmp_path / "out", prom.package, prom.ldflags, prom.tags)
    assert cmd[cmd.index("-tags") + 1] == "remove_all_sd,enable_kubernetes_sd"
    assert cmd[-3:] == ["-o", str(tmp_path / "out"), "github.com/prometheus/prometheus/cmd/prometheus"]
    assert "-tags" not in build.go_build_command("go", tmp_path / "out", "x", ())
    # the tags are part of the binary's stamp: changing them rebuilds
    target = build.Target("prometheus", prom.version, "module x\n", programs=(prom,))
    untagged = build.Program(prom.name, prom.version, prom.package, prom.ldflags)
    assert build._program_stamp(target, prom) != build._program_stamp(target, untagged)
    assert not build.program_of("prometheus-adapter").tags
    # both in the default stack; the adapter no longer "not built"
    assert set(CONTROLLERS) <= set(build.stack_controllers(None))
    assert "prometheus_adapter" not in (versions.get("lab.not_built") or {})


def test_the_pod_runner_backs_the_charts_images_with_the_binaries() -> None:
    table = pods.CONTROLLER_IMAGES
    for name in CONTROLLERS:
        img = versions.get(str(build.upstream_pin(name)["image"]))
        assert table[f"{img['repository']}:{img['tag']}"] == name
    assert LAB_ROLES["kube_prometheus_stack"] == "prometheus" and LAB_ROLES["prometheus_adapter"] == "prometheus-adapter"


@pytest.fixture
def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[tuple[str, str], Any]]:
    """Both lab charts assembled and rendered with the install roles' values plus the lab's."""
    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "home"))
    paths = charts.assemble_all(tmp_path / "charts", CONTROLLERS)
    assert set(paths) == {"kube_prometheus_stack_chart_path", "prometheus_adapter_chart_path"}
    lab = lab_prometheus_vars(CONTROLLERS)
    kps_img = versions.get("kube_prometheus_stack.images.prometheus")
    kps_values = {"prometheus": {"prometheusSpec": {
        "image": kps_img, "serviceMonitorSelectorNilUsesHelmValues": False}}}
    for k, v in lab["kube_prometheus_stack_values"]["prometheus"]["prometheusSpec"].items():  # type: ignore[index]
        kps_values["prometheus"]["prometheusSpec"][k] = v
    kps_values["lab"] = lab["kube_prometheus_stack_values"]["lab"]  # type: ignore[index]
    defaults = yaml.safe_load((PROJECT_ROOT / "roles" / "prometheus_adapter" / "defaults" / "main.yml").read_text())
    ad_img = versions.get("prometheus_adapter.images.prometheus_adapter")
    ad_values = {"image": {"repository": f"{ad_img['registry']}/{ad_img['repository']}", "tag": ad_img["tag"]},
                 "prometheus": {"url": lab["prometheus_adapter_prometheus_url"], "port": 9090},
                 "rules": {"default": False, "custom": defaults["prometheus_adapter_custom_rules"]}}
    ad_values["prometheus"].update(lab["prometheus_adapter_values"]["prometheus"])  # type: ignore[index]
    ad_values["metricsRelistInterval"] = lab["prometheus_adapter_values"]["metricsRelistInterval"]  # type: ignore[index]
    return {"kps": helm_template(Path(paths["kube_prometheus_stack_chart_path"]), "kube-prometheus-stack",
                                 "monitoring", kps_values),
            "adapter": helm_template(Path(paths["prometheus_adapter_chart_path"]), "prometheus-adapter", "monitoring",
                                     ad_values)}


def test_the_prometheus_stand_in_runs_what_the_operator_would(rendered: dict[str, Any]) -> None:
    docs = rendered["kps"]
    dep = docs[("Deployment", "prometheus-kube-prometheus-stack-prometheus")]
    ctr = dep["spec"]["template"]["spec"]["containers"][0]
    assert ctr["image"] == image_ref("kube_prometheus_stack.images.prometheus")
    assert "--config.file=/etc/prometheus/config_out/prometheus.yml" in ctr["args"]
    assert "--storage.tsdb.path=/prometheus" in ctr["args"]
    # the Services the verifier and the adapter name, selecting the server's pods
    labels = dep["spec"]["template"]["metadata"]["labels"]
    for svc in ("kube-prometheus-stack-prometheus", "prometheus-operated"):
        sel = docs[("Service", svc)]["spec"]["selector"]
        assert all(labels.get(k) == v for k, v in sel.items()), svc
    assert docs[("Service", "kube-prometheus-stack-prometheus")]["spec"]["ports"][0]["port"] == 9090
    # the Prometheus object the role waits on and the verifier lists; its status comes from the emulation
    assert ("Prometheus", "kube-prometheus-stack-prometheus") in docs
    emu = docs[("Deployment", "kube-prometheus-stack-operator")]["spec"]["template"]["spec"]["containers"][0]
    assert emu["image"] == image_ref("verifier_probes.images.python") and emu["image"] in pods.IMAGES
    assert "prometheuses/status" in json.dumps(docs[("Role", "kube-prometheus-stack-operator")])
    # discovery RBAC as the chart's Prometheus ClusterRole
    rules = docs[("ClusterRole", "kube-prometheus-stack-prometheus")]["rules"]
    core = next(r for r in rules if r["apiGroups"] == [""])
    assert {"pods", "endpoints", "services"} <= set(core["resources"]) and "watch" in core["verbs"]
    assert any("endpointslices" in r.get("resources", []) for r in rules)


def test_the_prometheus_configuration(rendered: dict[str, Any]) -> None:
    cm = rendered["kps"][("ConfigMap", "prometheus-kube-prometheus-stack-prometheus")]
    config = yaml.safe_load(cm["data"]["prometheus.yml"])
    assert config["global"]["scrape_interval"] == "5s"
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    pods_job = jobs["kubernetes-pods"]
    assert pods_job["kubernetes_sd_configs"] == [{"role": "pod"}]
    keep = pods_job["relabel_configs"][0]
    assert keep == {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep",
                    "regex": "true"}
    targets = {r.get("target_label") for r in pods_job["relabel_configs"]}
    assert {"namespace", "pod", "__address__", "__metrics_path__"} <= targets
    assert jobs["kubernetes-service-endpoints"]["kubernetes_sd_configs"] == [{"role": "endpointslice"}]
    # the DCGM exporter as the GPU Operator's ServiceMonitor: no honor_labels, so the exporter's pod/namespace
    # labels become exported_pod/exported_namespace, which the prometheus_adapter role's rules read
    dcgm = jobs["serviceMonitor/gpu-operator/nvidia-dcgm-exporter/0"]
    assert dcgm["honor_labels"] is False
    assert dcgm["kubernetes_sd_configs"][0]["namespaces"] == {"names": ["gpu-operator"]}
    assert {"regex": "nvidia-dcgm-exporter;true", "action": "keep"}.items() <= dcgm["relabel_configs"][0].items()
    assert {r.get("target_label") for r in dcgm["relabel_configs"]} >= {"namespace", "pod", "job", "service"}
    defaults = (PROJECT_ROOT / "roles" / "prometheus_adapter" / "defaults" / "main.yml").read_text()
    assert "exported_pod: {resource: pod}" in defaults and "DCGM_FI_DEV_GPU_UTIL{exported_namespace" in defaults


def test_the_adapter_reaches_prometheus_through_the_service_proxy(rendered: dict[str, Any]) -> None:
    docs = rendered["adapter"]
    ctr = docs[("Deployment", "prometheus-adapter")]["spec"]["template"]["spec"]["containers"][0]
    assert ctr["image"] == image_ref("prometheus_adapter.images.prometheus_adapter")
    url = "https://10.243.0.1:6443/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:9090/proxy/"
    assert prometheus_proxy_url("monitoring", "kube-prometheus-stack-prometheus", 9090) == url
    assert "prometheus_adapter_prometheus_port" not in lab_prometheus_vars(CONTROLLERS)  # the role's 9090
    assert f"--prometheus-url={url}" in ctr["args"] and "--prometheus-auth-incluster" in ctr["args"]
    assert "--metrics-relist-interval=10s" in ctr["args"] and "--config=/etc/adapter/config.yaml" in ctr["args"]
    config = yaml.safe_load(docs[("ConfigMap", "prometheus-adapter")]["data"]["config.yaml"])
    gpu = next(r for r in config["rules"] if r["seriesQuery"].startswith("DCGM_FI_DEV_GPU_UTIL"))
    assert gpu["name"]["as"] == "workload_gpu_utilization"
    api = docs[("APIService", "v1beta1.custom.metrics.k8s.io")]["spec"]
    assert api["service"] == {"name": "prometheus-adapter", "namespace": "monitoring", "port": 443}
    assert docs[("Service", "prometheus-adapter")]["spec"]["ports"][0]["targetPort"] == "https"
    # delegated authentication/authorization, the resource reader with the service proxy, the HPA's access
    assert docs[("ClusterRoleBinding", "prometheus-adapter-system-auth-delegator")]["roleRef"]["name"] == \
        "system:auth-delegator"
    assert docs[("RoleBinding", "prometheus-adapter-auth-reader")]["metadata"]["namespace"] == "kube-system"
    assert "services/proxy" in json.dumps(docs[("ClusterRole", "prometheus-adapter-resource-reader")])
    hpa = docs[("ClusterRoleBinding", "prometheus-adapter-hpa-controller")]["subjects"][0]
    assert hpa == {"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"}


def test_lab_components_name_the_real_prometheus_and_the_emulated_operator() -> None:
    lines = lab_components(build.stack_controllers(None))
    ctl = versions.get("lab.controllers")
    assert f"real: prometheus {ctl['prometheus']['version']} (built from github.com/prometheus/prometheus)" in lines
    assert (f"real: prometheus-adapter {ctl['prometheus-adapter']['version']} (built from "
            "sigs.k8s.io/prometheus-adapter)") in lines
    assert any(line.startswith("emulated: Prometheus Operator (not built: ") for line in lines)
    assert any("--prometheus-auth-incluster" in line for line in lines)
    rest = next(line for line in lines if line.startswith("not installed: "))
    assert "kube_prometheus_stack" not in rest and "prometheus_adapter" not in rest
    assert not any(line.startswith("not built: prometheus_adapter") for line in lines)
    without = lab_components(["kueue"])
    assert not any("Prometheus Operator" in line for line in without)
    assert "prometheus_adapter" in next(line for line in without if line.startswith("not installed: "))


def test_the_operator_emulation_writes_available_from_the_servers_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import urllib.error

    for k, v in {"KUBERNETES_SERVICE_HOST": "10.243.0.1", "KUBERNETES_SERVICE_PORT": "6443", "NAMESPACE": "monitoring",
                 "PROMETHEUS": "kube-prometheus-stack-prometheus",
                 "WORKLOAD": "prometheus-kube-prometheus-stack-prometheus"}.items():
        monkeypatch.setenv(k, v)
    path = PROJECT_ROOT / "tests" / "charts" / "lab-kube-prometheus-stack" / "files" / "operator.py"
    spec = importlib.util.spec_from_file_location("lab_operator_emulation", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setattr("ssl.create_default_context", lambda **_: None)  # no CA file here
    spec.loader.exec_module(mod)
    answers: dict[str, Any] = {}

    def call(method: str, api_path: str, body: Any = None) -> Any:
        assert method == "GET" and api_path.endswith("/deployments/prometheus-kube-prometheus-stack-prometheus")
        if answers.get("missing"):
            raise urllib.error.HTTPError(api_path, 404, "Not Found", None, None)  # type: ignore[arg-type]
        return answers["deployment"]

    monkeypatch.setattr(mod, "call", call)
    answers["deployment"] = {"spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 1,
                                                                 "availableReplicas": 1}}
    assert mod.observe()[1][0] == "True"
    answers["deployment"] = {"spec": {"replicas": 0}, "status": {}}  # scaled to 0
    counts, (status, reason, _) = mod.observe()
    assert (status, reason, counts["availableReplicas"]) == ("False", "NoPodReady", 0)
    answers["deployment"] = {"spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 1}}
    assert mod.observe()[1][:2] == ("Degraded", "SomePodsNotReady")
    answers["missing"] = True  # the Deployment deleted
    assert mod.observe()[1][0] == "False"
