"""``aiconform lab build``: the lab's programs, built from Go modules at the versions pinned in versions.yml.

Two programs, each a small Go main of the project's own (``go/kube``, ``go/kwok``) that links upstream packages:

- ``kube-<version>``: kube-apiserver, kube-controller-manager, kube-scheduler (``k8s.io/kubernetes/cmd/*/app``) and
  an embedded etcd (``go.etcd.io/etcd/server/v3/embed``) in one binary: one link instead of four, ~1/3 of the disk.
- ``kwok-<version>``: sigs.k8s.io/kwok's controller, plus ``default-stages`` (upstream's embedded Stages).

The module file is generated from versions.yml (one source per version); the dependency hashes are pinned in
``go/sums/<name>.sum`` and checked by the go command. Go's own caches (``go env GOCACHE GOMODCACHE``) keep the
compiled packages and module downloads between runs, so a second build is a few seconds; the binaries are kept in
the lab's cache directory (``lab_home()/bin``) and not rebuilt when present (``--force`` rebuilds).

Besides these, upstream *main packages* (the reference stack's controllers, ``lab.controllers``; build tools,
``lab.tools``) are built from generated wrapper modules: a go.mod that requires the upstream modules and names the
main packages in a ``tool`` directive, then ``go build -o BIN <package>``. Entries that share a ``wrapper`` share one
module (one dependency graph; Go compiles their common packages once). A controller's ``crds`` and ``rbac`` are generated at
build time with controller-gen (``lab.tools.controller-gen``) from its packages into ``lab_home()/manifests``.
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
class Program:
    """One binary of a wrapper module: an upstream main package, ``lab_home()/bin/<name>-<version>``."""

    name: str
    version: str
    package: str
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # Go build tags (e.g. Prometheus' service-discovery selection)

    @property
    def binary(self) -> Path:
        return lab_home() / "bin" / f"{self.name}-{self.version}"


@dataclass(frozen=True)
class Target:
    """One module to build: its module file, the sums file that pins it, and its binaries. Either the project's own
    Go main (``go/<program>``, one binary ``<program>-<version>``) or a wrapper of upstream main packages."""

    program: str  # "kube", "kwok" or a wrapper's name
    version: str  # upstream version the program is built from (a wrapper: its programs' names and versions)
    go_mod: str  # the generated go.mod
    ldflags: tuple[str, ...] = ()
    programs: tuple[Program, ...] = ()  # wrapper modules: the upstream main packages to build

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
    if not target.programs:
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


def _stamp_ok(binary: Path, want: str) -> bool:
    stamp = binary.with_name(binary.name + ".stamp")
    return binary.exists() and stamp.exists() and stamp.read_text().strip() == want


def _program_stamp(target: Target, program: Program) -> str:
    parts = (target.go_mod, program.package, *program.ldflags) + ((f"tags={','.join(program.tags)}",) if program.tags else ())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def go_build_command(go: str, out: Path, package: str, ldflags: tuple[str, ...], tags: tuple[str, ...] = ()) -> list[str]:
    """``go build`` of one main package: stripped, trimmed paths, the pin's ldflags and build tags."""
    cmd = [go, "build", "-trimpath", "-ldflags", " ".join(("-s", "-w", *ldflags))]
    if tags:
        cmd += ["-tags", ",".join(tags)]
    return cmd + ["-o", str(out), package]


def _go_build(go: str, src: Path, binary: Path, package: str, ldflags: tuple[str, ...], name: str,
              tags: tuple[str, ...] = ()) -> None:
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(binary.name + ".tmp")
    cmd = go_build_command(go, tmp, package, ldflags, tags)
    res = _run(cmd, cwd=src, env=_go_env(), timeout=5400)
    if res.returncode != 0:
        raise BuildError(f"go build of {name} failed: {res.stderr.strip()[-2000:]}")
    os.replace(tmp, binary)


