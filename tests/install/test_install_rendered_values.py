"""The values the install roles render (real Ansible templating of defaults + vars), checked against what the
real charts deploy and, through ``helm template`` of the stand-in charts, against what reaches the objects.

- Mirror mode (aiconform_image_registry): every image repository the pinned GPU Operator chart can deploy (its
  upstream values, ../shared/fixtures/charts/gpu-operator/<version>/values.yaml, skipped when absent) is
  rewritten to the mirror, operands off by default and the NFD subchart included.
- DRA mode: the DCGM exporter gets KUBERNETES_ENABLE_DRA, a mounted token (enablePodUID) and resourceslices RBAC.
- cluster-autoscaler (kwok): installed with 0 replicas, its provider config carries nodes.skipTaint.
- DRA driver: ``helm show crds`` of the pinned chart (the role applies the chart's ComputeDomain CRDs itself).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiconform import PROJECT_ROOT, versions
from aiconform.toolchain import ansible_env, tool

FIXTURES = Path(os.environ.get("AICONFORM_CHART_FIXTURES", PROJECT_ROOT.parent / "shared" / "fixtures" / "charts"))
CHARTS = PROJECT_ROOT / "tests" / "charts"
MIRROR = "mirror.example:5000"
UPSTREAM_REGISTRIES = ("nvcr.io", "registry.k8s.io", "ghcr.io", "quay.io", "docker.io")


def render(tmp_path: Path, role: str, names: list[str], **extra: Any) -> dict[str, Any]:
    """Template role variables as ansible-playbook does (defaults, then vars, extra vars on top)."""
    out = tmp_path / f"{role}-{len(list(tmp_path.iterdir()))}.json"
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars_files": [str(PROJECT_ROOT / "roles" / role / "defaults" / "main.yml"),
                            str(PROJECT_ROOT / "roles" / role / "vars" / "main.yml")],
             "tasks": [{"name": "dump", "ansible.builtin.copy": {
                 "dest": str(out), "content": "{{ {" + ", ".join(f"'{n}': {n}" for n in names) + "} | to_json }}"}}]}]
    pb = tmp_path / f"render-{role}.yml"
    pb.write_text(yaml.safe_dump(play))
    cmd = ["ansible-playbook", str(pb), "-i", "localhost,", "-e",
           json.dumps({"ansible_python_interpreter": sys.executable, **extra})]
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def image_repositories(values: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(key path, repository) of every image a values tree names: ``repository`` keys with a non-empty value."""
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(values, dict):
        for k, v in values.items():
            if k == "repository" and isinstance(v, str) and v:
                found.append(((*path, k), v))
            elif isinstance(v, dict | list):
                found += image_repositories(v, (*path, str(k)))
    elif isinstance(values, list):
        for i, v in enumerate(values):
            found += image_repositories(v, (*path, str(i)))
    return found


