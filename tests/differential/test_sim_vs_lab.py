"""Differential contract: ``aiconform sim`` answers as the real Kubernetes of ``aiconform lab`` does.

Each case is a list of steps run in a namespace of its own (``{ns}``) on both engines at once; the observation of
every step is reduced to what clients read (status code, kind, reason, chosen fields; for kubectl/helm their exit
code and the first words of their error; for ansible-playbook the failed/changed flags of each task) and the two
lists must be equal. A difference kept on purpose is listed in ``KNOWN`` with why: its case is a strict xfail, so
the day the simulator agrees the suite says so and the entry must go (aiconform/sim/README.md lists the same).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from helpers.sim import run_tool
from kubernetes import client, config, dynamic

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.lab

CHART = str(PROJECT_ROOT / "tests" / "charts" / "sim-demo")


@dataclass
class Http:
    method: str
    path: str
    body: Any = None
    content_type: str = "application/json"
    keep: tuple[str, ...] = ()  # dotted paths of the response body to compare (besides status/kind/reason)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Kubectl:
    args: tuple[str, ...]
    stdin: Any = None  # a dict or list of dicts, dumped as YAML
    keep_stdout: bool = False  # compare stdout (normalised) too
    jsonpath: str | None = None  # compare this jsonpath of the output


@dataclass
class Helm:
    args: tuple[str, ...]
    keep_stdout: bool = False


@dataclass
class Py:
    """A Python step: ``fn(ctx)`` returns the observation (``ctx`` has ``api``, ``ns``, ``engine``)."""
    fn: Callable[[Ctx], Any]


@dataclass
class Playbook:
    tasks: list[dict[str, Any]]
    check: bool = False


@dataclass
class Case:
    id: str
    steps: list[Http | Kubectl | Helm | Py | Playbook]


@dataclass
class Ctx:
    api: client.ApiClient
    ns: str
    engine: Any


Step = Http | Kubectl | Helm | Py | Playbook


def cm(name: str, ns: str = "{ns}", labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def deployment(name: str, replicas: int = 1, labels: dict[str, str] | None = None) -> dict[str, Any]:
    sel = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "{ns}", "labels": labels or sel},
            "spec": {"replicas": replicas, "selector": {"matchLabels": sel},
                     "template": {"metadata": {"labels": sel},
                                  "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}}


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "{ns}"},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}], **spec}}


GROUP = "diff.aiconform.io"


def crd(plural: str, status: bool = False, required: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}},
                 **({"required": ["size"]} if required else {})},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}"},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": plural[:-1], "kind": plural[:-1].capitalize(),
                               "listKind": plural[:-1].capitalize() + "List"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema},
                                   **({"subresources": {"status": {}}} if status else {})}]}}


CM = "/api/v1/namespaces/{ns}/configmaps"
DEP = "/apis/apps/v1/namespaces/{ns}/deployments"
MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"
SMP = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


# ---- raw requests and the Python steps built on them ----
def _raw(api: client.ApiClient, method: str, path: str, body: Any = None, ctype: str = "application/json",
         query: dict[str, str] | None = None, headers: dict[str, str] | None = None, timeout: float = 30,
         stream: bool = False) -> Any:
    """One HTTP request with the client's connection pool, TLS and credentials (urllib3 response)."""
    url = api.configuration.host + path + ("?" + urlencode(query) if query else "")
    hdrs = {"Accept": "application/json", **({"Content-Type": ctype} if body is not None else {})}
    for auth in api.configuration.auth_settings().values():
        if auth.get("in") == "header" and auth.get("value"):
            hdrs[auth["key"]] = auth["value"]
    hdrs.update(headers or {})
    data = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
    return api.rest_client.pool_manager.request(method, url, body=data, headers=hdrs, timeout=timeout,
                                                preload_content=not stream)


def request(api: client.ApiClient, method: str, path: str, body: Any = None, ctype: str = "application/json",
            query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, Any]:
    resp = _raw(api, method, path, body, ctype, query, headers, timeout)
    try:
        return resp.status, (json.loads(resp.data) if resp.data else {})
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
        return resp.status, {"_raw": resp.data[:60].decode(errors="replace")}


def _pick(obj: Any, dotted: str) -> Any:
    parts = dotted.split(".")
    cur: Any = obj
    for i, part in enumerate(parts):
        if part == "*":
            rest = ".".join(parts[i + 1:])
            return [(_pick(x, rest) if rest else x) for x in (cur or [])]
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _sub(value: Any, ns: str) -> Any:
    return json.loads(json.dumps(value).replace("{ns}", ns)) if value is not None else None


def observe_http(ctx: Ctx, step: Http) -> dict[str, Any]:
    body = _sub(step.body, ctx.ns)
    if step.content_type == APPLY and body is not None:
        body = yaml.safe_dump(body)
    status, data = request(ctx.api, step.method, step.path.replace("{ns}", ctx.ns), body, step.content_type,
                           _sub(step.query, ctx.ns), _sub(step.headers, ctx.ns))
    out = {"status": status, "kind": data.get("kind")}
    if data.get("kind") == "Status":
        out["reason"] = data.get("reason")
        out["code"] = data.get("code")
    for k in step.keep:
        out[k] = _pick(data, k)
    return out


def wait_for(fn: Callable[[], Any], timeout: float = 20, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(every)


def watch(ctx: Ctx, path: str, query: dict[str, str], stop_after: int | None = None,
          timeout: float = 10) -> list[tuple[str, Any]]:
    """Read a watch stream; each event as (type, name or Status reason/code or bookmark annotation)."""
    resp = _raw(ctx.api, "GET", path.replace("{ns}", ctx.ns), query={"watch": "true", **query}, timeout=timeout,
                stream=True)
    events: list[tuple[str, Any]] = []
    buf = b""
    try:
        for chunk in resp.stream(1024, decode_content=True):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                ev = json.loads(line)
                obj = ev["object"]
                if ev["type"] == "ERROR":
                    events.append(("ERROR", (obj.get("reason"), obj.get("code"))))
                elif ev["type"] == "BOOKMARK":
                    events.append(("BOOKMARK", (obj["metadata"].get("annotations") or {}).get(
                        "k8s.io/initial-events-end")))
                else:
                    events.append((ev["type"], obj["metadata"]["name"]))
                if stop_after and len(events) >= stop_after:
                    return events
    finally:
        resp.release_conn()
    return events


_WORD = re.compile(r"^(error: |Error from server \((\w+)\)|Error from server)")


def observe_kubectl(ctx: Ctx, step: Kubectl) -> dict[str, Any]:
    args = [a.replace("{ns}", ctx.ns) for a in step.args]
    if step.jsonpath:
        args += ["-o", f"jsonpath={step.jsonpath}"]
    stdin = None
    if step.stdin is not None:
        docs = step.stdin if isinstance(step.stdin, list) else [step.stdin]
        stdin = yaml.safe_dump_all(_sub(docs, ctx.ns))
    res: subprocess.CompletedProcess[str] = run_tool(ctx.engine, "kubectl", *args, input=stdin, timeout=120)
    out: dict[str, Any] = {"rc": res.returncode}
    m = _WORD.match(res.stderr.strip())
    if res.returncode and m:
        out["error"] = m.group(2) or m.group(1).strip()
    if step.jsonpath or step.keep_stdout:
        out["stdout"] = res.stdout.strip().replace(ctx.ns, "{ns}")
    if res.returncode and not m:
        out["stderr"] = res.stderr.strip()[:200]
    return out


def observe_helm(ctx: Ctx, step: Helm) -> dict[str, Any]:
    args = [a.replace("{ns}", ctx.ns) for a in step.args]
    res = run_tool(ctx.engine, "helm", *args, "-n", ctx.ns, timeout=180)
    out: dict[str, Any] = {"rc": res.returncode}
    if res.returncode:
        out["stderr"] = res.stderr.strip()[:200]
    if step.keep_stdout:
        out["stdout"] = res.stdout.strip()
    return out


def observe_playbook(ctx: Ctx, step: Playbook) -> list[Any]:
    """Run the tasks with ansible-playbook; each task's failed/changed flags (and the names it returned)."""
    out_file = Path(ctx.engine.dir) / f"play-{ctx.ns}-{time.monotonic_ns()}.json"
    tasks = []
    for i, t in enumerate(_sub(step.tasks, ctx.ns)):
        tasks.append({"ignore_errors": True, **t, "register": f"r{i}"})
    results = "{" + ", ".join(f"'{t['name']}': r{i}" for i, t in enumerate(tasks)) + "}"
    tasks.append({"name": "record", "check_mode": False,
                  "ansible.builtin.copy": {"content": "{{ " + results + " | to_json }}", "dest": str(out_file)}})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = out_file.with_suffix(".yml")
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    cmd = ["ansible-playbook", str(path), "-i", "localhost,", "-c", "local",
           "-e", json.dumps({"ansible_python_interpreter": sys.executable})]
    if step.check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env={**ctx.engine.subprocess_env(), "ANSIBLE_NOCOLOR": "1"},
                          capture_output=True, text=True, timeout=300)
    assert out_file.exists(), f"ansible-playbook recorded nothing (rc {proc.returncode}): {proc.stdout[-800:]}"
    report = json.loads(out_file.read_text())
    seen = []
    for title, res in report.items():
        row = {"task": title, "failed": bool(res.get("failed")), "changed": bool(res.get("changed"))}
        if isinstance(res.get("resources"), list):
            row["names"] = sorted(r["metadata"]["name"] for r in res["resources"])
        if isinstance(res.get("result"), dict) and "metadata" in res["result"]:
            row["data"] = res["result"].get("data")
        seen.append(row)
    return seen


