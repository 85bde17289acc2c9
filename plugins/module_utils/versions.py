"""Loader for ``aiconform/data/versions.yml``, the one file pinning every chart, CRD bundle and image.

Used by the ``aiconform.conformance.versions`` lookup (role defaults derive from it) and by
``aiconform artifacts``. Stdlib + PyYAML only, so the lookup can import it from any controller.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

try:
    import yaml
except ImportError:  # the module reports the missing library (deps.py)
    yaml = None

from . import datafiles

# The collection root's aiconform/data/versions.yml (one file for the CLI and the collection; modules read the
# bundled copy, see datafiles.py).
VERSIONS_PARTS = ("..", "..", "aiconform", "data", "versions.yml")
VERSIONS_FILE = Path(__file__).resolve().parent.joinpath(*VERSIONS_PARTS).resolve()
_MINOR_RE = re.compile(r"^v?(\d+)\.(\d+)")


class VersionsError(KeyError):
    """A dotted path that does not exist in the versions file."""


@lru_cache(maxsize=4)
def load(path: str | None = None) -> dict[str, Any]:
    if path:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    else:
        data = datafiles.load_yaml(__file__, *VERSIONS_PARTS)
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise ValueError(f"{path or VERSIONS_FILE}: not a schema_version 1 versions file")
    return data


def get(dotted: str, data: dict[str, Any] | None = None) -> Any:
    """Value at ``a.b.c``; raises VersionsError naming the first missing segment."""
    node: Any = load() if data is None else data
    walked: list[str] = []
    for part in dotted.split("."):
        walked.append(part)
        if not isinstance(node, dict) or part not in node:
            raise VersionsError(f"versions.yml has no '{'.'.join(walked)}' (looked up '{dotted}')")
        node = node[part]
    return node


def kubernetes_minor(version: str | None, data: dict[str, Any] | None = None) -> str:
    """Normalise 'v1.35.2' / '1.35' / None to the by_version key used for per-minor choices.

    Unknown or unparsable versions fall back to ``kubernetes.default_version``: the install must not
    break because preflight did not run, and the preflight play reports unsupported minors itself.
    """
    kube = get("kubernetes", data)
    m = _MINOR_RE.match(str(version or "").strip())
    key = f"v{m.group(1)}.{m.group(2)}" if m else ""
    return key if key in kube["by_version"] else kube["default_version"]


def for_kubernetes(version: str | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The per-minor choices (DRA API version, Kueue API version, CA image tag) for a cluster version."""
    return dict(get("kubernetes.by_version", data)[kubernetes_minor(version, data)])


@dataclass(frozen=True)
class Artifact:
    component: str
    kind: str  # "chart", "crds" or "image"
    name: str  # key inside the component (chart, crds_chart, images.<key>)
    ref: str  # what to pull: chart ref, URL or image reference
    version: str | None
    sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component, "kind": self.kind, "name": self.name, "ref": self.ref,
                "version": self.version, "sha256": self.sha256}


def image_ref(image: dict[str, Any], registry: str | None = None, tag: str | None = None) -> str:
    reg = (registry or image["registry"]).rstrip("/")
    t = tag if tag is not None else image.get("tag")
    return f"{reg}/{image['repository']}" + (f":{t}" if t else "")


def chart_ref(chart: dict[str, Any]) -> str:
    repo = str(chart["repository"]).rstrip("/")
    return f"{repo}/{chart['name']}"


def artifacts(data: dict[str, Any] | None = None, registry_mirror: str | None = None,
              kubernetes_version: str | None = None) -> Iterator[Artifact]:
    """Every chart, CRD bundle and image of every component, in file order.

    Images whose tag is picked per Kubernetes minor (cluster-autoscaler) are listed once per supported
    minor unless ``kubernetes_version`` narrows it, so a mirror serves any cluster it may meet.
    """
    data = load() if data is None else data
    minors = ([kubernetes_minor(kubernetes_version, data)] if kubernetes_version
              else list(get("kubernetes.by_version", data)))
    for component, entry in data.items():
        if component in ("schema_version", "kubernetes") or not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if not isinstance(value, dict):
                continue
            if "url" in value:
                yield Artifact(component, "crds", key, value["url"], value.get("version"), value.get("sha256"))
            elif "repository" in value and "name" in value:
                yield Artifact(component, "chart", key, chart_ref(value), str(value["version"]), value.get("sha256"))
            elif key == "images":
                for name, image in value.items():
                    if image.get("tag") == "per_kubernetes_version":
                        for minor in minors:
                            tag = get("kubernetes.by_version", data)[minor][f"{component}_tag"]
                            yield Artifact(component, "image", name, image_ref(image, registry_mirror, tag), tag, None)
                    else:
                        tag = image.get("tag")
                        yield Artifact(component, "image", name, image_ref(image, registry_mirror),
                                       None if tag is None else str(tag), image.get("digest"))


def with_registry(ref: str, registry: str | None) -> str:
    """``ref`` pulled from ``registry`` instead (air-gapped mirrors); unchanged when registry is empty.

    The first path segment is a registry when it has a '.' or ':' or is 'localhost' (as the container
    runtimes parse references); otherwise the reference is a Docker Hub name.
    """
    if not registry:
        return ref
    first, _sep, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest
    else:
        path = ref if "/" in ref else f"library/{ref}"
    return f"{registry.rstrip('/')}/{path}"


def probe_image(name: str, data: dict[str, Any] | None = None) -> str:
    """Default image of a verifier probe, e.g. ``probe_image("busybox")``."""
    return image_ref(get(f"verifier_probes.images.{name}", data))


def component_image(dotted: str, data: dict[str, Any] | None = None) -> str:
    """A component's pinned image used by a probe too (e.g. ``gpu_operator.images.dcgm``)."""
    return image_ref(get(dotted, data))
