"""Pure rules of virtualized_accelerator: is a GPU node's accelerator virtual, physical, or not knowable."""
from __future__ import annotations

from typing import Any

from .. import _accelerator as acc

# NVML brands of virtual GPUs (nvmlBrandType_t: NVIDIA_VAPPS, VPC, VCS, VWS, CLOUD_GAMING); the DRA driver
# publishes the brand as the device attribute "brand" (VKS GRID A100: NvidiaVCS; AICR H100: Nvidia).
VIRTUAL_BRANDS = ("nvidiavapps", "nvidiavpc", "nvidiavcs", "nvidiavws", "nvidiacloudgaming")
VGPU_LABELS = ("nvidia.com/vgpu.present", "nvidia.com/vgpu.host-driver-version", "nvidia.com/vgpu.host-driver-branch")
SHOWN = ("nvidia.com/gpu.product", "nvidia.com/gpu.machine", *VGPU_LABELS)


def _virtual_product(product: str) -> bool:
    p = product.upper()
    return "GRID" in p or "-VGPU" in p or "VGPU" in p.split("-")


def classify_node(node: dict[str, Any], devices: list[dict[str, Any]]) -> dict[str, Any]:
    """{node, kind: virtual|physical|unknown, evidence: [...]} from GFD labels and the node's DRA devices."""
    labels = node.get("all_labels") or node.get("labels") or {}
    virtual, physical = [], []
    if labels.get("nvidia.com/vgpu.present") == "true":
        virtual.append("label nvidia.com/vgpu.present=true")
    elif labels.get("nvidia.com/vgpu.present") == "false":
        physical.append("label nvidia.com/vgpu.present=false")
    if labels.get("nvidia.com/vgpu.host-driver-version"):
        virtual.append(f"vGPU host driver {labels['nvidia.com/vgpu.host-driver-version']}")
    product = labels.get("nvidia.com/gpu.product", "")
    if product and _virtual_product(product):
        virtual.append(f"product {product}")
    for d in devices:
        a = d.get("attributes") or {}
        brand, dtype = str(a.get("brand") or ""), str(a.get("type") or "")
        if dtype == "vfio":
            virtual.append(f"DRA device {d.get('name')} is a vfio passthrough device")
        elif brand.lower() in VIRTUAL_BRANDS:
            virtual.append(f"DRA device {d.get('name')} has vGPU brand {brand} ({a.get('productName')})")
        elif brand and not _virtual_product(str(a.get("productName") or "")):
            physical.append(f"DRA device {d.get('name')} has physical brand {brand} ({a.get('productName')})")
    kind = "virtual" if virtual else ("physical" if physical else "unknown")
    return {"node": node.get("name"), "kind": kind, "evidence": virtual or physical,
            "labels": {k: labels[k] for k in SHOWN if k in labels}}


def node_devices(slices: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    return [d for s in slices if s.get("driver") == "gpu.nvidia.com" and s.get("node_name") == node
            for d in acc.allocatable_devices(s)]
