"""The simulator's RBAC authorizer decides like kube-apiserver's (table) and answers its Forbidden Status."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from aiconform.sim.rbac import Authorizer, request_attributes, rule_allows

POD_READER = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
CASES = [
    # (rule, method, path, query, allowed)
    (POD_READER, "GET", "/api/v1/namespaces/a/pods", "", True),
    (POD_READER, "GET", "/api/v1/namespaces/a/pods", "watch=true", False),  # watch is its own verb
    (POD_READER, "GET", "/api/v1/watch/namespaces/a/pods", "", False),
    (POD_READER, "GET", "/api/v1/namespaces/a/pods/p/log", "", False),  # subresource needs pods/log
    ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}, "GET", "/api/v1/namespaces/a/pods/p/log", "", True),
    ({"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}, "GET", "/api/v1/namespaces/a/pods/p/log", "", True),
    ({"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]}, "GET",
     "/api/v1/namespaces/gpu-operator/services/dcgm:9400/proxy/metrics", "", True),
    ({"apiGroups": [""], "resources": ["services"], "verbs": ["get"]}, "GET",
     "/api/v1/namespaces/gpu-operator/services/dcgm:9400/proxy/metrics", "", False),
    ({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}, "POST", "/apis/batch/v1/namespaces/a/jobs", "", True),
    ({"apiGroups": [""], "resources": ["jobs"], "verbs": ["create"]}, "POST", "/apis/batch/v1/namespaces/a/jobs", "", False),
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, "DELETE", "/apis/batch/v1/namespaces/a/jobs", "", True),
    ({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["delete"]}, "DELETE", "/apis/batch/v1/namespaces/a/jobs", "",
     False),  # deletecollection
    ({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"], "resourceNames": ["kube-system"]}, "GET",
     "/api/v1/namespaces/kube-system", "", True),
    ({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"], "resourceNames": ["kube-system"]}, "GET",
     "/api/v1/namespaces/default", "", False),
    ({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"], "resourceNames": ["x"]}, "GET",
     "/api/v1/namespaces", "fieldSelector=metadata.name%3Dx", True),
    ({"apiGroups": [""], "resources": ["namespaces/status"], "verbs": ["update"]}, "PUT", "/api/v1/namespaces/x/status", "",
     True),
    ({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, "GET", "/metrics", "", True),
    ({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}, "GET", "/apis/batch/v1", "", True),
    ({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}, "GET", "/api/v1", "", False),
    ({"nonResourceURLs": ["/version"], "verbs": ["get"]}, "POST", "/version", "", False),
]


@pytest.mark.parametrize(("rule", "method", "path", "query", "allowed"), CASES)
def test_rule_matching_table(rule, method, path, query, allowed):
    assert rule_allows(rule, request_attributes(method, path, query)) is allowed


def test_attributes_like_request_info():
    a = request_attributes("GET", "/api/v1/namespaces/ns/services/https:svc:443/proxy/a/b")
    assert (a.verb, a.resource, a.subresource, a.name, a.namespace) == ("get", "services", "proxy", "https:svc:443", "ns")
    a = request_attributes("GET", "/api/v1/namespaces/ns")  # the Namespace object itself
    assert (a.verb, a.resource, a.name, a.namespace) == ("get", "namespaces", "ns", "ns")
    a = request_attributes("GET", "/apis/resource.k8s.io/v1/resourceslices", "watch=1")
    assert (a.verb, a.api_group, a.namespace) == ("watch", "resource.k8s.io", "")
    assert not request_attributes("GET", "/apis/resource.k8s.io/v1").resource_request


def test_forbidden_status_messages():
    auth = Authorizer()
    token, user = auth.issue("aiconform-verify", "aiconform-system", [POD_READER])
    assert user == "system:serviceaccount:aiconform-system:aiconform-verify"
    hdr = {"Authorization": f"Bearer {token}", "User-Agent": "aiconform/0.1 (verify/x)"}
    st = auth.admit("POST", "/apis/batch/v1/namespaces/probe/jobs", {}, hdr)
    assert st["code"] == 403 and st["reason"] == "Forbidden"
    assert st["message"] == ('jobs.batch is forbidden: User "system:serviceaccount:aiconform-system:aiconform-verify" '
                             'cannot create resource "jobs" in API group "batch" in the namespace "probe"')
    st = auth.admit("GET", "/api/v1/nodes/n1", {}, hdr)
    assert st["message"].startswith('nodes "n1" is forbidden: User') and st["message"].endswith(
        'cannot get resource "nodes" in API group "" at the cluster scope')
    assert auth.admit("GET", "/metrics", {}, hdr)["message"].endswith('cannot get path "/metrics"')
    assert auth.admit("GET", "/apis", {}, hdr) is None  # system:discovery, as every authenticated user has
    assert auth.admit("DELETE", "/api/v1/nodes/n1", {}, {"Authorization": "Bearer admin-token"}) is None
    assert [e["allowed"] for e in auth.log] == [False, False, False, True, True]
    assert auth.log[0]["user_agent"] == "aiconform/0.1 (verify/x)"


def test_tokens_and_log_through_the_admin_api(sim):
    issued = sim.admin("/_sim/tokens", {"name": "reader", "namespace": "ops", "rules": [POD_READER]})

    def get(path: str, token: str) -> tuple[int, dict]:
        req = urllib.request.Request(sim.url + path, headers={"Authorization": f"Bearer {token}",
                                                                "User-Agent": "aiconform/test (verify/t)"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
    assert get("/api/v1/namespaces/default/pods", issued["token"])[0] == 200
    code, body = get("/api/v1/nodes", issued["token"])
    assert code == 403 and body["message"] == ('nodes is forbidden: User "system:serviceaccount:ops:reader" cannot '
                                               'list resource "nodes" in API group "" at the cluster scope')
    admin_token = sim.kubeconfig.read_text().split("token: ")[1].split()[0]
    assert get("/api/v1/nodes", admin_token)[0] == 200
    log = sim.admin("/_sim/requests?log=1")["log"]
    assert {"method": "GET", "path": "/api/v1/nodes", "query": "", "user_agent": "aiconform/test (verify/t)",
            "user": "system:serviceaccount:ops:reader", "allowed": False} in log
    sim.requests(reset=True)
    assert sim.admin("/_sim/requests?log=1")["log"] == []