def run_steps(ctx: Ctx, steps: list[Step]) -> list[Any]:
    out: list[Any] = []
    for s in steps:
        if isinstance(s, Http):
            out.append(observe_http(ctx, s))
        elif isinstance(s, Kubectl):
            out.append(observe_kubectl(ctx, s))
        elif isinstance(s, Helm):
            out.append(observe_helm(ctx, s))
        elif isinstance(s, Playbook):
            out.append(observe_playbook(ctx, s))
        else:
            out.append(s.fn(ctx))
    return out


# ---- Python steps ----
def ready_deployment(name: str, replicas: int = 1) -> Py:
    def fn(ctx: Ctx) -> Any:
        def ready() -> bool:
            _, d = request(ctx.api, "GET", f"/apis/apps/v1/namespaces/{ctx.ns}/deployments/{name}")
            return (d.get("status") or {}).get("readyReplicas") == replicas
        return {"ready": bool(wait_for(ready, 60, 0.3))}
    return Py(fn)


def generate_name(ctx: Ctx) -> Any:
    code, obj = request(ctx.api, "POST", f"/api/v1/namespaces/{ctx.ns}/configmaps", body={
        "metadata": {"generateName": "gen-"}, "data": {"a": "1"}})
    name = obj["metadata"]["name"]
    return {"code": code, "prefix": name.startswith("gen-"), "len": len(name),
            "generateName": obj["metadata"].get("generateName")}


def watch_from_rv(ctx: Ctx) -> Any:
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    _, a = request(ctx.api, "POST", base, body=cm("a", ctx.ns))
    rv = a["metadata"]["resourceVersion"]
    request(ctx.api, "POST", base, body=cm("b", ctx.ns))
    request(ctx.api, "PATCH", base + "/a", body={"data": {"x": "1"}}, ctype=MERGE)
    request(ctx.api, "DELETE", base + "/b")
    return watch(ctx, base, {"resourceVersion": rv, "timeoutSeconds": "1"})


def watch_initial_with_selector(ctx: Ctx) -> Any:
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    request(ctx.api, "POST", base, body=cm("a", ctx.ns, labels={"w": "1"}))
    request(ctx.api, "POST", base, body=cm("b", ctx.ns, labels={"w": "2"}))
    return watch(ctx, base, {"labelSelector": "w=1", "timeoutSeconds": "1"})


def watch_bad_resource_versions(ctx: Ctx) -> Any:
    # (410 Expired depends on how far back the API server's watch cache reaches at that moment: not comparable)
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    code, st = request(ctx.api, "GET", base, query={"watch": "true", "resourceVersion": "abc", "timeoutSeconds": "1"})
    future = watch(ctx, base, {"resourceVersion": "999999999", "timeoutSeconds": "1"})
    return {"invalid": (code, st.get("reason"), st.get("message")), "future": future}


def watch_bookmarks(ctx: Ctx) -> Any:
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    request(ctx.api, "POST", base, body=cm("a", ctx.ns))
    request(ctx.api, "POST", base, body=cm("b", ctx.ns))
    return watch(ctx, base, {"sendInitialEvents": "true", "allowWatchBookmarks": "true",
                             "resourceVersionMatch": "NotOlderThan", "resourceVersion": "", "timeoutSeconds": "1"},
                 stop_after=3)


def watch_timeout(ctx: Ctx) -> Any:
    t0 = time.monotonic()
    events = watch(ctx, f"/api/v1/namespaces/{ctx.ns}/secrets", {"timeoutSeconds": "1"})
    return {"events": events, "ended_in_time": time.monotonic() - t0 < 5}


def paginate(ctx: Ctx) -> Any:
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    for n in ("p1", "p2", "p3"):
        request(ctx.api, "POST", base, body=cm(n, ctx.ns, labels={"page": "y"}))
    _, first = request(ctx.api, "GET", base, query={"limit": "2", "labelSelector": "page=y"})
    cont = first["metadata"].get("continue")
    _, second = request(ctx.api, "GET", base, query={"limit": "2", "labelSelector": "page=y", "continue": cont or ""})
    return {"first": [i["metadata"]["name"] for i in first["items"]], "has_continue": bool(cont),
            "remaining": first["metadata"].get("remainingItemCount"),
            "second": [i["metadata"]["name"] for i in second.get("items", [])],
            "second_continue": bool(second.get("metadata", {}).get("continue"))}


def finalizer_lifecycle(ctx: Ctx) -> Any:
    base = f"/api/v1/namespaces/{ctx.ns}/configmaps"
    body = cm("f", ctx.ns)
    body["metadata"]["finalizers"] = ["diff.aiconform.io/hold"]
    request(ctx.api, "POST", base, body=body)
    code, deleted = request(ctx.api, "DELETE", base + "/f")
    _, still = request(ctx.api, "GET", base + "/f")
    pcode, _ = request(ctx.api, "PATCH", base + "/f", body={"metadata": {"finalizers": None}}, ctype=MERGE)
    gone = wait_for(lambda: request(ctx.api, "GET", base + "/f")[0] == 404, 10)
    return {"delete": code, "marked": bool(deleted["metadata"].get("deletionTimestamp")),
            "still_there": bool(still.get("metadata", {}).get("deletionTimestamp")), "patch": pcode, "gone": gone}


