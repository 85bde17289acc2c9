"""Facts for the accelerator/security judges, parsed from the real third-party outputs in ../shared.

Nothing here is copied from those files: the tests read them when present (and skip otherwise) and
turn what they show (ResourceSlices, ResourceClaims, ``nvidia-smi`` output, ``kubectl api-resources``)
into the facts a fetch would have collected.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.verifiers import _accelerator as acc

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
FIX = SHARED / "fixtures"
EVID = FIX / "evidence"
VKS_SLICES = FIX / "stacks" / "cncf_k8s-ai-conformance__v1.36_vks_dra_support.md__resourceslices.yaml"
VKS_CLAIMS = FIX / "stacks" / "cncf_k8s-ai-conformance__v1.36_vks_dra_support.md__resourceclaims.yaml"
VKS_DRA_MD = EVID / "cncf-k8s-ai-conformance" / "v1.36" / "vks" / "dra_support.md"
KOPS = EVID / "cncf-k8s-ai-conformance" / "v1.35" / "kops" / "tests"
KOPS_DRA_API = KOPS / "TestAcceleratorsDRASupport" / "output.md"
KOPS_DRA_WORKS = KOPS / "TestDRAWorks" / "output.md"
KOPS_SAA = KOPS / "TestSecurity_SecureAcceleratorAccess" / "output.md"
KOPS_DRIVER = KOPS / "TestAcceleratorsDriverRuntimeManagement" / "output.md"
AICR_SAA = EVID / "NVIDIA-aicr" / "docs" / "conformance" / "cncf" / "evidence" / "secure-accelerator-access.md"
GARDENER_133 = EVID / "cncf-k8s-ai-conformance" / "v1.33" / "gardener" / "PRODUCT.yaml"


def needs(*paths: Path) -> pytest.MarkDecorator:
    missing = [p.name for p in paths if not p.is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"../shared fixtures absent: {', '.join(missing)}")


def items(path: Path) -> list[dict[str, Any]]:
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("items") or [])


def command_output(path: Path, command: str) -> str:
    """The output printed under ``$ <command>`` inside a fenced block (AICR evidence style)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"$ {command}\n") + len(command) + 3
    return text[start:text.index("```", start)]


def aicr_slices() -> list[dict[str, Any]]:
    """The ResourceSlices `kubectl get resourceslices -o yaml` printed in AICR's secure-access evidence."""
    doc = yaml.safe_load(command_output(AICR_SAA, "kubectl get resourceslices -o yaml"))
    return [acc.slice_summary(o) for o in doc["items"]]


def vks_slices() -> list[dict[str, Any]]:
    return [acc.slice_summary(o) for o in items(VKS_SLICES)]


def vks_claim() -> dict[str, Any]:
    return items(VKS_CLAIMS)[0]


def nvsmi_gpus(xml: str) -> list[dict[str, str]]:
    """GPUs of an `nvidia-smi -q -x` dump: minor number, UUID, product name."""
    out = []
    for block in re.findall(r"<gpu id=.*?</gpu>", xml, re.S):
        def tag(name: str, b: str = block) -> str:
            m = re.search(rf"<{name}>(.*?)</{name}>", b)
            return m.group(1) if m else ""
        gpu = {"minor": tag("minor_number"), "uuid": tag("uuid"), "product": tag("product_name")}
        if gpu not in out:  # a looping probe prints the same GPU once per iteration
            out.append(gpu)
    return out


def kops_saa_blocks() -> dict[str, list[str]]:
    """kOps' secure-access transcript: the `kubectl logs` output of each section, in order."""
    text = KOPS_SAA.read_text(encoding="utf-8")
    sections = re.split(r"\n## ", text)
    out: dict[str, list[str]] = {}
    for sec in sections[1:]:
        title = sec.splitlines()[0].strip()
        logs = []
        for m in re.finditer(r"> kubectl logs [^\n]*\n\s*```\s*```\n(.*?)```", sec, re.S):
            logs.append(m.group(1))
        out[title] = logs
    return out


