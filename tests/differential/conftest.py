"""The simulator held to the lab: the same requests to both engines, the parts clients read compared.

``engines`` starts one simulator (scenario ``gpu-lab``) and one lab (real kube-apiserver, etcd, controllers, kwok)
for the whole module; each case runs in a namespace of its own on both.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.lab import LabHandle, require_binaries
from helpers.sim import SimHandle


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    require_binaries()
    sim = SimHandle("gpu-lab", workdir=tmp_path_factory.mktemp("diff-sim"))
    try:
        lab = LabHandle(tmp_path_factory.mktemp("diff-lab"))
    except BaseException:
        sim.stop()
        raise
    yield {"sim": sim, "lab": lab}
    sim.stop()
    lab.stop()
