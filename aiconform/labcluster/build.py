"""``aiconform lab build``: the lab's programs, built from Go modules at the versions pinned in versions.yml.

Two programs, each a small Go main of the project's own (``go/kube``, ``go/kwok``) that links upstream packages:

- ``kube-<version>``: kube-apiserver, kube-controller-manager, kube-scheduler (``k8s.io/kubernetes/cmd/*/app``) and
  an embedded etcd (``go.etcd.io/etcd/server/v3/embed``) in one binary: one link instead of four, ~1/3 of the disk.
- ``kwok-<version>``: sigs.k8s.io/kwok's controller, plus ``default-stages`` (upstream's embedded Stages).

The module file is generated from versions.yml (one source per version); the dependency hashes are pinned in
``go/sums/<name>.sum`` and checked by the go command. Go's own caches (``go env GOCACHE GOMODCACHE``) keep the
compiled packages and module downloads between runs, so a second build is a few seconds; the binaries are kept in
the lab's cache directory (``lab_home()/bin``) and not rebuilt when present (``--force`` rebuilds).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiconform import versions

GO_DIR = Path(__file__).resolve().parent / "go"
SUMS_DIR = GO_DIR / "sums"
_GO_VERSION_RE = re.compile(r"go(\d+)\.(\d+)")


class BuildError(RuntimeError):
    """A build that cannot be done, with the reason and what to do."""


def lab_home() -> Path:
    """Where the lab keeps binaries and module sources: ``$AICONFORM_LAB_HOME`` or ``~/.cache/aiconform/lab``."""
    env = os.environ.get("AICONFORM_LAB_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aiconform" / "lab"


@dataclass(frozen=True)
class Target:
    """One program to build: its Go main (``go/<program>``), its module file and the binary's name."""

    program: str  # "kube" or "kwok"
    version: str  # upstream version the program is built from
    go_mod: str  # the generated go.mod
    ldflags: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.program}-{self.version}"

    @property
    def binary(self) -> Path:
        return lab_home() / "bin" / self.name

    @property
    def src(self) -> Path:
        return lab_home() / "src" / self.name

    @property
    def sums(self) -> Path:
        return SUMS_DIR / f"{self.name}.sum"


def kubernetes_versions() -> list[str]:
    """Kubernetes minors the lab can build (``lab.kubernetes`` of versions.yml), newest first."""
    return sorted(versions.get("lab.kubernetes"), key=lambda v: tuple(int(x) for x in v[1:].split(".")),
                  reverse=True)


def resolve_minor(version: str | None) -> str:
    """``v1.35``, ``1.35`` or ``v1.35.4`` → the ``lab.kubernetes`` key; a clear error for unknown minors."""
    if not version:
        return str(versions.get("lab.default_kubernetes_version"))
    m = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    key = f"v{m.group(1)}.{m.group(2)}" if m else version
    if key not in versions.get("lab.kubernetes"):
        raise BuildError(f"the lab builds Kubernetes {', '.join(kubernetes_versions())}; not {version!r} "
                         "(lab.kubernetes in aiconform/data/versions.yml)")
    return key


def _staging_modules(kubernetes_mod: Path) -> list[str]:
    """The ``k8s.io/*`` modules k8s.io/kubernetes requires at ``v0.0.0`` (its staging repositories)."""
    out = []
    for line in kubernetes_mod.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("k8s.io/") and parts[1] == "v0.0.0":
            out.append(parts[0])
    if not out:
        raise BuildError(f"{kubernetes_mod}: no staging modules at v0.0.0 found; is this k8s.io/kubernetes' go.mod?")
    return out


def kube_target(minor: str, go: str = "go") -> Target:
    pin = versions.get("lab.kubernetes")[minor]
    module, version, staging = pin["module"], pin["version"], pin["staging"]
    mod_file = _download_mod(go, module, version)
    staging_mods = _staging_modules(mod_file)
    m = re.match(r"^v(\d+)\.(\d+)", version)
    assert m, version
    lines = ["module aiconform.io/lab/kube", "", f"go {_go_directive(mod_file)}", "",
             f"require {module} {version}", "", "replace ("]
    lines += [f"\t{s} => {s} {staging}" for s in staging_mods]
    lines += [")", ""]
    pkg = "k8s.io/component-base/version"
    ldflags = (f"-X {pkg}.gitVersion={version}", f"-X {pkg}.gitMajor={m.group(1)}",
               f"-X {pkg}.gitMinor={m.group(2)}", f"-X {pkg}.gitTreeState=clean",
               f"-X {pkg}.buildDate=1970-01-01T00:00:00Z")
    return Target("kube", version, "\n".join(lines), ldflags)


def kwok_target(go: str = "go") -> Target:
    pin = versions.get("lab.kwok")
    mod_file = _download_mod(go, pin["module"], pin["version"])
    lines = ["module aiconform.io/lab/kwok", "", f"go {_go_directive(mod_file)}", "",
             f"require {pin['module']} {pin['version']}", ""]
    return Target("kwok", pin["version"], "\n".join(lines))


def _go_directive(mod_file: Path) -> str:
    for line in mod_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("go "):
            return line.split()[1]
    return str(versions.get("lab.go_min"))


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise BuildError(f"{cmd[0]} not found: install Go {versions.get('lab.go_min')} or newer "
                         "(Debian: golang from the Go module proxy's toolchain, or set AICONFORM_GO)") from exc
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{' '.join(cmd[:3])} did not finish in {timeout:g}s") from exc


def go_binary() -> str:
    return os.environ.get("AICONFORM_GO") or shutil.which("go") or "go"


