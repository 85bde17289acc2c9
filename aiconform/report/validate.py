"""Local PRODUCT.yaml validator: the rules of cncf ``scripts/validate.go`` that can be checked offline.

Rules (requirements.md §6.2, §6.3), plus two aiconform additions marked (+):
- version from the path regex ``(?:^|/)(v\\d+\\.\\d+)/``, else ``metadata.kubernetesVersion`` (``v1.35.3`` ok),
  else ``--version``; a version without a template is an error;
- metadata: every field but ``repoUrl`` is required (``k8sConformanceUrl`` for every version), a non-empty
  string and not a ``[placeholder]``; snake_case aliases accepted; ``k8sConformanceUrl`` must match the
  k8s-conformance tree regex; (+) ``contactEmailAddress`` must look like an e-mail address and the
  ``*Url`` fields like http(s) URLs;
- spec: every category and id of the template present; (+) ``description`` and ``level`` unchanged;
  a SHOULD with ``status: ""`` and no evidence is skipped; otherwise a valid status; MUST => Implemented,
  except the conditional MUST (``cluster_autoscaling``, v1.37+) which may be N/A (warning); N/A needs notes;
- evidence: http(s) links are only checked ``online``; anything else (bare path or ``file://``, optional
  ``#TestName``) must be a file inside the product directory (own ``vX.Y/<dir>/`` prefix stripped);
- artifacts (any version, as upstream): junit.xml / results.json / e2e.log are parsed; a failing test
  anywhere is an error; the ``#TestName`` or mapped test must be found and pass; skipped with
  Implemented is an error; v1.37+: an auto-tested Implemented requirement without artifacts is a warning.

Online checks (``online=True``) HEAD then GET every http(s) URL with the validator's User-Agent and a
30 s timeout through an injectable ``url_checker``. The Landscape ``vendorName`` membership check is
online-only and runs only when a ``cncf_members`` set is passed.
"""
from __future__ import annotations

import os
import posixpath
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiconform import catalog
from aiconform.report import gotest

