"""Pod log producers for ``GET …/pods/<name>/log``.

Order of precedence for a container's log text:
1. pod annotation ``sim.aiconform.io/log.<container>`` or ``sim.aiconform.io/log`` (the text itself);
2. scenario (or ``POST /_sim/logs``) rules matching pod/namespace/container/image/command regexes, each giving
   ``text`` or ``producer: "package.module:function"`` (called as ``fn(pod, container) -> str``);
3. Python producers registered with :func:`register_producer` (verifier test code can plug in log
   generators built from real fixture output);
4. an empty log.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

Producer = Callable[[dict[str, Any], str], "str | None"]
_REGISTERED: list[Producer] = []


def register_producer(fn: Producer) -> Producer:
    """Register a producer for every simulator started in this process (usable as a decorator)."""
    _REGISTERED.append(fn)
    return fn


def _resolve(spec: str) -> Producer:
    mod, _, attr = spec.partition(":")
    return getattr(importlib.import_module(mod), attr)


class LogProducers:
    def __init__(self, rules: list[dict[str, Any]] | None = None) -> None:
        self.rules: list[dict[str, Any]] = []
        self.add_rules(rules or [])

    def add_rules(self, rules: list[dict[str, Any]]) -> None:
        for r in rules:
            rule = dict(r)
            rule["_re"] = {k: re.compile(str(rule[k])) for k in ("pod", "namespace", "container", "image", "command")
                           if k in rule}
            self.rules.append(rule)

    def produce(self, pod: dict[str, Any], container: str) -> str:
        ann = pod["metadata"].get("annotations") or {}
        for key in (f"sim.aiconform.io/log.{container}", "sim.aiconform.io/log"):
            if key in ann:
                return _with_newline(ann[key])
        spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
        fields = {"pod": pod["metadata"]["name"], "namespace": pod["metadata"].get("namespace", ""),
                  "container": container, "image": spec.get("image", ""),
                  "command": " ".join(str(x) for x in (spec.get("command") or []) + (spec.get("args") or []))}
        for rule in self.rules:
            if all(rx.search(fields[k]) for k, rx in rule["_re"].items()):
                if "producer" in rule:
                    out = _resolve(rule["producer"])(pod, container)
                    if out is not None:
                        return _with_newline(out)
                    continue
                return _with_newline(str(rule.get("text", "")))
        for fn in _REGISTERED:
            out = fn(pod, container)
            if out is not None:
                return _with_newline(out)
        return ""


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
