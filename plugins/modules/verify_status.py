#!/usr/bin/python
"""Documentation of the verify_status action plugin (the code is in plugins/action/)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_status
short_description: Collect the verdicts of an async aiconform.conformance.verify job as they come
description:
  - With I(index=i), returns the i-th verdict of the job to come (0-based); a loop over
    C(range(job.requirements | length)) therefore reports each requirement as soon as its verifier finishes, in
    finish order. With I(requirement), waits for that requirement's verdict.
  - Sets the fact C(aiconform_result_<id>) and returns C(requirement), C(status), C(reasons).
  - Runs on the controller (action plugin) and, for a local connection, reads the job's progress and result
    files directly instead of starting an C(async_status) process per poll. Other connections poll
    C(async_status), and verdicts arrive when the whole job ends.
  - A verifier that ends without a result (the job was killed, timed out or crashed) gives an C(error)
    result with the reason, so the report still says what happened. Invalid verifier options fail the task.
version_added: 0.2.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  job:
    description: The registered result of the C(async)/C(poll=0) M(aiconform.conformance.verify) task.
    type: dict
    required: true
  index:
    description: The n-th verdict to come (0-based). Exactly one of I(index) and I(requirement).
    type: int
  requirement:
    description: The requirement id to wait for. Exactly one of I(index) and I(requirement).
    type: str
  timeout:
    description:
      - Seconds from the job's start after which a missing verdict is reported as an C(error)
        (C(aiconform_verify_timeout)); counted from the start so a whole loop never waits longer.
    type: int
    default: 5400
  poll_interval:
    description: Seconds between polls; default 1 for a local connection, else 2.
    type: float
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Collect the verdicts as they come
  aiconform.conformance.verify_status:
    job: "{{ aiconform_verify_job }}"
    index: "{{ item }}"
  loop: "{{ range(aiconform_verify_job.requirements | length) | list }}"

- name: Wait for one requirement
  aiconform.conformance.verify_status:
    job: "{{ aiconform_verify_job }}"
    requirement: gang_scheduling
"""

RETURN = r"""
requirement:
  description: The requirement whose verdict this is.
  returned: success
  type: str
  sample: gang_scheduling
status:
  description: The requirement's verdict.
  returned: success
  type: str
  sample: Implemented
reasons:
  description: Why, in one line per finding.
  returned: success
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_<requirement>), the full redacted result.
  returned: success
  type: dict
"""
