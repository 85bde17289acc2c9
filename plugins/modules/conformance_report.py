#!/usr/bin/python
"""Documentation of the conformance_report action plugin (the code is in plugins/action/)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: conformance_report
short_description: Write the AI-conformance run directory from the verifiers' facts
description:
  - Collects every C(aiconform_result_<id>) fact of the host, C(aiconform_cluster), C(aiconform_platform)
    and C(aiconform_run), and writes C(<reports_dir>/<cluster>/<UTC time>/) with C(results.json),
    C(PRODUCT.yaml), C(README.md), C(report.html), C(junit.xml), C(e2e.log) and C(evidence/);
    C(<reports_dir>/<cluster>/latest) points at the newest run.
  - Requirements of the set without a result are reported as not verified in this run.
  - Runs on the controller (action plugin); the C(conformance_summary) callback prints the returned
    I(summary) at the end of the play.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  reports_dir:
    description:
      - Where run directories go. Default C(aiconform_reports_dir); when that is unset too, C(reports/) at the
        repository root when the collection is a checkout, C(reports/) in the current working directory when it
        is an installed collection (never inside the collection, which is read-only in an execution
        environment), and C(<playbook_dir>/reports) for a playbook outside the collection.
    type: path
  fail_on_errors:
    description: Fail the task when the report has validation errors (PRODUCT.yaml would be rejected).
    type: bool
    default: false
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: none
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Each run writes a new run directory of reports.
"""

EXAMPLES = r"""
- name: Write the conformance report
  aiconform.conformance.conformance_report:
    reports_dir: /srv/aiconform/reports
"""

RETURN = r"""
run_dir:
  description: The run directory written.
  returned: success
  type: str
  sample: /work/reports/lab-a/20261127T041500Z
cluster:
  description: Cluster name (directory under I(reports_dir)).
  returned: success
  type: str
set_version:
  description: Requirement set the report uses.
  returned: success
  type: str
  sample: v1.35
summary:
  description: One row per requirement of the set.
  returned: success
  type: list
  elements: dict
  sample: [{"id": "gang_scheduling", "level": "MUST", "status": "Implemented", "product_status": "Implemented",
            "duration_s": 12.3, "reason": "all pods of the gang admitted together",
            "notes": "all pods of the gang admitted together"}]
validation:
  description: C(ERROR:)/C(WARNING:) lines of the report (platform metadata and PRODUCT.yaml validation).
  returned: success
  type: list
  elements: str
simulated:
  description: Whether the cluster was the simulator.
  returned: success
  type: bool
"""
