"""What the lab looks like: addresses, nodes, DRA objects, and each program's flags.

The nodes, the NVIDIA DRA driver's DeviceClasses and ResourceSlices are the same objects the simulator's
``conformant`` scenario seeds (``aiconform/sim/scenarios/{empty,gpu-lab,conformant}.yaml``, written from real
cluster output in ../shared/fixtures/stacks): one definition for both engines. Here kwok keeps the nodes alive
and the real kube-scheduler allocates the devices.

Addresses exist only inside the lab's network namespace (loopback aliases): the API server and the control-plane
node on ``HOST_IP``, each worker node on its own address, pods in ``POD_CIDR`` (kwok assigns them), Services in
``SERVICE_CIDR``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiconform import labcluster, versions
from aiconform.labcluster.pki import PKI

HOST_IP = "10.243.0.1"
NODE_NET = "10.243.0."  # workers get .10, .11, ...
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
APISERVER_PORT = 6443
KUBELET_PORT = 10250  # kwok serves the kubelet API (logs, exec, port-forward, metrics) for every node
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# metrics-server scrapes a node's kubelet at this path when the node carries the annotation (upstream
# pkg/scraper/client/resource); kwok serves it from its Metric `metrics-resource` (kwok default-metrics)
RESOURCE_METRICS_ANNOTATION = "metrics.k8s.io/resource-metrics-path"


def resource_metrics_path(node: str) -> str:
    return f"/metrics/nodes/{node}/metrics/resource"
BASE_SCENARIO = "conformant"  # nodes (via gpu-lab/empty), DRA slices and DeviceClasses
GPU_POOL = "gpu-worker"
STACKS = labcluster.STACKS


@dataclass
class LabNode:
    name: str
    ip: str
    obj: dict[str, Any]
    gpus: int = 0


@dataclass
class Topology:
    kubernetes_version: str  # full, e.g. v1.35.4
    nodes: list[LabNode]
    slices: list[dict[str, Any]] = field(default_factory=list)  # slice specs from the scenario
    objects: list[dict[str, Any]] = field(default_factory=list)  # DeviceClasses
    host_ip: str = HOST_IP
    kubernetes_service_ip: str = KUBERNETES_SERVICE_IP

    @classmethod
    def build(cls, kubernetes_version: str, gpus: int = 2) -> Topology:
        from aiconform.sim.scenario import load_scenario, node_objects

        if gpus < 0 or gpus > 64:
            raise ValueError(f"--gpus must be between 0 and 64, not {gpus}")
        sc = load_scenario(BASE_SCENARIO)
        nodes: list[LabNode] = []
        for pool in sc.node_pools:
            pool = copy.deepcopy(pool)
            if pool["name"] == GPU_POOL:
                pool["count"] = gpus
                if gpus == 0:
                    continue
            for obj in node_objects(pool, kubernetes_version):
                meta = obj["metadata"]
                meta.pop("uid", None)
                meta.setdefault("annotations", {})[KWOK_ANNOTATION[0]] = KWOK_ANNOTATION[1]
                meta["annotations"][RESOURCE_METRICS_ANNOTATION] = resource_metrics_path(meta["name"])
                obj["spec"]["providerID"] = f"kwok://{meta['name']}"
                ip = HOST_IP if pool.get("role") == "control-plane" else f"{NODE_NET}{10 + len(nodes)}"
                obj["status"]["addresses"] = [{"type": "InternalIP", "address": ip},
                                              {"type": "Hostname", "address": meta["name"]}]
                obj["status"]["nodeInfo"]["containerRuntimeVersion"] = "kwok"
                # as a kubelet publishes it (kwok's node-initialize Stage would, but the nodes start Ready):
                # metrics-server's --kubelet-use-node-status-port reads it
                obj["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": KUBELET_PORT}}
                n_gpu = int(obj["status"]["capacity"].get("nvidia.com/gpu", 0))
                nodes.append(LabNode(meta["name"], ip, obj, n_gpu))
        device_classes = [copy.deepcopy(o) for o in sc.objects if o.get("kind") == "DeviceClass"]
        return cls(kubernetes_version, nodes, copy.deepcopy(sc.resource_slices), device_classes)

    def describe(self) -> dict[str, Any]:
        return {"kubernetes_version": self.kubernetes_version,
                "nodes": [{"name": n.name, "ip": n.ip, "gpus": n.gpus} for n in self.nodes],
                "gpus": sum(n.gpus for n in self.nodes),
                "real": ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
                "kwok": ["nodes (kubelet stand-in: status, leases, pod lifecycle, logs/exec API)"],
                "pods": "pods of the verifiers' probe images run as the lab's stand-in programs with their own "
                        "network namespace and pod IP (labcluster/pods.py); other images are kwok-only",
                "emulated": ["NVIDIA DRA driver: the lab publishes its DeviceClasses and ResourceSlices",
                             "NVIDIA device plugin: nvidia.com/gpu capacity in the node objects; the pod runner "
                             "allocates a container's nvidia.com/gpu limit as its Allocate does (labcluster/gpus.py)",
                             "NVIDIA DCGM exporter (DCGM needs GPUs): the GPU Operator's nvidia-dcgm-exporter "
                             "DaemonSet/Service in gpu-operator, its pods a stand-in serving the real exporter's "
                             "series from each node's device state (busy while a load program runs on a GPU)",
                             "resource usage (what metrics-server reads from each node's /metrics/resource): kwok "
                             "computes it (pod annotation kwok.x-k8s.io/usage-cpu/-memory, else 1m CPU and 1Mi per "
                             "container; each node 10m CPU and 128Mi more), no cgroup measures it"],
                "accelerators": "none (kwok nodes, no real accelerators)"}


def apiserver_flags(topo: Topology, pki: PKI) -> list[str]:
    """As a kubeadm control plane runs it (authorization Node,RBAC; NodeRestriction admission), plus endpoint
    routing so webhooks and aggregated APIs are reached at their endpoints' addresses."""
    return [
        f"--advertise-address={topo.host_ip}", "--bind-address=0.0.0.0", f"--secure-port={APISERVER_PORT}",
        "--etcd-servers=http://127.0.0.1:2379",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.apiserver.key}",
        f"--client-ca-file={pki.ca.cert}",
        f"--kubelet-client-certificate={pki.apiserver_kubelet_client.cert}",
        f"--kubelet-client-key={pki.apiserver_kubelet_client.key}",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true", "--enable-aggregator-routing=true",
        f"--proxy-client-cert-file={pki.front_proxy_client.cert}",
        f"--proxy-client-key-file={pki.front_proxy_client.key}",
        f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
        "--requestheader-allowed-names=front-proxy-client", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group", "--requestheader-username-headers=X-Remote-User",
        "--profiling=false",
    ]


