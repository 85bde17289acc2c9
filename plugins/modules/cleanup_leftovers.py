#!/usr/bin/python
"""Ansible module: remove the probe objects of earlier runs that were killed before they could clean up."""
from __future__ import annotations

DOCUMENTATION = r"""
module: cleanup_leftovers
short_description: Remove probe objects left on a cluster by earlier aiconform runs that died
description:
  - Finds every object labelled C(app.kubernetes.io/managed-by=aiconform) and C(aiconform.io/run-id) of another
    run than I(run_id) (probe namespaces with everything in them, gang_scheduling's Kueue ClusterQueues and
    ResourceFlavors) and deletes those of runs that are no longer running.
  - A run is running while its C(verify) job renews the Lease C(aiconform-run) in the namespace
    C(aiconform-run-<run id>) (every 10 s, duration 30 s); a run without a Lease, or whose Lease is not renewed
    within its duration, is dead. So a second run on the same cluster is never disturbed, and a run killed
    with SIGKILL (whose own cleanup never ran) is cleaned up by the next run.
  - Each removed object is named in a warning and in I(removed). Failures are reported in I(errors), never as a
    task failure (the verify phase still runs).
version_added: 0.3.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - aiconform.conformance.cluster
options:
  run_id:
    description: Identifier of this run (its own objects are never touched).
    type: str
    required: true
  cleanup_timeout:
    description: Seconds to wait for the deleted objects to disappear.
    type: int
    default: 120
  lease_wait:
    description:
      - Seconds to watch the Lease of an earlier run for a renewal before calling that run dead; by default the
        Lease's own duration plus one poll. Only spent when objects of another run with a Lease exist.
    type: int
attributes:
  check_mode:
    support: full
    details: In check mode nothing is deleted; I(removed) lists what would be.
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Remove probe objects left by earlier runs that did not finish
  aiconform.conformance.cleanup_leftovers:
    run_id: "{{ aiconform_run.id }}"
"""

RETURN = r"""
removed:
  description: The objects deleted, as C(<kind> <name> (run <run id>)).
  returned: always
  type: list
  elements: str
kept:
  description: Objects of earlier runs that are still running (their Lease is renewed), left alone.
  returned: always
  type: list
  elements: str
errors:
  description: What could not be listed or deleted, with the API server's reason.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


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
