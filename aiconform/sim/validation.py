"""The parts of kube-apiserver's validation and defaulting that clients observe most (held to the lab by
``tests/differential``): object names, ConfigMap/Secret keys, Pod containers, workload selectors, Service ports,
required fields of CRD schemas, and the defaults the API server writes into Pods, pod templates, Deployments,
HorizontalPodAutoscalers and Services. Anything else is accepted as sent.
"""
from __future__ import annotations

import copy
import re
from typing import Any

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                  "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
# names validated as DNS-1123 labels (the rest as subdomains; RBAC names only as path segments)
LABEL_NAMED = {("", "namespaces"), ("", "services")}
PATH_SEGMENT_NAMED = {("rbac.authorization.k8s.io", p) for p in ("roles", "clusterroles", "rolebindings",
                                                                 "clusterrolebindings")}
WORKLOADS = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "daemonsets")}

Cause = tuple[str, str, str]  # (reason, field, message)


def _invalid_value(value: Any) -> str:
    return f'Invalid value: "{value}"' if isinstance(value, str) else f"Invalid value: {value}"


def name_causes(key: tuple[str, str], name: str) -> list[Cause]:
    if key in PATH_SEGMENT_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return [("FieldValueInvalid", "metadata.name", f'{_invalid_value(name)}: may not contain \'/\'')]
        return []
    if key in LABEL_NAMED:
        if not _LABEL.match(name) or len(name) > 63:
            msg = LABEL_MSG if len(name) <= 63 else "must be no more than 63 characters"
            return [("FieldValueInvalid", "metadata.name", f"{_invalid_value(name)}: {msg}")]
        return []
    if not _SUBDOMAIN.match(name) or len(name) > 253:
        msg = SUBDOMAIN_MSG if len(name) <= 253 else "must be no more than 253 characters"
        return [("FieldValueInvalid", "metadata.name", f"{_invalid_value(name)}: {msg}")]
    return []


def _pod_spec_causes(spec: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    containers = (spec or {}).get("containers") if isinstance(spec, dict) else None
    if not containers:
        return [("FieldValueRequired", f"{path}.containers", "Required value")]
    for i, c in enumerate(containers):
        if not isinstance(c, dict):
            continue
        if not c.get("name"):
            out.append(("FieldValueRequired", f"{path}.containers[{i}].name", "Required value"))
        if not c.get("image"):
            out.append(("FieldValueRequired", f"{path}.containers[{i}].image", "Required value"))
    return out


def _selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    from aiconform.sim.selectors import parse_label_selector, selector_to_string
    return parse_label_selector(selector_to_string(selector))(labels)


def _schema_causes(schema: Any, value: Any, path: str) -> list[Cause]:
    """Required fields of a structural schema (recursively through present objects)."""
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return []
    out: list[Cause] = []
    for req in schema.get("required") or []:
        if req not in value:
            out.append(("FieldValueRequired", f"{path}.{req}" if path else req, "Required value"))
    for k, sub in (schema.get("properties") or {}).items():
        if k in value:
            out.extend(_schema_causes(sub, value[k], f"{path}.{k}" if path else k))
    return out


def causes(key: tuple[str, str], obj: dict[str, Any], crd_schema: Any = None) -> list[Cause]:
    """Validation errors of an object about to be written (empty when valid)."""
    out: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if name:
        out.extend(name_causes(key, name))
    if key in (("", "configmaps"), ("", "secrets")):
        for field in ("data", "binaryData", "stringData"):
            for k in obj.get(field) or {}:
                if not _CONFIG_KEY.match(k):
                    out.append(("FieldValueInvalid", f"{field}[{k}]", f"{_invalid_value(k)}: {CONFIG_KEY_MSG}"))
    elif key == ("", "pods"):
        out.extend(_pod_spec_causes(obj.get("spec"), "spec"))
    elif key in WORKLOADS:
        spec = obj.get("spec") or {}
        tmpl = spec.get("template") or {}
        sel = spec.get("selector")
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        if not sel:
            out.append(("FieldValueRequired", "spec.selector", "Required value"))
        elif not _selector_matches(sel, labels):
            out.append(("FieldValueInvalid", "spec.template.metadata.labels",
                        f"{_invalid_value(labels)}: `selector` does not match template `labels`"))
        out.extend(_pod_spec_causes(tmpl.get("spec"), "spec.template.spec"))
    elif key == ("", "services"):
        for i, p in enumerate((obj.get("spec") or {}).get("ports") or []):
            port = p.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                out.append(("FieldValueInvalid", f"spec.ports[{i}].port",
                            f"{_invalid_value(port)}: must be between 1 and 65535, inclusive"))
                if p.get("targetPort") is None:
                    out.append(("FieldValueInvalid", f"spec.ports[{i}].targetPort",
                                f"{_invalid_value(port)}: must be between 1 and 65535, inclusive"))
    if crd_schema is not None:
        out.extend(_schema_causes(crd_schema, obj, ""))
    return out


# ---- defaulting (SetDefaults_* of the API types, as the lab's API server writes them) ----
def _default_container(c: dict[str, Any]) -> None:
    image = str(c.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
    c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for field in ("containers", "initContainers"):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                _default_container(c)


def _template(obj: dict[str, Any]) -> dict[str, Any] | None:
    tmpl = (obj.get("spec") or {}).get("template")
    if isinstance(tmpl, dict):
        if isinstance(tmpl.get("spec"), dict):
            return tmpl["spec"]
    return None


# autoscaling/v2 defaults (pkg/apis/autoscaling/v2/defaults.go): with a behavior, each scaling rule's unset fields
# come from these (scale-down's stabilization window stays unset: the controller manager's flag decides it)
HPA_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]}
HPA_SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _default_hpa(spec: dict[str, Any]) -> None:
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for rule, default in (("scaleUp", HPA_SCALE_UP), ("scaleDown", HPA_SCALE_DOWN)):
            given = behavior.get(rule) if isinstance(behavior.get(rule), dict) else {}
            behavior[rule] = {**copy.deepcopy(default), **{k: v for k, v in given.items() if v is not None}}


def apply_defaults(key: tuple[str, str], obj: dict[str, Any]) -> None:
    if key in (("", "configmaps"), ("", "secrets")):
        for field in ("data", "binaryData"):  # empty maps are omitted (omitempty), as the API server stores them
            if field in obj and not obj[field]:
                obj.pop(field)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if key == ("", "pods"):
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    elif key == ("", "services"):
        if spec.get("type", "ClusterIP") != "ExternalName":
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("internalTrafficPolicy", "Cluster")
    elif key == ("apps", "deployments"):
        spec.setdefault("replicas", 1)
        spec.setdefault("strategy", {})
        strategy = spec["strategy"]
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    elif key == ("autoscaling", "horizontalpodautoscalers"):
        _default_hpa(spec)
    elif key == ("apps", "replicasets"):
        spec.setdefault("replicas", 1)
    elif key == ("apps", "statefulsets"):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    elif key == ("apps", "daemonsets"):
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    if key in WORKLOADS or key in (("batch", "jobs"), ("", "podtemplates"), ("", "replicationcontrollers")):
        tspec = _template(obj)
        if tspec is not None:
            default_pod_spec(tspec)
    if key == ("batch", "cronjobs"):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = (spec.get("jobTemplate") or {}).get("spec") or {}
        tspec = (jt.get("template") or {}).get("spec")
        if isinstance(tspec, dict):
            default_pod_spec(tspec)
