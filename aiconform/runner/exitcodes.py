"""Exit codes of ``aiconform run`` / ``aiconform conformance`` (also printed by ``--help``)."""
from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # every selected MUST requirement verified Implemented (or a justified conditional N/A) on every cluster
    NOT_IMPLEMENTED = 1  # a selected MUST requirement is Not Implemented / Partially Implemented
    PLAYBOOK_FAILED = 2  # usage error, or the playbook failed for a reason other than an unreachable cluster
    UNDECIDED = 3  # a selected MUST requirement ended in error/unknown (verifier error, timeout, not run)
    UNREACHABLE = 4  # a cluster could not be reached (API server down, bad kubeconfig/credentials)
    INTERRUPTED = 130  # Ctrl-C / SIGTERM


# When several apply (a fleet), the most severe wins: results that are incomplete for reasons outside
# the clusters first, then clusters not reached, then findings, then undecided requirements.
PRECEDENCE = [Exit.INTERRUPTED, Exit.PLAYBOOK_FAILED, Exit.UNREACHABLE, Exit.NOT_IMPLEMENTED, Exit.UNDECIDED, Exit.OK]

HELP = """exit codes:
  0    every selected MUST requirement verified Implemented on every cluster (cluster_autoscaling may
       instead be N/A with a justification, as the cncf validator accepts it)
  1    a selected MUST requirement is Not Implemented (or Partially Implemented) on some cluster
  2    usage error, or the playbook failed (a task failed on a reachable cluster, syntax error, ...)
  3    a selected MUST requirement could not be decided (verifier error, probe timeout, unknown)
  4    a cluster could not be reached
  130  interrupted
  With several clusters the first that applies in the order 130, 2, 4, 1, 3 wins. SHOULD requirements
  never change the exit code. Runs without the verify phase (--phase install) exit 0 when the playbook
  succeeded."""


def worst(codes: list[Exit]) -> Exit:
    present = set(codes)
    return next((c for c in PRECEDENCE if c in present), Exit.OK)
