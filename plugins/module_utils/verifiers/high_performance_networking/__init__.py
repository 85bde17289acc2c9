"""high_performance_networking (SHOULD from v1.36, KAR-0010): secondary network interfaces, discoverable and
attachable, preferably through DRA (e.g. DRANET).

HMT/AT: (1) a pod has secondary interfaces; (2) the published characteristics can be queried; (3) workloads
land only on nodes that have the interface; (4) two pods transfer data over it. aiconform finds the mechanism
(network DRA ResourceSlices, Multus NetworkAttachmentDefinitions, the SR-IOV operator API), attaches a
listener pod to it and checks its interfaces and placement, then a sender pod (on another capable node
unless there is only one) sends ``transfer_bytes`` bytes with the run's marker to the listener's secondary
address, and the listener reports what arrived on which interface/address.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "high_performance_networking"
TEST_NAME = "TestHighPerformanceNetworking"
# What the probe holds while it runs (verifiers/holdings.py): listener and sender pods (NICs, not accelerators).
HOLDS: dict[str, str] = {"node_capacity": "shared"}
PROBE_IMAGE = probe_image("busybox")

# Said above its variables in the sample inventory (aiconform/verifier_options.py).
SAMPLE_NOTE = """\
Without DRANET/network DRA slices, Multus or SR-IOV the verdict is unknown. A listener pod and a sender pod
(another capable node unless there is only one) exchange a payload with the run's marker over their secondary
addresses with busybox nc; Implemented when all four checks pass (Multus: unknown, placement is not checkable).
"""

OPTIONS: dict[str, dict[str, Any]] = {
    "device_class": {
        "type": "str", "default": "",
        "description": [('DeviceClass of the network devices; empty picks one whose selectors name a network '
                         'driver found.')],
        "sample": 'empty: a DeviceClass naming a network driver found',
    },
    "network_attachment": {
        "type": "str", "default": "",
        "description": [('Multus network (C(namespace/name)) for the probe when no DRA network device exists; '
                         'empty picks the first.')],
        "sample": 'Multus namespace/name; empty: the first found',
    },
    "network_drivers": {
        "type": "list", "elements": "str", "default": ["dra.net", "sriovnetwork.k8snetworkplumbingwg.io"],
        "description": [('DRA driver names treated as network drivers (besides names containing '
                         'net/network/sriov/rdma).')],
    },
    "pod_timeout": {
        "type": "int", "default": 180,
        "description": ['Seconds for each probe pod (listener, sender) to run and list its interfaces.'],
        "sample": 'seconds for each probe pod to list its interfaces',
    },
    "transfer_bytes": {
        "type": "int", "default": 65536,
        "description": ["Bytes the sender sends (a first line with the run's marker, then padding)."],
        "sample": 'payload the sender sends (marker line + padding)',
    },
    "transfer_port": {
        "type": "int", "default": 5201,
        "description": ['TCP port the listener binds on its secondary address.'],
        "sample": 'TCP port the listener binds on its secondary address',
    },
    "transfer_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for the payload to arrive once the sender runs.'],
        "sample": 'seconds for the payload to arrive once the sender runs',
    },
    "image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Probe image providing C(/bin/sh), C(ip), C(nc), C(timeout) and C(md5sum).'],
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
