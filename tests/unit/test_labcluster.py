"""The lab's pure parts: pins, generated module files, topology, flags, refusal to clobber a kubeconfig."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiconform import versions
from aiconform.labcluster import build, cluster, topology
from aiconform.labcluster.pki import generate


def test_every_lab_pin_has_pinned_dependency_hashes() -> None:
    for minor, pin in versions.get("lab.kubernetes").items():
        assert pin["version"].startswith(minor + "."), (minor, pin)
        assert pin["staging"] == "v0." + pin["version"][3:], pin  # k8s v1.X.Y ↔ staging v0.X.Y
        sums = build.SUMS_DIR / f"kube-{pin['version']}.sum"
        assert sums.exists(), f"{sums} missing: run aiconform lab build --kubernetes-version {minor} --update-sums"
        assert f"k8s.io/kubernetes {pin['version']} h1:" in sums.read_text()
        assert f"k8s.io/api {pin['staging']} h1:" in sums.read_text()
    kwok = versions.get("lab.kwok")
    assert f"{kwok['module']} {kwok['version']} h1:" in (build.SUMS_DIR / f"kwok-{kwok['version']}.sum").read_text()
    # no stale sums: every file belongs to a pinned target
    names = {f"kube-{p['version']}.sum" for p in versions.get("lab.kubernetes").values()}
    names.add(f"kwok-{kwok['version']}.sum")
    # upstream main packages: one sums file per wrapper module, pinning each module at its version
    for group in build.wrapper_groups([*versions.get("lab.controllers"), *versions.get("lab.tools")]):
        wrapper = build.upstream_pin(group[0]).get("wrapper") or group[0]
        sums = build.SUMS_DIR / f"{wrapper}-{build.wrapper_version(group)}.sum"
        assert sums.exists(), f"{sums} missing: run aiconform lab build --update-sums"
        for n in group:
            pin = build.upstream_pin(n)
            assert f"{pin['module']} {pin['version']} h1:" in sums.read_text(), (n, sums)
        names.add(sums.name)
    # CRD bundles generated from API types (lab.crd_bundles): the module that pins the API packages
    from aiconform.labcluster import gatewayapi
    for n in versions.get("lab.crd_bundles"):
        pin = gatewayapi.pin(n)
        sums = build.SUMS_DIR / f"{n}-crds-{pin['version']}.sum"
        assert f"{pin['module']} {pin['version']} h1:" in sums.read_text(), (n, sums)
        names.add(sums.name)
    assert {p.name for p in build.SUMS_DIR.glob("*.sum")} == names


@pytest.mark.parametrize(("given", "want"), [("v1.35", "v1.35"), ("1.35", "v1.35"), ("v1.34.9", "v1.34"),
                                             (None, "v1.35")])
def test_resolve_minor(given: str | None, want: str) -> None:
    assert build.resolve_minor(given) == want


@pytest.mark.parametrize("bad", ["v1.20", "latest", "v2.0"])
def test_resolve_minor_rejects_unbuildable_versions(bad: str) -> None:
    with pytest.raises(build.BuildError, match="the lab builds Kubernetes"):
        build.resolve_minor(bad)


def test_kube_module_pins_every_staging_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mod = tmp_path / "kubernetes.mod"
    mod.write_text("module k8s.io/kubernetes\n\ngo 1.25.0\n\nrequire (\n\tk8s.io/api v0.0.0\n"
                   "\tk8s.io/client-go v0.0.0\n\tk8s.io/utils v0.0.0-20251002143259-bc988d571ff4\n)\n")
    monkeypatch.setattr(build, "_download_mod", lambda go, module, version: mod)
    t = build.kube_target("v1.35")
    assert "require k8s.io/kubernetes v1.35.4" in t.go_mod
    assert "\tk8s.io/api => k8s.io/api v0.35.4" in t.go_mod
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4" in t.go_mod
    assert "k8s.io/utils =>" not in t.go_mod  # a real pseudo-version, not a staging module
    assert "go 1.25.0" in t.go_mod
    assert "-X k8s.io/component-base/version.gitVersion=v1.35.4" in t.ldflags
    mod.write_text("module example.com/x\n")
    with pytest.raises(build.BuildError, match="no staging modules"):
        build.kube_target("v1.35")


def test_wrapper_module_builds_main_packages_from_versions_yml(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    mods = {"sigs.k8s.io/kueue": "go 1.26.0\n", "github.com/ray-project/kuberay/ray-operator": "go 1.25.0\n"}

    def fake_download(go: str, module: str, version: str) -> Path:
        f = tmp_path / (module.replace("/", "_") + ".mod")
        f.write_text(f"module {module}\n\n" + mods[module])
        return f

    monkeypatch.setattr(build, "_download_mod", fake_download)
    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "home"))
    ctl = versions.get("lab.controllers")
    with monkeypatch.context() as mp:
        mp.setitem(ctl["kuberay-operator"], "wrapper", "kueue")  # one wrapper module, two programs
        t = build.wrapper_target(["kueue", "kuberay-operator"])
        assert f"\tsigs.k8s.io/kueue {ctl['kueue']['version']}" in t.go_mod
        assert f"\tgithub.com/ray-project/kuberay/ray-operator {ctl['kuberay-operator']['version']}" in t.go_mod
        assert "go 1.26.0" in t.go_mod  # the newest go directive of the modules wrapped
        assert "tool (\n\tgithub.com/ray-project/kuberay/ray-operator\n\tsigs.k8s.io/kueue/cmd/kueue\n)" in t.go_mod
        kueue = next(p for p in t.programs if p.name == "kueue")
        assert kueue.binary == tmp_path / "home" / "bin" / f"kueue-{ctl['kueue']['version']}"
        assert f"-X sigs.k8s.io/kueue/pkg/version.GitVersion={ctl['kueue']['version']}" in kueue.ldflags
        assert t.sums.name == (f"kueue-kuberay-operator-{ctl['kuberay-operator']['version']}"
                               f"+kueue-{ctl['kueue']['version']}.sum")
    assert build.wrapper_target(["kueue"]).sums.name == f"kueue-{ctl['kueue']['version']}.sum"
    with pytest.raises(build.BuildError, match="different wrapper modules"):
        build.wrapper_target(["kueue", "controller-gen"])
    # the reference stack's binaries are reported missing until built; base needs only kube and kwok
    assert build.missing(None, "reference") == [f"kube-{versions.get('lab.kubernetes')['v1.35']['version']}",
                                                f"kwok-{versions.get('lab.kwok.version')}",
                                                f"kueue-{ctl['kueue']['version']}",
                                                f"kueue-{ctl['kueue']['version']} manifests",
                                                f"kuberay-operator-{ctl['kuberay-operator']['version']}",
                                                f"kuberay-operator-{ctl['kuberay-operator']['version']} manifests",
                                                f"metrics-server-{ctl['metrics-server']['version']}",
                                                f"prometheus-{ctl['prometheus']['version']}",
                                                f"prometheus-adapter-{ctl['prometheus-adapter']['version']}",
                                                f"gateway-api-{versions.get('gateway_api.crds.version')} CRDs"]
    assert build.find_binaries(None, "reference") is None
    with pytest.raises(build.BuildError, match="unknown stack"):
        build.stack_controllers("nope")


def test_a_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(build.BuildError, match="not found: install Go"):
        build.check_go("/nonexistent/go")


def test_topology_gpu_nodes_addresses_and_slices() -> None:
    topo = topology.Topology.build("v1.35.4", gpus=3)
    gpu = [n for n in topo.nodes if n.gpus]
    assert len(gpu) == 3
    ips = [n.ip for n in topo.nodes]
    assert len(set(ips)) == len(ips)
    cp = [n for n in topo.nodes if "node-role.kubernetes.io/control-plane" in n.obj["metadata"]["labels"]]
    assert [n.ip for n in cp] == [topology.HOST_IP]
    for n in topo.nodes:
        assert n.obj["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert "uid" not in n.obj["metadata"]
        assert n.obj["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.4"
        assert n.obj["status"]["addresses"][0] == {"type": "InternalIP", "address": n.ip}
    assert {dc["metadata"]["name"] for dc in topo.objects} >= {"gpu.nvidia.com"}
    assert topo.slices and topo.slices[0]["driver"] == "gpu.nvidia.com"
    assert topology.Topology.build("v1.35.4", gpus=0).describe()["gpus"] == 0
    with pytest.raises(ValueError, match="--gpus"):
        topology.Topology.build("v1.35.4", gpus=-1)


def test_apiserver_runs_as_kubeadm_does(tmp_path: Path) -> None:
    topo = topology.Topology.build("v1.35.4")
    pki = generate(tmp_path / "pki", apiserver_ips=(topo.host_ip,), node_ips=(topo.host_ip,))
    flags = topology.apiserver_flags(topo, pki)
    assert "--authorization-mode=Node,RBAC" in flags
    assert "--enable-admission-plugins=NodeRestriction" in flags
    assert "--enable-aggregator-routing=true" in flags
    assert not any("insecure" in f for f in flags)
    for f in tmp_path.joinpath("pki").iterdir():
        assert oct(f.stat().st_mode & 0o777) == "0o600", f


def test_lab_up_refuses_to_overwrite_a_foreign_kubeconfig(tmp_path: Path) -> None:
    mine = tmp_path / "config"
    mine.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(cluster.LabError, match="refusing to overwrite"):
        cluster._check_kubeconfig_path(mine)
    assert mine.read_text() == "apiVersion: v1\nkind: Config\n"


def test_lab_up_without_binaries_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "empty"))
    with pytest.raises(cluster.LabError, match="aiconform lab build --kubernetes-version v1.35"):
        cluster.start(tmp_path / "kubeconfig")
    assert not (tmp_path / "kubeconfig").exists()


def test_lab_down_without_a_lab_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(cluster.LabError, match="no lab runs with"):
        cluster.down(tmp_path / "kubeconfig")
    st = cluster.state_file(tmp_path / "kubeconfig")
    st.write_text("{not json")
    with pytest.raises(cluster.LabError, match="not a lab state file"):
        cluster.down(tmp_path / "kubeconfig")
    # a lab whose foreground process died: its files are cleaned up
    (tmp_path / "kubeconfig").write_text(cluster.MARKER)
    state = tmp_path / "state"
    state.mkdir()
    st.write_text(json.dumps({"pid": 2**22 + 12345, "state": str(state), "url": "https://127.0.0.1:1"}))
    assert "was not running" in cluster.down(tmp_path / "kubeconfig")
    assert not st.exists() and not state.exists() and not (tmp_path / "kubeconfig").exists()


def test_nodes_tell_metrics_server_where_kwok_serves_their_resource_metrics() -> None:
    for n in topology.Topology.build("v1.35.4").nodes:
        assert n.obj["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] == \
            f"/metrics/nodes/{n.name}/metrics/resource"
        # --kubelet-use-node-status-port (the real chart's default) reads it: kwok serves on KUBELET_PORT
        assert n.obj["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": topology.KUBELET_PORT}}


# the shape of `kwok default-metrics` (upstream's kustomize/metrics/{resource,usage}), trimmed
KWOK_METRICS = """---
kind: Metric
apiVersion: kwok.x-k8s.io/v1alpha1
metadata: {name: metrics-resource}
spec:
  path: "/metrics/nodes/{nodeName}/metrics/resource"
  metrics:
  - {name: pod_cpu_usage_seconds_total, dimension: pod, kind: counter, value: 'pod.CumulativeUsage("cpu")'}
  - {name: node_cpu_usage_seconds_total, dimension: node, kind: counter, value: 'node.CumulativeUsage("cpu")'}
  - {name: node_memory_working_set_bytes, dimension: node, kind: gauge, value: 'node.Usage("memory")'}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata: {name: usage-from-annotation}
