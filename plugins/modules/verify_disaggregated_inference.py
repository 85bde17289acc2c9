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
  - aiconform.conformance.verifier_options.disaggregated_inference
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
