#!/usr/bin/python
"""Documentation of the verify_status action plugin (the code is in plugins/action/)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_status
short_description: Wait for one requirement's verdict from an async aiconform.conformance.verify job
description:
  - Returns C(aiconform_result_<requirement>) as soon as that verifier of the job has finished, while the
    job's other verifiers may still run; used in a loop over the job's C(requirements).
  - Runs on the controller (action plugin) and, for a local connection, reads the job's progress and result
    files directly instead of starting an C(async_status) process per poll. Other connections poll
    C(async_status), and results arrive when the whole job ends.
  - A verifier that ends without a result (the job was killed, timed out or crashed) gives an C(error)
    result with the reason, so the report still says what happened. Invalid verifier options fail the task.
version_added: 0.2.0
author: aiconform developers
options:
  job:
    description: The registered result of the C(async)/C(poll=0) M(aiconform.conformance.verify) task.
    type: dict
    required: true
  requirement:
    description: The requirement id to wait for.
    type: str
    required: true
  timeout:
    description: Seconds to wait before giving an C(error) result (C(aiconform_verify_timeout)).
    type: int
    default: 5400
  poll_interval:
    description: Seconds between polls; default 1 for a local connection, else 2.
    type: float
attributes:
  action:
    support: full
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Wait for each requirement's verdict
  aiconform.conformance.verify_status:
    job: "{{ aiconform_verify_job }}"
    requirement: "{{ item }}"
  loop: "{{ aiconform_verify_job.requirements }}"
"""

RETURN = r"""
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
