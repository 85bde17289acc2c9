"""Differential contract: ``aiconform sim`` answers as the real Kubernetes of ``aiconform lab`` does.

Each case is a list of steps run in a fresh namespace (``{ns}``) on both engines; the observation of every step is
reduced to what clients read (status code, kind, reason, chosen fields; for kubectl its exit code and the first
word of its error) and the two lists must be equal. A difference kept on purpose is listed in ``KNOWN`` with why:
its case is a strict xfail, so the day the simulator agrees the suite says so and the entry must go.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from helpers.sim import run_tool
from kubernetes import client, config

pytestmark = pytest.mark.lab


@dataclass
class Http:
    method: str
    path: str
    body: Any = None
    content_type: str = "application/json"
    keep: tuple[str, ...] = ()  # dotted paths of the response body to compare (besides status/kind/reason)
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Kubectl:
    args: tuple[str, ...]
    stdin: Any = None  # a dict or list of dicts, dumped as YAML
    keep_stdout: bool = False  # compare stdout (normalised) too
    jsonpath: str | None = None  # compare this jsonpath of -o json output


@dataclass
class Case:
    id: str
    steps: list[Http | Kubectl]


def cm(name: str, ns: str = "{ns}", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


CASES: list[Case] = [
    Case("get-missing-configmap", [Http("GET", "/api/v1/namespaces/{ns}/configmaps/nope")]),
    Case("create-then-conflict", [Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("a", a="1"),
                                       keep=("data",)),
                                  Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("a", a="1"))]),
    Case("create-in-missing-namespace", [Http("POST", "/api/v1/namespaces/nope-ns-xyz/configmaps",
                                              cm("a", "nope-ns-xyz"))]),
    Case("name-mismatch-on-put", [Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("a")),
                                  Http("PUT", "/api/v1/namespaces/{ns}/configmaps/a", cm("b"))]),
    Case("invalid-name", [Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("Not_Valid"))]),
    Case("dry-run-create-leaves-nothing", [
        Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("dry", a="1"), query={"dryRun": "All"},
             keep=("data",)),
        Http("GET", "/api/v1/namespaces/{ns}/configmaps/dry")]),
    Case("merge-patch", [Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("p", a="1")),
                         Http("PATCH", "/api/v1/namespaces/{ns}/configmaps/p", {"data": {"b": "2", "a": None}},
                              "application/merge-patch+json", keep=("data",))]),
    Case("json-patch-test-fails", [Http("POST", "/api/v1/namespaces/{ns}/configmaps", cm("p", a="1")),
                                   Http("PATCH", "/api/v1/namespaces/{ns}/configmaps/p",
                                        [{"op": "test", "path": "/data/a", "value": "2"}],
                                        "application/json-patch+json")]),
    Case("server-side-apply-creates", [Http("PATCH", "/api/v1/namespaces/{ns}/configmaps/ssa", cm("ssa", a="1"),
                                            "application/apply-patch+yaml", query={"fieldManager": "t"},
                                            keep=("data",))]),
    Case("label-selector-list", [Http("POST", "/api/v1/namespaces/{ns}/configmaps",
                                      {**cm("l1"), "metadata": {"name": "l1", "labels": {"x": "1"}}}),
                                 Http("POST", "/api/v1/namespaces/{ns}/configmaps",
                                      {**cm("l2"), "metadata": {"name": "l2", "labels": {"x": "2"}}}),
                                 Http("GET", "/api/v1/namespaces/{ns}/configmaps", query={"labelSelector": "x=2"},
                                      keep=("items.*.metadata.name",))]),
    Case("field-selector-unsupported-field", [Http("GET", "/api/v1/namespaces/{ns}/configmaps",
                                                   query={"fieldSelector": "data.a=1"})]),
    Case("stale-resource-version-conflict", [
        Http("POST", "/api/v1/namespaces/{ns}/configmaps",
             {**cm("rv"), "metadata": {"name": "rv"}}),
        Http("PUT", "/api/v1/namespaces/{ns}/configmaps/rv",
             {**cm("rv", a="1"), "metadata": {"name": "rv", "resourceVersion": "1"}})]),
    Case("kubectl-create-namespace-protobuf", [Kubectl(("create", "namespace", "{ns}-kc")),
                                               Kubectl(("get", "namespace", "{ns}-kc"),
                                                       jsonpath="{.status.phase}"),
                                               Kubectl(("delete", "namespace", "{ns}-kc", "--wait=false"))]),
    Case("kubectl-create-deployment-protobuf", [Kubectl(("-n", "{ns}", "create", "deployment", "d",
                                                         "--image=registry.k8s.io/pause:3.10")),
                                                Kubectl(("-n", "{ns}", "rollout", "status", "deployment/d",
                                                         "--timeout=60s")),
                                                Kubectl(("-n", "{ns}", "get", "deployment", "d"),
                                                        jsonpath="{.status.readyReplicas}")]),
    Case("kubectl-get-unknown-resource", [Kubectl(("get", "widgets"))]),
    Case("rbac-denied-for-serviceaccount", [
        Kubectl(("-n", "{ns}", "create", "serviceaccount", "nobody")),
        Kubectl(("-n", "{ns}", "get", "secrets", "--as=system:serviceaccount:{ns}:nobody"))]),
]

# case id -> why the simulator differs on purpose (each case listed here is a strict xfail)
KNOWN: dict[str, str] = {}


def _client(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=kubeconfig)


def _pick(obj: Any, dotted: str) -> Any:
    parts = dotted.split(".")
    cur: Any = obj
    for i, part in enumerate(parts):
        if part == "*":
            rest = ".".join(parts[i + 1:])
            return [(_pick(x, rest) if rest else x) for x in (cur or [])]
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def observe_http(api: client.ApiClient, step: Http, ns: str) -> dict[str, Any]:
    path = step.path.replace("{ns}", ns)
    body = json.loads(json.dumps(step.body).replace("{ns}", ns)) if step.body is not None else None
    if step.content_type == "application/apply-patch+yaml" and body is not None:
        body = yaml.safe_dump(body)
    query = [(k, v.replace("{ns}", ns)) for k, v in step.query.items()]
    try:
        resp = api.call_api(path, step.method, query_params=query, body=body,
                            header_params={"Content-Type": step.content_type, "Accept": "application/json"},
                            auth_settings=["BearerToken"], _preload_content=False, _request_timeout=30)
        status, raw = resp[1], resp[0].data
    except client.ApiException as exc:
        status, raw = exc.status, exc.body
    try:
        data = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, TypeError):
        data = {"_raw": str(raw)[:40]}
    out = {"status": status, "kind": data.get("kind")}
    if data.get("kind") == "Status":
        out["reason"] = data.get("reason")
        out["code"] = data.get("code")
    for k in step.keep:
        out[k] = _pick(data, k)
    return out


_WORD = re.compile(r"^(error: |Error from server \((\w+)\)|Error from server)")


def observe_kubectl(engine: Any, step: Kubectl, ns: str) -> dict[str, Any]:
    args = [a.replace("{ns}", ns) for a in step.args]
    if step.jsonpath:
        args += ["-o", f"jsonpath={step.jsonpath}"]
    stdin = None
    if step.stdin is not None:
        docs = step.stdin if isinstance(step.stdin, list) else [step.stdin]
        stdin = yaml.safe_dump_all(json.loads(json.dumps(docs).replace("{ns}", ns)))
    res: subprocess.CompletedProcess[str] = run_tool(engine, "kubectl", *args, input=stdin, timeout=120)
    out: dict[str, Any] = {"rc": res.returncode}
    m = _WORD.match(res.stderr.strip())
    if res.returncode and m:
        out["error"] = m.group(2) or m.group(1).strip()
    if step.jsonpath or step.keep_stdout:
        out["stdout"] = res.stdout.strip()
    return out


def run_case(engine: Any, api: client.ApiClient, case: Case, ns: str) -> list[dict[str, Any]]:
    run_tool(engine, "kubectl", "create", "namespace", ns)
    for _ in range(50):  # the namespace's default ServiceAccount (kcm on the lab) before pods
        if run_tool(engine, "kubectl", "-n", ns, "get", "serviceaccount", "default").returncode == 0:
            break
        time.sleep(0.2)
    try:
        return [observe_http(api, s, ns) if isinstance(s, Http) else observe_kubectl(engine, s, ns)
                for s in case.steps]
    finally:
        run_tool(engine, "kubectl", "delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[c.id])]
                                               if c.id in KNOWN else []) for c in CASES])
def test_simulator_answers_as_the_lab(engines: dict[str, Any], case: Case) -> None:
    ns = f"diff-{case.id}"[:55].rstrip("-")
    seen = {name: run_case(e, _client(str(e.kubeconfig)), case, ns) for name, e in engines.items()}
    assert seen["sim"] == seen["lab"], f"{case.id}: simulator {seen['sim']} != lab {seen['lab']}"
