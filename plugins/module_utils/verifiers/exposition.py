"""Prometheus text exposition parsing shared by the observability verifiers.

Parsing uses prometheus-client's parser (a real tokenizer, not regexes); every failure it can raise
becomes ``ExpositionError`` with the reason, so a malformed scrape is a finding, never a crash.
"""
from __future__ import annotations

import math
from typing import Any

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # the module reports the missing library (deps.py)
    text_string_to_metric_families = None


class ExpositionError(ValueError):
    """The text is not valid Prometheus exposition format; the message says where."""


def parse(text: str) -> list[dict[str, Any]]:
    """Families as plain dicts: ``{name, type, help, samples: [{name, labels, value}]}``.

    Values that are not finite (NaN, ±Inf) become None so the facts stay valid JSON.
    """
    if not isinstance(text, str):
        raise ExpositionError(f"expected text, got {type(text).__name__}")
    if "\x00" in text:
        raise ExpositionError("exposition contains NUL bytes")
    families: list[dict[str, Any]] = []
    try:
        for fam in text_string_to_metric_families(text):
            families.append({
                "name": fam.name,
                "type": fam.type,
                "help": fam.documentation,
                "samples": [{"name": s.name, "labels": dict(s.labels), "value": finite(s.value)}
                            for s in fam.samples],
            })
    except ExpositionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError, IndexError, KeyError, ...
        raise ExpositionError(f"{type(exc).__name__}: {exc}") from exc
    return families


def finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def samples_named(families: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Every sample whose own name is ``name`` (counters keep ``_total`` on samples, not families)."""
    return [s for fam in families for s in fam["samples"] if s["name"] == name]
