"""A lab of real Kubernetes components: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built
from Go modules at the versions pinned in aiconform/data/versions.yml (``lab:``), kwok (sigs.k8s.io/kwok) in place
of kubelets, in a network namespace of its own.

  aiconform lab build [--kubernetes-version v1.35]        build once (cached; seconds when nothing changed)
  aiconform lab up --kubeconfig PATH [--gpus N] [--detach] run until Ctrl-C/SIGTERM, then clean up
  aiconform lab down --kubeconfig PATH                     stop a detached lab
  aiconform lab status [--kubeconfig PATH]                 what is built, what runs

Nodes are kwok nodes shaped like a GPU lab (a control-plane node, CPU workers, GPU workers with NVIDIA GPU
Feature Discovery labels and ``nvidia.com/gpu`` capacity); the NVIDIA DRA driver's DeviceClasses and
ResourceSlices are published by the lab, and the real kube-scheduler allocates devices from them. There are no
real accelerators: every report of a lab run says "lab (kwok nodes, no real accelerators)".

Files: ``build.py`` (Go builds), ``cluster.py`` (host side: up/down), ``node.py`` (inside the namespace:
supervises the programs, forwards the API port), ``topology.py`` (addresses, nodes, flags), ``pki.py``.
"""