def build_wrapper(target: Target, go: str, *, force: bool, update_sums: bool, out: TextIO) -> float:
    """Build a wrapper module's programs that are missing or stale; returns seconds spent."""
    todo = [p for p in target.programs if force or not _stamp_ok(p.binary, _program_stamp(target, p))]
    for p in target.programs:
        if p not in todo:
            print(f"  {p.name}-{p.version}: up to date ({p.binary})", file=out, flush=True)
    if not todo:
        return 0.0
    start = time.monotonic()
    print(f"  {target.name}: resolving modules ...", file=out, flush=True)
    prepare(target, go, update_sums)
    for p in todo:
        t0 = time.monotonic()
        print(f"  {p.name}-{p.version}: compiling {p.package} ...", file=out, flush=True)
        _go_build(go, target.src, p.binary, p.package, p.ldflags, f"{p.name}-{p.version}", p.tags)
        p.binary.with_name(p.binary.name + ".stamp").write_text(_program_stamp(target, p) + "\n", encoding="utf-8")
        size = p.binary.stat().st_size / 2**20
        print(f"  {p.name}-{p.version}: built in {time.monotonic() - t0:.1f}s ({size:.0f} MiB) → {p.binary}",
              file=out, flush=True)
    return time.monotonic() - start


def build_one(target: Target, go: str, *, force: bool, update_sums: bool, out: TextIO) -> float:
    """Build ``target`` unless its binary exists; returns seconds spent."""
    if target.programs:
        return build_wrapper(target, go, force=force, update_sums=update_sums, out=out)
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
    _go_build(go, target.src, target.binary, ".", target.ldflags, target.name)
    stamp.write_text(want + "\n", encoding="utf-8")
    took = time.monotonic() - start
    size = target.binary.stat().st_size / 2**20
    print(f"  {target.name}: built in {took:.1f}s ({size:.0f} MiB) → {target.binary}", file=out, flush=True)
    return took


# --- upstream main packages (lab.controllers, lab.tools) -------------------------------------------------------

def stacks() -> dict[str, list[str]]:
    """``lab.stacks``: stack name -> the controllers it runs for real."""
    return {str(k): [str(c) for c in (v or [])] for k, v in versions.get("lab.stacks").items()}


DEFAULT_STACK = "reference"


def stack_controllers(stack: str | None) -> list[str]:
    all_stacks = stacks()
    name = stack or DEFAULT_STACK
    if name not in all_stacks:
        raise BuildError(f"unknown stack {name!r}; the lab has: {', '.join(all_stacks)} (lab.stacks in versions.yml)")
    return all_stacks[name]


def upstream_pin(name: str) -> dict:
    """The pin of a controller (``lab.controllers``) or tool (``lab.tools``)."""
    for section in ("lab.controllers", "lab.tools"):
        entries = versions.get(section) or {}
        if name in entries:
            return dict(entries[name])
    raise BuildError(f"{name!r} is neither in lab.controllers nor in lab.tools of aiconform/data/versions.yml")


def program_of(name: str) -> Program:
    pin = upstream_pin(name)
    ldflags = tuple(str(f).replace("{version}", pin["version"]) for f in pin.get("ldflags") or ())
    tags = tuple(str(t) for t in pin.get("tags") or ())
    return Program(name, str(pin["version"]), str(pin["package"]), ldflags, tags)


def wrapper_target(names: list[str], go: str = "go") -> Target:
    """The wrapper module that builds the upstream main packages of ``names`` (all with the same ``wrapper``)."""
    pins = {n: upstream_pin(n) for n in names}
    wrappers = {str(p.get("wrapper") or n) for n, p in pins.items()}
    if len(wrappers) != 1:
        raise BuildError(f"{', '.join(names)} are in different wrapper modules ({', '.join(sorted(wrappers))})")
    wrapper = wrappers.pop()
    requires: dict[str, str] = {}
    replaces: dict[str, str] = {}
    go_dir = str(versions.get("lab.go_min"))
    for pin in pins.values():
        module, version = str(pin["module"]), str(pin["version"])
        if requires.get(module, version) != version:
            raise BuildError(f"wrapper {wrapper}: {module} pinned at {requires[module]} and {version}")
        requires[module] = version
        go_dir = max(go_dir, _go_directive(_download_mod(go, module, version)), key=_version_key)
        if pin.get("kubernetes"):  # k8s.io/kubernetes at a lab.kubernetes pin, its staging modules replaced
            kpin = versions.get("lab.kubernetes")[resolve_minor(str(pin["kubernetes"]))]
            requires[str(kpin["module"])] = str(kpin["version"])
            for mod in _staging_modules(_download_mod(go, str(kpin["module"]), str(kpin["version"]))):
                replaces[mod] = f"{mod} {kpin['staging']}"
        for mod, to in (pin.get("replace") or {}).items():
            replaces[str(mod)] = str(to)
        for mod, ver in (pin.get("require") or {}).items():
            if mod not in requires:
                requires[str(mod)] = str(ver)
    programs = tuple(program_of(n) for n in sorted(names))
    lines = [f"module aiconform.io/lab/{wrapper}", "", f"go {go_dir}", "", "require ("]
    lines += [f"\t{m} {v}" for m, v in sorted(requires.items())]
    lines += [")", ""]
    if replaces:
        lines += ["replace ("] + [f"\t{m} => {to}" for m, to in sorted(replaces.items())] + [")", ""]
    lines += ["tool ("] + [f"\t{p.package}" for p in programs] + [")", ""]
    return Target(wrapper, wrapper_version(names), "\n".join(lines), programs=programs)


