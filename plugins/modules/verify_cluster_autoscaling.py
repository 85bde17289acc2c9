#!/usr/bin/python
"""Ansible module: verify cluster_autoscaling (KAR-0055) like upstream TestAcceleratorClusterAutoscaling."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_cluster_autoscaling
short_description: Verify accelerator node-pool autoscaling like upstream TestAcceleratorClusterAutoscaling
description:
  - Detects the platform's autoscaler and records its status as evidence. Cluster Autoscaler - a Deployment named or
    labelled C(cluster-autoscaler), or only the C(cluster-autoscaler-status) ConfigMap when the provider runs it (GKE
    autoscaler and node auto-provisioning). Karpenter - C(karpenter.sh) NodePools, with a C(karpenter) Deployment or
    run by the provider (EKS Auto Mode, AKS node auto-provisioning; told apart by the NodePools' NodeClass group).
  - The autoscaler used is I(autoscaler), else the only one detected, else the one whose NodePool labels its nodes
    with I(node_pool_label); when several remain the verdict is C(unknown) listing them.
  - Without I(node_pool_label) the verdict is C(N/A) only when no autoscaler was found (the note says what was
    looked for), else C(unknown); never C(Implemented).
  - With I(node_pool_label) C(key=value), C(StableBaseline) needs N Ready pool nodes with exactly one allocatable
    I(accelerator_resource) each, unchanged for I(stability_window) seconds, and one baseline pod per node (required
    hostname anti-affinity, a PodDisruptionBudget). In C(TriggerPodUnschedulable) one more pod must be reported
    Unschedulable for lack of the resource within I(pending_timeout); when the pool has no node (it scales from zero) the
    scheduler cannot name the resource, so the pod must instead get the autoscaler's scale-up event
    (C(TriggeredScaleUp) from Cluster Autoscaler, C(Nominated) from Karpenter). In C(ScaleUpOnNewNode) it must run on a node
    that was not in the baseline within I(scale_up_timeout). In C(ScaleDownToBaseline), after deleting it, the pool must
    return to N nodes within I(scale_down_timeout) and stay there for I(stability_window).
  - GPUs published only through DRA (no extended resource) are claimed instead, see I(device_class); a missing
    DeviceClass gives C(unknown) naming the variable.
  - Pod events (C(TriggeredScaleUp), C(NotTriggerScaleUp), C(Nominated), Karpenter's C(FailedScheduling)), the
    Karpenter NodeClaim of the new node and the autoscaler status are recorded as evidence.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.cluster_autoscaling
"""

EXAMPLES = r"""
- name: Verify autoscaling of the GPU node pool
  aiconform.conformance.verify_cluster_autoscaling:
    run_id: "{{ aiconform_run.id }}"
    node_pool_label: kwok-nodegroup=gpu-a
    tolerations:
      - {key: kwok-provider, operator: Exists, effect: NoSchedule}
"""

RETURN = r"""
status:
  description: Verdict (C(Implemented), C(Not Implemented), C(N/A), C(unknown), C(error)).
  returned: always
  type: str
reasons:
  description: Why, one line per finding.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_cluster_autoscaling), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import cluster_autoscaling  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("cluster_autoscaling")


if __name__ == "__main__":
    main()
