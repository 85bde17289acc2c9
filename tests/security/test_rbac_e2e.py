"""The shipped verify role (rbac/verify.yaml) is enough, and only just: the simulator enforces it.

One admin run and one run as the ServiceAccount (token from the simulator's RBAC authorizer, rules of
the committed bundle) go side by side on two simulators of the ``conformant`` scenario. Every verifier
must reach the admin run's verdict; the admin run's request log must regenerate the committed bundle.
Then a role without one rule makes the verifier that needs it report a Forbidden error, and only it.

When verifiers change their calls: ``AICONFORM_UPDATE_RBAC=1 pytest tests/security/test_rbac_e2e.py``
rewrites rbac/verify.yaml from the admin run (then review the diff and rbac/README.md).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from _runs import finish, issue_token, start_conformance
from helpers.sim import SimHandle

from aiconform import PROJECT_ROOT
from aiconform.rbac import load_rules
from aiconform.rbac_cli import generate

pytestmark = pytest.mark.e2e
BUNDLE = PROJECT_ROOT / "rbac" / "verify.yaml"
SA = "system:serviceaccount:aiconform-system:aiconform-verify"
# Verdicts that depend on timing under load (a 120 s utilization window on a shared CI machine), not on
# access: for these the ServiceAccount run must make no denied call, but its verdict may differ.
TIMING_SENSITIVE = {"accelerator_metrics": "workload-driven utilization change within a fixed window"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("rbac")
    admin_sim = SimHandle("conformant", workdir=tmp / "sim-admin")
    sa_sim = SimHandle("conformant", workdir=tmp / "sim-sa")
    try:
        token = issue_token(sa_sim, load_rules(BUNDLE.read_text()))
        procs = [start_conformance(admin_sim, tmp / "admin", {}),
                 start_conformance(sa_sim, tmp / "sa", {}, token=token)]
        admin, sa = finish(procs[0], tmp / "admin"), finish(procs[1], tmp / "sa")
        yield {"admin": admin, "sa": sa, "admin_log": admin_sim.admin("/_sim/requests?log=1")["log"],
               "sa_log": sa_sim.admin("/_sim/requests?log=1")["log"]}
    finally:
        admin_sim.stop()
        sa_sim.stop()


def test_every_verifier_reaches_the_admin_verdict_with_the_shipped_role(runs):
    admin, sa_run = runs["admin"][0], runs["sa"][0]
    verified = {k: v["status"] for k, v in admin.items() if v["status"] != "unknown" and k not in TIMING_SENSITIVE}
    assert len(verified) >= 5, verified
    assert {k: sa_run[k]["status"] for k in verified} == verified, {k: sa_run[k]["reasons"] for k in verified}
    assert not [r for v in sa_run.values() for r in v["reasons"] if "forbidden" in r.lower()]
    sa_log = runs["sa_log"]
    assert sa_log and {e["user"] for e in sa_log} == {SA}, "some request did not use the ServiceAccount token"
    denied = [f"{e['method']} {e['path']}" for e in sa_log if not e["allowed"]]
    assert not denied, denied


def test_bundle_is_regenerated_identically_from_a_fresh_run(runs):
    regenerated = generate(runs["admin_log"])
    if os.environ.get("AICONFORM_UPDATE_RBAC") == "1":
        BUNDLE.write_text(regenerated)
    assert regenerated == BUNDLE.read_text(), (
        "rbac/verify.yaml is out of date: run `aiconform rbac generate --from-requests <log> -o rbac/verify.yaml` "
        "with the request log of a verify run (see rbac/README.md)")
    assert generate(runs["sa_log"]) == regenerated  # the ServiceAccount run made the same calls


def test_a_missing_rule_is_a_clear_forbidden_error_for_its_verifier_only(tmp_path: Path):
    rules = [r for r in load_rules(BUNDLE.read_text()) if r.get("resources") != ["jobs"]]
    sim = SimHandle("conformant", workdir=tmp_path / "sim")
    try:
        proc = start_conformance(sim, tmp_path / "run", {}, tags="verify,gang_scheduling,dra_support",
                                 token=issue_token(sim, rules))
        results, out, err = finish(proc, tmp_path / "run")
    finally:
        sim.stop()
    gang = results["gang_scheduling"]
    assert gang["status"] == "error", gang["reasons"]
    assert "forbidden" in gang["reasons"][0], gang["reasons"]
    assert (f'jobs.batch is forbidden: User "{SA}" cannot create resource "jobs" in API group "batch" in the '
            'namespace "aiconform-gang-scheduling-') in gang["reasons"][0]
    assert "Traceback" not in out + err
    assert results["dra_support"]["status"] == "Implemented", results["dra_support"]["reasons"]
