"""Decoding of the Kubernetes protobuf wire format for the kinds typed clients write.

Typed clientsets (kubectl's ``create``/``run``/``expose`` generators and ``create token``, Helm's release storage)
send built-in objects as ``application/vnd.kubernetes.protobuf``: a ``k8s\\0`` magic, then a ``runtime.Unknown``
envelope (1 typeMeta, 2 raw) around the object message. ``SCHEMA`` is this module's own table of the wire field
numbers of the messages those clients send (the public wire format of k8s.io/api); fields it does not list are
skipped, so an object decodes to what the client set in the fields listed.
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) for one message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + ln], pos + ln
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
        yield num, wt, val


# message -> "number name type; ...". Types: string, int, bool, bytes, Time, Quantity, IntOrString, map (string
# values), map<bytes>, map<Quantity>, or a message; "[]" repeats; a trailing "!" keeps a zero value (pointer fields
# and fields JSON always writes); "~name" inlines the message's fields into the parent (Go embedding).
SCHEMA_TEXT: dict[str, str] = {
    "ObjectMeta": "1 name string; 2 generateName string; 3 namespace string; 5 uid string; 6 resourceVersion string; "
                  "7 generation int; 8 creationTimestamp Time; 9 deletionTimestamp Time; "
                  "10 deletionGracePeriodSeconds int!; 11 labels map; 12 annotations map; "
                  "13 ownerReferences []OwnerReference; 14 finalizers []string",
    "OwnerReference": "5 apiVersion string; 1 kind string; 3 name string; 4 uid string; 6 controller bool!; "
                      "7 blockOwnerDeletion bool!",
    "LabelSelector": "1 matchLabels map; 2 matchExpressions []LabelSelectorRequirement",
    "LabelSelectorRequirement": "1 key string; 2 operator string; 3 values []string",
    "DeleteOptions": "1 gracePeriodSeconds int!; 2 preconditions Preconditions; 3 orphanDependents bool!; "
                     "4 propagationPolicy string; 5 dryRun []string",
    "Preconditions": "1 uid string; 2 resourceVersion string",
    # core/v1
    "Secret": "1 metadata ObjectMeta; 2 data map<bytes>; 3 type string; 4 stringData map; 5 immutable bool!",
    "ConfigMap": "1 metadata ObjectMeta; 2 data map; 3 binaryData map<bytes>; 4 immutable bool!",
    "Namespace": "1 metadata ObjectMeta; 2 spec NamespaceSpec",
    "NamespaceSpec": "1 finalizers []string",
    "ServiceAccount": "1 metadata ObjectMeta; 2 secrets []ObjectReference; 3 imagePullSecrets []LocalObjectReference; "
                      "4 automountServiceAccountToken bool!",
    "ObjectReference": "1 kind string; 2 namespace string; 3 name string; 4 uid string; 5 apiVersion string; "
                       "6 resourceVersion string; 7 fieldPath string",
    "LocalObjectReference": "1 name string",
    "Pod": "1 metadata ObjectMeta; 2 spec PodSpec",
    "PodTemplateSpec": "1 metadata ObjectMeta; 2 spec PodSpec",
    "PodSpec": "1 volumes []Volume; 20 initContainers []Container; 2 containers []Container; 3 restartPolicy string; "
               "4 terminationGracePeriodSeconds int!; 5 activeDeadlineSeconds int!; 6 dnsPolicy string; "
               "7 nodeSelector map; 8 serviceAccountName string; 9 serviceAccount string; "
               "21 automountServiceAccountToken bool!; 10 nodeName string; 11 hostNetwork bool; "
               "14 securityContext PodSecurityContext; 15 imagePullSecrets []LocalObjectReference; 16 hostname string; "
               "17 subdomain string; 19 schedulerName string; 22 tolerations []Toleration; 24 priorityClassName string; "
               "25 priority int!; 29 runtimeClassName string; 30 enableServiceLinks bool!",
    "Container": "1 name string; 2 image string; 3 command []string; 4 args []string; 5 workingDir string; "
                 "6 ports []ContainerPort; 19 envFrom []EnvFromSource; 7 env []EnvVar; 8 resources ResourceRequirements; "
                 "24 restartPolicy string; 9 volumeMounts []VolumeMount; 10 livenessProbe Probe; "
                 "11 readinessProbe Probe; 22 startupProbe Probe; 13 terminationMessagePath string; "
                 "20 terminationMessagePolicy string; 14 imagePullPolicy string; 15 securityContext SecurityContext; "
                 "16 stdin bool; 17 stdinOnce bool; 18 tty bool",
    "ContainerPort": "1 name string; 2 hostPort int; 3 containerPort int!; 4 protocol string; 5 hostIP string",
    "EnvVar": "1 name string; 2 value string; 3 valueFrom EnvVarSource",
    "EnvVarSource": "1 fieldRef ObjectFieldSelector; 2 resourceFieldRef ResourceFieldSelector; "
                    "3 configMapKeyRef KeySelector; 4 secretKeyRef KeySelector",
    "ObjectFieldSelector": "1 apiVersion string; 2 fieldPath string",
    "ResourceFieldSelector": "1 containerName string; 2 resource string; 3 divisor Quantity",
    "KeySelector": "1 ~ LocalObjectReference; 2 key string; 3 optional bool!",
    "EnvFromSource": "1 prefix string; 2 configMapRef EnvSource; 3 secretRef EnvSource",
    "EnvSource": "1 ~ LocalObjectReference; 2 optional bool!",
    "ResourceRequirements": "1 limits map<Quantity>; 2 requests map<Quantity>",
    "VolumeMount": "1 name string; 2 readOnly bool; 3 mountPath string; 4 subPath string",
    "Probe": "1 ~ ProbeHandler; 2 initialDelaySeconds int; 3 timeoutSeconds int; 4 periodSeconds int; "
             "5 successThreshold int; 6 failureThreshold int",
    "ProbeHandler": "1 exec ExecAction; 2 httpGet HTTPGetAction; 3 tcpSocket TCPSocketAction",
    "ExecAction": "1 command []string",
    "HTTPGetAction": "1 path string; 2 port IntOrString; 3 host string; 4 scheme string",
    "TCPSocketAction": "1 port IntOrString; 2 host string",
    "SecurityContext": "1 capabilities Capabilities; 2 privileged bool!; 4 runAsUser int!; 8 runAsGroup int!; "
                       "5 runAsNonRoot bool!; 6 readOnlyRootFilesystem bool!; 7 allowPrivilegeEscalation bool!",
    "Capabilities": "1 add []string; 2 drop []string",
    "PodSecurityContext": "2 runAsUser int!; 6 runAsGroup int!; 3 runAsNonRoot bool!; 5 fsGroup int!",
    "Toleration": "1 key string; 2 operator string; 3 value string; 4 effect string; 5 tolerationSeconds int!",
    "Volume": "1 name string; 2 ~ VolumeSource",
    "VolumeSource": "1 hostPath HostPathVolumeSource; 2 emptyDir EmptyDirVolumeSource; 6 secret SecretVolumeSource; "
                    "10 persistentVolumeClaim PersistentVolumeClaimVolumeSource; 19 configMap ConfigMapVolumeSource",
    "HostPathVolumeSource": "1 path string; 2 type string!",
    "EmptyDirVolumeSource": "1 medium string; 2 sizeLimit Quantity",
    "SecretVolumeSource": "1 secretName string; 2 items []KeyToPath; 3 defaultMode int!; 4 optional bool!",
    "ConfigMapVolumeSource": "1 ~ LocalObjectReference; 2 items []KeyToPath; 3 defaultMode int!; 4 optional bool!",
    "PersistentVolumeClaimVolumeSource": "1 claimName string; 2 readOnly bool",
    "KeyToPath": "1 key string; 2 path string; 3 mode int!",
    "Service": "1 metadata ObjectMeta; 2 spec ServiceSpec",
    "ServiceSpec": "1 ports []ServicePort; 2 selector map; 3 clusterIP string; 18 clusterIPs []string; 4 type string; "
                   "5 externalIPs []string; 7 sessionAffinity string; 10 externalName string; "
                   "11 externalTrafficPolicy string; 19 ipFamilies []string; 17 ipFamilyPolicy string",
    "ServicePort": "1 name string; 2 protocol string; 6 appProtocol string; 3 port int!; 4 targetPort IntOrString; "
                   "5 nodePort int",
    "ResourceQuota": "1 metadata ObjectMeta; 2 spec ResourceQuotaSpec",
    "ResourceQuotaSpec": "1 hard map<Quantity>; 2 scopes []string",
    # apps/v1, batch/v1
    "Deployment": "1 metadata ObjectMeta; 2 spec DeploymentSpec; 3 status Empty",
    "DeploymentSpec": "1 replicas int!; 2 selector LabelSelector; 3 template PodTemplateSpec; "
                      "4 strategy DeploymentStrategy; 5 minReadySeconds int; 6 revisionHistoryLimit int!; 7 paused bool; "
                      "9 progressDeadlineSeconds int!",
    "DeploymentStrategy": "1 type string; 2 rollingUpdate RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable IntOrString; 2 maxSurge IntOrString",
    "Job": "1 metadata ObjectMeta; 2 spec JobSpec; 3 status Empty",
    "JobSpec": "1 parallelism int!; 2 completions int!; 3 activeDeadlineSeconds int!; 7 backoffLimit int!; "
               "4 selector LabelSelector; 5 manualSelector bool!; 6 template PodTemplateSpec; "
               "8 ttlSecondsAfterFinished int!; 9 completionMode string; 10 suspend bool!",
    "CronJob": "1 metadata ObjectMeta; 2 spec CronJobSpec; 3 status Empty",
    "CronJobSpec": "1 schedule string; 8 timeZone string; 2 startingDeadlineSeconds int!; 3 concurrencyPolicy string; "
                   "4 suspend bool!; 5 jobTemplate JobTemplateSpec; 6 successfulJobsHistoryLimit int!; "
                   "7 failedJobsHistoryLimit int!",
    "JobTemplateSpec": "1 metadata ObjectMeta; 2 spec JobSpec",
    # rbac/v1, scheduling/v1, policy/v1, networking/v1, authentication/v1
    "Role": "1 metadata ObjectMeta; 2 rules []PolicyRule",
    "ClusterRole": "1 metadata ObjectMeta; 2 rules []PolicyRule; 3 aggregationRule AggregationRule",
    "AggregationRule": "1 clusterRoleSelectors []LabelSelector",
    "PolicyRule": "1 verbs []string; 2 apiGroups []string; 3 resources []string; 4 resourceNames []string; "
                  "5 nonResourceURLs []string",
    "RoleBinding": "1 metadata ObjectMeta; 2 subjects []Subject; 3 roleRef RoleRef",
    "ClusterRoleBinding": "1 metadata ObjectMeta; 2 subjects []Subject; 3 roleRef RoleRef",
    "Subject": "1 kind string; 2 apiGroup string; 3 name string; 4 namespace string",
    "RoleRef": "1 apiGroup string!; 2 kind string; 3 name string",
    "PriorityClass": "1 metadata ObjectMeta; 2 value int!; 3 globalDefault bool; 4 description string; "
                     "5 preemptionPolicy string",
    "PodDisruptionBudget": "1 metadata ObjectMeta; 2 spec PodDisruptionBudgetSpec; 3 status Empty",
    "PodDisruptionBudgetSpec": "1 minAvailable IntOrString; 2 selector LabelSelector; 3 maxUnavailable IntOrString",
    "Ingress": "1 metadata ObjectMeta; 2 spec IngressSpec; 3 status Empty",
    "IngressSpec": "4 ingressClassName string; 1 defaultBackend IngressBackend; 2 tls []IngressTLS; 3 rules []IngressRule",
    "IngressRule": "1 host string; 2 ~ IngressRuleValue",
    "IngressRuleValue": "1 http HTTPIngressRuleValue",
    "HTTPIngressRuleValue": "1 paths []HTTPIngressPath",
    "HTTPIngressPath": "1 path string; 3 pathType string; 2 backend IngressBackend",
    "IngressBackend": "4 service IngressServiceBackend",
    "IngressServiceBackend": "1 name string; 2 port ServiceBackendPort",
    "ServiceBackendPort": "1 name string; 2 number int",
    "IngressTLS": "1 hosts []string; 2 secretName string",
    "TokenRequest": "1 metadata ObjectMeta; 2 spec TokenRequestSpec",
    "TokenRequestSpec": "1 audiences []string; 4 expirationSeconds int!; 3 boundObjectRef BoundObjectReference",
    "BoundObjectReference": "1 kind string; 2 apiVersion string; 3 name string; 4 uid string",
    # authorization/v1 (kubectl auth can-i)
    "SelfSubjectAccessReview": "1 metadata ObjectMeta; 2 spec SubjectAccessReviewSpec",
    "SubjectAccessReview": "1 metadata ObjectMeta; 2 spec SubjectAccessReviewSpec",
    "LocalSubjectAccessReview": "1 metadata ObjectMeta; 2 spec SubjectAccessReviewSpec",
    "SubjectAccessReviewSpec": "1 resourceAttributes ResourceAttributes; 2 nonResourceAttributes NonResourceAttributes; "
                               "3 user string; 4 groups []string; 6 uid string",
    "ResourceAttributes": "1 namespace string; 2 verb string; 3 group string; 4 version string; 5 resource string; "
                          "6 subresource string; 7 name string",
    "NonResourceAttributes": "1 path string; 2 verb string",
    "Empty": "",
}
SCHEMA: dict[str, dict[int, tuple[str, str, bool, bool]]] = {
    msg: {int(num): (name, typ.removeprefix("[]").rstrip("!"), typ.startswith("[]"), typ.endswith("!"))
          for num, name, typ in (f.split() for f in text.split(";") if f.strip())}
    for msg, text in SCHEMA_TEXT.items()}
_ZERO_TIME = -62135596800  # Go's zero time.Time, which a non-pointer Time field encodes


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _str(b: bytes) -> str:
    return b.decode("utf-8")


def _time(buf: bytes) -> str | None:
    secs = 0
    for n, _, v in fields(buf):
        if n == 1:
            secs = _signed(v)
    if secs <= _ZERO_TIME:
        return None
    return dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(buf: bytes) -> str:
    return next((_str(v) for n, _, v in fields(buf) if n == 1), "0")


def _int_or_string(buf: bytes) -> int | str:
    kind, ival, sval = 0, 0, ""
    for n, _, v in fields(buf):
        if n == 1:
            kind = v
        elif n == 2:
            ival = _signed(v)
        elif n == 3:
            sval = _str(v)
    return sval if kind == 1 else ival


def _scalar(typ: str, v: Any) -> Any:
    if typ == "string":
        return _str(v)
    if typ == "int":
        return _signed(v)
    if typ == "bool":
        return bool(v)
    if typ == "bytes":
        return base64.b64encode(v).decode()
    if typ == "Time":
        return _time(v)
    if typ == "Quantity":
        return _quantity(v)
    if typ == "IntOrString":
        return _int_or_string(v)
    return message(typ, v)


def message(name: str, buf: bytes) -> dict[str, Any]:
    """Decode one message of ``SCHEMA`` into its JSON form (unknown fields skipped)."""
    schema = SCHEMA[name]
    out: dict[str, Any] = {}
    for n, _, v in fields(buf):
        spec = schema.get(n)
        if spec is None:
            continue
        fname, typ, repeated, keep_zero = spec
        if fname == "~":  # embedded struct: its fields appear in the parent
            out.update(message(typ, v))
            continue
        if typ.startswith("map"):
            key, raw = "", b""
            for en, _, ev in fields(v):
                if en == 1:
                    key = _str(ev)
                elif en == 2:
                    raw = ev
            vtype = typ[4:-1] if typ.startswith("map<") else "string"
            out.setdefault(fname, {})[key] = _scalar(vtype, raw)
            continue
        val = _scalar(typ, v)
        if repeated:
            out.setdefault(fname, []).append(val)
        elif keep_zero or val not in ("", 0, False, None) or typ in SCHEMA or typ == "Time":
            out[fname] = val
    meta = out.get("metadata")
    if isinstance(meta, dict) and meta.get("creationTimestamp", 1) is None:
        meta.pop("creationTimestamp")
    return out


def object_meta(buf: bytes) -> dict[str, Any]:
    return message("ObjectMeta", buf)


def decode(body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body into the JSON form of the object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic")
    api_version = kind = ""
    raw = b""
    for n, _, v in fields(body[len(MAGIC):]):
        if n == 1:
            for tn, _, tv in fields(v):
                if tn == 1:
                    api_version = _str(tv)
                elif tn == 2:
                    kind = _str(tv)
        elif n == 2:
            raw = v
    if kind not in SCHEMA or kind[0].islower() or kind.endswith("Spec"):
        raise ProtobufError(f"the simulator does not decode protobuf for {kind or 'an unknown kind'}; "
                            "send it as application/json")
    obj = message(kind, raw)
    return {"apiVersion": api_version, "kind": kind, **obj}
