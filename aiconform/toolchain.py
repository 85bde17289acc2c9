"""Where the project's tools live and the environment ansible-playbook needs to find them."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from aiconform import PROJECT_ROOT

TOOLS_DIR = PROJECT_ROOT / ".tools"
BIN_DIR = TOOLS_DIR / "bin"
COLLECTIONS_DIR = TOOLS_DIR / "collections"


def tool(name: str) -> str:
    """Path of helm/kubectl: the one setup chose in .tools/bin, else whatever is on PATH."""
    candidate = BIN_DIR / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: run `make setup` (or python3 aiconform/bootstrap.py)")
    return found


def ansible_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook/ansible-runner run from this checkout."""
    env = dict(os.environ if base is None else base)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([str(BIN_DIR), venv_bin, env.get("PATH", "")])
    env.setdefault("ANSIBLE_CONFIG", str(PROJECT_ROOT / "ansible.cfg"))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    env.setdefault("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
    env.setdefault("ANSIBLE_ROLES_PATH", str(PROJECT_ROOT / "roles"))
    return env
