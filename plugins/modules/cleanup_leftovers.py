#!/usr/bin/python
"""Ansible module: remove the probe objects of earlier runs that were killed before they could clean up.

Its documentation is cleanup_leftovers.yml beside it."""
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    from ansible_collections.aiconform.conformance.plugins.module_utils import deps
    from ansible_collections.aiconform.conformance.plugins.module_utils.kube import CONNECTION_ARGSPEC
    from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.leftovers import (
        dead_runs_objects,
        sweep,
    )

    module = AnsibleModule(argument_spec={
        **CONNECTION_ARGSPEC,
        "run_id": {"type": "str", "required": True},
        "cleanup_timeout": {"type": "int", "default": 120},
        "lease_wait": {"type": "int"},
    }, supports_check_mode=True)
    deps.fail_if_missing(module)
    p = module.params
    connection = {k: p[k] for k in CONNECTION_ARGSPEC}
    if module.check_mode:
        out = dead_runs_objects(connection, p["run_id"], lease_wait=p["lease_wait"])
    else:
        out = sweep(connection, p["run_id"], cleanup_timeout=float(p["cleanup_timeout"]), lease_wait=p["lease_wait"])
    if out["removed"]:
        verb = "would remove" if module.check_mode else "removed"
        module.warn(f"{verb} {len(out['removed'])} probe object(s) left by earlier run(s) that did not finish: "
                    + ", ".join(out["removed"]))
    for error in out["errors"]:
        module.warn(f"leftover cleanup: {error}")
    module.exit_json(changed=bool(out["removed"]), **out)


if __name__ == "__main__":
    main()
