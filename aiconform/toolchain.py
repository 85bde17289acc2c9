"""Where the project's tools live and the environment ansible-playbook needs to find them."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from aiconform import COLLECTION_ROOT, IN_CHECKOUT, PROJECT_ROOT

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


# ansible-core's default collections_path
DEFAULT_COLLECTIONS_PATH = os.pathsep.join(["~/.ansible/collections", "/usr/share/ansible/collections"])


def ansible_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook/ansible-runner: from this checkout (its ansible.cfg, .tools), else for an
    installed aiconform (``installed_ansible_env``)."""
    env = dict(os.environ if base is None else base)
    venv_bin = str(Path(sys.executable).parent)
    if not IN_CHECKOUT:
        return installed_ansible_env(env, venv_bin)
    env["PATH"] = os.pathsep.join([str(BIN_DIR), venv_bin, env.get("PATH", "")])
    env.setdefault("ANSIBLE_CONFIG", str(PROJECT_ROOT / "ansible.cfg"))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    env.setdefault("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
    env.setdefault("ANSIBLE_ROLES_PATH", str(PROJECT_ROOT / "roles"))
    return env


def installed_ansible_env(env: dict[str, str], venv_bin: str) -> dict[str, str]:
    """aiconform installed from its wheel (or beside an installed collection): no ansible.cfg of the project; the
    collection is found where it was installed (``site-packages/ansible_collections``, put first on the collections
    path, so an ``ansible-playbook`` of another Python finds it too), then the user's collections (kubernetes.core)."""
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    collections_dir = str(COLLECTION_ROOT.parents[2])  # the directory holding ansible_collections/
    user = env.get("ANSIBLE_COLLECTIONS_PATH") or env.get("ANSIBLE_COLLECTIONS_PATHS") or DEFAULT_COLLECTIONS_PATH
    if collections_dir not in user.split(os.pathsep):
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([collections_dir, user])
    return env
