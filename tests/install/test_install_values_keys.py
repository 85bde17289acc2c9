"""Every values key an install role sets exists in the pinned chart's upstream defaults.

A key the chart does not know is silently ignored by Helm, so a typo (or an upstream rename) would
install a default the role meant to change. The upstream defaults are the fixtures under
../shared/fixtures/charts/<chart>/<version>/values.yaml beside the repository (developer reference
material, not in the repository): the test skips when they are absent.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiconform import PROJECT_ROOT, versions

FIXTURES = Path(os.environ.get("AICONFORM_CHART_FIXTURES", PROJECT_ROOT.parent / "shared" / "fixtures" / "charts"))
ROLES = PROJECT_ROOT / "roles"

# (role, variable in vars/main.yml holding the values the role sets, versions.yml key of the chart)
CASES: list[tuple[str, str, str]] = [
    ("kube_prometheus_stack", "kube_prometheus_stack_managed_values", "kube_prometheus_stack.chart"),
    ("gpu_operator", "gpu_operator_managed_values", "gpu_operator.chart"),
    ("nvidia_dra_driver", "nvidia_dra_driver_managed_values", "nvidia_dra_driver.chart"),
    ("metrics_server", "metrics_server_managed_values", "metrics_server.chart"),
    ("prometheus_adapter", "prometheus_adapter_managed_values", "prometheus_adapter.chart"),
    ("kueue", "kueue_managed_values", "kueue.chart"),
    ("kgateway", "kgateway_managed_values", "kgateway.chart"),
    ("inference_extension", "inference_extension_managed_values", "inference_extension.chart"),
    ("kuberay", "kuberay_managed_values", "kuberay.chart"),
    ("cluster_autoscaler", "cluster_autoscaler_managed_values", "cluster_autoscaler.chart"),
    ("cluster_autoscaler", "cluster_autoscaler_kwok_values", "kwok.chart"),
]

# Subchart defaults the parent chart's values.yaml does not show (they live in the subchart's own values.yaml):
# gpu-operator v26.7.0 bundles node-feature-discovery 0.19.0, whose image.repository is
# registry.k8s.io/nfd/node-feature-discovery (charts/node-feature-discovery/values.yaml in the chart archive).
SUBCHART_DEFAULTS: dict[str, dict[str, Any]] = {
    "gpu-operator": {"node-feature-discovery": {"image": {"repository": "registry.k8s.io/nfd/node-feature-discovery",
                                                          "pullPolicy": "IfNotPresent", "tag": None}}},
}


def merged(defaults: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def key_paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Leaf key paths of the role's values; a templated string counts as a leaf."""
    out: list[tuple[str, ...]] = []
    for k, v in values.items():
        if isinstance(v, dict) and v:
            out += key_paths(v, (*prefix, k))
        else:
            out.append((*prefix, k))
    return out


def missing_in(defaults: dict[str, Any], path: tuple[str, ...]) -> str | None:
    node: Any = defaults
    for i, key in enumerate(path):
        if isinstance(node, dict) and key in node:
            node = node[key]
            continue
        if node in ({}, None) and i > 0:
            return None  # free-form map in the chart (e.g. featureGates: {}), any key is accepted
        return ".".join(path[: i + 1])
    return None


def test_key_paths_and_lookup() -> None:
    defaults = {"a": {"b": 1, "free": {}}, "n": None}
    assert key_paths({"a": {"b": 2, "free": {"x": 1}}}) == [("a", "b"), ("a", "free", "x")]
    assert missing_in(defaults, ("a", "b")) is None
    assert missing_in(defaults, ("a", "free", "x")) is None
    assert missing_in(defaults, ("a", "c")) == "a.c"
    assert missing_in(defaults, ("z",)) == "z"
    both = merged({"s": {"keep": 1, "image": {"pullPolicy": "x"}}}, {"s": {"image": {"repository": "r"}}})
    assert both == {"s": {"keep": 1, "image": {"pullPolicy": "x", "repository": "r"}}}


@pytest.mark.parametrize(("role", "var", "chart_key"), CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_role_values_keys_exist_in_pinned_chart_defaults(role: str, var: str, chart_key: str) -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent (developer reference fixtures not mounted)")
    chart = versions.get(chart_key)
    fixture = FIXTURES / chart["name"] / str(chart["version"]) / "values.yaml"
    if not fixture.is_file():
        # kgateway v2.4.3: its values.yaml could not be obtained (stacks.md §5.2); keys follow the 2.4.x Helm reference.
        pytest.skip(f"no values fixture for {chart['name']} {chart['version']} ({fixture} missing)")
    defaults = yaml.load(fixture.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    defaults = merged(defaults, SUBCHART_DEFAULTS.get(chart["name"], {}))
    role_vars = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())
    values = role_vars[var]
    assert isinstance(values, dict) and values, f"{role}: {var} must be a literal mapping of chart values"
    missing = [m for p in key_paths(values) if (m := missing_in(defaults, p))]
    assert not missing, f"{role} sets keys unknown to {chart['name']} {chart['version']}: {missing}"
