"""Fleet summary: clusters x requirements, from each ``reports/<cluster>/latest/results.json``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import catalog
from .model import RunView, kubernetes_version
from .render import STATUS_CLASS, STATUS_EMOJI, environment, load_model


@dataclass
class FleetRow:
    cluster: str
    run_id: str
    set_version: str
    simulated: bool
    statuses: dict[str, str]  # id -> status ("" when the id is not in the cluster's set)
    must_ok: int
    must_total: int
    problem: str = ""  # unreadable results.json


@dataclass
class FleetEntry:
    """What the fleet table needs from one results.json (no evidence rendering, no re-redaction)."""

    cluster: str
    run_id: str
    set_version: str
    simulated: bool
    statuses: dict[str, str]  # id -> status, for every id of the cluster's set
    levels: dict[str, str]


def fleet_entry(model: dict[str, Any]) -> FleetEntry:
    cluster = model.get("cluster") or {}
    set_version, _rest = catalog.resolve_version(kubernetes_version(model))
    given = {r.get("id"): str(r.get("status") or "unknown") for r in model.get("requirements") or []}
    reqs = catalog.requirement_set(set_version)
    return FleetEntry(cluster=str(cluster.get("name", "cluster")), run_id=str((model.get("run") or {}).get("id", "")),
                      set_version=set_version, simulated=bool(cluster.get("simulated")),
                      statuses={r.id: given.get(r.id, "unknown") for r in reqs}, levels={r.id: r.level for r in reqs})


def entry_from_view(view: RunView) -> FleetEntry:
    return FleetEntry(cluster=str(view.cluster.get("name")), run_id=str(view.run.get("id", "")),
                      set_version=view.set_version, simulated=bool(view.cluster.get("simulated")),
                      statuses={r.req.id: r.status for r in view.rows}, levels={r.req.id: r.req.level for r in view.rows})


def fleet_rows(entries: list[FleetEntry | RunView]) -> tuple[list[str], list[FleetRow]]:
    """Columns (ids in catalog order, only those present in some cluster's set) and one row per cluster."""
    items = [entry_from_view(e) if isinstance(e, RunView) else e for e in entries]
    present = {i for e in items for i in e.statuses}
    ids = [i for i in catalog.all_ids() if i in present]
    rows = []
    for e in sorted(items, key=lambda e: e.cluster):
        musts = [i for i, lvl in e.levels.items() if lvl == "MUST"]
        rows.append(FleetRow(cluster=e.cluster, run_id=e.run_id, set_version=e.set_version, simulated=e.simulated,
                             statuses={i: e.statuses.get(i, "") for i in ids},
                             must_ok=sum(1 for i in musts if e.statuses[i] == "Implemented"), must_total=len(musts)))
    return ids, rows


def collect(reports_dir: str | os.PathLike[str]) -> tuple[list[FleetEntry], list[FleetRow]]:
    entries: list[FleetEntry] = []
    broken: list[FleetRow] = []
    for cluster_dir in sorted(Path(reports_dir).iterdir()):
        latest = cluster_dir / "latest" / "results.json"
        if not cluster_dir.is_dir() or not latest.is_file():
            continue
        try:
            entries.append(fleet_entry(load_model(latest)))
        except (ValueError, KeyError, TypeError, OSError, catalog.UnsupportedVersionError) as exc:
            broken.append(FleetRow(cluster_dir.name, "", "", False, {}, 0, 0, problem=str(exc)))
    return entries, broken


def render_fleet(views: list[FleetEntry | RunView], broken: list[FleetRow] | None = None) -> dict[str, str]:
    ids, rows = fleet_rows(views)
    titles = catalog.titles()
    ctx: dict[str, Any] = {"ids": ids, "rows": rows, "broken": broken or [], "titles": titles,
                           "status_emoji": STATUS_EMOJI, "status_class": STATUS_CLASS}
    env = environment()
    return {"fleet.md": env.get_template("fleet.md.j2").render(ctx),
            "fleet.html": env.get_template("fleet.html.j2").render(ctx)}


def write_fleet(reports_dir: str | os.PathLike[str]) -> list[Path]:
    views, broken = collect(reports_dir)
    out = []
    for name, text in render_fleet(views, broken).items():
        path = Path(reports_dir) / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out
