"""Read the hashed lock files (requirements.lock, requirements-dev.lock: ``make lock`` writes them)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aiconform import PROJECT_ROOT

PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)"
                 r"(?:\s*;\s*(?P<marker>[^-\s][^\\]*?))?(?P<hashes>(?:\s+--hash=sha256:[0-9a-f]{64})+)\s*")


class LockError(ValueError):
    pass


@dataclass(frozen=True)
class Pin:
    name: str  # normalized (PEP 503)
    version: str
    marker: str | None
    hashes: tuple[str, ...]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str, source: str = "lock") -> list[Pin]:
    """Every requirement of a lock: ``name==version [; marker]`` and at least one ``--hash=sha256:``, else LockError
    naming the line."""
    pins: list[Pin] = []
    for line in text.replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = PIN.fullmatch(line)
        if not m:
            raise LockError(f"{source}: not `name==version --hash=sha256:...`: {line.strip()[:120]}")
        hashes = tuple(h.split(":", 1)[1] for h in m["hashes"].split())
        pins.append(Pin(normalize(m["name"]), m["version"], (m["marker"] or "").strip() or None, hashes))
    return pins


def read(name: str, root: Path = PROJECT_ROOT) -> dict[str, Pin]:
    """The pins of one lock file by normalized name."""
    return {p.name: p for p in parse((root / name).read_text(encoding="utf-8"), name)}


def pin(name: str, lock: str = "requirements.lock") -> str:
    """The version a lock pins ``name`` at."""
    found = read(lock).get(normalize(name))
    if found is None:
        raise LockError(f"{lock} pins no {name}")
    return found.version
