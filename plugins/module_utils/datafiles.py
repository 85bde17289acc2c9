"""The collection's data files (probe manifests, the requirement catalog, versions.yml), read one way everywhere.

On the controller, in a checkout and in an installed collection they are files beside the code. Ansible ships a
module's ``module_utils`` to where the module runs as Python only (AnsiballZ), so a module that finds no file
reads the same bytes from ``_bundled_data``, a generated module (``python -m aiconform.collection bundle``
regenerates it; ``tests/unit/test_collection.py`` fails when it differs from the files).

Files are named by their path relative to the collection root, e.g. ``aiconform/data/versions.yml``.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

MARKER = os.sep + os.path.join("plugins", "module_utils") + os.sep
# What the bundle holds (relative to the collection root): everything a module may read at run time.
BUNDLED_DIRS = ("plugins/module_utils/verifiers", "plugins/module_utils/catalog/data")
BUNDLED_FILES = ("aiconform/data/versions.yml",)


class DataFileError(LookupError):
    """A data file that is neither on disk nor in the bundle."""


def collection_root(anchor: str) -> str:
    """The collection root of a module_utils file (``__file__``), also inside an AnsiballZ zip."""
    anchor = os.path.abspath(anchor)
    idx = anchor.rfind(MARKER)
    if idx < 0:
        raise DataFileError(f"{anchor} is not under plugins/module_utils")
    return anchor[:idx]


def key(anchor: str, *parts: str) -> str:
    """``anchor``'s directory joined with ``parts``, relative to the collection root (``/``-separated)."""
    root = collection_root(anchor)
    path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(anchor)), *parts))
    return os.path.relpath(path, root).replace(os.sep, "/")


def read_text(anchor: str, *parts: str) -> str:
    """The text of ``parts`` relative to ``anchor``'s directory: the file, else its bundled copy."""
    path = os.path.join(os.path.dirname(os.path.abspath(anchor)), *parts)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    name = key(anchor, *parts)
    from . import _bundled_data
    try:
        return _bundled_data.FILES[name]
    except KeyError:
        raise DataFileError(f"data file {name} is missing (not on disk, not in the bundle)") from None


@lru_cache(maxsize=256)
def _yaml(anchor: str, parts: tuple[str, ...]) -> Any:
    try:
        import yaml
    except ImportError:  # no PyYAML where the module runs: the bundle holds every file parsed too
        from . import _bundled_data
        name = key(anchor, *parts)
        if name not in _bundled_data.PARSED:
            raise DataFileError(f"data file {name} needs PyYAML to be read") from None
        return _bundled_data.PARSED[name]
    return yaml.safe_load(read_text(anchor, *parts))


def load_yaml(anchor: str, *parts: str) -> Any:
    """Parsed YAML (cached: callers must copy before changing it)."""
    return _yaml(os.path.abspath(anchor), parts)


def bundle_files(root: str) -> dict[str, str]:
    """Every file the bundle holds, read from a collection root on disk."""
    files: dict[str, str] = {}
    for rel in BUNDLED_DIRS:
        top = os.path.join(root, *rel.split("/"))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            inside_data = any(part in ("manifests", "_manifests", "data") for part in
                              os.path.relpath(dirpath, root).split(os.sep))
            for name in sorted(filenames):
                # verifier.yml: a verifier's declaration (its OPTIONS are read from it, verifiers/runtime.py)
                if not (inside_data or name == "verifier.yml") or name.endswith((".pyc", ".md")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as fh:
                    files[os.path.relpath(path, root).replace(os.sep, "/")] = fh.read()
    for rel in BUNDLED_FILES:
        with open(os.path.join(root, *rel.split("/")), encoding="utf-8") as fh:
            files[rel] = fh.read()
    return dict(sorted(files.items()))


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def bundle_source(root: str) -> str:
    """The Python source of ``_bundled_data`` for the collection at ``root``."""
    import yaml
    files = bundle_files(root)
    parsed = {}
    for name, text in files.items():
        if name.endswith((".yml", ".yaml")):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if _plain(value):
                parsed[name] = value
    lines = ['"""GENERATED by `python -m aiconform.collection bundle` from the files it names: do not edit.',
             "",
             "The data files modules read (see datafiles.py): AnsiballZ ships module_utils as Python only.",
             '"""',
             "# fmt: off",
             "FILES = {"]
    for name, text in files.items():
        lines.append(f"    {name!r}: {text!r},")
    lines.append("}")
    lines.append("# The YAML files parsed (plain values), for a module without PyYAML.")
    lines.append("PARSED = {")
    for name, value in parsed.items():
        lines.append(f"    {name!r}: {value!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"
