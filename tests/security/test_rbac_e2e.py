"""The shipped verify role (rbac/verify.yaml) is enough: the simulator enforces it.

One admin run and one run as the ServiceAccount (token from the simulator's RBAC authorizer, rules of
the committed bundle) go side by side on two simulators of the simulated lab (``conformant-autoscaling``,
requirement set v1.37, node-pool variables: the largest single coverage run of aiconform/rbac/coverage.py).
Every verifier must reach the admin run's verdict, and the bundle must hold every rule both runs' request
logs need. Equality with all coverage runs is `aiconform rbac regenerate`'s job (seven runs: too slow here).
Then a role without one rule makes the verifier that needs it report a Forbidden error, and only it.

When verifiers change their calls: ``aiconform rbac regenerate`` (then review the diff and rbac/README.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _runs import finish, issue_token, start_conformance
from helpers.sim import SimHandle

from aiconform import PROJECT_ROOT
from aiconform.rbac import build_rules, load_rules, missing_grants
from aiconform.rbac.coverage import COVERAGE_RUNS

pytestmark = pytest.mark.e2e
BUNDLE = PROJECT_ROOT / "rbac" / "verify.yaml"
SA = "system:serviceaccount:aiconform-system:aiconform-verify"
# Verdicts that depend on timing under load (a 120 s utilization window on a shared CI machine), not on
# access: for these the ServiceAccount run must make no denied call, but its verdict may differ.
TIMING_SENSITIVE = {"accelerator_metrics": "workload-driven utilization change within a fixed window"}
LAB = next(r for r in COVERAGE_RUNS if r.name == "lab-v1.37")
LAB_VARS = {"aiconform_kubernetes_version": LAB.set_version, **LAB.host_vars}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("rbac")
    admin_sim = SimHandle(LAB.scenario, kubernetes_version=LAB.server_version, workdir=tmp / "sim-admin")
    sa_sim = SimHandle(LAB.scenario, kubernetes_version=LAB.server_version, workdir=tmp / "sim-sa")
    try:
        token = issue_token(sa_sim, load_rules(BUNDLE.read_text()))
        procs = [start_conformance(admin_sim, tmp / "admin", LAB_VARS),
                 start_conformance(sa_sim, tmp / "sa", LAB_VARS, token=token)]
        admin, sa = finish(procs[0], tmp / "admin"), finish(procs[1], tmp / "sa")
        yield {"admin": admin, "sa": sa, "admin_log": admin_sim.admin("/_sim/requests?log=1")["log"],
               "sa_log": sa_sim.admin("/_sim/requests?log=1")["log"]}
    finally:
        admin_sim.stop()
        sa_sim.stop()


def test_every_verifier_reaches_the_admin_verdict_with_the_shipped_role(runs):
    admin, sa_run = runs["admin"][0], runs["sa"][0]
    verified = {k: v["status"] for k, v in admin.items() if v["status"] != "unknown" and k not in TIMING_SENSITIVE}
    assert len(verified) >= 10, verified
    assert {k: sa_run[k]["status"] for k in verified} == verified, {k: sa_run[k]["reasons"] for k in verified}
    assert not [r for v in sa_run.values() for r in v["reasons"] if "forbidden" in r.lower()]
    sa_log = runs["sa_log"]
    assert sa_log and {e["user"] for e in sa_log} == {SA}, "some request did not use the ServiceAccount token"
    denied = [f"{e['method']} {e['path']}" for e in sa_log if not e["allowed"]]
    assert not denied, denied


def test_the_shipped_bundle_holds_every_rule_the_runs_needed(runs):
    # ⊇, not ==: the bundle is the union of several coverage runs; this run exercises only part of them.
    granted = load_rules(BUNDLE.read_text())
    for which in ("admin_log", "sa_log"):
        lacking = missing_grants(granted, build_rules(runs[which]))
        assert not lacking, (f"rbac/verify.yaml lacks what the {which.split('_')[0]} run needed: {lacking}; run "
                             "`aiconform rbac regenerate` (aiconform/rbac/coverage.py) and review rbac/README.md")


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
