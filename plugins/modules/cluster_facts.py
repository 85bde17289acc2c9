#!/usr/bin/python
"""Ansible module: reach the cluster and choose this run's requirement set."""
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_facts
short_description: Reach a cluster, read its version and choose the AI-conformance requirement set
description:
  - Reads C(/version) and the nodes, picks the requirement set of the cluster's Kubernetes minor (or
    I(kubernetes_version)), and decides which requirements this run verifies.
  - Never fails for cluster problems; it returns C(aiconform_cluster.reachable=false) and the error, so
    the report can still say what happened.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - aiconform.conformance.cluster
options:
  cluster_name:
    description: Name of the cluster in reports (the inventory hostname).
    type: str
    required: true
  kubernetes_version:
    description: Requirement set to use instead of the server's version, e.g. C(v1.35).
    type: str
  requirements:
    description: Verify only these requirement ids (default all of the set).
    type: list
    elements: str
  run_tags:
    description: The run's tags (C(ansible_run_tags)); requirement ids among them narrow the selection.
    type: list
    elements: str
    default: []
  skip_tags:
    description: The run's skipped tags (C(ansible_skip_tags)).
    type: list
    elements: str
    default: []
  simulated:
    description: Set by C(aiconform conformance) when it started the simulated lab; reports say so.
    type: bool
    default: false
  engine:
    description:
      - With O(simulated), what the cluster is; C(simulator) (default) or C(lab) (C(aiconform lab) - real control
        plane, kwok nodes, no real accelerators). Reports name it.
    type: str
    default: ""
    choices: ["", simulator, lab]
  engine_components:
    description:
      - With O(simulated), what decides on the test cluster, one line each (C(real:) name and version,
        C(emulated:) what and why); reports list them.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Reach the cluster and choose the requirement set
  aiconform.conformance.cluster_facts:
    cluster_name: "{{ inventory_hostname }}"
    kubeconfig: "{{ aiconform_kubeconfig }}"
    run_tags: "{{ ansible_run_tags }}"
"""

RETURN = r"""
ansible_facts:
  description: C(aiconform_cluster) (reachable, server_version, kubernetes_version, nodes, api_server,
    tls_verify, simulated, error) and C(aiconform_run) (id, started_at, requirement_set, selected).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    from ansible_collections.aiconform.conformance.plugins.module_utils import deps
    from ansible_collections.aiconform.conformance.plugins.module_utils.kube import CONNECTION_ARGSPEC
    from ansible_collections.aiconform.conformance.plugins.module_utils.preflight import gather, plan

    argument_spec = {
        **CONNECTION_ARGSPEC,
        "cluster_name": {"type": "str", "required": True},
        "kubernetes_version": {"type": "str"},
        "requirements": {"type": "list", "elements": "str"},
        "run_tags": {"type": "list", "elements": "str", "default": []},
        "skip_tags": {"type": "list", "elements": "str", "default": []},
        "simulated": {"type": "bool", "default": False},
        "engine": {"type": "str", "default": "", "choices": ["", "simulator", "lab"]},
        "engine_components": {"type": "list", "elements": "str", "default": []},
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    deps.fail_if_missing(module)
    cluster = gather(module.params)
    try:
        run = plan(cluster, module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), ansible_facts={"aiconform_cluster": cluster})
    module.exit_json(changed=False, ansible_facts={"aiconform_cluster": cluster, "aiconform_run": run})


if __name__ == "__main__":
    main()
