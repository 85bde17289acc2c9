from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.lab import LabHandle, require_binaries


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """One lab (default Kubernetes version, two GPU nodes) shared by the tests of a module."""
    require_binaries()
    handle = LabHandle(tmp_path_factory.mktemp("lab"))
    yield handle
    handle.stop()
