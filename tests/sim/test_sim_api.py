"""Contract tests of the simulator's API machinery through the kubernetes Python client (typed + dynamic)."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def api(sim) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sim.kubeconfig))


@pytest.fixture(scope="module")
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def dyn(api) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


def raw(sim, path: str, method: str = "GET", body: object = None, ctype: str = "application/json") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(sim.url + path, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"_text": text.decode()}


def cm(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def test_discovery_core_and_groups(sim):
    _, api_v1 = raw(sim, "/api/v1")
    assert api_v1["groupVersion"] == "v1"
    ns = next(r for r in api_v1["resources"] if r["name"] == "namespaces")
    assert ns["shortNames"] == ["ns"] and ns["namespaced"] is False
    fin = next(r for r in api_v1["resources"] if r["name"] == "namespaces/finalize")
    assert "shortNames" not in fin
    _, apps = raw(sim, "/apis/apps/v1")
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert scale["kind"] == "Scale"
    _, groups = raw(sim, "/apis")
    names = {g["name"]: g for g in groups["groups"]}
    for g in ("apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "apiextensions.k8s.io",
              "admissionregistration.k8s.io", "apiregistration.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
              "networking.k8s.io", "node.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "events.k8s.io",
              "resource.k8s.io"):
        assert g in names, g
    assert names["autoscaling"]["preferredVersion"]["version"] == "v2"
    assert [v["version"] for v in names["resource.k8s.io"]["versions"]] == ["v1beta2", "v1beta1"]  # v1.33
    assert "metrics.k8s.io" not in names  # the empty scenario serves no aggregated APIs
    code, body = raw(sim, "/apis/nope.example.com")
    assert code == 404 and body == {"_text": "404 page not found\n"}  # no handler at all, as kube-apiserver


def test_version_and_openapi(sim):
    _, v = raw(sim, "/version")
    assert v["gitVersion"] == "v1.33.9" and v["minor"] == "33"
    _, index = raw(sim, "/openapi/v3")
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    _, doc = raw(sim, url)
    ops = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in ops["parameters"]]


def test_crud_errors_and_metadata(core):
    created = core.create_namespaced_config_map("default", cm("crud-a"))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("default", cm("crud-a"))
    assert e.value.status == 409 and json.loads(e.value.body)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("nope", "default")
    assert e.value.status == 404 and json.loads(e.value.body)["message"] == 'configmaps "nope" not found'
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("no-such-ns", cm("x"))
    assert e.value.status == 404 and json.loads(e.value.body)["message"] == 'namespaces "no-such-ns" not found'
    gen = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}, "data": {}})
    assert gen.metadata.name.startswith("gen-") and len(gen.metadata.name) == 9
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("default", {"metadata": {}})
    assert e.value.status == 422 and "name or generateName is required" in json.loads(e.value.body)["message"]


def test_put_conflict_on_stale_resource_version(core):
    obj = core.create_namespaced_config_map("default", cm("conflict"))
    stale = obj.metadata.resource_version
    obj.data = {"k": "v2"}
    updated = core.replace_namespaced_config_map("conflict", "default", obj)
    assert updated.metadata.resource_version != stale
    obj.metadata.resource_version = stale
    obj.data = {"k": "v3"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("conflict", "default", obj)
    assert e.value.status == 409
    assert "the object has been modified; please apply your changes" in json.loads(e.value.body)["message"]


def test_dry_run_creates_nothing(core):
    core.create_namespaced_config_map("default", cm("dry"), dry_run="All")
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("dry", "default")
    assert e.value.status == 404
    core.create_namespaced_config_map("default", cm("dry-del"))
    core.delete_namespaced_config_map("dry-del", "default", dry_run="All")
    assert core.read_namespaced_config_map("dry-del", "default").metadata.name == "dry-del"


def test_label_and_field_selectors(core):
    for n, (app, tier) in enumerate([("a", "web"), ("a", "db"), ("b", "web")]):
        core.create_namespaced_config_map("default", cm(f"sel-{n}", app=app, tier=tier, sel="yes"))
    names = lambda **kw: sorted(i.metadata.name for i in core.list_namespaced_config_map("default", **kw).items)  # noqa: E731
    assert names(label_selector="sel,app=a") == ["sel-0", "sel-1"]
    assert names(label_selector="sel,app!=a") == ["sel-2"]
    assert names(label_selector="sel,tier in (db,cache)") == ["sel-1"]
    assert names(label_selector="sel,tier notin (db)") == ["sel-0", "sel-2"]
    assert names(label_selector="sel,!nothere,app==b") == ["sel-2"]
    assert names(field_selector="metadata.name=sel-1") == ["sel-1"]
    lst = core.list_namespaced_config_map("default", label_selector="sel", limit=2)
    assert len(lst.items) == 2 and lst.metadata._continue
    rest = core.list_namespaced_config_map("default", label_selector="sel", limit=2, _continue=lst.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["sel-2"]


def test_patch_types(core, dyn):
    core.create_namespaced_config_map("default", cm("patchme"))
    rv = core.read_namespaced_config_map("patchme", "default").metadata.resource_version
    same = core.patch_namespaced_config_map("patchme", "default", {"data": {"k": "v"}})
    assert same.metadata.resource_version == rv  # a no-op patch does not bump resourceVersion
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    dyn.patch(cms, name="patchme", namespace="default", body={"data": {"k": None, "j": "1"}},
              content_type="application/merge-patch+json")
    assert core.read_namespaced_config_map("patchme", "default").data == {"j": "1"}
    dyn.patch(cms, name="patchme", namespace="default", body=[{"op": "add", "path": "/data/x", "value": "2"}],
              content_type="application/json-patch+json")
    assert core.read_namespaced_config_map("patchme", "default").data == {"j": "1", "x": "2"}
    with pytest.raises(ApiException) as e:
        dyn.patch(cms, name="patchme", namespace="default",
                  body=[{"op": "replace", "path": "/data/missing/deep", "value": "2"}],
                  content_type="application/json-patch+json")
    assert e.value.status == 422
    # server-side apply creates a missing object
    dyn.server_side_apply(cms, body=cm("ssa-new"), name="ssa-new", namespace="default", field_manager="t")
    assert core.read_namespaced_config_map("ssa-new", "default").data == {"k": "v"}


def test_strategic_merge_merges_containers_by_name(sim):
    apps = client.AppsV1Api(config.new_client_from_config(config_file=str(sim.kubeconfig)))
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "smp"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "smp"}},
                    "template": {"metadata": {"labels": {"app": "smp"}}, "spec": {"containers": [
                        {"name": "a", "image": "img:1", "env": [{"name": "X", "value": "1"}]},
                        {"name": "b", "image": "side:1"}]}}}}
    apps.create_namespaced_deployment("default", dep)
    apps.patch_namespaced_deployment("smp", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "img:2"}]}}}})
    got = apps.read_namespaced_deployment("smp", "default")
    ctrs = {c.name: c for c in got.spec.template.spec.containers}
    assert ctrs["a"].image == "img:2" and ctrs["a"].env[0].value == "1" and ctrs["b"].image == "side:1"
    assert got.metadata.generation == 2


def test_crd_in_discovery_and_custom_objects_right_after(sim, api, dyn):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    ext = client.ApiextensionsV1Api(api)
    created = ext.create_custom_resource_definition(crd)
    conds = {c.type: c for c in ext.read_custom_resource_definition("widgets.example.com").status.conditions}
    assert conds["Established"].status == "True" and conds["NamesAccepted"].reason == "NoConflicts"
    assert created.metadata.name == "widgets.example.com"
    _, disc = raw(sim, "/apis/example.com/v1")
    assert disc["resources"][0]["kind"] == "Widget" and disc["resources"][1]["name"] == "widgets/status"
    co = client.CustomObjectsApi(api)
    w = co.create_namespaced_custom_object("example.com", "v1", "default", "widgets",
                                           {"apiVersion": "example.com/v1", "kind": "Widget",
                                            "metadata": {"name": "w1"}, "spec": {"size": 1}, "status": {"x": 1}})
    assert w["metadata"]["generation"] == 1 and "status" not in w  # status is a subresource
    co.patch_namespaced_custom_object_status("example.com", "v1", "default", "widgets", "w1", {"status": {"ok": True}})
    w = co.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1")
    assert w["status"] == {"ok": True} and w["metadata"]["generation"] == 1
    # deleting the CRD unregisters it and its objects
    ext.delete_custom_resource_definition("widgets.example.com")
    code, _ = raw(sim, "/apis/example.com/v1")
    assert code == 404
    code, _ = raw(sim, "/apis/example.com/v1/namespaces/default/widgets/w1")
    assert code == 404


def test_namespace_delete_cascades_and_finalizers(core):
    core.create_namespace({"metadata": {"name": "doomed"}})
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Active" and ns.metadata.labels["kubernetes.io/metadata.name"] == "doomed"
    core.create_namespaced_config_map("doomed", cm("inside"))
    held = cm("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map("doomed", held)
    core.delete_namespace("doomed")
    deadline = time.time() + 5
    while time.time() < deadline and core.list_namespaced_config_map("doomed").items[0].metadata.name != "held":
        time.sleep(0.1)
    assert [i.metadata.name for i in core.list_namespaced_config_map("doomed").items] == ["held"]
    assert core.read_namespace("doomed").status.phase == "Terminating"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("doomed", cm("late"))
    assert e.value.status == 403
    core.patch_namespaced_config_map("held", "doomed", {"metadata": {"finalizers": None}})
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            core.read_namespace("doomed")
        except ApiException as e:
            assert e.status == 404
            break
        time.sleep(0.1)
    else:
        pytest.fail("namespace was not removed after its last finalizer went")


def test_owner_reference_garbage_collection(core):
    owner = core.create_namespaced_config_map("default", cm("owner"))
    child = cm("child")
    child["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                             "uid": owner.metadata.uid}]
    core.create_namespaced_config_map("default", child)
    core.delete_namespaced_config_map("owner", "default")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("child", "default")


def test_watch_replay_timeout_and_watchlist_bookmark(sim, core):
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("w-1", watch="yes"))
    core.patch_namespaced_config_map("w-1", "default", {"data": {"k": "z"}})
    core.delete_namespaced_config_map("w-1", "default")
    t0 = time.monotonic()
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="watch=yes", resource_version=start,
        timeout_seconds=1)]
    assert events == [("ADDED", "w-1"), ("MODIFIED", "w-1"), ("DELETED", "w-1")]
    assert time.monotonic() - t0 < 5  # timeoutSeconds honoured
    for n in range(2):
        core.create_namespaced_config_map("default", cm(f"wl-{n}", wl="yes"))
    url = (sim.url + "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
           "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&labelSelector=wl")
    with urllib.request.urlopen(url, timeout=10) as r:
        lines = [json.loads(line) for line in r.read().splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines[:-1]] == [("ADDED", "wl-0"), ("ADDED", "wl-1")]
    assert lines[-1]["type"] == "BOOKMARK"
    assert lines[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_streams_live_events(core):
    got: list[str] = []

    def consume() -> None:
        for e in watch.Watch().stream(core.list_namespaced_config_map, "default", label_selector="live=1",
                                      timeout_seconds=2):
            got.append(e["type"])
    th = threading.Thread(target=consume)
    th.start()
    time.sleep(0.3)
    core.create_namespaced_config_map("default", cm("live", live="1"))
    th.join(10)
    assert got == ["ADDED"]


def test_dynamic_client_lists_have_kind(dyn):
    ns = dyn.resources.get(api_version="v1", kind="Namespace")
    lst = dyn.get(ns, label_selector="kubernetes.io/metadata.name=default")
    assert lst.kind == "NamespaceList" and [i.metadata.name for i in lst.items] == ["default"]


def test_scale_subresource(sim, api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", {
        "metadata": {"name": "scaled"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "scaled"}},
                                                 "template": {"metadata": {"labels": {"app": "scaled"}},
                                                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    apps.patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": 3}})
    sc = apps.read_namespaced_deployment_scale("scaled", "default")
    assert sc.spec.replicas == 3 and sc.status.selector == "app=scaled"


def test_protobuf_secret_body(sim):
    # A Secret as client-go's protobuf serializer writes it (envelope k8s\0 + runtime.Unknown).
    def fld(num: int, payload: bytes) -> bytes:
        return bytes([num << 3 | 2, len(payload)]) + payload
    meta = fld(1, b"pb-secret") + fld(11, fld(1, b"owner") + fld(2, b"helm"))
    secret = fld(1, meta) + fld(2, fld(1, b"release") + fld(2, b"\x93binary")) + fld(3, b"helm.sh/release.v1")
    body = b"k8s\x00" + fld(1, fld(1, b"v1") + fld(2, b"Secret")) + fld(2, secret)
    code, obj = raw(sim, "/api/v1/namespaces/default/secrets", "POST", body, "application/vnd.kubernetes.protobuf")
    assert code == 201, obj
    assert obj["type"] == "helm.sh/release.v1" and obj["metadata"]["labels"] == {"owner": "helm"}
    assert obj["data"]["release"] == "k2JpbmFyeQ=="


def test_faults_403_500_and_request_counts(sim, core):
    sim.requests(reset=True)
    sim.faults({"path": "/configmaps/forbidden-cm$", "status": 403},
               {"path": "/configmaps$", "verb": "list", "status": 500, "times": 1})
    try:
        with pytest.raises(ApiException) as e:
            core.read_namespaced_config_map("forbidden-cm", "default")
        assert e.value.status == 403 and json.loads(e.value.body)["reason"] == "Forbidden"
        with pytest.raises(ApiException) as e:
            core.list_namespaced_config_map("default")
        assert e.value.status == 500
        assert core.list_namespaced_config_map("default").kind == "ConfigMapList"  # times: 1
    finally:
        sim.faults()
    counts = sim.requests()
    assert counts["by_verb"]["get"] == 1 and counts["by_verb"]["list"] == 2


def test_fault_drop_and_delay(sim, core):
    sim.faults({"path": "/configmaps/slow$", "delay": 0.5, "status": 503})
    try:
        t0 = time.monotonic()
        with pytest.raises(ApiException) as e:
            core.read_namespaced_config_map("slow", "default", _request_timeout=5)
        assert e.value.status == 503 and time.monotonic() - t0 >= 0.5
        sim.faults({"path": "/configmaps/dropped$", "drop": True})
        with pytest.raises(Exception):  # noqa: B017 - urllib3 raises a protocol error subclass
            core.read_namespaced_config_map("dropped", "default", _request_timeout=5, _preload_content=True)
    finally:
        sim.faults()


def test_fault_skip_verb_list_and_retry_after(sim, core):
    core.create_namespaced_config_map("default", cm("skipped"))
    sim.faults({"path": "/configmaps/skipped$", "verb": ["get", "patch"], "skip": 2, "times": 1, "status": 503,
                "retry_after": 3})
    try:
        core.read_namespaced_config_map("skipped", "default")  # the first two matching requests pass
        core.patch_namespaced_config_map("skipped", "default", {"data": {"a": "b"}})
        # urllib directly: the kubernetes client (urllib3) would itself retry a 503 that has a Retry-After
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(sim.url + "/api/v1/namespaces/default/configmaps/skipped", timeout=5)
        assert e.value.code == 503 and e.value.headers["Retry-After"] == "3"
        assert core.read_namespaced_config_map("skipped", "default").data["a"] == "b"  # times: 1
        core.delete_namespaced_config_map("skipped", "default")  # delete is not among the verbs
    finally:
        sim.faults()


def test_pod_log_from_annotation(core):
    core.create_namespaced_pod("default", {"metadata": {"name": "logger", "annotations": {
        "sim.aiconform.io/log": "line one\nline two"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    deadline = time.time() + 5
    while core.read_namespaced_pod("logger", "default").status.phase != "Running" and time.time() < deadline:
        time.sleep(0.1)
    assert core.read_namespaced_pod_log("logger", "default") == "line one\nline two\n"
    assert core.read_namespaced_pod_log("logger", "default", tail_lines=1) == "line two\n"


def test_an_hpa_with_a_behavior_gets_the_api_servers_defaults() -> None:
    """autoscaling/v2 defaulting as the lab's kube-apiserver v1.35.4 wrote it for KEDA's HPA (test_lab_keda's
    sim-vs-lab check): a given behavior keeps its fields, its unset rules and fields come from upstream's defaults,
    scale-down's stabilization window stays unset when not given."""
    from aiconform.sim import validation

    hpa = {"spec": {"maxReplicas": 2, "metrics": [{"type": "External"}],
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}}
    validation.apply_defaults(("autoscaling", "horizontalpodautoscalers"), hpa)
    assert hpa["spec"]["minReplicas"] == 1 and hpa["spec"]["metrics"] == [{"type": "External"}]
    assert hpa["spec"]["behavior"] == {
        "scaleDown": {"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}], "selectPolicy": "Max",
                      "stabilizationWindowSeconds": 30},
        "scaleUp": {"policies": [{"periodSeconds": 15, "type": "Pods", "value": 4},
                                 {"periodSeconds": 15, "type": "Percent", "value": 100}],
                    "selectPolicy": "Max", "stabilizationWindowSeconds": 0}}
    bare = {"spec": {"maxReplicas": 2}}
    validation.apply_defaults(("autoscaling", "horizontalpodautoscalers"), bare)
    assert "behavior" not in bare["spec"]  # no behavior given: none written
    assert bare["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
