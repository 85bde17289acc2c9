"""The third-party libraries the runtime imports, and the module failure that names a missing one.

module_utils import them guarded (``try: ... except ImportError: name = None``) so Ansible can load the code and
read a module's argument spec without them; a module then fails with ``missing_required_lib`` naming what to
install (requirements.txt) instead of a traceback.
"""
from __future__ import annotations

import importlib.util
from typing import Any

# import name -> distribution (pip) name, as requirements.txt lists them
LIBRARIES = {"kubernetes": "kubernetes", "yaml": "PyYAML", "urllib3": "urllib3",
             "prometheus_client": "prometheus-client"}


def missing() -> list[str]:
    """Distributions whose import name cannot be found."""
    return [dist for name, dist in LIBRARIES.items() if importlib.util.find_spec(name) is None]


def fail_if_missing(module: Any) -> None:
    """``module.fail_json`` naming the first missing library (as Ansible's modules say it)."""
    absent = missing()
    if absent:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib(", ".join(absent)) +
                         " (the aiconform.conformance collection's requirements.txt lists them)")
