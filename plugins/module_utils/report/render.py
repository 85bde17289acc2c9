"""Render every artifact of a run from the run model, and write run directories.

Pure part: ``render_all(model) -> Rendered`` (relative path -> text, plus the view and validation).
Side effects: ``write_run(model, reports_dir)`` and ``rerender(run_dir)``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from .. import catalog
from ..results import DISPLAY_ORDER, Status
from . import gotest
from .model import RunView, build_view, go_tests, iso, safe_name, utc_stamp
from .product import PLACEHOLDERS, platform_value, product_document, product_yaml, validate_platform
from .validate import ValidationResult, validate_document

TEMPLATES = Path(__file__).resolve().parent / "templates"
STAMP_RE = re.compile(r"^\d{8}T\d{6}Z(?:-\d+)?$")
ARTIFACTS = ("results.json", "PRODUCT.yaml", "README.md", "report.html", "junit.xml", "e2e.log")

STATUS_EMOJI = {s.value: s.shown.emoji for s in Status}
STATUS_CLASS = {s.value: s.shown.css_class for s in Status}
LEVEL_EMOJI = {"MUST": "🔴", "SHOULD": "🟡"}


@dataclass
class Rendered:
    view: RunView
    files: dict[str, str]
    validation: ValidationResult
    messages: list[str] = field(default_factory=list)  # every ERROR/WARNING line shown in the report


def _autoescape(name: str | None) -> bool:
    return bool(name) and name.endswith((".html.j2", ".html"))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=_autoescape,
                             trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["md_cell"] = md_cell
    env.filters["md_quote"] = md_quote
    env.filters["short_link"] = short_link
    return env


def md_cell(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def md_quote(text: Any) -> str:
    lines = str(text or "").splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def short_link(text: str, limit: int = 60) -> str:
    t = re.sub(r"^https?://", "", text)
    return t if len(t) <= limit else t[: limit - 3] + "..."


def _context(view: RunView, messages: list[str], files: Mapping[str, str]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in view.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    order = [s.value for s in DISPLAY_ORDER]
    groups = []
    for cat in catalog.categories():
        rows = [r for r in view.rows if r.req.category == cat.key]
        if rows:
            groups.append({"category": cat, "rows": rows})
    platform = {name: platform_value(view.platform, name) or PLACEHOLDERS.get(name, "") for name in PLACEHOLDERS}
    must_rows = [r for r in view.rows if r.req.is_must]
    return {
        "view": view, "rows": view.rows, "groups": groups, "platform": platform, "cluster": view.cluster,
        "run": view.run, "set_version": view.set_version, "messages": messages,
        "errors": [m for m in messages if m.startswith("ERROR")],
        "counts": [(s, counts[s]) for s in order if s in counts], "total": len(view.rows),
        "must_ok": sum(1 for r in must_rows if r.product_status == "Implemented"), "must_total": len(must_rows),
        "status_emoji": STATUS_EMOJI, "status_class": STATUS_CLASS, "level_emoji": LEVEL_EMOJI,
        "category_title": catalog.category_title, "files": files,
        "started": iso(view.run.get("started_at")), "finished": iso(view.run.get("finished_at")),
    }


def render_all(model: Mapping[str, Any]) -> Rendered:
    """Every artifact of a run as text, keyed by path relative to the run directory. Pure."""
    view = build_view(model)
    files: dict[str, str] = {}
    for row in view.rows:
        files.update(row.evidence_files)
    tests = go_tests(view)
    stamp = iso(view.run.get("started_at"))
    files["junit.xml"] = gotest.render_junit(tests, timestamp=stamp, properties={
        "aiconform.version": str(view.run.get("aiconform_version", "")),
        "cluster": str(view.cluster.get("name", "")), "kubernetes.version": view.set_version,
        "simulated": str(bool(view.cluster.get("simulated"))).lower(),
        **({"engine": str(view.cluster.get("engine"))} if view.cluster.get("simulated") else {})})
    # a log read on its own must still say the cluster was simulated
    header = (f"aiconform: {view.cluster.get('engine_label')} {view.cluster.get('name', '')}: these results describe "
              f"{view.cluster.get('produced_by')}" if view.cluster.get("simulated") else "")
    files["e2e.log"] = gotest.render_e2e_log(tests, header=header)
    doc = product_document(view)
    files["PRODUCT.yaml"] = product_yaml(view)
    # no indent: the C encoder is ~5x faster, and results.json is data (README/report.html are for people)
    files["results.json"] = json.dumps(view.model, ensure_ascii=False, default=str) + "\n"
    validation = validate_document(doc, view.set_version, product_dir=f"reports/{safe_name(view.cluster['name'])}",
                                   files=files, path="PRODUCT.yaml")
    platform_errors = validate_platform(view.platform)
    messages = list(view.messages) + platform_errors + [
        f"{line.split(': ', 1)[0]}: PRODUCT.yaml: {line.split(': ', 1)[1]}" for line in validation.lines()
        if not _already_reported(line, platform_errors)]
    ctx = _context(view, messages, files)
    env = environment()
    files["README.md"] = env.get_template("README.md.j2").render(ctx)
    files["report.html"] = env.get_template("report.html.j2").render(ctx)
    return Rendered(view=view, files=files, validation=validation, messages=messages)


def _already_reported(line: str, platform_errors: list[str]) -> bool:
    """True for the validator's metadata message about a field the platform check already explained."""
    m = re.search(r"(?:Metadata field:? |Missing metadata field: |Invalid )(\w+)", line)
    if not m or m.group(1) not in PLACEHOLDERS:
        return False
    return any(f"platform metadata {m.group(1)} " in e for e in platform_errors)