def namespace_terminating(ctx: Ctx) -> Any:
    ns = ctx.ns + "-t"
    request(ctx.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    body = cm("held", ns)
    body["metadata"]["finalizers"] = ["diff.aiconform.io/hold"]
    request(ctx.api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body=body)
    request(ctx.api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body=cm("plain", ns))
    dcode, dns = request(ctx.api, "DELETE", f"/api/v1/namespaces/{ns}")

    def emptied() -> bool:
        return request(ctx.api, "GET", f"/api/v1/namespaces/{ns}/configmaps/plain")[0] == 404
    plain_gone = wait_for(emptied, 30, 0.3)
    _, nso = request(ctx.api, "GET", f"/api/v1/namespaces/{ns}")
    ccode, created = request(ctx.api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body=cm("new", ns))
    request(ctx.api, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/held", body={"metadata": {"finalizers": None}},
            ctype=MERGE)
    gone = wait_for(lambda: request(ctx.api, "GET", f"/api/v1/namespaces/{ns}")[0] == 404, 40, 0.3)
    return {"delete": dcode, "phase_on_delete": (dns.get("status") or {}).get("phase"), "plain_gone": plain_gone,
            "phase": (nso.get("status") or {}).get("phase"), "create_in_terminating": (ccode, created.get("reason")),
            "cause": [c.get("reason") for c in (created.get("details") or {}).get("causes") or []],
            "namespace_gone": gone}


def namespace_cascade(ctx: Ctx) -> Any:
    ns = ctx.ns + "-c"
    request(ctx.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    request(ctx.api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body=cm("x", ns))
    request(ctx.api, "POST", f"/api/v1/namespaces/{ns}/secrets", body={"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    request(ctx.api, "DELETE", f"/api/v1/namespaces/{ns}")
    gone = wait_for(lambda: request(ctx.api, "GET", f"/api/v1/namespaces/{ns}")[0] == 404, 40, 0.3)
    return {"gone": gone, "cm": request(ctx.api, "GET", f"/api/v1/namespaces/{ns}/configmaps/x")[0]}


def crd_served(ctx: Ctx) -> Any:
    plural = f"w{ctx.ns[-6:].replace('-', '')}s"
    code, _ = request(ctx.api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd(plural))

    def established() -> bool:
        _, o = request(ctx.api, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in (o.get("status") or {}).get("conditions") or [])
    est = wait_for(established, 20)

    def served() -> bool:
        _, doc = request(ctx.api, "GET", f"/apis/{GROUP}/v1")
        return any(r["name"] == plural for r in doc.get("resources") or [])
    srv = wait_for(served, 20)
    base = f"/apis/{GROUP}/v1/namespaces/{ctx.ns}/{plural}"
    kind = plural[:-1].capitalize()
    c2, obj = request(ctx.api, "POST", base, body={"apiVersion": f"{GROUP}/v1", "kind": kind,
                                                   "metadata": {"name": "one"}, "spec": {"size": 1}})
    _, lst = request(ctx.api, "GET", base)
    c404, nf = request(ctx.api, "GET", base + "/nope")
    dcode, _ = request(ctx.api, "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")
    return {"crd": code, "established": est, "served": srv, "create": c2, "gen": obj.get("metadata", {}).get("generation"),
            "list_kind": lst.get("kind"), "items": len(lst.get("items") or []), "missing": (c404, nf.get("reason")),
            "message_ok": nf.get("message") == f'{plural}.{GROUP} "nope" not found', "delete": dcode}


def crd_status_subresource(ctx: Ctx) -> Any:
    plural = f"s{ctx.ns[-6:].replace('-', '')}s"
    request(ctx.api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd(plural, status=True))
    wait_for(lambda: any(r["name"] == plural for r in request(ctx.api, "GET", f"/apis/{GROUP}/v1")[1].get("resources")
                         or []), 20)
    base = f"/apis/{GROUP}/v1/namespaces/{ctx.ns}/{plural}"
    kind = plural[:-1].capitalize()
    c1, obj = wait_for(lambda: (r := request(ctx.api, "POST", base, body={
        "apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": "one"}, "spec": {"size": 1},
        "status": {"phase": "Set"}}))[0] != 404 and r, 10)
    c2, st = request(ctx.api, "PATCH", base + "/one/status", body={"status": {"phase": "Ready"}, "spec": {"size": 9}},
                     ctype=MERGE)
    c3, main = request(ctx.api, "PATCH", base + "/one", body={"status": {"phase": "Ignored"}, "spec": {"size": 2}},
                       ctype=MERGE)
    request(ctx.api, "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")
    return {"create": c1, "status_on_create": obj.get("status"), "status_patch": c2, "after_status": st.get("status"),
            "spec_after_status": st.get("spec"), "gen_after_status": st["metadata"].get("generation"),
            "main_patch": c3, "status_after_main": main.get("status"), "spec_after_main": main.get("spec"),
            "gen_after_main": main["metadata"].get("generation")}


def crd_schema_validation(ctx: Ctx) -> Any:
    plural = f"v{ctx.ns[-6:].replace('-', '')}s"
    request(ctx.api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd(plural, required=True))
    wait_for(lambda: any(r["name"] == plural for r in request(ctx.api, "GET", f"/apis/{GROUP}/v1")[1].get("resources")
                         or []), 20)
    base = f"/apis/{GROUP}/v1/namespaces/{ctx.ns}/{plural}"
    code, st = request(ctx.api, "POST", base, body={"apiVersion": f"{GROUP}/v1", "kind": plural[:-1].capitalize(),
                                                    "metadata": {"name": "one"}, "spec": {}})
    request(ctx.api, "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")
    return {"code": code, "reason": st.get("reason"),
            "causes": [(c.get("reason"), c.get("field")) for c in (st.get("details") or {}).get("causes") or []]}


def discovery_core(ctx: Ctx) -> Any:
    _, api = request(ctx.api, "GET", "/api")
    _, v1 = request(ctx.api, "GET", "/api/v1")
    res = {r["name"]: r for r in v1.get("resources") or []}
    pick = ("pods", "pods/log", "pods/status", "configmaps", "namespaces", "nodes", "services", "secrets")
    return {"kind": api.get("kind"), "versions": api.get("versions"),
            "resources": {n: (res[n].get("namespaced"), res[n].get("kind"), sorted(res[n].get("verbs") or []))
                          if n in res else None for n in pick},
            "short": sorted(res.get("configmaps", {}).get("shortNames") or [])}


def discovery_groups(ctx: Ctx) -> Any:
    _, apis = request(ctx.api, "GET", "/apis")
    groups = {g["name"]: g for g in apis.get("groups") or []}
    want = ("apps", "batch", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "resource.k8s.io",
            "networking.k8s.io", "policy", "scheduling.k8s.io", "coordination.k8s.io", "storage.k8s.io",
            "autoscaling", "admissionregistration.k8s.io", "apiregistration.k8s.io", "discovery.k8s.io")
    _, apps = request(ctx.api, "GET", "/apis/apps/v1")
    res = {r["name"]: r for r in apps.get("resources") or []}
    return {"kind": apis.get("kind"),
            "groups": {g: (groups[g]["preferredVersion"]["version"] if g in groups else None) for g in want},
            "apps": {n: (res[n].get("kind"), sorted(res[n].get("verbs") or [])) if n in res else None
                     for n in ("deployments", "deployments/scale", "deployments/status", "replicasets",
                               "statefulsets", "daemonsets")}}


AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


def discovery_aggregated(ctx: Ctx) -> Any:
    out = {}
    for path in ("/api", "/apis"):
        _, doc = request(ctx.api, "GET", path, headers={"Accept": AGG})
        items = {i["metadata"].get("name", ""): i for i in doc.get("items") or []}
        out[path] = {"kind": doc.get("kind"), "apiVersion": doc.get("apiVersion")}
        probe = items.get("" if path == "/api" else "apps") or {}
        versions = probe.get("versions") or [{}]
        res = {r["resource"]: r for r in versions[0].get("resources") or []}
        r = res.get("configmaps" if path == "/api" else "deployments") or {}
        out[path]["resource"] = (r.get("scope"), (r.get("responseKind") or {}).get("kind"),
                                 sorted(s["subresource"] for s in r.get("subresources") or []))
    return out


def typed_client(ctx: Ctx) -> Any:
    core = client.CoreV1Api(ctx.api)
    out: dict[str, Any] = {}
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="typed", labels={"t": "1"}), data={"a": "1"})
    made = core.create_namespaced_config_map(ctx.ns, body)
    out["created"] = (made.metadata.name, made.data)
    got = core.read_namespaced_config_map("typed", ctx.ns)
    got.data["b"] = "2"
    out["replaced"] = core.replace_namespaced_config_map("typed", ctx.ns, got).data
    got.data["c"] = "3"  # stale resourceVersion now
    try:
        core.replace_namespaced_config_map("typed", ctx.ns, got)
        out["stale"] = "accepted"
    except client.ApiException as e:
        out["stale"] = (e.status, json.loads(e.body)["reason"])
    out["listed"] = [i.metadata.name for i in core.list_namespaced_config_map(ctx.ns, label_selector="t=1").items]
    try:
        core.read_namespaced_secret("nope", ctx.ns)
    except client.ApiException as e:
        out["missing"] = (e.status, json.loads(e.body)["message"])
    core.delete_collection_namespaced_config_map(ctx.ns, label_selector="t=1")
    out["after_deletecollection"] = [i.metadata.name for i in
                                     core.list_namespaced_config_map(ctx.ns, label_selector="t=1").items]
    return out


def typed_scale(ctx: Ctx) -> Any:
    apps = client.AppsV1Api(ctx.api)
    d = _sub(deployment("sc"), ctx.ns)
    apps.create_namespaced_deployment(ctx.ns, d)
    sc = apps.read_namespaced_deployment_scale("sc", ctx.ns)
    out: dict[str, Any] = {"scale": (sc.kind, sc.spec.replicas, sc.status.selector if sc.status else None)}
    new = apps.patch_namespaced_deployment_scale("sc", ctx.ns, {"spec": {"replicas": 3}})
    out["patched"] = new.spec.replicas
    out["deployment"] = apps.read_namespaced_deployment("sc", ctx.ns).spec.replicas
    return out


def dynamic_client(ctx: Ctx) -> Any:
    dyn = dynamic.DynamicClient(ctx.api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    out: dict[str, Any] = {}
    cms.create(namespace=ctx.ns, body=cm("dyn", ctx.ns, a="1"))
    out["get"] = cms.get(namespace=ctx.ns, name="dyn").data.to_dict()
    applied = cms.server_side_apply(namespace=ctx.ns, body=cm("dyn2", ctx.ns, b="2"), field_manager="diff")
    out["apply"] = applied.data.to_dict()
    cms.patch(namespace=ctx.ns, name="dyn", body={"data": {"a": "9"}}, content_type=MERGE)
    out["patched"] = cms.get(namespace=ctx.ns, name="dyn").data.to_dict()
    cms.delete(namespace=ctx.ns, name="dyn")
    try:
        cms.get(namespace=ctx.ns, name="dyn")
    except dynamic.exceptions.NotFoundError as e:
        out["deleted"] = e.status
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    out["deployment_resource"] = (deps.namespaced, deps.kind, deps.name)
    return out


def impersonated(user: str) -> dict[str, str]:
    return {"Impersonate-User": user}


SA = "system:serviceaccount:{ns}:robot"


def rbac_setup() -> list[Step]:
    return [Http("POST", "/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "robot"}}),
            Http("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                 {"metadata": {"name": "pod-reader"},
                  "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}]}),
            Http("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                 {"metadata": {"name": "robot-reads"},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
                  "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "{ns}"}]})]


def ssar(verb: str, resource: str, ns: str = "{ns}") -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": ns}}}


def k8s_task(title: str, **args: Any) -> dict[str, Any]:
    return {"name": title, "kubernetes.core.k8s": args}


CASES: list[Case] = [
    # ---- basic CRUD and the errors clients read ----
    Case("get-missing-configmap", [Http("GET", CM + "/nope", keep=("message", "details"))]),
    Case("create-then-already-exists", [Http("POST", CM, cm("a", a="1"), keep=("data", "metadata.name")),
                                        Http("POST", CM, cm("a", a="1"), keep=("message", "details"))]),
    Case("create-in-missing-namespace", [Http("POST", "/api/v1/namespaces/nope-ns-xyz/configmaps",
                                              cm("a", "nope-ns-xyz"), keep=("message", "details"))]),
    Case("namespace-mismatch-in-body", [Http("POST", CM, cm("a", "other"), keep=("message",))]),
    Case("name-mismatch-on-put", [Http("POST", CM, cm("a")), Http("PUT", CM + "/a", cm("b"), keep=("message",))]),
    Case("put-missing-object", [Http("PUT", CM + "/ghost", cm("ghost"), keep=("message",))]),
    Case("patch-missing-object", [Http("PATCH", CM + "/ghost", {"data": {"a": "1"}}, MERGE, keep=("message",))]),
    Case("delete-missing-object", [Http("DELETE", CM + "/ghost", keep=("message",))]),
    Case("invalid-name", [Http("POST", CM, cm("Not_Valid"), keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("missing-name", [Http("POST", CM, {"metadata": {}, "data": {}},
                               keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("generate-name", [Py(generate_name)]),
    Case("unknown-resource-path", [Http("GET", "/apis/diff.aiconform.io/v1/widgets"),
                                   Http("GET", "/api/v1/namespaces/{ns}/widgets")]),
    Case("unsupported-patch-type", [Http("POST", CM, cm("p", a="1")),
                                    Http("PATCH", CM + "/p", {"data": {"a": "2"}}, "text/plain")]),
    Case("method-not-allowed-put-collection", [Http("PUT", CM, cm("x"))]),
    Case("cluster-scoped-with-namespace", [Http("GET", "/api/v1/namespaces/{ns}/nodes")]),
    Case("version", [Http("GET", "/version", keep=("major", "minor", "gitVersion"))]),
    # ---- patches ----
    Case("merge-patch", [Http("POST", CM, cm("p", a="1")),
                         Http("PATCH", CM + "/p", {"data": {"b": "2", "a": None}}, MERGE, keep=("data",))]),
    Case("json-patch", [Http("POST", CM, cm("p", a="1")),
                        Http("PATCH", CM + "/p", [{"op": "add", "path": "/data/b", "value": "2"},
                                                  {"op": "remove", "path": "/data/a"}], JSONP, keep=("data",))]),
    Case("json-patch-test-fails", [Http("POST", CM, cm("p", a="1")),
                                   Http("PATCH", CM + "/p", [{"op": "test", "path": "/data/a", "value": "2"}], JSONP)]),
    Case("json-patch-bad-path", [Http("POST", CM, cm("p", a="1")),
                                 Http("PATCH", CM + "/p", [{"op": "replace", "path": "/data/zz", "value": "2"}], JSONP)]),
    Case("strategic-merge-containers", [
        Http("POST", DEP, deployment("smp")),
        Http("PATCH", DEP + "/smp", {"spec": {"template": {"spec": {"containers": [
            {"name": "side", "image": "registry.k8s.io/pause:3.10"}]}}}}, SMP,
            keep=("spec.template.spec.containers.*.name", "metadata.generation"))]),
    Case("no-op-patch-keeps-resource-version", [
        Py(lambda ctx: (lambda a, b: a == b)(
            request(ctx.api, "POST", f"/api/v1/namespaces/{ctx.ns}/configmaps", body=cm("n", ctx.ns, a="1"))[1]
            ["metadata"]["resourceVersion"],
            request(ctx.api, "PATCH", f"/api/v1/namespaces/{ctx.ns}/configmaps/n", body={"data": {"a": "1"}},
                    ctype=MERGE)[1]["metadata"]["resourceVersion"]))]),
    Case("generation-bumps-on-spec-change", [
        Http("POST", DEP, deployment("g"), keep=("metadata.generation",)),
        Http("PATCH", DEP + "/g", {"metadata": {"labels": {"x": "y"}}}, MERGE, keep=("metadata.generation",)),
        Http("PATCH", DEP + "/g", {"spec": {"replicas": 2}}, MERGE, keep=("metadata.generation",))]),
    # ---- server-side apply ----
    Case("server-side-apply-creates", [Http("PATCH", CM + "/ssa", cm("ssa", a="1"), APPLY,
                                            query={"fieldManager": "t"}, keep=("data",)),
                                       Http("PATCH", CM + "/ssa", cm("ssa", a="1", b="2"), APPLY,
                                            query={"fieldManager": "t"}, keep=("data",))]),
    Case("server-side-apply-needs-field-manager", [Http("PATCH", CM + "/ssa", cm("ssa", a="1"), APPLY)]),
    Case("server-side-apply-conflict", [
        Http("PATCH", CM + "/ssa", cm("ssa", a="1"), APPLY, query={"fieldManager": "one"}),
        Http("PATCH", CM + "/ssa", cm("ssa", a="2"), APPLY, query={"fieldManager": "two"}),
        Http("PATCH", CM + "/ssa", cm("ssa", a="2"), APPLY, query={"fieldManager": "two", "force": "true"},
             keep=("data",))]),
    Case("server-side-apply-removes-owned-field", [
        Http("PATCH", CM + "/ssa", cm("ssa", a="1", b="2"), APPLY, query={"fieldManager": "one"}),
        Http("PATCH", CM + "/ssa", cm("ssa", a="1"), APPLY, query={"fieldManager": "one"}, keep=("data",))]),
    # ---- selectors and lists ----
    Case("label-selector-list", [Http("POST", CM, cm("l1", labels={"x": "1"})),
                                 Http("POST", CM, cm("l2", labels={"x": "2"})),
                                 Http("POST", CM, cm("l3")),
                                 Http("GET", CM, query={"labelSelector": "x=2"}, keep=("items.*.metadata.name",)),
                                 Http("GET", CM, query={"labelSelector": "x in (1,2)"}, keep=("items.*.metadata.name",)),
                                 Http("GET", CM, query={"labelSelector": "!x"}, keep=("items.*.metadata.name", "kind")),
                                 Http("GET", CM, query={"labelSelector": "x!=1,x"}, keep=("items.*.metadata.name",))]),
    Case("label-selector-invalid", [Http("GET", CM, query={"labelSelector": "x==,="})]),
    Case("field-selector-name", [Http("POST", CM, cm("f1")), Http("POST", CM, cm("f2")),
                                 Http("GET", CM, query={"fieldSelector": "metadata.name=f2"},
                                      keep=("items.*.metadata.name",)),
                                 Http("GET", CM, query={"fieldSelector": "metadata.name!=f2"},
                                      keep=("items.*.metadata.name",))]),
    Case("field-selector-unsupported-field", [Http("GET", CM, query={"fieldSelector": "data.a=1"},
                                                   keep=("message",))]),
    Case("field-selector-pod-phase-and-node", [Http("GET", "/api/v1/pods",
                                                    query={"fieldSelector": "status.phase=Failed,spec.nodeName=nope"},
                                                    keep=("items",))]),
    Case("list-pagination", [Py(paginate)]),
    # ---- dry run ----
    Case("dry-run-create-leaves-nothing", [
        Http("POST", CM, cm("dry", a="1"), query={"dryRun": "All"}, keep=("data",)),
        Http("GET", CM + "/dry")]),
    Case("dry-run-patch-and-delete", [
        Http("POST", CM, cm("dry", a="1")),
        Http("PATCH", CM + "/dry", {"data": {"a": "2"}}, MERGE, query={"dryRun": "All"}, keep=("data",)),
        Http("DELETE", CM + "/dry", query={"dryRun": "All"}),
        Http("GET", CM + "/dry", keep=("data",))]),
    Case("dry-run-invalid-value", [Http("POST", CM, cm("dry"), query={"dryRun": "Yes"}, keep=("message",))]),
    # ---- optimistic concurrency ----
    Case("stale-resource-version-put", [
        Http("POST", CM, cm("rv")),
        Http("PUT", CM + "/rv", {**cm("rv", a="1"), "metadata": {"name": "rv", "resourceVersion": "1"}},
             keep=("message",))]),
    Case("stale-resource-version-patch", [
        Http("POST", CM, cm("rv")),
        Http("PATCH", CM + "/rv", {"metadata": {"resourceVersion": "1"}, "data": {"a": "1"}}, MERGE)]),
    Case("delete-precondition-conflicts", [
        Http("POST", CM, cm("pre")),
        Http("DELETE", CM + "/pre", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
        Http("DELETE", CM + "/pre", {"preconditions": {"resourceVersion": "1"}}),
        Http("GET", CM + "/pre", keep=("metadata.name",))]),
    # ---- finalizers, namespaces, garbage collection ----
    Case("finalizer-holds-deletion", [Py(finalizer_lifecycle)]),
    Case("namespace-terminating", [Py(namespace_terminating)]),
    Case("namespace-deletion-cascades", [Py(namespace_cascade)]),
    Case("namespace-create-shape", [Http("POST", "/api/v1/namespaces", {"metadata": {"name": "{ns}-shape"}},
                                         keep=("status", "spec", "metadata.labels"))]),
    # ---- status subresource, CRDs ----
    Case("deployment-status-reset-on-create", [
        Http("POST", DEP, {**deployment("st"), "status": {"replicas": 7}}, keep=("status",)),
        Http("PUT", DEP + "/st/status", {**deployment("st"), "status": {"replicas": 7}}, keep=("status.replicas",)),
        Http("GET", DEP + "/st/status", keep=("kind",))]),
    Case("crd-create-is-served", [Py(crd_served)]),
    Case("crd-status-subresource", [Py(crd_status_subresource)]),
    Case("crd-schema-validation", [Py(crd_schema_validation)]),
    # ---- validation (422) ----
    Case("pod-without-containers", [Http("POST", "/api/v1/namespaces/{ns}/pods",
                                         {**pod("p"), "spec": {"containers": []}},
                                         keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("deployment-selector-mismatch", [Http("POST", DEP, {**deployment("bad"), "spec": {
        **deployment("bad")["spec"], "selector": {"matchLabels": {"app": "other"}}}},
        keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("configmap-invalid-key", [Http("POST", CM, {**cm("k"), "data": {"bad key!": "x"}},
                                        keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("service-port-out-of-range", [Http("POST", "/api/v1/namespaces/{ns}/services",
                                            {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 70000}]}},
                                            keep=("details.causes.*.field", "details.causes.*.reason"))]),
    Case("pod-defaults", [Http("POST", "/api/v1/namespaces/{ns}/pods", pod("p"),
                               keep=("spec.restartPolicy", "spec.dnsPolicy", "spec.schedulerName",
                                     "spec.terminationGracePeriodSeconds", "spec.containers.*.imagePullPolicy",
                                     "spec.containers.*.terminationMessagePath", "status.phase", "status.qosClass"))]),
    Case("service-defaults", [Http("POST", "/api/v1/namespaces/{ns}/services",
                                   {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}},
                                   keep=("spec.type", "spec.sessionAffinity", "spec.ports", "spec.ipFamilyPolicy",
                                         "spec.internalTrafficPolicy"))]),
    Case("deployment-defaults", [Http("POST", DEP, deployment("dd"),
                                      keep=("spec.strategy", "spec.revisionHistoryLimit", "spec.progressDeadlineSeconds"))]),
    # ---- watches ----
    Case("watch-from-resource-version", [Py(watch_from_rv)]),
    Case("watch-initial-events-with-selector", [Py(watch_initial_with_selector)]),
    Case("watch-invalid-or-future-resource-version", [Py(watch_bad_resource_versions)]),
    Case("watch-initial-events-end-bookmark", [Py(watch_bookmarks)]),
    Case("watch-timeout-seconds", [Py(watch_timeout)]),
    # ---- discovery ----
    Case("discovery-core", [Py(discovery_core)]),
    Case("discovery-groups", [Py(discovery_groups)]),
    Case("discovery-aggregated", [Py(discovery_aggregated)]),
    Case("openapi-v3-index", [Py(lambda ctx: sorted(p for p in request(ctx.api, "GET", "/openapi/v3")[1]
                                                    .get("paths", {}) if p in ("api/v1", "apis/apps/v1")))]),
    # ---- RBAC ----
    Case("rbac-impersonated-serviceaccount", [
        *rbac_setup(),
        Http("GET", "/api/v1/namespaces/{ns}/pods", headers=impersonated(SA), keep=("kind",)),
        Http("GET", "/api/v1/namespaces/{ns}/secrets", headers=impersonated(SA), keep=("message", "details")),
        Http("DELETE", "/api/v1/namespaces/{ns}/configmaps/x", headers=impersonated(SA), keep=("message",)),
        Http("GET", "/api/v1/namespaces/default/pods", headers=impersonated(SA), keep=("message",)),
        Http("GET", "/api/v1/nodes", headers=impersonated(SA), keep=("message",))]),
    Case("rbac-serviceaccount-without-rules", [
        Kubectl(("-n", "{ns}", "create", "serviceaccount", "nobody")),
        Kubectl(("-n", "{ns}", "get", "secrets", "--as=system:serviceaccount:{ns}:nobody")),
        Kubectl(("-n", "{ns}", "auth", "can-i", "list", "pods", "--as=system:serviceaccount:{ns}:nobody"),
                keep_stdout=True),
        Kubectl(("auth", "can-i", "list", "pods", "-n", "{ns}"), keep_stdout=True)]),
    Case("rbac-self-subject-access-review", [
        *rbac_setup(),
        Http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar("list", "pods"),
             headers=impersonated(SA), keep=("status.allowed",)),
        Http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar("delete", "pods"),
             headers=impersonated(SA), keep=("status.allowed",))]),
    Case("rbac-kubectl-as-user-with-clusterrole", [
        Kubectl(("create", "clusterrole", "{ns}-nodes", "--verb=get,list", "--resource=nodes")),
        Kubectl(("create", "clusterrolebinding", "{ns}-nodes", "--clusterrole={ns}-nodes", "--user=alice")),
        Kubectl(("get", "nodes", "--as=alice", "-o", "name", "-l", "node-role.kubernetes.io/control-plane"),
                keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "pods", "--as=alice")),
        Kubectl(("delete", "clusterrolebinding", "{ns}-nodes")),
        Kubectl(("delete", "clusterrole", "{ns}-nodes"))]),
    # ---- kubectl ----
    Case("kubectl-create-namespace-protobuf", [Kubectl(("create", "namespace", "{ns}-kc")),
                                               Kubectl(("get", "namespace", "{ns}-kc"), jsonpath="{.status.phase}"),
                                               Kubectl(("delete", "namespace", "{ns}-kc", "--wait=false"))]),
    Case("kubectl-create-deployment-rollout", [
        Kubectl(("-n", "{ns}", "create", "deployment", "d", "--image=registry.k8s.io/pause:3.10", "--replicas=2")),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/d", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "get", "deployment", "d"), jsonpath="{.status.readyReplicas}"),
        Kubectl(("-n", "{ns}", "get", "pods", "-l", "app=d", "--field-selector=status.phase=Running", "-o", "name"),
                keep_stdout=False, jsonpath=None),
        Kubectl(("-n", "{ns}", "wait", "--for=condition=Available", "deployment/d", "--timeout=30s"))]),
    Case("kubectl-create-generators", [
        Kubectl(("-n", "{ns}", "create", "serviceaccount", "sa")),
        Kubectl(("-n", "{ns}", "create", "role", "r", "--verb=get,list", "--resource=pods")),
        Kubectl(("-n", "{ns}", "create", "rolebinding", "rb", "--role=r", "--serviceaccount={ns}:sa")),
        Kubectl(("-n", "{ns}", "create", "service", "clusterip", "s", "--tcp=80:8080")),
        Kubectl(("-n", "{ns}", "create", "secret", "generic", "sec", "--from-literal=a=b")),
        Kubectl(("-n", "{ns}", "create", "configmap", "cfg", "--from-literal=a=b")),
        Kubectl(("-n", "{ns}", "get", "role", "r"), jsonpath="{.rules}"),
        Kubectl(("-n", "{ns}", "get", "rolebinding", "rb"), jsonpath="{.subjects}{.roleRef}"),
        Kubectl(("-n", "{ns}", "get", "service", "s"), jsonpath="{.spec.ports}"),
        Kubectl(("-n", "{ns}", "get", "secret", "sec"), jsonpath="{.data}{.type}")]),
    Case("kubectl-create-batch-and-policy", [
        Kubectl(("-n", "{ns}", "create", "job", "j", "--image=registry.k8s.io/pause:3.10")),
        Kubectl(("-n", "{ns}", "create", "cronjob", "cj", "--image=registry.k8s.io/pause:3.10",
                 "--schedule=*/5 * * * *")),
        Kubectl(("-n", "{ns}", "create", "pdb", "p", "--selector=app=x", "--min-available=1")),
        Kubectl(("-n", "{ns}", "create", "ingress", "i", "--rule=foo.com/bar=s:80")),
        Kubectl(("-n", "{ns}", "get", "cronjob", "cj"), jsonpath="{.spec.schedule} {.spec.jobTemplate.spec.template."
                                                                  "spec.containers[0].image}"),
        Kubectl(("-n", "{ns}", "get", "pdb", "p"), jsonpath="{.spec}"),
        Kubectl(("-n", "{ns}", "get", "ingress", "i"), jsonpath="{.spec.rules}"),
        Kubectl(("-n", "{ns}", "get", "job", "j"), jsonpath="{.spec.template.spec.restartPolicy}")]),
    Case("kubectl-run-and-expose", [
        Kubectl(("-n", "{ns}", "run", "web", "--image=registry.k8s.io/pause:3.10", "--labels=app=web",
                 "--port=8080")),
        Kubectl(("-n", "{ns}", "expose", "pod", "web", "--port=80", "--target-port=8080")),
        Kubectl(("-n", "{ns}", "get", "service", "web"), jsonpath="{.spec.selector}{.spec.ports[0].targetPort}"),
        Kubectl(("-n", "{ns}", "wait", "--for=condition=Ready", "pod/web", "--timeout=30s")),
        Kubectl(("-n", "{ns}", "get", "pod", "web"), jsonpath="{.status.phase}")]),
    Case("kubectl-apply-client-side", [
        Kubectl(("-n", "{ns}", "apply", "-f", "-"), stdin=cm("ap", a="1"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "apply", "-f", "-"), stdin=cm("ap", a="1"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "apply", "-f", "-"), stdin=cm("ap", a="2"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "ap"), jsonpath="{.data}")]),
    Case("kubectl-apply-deployment", [
        Kubectl(("-n", "{ns}", "apply", "-f", "-"), stdin=deployment("web", 2), keep_stdout=True),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/web", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "set", "image", "deployment/web", "c=registry.k8s.io/pause:3.9"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/web", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "get", "deployment", "web"), jsonpath="{.metadata.generation} {.status.updatedReplicas}"),
        Kubectl(("-n", "{ns}", "rollout", "undo", "deployment/web"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/web", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "get", "deployment", "web"), jsonpath="{.spec.template.spec.containers[0].image}")]),
    Case("kubectl-apply-server-side", [
        Kubectl(("-n", "{ns}", "apply", "--server-side", "-f", "-"), stdin=cm("ssa", a="1"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "apply", "--server-side", "-f", "-"), stdin=cm("ssa", a="2"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "ssa"), jsonpath="{.data}")]),
    Case("kubectl-apply-list", [  # kubectl validates the items of a List against /openapi/v2
        Kubectl(("-n", "{ns}", "apply", "-f", "-"), stdin={"apiVersion": "v1", "kind": "List",
                                                         "items": [cm("l1", a="1"), cm("l2", a="2")]},
                keep_stdout=True)]),
    Case("kubectl-apply-server-side-conflict", [
        Kubectl(("-n", "{ns}", "apply", "--server-side", "--field-manager=one", "-f", "-"), stdin=cm("ssa", a="1")),
        Kubectl(("-n", "{ns}", "apply", "--server-side", "--field-manager=two", "-f", "-"), stdin=cm("ssa", a="2"))]),
    Case("kubectl-replace-and-patch", [
        Kubectl(("-n", "{ns}", "create", "-f", "-"), stdin=cm("r", a="1"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "replace", "-f", "-"), stdin=cm("r", b="2"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "patch", "configmap", "r", "--type=merge", "-p", '{"data":{"c":"3"}}'), keep_stdout=True),
        Kubectl(("-n", "{ns}", "patch", "configmap", "r", "--type=json", "-p",
                 '[{"op":"remove","path":"/data/b"}]'), keep_stdout=True),
        Kubectl(("-n", "{ns}", "patch", "configmap", "r", "-p", '{"data":{"c":"3"}}'), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "r"), jsonpath="{.data}"),
        Kubectl(("-n", "{ns}", "create", "-f", "-"), stdin=cm("r", a="1"))]),
    Case("kubectl-label-annotate", [
        Kubectl(("-n", "{ns}", "create", "configmap", "l")),
        Kubectl(("-n", "{ns}", "label", "configmap", "l", "tier=web"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "label", "configmap", "l", "tier=db")),
        Kubectl(("-n", "{ns}", "label", "configmap", "l", "tier=db", "--overwrite"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "annotate", "configmap", "l", "note=x"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "-l", "tier=db", "-o", "name"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "-l", "tier!=db", "-o", "name"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "label", "configmap", "l", "tier-"), keep_stdout=True)]),
    Case("kubectl-get-output-formats", [
        Kubectl(("-n", "{ns}", "create", "configmap", "o", "--from-literal=k=v")),
        Kubectl(("-n", "{ns}", "get", "configmap", "o", "-o", "jsonpath={.data.k}"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "o", "-o", "name"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmaps", "--field-selector=metadata.name=o", "-o",
                 "custom-columns=N:.metadata.name,K:.data.k"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmap", "o", "-o", "go-template={{.kind}} {{.apiVersion}}"),
                keep_stdout=True),
        Py(lambda ctx: yaml.safe_load(run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "get", "configmap", "o", "-o",
                                               "yaml").stdout)["data"]),
        Py(lambda ctx: {k: v for k, v in json.loads(run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "get", "configmaps",
                                                             "-o", "json").stdout).items() if k in ("kind", "apiVersion")})]),
    Case("kubectl-get-unknown-resource", [Kubectl(("get", "widgets"))]),
    Case("kubectl-get-missing-object", [Kubectl(("-n", "{ns}", "get", "configmap", "nope")),
                                        Kubectl(("-n", "{ns}", "get", "configmap", "nope", "--ignore-not-found"),
                                                keep_stdout=True)]),
    Case("kubectl-dry-run-server", [
        Kubectl(("-n", "{ns}", "create", "configmap", "dr", "--from-literal=a=b", "--dry-run=server", "-o", "name"),
                keep_stdout=True),
        Kubectl(("-n", "{ns}", "apply", "--dry-run=server", "-f", "-"), stdin=cm("dr2"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "get", "configmaps", "-o", "name", "--field-selector=metadata.name!=kube-root-ca.crt"),
                keep_stdout=True)]),
    Case("kubectl-delete-cascade-orphan", [
        Kubectl(("-n", "{ns}", "create", "deployment", "o", "--image=registry.k8s.io/pause:3.10")),
        ready_deployment("o"),
        Kubectl(("-n", "{ns}", "delete", "deployment", "o", "--cascade=orphan"), keep_stdout=True),
        Py(lambda ctx: wait_for(lambda: [(r["metadata"].get("ownerReferences"), r["metadata"]["labels"]["app"])
                                         for r in request(ctx.api, "GET", f"/apis/apps/v1/namespaces/{ctx.ns}/replicasets")
                                         [1]["items"] if not r["metadata"].get("ownerReferences")], 15))]),
    Case("kubectl-delete-cascade-foreground", [
        Kubectl(("-n", "{ns}", "create", "deployment", "fg", "--image=registry.k8s.io/pause:3.10")),
        ready_deployment("fg"),
        Kubectl(("-n", "{ns}", "delete", "deployment", "fg", "--cascade=foreground", "--timeout=60s"),
                keep_stdout=True),
        Py(lambda ctx: wait_for(lambda: request(ctx.api, "GET", f"/apis/apps/v1/namespaces/{ctx.ns}/replicasets")[1]
                                ["items"] == [], 20))]),
    Case("kubectl-wait-for-delete-and-jsonpath", [
        Kubectl(("-n", "{ns}", "create", "configmap", "w")),
        Kubectl(("wait", "--for=jsonpath={.status.phase}=Active", "namespace/{ns}", "--timeout=10s")),
        Kubectl(("-n", "{ns}", "delete", "configmap", "w", "--wait=false")),
        Kubectl(("-n", "{ns}", "wait", "--for=delete", "configmap/w", "--timeout=10s")),
        Kubectl(("-n", "{ns}", "wait", "--for=condition=Ready", "pod/none", "--timeout=2s"))]),
    Case("kubectl-scale", [
        Kubectl(("-n", "{ns}", "create", "deployment", "s", "--image=registry.k8s.io/pause:3.10")),
        Kubectl(("-n", "{ns}", "scale", "deployment", "s", "--replicas=3"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/s", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "get", "deployment", "s"), jsonpath="{.spec.replicas} {.status.readyReplicas}"),
        Kubectl(("-n", "{ns}", "scale", "deployment", "s", "--replicas=1", "--current-replicas=2"))]),
    Case("kubectl-rollout-restart-history", [
        Kubectl(("-n", "{ns}", "create", "deployment", "rr", "--image=registry.k8s.io/pause:3.10")),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/rr", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "rollout", "restart", "deployment/rr"), keep_stdout=True),
        Kubectl(("-n", "{ns}", "rollout", "status", "deployment/rr", "--timeout=60s")),
        Kubectl(("-n", "{ns}", "get", "deployment", "rr"), jsonpath="{.metadata.generation}"),
        Py(lambda ctx: len([ln for ln in run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "rollout", "history",
                                                  "deployment/rr").stdout.splitlines() if ln[:1].isdigit()]))]),
    Case("kubectl-get-table-columns", [
        Kubectl(("-n", "{ns}", "create", "configmap", "t", "--from-literal=a=b")),
        Py(lambda ctx: (lambda lines: (lines[0].split(), lines[1].split()[:2]))(  # header; the row up to AGE
            run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "get", "configmap", "t").stdout.splitlines()))]),
    Case("pod-delete-is-graceful", [
        Http("POST", "/api/v1/namespaces/{ns}/pods", pod("g")),
        Py(lambda ctx: bool(request(ctx.api, "DELETE", f"/api/v1/namespaces/{ctx.ns}/pods/g")[1]
                            .get("metadata", {}).get("deletionTimestamp")))]),
    Case("resourcequota-admission", [
        Kubectl(("-n", "{ns}", "create", "quota", "q", "--hard=pods=1")),
        Kubectl(("-n", "{ns}", "run", "one", "--image=registry.k8s.io/pause:3.10")),
        Kubectl(("-n", "{ns}", "run", "two", "--image=registry.k8s.io/pause:3.10"))]),
    Case("kubectl-diff", [
        Kubectl(("-n", "{ns}", "create", "configmap", "df", "--from-literal=a=1")),
        Py(lambda ctx: run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "diff", "-f", "-",
                                input=yaml.safe_dump(cm("df", ctx.ns, a="2"))).returncode),
        Py(lambda ctx: run_tool(ctx.engine, "kubectl", "-n", ctx.ns, "diff", "-f", "-",
                                input=yaml.safe_dump(cm("df", ctx.ns, a="1"))).returncode)]),
    # ---- the Python client ----
    Case("python-typed-client", [Py(typed_client)]),
    Case("python-typed-scale-subresource", [Py(typed_scale)]),
    Case("python-dynamic-client", [Py(dynamic_client)]),
    # ---- helm ----
    Case("helm-install-upgrade-rollback-uninstall", [
        Helm(("install", "demo", CHART, "--wait", "--timeout", "90s", "--set", "replicaCount=1")),
        Py(lambda ctx: [(r["name"], r["revision"], r["status"]) for r in json.loads(
            run_tool(ctx.engine, "helm", "list", "-n", ctx.ns, "-o", "json").stdout)]),
        Helm(("upgrade", "demo", CHART, "--wait", "--timeout", "90s", "--set", "replicaCount=2,message=bye")),
        Kubectl(("-n", "{ns}", "get", "deployment", "-l", "app.kubernetes.io/instance=demo"),
                jsonpath="{.items[0].spec.replicas} {.items[0].status.readyReplicas}"),
        Helm(("rollback", "demo", "1", "--wait", "--timeout", "90s")),
        Py(lambda ctx: [(r["revision"], r["status"]) for r in json.loads(
            run_tool(ctx.engine, "helm", "history", "demo", "-n", ctx.ns, "-o", "json").stdout)]),
        Helm(("uninstall", "demo", "--wait", "--timeout", "90s")),
        Helm(("status", "demo"))]),
    Case("helm-install-existing-object-conflict", [
        Kubectl(("-n", "{ns}", "create", "configmap", "clash-config")),
        Helm(("install", "clash", CHART, "--set", "replicaCount=1")),
        Helm(("install", "clash2", "/nonexistent/chart"))]),
    # ---- kubernetes.core through ansible-playbook ----
    Case("ansible-k8s-present-idempotent-absent", [Playbook([
        k8s_task("create", state="present", definition=cm("ans", a="1")),
        k8s_task("again", state="present", definition=cm("ans", a="1")),
        k8s_task("change", state="present", definition=cm("ans", a="2")),
        {"name": "info", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "{ns}", "name": "ans"}},
        k8s_task("absent", state="absent", kind="ConfigMap", namespace="{ns}", name="ans", wait=True),
        k8s_task("absent-again", state="absent", kind="ConfigMap", namespace="{ns}", name="ans")])]),
    Case("ansible-k8s-info-label-selectors", [Playbook([
        k8s_task("one", definition=cm("i1", labels={"tier": "a"})),
        k8s_task("two", definition=cm("i2", labels={"tier": "b"})),
        {"name": "select", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "{ns}",
                                                        "label_selectors": ["tier=a"]}},
        {"name": "select-set", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "{ns}",
                                                            "label_selectors": ["tier in (a,b)"]}},
        {"name": "field", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "{ns}",
                                                       "field_selectors": ["metadata.name=i2"]}},
        {"name": "missing-kind", "kubernetes.core.k8s_info": {"kind": "Widget", "api_version": "nope.io/v1"}}])]),
    Case("ansible-check-mode", [Playbook([
        k8s_task("would-create", definition=cm("chk", a="1")),
        {"name": "not-there", "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "{ns}", "name": "chk"}},
    ], check=True)]),
    Case("ansible-k8s-wait-and-apply", [Playbook([
        k8s_task("deploy", definition=deployment("aw"), wait=True, wait_timeout=60),
        k8s_task("apply", definition=cm("aa", a="1"), apply=True),
        k8s_task("apply-again", definition=cm("aa", a="1"), apply=True),
        k8s_task("server-side", definition=cm("ss", a="1"), apply=True, server_side_apply={"field_manager": "diff"}),
        k8s_task("invalid", definition=cm("Bad_Name"))])]),
]

# case id -> why the simulator differs on purpose (each case listed here is a strict xfail)
_SSA = ("server-side apply without managedFields: the simulator merges an applied configuration like a strategic "
        "merge, so it neither refuses a change to a field another manager owns (409 Conflict) nor removes fields the "
        "manager stopped applying")
KNOWN: dict[str, str] = {
    "server-side-apply-conflict": _SSA,
    "server-side-apply-removes-owned-field": _SSA,
    "kubectl-apply-server-side-conflict": _SSA,
    "kubectl-get-table-columns": "no server-side Table printing: kubectl shows NAME and AGE only (a Table for every "
                                 "kind would need the upstream printers' columns)",
    "pod-delete-is-graceful": "no graceful termination: a deleted Pod is removed at once instead of staying with a "
                              "deletionTimestamp for its grace period (nothing runs, so nothing has to stop)",
    "resourcequota-admission": "no ResourceQuota admission: quotas are stored, never enforced (the install roles "
                               "create none)",
    "kubectl-apply-list": "no /openapi/v2 (protobuf OpenAPI v2 documents): kubectl's client-side validation of a "
                          "List's items falls back to it and fails (`--validate=false`, or one object per apply, "
                          "works)",
}

_clients: dict[str, client.ApiClient] = {}


def _api(engine: Any) -> client.ApiClient:
    key = str(engine.kubeconfig)
    if key not in _clients:
        _clients[key] = config.new_client_from_config(config_file=key)
    return _clients[key]


def run_case(engine: Any, case: Case, ns: str) -> list[Any]:
    api = _api(engine)
    request(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    # the namespace's default ServiceAccount (the lab's controller-manager makes it) before pods are created
    wait_for(lambda: request(api, "GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default")[0] == 200, 20, 0.05)
    # and its kube-root-ca.crt (the lab's root-ca publisher makes it asynchronously): lists of ConfigMaps must not race it
    wait_for(lambda: request(api, "GET", f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")[0] == 200, 20, 0.05)
    return run_steps(Ctx(api, ns, engine), case.steps)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[c.id])]
                                               if c.id in KNOWN else []) for c in CASES])
def test_simulator_answers_as_the_lab(engines: dict[str, Any], case: Case) -> None:
    ns = f"d-{case.id}"[:40].rstrip("-")
    with ThreadPoolExecutor(2) as pool:  # both engines at once
        futures = {name: pool.submit(run_case, e, case, ns) for name, e in engines.items()}
        seen = {name: f.result() for name, f in futures.items()}
    assert seen["sim"] == seen["lab"], f"{case.id}:\n simulator {seen['sim']}\n lab       {seen['lab']}"


def test_cases_are_unique_and_enough() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert set(KNOWN) <= set(ids)
