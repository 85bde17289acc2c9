"""CRD bundles the lab generates from Go API types (``lab.crd_bundles`` of versions.yml): the Gateway API's.

No controller of the Gateway API is built (kgateway needs Envoy, C++; agentgateway is Rust); its CRDs are real all
the same: controller-gen (``lab.tools.controller-gen``) over ``sigs.k8s.io/gateway-api``'s API packages at the
version ``gateway_api.crds.version`` pins, in a module of the project's own (``go/gateway-api-crds``: it imports
the packages, so ``go/sums`` pins their hashes). The schemas, CEL validations and defaults come from the types'
markers. Upstream generates its channels with its own generator (``tools/generator``, a module of its own that the
release's module zip leaves out), which for the standard channel drops the fields documented with
``<gateway:experimental>`` and stamps the bundle annotations; ``standard_channel`` does the same to controller-gen's
output. Not included: upstream's safe-upgrades ValidatingAdmissionPolicy (plain YAML, not generated from types).

The result is one multi-document file, ``lab_home()/manifests/gateway-api-<version>/gateway-api-<version>-<channel>-
install.yaml``, which the gateway_api role applies on the lab (``gateway_api_crds_path``).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from aiconform import versions
from aiconform.labcluster import build

EXPERIMENTAL_TAG = "<gateway:experimental>"
# description blocks the standard channel leaves out, tags it removes, and the CEL rules only it adds
_BLOCKS = re.compile(r"<gateway:(experimental:description|util:excludeFromCRD)>.*?</gateway:\1>", re.DOTALL)
_GATEWAY_TAG = re.compile(r"[ \t]*</?gateway:[^>\n]*>")
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_STANDARD_RULE = re.compile(r"<gateway:standard:validation:XValidation:message=" + _QUOTED + ",rule=" + _QUOTED + ">")
BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
CHANNEL = "gateway.networking.k8s.io/channel"


def pin(name: str) -> dict[str, Any]:
    """``lab.crd_bundles.<name>`` with ``version``/``channel`` resolved from the versions.yml paths they name."""
    entries = versions.get("lab.crd_bundles") or {}
    if name not in entries:
        raise build.BuildError(f"{name!r} is not in lab.crd_bundles of aiconform/data/versions.yml")
    out = dict(entries[name])
    out["version"] = str(versions.get(str(out["version"])))
    out["channel"] = str(versions.get(str(out["channel"]))) if out.get("channel") else "standard"
    return out


def stack_bundles(stack: str | None) -> list[str]:
    """The CRD bundles a stack installs (``stacks`` of each ``lab.crd_bundles`` entry)."""
    name = stack or build.DEFAULT_STACK
    return [str(n) for n, e in (versions.get("lab.crd_bundles") or {}).items() if name in (e.get("stacks") or [])]


def bundle_file(name: str) -> Path:
    p = pin(name)
    return (build.lab_home() / "manifests" / f"{name}-{p['version']}"
            / f"{name}-{p['version']}-{p['channel']}-install.yaml")


def target(name: str, go: str = "go") -> build.Target:
    """The module that pins the API packages (``go/<name>-crds/main.go``)."""
    p = pin(name)
    mod_file = build._download_mod(go, str(p["module"]), p["version"])
    go_mod = "\n".join([f"module aiconform.io/lab/{name}-crds", "", f"go {build._go_directive(mod_file)}", "",
                        f"require {p['module']} {p['version']}", ""])
    return build.Target(f"{name}-crds", p["version"], go_mod)


def _strip(schema: Any) -> Any:
    """Drop properties documented as experimental (and from ``required``); remove ``<gateway:...>`` tags."""
    if isinstance(schema, list):
        return [_strip(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    dropped: set[str] = set()
    validate_ip = False
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            kept = {}
            for prop, sub in value.items():
                if isinstance(sub, dict) and EXPERIMENTAL_TAG in str(sub.get("description", "")):
                    dropped.add(prop)
                    continue
                kept[prop] = _strip(sub)
            out[key] = kept
        elif key == "description" and isinstance(value, str):
            added = [{"message": json.loads(f'"{m}"'), "rule": json.loads(f'"{r}"')}
                     for m, r in _STANDARD_RULE.findall(value)]
            if added:
                out["x-kubernetes-validations"] = [*(schema.get("x-kubernetes-validations") or []), *added]
            if "<gateway:validateIPAddress>" in value and isinstance(schema.get("items"), dict):
                validate_ip = True  # the generator's oneOf on the list's items: an IPAddress value is an IP
            text = _GATEWAY_TAG.sub("", _BLOCKS.sub("", value))
            out[key] = re.sub(r"\n{3,}", "\n\n", text).strip()
        elif key == "x-kubernetes-validations" and "x-kubernetes-validations" in out:
            out[key] = [*value, *out[key][len(value):]]
        else:
            out[key] = _strip(value)
    if validate_ip:
        out["items"] = {**out["items"], "oneOf": [
            {"properties": {"type": {"enum": ["IPAddress"]}, "value": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}}},
            {"properties": {"type": {"not": {"enum": ["IPAddress"]}}}}]}
    if dropped and isinstance(out.get("required"), list):
        out["required"] = [r for r in out["required"] if r not in dropped]
        if not out["required"]:
            del out["required"]
    return out


def standard_channel(crd: dict[str, Any], version: str, channel: str,
                     annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A controller-gen CRD as the bundle of ``channel`` has it: experimental fields dropped for ``standard``,
    upstream's annotations set (the API approval, bundle-version and channel)."""
    out = dict(crd)
    out["metadata"] = dict(crd.get("metadata") or {})
    out["metadata"]["annotations"] = {**(annotations or {}), **(out["metadata"].get("annotations") or {}),
                                      BUNDLE_VERSION: version, CHANNEL: channel}
    if channel == "standard":
        spec = dict(out["spec"])
        spec["versions"] = [_strip(v) for v in spec["versions"]]
        out["spec"] = spec
    return out


