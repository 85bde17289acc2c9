#!/usr/bin/python
"""Ansible module: verify ai_service_metrics (KAR-0061) like upstream TestAIServiceMetrics."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_ai_service_metrics
short_description: Verify that a monitoring system discovers and collects a workload's metrics, like upstream TestAIServiceMetrics
description:
  - C(MonitoringSystemPresent) needs the Prometheus Operator (ServiceMonitor CRD and at least one Prometheus object), or,
    without it, a Prometheus-compatible query API (I(query_url), or an existing I(prometheus_service)) that answers the
    query C(up) - GKE or Azure managed Prometheus, VictoriaMetrics, an OpenTelemetry-fed Prometheus. A query API named in
    the inventory that does not answer gives C(unknown); neither gives C(Not Implemented).
  - Deploys the stub Pod C(ai-metrics-stub) (a stdlib Python HTTP server from a ConfigMap, image I(stub_image), restricted
    Pod Security Standard) exposing C(ai_conformance_inference_requests_total),
    C(ai_conformance_inference_request_duration_seconds) (histogram) and C(ai_conformance_inference_queue_depth) labelled
    C(conformance_run=<run_id>), and its Service, offered through every discovery means present - C(prometheus.io/scrape)
    annotations on the Pod and Service always; a ServiceMonitor (labelled with I(scrape_labels)) when the Prometheus
    Operator CRD exists; a C(PodMonitoring) (monitoring.googleapis.com) or C(VMServiceScrape)
    (operator.victoriametrics.com) when those CRDs exist.
  - C(StubServesRequests) sends exactly I(request_count) requests to C(/v1/infer) through the API server service proxy.
  - C(MetricsCollected), C(LatencyHistogram), C(QueueDepth) query Prometheus (C(/api/v1/query) through the service proxy
    to I(prometheus_service), or I(query_url)) every I(query_interval) seconds until the counter equals I(request_count),
    for at most I(collection_timeout) seconds. When nothing is collected, the Prometheus objects' ServiceMonitor selectors
    are used to say why (for example a C(release) label the stub's ServiceMonitor lacks).
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.ai_service_metrics
"""

EXAMPLES = r"""
- name: Verify workload metrics collection by kube-prometheus-stack
  aiconform.conformance.verify_ai_service_metrics:
    run_id: "{{ aiconform_run.id }}"

- name: A kube-prometheus-stack that only selects monitors of its release
  aiconform.conformance.verify_ai_service_metrics:
    run_id: "{{ aiconform_run.id }}"
    scrape_labels: release=kube-prometheus-stack
"""

RETURN = r"""
status:
  description: Verdict (C(Implemented), C(Not Implemented), C(unknown), C(error)).
  returned: always
  type: str
  sample: Implemented
reasons:
  description: Why, in one line per finding.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_ai_service_metrics), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import ai_service_metrics  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("ai_service_metrics")


if __name__ == "__main__":
    main()