def kcm_flags(topo: Topology, pki: PKI, kubeconfig: str) -> list[str]:
    return [
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", "--secure-port=10257",
        f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca.cert}",
        f"--cluster-signing-cert-file={pki.ca.cert}", f"--cluster-signing-key-file={pki.ca.key}",
        f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
        "--use-service-account-credentials=true", "--controllers=*,bootstrapsigner,tokencleaner",
        "--leader-elect=false", "--cluster-name=aiconform-lab", f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]


def scheduler_flags(kubeconfig: str) -> list[str]:
    return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", "--secure-port=10259",
            "--leader-elect=false", "--profiling=false"]


def kwok_flags(topo: Topology, pki: PKI, kubeconfig: str, config: Path) -> list[str]:
    return [f"--kubeconfig={kubeconfig}", f"--config={config}",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION[0]}={KWOK_ANNOTATION[1]}",
            f"--cidr={POD_CIDR}", f"--node-ip={topo.host_ip}", f"--node-port={KUBELET_PORT}",
            f"--server-address=0.0.0.0:{KUBELET_PORT}", f"--tls-cert-file={pki.kwok_serving.cert}",
            f"--tls-private-key-file={pki.kwok_serving.key}", "--node-lease-duration-seconds=40"]


# Emulated system usage of every node (a kubelet's node figures include the system's own processes): 10m CPU and
# 128 MiB memory on top of the sum of its pods' usage.
NODE_BASELINE = {"node_cpu_usage_seconds_total": "0.01 * node.SinceSecond()",
                 "node_memory_working_set_bytes": "134217728.0"}


def kwok_config(metrics: str = "") -> str:
    """kwok's configuration documents before upstream's default Stages: upstream's resource-metrics documents
    (``kwok default-metrics``: the Metric ``metrics-resource`` that serves each node's ``/metrics/resource`` and
    the ClusterResourceUsage that takes usage from the pod annotations ``kwok.x-k8s.io/usage-cpu``/``-memory``,
    default 1m CPU and 1Mi memory per container), each node's figures plus ``NODE_BASELINE``. Usage is emulated: kwok computes it, no cgroup measures it."""
    docs = [d for d in yaml.safe_load_all(metrics) if d]
    for d in docs:
        for m in d.get("spec", {}).get("metrics", []) if d.get("kind") == "Metric" else []:
            if m.get("name") in NODE_BASELINE:  # a node without pods reports 0 and metrics-server skips it
                m["value"] = f"{m['value']} + {NODE_BASELINE[m['name']]}"
    kinds = {d.get("kind") for d in docs}
    if metrics and not {"Metric", "ClusterResourceUsage"} <= kinds:
        raise RuntimeError(f"kwok default-metrics printed kinds {sorted(k for k in kinds if k)}, not a Metric and "
                           "a ClusterResourceUsage; rebuild the lab (aiconform lab build --force)")
    return "".join(yaml.safe_dump(d, sort_keys=False) + "---\n" for d in docs)


def bootstrap(api: Any, topo: Topology) -> None:
    """Nodes, then the DRA driver's DeviceClasses and one ResourceSlice per GPU node (owned by the node)."""
    from aiconform.sim.scenario import slice_objects

    created = [api.create("/api/v1/nodes", n.obj) for n in topo.nodes]
    for dc in topo.objects:
        api.create("/apis/resource.k8s.io/v1/deviceclasses", dc)
    for spec in topo.slices:
        for s in slice_objects(spec, created, "resource.k8s.io/v1"):
            api.create("/apis/resource.k8s.io/v1/resourceslices", s)


def nodes_ready(api: Any, topo: Topology) -> bool:
    """kwok took over every node: it holds each node's Lease (heartbeats) in kube-node-lease."""
    status, leases = api.request("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
    if status != 200:
        return False
    held = {item["metadata"]["name"] for item in leases.get("items", [])}
    return all(n.name in held for n in topo.nodes)


def full_version(minor: str) -> str:
    return str(versions.get("lab.kubernetes")[minor]["version"])
