"""The simulator's scheduler-plugins PodGroup status follows the real controller's state machine (as the lab's
coscheduling stack showed it): an oversized gang whose pods all exist but none is bound is ``Scheduling``, not
``Pending``; a gang whose pods all succeeded is ``Finished``, and stays so."""
from __future__ import annotations

from collections import Counter

from aiconform.sim.controllers.gang import _coscheduling_status


def _steps(st: dict, n: int, phases: Counter[str], min_member: int) -> dict:
    members = [{} for _ in range(sum(phases.values()))]
    for _ in range(n):
        st = _coscheduling_status(st, members, phases, min_member)
    return st


def test_an_oversized_gang_with_every_pod_pending_is_scheduling() -> None:
    st = _coscheduling_status({}, [{}] * 22, Counter(Pending=22), 22)
    assert st == {"phase": "Pending"}  # the controller's first step
    st = _steps(st, 3, Counter(Pending=22), 22)
    assert st == {"phase": "Scheduling", "running": 0, "succeeded": 0, "failed": 0}


def test_too_few_members_stay_pending() -> None:
    assert _steps({}, 4, Counter(Pending=2), 3)["phase"] == "Pending"


def test_a_gang_runs_then_finishes_and_finished_is_final() -> None:
    assert _steps({}, 3, Counter(Running=2), 2)["phase"] == "Running"
    done = _steps({}, 3, Counter(Succeeded=2), 2)
    assert done == {"phase": "Finished", "running": 0, "succeeded": 2, "failed": 0}
    assert _coscheduling_status(done, [], Counter(), 2) == done  # its pods deleted: still Finished


def test_a_failed_member_fails_the_group_once_min_member_have_started() -> None:
    assert _steps({}, 3, Counter(Failed=1, Running=1), 2)["phase"] == "Failed"
    assert _steps({}, 3, Counter(Failed=1, Pending=2), 3)["phase"] == "Scheduling"
