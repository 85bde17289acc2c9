#!/usr/bin/python
"""Ansible module: run several requirement verifiers of one cluster concurrently, in one process.

Its documentation is verify.yml beside it."""
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule  # noqa: F401  (AnsiballZ bundles basic and hands over the args)  # pylint: disable=unused-import
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import every  # noqa: F401  (AnsiballZ ships every verifier)  # pylint: disable=unused-import
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.ansible_module import run_verify_module


def main() -> None:
    run_verify_module()


if __name__ == "__main__":
    main()
