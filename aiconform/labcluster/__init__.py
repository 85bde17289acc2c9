"""A lab of real Kubernetes components: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built
from Go modules at the versions pinned in aiconform/data/versions.yml (``lab:``), kwok (sigs.k8s.io/kwok) in place
of kubelets, in a network namespace of its own.

  aiconform lab build [--kubernetes-version v1.35] [--stack reference]   build once (cached; seconds after)
  aiconform lab up --kubeconfig PATH [--gpus N] [--detach] run until Ctrl-C/SIGTERM, then clean up
  aiconform lab down --kubeconfig PATH                     stop a detached lab
  aiconform lab status [--kubeconfig PATH]                 what is built, what runs

Nodes are kwok nodes shaped like a GPU lab (a control-plane node, CPU workers, GPU workers with NVIDIA GPU
Feature Discovery labels and ``nvidia.com/gpu`` capacity); the NVIDIA DRA driver's DeviceClasses and
ResourceSlices are published by the lab, and the real kube-scheduler allocates devices from them. There are no
real accelerators: every report of a lab run says "lab (kwok nodes, no real accelerators)". Emulated GPUs still
"work" (``gpus.py``): a container limiting ``nvidia.com/gpu`` gets free GPUs of its node as from the NVIDIA device
plugin, a load program (dcgmproftester12, pod_autoscaling's CUDA load) holding a GPU makes it busy in its node's
device state, and the GPU Operator's DCGM exporter (a DaemonSet the lab applies at start) reports it.

Pods whose image the lab knows (the verifiers' probe images: agnhost, pause, busybox, python, curl, ubuntu, the
CUDA images; the GPU Operator's DCGM and DCGM exporter images) really run:
the lab's own stand-in program starts in the pod's own network, UTS and mount namespaces, with the pod IP, env,
ServiceAccount token and volumes; its exit code is the container's, ``kubectl logs`` shows its output, and a
webhook served by a pod is called by the API server. With ``--stack reference`` (the default) pods of the reference
stack's controller images (Kueue, KubeRay operator) run the real controllers, built from their Go modules at the
versions of ``lab.controllers`` (``aiconform lab status`` lists what is real and what is emulated). kgateway's
controller and envoy-wrapper images run the lab's EMULATION of kgateway (``programs/gateway.py``: kgateway needs
Envoy, C++, which no Go module builds), over the Gateway API CRDs that ``aiconform lab build`` generates with
controller-gen from sigs.k8s.io/gateway-api (``gatewayapi.py``). Other pods stay kwok-only (an Event ``KwokOnly``
says so).

Files: ``build.py`` (Go builds), ``cluster.py`` (host side: up/down), ``node.py`` (inside the namespace:
supervises the programs, forwards the API port), ``topology.py`` (addresses, nodes, flags), ``pki.py``,
``pods.py`` (the pod runner) and ``programs/`` (the stand-ins).
"""

# What runs on the lab per `--stack` (topology.py builds it; the CLI lists it without importing the heavy parts).
STACKS = {
    "base": "kwok GPU nodes (NVIDIA GFD labels, nvidia.com/gpu capacity), the NVIDIA DRA driver's DeviceClasses "
            "and ResourceSlices published by the lab; allocation by the real kube-scheduler; the GPU Operator's DCGM "
            "exporter emulated (a DaemonSet of the lab's stand-in reporting each node's device state)",
    "reference": "base, plus the reference stack's controllers for real (lab.stacks.reference of versions.yml: "
                 "Kueue, KubeRay operator, metrics-server, Prometheus, prometheus-adapter, built from their Go "
                 "modules): a pod of their image runs the real binary",
    "karpenter": "base, plus Karpenter's kwok provider for real (lab.stacks.karpenter of versions.yml, built from "
                 "sigs.k8s.io/karpenter): its Deployment's pod runs the real binary with GPU instance types, a "
                 "KWOKNodeClass and a GPU NodePool; it creates and deletes kwok nodes itself",
    "volcano": "base, plus Volcano's scheduler, controller-manager and webhook-manager for real (lab.stacks.volcano "
               "of versions.yml, built from volcano.sh/volcano): their Deployments' pods run the real binaries with a "
               "scheduler configuration of the lab's own (gang plugin); the scheduler creates Queue default; pods "
               "with schedulerName volcano are bound by it, a PodGroup's minMember all together; the chart's "
               "admission webhooks (vcjobs, PodGroups, Queues) are served by the webhook-manager with a certificate "
               "from the lab's PKI",
    "coscheduling": "base, plus the scheduler-plugins kube-scheduler and controller for real (lab.stacks.coscheduling "
                    "of versions.yml, built from sigs.k8s.io/scheduler-plugins): a second scheduler "
                    "scheduler-plugins-scheduler whose profile enables the Coscheduling plugin binds the pods of a "
                    "PodGroup (scheduling.x-k8s.io) only when minMember of them fit; the controller keeps the "
                    "PodGroups' status",
    "keda": "base, plus KEDA's operator and metrics API server and Prometheus for real (lab.stacks.keda of "
            "versions.yml, built from github.com/kedacore/keda/v2 and github.com/prometheus/prometheus): a "
            "ScaledObject becomes an HPA on an external metric that KEDA's Prometheus scaler reads and its metrics "
            "API server serves (external.metrics.k8s.io) to the real HPA controller; Prometheus is installed by the "
            "kube_prometheus_stack role",
}