def generate(name: str, controller_gen: Path, *, go: str = "go", force: bool = False, update_sums: bool = False,
             out: TextIO) -> float:
    """Run controller-gen over the bundle's API packages and write the bundle file; returns seconds spent."""
    p = pin(name)
    t = target(name, go)
    dest = bundle_file(name)
    want = hashlib.sha256(json.dumps([t.go_mod, controller_gen.name, p["paths"], p["channel"], p.get("annotations"),
                                      Path(__file__).read_text(encoding="utf-8")]).encode()).hexdigest()
    stamp = dest.parent / ".stamp"
    if not force and dest.exists() and stamp.exists() and stamp.read_text().strip() == want:
        print(f"  {name} CRDs: up to date ({dest})", file=out, flush=True)
        return 0.0
    start = time.monotonic()
    build.prepare(t, go, update_sums)
    tmp = dest.parent.with_name(dest.parent.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [str(controller_gen), "crd", "paths=" + ";".join(p["paths"]), f"output:crd:dir={tmp / 'crds'}"]
    res = build._run(cmd, cwd=t.src, env=build._go_env(), timeout=1800)
    if res.returncode != 0:
        raise build.BuildError(f"controller-gen for {name} failed: {(res.stderr or res.stdout).strip()[-2000:]}")
    files = sorted((tmp / "crds").glob("*.yaml"))
    if not files:
        raise build.BuildError(f"controller-gen wrote no CRDs for {name} from {p['paths']}")
    docs = [standard_channel(yaml.safe_load(f.read_text(encoding="utf-8")), p["version"], p["channel"],
                             {str(k): str(v) for k, v in (p.get("annotations") or {}).items()}) for f in files]
    (tmp / dest.name).write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    (tmp / ".stamp").write_text(want + "\n", encoding="utf-8")
    shutil.rmtree(dest.parent, ignore_errors=True)
    tmp.replace(dest.parent)
    took = time.monotonic() - start
    print(f"  {name} CRDs: {len(docs)} CRDs ({p['channel']} channel, {p['version']}) generated by "
          f"{controller_gen.name} in {took:.1f}s → {dest}", file=out, flush=True)
    return took
