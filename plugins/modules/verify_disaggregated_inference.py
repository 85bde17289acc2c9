#!/usr/bin/python
"""Ansible module: verify disaggregated_inference (prefill/decode in separate pods, one request id in both logs)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_disaggregated_inference
short_description: Verify disaggregated_inference on an installed llm-d, Dynamo or vLLM/SGLang prefill/decode deployment
description:
  - Finds prefill and decode pods by the label selectors I(prefill_selector) and I(decode_selector) (llm-d's
    C(llm-d.ai/role) by default). aiconform does not deploy a disaggregated stack; none found gives C(unknown).
  - Sends I(completion_requests) completions, each with its own request id header I(request_id_header), from a
    client pod in a probe namespace to I(gateway_url) (default a Programmed Gateway with an address in the decode
    pods' namespace), then reads the prefill and decode pods' logs for those ids.
  - Implemented when the requests succeed, prefill and decode are different pods, and at least one request id
    appears in a prefill and in a decode pod's log.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
options:
  prefill_selector:
    description: Label selector of the prefill pods (all namespaces).
    type: str
    default: llm-d.ai/role=prefill
  decode_selector:
    description: Label selector of the decode pods (all namespaces).
    type: str
    default: llm-d.ai/role=decode
  gateway_url:
    description: Completions URL through the deployment's gateway, e.g. C(http://gw.llm-d.svc/v1/completions).
    type: str
    default: ""
  model:
    description: Model to request; empty takes C(--model) or C(vllm serve <model>) from the decode pods.
    type: str
    default: ""
  completion_requests:
    description: Completions to send; all must be answered 2xx.
    type: int
    default: 3
  request_id_header:
    description: Header carrying the request id (vLLM uses C(X-Request-Id) as its request id).
    type: str
    default: x-request-id
  log_tail_lines:
    description: Lines of each prefill/decode container log searched for the ids.
    type: int
    default: 5000
  pod_timeout:
    description: Seconds for the client pod to start.
    type: int
    default: 300
  client_timeout:
    description: Seconds the client may take for its requests.
    type: int
    default: 600
  client_image:
    description: Client image providing C(/bin/sh), C(curl) and C(sed).
    type: str
    default: docker.io/curlimages/curl:8.11.1
"""

EXAMPLES = r"""
- name: Verify disaggregated_inference on llm-d
  aiconform.conformance.verify_disaggregated_inference:
    run_id: "{{ aiconform_run.id }}"
    gateway_url: http://infra-inference-gateway.llm-d.svc.cluster.local/v1/completions
"""

RETURN = r"""
status:
  description: Implemented, Not Implemented, unknown or error.
  returned: always
  type: str
reasons:
  description: Why.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_disaggregated_inference) (checks DisaggregatedDeploymentFound, RequestThroughGateway,
    SeparatePrefillDecodePods, RequestIdInBothLogs).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import disaggregated_inference  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("disaggregated_inference")


if __name__ == "__main__":
    main()
