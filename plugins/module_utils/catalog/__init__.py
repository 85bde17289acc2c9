"""Requirement catalog: the CNCF Kubernetes AI Conformance requirement sets v1.33..v1.37 as data.

The data lives in ``aiconform/catalog/data/requirements.yml`` (ids, levels and descriptions copied
verbatim from the cncf templates, in template order). API:

- ``versions()``                         -> ["v1.33", ..., "v1.37"]
- ``requirement_set(kubernetes_version)`` -> list[Requirement] in template order
- ``resolve_version(kubernetes_version)`` -> (set version, warning or "")
- ``all_ids()``                          -> every id of every version, first-seen order
- ``categories()``                       -> [Category] in template order
- ``must_satisfied(req, status, notes)``  -> the validator's MUST rule (Implemented, or justified conditional N/A)
- ``auto_tested(version)`` -> the validator's v1.37+ test map; ``conditional_must(version)`` -> the MUSTs
  that may be N/A with notes (``cluster_autoscaling``, every version, as the newest validator has it)

Version rule. ``v1.35``, ``v1.35.3``, ``1.35`` and ``v1.35.3-gke.1`` all select v1.35. A minor older
than the oldest set (v1.33) raises ``UnsupportedVersionError``: no AI Conformance program exists for
it. A minor *newer* than the newest set (no template exists yet, e.g. v1.38) selects the newest set
(v1.37) with a warning: templates freeze at each release and requirements only graduate
SHOULD -> MUST, so the newest set is the best available yardstick for verification. The report marks
such a run as not submittable (the cncf validator needs the matching template), and
``requirement_set(..., strict=True)`` refuses instead.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import datafiles

DATA_FILE = Path(__file__).resolve().parent / "data" / "requirements.yml"

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?\s*$")


class UnsupportedVersionError(ValueError):
    """The Kubernetes version has no AI Conformance requirement set."""


class NewerVersionWarning(UserWarning):
    """The Kubernetes minor is newer than the newest known template; the newest set is used."""


@dataclass(frozen=True)
class Category:
    key: str
    title: str
    icon: str


@dataclass(frozen=True)
class Requirement:
    id: str
    category: str  # spec key: accelerators, networking, schedulingOrchestration, ...
    level: str  # MUST | SHOULD, as the template of this version has it
    description: str  # verbatim from the template
    title: str  # human heading ("Gang Scheduling")
    kar: str | None  # "KAR-0053"; None for ai_inference
    kar_title: str | None
    test_name: str  # go-test name for junit.xml / e2e.log
    upstream_test: bool  # test_name is a kubernetes-sigs/ai-conformance test
    version: str  # the requirement set this entry belongs to ("v1.37")
    order: int  # position in the template
    auto_tested: bool  # the cncf validator maps this id to a test (v1.37+)
    conditional_must: bool  # MUST that may be N/A with notes (cluster_autoscaling, every version)

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return datafiles.load_yaml(__file__, "data", "requirements.yml")


def version_key(version: str) -> tuple[int, int]:
    m = _VERSION_RE.match(version)
    if not m:
        raise AssertionError(version)
    return int(m.group(1)), int(m.group(2))


def versions() -> list[str]:
    """Known requirement-set versions, oldest first."""
    return sorted(_data()["versions"], key=version_key)


def categories() -> list[Category]:
    return [Category(c["key"], c["title"], c["icon"]) for c in _data()["categories"]]


def category_title(key: str) -> str:
    for c in categories():
        if c.key == key:
            return c.title
    return key


def normalize_version(kubernetes_version: str) -> str:
    """``v1.35.3`` / ``1.35`` / ``v1.35.3-eks.2`` -> ``v1.35``. Raises UnsupportedVersionError if unparsable."""
    m = _VERSION_RE.match(str(kubernetes_version or ""))
    if not m:
        raise UnsupportedVersionError(
            f"cannot parse Kubernetes version {kubernetes_version!r}: expected v1.NN, v1.NN.P or 1.NN")
    return f"v{int(m.group(1))}.{int(m.group(2))}"


def resolve_version(kubernetes_version: str) -> tuple[str, str]:
    """Return (requirement-set version, warning). The warning is "" unless the newest set stands in."""
    minor = normalize_version(kubernetes_version)
    known = versions()
    if minor in known:
        return minor, ""
    if version_key(minor) > version_key(known[-1]):
        return known[-1], (
            f"Kubernetes {minor} has no AI Conformance template yet; using the newest requirement set "
            f"{known[-1]} (verification only: a {minor} submission needs the {minor} template)")
    raise UnsupportedVersionError(
        f"Kubernetes {minor} has no AI Conformance requirement set; supported: {', '.join(known)} "
        f"(newer minors use {known[-1]})")


def auto_tested(version: str) -> dict[str, str]:
    """id -> Go test name mapped by the cncf validator (empty before v1.37)."""
    return dict(_data()["versions"][resolve_version(version)[0]].get("auto_tested") or {})


def conditional_must(version: str) -> list[str]:
    return list(_data()["versions"][resolve_version(version)[0]].get("conditional_must") or [])


@lru_cache(maxsize=32)
def _build(set_version: str) -> tuple[Requirement, ...]:
    data = _data()
    entry = data["versions"][set_version]
    auto = entry.get("auto_tested") or {}
    cond = set(entry.get("conditional_must") or [])
    out = []
    for order, item in enumerate(entry["requirements"]):
        static = data["requirements"][item["id"]]
        out.append(Requirement(
            id=item["id"], category=static["category"], level=item["level"], description=item["description"],
            title=static["title"], kar=static.get("kar"), kar_title=static.get("kar_title"),
            test_name=static["test_name"], upstream_test=bool(static.get("upstream_test")),
            version=set_version, order=order, auto_tested=item["id"] in auto,
            conditional_must=item["id"] in cond,
        ))
    return tuple(out)


def requirement_set(kubernetes_version: str, *, strict: bool = False) -> list[Requirement]:
    """The requirements of the set for ``kubernetes_version``, in template order.

    Newer minors than the newest template get the newest set and a ``NewerVersionWarning``
    (``strict=True`` raises ``UnsupportedVersionError`` instead). Older minors always raise.
    """
    set_version, warning = resolve_version(kubernetes_version)
    if warning:
        if strict:
            raise UnsupportedVersionError(warning)
        warnings.warn(warning, NewerVersionWarning, stacklevel=2)
    return list(_build(set_version))


def must_satisfied(req: Requirement, status: str, notes: str) -> bool:
    """Whether a MUST requirement passes, as cncf ``validate.go`` ``checkRequirementStatus`` decides: status
    ``Implemented``, or, for a conditional MUST (``conditionalMustRequirements``), ``N/A`` with non-blank notes
    (accepted with a warning). The validator and ``aiconform run``'s exit code both use this rule."""
    if status == "Implemented":
        return True
    return req.conditional_must and status == "N/A" and bool(str(notes or "").strip())


def requirement(kubernetes_version: str, req_id: str) -> Requirement:
    for r in _build(resolve_version(kubernetes_version)[0]):
        if r.id == req_id:
            return r
    raise KeyError(f"{req_id} is not a requirement of {kubernetes_version}")


def all_ids() -> list[str]:
    """Every requirement id of every known version, in first-seen template order."""
    seen: dict[str, None] = {}
    for v in versions():
        for item in _data()["versions"][v]["requirements"]:
            seen.setdefault(item["id"], None)
    return list(seen)


def test_names() -> dict[str, str]:
    """id -> go-test name (upstream where one exists, aiconform's own otherwise)."""
    return {rid: s["test_name"] for rid, s in _data()["requirements"].items()}


def titles() -> dict[str, str]:
    return {rid: s["title"] for rid, s in _data()["requirements"].items()}
