"""The set of objects a cluster holds, to prove teardown leaves it as install found it."""
from __future__ import annotations

from pathlib import Path

from kubernetes import client, config

# Written continuously by controllers, not by install/teardown.
VOLATILE = {("", "events"), ("events.k8s.io", "events"), ("coordination.k8s.io", "leases")}


def object_set(kubeconfig: Path | str) -> set[tuple[str, str, str, str]]:
    """(group, resource, namespace, name) of every listable object, preferred version per group."""
    api = config.new_client_from_config(str(kubeconfig))

    out: set[tuple[str, str, str, str]] = set()
    groups = [("", "v1")] + [(g["name"], g["preferredVersion"]["groupVersion"])
                             for g in _get(api, "/apis")["groups"]]
    for group, gv in groups:
        prefix = "/api/v1" if group == "" else f"/apis/{gv}"
        for r in _get(api, prefix).get("resources", []):
            if "/" in r["name"] or "list" not in r.get("verbs", []) or (group, r["name"]) in VOLATILE:
                continue
            for item in _get(api, f"{prefix}/{r['name']}").get("items", []):
                md = item["metadata"]
                out.add((group, r["name"], md.get("namespace", ""), md["name"]))
    api.close()
    return out


def _get(api: client.ApiClient, path: str) -> dict:
    method, url, headers, body, post = api.param_serialize("GET", path, header_params={"Accept": "application/json"},
                                                           auth_settings=["BearerToken"])
    response = api.call_api(method, url, headers, body, post)
    response.read()
    return api.response_deserialize(response, {"2XX": "object"}).data
