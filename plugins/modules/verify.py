#!/usr/bin/python
"""Ansible module: run several requirement verifiers of one cluster concurrently, in one process."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify
short_description: Run the selected requirement verifiers of a cluster concurrently
description:
  - Runs each requirement's verifier (the same code as the C(verify_<id>) modules) in one process, at most
    I(concurrency) probes at a time, so the verify phase takes about as long as the slowest probe and a cluster
    costs one Python process instead of one per requirement.
  - Each requirement's options are checked against that verifier's argument spec before any probe starts;
    an invalid or unknown option fails the task and nothing is created.
  - Meant to be started with C(async) and C(poll=0) and awaited with M(aiconform.conformance.verify_status),
    which reports each verdict as soon as its verifier finishes (see C(playbooks/verify.yml)).
  - On SIGTERM every probe stops at its next wait and removes its namespace.
  - Verdicts are data (C(statuses), facts), never a task failure.
  - Runs through an action plugin of the same name, which gives the module a private I(progress_dir) when the
    host's connection is local.
version_added: 0.2.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.RUN
options:
  requirements:
    description:
      - Requirement id to that verifier's options (as for the C(verify_<id>) module; C(null) or absent options
        take their defaults). C(playbooks/verify_plan/*.yml) build this from the inventory variables
        C(aiconform_<id>_<option>).
    type: dict
    required: true
  concurrency:
    description: At most this many probes run at a time (C(aiconform_verify_concurrency)).
    type: int
    default: 8
  progress_dir:
    description:
      - Directory where each requirement's result is also written, as C(<id>.json), as soon as it is known.
      - Set by the action plugin (a private temporary directory); the module never creates it.
    type: path
attributes:
  action:
    support: full
  async:
    support: full
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: In check mode no probe workload is created and every verdict is C(unknown).
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Probes run in namespaces of their own that are deleted afterwards; the cluster is left as found.
"""

EXAMPLES = r"""
- name: Start the verifiers of two requirements
  aiconform.conformance.verify:
    run_id: "{{ aiconform_run.id }}"
    requirements:
      gang_scheduling: {negative_window: 30}
      dra_support: {}
    concurrency: 4
  async: 5400
  poll: 0
  register: verify_job

- name: Report each requirement as soon as its verifier finishes
  aiconform.conformance.verify_status:
    job: "{{ verify_job }}"
    index: "{{ item }}"
  loop: "{{ range(verify_job.requirements | length) | list }}"

- name: Or simply wait for all of them in one task
  aiconform.conformance.verify:
    run_id: manual
    requirements: {robust_controller: {}}
"""

RETURN = r"""
completed:
  description: The requirement ids in the order their verifiers finished.
  returned: success
  type: list
  elements: str
started_at:
  description: When the job was started (epoch seconds; added by the action plugin).
  returned: always
  type: float
statuses:
  description: Requirement id to its verdict (C(Implemented), C(Not Implemented), C(unknown), C(error), ...).
  returned: success
  type: dict
  sample: {gang_scheduling: Implemented, dra_support: Implemented}
requirements:
  description: The requirement ids started, in order (added by the action plugin, also for async starts).
  returned: always
  type: list
  elements: str
progress_dir:
  description: The progress directory given to the module (local connections), or null.
  returned: always
  type: str
ansible_facts:
  description: C(aiconform_result_<id>) for every requirement, the full redacted result (checks, evidence, facts).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)  # pylint: disable=unused-import
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import every  # noqa: E402,F401  (AnsiballZ ships every verifier)  # pylint: disable=unused-import
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.ansible_module import run_verify_module  # noqa: E402


def main() -> None:
    run_verify_module()


if __name__ == "__main__":
    main()
