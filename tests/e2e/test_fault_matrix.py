"""The fault matrix (benchmarks/fault_matrix.py) in CI: every verifier x every API fault, on simulators.

Each cell must hold: no ``Not Implemented`` because of a fault (``error`` naming it, or the baseline verdict
after a transient 429), no crash, no probe object left, an exit code of 3 (undecided) and never 1. The lab's
simulator for 13 verifiers and, meanwhile, one simulator per other scenario; verifiers called in-process: about
two and a half minutes on 2 cores.
"""
from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("fault_matrix", PROJECT_ROOT / "benchmarks" / "fault_matrix.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_matrix"] = module
    spec.loader.exec_module(module)
    return module


fm = _load()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> tuple[dict[str, Any], list[Any]]:
    baselines, cells = fm.run_everything(tmp_path_factory.mktemp("faultmatrix"))
    print("\n" + fm.table(baselines, cells))
    return baselines, cells


def test_every_verifier_passes_its_baseline(matrix):
    baselines, _ = matrix
    assert set(baselines) == set(fm.ALL_VERIFIERS)
    assert {v: b.status for v, b in baselines.items() if b.status != "Implemented"} == {}


@pytest.mark.parametrize("fault", [f.name for f in fm.FAULTS])
def test_every_cell_holds(matrix, fault):
    _, cells = matrix
    mine = [c for c in cells if c.fault == fault]
    assert len(mine) == len(fm.ALL_VERIFIERS)
    failed = {c.verifier: c.problems for c in mine if not c.holds}
    assert failed == {}


def test_faults_really_landed(matrix):
    """A matrix whose faults never fire would pass every cell: most cells must show the fault's error."""
    _, cells = matrix
    by_fault = {f.name: [c for c in cells if c.fault == f.name] for f in fm.FAULTS}
    for name in ("403", "429 persistent", "500", "503", "garbage", "slow"):
        assert all(c.status == "error" for c in by_fault[name]), [(c.verifier, c.status) for c in by_fault[name]]
    assert all(c.status == "Implemented" for c in by_fault["429 transient"])
    assert any(c.status == "error" for c in by_fault["404 CRD group"])
    assert all(c.note == "no watch" for c in by_fault["watch expiry"])  # the verifiers poll; none watches


def test_a_cell_that_fails_is_reported():
    """The judge of a cell can fail: a Not Implemented, a crash, a leftover, a silent error."""
    b = fm.Baseline("Implemented", 1.0, 3, [], 0, 10)
    fault = fm.FAULTS[0]
    bad = fm.judge_cell("x", fault, {"status": "Not Implemented", "reasons": ["no API"]}, ["namespaces/p"], 1.0, b)
    assert len(bad.problems) == 3 and bad.label() == "FAIL: Not Implemented"
    silent = fm.judge_cell("x", fault, {"status": "error", "reasons": ["something"]}, [], 1.0, b)
    assert silent.problems and "does not name the fault" in silent.problems[0]
    crash = fm.judge_cell("x", fault, {"status": "error", "reasons": ["verifier crashed: 403 KeyError"]}, [], 1.0, b)
    assert crash.problems
    transient = fm.judge_cell("x", fm.FAULTS[2], {"status": "error", "reasons": ["429"]}, [], 1.0, b)
    assert transient.problems
    good = fm.judge_cell("x", fault, {"status": "error", "reasons": ["list nodes: forbidden (…)"]}, [], 1.0, b)
    assert good.holds and good.label() == "error"


def test_the_matrix_covers_every_verifier_of_the_catalog():
    from aiconform import catalog

    assert sorted(fm.ALL_VERIFIERS) == sorted(catalog.all_ids())
