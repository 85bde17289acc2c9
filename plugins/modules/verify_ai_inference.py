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
options:
  gateway_class:
    description: GatewayClass of the Gateway API implementation to test; empty chooses an Accepted one (see above).
    type: str
    default: ""
  header_name:
    description: Request header of the header-based rule (an OpenAI-style model header).
    type: str
    default: x-model
  header_value:
    description: Value the header rule matches exactly.
    type: str
    default: model-b
  split_weight:
    description: Weight in percent of the first backend in the weighted rule; the second gets the rest.
    type: int
    default: 80
  split_requests:
    description: Requests sent without the header to measure the split.
    type: int
    default: 200
  header_requests:
    description: Requests sent with the header; every one must reach the header rule's backend.
    type: int
    default: 20
  split_tolerance_sigma:
    description:
      - Accepted deviation of the first backend's count from I(split_requests) x I(split_weight), in binomial
        standard deviations (200 requests at 80 % and 4 sigma accept 80 % +/- 11.3 points).
    type: float
    default: 4.0
  max_failed_requests:
    description: Failed requests (no 2xx answer) tolerated in each batch before the check fails.
    type: int
    default: 2
  gateway_address:
    description:
      - Host the client sends requests to, with C({gateway}) and C({namespace}) placeholders, e.g.
        C({gateway}-istio.{namespace}.svc.cluster.local). Empty uses the Gateway's C(status.addresses), else
        C({gateway}.{namespace}.svc.cluster.local).
    type: str
    default: ""
  gateway_timeout:
    description: Seconds for the Gateway to become Accepted and Programmed.
    type: int
    default: 180
  route_timeout:
    description: Seconds for the HTTPRoute to be Accepted with ResolvedRefs (kOps waits 300).
    type: int
    default: 300
  pod_timeout:
    description: Seconds for the echo backends to become Ready and for the client pod to start.
    type: int
    default: 180
  client_timeout:
    description: Seconds the client may take for all its requests once started.
    type: int
    default: 300
  warmup_attempts:
    description: Attempts, one second apart, the client makes for a first 200 before counting responses.
    type: int
    default: 30
  backend_image:
    description: Echo backend image; it must answer C(GET /hostname) with the pod name on port 8080 (agnhost netexec).
    type: str
    default: registry.k8s.io/e2e-test-images/agnhost:2.53
  client_image:
    description: Client image providing C(/bin/sh) and C(curl).
    type: str
    default: docker.io/curlimages/curl:8.11.1
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
