#!/usr/bin/python
"""Ansible module: verify advanced_inference_ingress (Gateway API Inference Extension, by traffic)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_advanced_inference_ingress
short_description: Verify advanced_inference_ingress by routing OpenAI completions to an InferencePool through a Gateway
description:
  - Checks through discovery that C(inference.networking.k8s.io/v1) InferencePool and the Gateway API are served and
    that the GatewayClass (a Gateway API Inference Extension implementation) is Accepted - I(gateway_class), else the
    one GatewayClass its controller Accepted (mesh waypoint/remote classes aside), else of several the reference stack's
    C(agentgateway) when it is one of them; several others give C(unknown) naming them and I(gateway_class); none
    Accepted gives C(Not Implemented).
  - In a probe namespace of its own it deploys a model-server simulator (OpenAI-compatible, no GPU) with an
    endpoint picker, an InferencePool selecting it, a Gateway and an HTTPRoute whose backendRef is the pool. The
    Gateway must become Programmed and both the HTTPRoute and the InferencePool must report Accepted and
    ResolvedRefs for the Gateway.
  - An in-cluster client then POSTs I(completion_requests) C(/v1/completions) requests through the Gateway; every
    one must be answered 200.
  - GIE's own conformance suite (the requirement's automated test) needs Go and the repository and is not run.
  - Creates a ServiceAccount, Role and RoleBinding for the endpoint picker, so the verifying identity needs to be
    allowed to grant read access to pods and InferencePools in the probe namespace.
  - The verdict is returned as data (C(status), C(reasons), fact C(aiconform_result_advanced_inference_ingress)).
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.advanced_inference_ingress
"""

EXAMPLES = r"""
- name: Verify advanced_inference_ingress against agentgateway
  aiconform.conformance.verify_advanced_inference_ingress:
    run_id: "{{ aiconform_run.id }}"
    gateway_class: agentgateway
"""

RETURN = r"""
status:
  description: Implemented, Not Implemented, unknown or error.
  returned: always
  type: str
reasons:
  description: Why, in sentences a reader can act on.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_advanced_inference_ingress), the full result (checks InferencePoolAPIServed,
    GatewayClassAccepted, GatewayProgrammed, HTTPRouteAccepted, InferencePoolAccepted, CompletionsThroughGateway).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import advanced_inference_ingress  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("advanced_inference_ingress")


if __name__ == "__main__":
    main()
