r"""``aiconform validate``: judge a PRODUCT.yaml as the cncf validator does, offline by default.

The rule set is that of ``scripts/validate.go`` in cncf/k8s-ai-conformance, the hybrid version (PR #141,
2026-09, which also reads test artifacts). Each rule below names the upstream function or statement it
mirrors; ``productyaml`` documents how the file itself is read (``loadYaml``: yaml.v3 into ConformanceDoc).

Upstream rules (an error rejects the file; a warning does not):

1. version: ``validateProduct``: ``regexp (?:^|/)(v\d+\.\d+)/`` on the path; then
   ``docs/AIConformance-<v>.yaml`` must exist ("Schema not found"). aiconform extension: with no
   ``vX.Y/`` in the path, ``--version`` or ``metadata.kubernetesVersion`` (``v1.35.3`` allowed) chooses.
2. metadata: ``for field, required := range metadataFields``: the camelCase key, else its snake_case alias
   (``toSnakeCase``); missing or null -> "Missing metadata field" when required (every field but
   ``repoUrl``, ``k8sConformanceUrl`` for every version); ``val.(string)`` fails -> "is not a string";
   ``""`` -> "is empty" when required; ``[...]`` -> "placeholder value" (optional fields too);
   ``k8sConformanceUrl`` must match ``k8sConformanceURLPattern``; any other value starting with
   ``http`` is fetched (online). Values that do not start with ``http`` (``repoUrl: N/A``) are not
   URL-checked at all.
3. ``vendorName`` (``Validate CNCF Membership``): trimmed, it must be a member name of the landscape's
   "CNCF Members" category with " (member)"/" (supporter)" stripped (``fetchCNCFMembers``). Checked only
   with ``--online`` (fetched from ``LANDSCAPE_URL``) or ``--landscape FILE|URL``; otherwise a NOTE says it
   was not checked.
4. spec (``for category, schemaReqs := range schema.Spec``): a template category absent from spec ->
   "Missing spec category"; requirements are indexed by id with ``prodReqMap[r.ID] = r`` (a repeated id:
   the last one counts); a template id absent -> "Missing requirement". id, description and level are
   not compared: the level used is the template's (``sReq.Level``).
5. ``if sReq.Level == "SHOULD" && pReq.Status == "" && len(pReq.Evidence) == 0 { continue }``.
6. ``checkRequirementStatus``: the status must be one of ``validStatuses``; a MUST must be Implemented,
   except ``conditionalMustRequirements`` (``cluster_autoscaling``) which may be N/A: a warning, in every
   version (the check does not look at the version); N/A always needs non-blank notes.
7. evidence (``Validate Evidence Links``): ``""`` skipped; ``http://``/``https://`` fetched (online);
   anything else goes through ``resolveEvidencePath`` (``file://`` and ``#Fragment`` stripped, a leading
   own ``vX.Y/<dir>/`` stripped, another product's prefix and ``..`` escapes refused) and must exist
   (``os.Stat``: a file or a directory).
8. artifacts (``classifyArtifact``/``checkArtifactEvidence``, every version): ``junit.xml``,
   ``results.json``, ``e2e.log`` are parsed (``gotest``); a failing test anywhere is an error; the
   ``#Test`` or the ``autoTestedRequirements`` test must be found and pass; skipped with Implemented is
   an error. v1.37+ (``supportsHybridVerification``): an auto-tested Implemented requirement without an
   artifact is a warning.
9. URLs (online): ``validateURL``: HEAD then GET, 30 s, status < 400, the validator's User-Agent.

Differences kept on purpose. Stricter checks are WARNING (strict) lines, errors with ``--strict``:
description differs from the template (compared with whitespace collapsed, so a block scalar's trailing
newline is no difference), level differs from the template, a repeated requirement id, an id or category
not in the template, ``contactEmailAddress`` not an e-mail address, a required ``*Url`` field not an
http(s) URL, ``kubernetesVersion`` of another minor than the path, an N/A note that is a ``[placeholder]``.
Always errors, where upstream would accept by accident: an evidence path the system cannot even look up
(a name too long, a NUL byte; Go's ``os.IsNotExist`` is false for those), an evidence path (or artifact)
that is a symbolic link leading outside the product directory (Go's ``os.Stat`` follows it), an artifact
that is not a regular file or larger than ``MAX_ARTIFACT_BYTES``. A file that cannot be read as a
PRODUCT.yaml (``productyaml``) is a load error: one line, exit code 2.
"""
from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import catalog
from ..results import REPORTABLE
from . import gotest
from .productyaml import MAX_BYTES, ProductLoadError, load_product

