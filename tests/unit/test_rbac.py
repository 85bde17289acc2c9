"""RBAC rule generation from observed API calls (as the kube-apiserver authorizes them)."""
from __future__ import annotations

import pytest
import yaml

from aiconform.rbac import build_rules, classify, cluster_role_yaml, component_of, load_rules


@pytest.mark.parametrize(
    ("method", "path", "query", "verb", "group", "resource"),
    [
        ("GET", "/version", "", "get", None, "/version"),
        ("GET", "/apis/resource.k8s.io/v1", "", "get", None, "/apis/*"),
        ("GET", "/api/v1/nodes", "", "list", "", "nodes"),
        ("GET", "/api/v1/nodes/gpu-1", "", "get", "", "nodes"),
        ("GET", "/api/v1/namespaces/p/pods", "watch=true&timeoutSeconds=5", "watch", "", "pods"),
        ("POST", "/api/v1/namespaces", "", "create", "", "namespaces"),
        ("DELETE", "/api/v1/namespaces/aiconform-x", "", "delete", "", "namespaces"),
        ("DELETE", "/apis/batch/v1/namespaces/p/jobs", "", "deletecollection", "batch", "jobs"),
        ("GET", "/api/v1/namespaces/p/pods/probe/log", "container=c", "get", "", "pods/log"),
        ("PATCH", "/apis/apps/v1/namespaces/p/deployments/d/scale", "", "patch", "apps", "deployments/scale"),
        ("GET", "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query", "", "get", "",
         "services/proxy"),
        ("POST", "/api/v1/namespaces/p/services/stub:http/proxy/v1/infer", "", "create", "", "services/proxy"),
    ],
)
def test_classify_matches_apiserver_authorization(method, path, query, verb, group, resource):
    access = classify(method, path, query)
    assert (access.verb, access.group, access.resource) == (verb, group, resource)


def test_rules_aggregate_verbs_and_name_the_components():
    ua = "aiconform/0.1.0 (verify/{})"
    records = [
        {"method": "GET", "path": "/api/v1/namespaces/a/pods", "user_agent": ua.format("gang_scheduling")},
        {"method": "POST", "path": "/api/v1/namespaces/a/pods", "user_agent": ua.format("dra_support")},
        {"method": "GET", "path": "/version", "user_agent": "aiconform/0.1.0 (preflight)"},
    ]
    rules = build_rules(records)
    pods = next(r for r in rules if r.get("resources") == ["pods"])
    assert pods["verbs"] == ["create", "list"]
    assert pods["_needed_by"] == ["verify/dra_support", "verify/gang_scheduling"]
    bundle = cluster_role_yaml(rules)
    assert "# needed by: verify/dra_support, verify/gang_scheduling" in bundle
    loaded = load_rules(bundle)
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "list"]} in loaded
    assert {"nonResourceURLs": ["/version"], "verbs": ["get"]} in loaded
    kinds = [d["kind"] for d in yaml.safe_load_all(bundle) if d]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]


def test_component_of_unknown_agent():
    assert component_of("kubectl/v1.33.9") == "unknown"
