"""How a status is shown is written once (results.Status): every layer that shows one reads it from there."""
from __future__ import annotations

import pytest
from aiconform.report import render, validate
from aiconform.results import REPORTABLE, Status

from aiconform.runner import progress


def test_every_layer_shows_each_status_from_the_one_table() -> None:
    from ansible_collections.aiconform.conformance.plugins.callback import conformance_summary

    for s in Status:
        assert render.STATUS_EMOJI[s.value] == s.shown.emoji
        assert render.STATUS_CLASS[s.value] == s.shown.css_class
        assert conformance_summary.STATUS_MARK[s.value] == s.shown.mark
        assert progress.STATE_OF_STATUS[s.value] == s.shown.progress_state
    # the CNCF validator's list of statuses, in its order
    assert REPORTABLE == ("Implemented", "Not Implemented", "Partially Implemented", "N/A")
    assert validate.VALID_STATUSES == REPORTABLE


@pytest.mark.parametrize(("status", "mark", "state"), [("Implemented", "OK", "passed"),
                                                      ("Not Implemented", "FAIL", "failed"),
                                                      ("unknown", "UNKNOWN", "error")])
def test_a_status_string_from_results_json_finds_its_mark(status: str, mark: str, state: str) -> None:
    """results.json carries plain strings: lookups by the string work as by the enum member."""
    from ansible_collections.aiconform.conformance.plugins.callback import conformance_summary

    assert conformance_summary.STATUS_MARK[status] == mark
    assert progress.STATE_OF_STATUS.get(status, "error") == state
