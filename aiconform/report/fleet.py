"""Fleet summary: clusters x requirements, from each ``reports/<cluster>/latest/results.json``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiconform import catalog
from aiconform.report.model import RunView, build_view
from aiconform.report.render import STATUS_CLASS, STATUS_EMOJI, environment, load_model


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


def fleet_rows(views: list[RunView]) -> tuple[list[str], list[FleetRow]]:
    """Columns (ids in catalog order, only those present in some cluster's set) and one row per cluster."""
    present = {row.req.id for v in views for row in v.rows}
    ids = [i for i in catalog.all_ids() if i in present]
    rows = []
    for v in sorted(views, key=lambda v: str(v.cluster.get("name"))):
        statuses = {r.req.id: r.status for r in v.rows}
        musts = [r for r in v.rows if r.req.is_must]
        rows.append(FleetRow(cluster=str(v.cluster.get("name")), run_id=str(v.run.get("id", "")),
                             set_version=v.set_version, simulated=bool(v.cluster.get("simulated")),
                             statuses={i: statuses.get(i, "") for i in ids},
                             must_ok=sum(1 for r in musts if r.product_status == "Implemented"),
                             must_total=len(musts)))
    return ids, rows


def collect(reports_dir: str | os.PathLike[str]) -> tuple[list[RunView], list[FleetRow]]:
    views: list[RunView] = []
    broken: list[FleetRow] = []
    for cluster_dir in sorted(Path(reports_dir).iterdir()):
        latest = cluster_dir / "latest" / "results.json"
        if not cluster_dir.is_dir() or not latest.is_file():
            continue
        try:
            views.append(build_view(load_model(latest)))
        except (ValueError, KeyError, TypeError, OSError, catalog.UnsupportedVersionError) as exc:
            broken.append(FleetRow(cluster_dir.name, "", "", False, {}, 0, 0, problem=str(exc)))
    return views, broken


def render_fleet(views: list[RunView], broken: list[FleetRow] | None = None) -> dict[str, str]:
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
