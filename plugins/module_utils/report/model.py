"""The run model (``results.json``) and the per-requirement rows every renderer works from.

``results.json``::

    {"schema": 1,
     "cluster":  {name, server_version, kubernetes_version, simulated, api_server, tls_verify, nodes, ...},
     "platform": {platformName, platformVersion, vendorName, websiteUrl, repoUrl, documentationUrl,
                  productLogoUrl, description, contactEmailAddress, k8sConformanceUrl},
     "run":      {id, started_at, finished_at, aiconform_version, phases, selected},
     "requirements": [RequirementResult.to_dict(), ...]}

Status mapping into PRODUCT.yaml (``product_status``):

============================  ======================  ==================================================
result status                 MUST                    SHOULD
============================  ======================  ==================================================
Implemented / Not Impl. /     same value              same value
Partially Implemented
N/A                           N/A (notes required)    N/A (notes required)
unknown / error               "Not Implemented",      "" with empty evidence (the validator skips it),
                              reason in notes         reason in notes
============================  ======================  ==================================================

A requirement of the set that is absent from ``requirements`` is ``unknown`` with the reason
"not verified in this run (not selected / verifier not available)". Notes are the verifier's notes, else
its reasons joined; an N/A without any justification gets the visible placeholder
``[justification required]`` (and the validator flags it).

go-test outcome (junit.xml / e2e.log): Implemented -> PASS; N/A and unknown -> SKIP; Not Implemented,
Partially Implemented and error -> FAIL for MUST requirements, SKIP for SHOULD requirements (a SHOULD
that is not implemented is a legitimate answer, and a FAIL would make the cncf validator reject every
artifact referenced as evidence: "any failing test in a parsed artifact is an error"). Checks become
subtests; a failing check under a non-failing parent is rendered SKIP with "non-blocking" in its message.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import catalog, engines
from ..about import __version__
from ..results import Evidence, RequirementResult, Status
from . import gotest

SCHEMA = 1
NOT_RUN_REASON = "not verified in this run (not selected / verifier not available)"
NA_PLACEHOLDER = "[justification required]"
EVIDENCE_EXTENSIONS = (".txt", ".yaml", ".md")
_KIND_EXT = {"object": ".yaml", "markdown": ".md", "md": ".md"}
# keys that must never reach an artifact from the cluster dict (kubeconfig, tokens, ...)
_CLUSTER_FORBIDDEN = re.compile(r"(?i)token|password|secret|kubeconfig|client[-_]?key|client[-_]?cert|credential|auth")


@dataclass
class Row:
    req: catalog.Requirement
    result: RequirementResult
    ran: bool
    product_status: str
    notes: str
    evidence_files: dict[str, str]  # relative path -> file content
    product_evidence: list[str]
    outcome: str  # go-test outcome: pass | fail | skip
    reason: str  # one line

    @property
    def status(self) -> str:
        return self.result.status.value


@dataclass
class RunView:
    model: dict[str, Any]
    set_version: str
    version_warning: str
    rows: list[Row]
    cluster: dict[str, Any]
    platform: dict[str, Any]
    run: dict[str, Any]
    messages: list[str] = field(default_factory=list)  # "ERROR: ..." / "WARNING: ..." lines


# --------------------------------------------------------------------------------------------- helpers

def utc_stamp(value: Any) -> str:
    """A run-directory name like 20261127T041500Z from an epoch float or an ISO-8601 string."""
    dt = parse_time(value) or datetime.now(UTC)
    return dt.strftime("%Y%m%dT%H%M%SZ")


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value)
    if re.fullmatch(r"\d{8}T\d{6}Z", text):
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iso(value: Any) -> str:
    dt = parse_time(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else ""


def slug(text: str, limit: int = 48) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip().lower()).strip("-.")
    return (s[:limit].rstrip("-.") or "evidence")


def safe_name(text: str) -> str:
    """Cluster names as directory names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text or "cluster")).strip("-.") or "cluster"


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def sanitize_cluster(cluster: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep credentials out of artifacts: drop suspicious keys; api_server reduced to scheme://host[:port]."""
    out: dict[str, Any] = {}
    for key, value in dict(cluster or {}).items():
        if _CLUSTER_FORBIDDEN.search(str(key)):
            continue
        out[key] = value
    api = out.get("api_server")
    if isinstance(api, str) and api:
        m = re.match(r"^(?:(https?)://)?(?:[^@/]*@)?([^/?#]+)", api)
        out["api_server"] = (f"{m.group(1)}://" if m and m.group(1) else "") + (m.group(2) if m else "")
    return out


# --------------------------------------------------------------------------------------------- model

def normalize_model(model: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with defaults filled in and the cluster sanitized (what results.json holds)."""
    return _normalize(model)[0]


def _normalize(model: Mapping[str, Any]) -> tuple[dict[str, Any], list[RequirementResult]]:
    m = {k: v for k, v in dict(model).items() if k not in ("cluster", "platform", "run", "requirements")}
    m["schema"] = m.get("schema", SCHEMA)
    m["cluster"] = sanitize_cluster(copy.deepcopy(dict(model.get("cluster") or {})))
    m["cluster"].setdefault("name", "cluster")
    if m["cluster"].get("simulated"):  # what produced the results, said the same way in every artifact
        m["cluster"]["engine"] = engines.engine_of(m["cluster"])
        m["cluster"]["engine_label"] = engines.label(m["cluster"])
        m["cluster"]["produced_by"] = engines.produced_by(m["cluster"])
    m["platform"] = copy.deepcopy(dict(model.get("platform") or {}))
    run = copy.deepcopy(dict(model.get("run") or {}))
    run.setdefault("aiconform_version", __version__)
    run.setdefault("started_at", "")
    run.setdefault("finished_at", "")
    run.setdefault("phases", [])
    run.setdefault("selected", [])
    run.setdefault("id", utc_stamp(run.get("started_at")))
    m["run"] = run
    # from_dict -> to_dict redacts again and drops unknown keys: results.json never carries raw secrets
    results = [r if isinstance(r, RequirementResult) else RequirementResult.from_dict(r)
               for r in (model.get("requirements") or [])]
    m["requirements"] = [r.to_dict() for r in results]
    return m, results


def kubernetes_version(model: Mapping[str, Any]) -> str:
    cluster = model.get("cluster") or {}
    return str(cluster.get("kubernetes_version") or cluster.get("server_version") or "")


def _evidence_filename(index: int, ev: Evidence, used: set[str]) -> str:
    base = ev.filename.rsplit("/", 1)[-1] if ev.filename else ""
    stem, ext = (base.rsplit(".", 1) + [""])[:2] if "." in base else (base, "")
    ext = f".{ext.lower()}" if ext else ""
    if ext not in EVIDENCE_EXTENSIONS:
        ext = _KIND_EXT.get(ev.kind, ".txt")
    name = f"{index:02d}-{slug(stem or ev.title or ev.kind)}{ext}"
    while name in used:
        name = name.replace(ext, "", 1) + "-x" + ext
    used.add(name)
    return name


def _evidence_content(ev: Evidence, ext: str) -> str:
    if ext == ".yaml":
        head = f"# {one_line(ev.title, 400)}\n" + (f"# command: {one_line(ev.command, 2000)}\n" if ev.command else "")
        return head + ev.content + ("" if ev.content.endswith("\n") else "\n")
    if ext == ".md":
        cmd = f"```console\n$ {ev.command}\n```\n\n" if ev.command else ""
        return f"# {ev.title}\n\n{cmd}{ev.content}\n"
    cmd = f"$ {ev.command}\n" if ev.command else ""
    return f"# {ev.title}\n{cmd}\n{ev.content}" + ("" if ev.content.endswith("\n") else "\n")


def _summary_md(req: catalog.Requirement, res: RequirementResult, cluster: str) -> str:
    lines = [f"# {req.id}: {res.status.value}", "", f"- Requirement: {req.title} ({req.level}, {req.kar or 'no KAR'})",
             f"- Cluster: {cluster}", f"- Test: {res.test_name or req.test_name}",
             f"- Duration: {res.duration_s:.2f}s", ""]
    if res.reasons:
        lines += ["## Reasons", ""] + [f"- {r}" for r in res.reasons] + [""]
    if res.checks:
        lines += ["## Checks", "", "| check | outcome | reason |", "|---|---|---|"]
        lines += [f"| {c.name} | {c.outcome.value} | {one_line(c.reason, 300).replace('|', '/')} |" for c in res.checks]
        lines.append("")
    if res.notes:
        lines += ["## Notes", "", res.notes, ""]
    return "\n".join(lines)


def _outcome(level: str, status: Status) -> str:
    if status == Status.IMPLEMENTED:
        return gotest.PASS
    if status in (Status.NOT_APPLICABLE, Status.UNKNOWN):
        return gotest.SKIP
    return gotest.FAIL if level == "MUST" else gotest.SKIP


def build_row(req: catalog.Requirement, res: RequirementResult | None, cluster_name: str) -> Row:
    ran = res is not None
    if res is None:
        res = RequirementResult(id=req.id, status=Status.UNKNOWN, reasons=[NOT_RUN_REASON], test_name=req.test_name)
    status = res.status
    reason_text = "; ".join(r for r in res.reasons if r)
    reason = one_line(res.reasons[0] if res.reasons else (res.notes or status.value))
    files: dict[str, str] = {}
    if ran:
        files[f"evidence/{req.id}/00-summary.md"] = _summary_md(req, res, cluster_name)
        used: set[str] = {"00-summary.md"}
        for i, ev in enumerate(res.evidence, 1):
            name = _evidence_filename(i, ev, used)
            files[f"evidence/{req.id}/{name}"] = _evidence_content(ev, "." + name.rsplit(".", 1)[-1])
    evidence = list(files)
    if status in (Status.UNKNOWN, Status.ERROR):
        why = reason_text or NOT_RUN_REASON
        if req.is_must:
            product_status = Status.NOT_IMPLEMENTED.value
            notes = f"aiconform could not determine this requirement ({status.value}): {why}"
        else:
            product_status, evidence = "", []
            notes = f"Not verified by aiconform ({status.value}): {why}"
    else:
        product_status = status.value
        notes = res.notes or reason_text
        if status == Status.NOT_APPLICABLE and not notes.strip():
            notes = NA_PLACEHOLDER
    outcome = _outcome(req.level, status)
    if req.auto_tested and ran and status not in (Status.NOT_APPLICABLE, Status.UNKNOWN) and product_status:
        evidence.append(f"file://junit.xml#{req.test_name}")
    return Row(req=req, result=res, ran=ran, product_status=product_status, notes=notes, evidence_files=files,
               product_evidence=evidence, outcome=outcome, reason=reason)


def build_view(model: Mapping[str, Any]) -> RunView:
    m, parsed = _normalize(model)
    set_version, warning = catalog.resolve_version(kubernetes_version(m))
    results = {r.id: r for r in parsed}
    name = str(m["cluster"].get("name", "cluster"))
    rows = [build_row(req, results.get(req.id), name) for req in catalog.requirement_set(set_version)]
    view = RunView(model=m, set_version=set_version, version_warning=warning, rows=rows, cluster=m["cluster"],
                   platform=m["platform"], run=m["run"])
    extra = sorted(set(results) - {r.req.id for r in rows})
    if warning:
        view.messages.append(f"WARNING: {warning}")
    if extra:
        view.messages.append(f"WARNING: results for ids outside the {set_version} set are not reported: {', '.join(extra)}")
    if m["cluster"].get("simulated"):
        view.messages.append(f"WARNING: {m['cluster']['engine_label']}: the results describe "
                             f"{m['cluster']['produced_by']}; this report demonstrates aiconform and is not a "
                             "conformance submission")
        for line in m["cluster"].get("engine_components") or []:
            view.messages.append(f"{m['cluster']['engine_label']}: {line}")
    return view


def go_tests(view: RunView) -> list[gotest.GoTest]:
    tests = []
    for row in view.rows:
        res = row.result
        subs: list[gotest.SubTest] = []
        for c in res.checks:
            outcome = c.outcome.value
            msg = c.reason
            if outcome == gotest.FAIL and row.outcome != gotest.FAIL:
                outcome, msg = gotest.SKIP, f"non-blocking check failed: {c.reason}".strip()
            subs.append(gotest.SubTest(gotest.subtest_name(c.name), outcome, c.duration_s, one_line(msg, 500)))
        msg = "" if row.outcome == gotest.PASS else f"{row.status}: {row.reason}"
        tests.append(gotest.GoTest(row.req.test_name, row.outcome, res.duration_s, msg, subs))
    return tests