def check_go(go: str) -> str:
    res = _run([go, "env", "GOVERSION"], timeout=60)
    if res.returncode != 0:
        raise BuildError(f"`{go} env GOVERSION` failed: {res.stderr.strip()[-500:]}")
    have = res.stdout.strip()
    m = _GO_VERSION_RE.match(have)
    need = tuple(int(x) for x in str(versions.get("lab.go_min")).split("."))
    if not m or (int(m.group(1)), int(m.group(2))) < need:
        raise BuildError(f"Go {versions.get('lab.go_min')} or newer is needed to build the lab; {go} is {have}")
    return have


def _download_mod(go: str, module: str, version: str) -> Path:
    res = _run([go, "mod", "download", "-json", f"{module}@{version}"], timeout=900)
    try:
        info = json.loads(res.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if res.returncode != 0 or info.get("Error") or not info.get("GoMod"):
        reason = info.get("Error") or res.stderr.strip()[-800:] or "no go.mod returned"
        raise BuildError(f"cannot download {module}@{version} from the Go module proxy: {reason}")
    return Path(info["GoMod"])


def _sum_lines(text: str) -> set[str]:
    return {line for line in text.splitlines() if line.strip()}


def prepare(target: Target, go: str, update_sums: bool) -> None:
    """Write the module (main.go, go.mod, pinned go.sum) and resolve it; unpinned hashes fail unless updating."""
    src = target.src
    src.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GO_DIR / target.program / "main.go", src / "main.go")
    (src / "go.mod").write_text(target.go_mod, encoding="utf-8")
    pinned = target.sums.read_text(encoding="utf-8") if target.sums.exists() else ""
    (src / "go.sum").write_text(pinned, encoding="utf-8")
    res = _run([go, "mod", "tidy"], cwd=src, env=_go_env(), timeout=1800)
    if res.returncode != 0:
        raise BuildError(f"go mod tidy for {target.name} failed: {res.stderr.strip()[-1500:]}")
    got = (src / "go.sum").read_text(encoding="utf-8")
    if _sum_lines(got) != _sum_lines(pinned):
        if update_sums:
            target.sums.parent.mkdir(parents=True, exist_ok=True)
            target.sums.write_text(got, encoding="utf-8")
        elif pinned:
            extra = sorted(_sum_lines(got) - _sum_lines(pinned))[:5]
            raise BuildError(f"{target.name}: the module graph needs hashes that {target.sums} does not pin "
                             f"(e.g. {extra}); run `aiconform lab build --update-sums` after reviewing the change")
        else:
            raise BuildError(f"{target.name}: no pinned hashes ({target.sums}); run `aiconform lab build "
                             "--update-sums` once and commit the file")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def build_one(target: Target, go: str, *, force: bool, update_sums: bool, out: TextIO) -> float:
    """Build ``target`` unless its binary exists; returns seconds spent."""
    stamp = target.binary.with_name(target.binary.name + ".stamp")
    want = hashlib.sha256((target.go_mod + "\n".join(target.ldflags)
                           + (GO_DIR / target.program / "main.go").read_text(encoding="utf-8")).encode()).hexdigest()
    if not force and target.binary.exists() and stamp.exists() and stamp.read_text().strip() == want:
        print(f"  {target.name}: up to date ({target.binary})", file=out, flush=True)
        return 0.0
    start = time.monotonic()
    print(f"  {target.name}: resolving modules ...", file=out, flush=True)
    prepare(target, go, update_sums)
    print(f"  {target.name}: compiling (a cold build of Kubernetes takes many minutes on 2 cores; "
          "Go's build cache makes the next one seconds) ...", file=out, flush=True)
    target.binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.binary.with_name(target.binary.name + ".tmp")
    cmd = [go, "build", "-trimpath", "-ldflags", " ".join(("-s", "-w", *target.ldflags)), "-o", str(tmp), "."]
    res = _run(cmd, cwd=target.src, env=_go_env(), timeout=5400)
    if res.returncode != 0:
        raise BuildError(f"go build of {target.name} failed: {res.stderr.strip()[-2000:]}")
    os.replace(tmp, target.binary)
    stamp.write_text(want + "\n", encoding="utf-8")
    took = time.monotonic() - start
    size = target.binary.stat().st_size / 2**20
    print(f"  {target.name}: built in {took:.1f}s ({size:.0f} MiB) → {target.binary}", file=out, flush=True)
    return took


def targets(kubernetes_version: str | None, go: str) -> list[Target]:
    return [kube_target(resolve_minor(kubernetes_version), go), kwok_target(go)]


def build(kubernetes_version: str | None = None, *, force: bool = False, update_sums: bool = False,
          out: TextIO = sys.stdout) -> dict[str, Path]:
    """Build (or find) the lab's binaries for one Kubernetes minor; returns {program: path}."""
    go = go_binary()
    have = check_go(go)
    print(f"aiconform lab build: {have}, cache {lab_home()}", file=out, flush=True)
    start = time.monotonic()
    built: dict[str, Path] = {}
    for target in targets(kubernetes_version, go):
        build_one(target, go, force=force, update_sums=update_sums, out=out)
        built[target.program] = target.binary
    print(f"aiconform lab build: done in {time.monotonic() - start:.1f}s", file=out, flush=True)
    return built


def find_binaries(kubernetes_version: str | None = None) -> dict[str, Path] | None:
    """The built binaries for a minor, without building or touching the network; None when any is missing."""
    minor = resolve_minor(kubernetes_version)
    kube = lab_home() / "bin" / f"kube-{versions.get('lab.kubernetes')[minor]['version']}"
    kwok = lab_home() / "bin" / f"kwok-{versions.get('lab.kwok.version')}"
    if kube.exists() and kwok.exists():
        return {"kube": kube, "kwok": kwok}
    return None
