"""ai_service_metrics on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,ai_service_metrics``.

The simulator's Prometheus (aiconform/sim/controllers/prometheus.py) selects ServiceMonitors as the Prometheus
Operator does and answers /api/v1/query through the service proxy in the real Prometheus API JSON (the shapes of
the kOps and AICR query outputs in ../shared/fixtures/evidence); the stub pod answers /v1/infer and /metrics as
the verifier's stub.py does. Timeouts are shortened through inventory variables.
"""
from __future__ import annotations

import json

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "ai_service_metrics"
FAST = {"aiconform_ai_service_metrics_collection_timeout": 4, "aiconform_ai_service_metrics_stub_ready_timeout": 15,
        "aiconform_ai_service_metrics_query_interval": 1}


def checks(entry: dict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in entry["checks"]}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_prometheus_collects_exactly_n(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestAIServiceMetrics"
    assert set(checks(entry).values()) == {"pass"}
    col = entry["facts"]["collection"]
    assert col["counter"] == 10 and col["histogram_count"] == 10
    labels = col["series_labels"][0]
    assert labels["job"] == "ai-metrics-stub" and labels["endpoint"] == "http"
    assert labels["conformance_run"] == entry["facts"]["run_label"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_monitor_not_selected_is_not_implemented_until_labelled(lab, tmp_path):
    """kube-prometheus-stack's chart default: only ServiceMonitors labelled release=kube-prometheus-stack."""
    patch = {"spec": {"serviceMonitorSelector": {"matchLabels": {"release": "kube-prometheus-stack"}}}}
    proc = run_tool(lab, "kubectl", "patch", "prometheus", "-n", "monitoring", "kube-prometheus-stack-prometheus",
                    "--type", "merge", "-p", json.dumps(patch))
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "unlabelled").mkdir()
    (tmp_path / "labelled").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "unlabelled", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["MetricsCollected"] == "fail"
    assert "selects only ServiceMonitors labelled release=kube-prometheus-stack" in entry["reasons"][0]
    entry, out = verify_in_process(lab, tmp_path / "labelled", REQ,
                                 {**FAST, "aiconform_ai_service_metrics_scrape_labels": "release=kube-prometheus-stack"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_prometheus_operator_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no monitoring system that discovers workloads" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/apis/monitoring.coreos.com/v1/namespaces/aiconform-ai-service-metrics-[^/]+/servicemonitors$",
                "verb": "create", "status": status})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create servicemonitor" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


QUERY_API = "/api/v1/namespaces/monitoring/services/prometheus-server:80/proxy"


@pytest.mark.parametrize("lab", ["prometheus-annotations"], indirect=True)
@pytest.mark.parametrize("how", ["query_url", "prometheus_service"])
def test_operator_less_prometheus_through_its_query_api_is_implemented(lab, tmp_path, how):
    """No Prometheus Operator CRDs: a query API given in the inventory, the stub discovered through its annotations."""
    where = ({"aiconform_ai_service_metrics_query_url": lab.url + QUERY_API} if how == "query_url"
             else {"aiconform_ai_service_metrics_prometheus_service": "monitoring/prometheus-server:80"})
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, **where})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert set(checks(entry).values()) == {"pass"}
    assert "no Prometheus Operator" in " ".join(c["reason"] for c in entry["checks"])
    labels = entry["facts"]["collection"]["series_labels"][0]
    assert labels["job"] in ("kubernetes-service-endpoints", "kubernetes-pods")
    assert entry["facts"]["stub"]["offered"] == ["prometheus.io/scrape annotations on the Pod and Service"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["prometheus-annotations"], indirect=True)
def test_operator_less_prometheus_that_does_not_scrape_is_not_implemented(lab, tmp_path):
    """The same platform broken: its server's configuration has no annotation-discovery jobs, so it collects nothing."""
    patch = {"spec": {"template": {"metadata": {"annotations": {"sim.aiconform.io/annotation-discovery": "false"}}}}}
    proc = run_tool(lab, "kubectl", "patch", "deployment", "-n", "monitoring", "prometheus-server", "--type", "merge",
                    "-p", json.dumps(patch))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {
        **FAST, "aiconform_ai_service_metrics_prometheus_service": "monitoring/prometheus-server:80"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["MetricsCollected"] == "fail"
    assert "the stub was offered through prometheus.io/scrape annotations" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["prometheus-annotations"], indirect=True)
def test_query_api_that_does_not_answer_is_unknown(lab, tmp_path):
    """The server is down (scaled to zero): its query API cannot answer, so collection cannot be tested."""
    proc = run_tool(lab, "kubectl", "scale", "deployment", "-n", "monitoring", "prometheus-server", "--replicas=0")
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {
        **FAST, "aiconform_ai_service_metrics_prometheus_service": "monitoring/prometheus-server:80"})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "did not answer the query up" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["prometheus-annotations"], indirect=True)
def test_operator_less_without_query_api_is_not_implemented(lab, tmp_path):
    """No Prometheus Operator, and no query API named: nothing aiconform can test the collection through."""
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no Prometheus-compatible query API" in entry["reasons"][0]
    assert "aiconform_ai_service_metrics_query_url" in entry["reasons"][0]
