"""The collection as a user gets it: built with ansible-galaxy, installed into an empty directory, run from a
virtual environment holding only ansible-core and the collection's requirements.txt (no aiconform package)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from aiconform import PROJECT_ROOT
from aiconform.toolchain import BIN_DIR, COLLECTIONS_DIR

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aiconform" / "collection-venv"


def pinned_ansible_core() -> str:
    """ansible-core as requirements.lock pins it (the version the project is tested with)."""
    from helpers.locks import pin

    return pin("ansible-core")


def clean_venv(timeout: float = 900) -> Path:
    """A venv with ansible-core + requirements.txt only, cached by their content (first build ~1 min)."""
    requirements = (PROJECT_ROOT / "requirements.txt").read_text()
    core = pinned_ansible_core()
    key = hashlib.sha256(f"{sys.version}\n{core}\n{requirements}".encode()).hexdigest()[:16]
    target = CACHE / key
    python = target / "bin" / "python"
    if (target / ".complete").exists() and python.exists():
        return target
    # Built in place (venv scripts name their own path); a half-built one has no .complete and is rebuilt.
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           f"ansible-core=={core}", "-r", str(PROJECT_ROOT / "requirements.txt")],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise RuntimeError(f"pip install into a clean venv failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    (target / ".complete").write_text(core)
    return target


def runtime_venv(timeout: float = 900) -> Path:
    """A venv with requirements.lock only (aiconform's runtime dependencies, no aiconform, no development tools),
    cached by the lock's content (first build ~1 min from PyPI or pip's cache)."""
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    key = hashlib.sha256(f"{sys.version}\n{lock}".encode()).hexdigest()[:16]
    target = CACHE.parent / "runtime-venv" / key
    python = target / "bin" / "python"
    if (target / ".complete").exists() and python.exists():
        return target
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "-r", str(PROJECT_ROOT / "requirements.lock")], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise RuntimeError(f"pip install -r requirements.lock into a clean venv failed:\n{proc.stdout[-2000:]}"
                           f"{proc.stderr[-2000:]}")
    (target / ".complete").write_text(key)
    return target


def site_packages(venv_dir: Path) -> Path:
    return venv_dir / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def build_wheel(output: Path, timeout: float = 600) -> Path:
    """``pip wheel --no-deps`` of the checkout (setuptools from PyPI in pip's isolated build environment)."""
    output.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                           "-w", str(output), str(PROJECT_ROOT)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    (wheel,) = output.glob("aiconform-*.whl")
    return wheel


def build(output: Path) -> Path:
    """``ansible-galaxy collection build`` of the repository root; the tarball's path."""
    output.mkdir(parents=True, exist_ok=True)
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    proc = subprocess.run([str(galaxy), "collection", "build", "--force", "--output-path", str(output), str(PROJECT_ROOT)],
                          capture_output=True, text=True, timeout=300, cwd=output)
    if proc.returncode != 0:
        raise RuntimeError(f"ansible-galaxy collection build failed:\n{proc.stdout}{proc.stderr}")
    (tarball,) = output.glob("aiconform-conformance-*.tar.gz")
    return tarball


def install(tarball: Path, collections: Path, ansible_galaxy: Path) -> Path:
    """Install the tarball into ``collections`` (empty) with kubernetes.core beside it; the collection's dir."""
    # cwd: the collections dir, so no ansible.cfg (the checkout's would show the collection as installed already)
    proc = subprocess.run([str(ansible_galaxy), "collection", "install", "--force", "--no-deps", "-p",
                           str(collections), str(tarball)], capture_output=True, text=True, timeout=300,
                          cwd=collections, env={"PATH": os.environ.get("PATH", ""), "HOME": str(collections.parent),
                                                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
    if proc.returncode != 0:
        raise RuntimeError(f"ansible-galaxy collection install failed:\n{proc.stdout}{proc.stderr}")
    if not (collections / "ansible_collections" / "aiconform" / "conformance" / "MANIFEST.json").is_file():
        raise RuntimeError(f"ansible-galaxy collection install installed nothing:\n{proc.stdout}{proc.stderr}")
    # The dependency, from the copy `make setup` fetched (Galaxy may be unreachable here).
    shutil.copytree(COLLECTIONS_DIR / "ansible_collections" / "kubernetes" / "core",
                    collections / "ansible_collections" / "kubernetes" / "core", symlinks=True)
    return collections / "ansible_collections" / "aiconform" / "conformance"


def clean_env(venv_dir: Path, collections: Path, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Only what a user of the installed collection has: no ansible.cfg, no PYTHONPATH, no checkout."""
    env = {"PATH": os.pathsep.join([str(venv_dir / "bin"), str(BIN_DIR), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(home), "LANG": "C.UTF-8", "ANSIBLE_COLLECTIONS_PATH": str(collections),
           "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_LOCAL_TEMP": str(home / ".ansible" / "tmp"), "ANSIBLE_HOME": str(home / ".ansible"),
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.update(extra or {})
    return env
