#!/usr/bin/python
"""Ansible module: wait for a component's readiness signals in one call, naming what is still not ready.

Its documentation is wait_ready.yml beside it."""
from __future__ import annotations

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule


def _label(c: dict[str, Any]) -> str:
    where = f"{c['namespace']}/" if c.get("namespace") else ""
    return f"{c['kind']} {where}{c['name']}"


class Checker:
    def __init__(self, api: Any, timeout: int) -> None:
        self.api = api
        self.request_timeout = timeout
        self.resources: dict[str, dict[str, tuple[str, bool]] | None] = {}

    def get(self, path: str) -> Any:
        from kubernetes.client.exceptions import ApiException
        method, url, headers, body, post = self.api.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        try:
            response = self.api.call_api(method, url, headers, body, post, _request_timeout=self.request_timeout)
            response.read()
            return self.api.response_deserialize(response, {"2XX": "object"}).data
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def path(self, c: dict[str, Any]) -> str | None:
        """URL of the object; None while its API (e.g. a CRD just applied) is not served yet."""
        gv = c["api_version"]
        if gv not in self.resources or self.resources[gv] is None:
            prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            listing = self.get(prefix)
            self.resources[gv] = None if not listing else {
                r["kind"]: (r["name"], r.get("namespaced", False))
                for r in listing.get("resources", []) if "/" not in r["name"]}
        kinds = self.resources[gv]
        if not kinds or c["kind"] not in kinds:
            return None
        plural, namespaced = kinds[c["kind"]]
        prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        ns = f"/namespaces/{c['namespace']}" if namespaced and c.get("namespace") else ""
        return f"{prefix}{ns}/{plural}/{c['name']}"

    def observe(self, c: dict[str, Any], mode: str) -> str | None:
        """None when the signal holds, else what was observed."""
        path = self.path(c)
        if path is None:
            return f"API {c['api_version']} {c['kind']} not served"
        obj = self.get(path)
        if obj is None:
            return "absent"
        if mode == "present":
            return None
        status = obj.get("status") or {}
        if c.get("condition"):
            cond = next((x for x in status.get("conditions") or [] if x.get("type") == c["condition"]), None)
            if cond is None:
                return f"no {c['condition']} condition yet"
            if cond.get("status") != "True":
                detail = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
                return f"{c['condition']}={cond.get('status')}" + (f" ({detail})" if detail else "")
        if c.get("state") and status.get("state") != c["state"]:
            return f"status.state {status.get('state') or 'unset'}, want {c['state']}"
        return None


def main() -> None:
    from ansible_collections.aiconform.conformance.plugins.module_utils import deps
    from ansible_collections.aiconform.conformance.plugins.module_utils.kube import (
        CONNECTION_ARGSPEC,
        ClusterError,
        connect,
        describe_error,
    )

    module = AnsibleModule(
        argument_spec={
            **CONNECTION_ARGSPEC,
            "component": {"type": "str", "required": True},
            "checks": {"type": "list", "elements": "dict", "default": []},
            "crds": {"type": "list", "elements": "str", "default": []},
            "mode": {"type": "str", "choices": ["wait", "present"], "default": "wait"},
            "timeout": {"type": "int", "default": 600},
            "interval": {"type": "float", "default": 1.0},
        },
        supports_check_mode=True,
    )
    deps.fail_if_missing(module)
    p = module.params
    checks = [{"api_version": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": n,
               "condition": "Established"} for n in p["crds"]] + list(p["checks"])
    for c in checks:
        missing = [k for k in ("api_version", "kind", "name") if not c.get(k)]
        if missing:
            module.fail_json(msg=f"{p['component']}: readiness check {c} lacks {', '.join(missing)}")
    try:
        conn = connect(p, component=f"install/{p['component']}")
    except ClusterError as exc:
        module.fail_json(msg=str(exc))
    checker = Checker(conn.api, conn.request_timeout)
    wait = p["mode"] == "wait" and not module.check_mode
    start = time.monotonic()
    pending: dict[str, str] = {}
    ready: list[str] = []
    todo = checks
    while True:
        pending = {}
        for c in todo:
            try:
                seen = checker.observe(c, p["mode"])
            except Exception as exc:  # transient API errors: keep waiting, report the last one
                seen = str(describe_error(exc, f"GET {_label(c)}"))
            if seen is None:
                ready.append(_label(c))
            else:
                pending[_label(c)] = seen
        todo = [c for c in todo if _label(c) in pending]
        if not todo or not wait or time.monotonic() - start >= p["timeout"]:
            break
        # A CRD's API appears once it is Established: forget cached misses.
        checker.resources = {k: v for k, v in checker.resources.items() if v is not None}
        time.sleep(p["interval"])
    elapsed = round(time.monotonic() - start, 1)
    not_ready = [f"{k} ({v})" for k, v in pending.items()]
    result = {"changed": False, "ready": ready, "not_ready": not_ready, "elapsed": elapsed}
    conn.close()
    if not_ready and not module.check_mode:
        what = (f"not ready after {p['timeout']}s" if p["mode"] == "wait"
                else "declared provided by the platform, but missing")
        module.fail_json(msg=f"{p['component']}: {what}: {'; '.join(not_ready)}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
