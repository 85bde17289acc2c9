"""The verify tier's simulator: ``lab``, started per test for the scenario the test names (indirect parameter)."""
from __future__ import annotations

import pytest
from helpers.sim import SimHandle


@pytest.fixture
def lab(request: pytest.FixtureRequest, sim_factory) -> SimHandle:
    """``@pytest.mark.parametrize("lab", ["<scenario>"], indirect=True)``; the Kubernetes version is the test
    module's ``KUBERNETES_VERSION`` when it sets one (requirements of newer sets), else the scenario's."""
    return sim_factory(request.param, kubernetes_version=getattr(request.module, "KUBERNETES_VERSION", None))
