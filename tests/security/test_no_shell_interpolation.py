"""Inputs from inventory and the cluster never reach a shell: no shell=True, os.system, or shell tasks.

Probe pods that run a script (``["/bin/sh", "-c"]`` in their manifests) get their values through env
variables, which the script quotes; the manifests are YAML data, rendered with values, never built as
strings. This test fails on any new shell entry point; a legitimate one goes into ALLOWED with why.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from aiconform import PROJECT_ROOT

PRODUCT_DIRS = ("aiconform", "plugins", "roles", "playbooks")
PY_PATTERNS = {
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system": re.compile(r"\bos\.(system|popen)\s*\("),
    "subprocess with a string command": re.compile(r"subprocess\.\w+\(\s*f?[\"']"),
    "f-string sh -c": re.compile(r"[\"']-c[\"']\s*,\s*f[\"']"),
}
SHELL_MODULES = {"ansible.builtin.shell", "ansible.builtin.command", "ansible.builtin.raw", "ansible.builtin.script",
                 "shell", "command", "raw", "script", "ansible.legacy.shell", "ansible.legacy.command"}
# path (relative) -> why it is acceptable
ALLOWED: dict[str, str] = {}


def _files(suffixes: tuple[str, ...]) -> list[Path]:
    return [p for d in PRODUCT_DIRS for p in sorted((PROJECT_ROOT / d).rglob("*"))
            if p.suffix in suffixes and p.is_file() and "__pycache__" not in p.parts]


def _tasks(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, list):
        for item in node:
            found += _tasks(item)
    elif isinstance(node, dict):
        found.append(node)
        for key in ("tasks", "block", "rescue", "always", "pre_tasks", "post_tasks", "handlers"):
            found += _tasks(node.get(key))
    return found


def test_python_never_goes_through_a_shell() -> None:
    hits = []
    for path in _files((".py",)):
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for what, pattern in PY_PATTERNS.items():
                if pattern.search(line) and "noqa" not in line:
                    hits.append(f"{rel}:{n}: {what}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_playbooks_and_roles_use_no_shell_or_command_with_templates() -> None:
    hits = []
    for path in _files((".yml", ".yaml")):
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel in ALLOWED or "/templates/" in rel or "/files/" in rel or "manifests" in rel:
            continue
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        for task in _tasks(docs):
            for module in SHELL_MODULES & set(task):
                body = task[module]
                text = yaml.safe_dump(body) if not isinstance(body, str) else body
                # a fixed argv is harmless; anything templated could carry inventory or cluster input
                if "{{" in text or module.endswith(("shell", "raw")):
                    hits.append(f"{rel}: task {task.get('name')!r} uses {module}: {text.strip()[:120]}")
    assert not hits, "\n".join(hits)