def wrapper_version(names: list[str]) -> str:
    """The version part of a wrapper module's name (its sums file is ``<wrapper>-<this>.sum``): the program's
    version when the wrapper builds only the program it is named after (``kueue-v0.19.2``), else every program's
    name and version (``w-a-v1+b-v2``)."""
    programs = [program_of(n) for n in sorted(names)]
    wrapper = str(upstream_pin(names[0]).get("wrapper") or names[0])
    if len(programs) == 1 and programs[0].name == wrapper:
        return programs[0].version
    return "+".join(f"{p.name}-{p.version}" for p in programs)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def wrapper_groups(names: list[str]) -> list[list[str]]:
    """``names`` grouped by wrapper module, in a stable order."""
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(str(upstream_pin(n).get("wrapper") or n), []).append(n)
    return [sorted(g) for _, g in sorted(groups.items())]


def manifests_dir(name: str) -> Path:
    """controller-gen's output for controller ``name``: ``crds/*.yaml`` (its CustomResourceDefinitions) and
    ``rbac/role.yaml`` (its ClusterRole), in ``lab_home()/manifests/<name>-<version>``."""
    return lab_home() / "manifests" / f"{name}-{upstream_pin(name)['version']}"


def generate_manifests(target: Target, name: str, controller_gen: Path, *, force: bool, out: TextIO) -> float:
    """Run controller-gen over controller ``name``'s packages (resolved in its wrapper module ``target``)."""
    pin = upstream_pin(name)
    runs: list[list[str]] = []
    if pin.get("crds"):
        runs.append([str(pin["crds"]["options"]), "paths=" + ";".join(pin["crds"]["paths"]), "output:crd:dir={out}/crds"])
    if pin.get("rbac"):
        runs.append([f"rbac:roleName={pin['rbac']['role']}", "paths=" + ";".join(pin["rbac"]["paths"]),
                     "output:rbac:dir={out}/rbac"])
    if not runs:
        return 0.0
    dest = manifests_dir(name)
    want = hashlib.sha256(json.dumps([target.go_mod, controller_gen.name, runs]).encode()).hexdigest()
    stamp = dest / ".stamp"
    if not force and stamp.exists() and stamp.read_text().strip() == want:
        print(f"  {name} manifests: up to date ({dest})", file=out, flush=True)
        return 0.0
    start = time.monotonic()
    if not (target.src / "go.mod").exists() or (target.src / "go.mod").read_text(encoding="utf-8") != target.go_mod:
        prepare(target, go_binary(), update_sums=False)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for args in runs:
        cmd = [str(controller_gen), *(a.replace("{out}", str(tmp)) for a in args)]
        res = _run(cmd, cwd=target.src, env=_go_env(), timeout=1800)
        if res.returncode != 0:
            raise BuildError(f"controller-gen for {name} ({args[0]}) failed: {(res.stderr or res.stdout).strip()[-2000:]}")
    if pin.get("crds") and not any((tmp / "crds").glob("*.yaml")):
        raise BuildError(f"controller-gen wrote no CRDs for {name} from {pin['crds']['paths']}")
    (tmp / ".stamp").write_text(want + "\n", encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    n = len(list((dest / "crds").glob("*.yaml")))
    took = time.monotonic() - start
    print(f"  {name} manifests: {n} CRDs" + (" and a ClusterRole" if pin.get("rbac") else "")
          + f" generated by {controller_gen.name} in {took:.1f}s → {dest}", file=out, flush=True)
    return took


def targets(kubernetes_version: str | None, go: str, stack: str | None = None) -> list[Target]:
    out = [kube_target(resolve_minor(kubernetes_version), go), kwok_target(go)]
    controllers = stack_controllers(stack)
    if controllers:
        out += [wrapper_target(g, go) for g in wrapper_groups(controllers)]
    return out


def build(kubernetes_version: str | None = None, *, stack: str | None = None, force: bool = False,
          update_sums: bool = False, out: TextIO = sys.stdout) -> dict[str, Path]:
    """Build (or find) the lab's binaries for one Kubernetes minor and one stack; returns {program: path}."""
    go = go_binary()
    have = check_go(go)
    controllers = stack_controllers(stack)
    print(f"aiconform lab build: {have}, cache {lab_home()}, stack {stack or DEFAULT_STACK}"
          + (f" ({', '.join(controllers)})" if controllers else ""), file=out, flush=True)
    start = time.monotonic()
    built: dict[str, Path] = {}
    all_targets = targets(kubernetes_version, go, stack)
    for target in all_targets:
        build_one(target, go, force=force, update_sums=update_sums, out=out)
        if target.programs:
            built.update({p.name: p.binary for p in target.programs})
        else:
            built[target.program] = target.binary
    with_crds = [n for n in controllers if upstream_pin(n).get("crds") or upstream_pin(n).get("rbac")]
    if with_crds:
        gen_target = wrapper_target(["controller-gen"], go)
        build_one(gen_target, go, force=force, update_sums=update_sums, out=out)
        gen = gen_target.programs[0].binary
        by_name = {p.name: t for t in all_targets for p in t.programs}
        for n in with_crds:
            generate_manifests(by_name[n], n, gen, force=force, out=out)
            built[f"{n}-manifests"] = manifests_dir(n)
    from aiconform.labcluster import gatewayapi  # CRD bundles generated from API types (lab.crd_bundles)

    for n in gatewayapi.stack_bundles(stack):
        gen_target = wrapper_target(["controller-gen"], go)
        build_one(gen_target, go, force=force, update_sums=update_sums, out=out)
        gatewayapi.generate(n, gen_target.programs[0].binary, go=go, force=force, update_sums=update_sums, out=out)
        built[f"{n}-crds"] = gatewayapi.bundle_file(n)
    print(f"aiconform lab build: done in {time.monotonic() - start:.1f}s", file=out, flush=True)
    return built


def find_binaries(kubernetes_version: str | None = None, stack: str | None = "base") -> dict[str, Path] | None:
    """The built binaries for a minor (and a stack's controllers), without building or touching the network;
    None when any is missing (``missing`` names them)."""
    found = _expected(kubernetes_version, stack)
    if all(p.exists() for p in found.values()):
        return found
    return None


def missing(kubernetes_version: str | None = None, stack: str | None = None) -> list[str]:
    """What ``aiconform lab build --stack`` would still have to build (names with versions)."""
    return [f"{p.parent.name} manifests" if key.endswith("-manifests") else
            f"{p.parent.name} CRDs" if key.endswith("-crds") else p.name
            for key, p in _expected(kubernetes_version, stack).items() if not p.exists()]


def _expected(kubernetes_version: str | None, stack: str | None) -> dict[str, Path]:
    minor = resolve_minor(kubernetes_version)
    found = {"kube": lab_home() / "bin" / f"kube-{versions.get('lab.kubernetes')[minor]['version']}",
             "kwok": lab_home() / "bin" / f"kwok-{versions.get('lab.kwok.version')}"}
    for n in stack_controllers(stack):
        found[n] = program_of(n).binary
        if upstream_pin(n).get("crds") or upstream_pin(n).get("rbac"):
            found[f"{n}-manifests"] = manifests_dir(n) / ".stamp"
    from aiconform.labcluster import gatewayapi

    for n in gatewayapi.stack_bundles(stack):
        found[f"{n}-crds"] = gatewayapi.bundle_file(n)
    return found