def dig(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = values
    for k in path:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def test_image_repositories_walks_nested_values() -> None:
    vals = {"a": {"repository": "nvcr.io/x", "b": {"repository": ""}}, "c": [{"repository": "q.io/y"}]}
    assert image_repositories(vals) == [(("a", "repository"), "nvcr.io/x"), (("c", "0", "repository"), "q.io/y")]
    assert dig(vals, ("a", "repository")) == "nvcr.io/x" and dig(vals, ("a", "z")) is None


@pytest.fixture(scope="module")
def gpu_values(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("render")
    return {
        "mirror": render(tmp, "gpu_operator", ["gpu_operator_managed_values"],
                         aiconform_image_registry=MIRROR)["gpu_operator_managed_values"],
        "dra": render(tmp, "gpu_operator", ["gpu_operator_managed_values"])["gpu_operator_managed_values"],
        "device_plugin": render(tmp, "gpu_operator", ["gpu_operator_managed_values"],
                                aiconform_gpu_allocation="device_plugin")["gpu_operator_managed_values"],
    }


def test_mirror_mode_rewrites_every_image_the_gpu_operator_chart_can_deploy(gpu_values: dict[str, Any]) -> None:
    chart = versions.get("gpu_operator.chart")
    fixture = FIXTURES / chart["name"] / str(chart["version"]) / "values.yaml"
    if not fixture.is_file():
        pytest.skip(f"{fixture} is absent (developer reference fixtures not mounted)")
    upstream = yaml.safe_load(fixture.read_text())
    repos = image_repositories(upstream)
    assert len(repos) >= 20, repos  # the walk found the operands (a broken walk must not pass)
    mirrored = gpu_values["mirror"]
    leaks = {".".join(p): dig(mirrored, p) for p, _ in repos if not str(dig(mirrored, p) or "").startswith(MIRROR + "/")}
    assert not leaks, f"images left on their upstream registry in mirror mode: {leaks}"
    # The NFD subchart's image is not in the parent chart's values (tag: the subchart's appVersion).
    assert mirrored["node-feature-discovery"]["image"]["repository"] == f"{MIRROR}/nfd/node-feature-discovery"
    # Outside mirror mode the same keys name the upstream registries, path unchanged.
    for path, repo in repos:
        assert dig(gpu_values["dra"], path) == repo, ".".join(path)


def test_no_rendered_gpu_operator_image_names_an_upstream_registry_in_mirror_mode(gpu_values: dict[str, Any]) -> None:
    """Independent of the fixtures: every repository the role renders follows the mirror."""
    repos = image_repositories(gpu_values["mirror"])
    assert len(repos) >= 20
    assert [r for _, r in repos if r.split("/")[0] in UPSTREAM_REGISTRIES] == []


def test_dra_mode_lets_the_dcgm_exporter_map_dra_gpus_to_pods(gpu_values: dict[str, Any]) -> None:
    dcgm = gpu_values["dra"]["dcgmExporter"]
    assert dcgm["env"] == [{"name": "KUBERNETES_ENABLE_DRA", "value": "true"}]
    assert dcgm["enablePodUID"] is True  # v26.7.0 mounts the exporter's token only with pod metadata enabled
    role, binding = gpu_values["dra"]["extraObjects"]
    assert role["kind"] == "ClusterRole" and role["rules"] == [
        {"apiGroups": ["resource.k8s.io"], "resources": ["resourceslices"], "verbs": ["get", "list", "watch"]}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "nvidia-dcgm-exporter", "namespace": "gpu-operator"}]
    plugin = gpu_values["device_plugin"]
    assert plugin["dcgmExporter"]["env"] == [] and plugin["dcgmExporter"]["enablePodUID"] is False
    assert plugin["extraObjects"] == []


def test_dra_mode_values_reach_the_cluster_policy_and_rbac(gpu_values: dict[str, Any], tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    values.write_text(json.dumps(gpu_values["dra"]))
    proc = subprocess.run([tool("helm"), "template", "gpu-operator", str(CHARTS / "gpu-operator"), "-n", "gpu-operator",
                           "-f", str(values)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(proc.stdout) if d}
    policy = docs[("ClusterPolicy", "cluster-policy")]["spec"]["dcgmExporter"]
    assert policy["env"] == [{"name": "KUBERNETES_ENABLE_DRA", "value": "true"}] and policy["enablePodUID"] is True
    assert ("ClusterRoleBinding", "aiconform-dcgm-exporter-resourceslices") in docs


def test_kwok_autoscaler_is_installed_stopped_with_the_provider_config(tmp_path: Path) -> None:
    names = ["cluster_autoscaler_managed_values", "cluster_autoscaler_kwok_config", "cluster_autoscaler_kwok_configure"]
    kwok = render(tmp_path, "cluster_autoscaler", names)
    assert kwok["cluster_autoscaler_kwok_configure"] is True
    assert kwok["cluster_autoscaler_managed_values"]["replicaCount"] == 0
    checksum = kwok["cluster_autoscaler_managed_values"]["podAnnotations"]["aiconform.io/kwok-provider-checksum"]
    cfg = kwok["cluster_autoscaler_kwok_config"]
    assert cfg["nodes"]["skipTaint"] is False and cfg["configmap"]["name"] == "kwok-provider-templates"
    assert cfg["nodes"]["gpuConfig"] == {"gpuLabelKey": "nvidia.com/gpu.product", "availableGPUTypes": {"NVIDIA-L4": {}}}
    # a template change is a new checksum (a new autoscaler pod, which reads it); skipTaint is honoured
    other = render(tmp_path, "cluster_autoscaler", names, cluster_autoscaler_kwok_gpus_per_node=2,
                   cluster_autoscaler_kwok_skip_taint=True)
    assert other["cluster_autoscaler_managed_values"]["podAnnotations"]["aiconform.io/kwok-provider-checksum"] != checksum
    assert other["cluster_autoscaler_kwok_config"]["nodes"]["skipTaint"] is True
    # another cloud provider: no kwok handling, the chart's replicas
    aws = render(tmp_path, "cluster_autoscaler", names, aiconform_cloud_provider="aws", cluster_autoscaler_replicas=2)
    assert aws["cluster_autoscaler_kwok_configure"] is False
    assert aws["cluster_autoscaler_managed_values"]["replicaCount"] == 2
    assert aws["cluster_autoscaler_managed_values"]["podAnnotations"] == {}


def test_dra_driver_crds_come_from_its_own_chart(tmp_path: Path) -> None:
    argv = render(tmp_path, "nvidia_dra_driver", ["nvidia_dra_driver_show_crds_argv"],
                  nvidia_dra_driver_chart_path=str(CHARTS / "dra-driver-nvidia-gpu"),
                  aiconform_helm_binary=tool("helm"))["nvidia_dra_driver_show_crds_argv"]
    assert argv == [tool("helm"), "show", "crds", str(CHARTS / "dra-driver-nvidia-gpu")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert {d["metadata"]["name"] for d in yaml.safe_load_all(proc.stdout) if d} == {
        "computedomains.resource.nvidia.com", "computedomaincliques.resource.nvidia.com"}
    pinned = render(tmp_path, "nvidia_dra_driver", ["nvidia_dra_driver_show_crds_argv"])["nvidia_dra_driver_show_crds_argv"]
    chart = versions.get("nvidia_dra_driver.chart")
    assert pinned[1:] == ["show", "crds", f"{chart['repository']}/{chart['name']}", "--version", str(chart["version"])]
