"""The simulator held to the lab: the same requests to both engines, the parts clients read compared.

``engines`` starts one simulator (scenario ``gpu-lab``, the lab's Kubernetes version) and one lab (real
kube-apiserver, etcd, controllers, kwok) for the whole module; each case runs in a namespace of its own on both.
"""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.lab import LabHandle, require_binaries
from helpers.sim import SimHandle

from aiconform import versions
from aiconform.labcluster import build


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    require_binaries()
    pinned = str(versions.get("lab.kubernetes")[build.resolve_minor(None)]["version"])  # the lab's exact version
    with ThreadPoolExecutor(2) as pool:  # start both at once
        sim_f = pool.submit(SimHandle, "gpu-lab", pinned, True, tmp_path_factory.mktemp("diff-sim"))
        lab_f = pool.submit(LabHandle, tmp_path_factory.mktemp("diff-lab"))
        handles = {}
        errors = []
        for name, fut in (("sim", sim_f), ("lab", lab_f)):
            try:
                handles[name] = fut.result()
            except BaseException as e:  # noqa: BLE001 - stop the other engine, then re-raise
                errors.append(e)
    if errors:
        for h in handles.values():
            h.stop()
        raise errors[0]
    yield handles
    for h in handles.values():
        h.stop()