spec: {usages: []}
"""


def test_kwok_config_serves_resource_metrics_with_a_node_baseline() -> None:
    import yaml

    docs = [d for d in yaml.safe_load_all(topology.kwok_config(KWOK_METRICS)) if d]
    assert [d["kind"] for d in docs] == ["Metric", "ClusterResourceUsage"]
    values = {m["name"]: m["value"] for m in docs[0]["spec"]["metrics"]}
    assert values["pod_cpu_usage_seconds_total"] == 'pod.CumulativeUsage("cpu")'  # pods: kwok's usage as is
    assert values["node_cpu_usage_seconds_total"] == 'node.CumulativeUsage("cpu") + 0.01 * node.SinceSecond()'
    assert values["node_memory_working_set_bytes"] == 'node.Usage("memory") + 134217728.0'
    assert topology.kwok_config("").strip() == ""
    # a kwok binary without the sub-command (older build) prints something else: a clear error, not a bad config
    with pytest.raises(RuntimeError, match="aiconform lab build --force"):
        topology.kwok_config("---\nkind: Stage\napiVersion: kwok.x-k8s.io/v1alpha1\nmetadata: {name: x}\n")


def test_stand_in_charts_get_the_generated_crds_and_rbac(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import subprocess

    import yaml

    from aiconform.labcluster import charts
    from aiconform.toolchain import tool

    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "home"))
    with pytest.raises(charts.ChartError, match="run `aiconform lab build`"):
        charts.assemble("kueue", tmp_path / "out")
    for name, crd in (("kueue", "workloads.kueue.x-k8s.io"), ("kuberay-operator", "rayclusters.ray.io")):
        gen = build.manifests_dir(name)
        (gen / "crds").mkdir(parents=True)
        (gen / "rbac").mkdir()
        group, plural = crd.split(".", 1)[1], crd.split(".")[0]
        (gen / "crds" / f"{crd}.yaml").write_text(yaml.safe_dump({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": crd},
            "spec": {"group": group, "names": {"plural": plural, "kind": "X"}, "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {}}}}]}}))
        (gen / "rbac" / "role.yaml").write_text(yaml.safe_dump({"kind": "ClusterRole", "rules": [
            {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
             "resourceNames": ["validating-webhook-configuration"], "verbs": ["get", "update"]}]}))
        (gen / ".stamp").write_text("x\n")
    got = charts.assemble_all(tmp_path / "out", ["kueue", "kuberay-operator"])
    assert set(got) == {"kueue_chart_path", "kuberay_chart_path"}
    ray = Path(got["kuberay_chart_path"])
    assert [p.name for p in (ray / "crds").iterdir()] == ["rayclusters.ray.io.yaml"]  # the stubs are replaced
    assert (charts.STAND_INS / "kuberay-operator" / "crds" / "rayclusters.yaml").exists()  # the source is untouched
    rendered = subprocess.run([tool("helm"), "template", "kueue", got["kueue_chart_path"], "-n", "kueue-system"],
                              capture_output=True, text=True, check=True, timeout=60).stdout
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(rendered) if d}
    workloads = docs[("CustomResourceDefinition", "workloads.kueue.x-k8s.io")]
    assert workloads["spec"]["conversion"]["webhook"]["clientConfig"]["service"] == {
        "name": "kueue-webhook-service", "namespace": "kueue-system", "path": "/convert"}
    assert ("CustomResourceDefinition", "clusterqueues.kueue.x-k8s.io") not in docs  # generated replace the stubs
    role = docs[("ClusterRole", "kueue-manager-role")]
    assert role["rules"][0]["resourceNames"] == ["kueue-validating-webhook-configuration"]  # the chart's prefix


def test_lab_components_say_what_is_real_and_what_is_not() -> None:
    from aiconform.lab import lab_components

    lines = lab_components(["kueue", "kuberay-operator"])
    ctl = versions.get("lab.controllers")
    assert f"real: kueue {ctl['kueue']['version']} (built from sigs.k8s.io/kueue)" in lines
    ray = next(line for line in lines if line.startswith("real: kuberay-operator"))
    assert f"reference {ctl['kuberay-operator']['reference_version']}" in ray
    rest = next(line for line in lines if line.startswith("not installed: "))
    assert "kueue" not in rest and "kuberay" not in rest and "metrics_server" in rest
    assert any(line.startswith("emulated: NVIDIA DRA driver") for line in lines)
    base = lab_components([])
    assert "kueue" in next(line for line in base if line.startswith("not installed: "))
    # metrics-server real, the usage it reads emulated (kwok), and its role no longer in "not installed"
    with_ms = lab_components(["kueue", "kuberay-operator", "metrics-server"])
    assert f"real: metrics-server {ctl['metrics-server']['version']} (built from sigs.k8s.io/metrics-server)" in with_ms
    assert any(line.startswith("emulated: the resource usage metrics-server reads") for line in with_ms)
    assert "metrics_server" not in next(line for line in with_ms if line.startswith("not installed: "))
    assert not any("metrics-server reads" in line for line in lines)
    # what the lab cannot run for real says why
    not_built = [line for line in with_ms if line.startswith("not built: ")]
    assert any(line.startswith("not built: cluster_autoscaler: the Go module proxy refuses") for line in not_built)


def test_the_metrics_server_stand_in_needs_nothing_generated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from aiconform.labcluster import charts

    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "home"))  # nothing built or generated there
    got = charts.assemble_all(tmp_path / "out", ["metrics-server"])
    assert got == {"metrics_server_chart_path": str(tmp_path / "out" / "metrics-server")}
    assert (tmp_path / "out" / "metrics-server" / "templates" / "apiservice.yaml").exists()


def test_lab_status_names_each_mechanism_without_a_lab_stack(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`aiconform lab status` says which alternative mechanisms have no lab stack, and why (versions.yml)."""
    from aiconform import cli

    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path))
    assert cli.main(["lab", "status"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("no lab stack: ")]
    assert {line.split(":")[1].strip() for line in lines} == set(versions.get("lab.no_stack"))
    assert any(line.startswith("no lab stack: kai-scheduler: the Go module proxy refuses") for line in lines)


def test_an_env_var_stored_without_value_is_set_empty() -> None:
    """`value: ""` is stored by the API server as a name alone; a kubelet sets the variable, empty (KEDA's operator
    refuses to start when WATCH_NAMESPACE is not set at all)."""
    from aiconform.labcluster.pods import PodRunner

    pod = {"metadata": {"namespace": "ns", "name": "p"}}
    assert PodRunner._env_value(None, pod, {"name": "WATCH_NAMESPACE"}) == ""  # type: ignore[arg-type]
    assert PodRunner._env_value(None, pod, {"name": "A", "value": "x"}) == "x"  # type: ignore[arg-type]
    assert PodRunner._env_value(None, pod, {"name": "NS", "valueFrom": {  # type: ignore[arg-type]
        "fieldRef": {"fieldPath": "metadata.namespace"}}}) == "ns"