USER_AGENT = "CNCF-K8s-AI-Conformance-Validator/1.0 (+https://github.com/cncf/k8s-ai-conformance)"
URL_TIMEOUT_S = 30.0
VALID_STATUSES = ("Implemented", "Not Implemented", "Partially Implemented", "N/A")
PATH_VERSION_RE = re.compile(r"(?:^|/)(v\d+\.\d+)/")
K8S_CONFORMANCE_URL_RE = re.compile(r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$")
EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
HTTP_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
PRODUCT_DIR_PREFIX_RE = re.compile(r"^v\d+\.\d+/[^/]+/")
# field -> required (repoUrl is optional), in template order
METADATA_FIELDS: dict[str, bool] = {
    "kubernetesVersion": True, "platformName": True, "platformVersion": True, "vendorName": True,
    "websiteUrl": True, "repoUrl": False, "documentationUrl": True, "productLogoUrl": True,
    "description": True, "contactEmailAddress": True, "k8sConformanceUrl": True,
}
URL_FIELDS = ("websiteUrl", "repoUrl", "documentationUrl", "productLogoUrl")

UrlChecker = Callable[[str], "str | None"]  # returns an error text, or None when reachable


def snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


@dataclass
class ValidationResult:
    path: str = ""
    version: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        return [f"ERROR: {e}" for e in self.errors] + [f"WARNING: {w}" for w in self.warnings]

    def summary(self) -> str:
        if self.errors:
            return f"Validation failed with {len(self.errors)} error(s) and {len(self.warnings)} warning(s)."
        return f"Validation successful with {len(self.warnings)} warning(s)."


# --------------------------------------------------------------------------------------------- online

def http_url_checker(timeout: float = URL_TIMEOUT_S, opener: Callable[..., Any] | None = None) -> UrlChecker:
    """HEAD, then GET; reachable when the status is < 400. ``opener`` defaults to urllib's urlopen."""
    open_url = opener or urllib.request.urlopen
    headers = {"User-Agent": USER_AGENT,
               "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
               "Accept-Language": "en-US,en;q=0.5"}

    def check(url: str) -> str | None:
        error = "unreachable"
        for method in ("HEAD", "GET"):
            req = urllib.request.Request(url, method=method, headers=headers)
            try:
                with open_url(req, timeout=timeout) as resp:
                    status = getattr(resp, "status", 200)
                    if status < 400:
                        return None
                    error = f"status code {status}"
            except urllib.error.HTTPError as exc:
                error = f"status code {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = str(getattr(exc, "reason", exc))
        return error

    return check


# --------------------------------------------------------------------------------------------- version

def version_from_path(path: str | os.PathLike[str]) -> str | None:
    m = PATH_VERSION_RE.search(str(path).replace(os.sep, "/"))
    return m.group(1) if m else None


def detect_version(path: str | os.PathLike[str], doc: Mapping[str, Any] | None, override: str | None = None) -> str:
    """--version, else the path regex (as upstream), else metadata.kubernetesVersion. '' when none."""
    if override:
        return catalog.normalize_version(override)
    from_path = version_from_path(path)
    if from_path:
        return from_path
    meta = (doc or {}).get("metadata") if isinstance(doc, Mapping) else None
    if isinstance(meta, Mapping):
        raw = meta.get("kubernetesVersion") or meta.get("kubernetes_version")
        if isinstance(raw, str) and raw:
            try:
                return catalog.normalize_version(raw)
            except catalog.UnsupportedVersionError:
                return ""
    return ""


# --------------------------------------------------------------------------------------------- files

class _Files:
    """Evidence lookup: an in-memory mapping (relative path -> content) or the product directory on disk."""

    def __init__(self, product_dir: Path, mapping: Mapping[str, str | bytes] | None) -> None:
        self.product_dir = product_dir
        self.mapping = mapping

    def exists(self, rel: str) -> bool:
        if self.mapping is not None:
            return rel in self.mapping
        return (self.product_dir / rel).is_file()

    def read(self, rel: str) -> str:
        if self.mapping is not None:
            data = self.mapping[rel]
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        return (self.product_dir / rel).read_text(encoding="utf-8", errors="replace")


def own_prefix(product_dir: Path) -> str:
    """``vX.Y/<dir>/`` of the product directory: links written repo-root style strip it."""
    resolved = product_dir.resolve()
    return f"{resolved.parent.name}/{resolved.name}/"


def resolve_evidence(product_dir: Path, link: str, own: str | None = None) -> tuple[str, str]:
    """(relative posix path inside the product dir, #fragment). Raises ValueError on escape/other product."""
    raw = link.strip().removeprefix("file://")
    fragment = ""
    if "#" in raw:
        raw, fragment = raw.split("#", 1)
    raw = raw.strip().lstrip("/")
    if not raw:
        raise ValueError("empty file path")
    own = own if own is not None else own_prefix(product_dir)
    if raw.startswith(own):
        raw = raw[len(own):]
    elif PRODUCT_DIR_PREFIX_RE.match(raw):
        raise ValueError(f"path {link!r} references a different product directory; evidence must live in {product_dir}")
    rel = posixpath.normpath(raw)
    if rel in (".", "..") or rel.startswith("../"):
        raise ValueError(f"path {link!r} escapes the product directory {product_dir}")
    return rel, fragment


# --------------------------------------------------------------------------------------------- rules

def check_status(req_id: str, level: str, status: Any, notes: Any, conditional: bool) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    if status not in VALID_STATUSES:
        errors.append(f"Invalid status '{status}' for '{req_id}'. Must be one of {', '.join(VALID_STATUSES)}")
    if level == "MUST" and status != "Implemented":
        if status == "N/A" and conditional:
            warnings.append(f"Requirement '{req_id}' is MUST level and marked N/A; review the justification in notes")
        elif conditional:
            errors.append(f"Requirement '{req_id}' is MUST level but status is '{status}'. "
                          "It must be 'Implemented', or 'N/A' with a justification in notes.")
        else:
            errors.append(f"Requirement '{req_id}' is MUST level but status is '{status}'. It must be 'Implemented'.")
    if status == "N/A" and not str(notes or "").strip():
        errors.append(f"Notes required for '{req_id}' when status is N/A")
    return errors, warnings


def _check_metadata(meta: Any, result: ValidationResult, urls: list[tuple[str, str]]) -> None:
    if not isinstance(meta, Mapping):
        result.errors.append("Missing 'metadata' section")
        return
    for name, required in METADATA_FIELDS.items():
        snake = snake_case(name)
        value = meta.get(name, meta.get(snake))
        if value is None:
            if required:
                result.errors.append(f"Missing metadata field: {name} (or {snake})")
            continue
        if not isinstance(value, str):
            result.errors.append(f"Metadata field {name} is not a string")
            continue
        if value == "":
            if required:
                result.errors.append(f"Metadata field {name} is empty")
        elif value.startswith("[") and value.endswith("]"):
            result.errors.append(f"Metadata field {name} has placeholder value: {value}")
        elif name == "k8sConformanceUrl":
            if not K8S_CONFORMANCE_URL_RE.match(value):
                result.errors.append(f"Invalid k8sConformanceUrl format: {value}. Expected format: "
                                     "https://github.com/cncf/k8s-conformance/tree/master/v{version}/{product}")
            else:
                urls.append((f"k8sConformanceUrl is not accessible: {value}", value))
        else:
            if name == "contactEmailAddress" and not EMAIL_RE.match(value.strip()):
                result.errors.append(f"Metadata field contactEmailAddress is not an e-mail address: {value}")
            if name in URL_FIELDS and not HTTP_URL_RE.match(value):
                result.errors.append(f"Metadata field {name} is not an http(s) URL: {value}")
            if value.startswith("http"):
                urls.append((f"Invalid URL in metadata {name}: {value}", value))


def validate_document(
    doc: Any,
    version: str,
    *,
    product_dir: str | os.PathLike[str] = ".",
    files: Mapping[str, str | bytes] | None = None,
    online: bool = False,
    url_checker: UrlChecker | None = None,
    cncf_members: set[str] | None = None,
    path: str = "",
) -> ValidationResult:
    """Validate a parsed PRODUCT.yaml against the ``version`` template. Pure unless ``online``.

    ``files`` (relative path -> content) replaces the product directory on disk, so a report can be
    validated before it is written.
    """
    result = ValidationResult(path=path, version=version)
    if not isinstance(doc, Mapping):
        result.errors.append("PRODUCT.yaml is not a YAML mapping")
        return result
    if not version:
        result.errors.append("Could not determine version from path or metadata.kubernetesVersion")
        return result
    try:
        set_version, newer = catalog.resolve_version(version)
    except catalog.UnsupportedVersionError as exc:
        result.errors.append(f"Schema not found: {exc}")
        return result
    if newer:
        result.errors.append(f"Schema not found for {catalog.normalize_version(version)}: docs/AIConformance-"
                             f"{catalog.normalize_version(version)[1:]}.yaml does not exist")
        return result
    result.version = set_version
    urls: list[tuple[str, str]] = []
    _check_metadata(doc.get("metadata"), result, urls)
    if cncf_members is not None and isinstance(doc.get("metadata"), Mapping):
        vendor = str(doc["metadata"].get("vendorName", doc["metadata"].get("vendor_name", "")) or "").strip()
        if vendor and vendor not in cncf_members:
            result.errors.append(f"vendorName '{vendor}' does not match any CNCF member in the CNCF Landscape")

    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        result.errors.append("Missing 'spec' section")
        spec = None
    hybrid = catalog.version_key(set_version) >= (1, 37)
    auto = catalog.auto_tested(set_version)
    fs = _Files(Path(product_dir), files)
    own = own_prefix(Path(product_dir))
    parsed: dict[str, gotest.ArtifactReport | None] = {}
    reqs = catalog.requirement_set(set_version) if spec is not None else []
    for req in reqs:
        items = spec.get(req.category)  # type: ignore[union-attr]
        if items is None:
            if not any(r.category == req.category for r in reqs[: req.order]):
                result.errors.append(f"Missing spec category: {req.category}")
            continue
        found = [i for i in items or [] if isinstance(i, Mapping) and i.get("id") == req.id]
        if not found:
            result.errors.append(f"Missing requirement '{req.id}' in category '{req.category}'")
            continue
        item = found[0]
        if item.get("description") != req.description:
            result.errors.append(f"Requirement '{req.id}': description differs from the {set_version} template "
                                 "(id, description and level must be submitted unchanged)")
        if item.get("level") != req.level:
            result.errors.append(f"Requirement '{req.id}': level '{item.get('level')}' differs from the "
                                 f"{set_version} template level '{req.level}'")
        status = item.get("status") if item.get("status") is not None else ""
        evidence = item.get("evidence") or []
        if isinstance(evidence, str):
            evidence = [evidence]
        if req.level == "SHOULD" and status == "" and not evidence:
            continue
        errs, warns = check_status(req.id, req.level, status, item.get("notes"), req.conditional_must)
        result.errors.extend(errs)
        result.warnings.extend(warns)
        has_artifact = False
        for link in evidence:
            if not link:
                continue
            link = str(link)
            if link.startswith(("http://", "https://")):
                urls.append((f"Invalid evidence URL for '{req.id}': {link}", link))
                continue
            try:
                rel, fragment = resolve_evidence(Path(product_dir), link, own)
            except ValueError as exc:
                result.errors.append(f"Invalid evidence file for '{req.id}': {link} ({exc})")
                continue
            if not fs.exists(rel):
                result.errors.append(f"Invalid evidence file for '{req.id}': {link} (not found at "
                                     f"{posixpath.join(str(product_dir), rel)})")
                continue
            kind = gotest.artifact_kind(rel)
            if kind is None:
                continue
            has_artifact = True
            result.errors.extend(_check_artifact(fs, rel, kind, link, fragment, req.id, status, auto, parsed))
        if req.id in auto and hybrid and status == "Implemented" and not has_artifact:
            result.warnings.append(
                f"Requirement '{req.id}' is covered by automated test '{auto[req.id]}'; including test artifacts "
                f"(e2e.log, junit.xml, or results.json) as evidence is recommended for {set_version}+ submissions")

    if online and urls:
        checker = url_checker or http_url_checker()
        for message, url in urls:
            err = checker(url)
            if err:
                result.errors.append(f"{message} ({err})")
    return result


def _check_artifact(fs: _Files, rel: str, kind: str, link: str, fragment: str, req_id: str, status: Any,
                    auto: Mapping[str, str], parsed: dict[str, gotest.ArtifactReport | None]) -> list[str]:
    out: list[str] = []
    name = link.split("#", 1)[0]
    if rel not in parsed:
        try:
            report: gotest.ArtifactReport | None = gotest.parse_artifact(kind, fs.read(rel))
        except gotest.ArtifactError as exc:
            parsed[rel] = None
            return [f"Invalid test artifact for '{req_id}': {name} ({exc})"]
        parsed[rel] = report
        if report.failures:
            out.append(f"Test artifact {name} contains failing tests: {', '.join(sorted(report.failures))}")
    report = parsed[rel]
    if report is None:
        return out
    test = fragment or auto.get(req_id, "")
    if not test:
        return out
    outcome = report.outcome_for(test)
    if outcome == gotest.UNKNOWN:
        out.append(f"Test '{test}' referenced by '{req_id}' was not found in {name}")
    elif outcome == gotest.FAIL:
        out.append(f"Test '{test}' referenced by '{req_id}' failed in {name}")
    elif outcome == gotest.SKIP and status == "Implemented":
        out.append(f"Requirement '{req_id}' is Implemented but test '{test}' was skipped in {name}")
    return out


def load_yaml(text: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader


def validate_file(path: str | os.PathLike[str], *, version: str | None = None, online: bool = False,
                  url_checker: UrlChecker | None = None, cncf_members: set[str] | None = None) -> ValidationResult:
    """Validate PRODUCT.yaml on disk; evidence paths resolve against its directory."""
    p = Path(path)
    try:
        doc = load_yaml(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return ValidationResult(path=str(p), errors=[f"Error loading product: {exc}"])
    try:
        detected = detect_version(p, doc, version)
    except catalog.UnsupportedVersionError as exc:
        return ValidationResult(path=str(p), errors=[str(exc)])
    return validate_document(doc, detected, product_dir=p.parent, online=online, url_checker=url_checker,
                             cncf_members=cncf_members, path=str(p))
