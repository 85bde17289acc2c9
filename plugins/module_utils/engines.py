"""What a cluster that is not a real platform is, said the same way by the console, the reports and the logs.

``aiconform conformance`` sets ``aiconform_simulated: true`` on its lab host and, for the lab of real components,
``aiconform_engine: lab``; preflight puts ``engine`` and ``engine_label`` into the cluster facts.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# engine -> (short label for titles and banners, what produced the results)
ENGINES: dict[str, tuple[str, str]] = {
    "simulator": ("SIMULATED cluster", "the aiconform Kubernetes API simulator, not a real cluster"),
    "lab": ("LAB cluster: lab (kwok nodes, no real accelerators)",
            "the aiconform lab (a real Kubernetes control plane built from source, kwok nodes, no real "
            "accelerators), not a real platform"),
}


def engine_of(cluster: Mapping[str, Any]) -> str | None:
    """``simulator``, ``lab``, or None for a real cluster."""
    if not cluster.get("simulated"):
        return None
    engine = str(cluster.get("engine") or "simulator")
    return engine if engine in ENGINES else "simulator"


def label(cluster: Mapping[str, Any]) -> str:
    engine = engine_of(cluster)
    return ENGINES[engine][0] if engine else ""


def produced_by(cluster: Mapping[str, Any]) -> str:
    engine = engine_of(cluster)
    return ENGINES[engine][1] if engine else ""
