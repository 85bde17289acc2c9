#!/usr/bin/python
"""Ansible module: verify workload_sandboxing (KAR-0020) like upstream TestWorkloadSandboxing."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_workload_sandboxing
short_description: Verify that workloads can run in a sandbox isolated from the node's kernel
description:
  - Detects the sandboxing mechanism as upstream C(TestWorkloadSandboxing) does, a RuntimeClass whose name or handler
    contains C(gvisor), C(runsc), C(kata), C(sandboxed), C(quark) or C(krun), else the C(agents.x-k8s.io) API (a
    C(Sandbox) resource). O(runtime_class) names one explicitly.
  - Runs an isolation probe in a sandboxed pod and in an unsandboxed control pod pinned to the same node.
    C(SchedulingAndExecution), C(ProcessIsolation) (no host daemons visible), C(KernelAndMemoryIsolation) (no
    C(/dev/mem) or C(/dev/kmem), and a kernel release, C(/proc/version) or boot id different from the control pod's),
    C(FilesystemIsolation) (no node paths) and C(NetworkIsolation) (no node bridges) must pass.
  - No mechanism gives C(Not Implemented) with what was looked for; a RuntimeClass aiconform cannot classify gives
    C(unknown) (manual attestation). The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.workload_sandboxing
"""

EXAMPLES = r"""
- name: Verify workload sandboxing with gVisor
  aiconform.conformance.verify_workload_sandboxing:
    run_id: "{{ aiconform_run.id }}"
    runtime_class: gvisor
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
  description: C(aiconform_result_workload_sandboxing), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import workload_sandboxing  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("workload_sandboxing")


if __name__ == "__main__":
    main()
