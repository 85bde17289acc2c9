#!/usr/bin/python
"""Ansible module: verify robust_controller (KAR-0063) like upstream TestRobustCRDControllerOperation."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_robust_controller
short_description: Verify an AI operator's pods, CRDs, webhook and reconciliation, like upstream TestRobustCRDControllerOperation
description:
  - With I(operator=auto) the operator is detected - KubeRay or Kubeflow Trainer, whichever has its CRDs or operator
    pods on the cluster, and is named in the verdict. Both present and complete gives C(unknown) naming them and
    I(operator); neither, but CRDs of another AI operator (Dynamo, KServe, ...) gives C(unknown) naming the
    I(operator=generic) options; nothing gives C(Not Implemented) listing what was looked for.
  - I(operator=generic) tests any operator - I(operator_crd) (a namespaced CRD), I(operator_selector) (its pods), and
    I(operator_valid_resource) / I(operator_invalid_resource) (manifests of the CRD's kind; namespace filled in).
  - C(OperatorPodsRunning) waits up to I(operator_ready_timeout) seconds for the operator pods (I(operator_selector) in
    I(operator_namespace), else in any namespace) to be Running and Ready, and records the operator Deployment's conditions.
  - C(CRDRegistered) needs the operator's CRDs C(Established) (KubeRay C(rayclusters.ray.io), C(rayjobs.ray.io),
    C(rayservices.ray.io); Kubeflow Trainer C(trainjobs.trainer.kubeflow.org); generic I(operator_crd)).
  - C(WebhookOperational) needs a ValidatingWebhookConfiguration whose rules cover the CRD (CREATE) with a non-empty
    C(caBundle), served by the operator's own Service (in the operator's namespace, selecting the operator's pods).
    Another component's webhook (Gatekeeper's rules for every group, Kueue's C(vraycluster.kb.io)) does not count.
    The KubeRay Helm chart ships none, so a default Helm install is C(Not Implemented).
  - C(WebhookRejectsInvalidCR) sends an invalid custom resource with server-side dry run (KubeRay two worker groups named
    C(group1); Trainer C(runtimeRef.name does-not-exist-runtime); generic I(operator_invalid_resource)); the error must
    say C(denied the request) and name one of the operator's own webhooks.
  - C(ControllerReconcilesCR) creates a small valid resource (a RayCluster with a head and one worker; a TrainJob on
    I(operator_runtime_name); generic I(operator_valid_resource)) that must reach C(status.state ready) with its head pod
    and head Service (RayCluster), C(Complete=True) (TrainJob), or a True C(Ready)/C(Available)/C(Complete)/C(Succeeded)/
    C(Running) condition or such a C(status.state)/C(status.phase) (generic) within I(operator_reconcile_timeout)
    seconds. Children created but never ready gives C(unknown).
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.robust_controller
"""

EXAMPLES = r"""
- name: Verify KubeRay (operator, CRDs, webhook, RayCluster reconcile)
  aiconform.conformance.verify_robust_controller:
    run_id: "{{ aiconform_run.id }}"

- name: Verify NVIDIA Dynamo with the generic profile
  aiconform.conformance.verify_robust_controller:
    run_id: "{{ aiconform_run.id }}"
    operator: generic
    operator_crd: dynamographdeployments.nvidia.com
    operator_selector: app.kubernetes.io/instance=dynamo-platform
    operator_valid_resource: "{{ lookup('file', 'dgd-valid.yaml') | from_yaml }}"
    operator_invalid_resource: {metadata: {name: dgd-invalid}, spec: {services: {}}}

- name: Verify Kubeflow Trainer as the upstream test does
  aiconform.conformance.verify_robust_controller:
    run_id: "{{ aiconform_run.id }}"
    operator: kubeflow-trainer
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
  description: C(aiconform_result_robust_controller), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import robust_controller  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("robust_controller")


if __name__ == "__main__":
    main()
