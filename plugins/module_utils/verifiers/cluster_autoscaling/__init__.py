"""cluster_autoscaling (KAR-0055, conditional MUST), after upstream ``TestAcceleratorClusterAutoscaling``.

For the accelerator node pool selected by ``node_pool_label``: a stable baseline of N nodes with one
accelerator each, one pod per node, a trigger pod that becomes Unschedulable, a new node on which the trigger
runs, and after deleting it the pool back at N for the stability window. Without a node pool configured the
verdict is N/A only when no autoscaler is found (cluster-autoscaler Deployment, cluster-autoscaler-status
ConfigMap, Karpenter NodePools), else unknown.

Autoscalers recognised: Cluster Autoscaler (self-run, or managed such as GKE's, node groups with or without a
minimum of zero, node auto-provisioning), Karpenter (``karpenter.sh`` NodePool/NodeClaim; self-run, or managed: EKS
Auto Mode, AKS node auto-provisioning). The one present is used; the inventory chooses when several are.
A pool scaling from zero passes the trigger step when the autoscaler records its scale-up for the pod.
Where the GPUs are DRA-only (no extended resource on the pool's nodes), the probe pods claim one device of the
DeviceClass through a ResourceClaimTemplate and the trigger is Unschedulable for its claim.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "cluster_autoscaling"
TEST_NAME = "TestAcceleratorClusterAutoscaling"
# What the probe holds while it runs (verifiers/holdings.py): baseline pods fill the pool's GPUs; others' pending
# pods would grow it, and their pods on its new node keep it from scaling down.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "exclusive",
                         "autoscaler_pool": "exclusive"}

# The pods only hold an accelerator (image pinned in versions.yml verifier_probes).
DEFAULT_IMAGE = probe_image("pause")

# Said above its variables in the sample inventory (aiconform/verifier_options.py).
SAMPLE_NOTE = """\
Unset node pool: N/A only when no autoscaler exists (cluster-autoscaler Deployment, cluster-autoscaler-status
ConfigMap, karpenter.sh NodePools), otherwise unknown. Never Implemented without the flow passing.
Recognised: Cluster Autoscaler (self-run or managed as on GKE, node groups with min 0 included), Karpenter (self-run,
EKS Auto Mode, AKS node auto-provisioning). A pool scaling from zero needs the autoscaler's scale-up event on the
trigger pod (TriggeredScaleUp / Nominated). The kwok provider taints every node it creates
kwok-provider=true:NoSchedule unless its nodes.skipTaint (cluster_autoscaler_kwok_skip_taint: true); with the
cluster_autoscaler role's kwok lab, add that toleration to tolerations.
"""

OPTIONS: dict[str, dict[str, Any]] = {
    "node_pool_label": {
        "type": "str",
        "description": [('Label C(key=value) selecting the accelerator node pool (upstream '
                         'C(-autoscaler-node-pool-label)).')],
        "sample": ('key=value of the accelerator pool, e.g. kwok-nodegroup=gpu-a or '
                   'karpenter.sh/nodepool=<NodePool>'),
    },  # key=value (upstream -autoscaler-node-pool-label)
    # which autoscaler grows the pool: auto = the one detected (several → unknown until set)
    "autoscaler": {
        "type": "str", "default": "auto", "choices": ["auto", "cluster-autoscaler", "karpenter"],
        "description": [
            'Which autoscaler grows the pool. C(auto) uses the one detected; set it when several are present.',
            ('Managed node auto-provisioning counts as its engine - GKE as C(cluster-autoscaler), EKS Auto Mode '
             'and AKS as C(karpenter).'),
        ],
        "sample": 'auto | cluster-autoscaler | karpenter (set when both run)',
    },
    "accelerator_resource": {
        "type": "str", "default": "nvidia.com/gpu",
        "description": ['Extended resource each probe pod requests (one per pool node).'],
    },
    # DRA-only accelerators: the DeviceClass the probe pods claim ("" = used when the pool has no allocatable
    # accelerator_resource and DRA is served: the DeviceClass of accelerator_resource's vendor)
    "device_class": {
        "type": "str", "default": "",
        "description": [
            ('DeviceClass of a DRA-only accelerator - each probe pod claims one device of it through a '
             "ResourceClaimTemplate, pool nodes count the class's devices their ResourceSlices publish, and the "
             "trigger must be Unschedulable with the scheduler's C(cannot allocate all claims)."),
            ("Empty means DRA only when the pool's nodes (an empty pool - all nodes) have no allocatable "
             "I(accelerator_resource) and DRA is served, then with the DeviceClass of that resource's vendor "
             '(C(gpu.nvidia.com)).'),
        ],
        "sample": 'DRA-only GPUs: DeviceClass to claim ("" = gpu.nvidia.com when the pool has no nvidia.com/gpu)',
    },
    "pending_timeout": {
        "type": "int", "default": 120,
        "description": [('Seconds for baseline pods to run and for the trigger pod to be reported Unschedulable '
                         '(upstream 2m).')],
        "sample": 'seconds (upstream 2m)',
    },
    "scale_up_timeout": {
        "type": "int", "default": 1200,
        "description": ['Seconds for the trigger pod to run on a new node (upstream 20m).'],
        "sample": 'seconds (upstream 20m)',
    },
    "scale_down_timeout": {
        "type": "int", "default": 1800,
        "description": ['Seconds for the pool to return to its baseline size (upstream 30m).'],
        "sample": 'seconds (upstream 30m)',
    },
    "stability_window": {
        "type": "int", "default": 30,
        "description": ['Seconds the pool must stay unchanged before and after (upstream 30s).'],
        "sample": 'seconds (upstream 30s)',
    },
    "tolerations": {
        "type": "list", "elements": "dict", "default": [],
        "description": [('Extra tolerations for the probe pods (e.g. C(kwok-provider) or Karpenter NodePool '
                         'taints).')],
        "sample": 'extra, e.g. [{key: kwok-provider, operator: Exists, effect: NoSchedule}]',
    },
    "image": {
        "type": "str", "default": DEFAULT_IMAGE,
        "description": ['Image of the probe pods (they only hold the accelerator).'],
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
