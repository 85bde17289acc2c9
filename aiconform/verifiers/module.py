"""The body of every ``verify_<id>`` Ansible module: argspec + run_verifier + facts out."""
from __future__ import annotations

import os
from typing import Any

from aiconform.kube import CONNECTION_ARGSPEC
from aiconform.runner.slots import verify_slot
from aiconform.verifiers.base import load, run_verifier
from aiconform.versions import with_registry

COMMON_ARGSPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "run_id": {"type": "str", "required": True},
    "cleanup_timeout": {"type": "int", "default": 120},
}


def argument_spec(requirement: str) -> dict[str, dict[str, Any]]:
    return {**COMMON_ARGSPEC, **load(requirement).OPTIONS}


def mirrored_options(options: dict[str, Any], spec: dict[str, dict[str, Any]], registry: str) -> dict[str, Any]:
    """Pinned default probe images pulled from the air-gap mirror; images the user set stay as given."""
    out = dict(options)
    for name, value in options.items():
        if name.endswith("image") and isinstance(value, str) and value == spec.get(name, {}).get("default"):
            out[name] = with_registry(value, registry)
    return out


def run_module(requirement: str) -> None:
    from ansible.module_utils.basic import AnsibleModule

    verifier = load(requirement)
    module = AnsibleModule(argument_spec=argument_spec(requirement), supports_check_mode=True)
    params = dict(module.params)
    params["options"] = {k: module.params[k] for k in [*verifier.OPTIONS, "cleanup_timeout"]}
    # playbooks/verify.yml exports aiconform_image_registry as AICONFORM_IMAGE_REGISTRY.
    params["options"] = mirrored_options(params["options"], verifier.OPTIONS,
                                         os.environ.get("AICONFORM_IMAGE_REGISTRY", ""))
    # At most aiconform_verify_concurrency probes per cluster run (see aiconform/runner/slots.py).
    with verify_slot():
        result = run_verifier(requirement, params, check_mode=module.check_mode)
    # The verdict is data, not a task failure: the report phase must still run and say why.
    data = result.to_dict()  # redacted
    module.exit_json(
        changed=False,
        status=result.status.value,
        reasons=data["reasons"],
        ansible_facts={f"aiconform_result_{requirement}": data},
    )
