#!/usr/bin/python
"""Ansible module: reach the cluster and choose this run's requirement set.

Its documentation is cluster_facts.yml beside it."""
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


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