# --------------------------------------------------------------------------------------------- disk

@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="aiconform-write")


def _write_one(item: tuple[Path, str]) -> None:
    item[0].write_text(item[1], encoding="utf-8")


def _write_files(run_dir: Path, files: Mapping[str, str]) -> None:
    if (run_dir / "evidence").is_dir():
        shutil.rmtree(run_dir / "evidence")  # re-render: evidence names are derived, stale files must go
    targets = [(run_dir / rel, content) for rel, content in files.items()]
    for parent in sorted({t.parent for t, _extra in targets}):
        parent.mkdir(parents=True, exist_ok=True)
    # file creation is syscall-bound on slow (virtual/network) disks; threads overlap it
    list(_pool().map(_write_one, targets))


def update_latest(cluster_dir: Path) -> Path | None:
    """Point ``<cluster>/latest`` at the newest run directory, atomically (symlink + rename)."""
    runs = sorted(p.name for p in cluster_dir.iterdir() if p.is_dir() and not p.is_symlink() and STAMP_RE.match(p.name))
    if not runs:
        return None
    link = cluster_dir / "latest"
    tmp = cluster_dir / f".latest.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(runs[-1], tmp)
    os.replace(tmp, link)
    return cluster_dir / runs[-1]


def run_dir_for(model: Mapping[str, Any], reports_dir: str | os.PathLike[str]) -> Path:
    run = model.get("run") or {}
    run_id = str(run.get("id") or "")
    name = run_id if STAMP_RE.match(run_id) else utc_stamp(run.get("started_at"))
    cluster = safe_name((model.get("cluster") or {}).get("name", "cluster"))
    return Path(reports_dir) / cluster / name


def write_run(model: Mapping[str, Any], reports_dir: str | os.PathLike[str], *,
              run_dir: str | os.PathLike[str] | None = None, update_link: bool = True) -> tuple[Path, Rendered]:
    """Render and write ``reports/<cluster>/<UTC stamp>/`` and repoint ``latest``. Returns (run dir, rendered)."""
    rendered = render_all(model)
    target = Path(run_dir) if run_dir else run_dir_for(rendered.view.model, reports_dir)
    target.mkdir(parents=True, exist_ok=True)
    _write_files(target, rendered.files)
    if update_link and STAMP_RE.match(target.name):
        update_latest(target.parent)
    return target, rendered


def load_model(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(run_dir)
    path = path / "results.json" if path.is_dir() else path
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or data.get("schema") != 1:
        raise ValueError(f"{path}: not an aiconform results.json (schema 1)")
    return data


def rerender(run_dir: str | os.PathLike[str]) -> tuple[Path, Rendered]:
    """Rebuild every artifact of a run directory from its results.json alone."""
    path = Path(run_dir).resolve()
    model = load_model(path)
    return write_run(model, path.parent.parent, run_dir=path)


def render_to_tempdir(model: Mapping[str, Any]) -> Path:  # pragma: no cover - convenience for debugging
    tmp = Path(tempfile.mkdtemp(prefix="aiconform-report-"))
    return write_run(model, tmp)[0]