def probe_log(gpus: list[dict[str, str]]) -> str:
    """What aiconform's probe prints for the GPUs a container was given (device nodes from the minor
    numbers, `nvidia-smi -L` lines from index, product and UUID)."""
    lines = [f"DEVICE: /dev/nvidia{g['minor']}" for g in gpus]
    lines.append(f"{acc.RESULT_PREFIX}{len(gpus)}")
    lines += [f"GPU {i}: {g['product']} (UUID: {g['uuid']})" for i, g in enumerate(gpus)]
    return "\n".join(lines) + "\n"


def kops_api_resources() -> dict[str, list[str]]:
    """`kubectl api-resources --api-group=resource.k8s.io` lines of kOps' DRA transcript, by version."""
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"^(\w+)\s+resource\.k8s\.io/(v\w+)\s+(?:true|false)\s+\w+\s*$",
                         KOPS_DRA_API.read_text(encoding="utf-8"), re.M):
        out.setdefault(m.group(2), []).append(m.group(1))
    return {v: sorted(r) for v, r in out.items()}


def ready_nodes(names: list[str], gpus: int = 0) -> list[dict[str, Any]]:
    alloc = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return [{"name": n, "ready": True, "unschedulable": False, "labels": {}, "taints": [], "allocatable": alloc,
             "capacity": alloc, "container_runtime_version": "", "kernel_version": ""} for n in names]


def aicr_isolation_log() -> str:
    """AICR's isolation-test container (DRA claim): its `ls /dev/nvidia*` and `nvidia-smi -L` lines, in the
    form aiconform's probe prints them."""
    raw = command_output(AICR_SAA, "kubectl logs isolation-test -n secure-access-test")
    devices = re.findall(r"(/dev/nvidia\d+)\s*$", raw, re.M)
    smi = [line for line in raw.splitlines() if re.match(r"GPU \d+: .*\(UUID: ", line)]
    return "\n".join([*(f"DEVICE: {d}" for d in devices), f"{acc.RESULT_PREFIX}{len(devices)}", *smi]) + "\n"


def kops_driver_check() -> dict[str, str]:
    """kOps' driver-check Job log (L4): driver and CUDA versions nvidia-smi printed inside the container."""
    text = KOPS_DRIVER.read_text(encoding="utf-8")
    driver = re.search(r"DRIVER version\s*:\s*(\S+)", text)
    cuda = re.search(r"CUDA Version\s*:\s*(\S+)", text)
    assert driver and cuda
    return {"driver": driver.group(1), "cuda": cuda.group(1)}


VKS135_DRA_MD = EVID / "cncf-k8s-ai-conformance" / "v1.35" / "vks" / "dra_support.md"


def gfd_label_sets(path: Path) -> list[dict[str, str]]:
    """The GPU Feature Discovery label maps a VKS transcript printed as JSON (one per GPU node)."""
    import json
    text = path.read_text(encoding="utf-8")
    return [json.loads(m.group(0)) for m in re.finditer(r"^\{\n.*?^\}$", text, re.S | re.M)
            if '"nvidia.com/gpu.count"' in m.group(0)]


def gpu_node(name: str, labels: dict[str, str], allocatable: dict[str, str] | None = None) -> dict[str, Any]:
    """A node summary as acc.node_summary makes it, carrying the given labels; allocatable defaults to one
    nvidia.com/gpu per GFD-counted GPU (a device plugin without sharing)."""
    alloc = allocatable if allocatable is not None else {"nvidia.com/gpu": labels.get("nvidia.com/gpu.count", "0")}
    return {"name": name, "ready": True, "unschedulable": False, "labels": labels, "all_labels": labels,
            "taints": [], "allocatable": alloc, "capacity": alloc, "container_runtime_version": "containerd://1.7.27",
            "kernel_version": "5.15.0-139-generic"}
