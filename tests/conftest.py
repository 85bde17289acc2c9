"""Shared pytest fixtures. Keep this small and generic; helpers live in tests/helpers/."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.sim import SimHandle, run_playbook  # noqa: F401  (re-exported for test modules)

# Plugins import the collection's module_utils by FQCN (ansible_collections.aiconform.conformance...); tests that
# load a plugin file directly find it where `make setup` links the repository as the collection.
_COLLECTIONS = str(Path(__file__).resolve().parents[1] / ".tools" / "collections")
if _COLLECTIONS not in sys.path:
    sys.path.append(_COLLECTIONS)


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    """Scenario of the module-scoped ``sim``; override this fixture in a test module to choose another."""
    return "empty"


@pytest.fixture(scope="module")
def sim(sim_scenario: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHandle]:
    """A Kubernetes API simulator in its own process, shared by the tests of one module."""
    handle = SimHandle(sim_scenario, workdir=tmp_path_factory.mktemp("sim"))
    yield handle
    handle.stop()


@pytest.fixture
def sim_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SimHandle]]:
    """Start extra simulators in a test: ``sim_factory("gpu-lab", kubernetes_version="v1.35.2", controllers=False)``."""
    started: list[SimHandle] = []

    def start(scenario: str = "empty", kubernetes_version: str | None = None, controllers: bool = True) -> SimHandle:
        h = SimHandle(scenario, kubernetes_version, controllers, workdir=tmp_path_factory.mktemp("sim"))
        started.append(h)
        return h
    yield start
    for h in started:
        h.stop()


# -- the time each tier takes (printed at the end of every run: CI's log keeps the figures) ------------------------
_TIER_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum setup, call and teardown seconds per tier (tests/<tier>/...; lab tests by their marker)."""
    parts = report.nodeid.split("/")
    tier = parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"
    if "lab" in report.keywords and tier != "lab":
        tier = f"{tier} (lab)"
    _TIER_SECONDS[tier] = _TIER_SECONDS.get(tier, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TIER_SECONDS or hasattr(terminalreporter.config, "workerinput"):
        return
    total = sum(_TIER_SECONDS.values())
    terminalreporter.write_sep("-", "seconds per tier (summed over workers)")
    for tier, seconds in sorted(_TIER_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{tier:<24} {seconds:8.0f} s  {100 * seconds / total:5.1f} %")
    lab = sum(s for t, s in _TIER_SECONDS.items() if "lab" in t)
    terminalreporter.write_line(f"{'all but the lab':<24} {total - lab:8.0f} s")