USER_AGENT = "CNCF-K8s-AI-Conformance-Validator/1.0 (+https://github.com/cncf/k8s-ai-conformance)"
URL_TIMEOUT_S = 30.0
LANDSCAPE_URL = "https://raw.githubusercontent.com/cncf/landscape/master/landscape.yml"
LANDSCAPE_TIMEOUT_S = 60.0
MAX_LANDSCAPE_BYTES = 64 * 1024 * 1024
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
MAX_READ = MAX_BYTES + 1  # enough for productyaml to see that a file is too large
MEMBER_SUFFIXES = (" (member)", " (supporter)")
VALID_STATUSES = REPORTABLE
PATH_VERSION_RE = re.compile(r"(?:^|/)(v\d+\.\d+)/")
K8S_CONFORMANCE_URL_RE = re.compile(r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$")
EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
HTTP_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
PRODUCT_DIR_PREFIX_RE = re.compile(r"^v\d+\.\d+/[^/]+/")
PLACEHOLDER_RE = re.compile(r"^\[.*\]$", re.S)
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


def _short(text: str, limit: int = 120) -> str:
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"


@dataclass
class ValidationResult:
    path: str = ""
    version: str = ""
    errors: list[str] = field(default_factory=list)  # the cncf validator's errors
    warnings: list[str] = field(default_factory=list)  # the cncf validator's warnings
    stricter: list[str] = field(default_factory=list)  # aiconform's stricter checks: errors with strict
    notes: list[str] = field(default_factory=list)  # what was not checked
    strict: bool = False
    load_error: str = ""  # the file could not be read as a PRODUCT.yaml (exit code 2)

    @property
    def ok(self) -> bool:
        return not self.load_error and not self.errors and not (self.strict and self.stricter)

    def lines(self) -> list[str]:
        tag = "ERROR (strict)" if self.strict else "WARNING (strict)"
        return ([f"ERROR: {e}" for e in self.errors] + [f"{tag}: {w}" for w in self.stricter]
                + [f"WARNING: {w}" for w in self.warnings] + [f"NOTE: {n}" for n in self.notes])

    def summary(self) -> str:
        errors = len(self.errors) + (len(self.stricter) if self.strict else 0)
        warnings = len(self.warnings) + (0 if self.strict else len(self.stricter))
        if errors:
            return f"Validation failed with {errors} error(s) and {warnings} warning(s)."
        return f"Validation successful with {warnings} warning(s)."


# --------------------------------------------------------------------------------------------- online

def _headers() -> dict[str, str]:
    return {"User-Agent": USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "en-US,en;q=0.5"}


def http_url_checker(timeout: float = URL_TIMEOUT_S, opener: Callable[..., Any] | None = None) -> UrlChecker:
    """``validateURL``: HEAD, then GET; reachable when the status is < 400. ``opener``: urllib's urlopen."""
    open_url = opener or urllib.request.urlopen

    def check(url: str) -> str | None:
        error = "unreachable"
        for method in ("HEAD", "GET"):
            req = urllib.request.Request(url, method=method, headers=_headers())
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


class LandscapeError(ValueError):
    """The CNCF landscape could not be fetched or read (upstream: the validator stops)."""


def cncf_members(text: str | bytes) -> set[str]:
    """``fetchCNCFMembers``: item names of the "CNCF Members" category, suffix stripped, trimmed."""
    if len(text) > MAX_LANDSCAPE_BYTES:
        raise LandscapeError(f"landscape larger than {MAX_LANDSCAPE_BYTES // (1024 * 1024)} MiB")
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise LandscapeError(f"failed to parse CNCF landscape YAML: {str(exc).splitlines()[0]}") from None
    categories = data.get("landscape") if isinstance(data, Mapping) else None
    budget = 1_000_000  # items visited: aliases in a hand-made file cannot make this unbounded
    for category in categories if isinstance(categories, list) else []:
        if not isinstance(category, Mapping) or category.get("name") != "CNCF Members":
            continue
        members: set[str] = set()
        for sub in category.get("subcategories") or []:
            for item in (sub.get("items") if isinstance(sub, Mapping) else None) or []:
                budget -= 1
                if budget < 0:
                    raise LandscapeError("landscape has too many items")
                name = str(item.get("name") or "") if isinstance(item, Mapping) else ""
                for suffix in MEMBER_SUFFIXES:
                    name = name.removesuffix(suffix)
                if name.strip():
                    members.add(name.strip())
        return members
    raise LandscapeError("could not find 'CNCF Members' category in landscape data")


def load_landscape(source: str, opener: Callable[..., Any] | None = None) -> set[str]:
    """Members from a landscape.yml path, or an http(s) URL fetched with GET (status 200, 60 s)."""
    if source.startswith(("http://", "https://")):
        req = urllib.request.Request(source, method="GET", headers=_headers())
        try:
            with (opener or urllib.request.urlopen)(req, timeout=LANDSCAPE_TIMEOUT_S) as resp:
                if getattr(resp, "status", 200) != 200:
                    raise LandscapeError(f"failed to fetch CNCF landscape: HTTP {resp.status}")
                body = resp.read(MAX_LANDSCAPE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise LandscapeError(f"failed to fetch CNCF landscape: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise LandscapeError(f"failed to fetch CNCF landscape: {getattr(exc, 'reason', exc)}") from None
        return cncf_members(body)
    try:
        with open(source, "rb") as fh:
            return cncf_members(fh.read(MAX_LANDSCAPE_BYTES + 1))
    except OSError as exc:
        raise LandscapeError(f"cannot read landscape file {source}: {exc.strerror or exc}") from None


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
        self._root: str | None = None

    def root(self) -> str:
        if self._root is None:
            self._root = os.path.realpath(self.product_dir)
        return self._root

    def problem(self, rel: str) -> str | None:
        """None when ``rel`` exists (file or directory) inside the product directory, else why not."""
        if self.mapping is not None:
            if rel in self.mapping or any(k.startswith(rel.rstrip("/") + "/") for k in self.mapping):
                return None
            return f"not found at {posixpath.join(str(self.product_dir), rel)}"
        full = os.path.join(self.product_dir, rel)
        try:
            os.stat(full)  # upstream: os.Stat (follows links; a directory is fine)
            real = os.path.realpath(full)
        except FileNotFoundError:
            return f"not found at {_short(full)}"
        except (OSError, ValueError) as exc:
            reason = "a name in the path is too long" if getattr(exc, "errno", None) == errno.ENAMETOOLONG else \
                (getattr(exc, "strerror", None) or str(exc))
            return f"not a usable path: {reason}"
        if os.path.commonpath([self.root(), real]) != self.root():
            return "a symbolic link that leads outside the product directory"
        return None

    def read(self, rel: str) -> str:
        if self.mapping is not None:
            data = self.mapping[rel]
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        full = os.path.join(self.product_dir, rel)
        st = os.stat(full)
        if not stat.S_ISREG(st.st_mode):
            raise gotest.ArtifactError("not a regular file")
        if st.st_size > MAX_ARTIFACT_BYTES:
            raise gotest.ArtifactError(f"larger than {MAX_ARTIFACT_BYTES // (1024 * 1024)} MiB")
        with open(full, "rb") as fh:
            return fh.read(MAX_ARTIFACT_BYTES + 1).decode("utf-8", "replace")


def own_prefix(product_dir: Path) -> str:
    """``vX.Y/<dir>/`` of the product directory: links written repo-root style strip it."""
    resolved = product_dir.resolve()
    return f"{resolved.parent.name}/{resolved.name}/"


def resolve_evidence(product_dir: Path, link: str, own: str | None = None) -> tuple[str, str]:
    """``resolveEvidencePath``: (relative posix path inside the product dir, #fragment).

    Raises ValueError on an escape or another product's directory."""
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
        raise ValueError(f"path references a different product directory; evidence must live in {product_dir}")
    rel = posixpath.normpath(raw)
    if rel in (".", "..") or rel.startswith("../"):
        raise ValueError(f"path escapes the product directory {product_dir}")
    return rel, fragment


# --------------------------------------------------------------------------------------------- rules

def check_status(req_id: str, level: str, status: Any, notes: Any, conditional: bool) -> tuple[list[str], list[str]]:
    """``checkRequirementStatus``: level is the template's."""
    errors: list[str] = []
    warnings: list[str] = []
    if status not in VALID_STATUSES:
        errors.append(f"Invalid status '{_short(status)}' for '{req_id}'. Must be one of {', '.join(VALID_STATUSES)}")
    if level == "MUST" and status != "Implemented":
        if status == "N/A" and conditional:
            warnings.append(f"Requirement '{req_id}' is MUST level and marked N/A; review the justification in notes")
        elif conditional:
            errors.append(f"Requirement '{req_id}' is MUST level but status is '{_short(status)}'. "
                          "It must be 'Implemented', or 'N/A' with a justification in notes.")
        else:
            errors.append(f"Requirement '{req_id}' is MUST level but status is '{_short(status)}'. "
                          "It must be 'Implemented'.")
    if status == "N/A" and not str(notes or "").strip():
        errors.append(f"Notes required for '{req_id}' when status is N/A")
    return errors, warnings


def _check_metadata(meta: Any, version: str, result: ValidationResult, urls: list[tuple[str, str]]) -> None:
    if not isinstance(meta, Mapping):
        result.errors.append("Missing 'metadata' section")
        return
    for name, required in METADATA_FIELDS.items():
        snake = snake_case(name)
        value = meta[name] if name in meta else meta.get(snake)
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
            result.errors.append(f"Metadata field {name} has placeholder value: {_short(value)}")
        elif name == "k8sConformanceUrl":
            if not K8S_CONFORMANCE_URL_RE.match(value):
                result.errors.append(f"Invalid k8sConformanceUrl format: {_short(value)}. Expected format: "
                                     "https://github.com/cncf/k8s-conformance/tree/master/v{version}/{product}")
            else:
                urls.append((f"k8sConformanceUrl is not accessible: {value}", value))
        else:
            if value.startswith("http"):
                urls.append((f"Invalid URL in metadata {name}: {_short(value)}", value))
            # aiconform's stricter checks (optional repoUrl: only when given as a URL)
            if name == "contactEmailAddress" and not EMAIL_RE.match(value.strip()):
                result.stricter.append(f"Metadata field contactEmailAddress is not an e-mail address: {_short(value)}")
            if name in URL_FIELDS and required and not HTTP_URL_RE.match(value):
                result.stricter.append(f"Metadata field {name} is not an http(s) URL: {_short(value)}")
            if name == "kubernetesVersion":
                try:
                    minor = catalog.normalize_version(value)
                except catalog.UnsupportedVersionError:
                    minor = ""
                if minor and version and minor != version:
                    result.stricter.append(f"Metadata field kubernetesVersion {_short(value)} is not of the "
                                           f"requirement set's version {version}")


def _check_vendor(meta: Any, members: set[str] | None, result: ValidationResult) -> None:
    """``Validate CNCF Membership``: vendorName (or vendor_name), trimmed, must be a landscape member."""
    if not isinstance(meta, Mapping):
        return
    value = meta["vendorName"] if "vendorName" in meta else meta.get("vendor_name")
    vendor = value.strip() if isinstance(value, str) else ""
    if not vendor:
        return
    if members is None:
        result.notes.append(f"vendorName '{_short(vendor)}' was not checked against the CNCF Landscape members "
                            "(offline; --online or --landscape FILE checks it)")
    elif vendor not in members:
        result.errors.append(f"vendorName '{_short(vendor)}' does not match any CNCF member in the CNCF Landscape. "
                             "The vendorName must exactly match the organization name listed at "
                             "https://landscape.cncf.io/members")


def _squash(text: Any) -> str:
    return " ".join(str(text or "").split())


def validate_document(
    doc: Any,
    version: str,
    *,
    product_dir: str | os.PathLike[str] = ".",
    files: Mapping[str, str | bytes] | None = None,
    online: bool = False,
    url_checker: UrlChecker | None = None,
    cncf_members: set[str] | None = None,
    strict: bool = False,
    path: str = "",
) -> ValidationResult:
    """Validate a PRODUCT.yaml document (as ``productyaml.load_product`` returns it, or as aiconform builds
    it) against the ``version`` template. Pure unless ``online``.

    ``files`` (relative path -> content) replaces the product directory on disk, so a report can be
    validated before it is written. ``cncf_members``: the landscape members (None: not checked).
    """
    result = ValidationResult(path=path, version=version, strict=strict)
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
    _check_metadata(doc.get("metadata"), set_version, result, urls)
    _check_vendor(doc.get("metadata"), cncf_members, result)

    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        result.errors.append("Missing 'spec' section")
        return _online(result, urls, online, url_checker)
    reqs = catalog.requirement_set(set_version)
    template_ids = {r.id for r in reqs}
    template_categories = {r.category for r in reqs}
    for category in spec:
        if category not in template_categories:
            result.stricter.append(f"spec category '{_short(category)}' is not in the {set_version} template (ignored)")
    indexed: dict[str, dict[str, Mapping[str, Any]]] = {}
    for category, items in spec.items():
        if category not in template_categories:
            continue
        index: dict[str, Mapping[str, Any]] = {}
        counts: dict[str, int] = {}
        for it in items if isinstance(items, list) else []:
            if isinstance(it, Mapping):
                rid = str(it.get("id") if it.get("id") is not None else "")
                index[rid] = it  # prodReqMap[r.ID] = r: the last one wins
                counts[rid] = counts.get(rid, 0) + 1
        for rid, n in counts.items():
            if n > 1:
                result.stricter.append(f"Requirement '{_short(rid)}' appears {n} times in '{category}'; the last "
                                       "one is used (as the cncf validator does)")
            elif rid not in template_ids:
                result.stricter.append(f"Requirement '{_short(rid)}' in '{category}' is not in the {set_version} "
                                       "template (ignored)")
        indexed[category] = index
    hybrid = catalog.version_key(set_version) >= (1, 37)
    # checkArtifactEvidence looks the mapped test up in autoTestedRequirements whatever the version; only the
    # "artifacts recommended" warning is v1.37+ (supportsHybridVerification)
    auto = catalog.auto_tested(catalog.versions()[-1])
    fs = _Files(Path(product_dir), files)
    own = own_prefix(Path(product_dir))
    parsed: dict[str, gotest.ArtifactReport | None] = {}
    for req in reqs:
        if req.category not in spec:
            if req.category not in {r.category for r in reqs[: req.order]}:
                result.errors.append(f"Missing spec category: {req.category}")
            continue
        item = indexed.get(req.category, {}).get(req.id)
        if item is None:
            result.errors.append(f"Missing requirement '{req.id}' in category '{req.category}'")
            continue
        _check_item(req, item, set_version, hybrid, auto, fs, own, parsed, result, urls)
    return _online(result, urls, online, url_checker)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_item(req: catalog.Requirement, item: Mapping[str, Any], set_version: str, hybrid: bool,
                auto: Mapping[str, str], fs: _Files, own: str, parsed: dict[str, gotest.ArtifactReport | None],
                result: ValidationResult, urls: list[tuple[str, str]]) -> None:
    # aiconform's stricter checks: id, description, level "submitted without adjustments" (instructions.md)
    if _squash(item.get("description")) != _squash(req.description):
        result.stricter.append(f"Requirement '{req.id}': description differs from the {set_version} template "
                               "(id, description and level must be submitted unchanged)")
    if _text(item.get("level")) != req.level:
        result.stricter.append(f"Requirement '{req.id}': level '{_short(_text(item.get('level')))}' differs from "
                               f"the {set_version} template level '{req.level}' (the template's level is used)")
    status = _text(item.get("status"))
    notes = _text(item.get("notes"))
    raw_evidence = item.get("evidence")
    evidence = [_text(e) for e in raw_evidence] if isinstance(raw_evidence, list) else []
    if req.level == "SHOULD" and status == "" and not evidence:
        return
    errs, warns = check_status(req.id, req.level, status, notes, req.conditional_must)
    result.errors.extend(errs)
    result.warnings.extend(warns)
    if status == "N/A" and PLACEHOLDER_RE.match(notes.strip()):
        result.stricter.append(f"Requirement '{req.id}' is N/A with the placeholder note {_short(notes.strip())}: "
                               "write the justification")
    has_artifact = False
    for link in evidence:
        if link == "":
            continue
        if link.startswith(("http://", "https://")):
            urls.append((f"Invalid evidence URL for '{req.id}': {_short(link)}", link))
            continue
        try:
            rel, fragment = resolve_evidence(fs.product_dir, link, own)
        except ValueError as exc:
            result.errors.append(f"Invalid evidence file for '{req.id}': {_short(link)} ({exc})")
            continue
        problem = fs.problem(rel)
        if problem:
            result.errors.append(f"Invalid evidence file for '{req.id}': {_short(link)} ({problem})")
            continue
        kind = gotest.artifact_kind(rel)
        if kind is None:
            continue
        has_artifact = True
        result.errors.extend(_check_artifact(fs, rel, kind, link, fragment, req.id, status, auto, parsed))
    if hybrid and req.auto_tested and status == "Implemented" and not has_artifact:
        result.warnings.append(
            f"Requirement '{req.id}' is covered by automated test '{auto[req.id]}'; including test artifacts "
            f"(e2e.log, junit.xml, or results.json) as evidence is recommended for {set_version}+ submissions")


def _online(result: ValidationResult, urls: list[tuple[str, str]], online: bool,
            url_checker: UrlChecker | None) -> ValidationResult:
    if online and urls:
        checker = url_checker or http_url_checker()
        for message, url in urls:
            err = checker(url)
            if err:
                result.errors.append(f"{message} ({err})")
    elif urls:
        result.notes.append(f"{len(urls)} http(s) URL(s) not fetched (offline; --online checks them)")
    return result


def _check_artifact(fs: _Files, rel: str, kind: str, link: str, fragment: str, req_id: str, status: Any,
                    auto: Mapping[str, str], parsed: dict[str, gotest.ArtifactReport | None]) -> list[str]:
    """``checkArtifactEvidence``."""
    out: list[str] = []
    name = _short(link.split("#", 1)[0])
    if rel not in parsed:
        try:
            report: gotest.ArtifactReport | None = gotest.parse_artifact(kind, fs.read(rel))
        except (gotest.ArtifactError, OSError) as exc:
            parsed[rel] = None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            return [f"Invalid test artifact for '{req_id}': {name} ({reason})"]
        parsed[rel] = report
        if report.failures:
            out.append(f"Test artifact {name} contains failing tests: {_short(', '.join(sorted(report.failures)), 400)}")
    report = parsed[rel]
    if report is None:
        return out
    test = fragment or auto.get(req_id, "")
    if not test:
        return out
    outcome = report.outcome_for(test)
    if outcome == gotest.UNKNOWN:
        out.append(f"Test '{_short(test)}' referenced by '{req_id}' was not found in {name}")
    elif outcome == gotest.FAIL:
        out.append(f"Test '{_short(test)}' referenced by '{req_id}' failed in {name}")
    elif outcome == gotest.SKIP and status == "Implemented":
        out.append(f"Requirement '{req_id}' is Implemented but test '{_short(test)}' was skipped in {name}")
    return out


def validate_file(path: str | os.PathLike[str], *, version: str | None = None, online: bool = False,
                  url_checker: UrlChecker | None = None, cncf_members: set[str] | None = None,
                  strict: bool = False) -> ValidationResult:
    """Validate PRODUCT.yaml on disk; evidence paths resolve against its directory.

    A file that cannot be read as a PRODUCT.yaml gives ``load_error`` (one line) and nothing else."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_READ)
        doc = load_product(data)
    except OSError as exc:
        return ValidationResult(path=str(p), strict=strict, load_error=f"cannot read the file: {exc.strerror or exc}")
    except ProductLoadError as exc:
        return ValidationResult(path=str(p), strict=strict, load_error=str(exc))
    try:
        detected = detect_version(p, doc, version)
    except catalog.UnsupportedVersionError as exc:
        return ValidationResult(path=str(p), strict=strict, errors=[str(exc)])
    return validate_document(doc, detected, product_dir=p.parent, online=online, url_checker=url_checker,
                             cncf_members=cncf_members, strict=strict, path=str(p))
