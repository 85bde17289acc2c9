"""Bodies of the Ansible modules: ``verify_<id>`` (one verifier) and ``verify`` (several, concurrently)."""
from __future__ import annotations

import os
from typing import Any

from .. import deps
from ..kube import CONNECTION_ARGSPEC
from .holdings import ClusterHolders
from .leftovers import RunLease
from .orchestrate import COMMON_OPTIONS, mirrored_options, run_all, validate_plans
from .runtime import argspec, load, run_verifier

COMMON_ARGSPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "run_id": {"type": "str", "required": True},
    **COMMON_OPTIONS,
}

VERIFY_ARGSPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "run_id": {"type": "str", "required": True},
    "requirements": {"type": "dict", "required": True},
    "concurrency": {"type": "int", "default": 8},
    "progress_dir": {"type": "path"},
    **COMMON_OPTIONS,
}

# playbooks/verify.yml exports aiconform_image_registry as AICONFORM_IMAGE_REGISTRY.
REGISTRY_ENV = "AICONFORM_IMAGE_REGISTRY"


def argument_spec(requirement: str) -> dict[str, dict[str, Any]]:
    return {**COMMON_ARGSPEC, **argspec(load(requirement).OPTIONS)}


def run_module(requirement: str) -> None:
    """``verify_<id>``: one requirement, synchronously or as an async job of its own."""
    from ansible.module_utils.basic import AnsibleModule

    verifier = load(requirement)
    module = AnsibleModule(argument_spec=argument_spec(requirement), supports_check_mode=True)
    deps.fail_if_missing(module)
    params = dict(module.params)
    options = {k: module.params[k] for k in [*verifier.OPTIONS, *COMMON_OPTIONS]}
    params["options"] = mirrored_options(options, verifier.OPTIONS, os.environ.get(REGISTRY_ENV, ""))
    result = run_verifier(requirement, params, check_mode=module.check_mode)
    # The verdict is data, not a task failure: the report phase must still run and say why.
    data = result.to_dict()  # redacted
    module.exit_json(
        changed=False,
        status=result.status.value,
        reasons=data["reasons"],
        ansible_facts={f"aiconform_result_{requirement}": data},
    )


def run_verify_module() -> None:
    """``verify``: every planned requirement of one cluster, concurrently, in this one process."""
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=VERIFY_ARGSPEC, supports_check_mode=True)
    deps.fail_if_missing(module)
    p = module.params
    if p["concurrency"] < 1:
        module.fail_json(msg=f"concurrency must be at least 1 (aiconform_verify_concurrency), got {p['concurrency']}")
    plans, errors = validate_plans(p["requirements"], {"cleanup_timeout": p["cleanup_timeout"]})
    if errors:
        module.fail_json(msg="invalid verifier options: " + "; ".join(errors), errors=errors)
    connection = {k: p[k] for k in CONNECTION_ARGSPEC}
    holders = ClusterHolders(connection, p["run_id"])
    # While the probes run, a renewed Lease tells a later run's cleanup_leftovers that this run is alive.
    lease = None if module.check_mode or not plans else RunLease(connection, p["run_id"]).start()
    try:
        results = run_all(plans, connection, run_id=p["run_id"], concurrency=p["concurrency"],
                          registry=os.environ.get(REGISTRY_ENV, ""), progress_dir=p["progress_dir"],
                          check_mode=module.check_mode, holders=holders)
    finally:
        holders.close()
        if lease is not None:
            lease.stop()
    # Verdicts are data, not task failures (the report phase must still run and say why).
    module.exit_json(
        changed=False,
        statuses={rid: data["status"] for rid, data in sorted(results.items())},
        completed=list(results),  # in the order the verifiers finished (verify_status index mode)
        ansible_facts={f"aiconform_result_{rid}": data for rid, data in results.items()},
    )
