#!/usr/bin/python
"""Ansible module: verify ai_inference (Gateway API weighted splitting and header routing, by traffic)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_ai_inference
short_description: Verify the ai_inference requirement by sending traffic through a Gateway API Gateway
description:
  - Checks through discovery that every C(gateway.networking.k8s.io/v1) kind is served (GatewayClass, Gateway,
    HTTPRoute, GRPCRoute; ReferenceGrant at v1 or v1beta1) and that the GatewayClass is Accepted - I(gateway_class),
    else the one GatewayClass its controller Accepted (mesh waypoint/remote classes aside), else of several the reference
    stack's C(kgateway) when it is one of them; several others give C(unknown) naming them and I(gateway_class); none
    Accepted gives C(Not Implemented). The class used and why is in the C(GatewayClassAccepted) check.
  - In a probe namespace of its own it creates two echo backends, a Gateway that must become Programmed, and an
    HTTPRoute with a header rule (I(header_name) equal to I(header_value), all to the second backend) and a
    weighted rule (I(split_weight) to the first backend, the rest to the second) that must be Accepted with
    ResolvedRefs.
  - An in-cluster client pod then sends I(split_requests) requests without the header and I(header_requests)
    requests with it through the Gateway. Implemented only when every header request reached its backend and
    the first backend's share lies within I(split_tolerance_sigma) binomial standard deviations of its weight.
  - The verdict is returned as data (C(status), C(reasons) and the fact C(aiconform_result_ai_inference));
    cluster problems become status C(error), never a task failure. The probe namespace is always deleted.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.ai_inference
"""

EXAMPLES = r"""
- name: Verify ai_inference against the kgateway class
  aiconform.conformance.verify_ai_inference:
    run_id: "{{ aiconform_run.id }}"
    kubeconfig: ~/.kube/config
    gateway_class: kgateway
  register: ai_inference

- name: Istio, whose Gateway Service is named <gateway>-istio, with a mirrored image
  aiconform.conformance.verify_ai_inference:
    run_id: "{{ aiconform_run.id }}"
    gateway_class: istio
    gateway_address: "{gateway}-istio.{namespace}.svc.cluster.local"
    client_image: registry.example.com/mirror/curl:8.11.1
"""

RETURN = r"""
status:
  description: Implemented, Not Implemented, unknown or error.
  returned: always
  type: str
  sample: Implemented
reasons:
  description: Why, in sentences a reader can act on.
  returned: always
  type: list
  elements: str
ansible_facts:
  description:
    - C(aiconform_result_ai_inference), the full result (status, reasons, checks GatewayAPIResourcesServed,
      GatewayClassAccepted, GatewayProgrammed, HTTPRouteAccepted, WeightedTrafficSplitting, HeaderBasedRouting,
      evidence and the judged facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import ai_inference  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("ai_inference")


if __name__ == "__main__":
    main()
