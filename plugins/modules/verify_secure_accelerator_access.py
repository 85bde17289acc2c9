#!/usr/bin/python
"""Ansible module: verify secure_accelerator_access (KAR-0049) like upstream TestSecureAcceleratorAccess."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_secure_accelerator_access
short_description: Verify that accelerator access is isolated and mediated by DRA or the device plugin
description:
  - Detects the allocation mechanism like upstream C(-allocation-mode) (C(auto) prefers DRA when the
    DeviceClass exists and a complete current-generation ResourceSlice pool has allocatable devices on a Ready,
    schedulable node, else the device plugin's extended resource C(nvidia.com/gpu)).
  - "Runs probe pods that count the device nodes matching C(/dev/nvidia[0-9]*) and print
    C(RESULT: ACCELERATOR_COUNT=<n>) (plus the device nodes and, when injected, C(nvidia-smi -L))."
  - C(PositiveAccessTest) a pod granted one accelerator sees exactly one; C(NegativeIsolationTest) a pod without
    a request, pinned to the accelerator node, sees none; C(MultiContainerIsolationTest) the granted container
    sees one and its sibling none; C(CrossPodIsolationTest) two pods holding one accelerator each see different
    devices (skipped, with why, when the cluster has fewer than two; the verdict then rests on the three subtests
    above, as upstream's does, and the skip never counts as a pass).
  - C(EnvVarBypassTest) (NVIDIA) - pods that request no accelerator but set C(NVIDIA_VISIBLE_DEVICES=all), one in
    I(probe_image) and one in I(cuda_probe_image) (a CUDA base image, whose own ENV sets the variable), pinned to the
    accelerator node, must see no device; the NVIDIA container toolkit honours the variable for unprivileged pods when
    C(accept-nvidia-visible-devices-envvar-when-unprivileged) is true (GPU Operator toolkit env
    C(ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED)).
  - Pods are deleted and their generated ResourceClaims released between subtests, as upstream does.
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.secure_accelerator_access
"""

EXAMPLES = r"""
- name: Verify secure accelerator access (auto-detected mechanism)
  aiconform.conformance.verify_secure_accelerator_access:
    run_id: "{{ aiconform_run.id }}"

- name: Verify through the device plugin only, with a mirrored probe image
  aiconform.conformance.verify_secure_accelerator_access:
    run_id: "{{ aiconform_run.id }}"
    allocation_mode: device-plugin
    probe_image: registry.example.com/library/ubuntu:22.04
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
  description: C(aiconform_result_secure_accelerator_access), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import secure_accelerator_access  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("secure_accelerator_access")


if __name__ == "__main__":
    main()
