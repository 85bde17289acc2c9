"""The upstream NVIDIA driver probe and platform-metadata rules (pure), shared by fetch, judge and tests."""
from __future__ import annotations

import re
from typing import Any

CONFIG_OK = "RESULT: RUNTIME_CONFIG_OK="
FUNCTIONAL = "RESULT: DRIVER_FUNCTIONAL="
ACTUAL_DRIVER = "RESULT: ACTUAL_DRIVER_VERSION="
ACTUAL_RUNTIME = "RESULT: ACTUAL_RUNTIME_VERSION="
COUNT = "RESULT: ACCELERATOR_COUNT="

# Upstream NVIDIA AcceleratorConfig: DRA attributes, then GFD labels, presence label, RuntimeClass.
DRA_DRIVER_ATTRS = ("driverVersion",)
DRA_RUNTIME_ATTRS = ("cudaDriverVersion",)
NODE_DRIVER_LABELS = ("nvidia.com/cuda.driver-version.full",)
NODE_RUNTIME_LABELS = ("nvidia.com/cuda.runtime-version.full",)
NODE_PRESENCE_LABELS = ("nvidia.com/gpu.present",)
RUNTIME_CLASSES = ("nvidia",)

# Upstream nvidiaDriverProbeScript (after the shared device-count probe): nvidia-smi present and a GPU
# granted -> runtime configuration OK; a numeric NVML driver version -> driver functional.
DRIVER_SCRIPT = r"""if [ -d /usr/local/nvidia/lib64 ]; then
  export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
SMI_BIN=""
for candidate in "$(command -v nvidia-smi 2>/dev/null)" /usr/bin/nvidia-smi /usr/local/nvidia/bin/nvidia-smi; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then SMI_BIN="$candidate"; break; fi
done
TIMEOUT_CMD=""
if command -v timeout >/dev/null 2>&1; then TIMEOUT_CMD="timeout 30"; fi
RUNTIME_OK="false"; DRIVER_OK="false"; ACTUAL_DRIVER=""; ACTUAL_RUNTIME=""
if [ -n "$SMI_BIN" ] && [ "$count" -gt 0 ]; then
  RUNTIME_OK="true"
  QUERY_OUT="$($TIMEOUT_CMD "$SMI_BIN" --query-gpu=driver_version --format=csv,noheader,nounits 2>/dev/null)"
  QUERY_RC=$?
  QUERY_VER="$(printf '%s\n' "$QUERY_OUT" | head -n 1 | tr -d '[:space:]')"
  if [ "$QUERY_RC" -eq 0 ] && [ -n "$QUERY_VER" ] && [ -z "$(printf '%s' "$QUERY_VER" | tr -d '0-9.')" ]; then
    DRIVER_OK="true"; ACTUAL_DRIVER="$QUERY_VER"
  fi
  SMI_HEADER="$($TIMEOUT_CMD "$SMI_BIN" 2>/dev/null)" || SMI_HEADER=""
  ACTUAL_RUNTIME="$(printf '%s\n' "$SMI_HEADER" | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/\1/p' | head -n 1 | tr -d '[:space:]')"
fi
if [ -z "$ACTUAL_DRIVER" ] && [ -r /proc/driver/nvidia/version ]; then
  ACTUAL_DRIVER="$(grep -o '[0-9][0-9]*\.[0-9][0-9.]*' /proc/driver/nvidia/version | head -n 1)"
fi
echo "RESULT: RUNTIME_CONFIG_OK=$RUNTIME_OK"
echo "RESULT: DRIVER_FUNCTIONAL=$DRIVER_OK"
echo "RESULT: ACTUAL_DRIVER_VERSION=$ACTUAL_DRIVER"
echo "RESULT: ACTUAL_RUNTIME_VERSION=$ACTUAL_RUNTIME"
"""


def parse(text: str) -> dict[str, Any]:
    """Upstream parseDriverRuntimeProbeLogs: values plus whether every RESULT line was seen."""
    out: dict[str, Any] = {"count": None, "runtime_config_ok": None, "driver_functional": None,
                           "actual_driver": None, "actual_runtime": None}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith(COUNT) and line[len(COUNT):].strip().isdigit():
            out["count"] = int(line[len(COUNT):].strip())
        elif line.startswith(CONFIG_OK):
            out["runtime_config_ok"] = line[len(CONFIG_OK):].strip() == "true"
        elif line.startswith(FUNCTIONAL):
            out["driver_functional"] = line[len(FUNCTIONAL):].strip() == "true"
        elif line.startswith(ACTUAL_DRIVER):
            out["actual_driver"] = line[len(ACTUAL_DRIVER):].strip()
        elif line.startswith(ACTUAL_RUNTIME):
            out["actual_runtime"] = line[len(ACTUAL_RUNTIME):].strip()
    out["complete"] = all(out[k] is not None for k in ("count", "runtime_config_ok", "driver_functional",
                                                       "actual_driver", "actual_runtime"))
    return out


def _parts(v: str) -> list[int] | None:
    v = re.split(r"[-+]", (v or "").strip().removeprefix("v"), maxsplit=1)[0]
    if not v:
        return None
    try:
        parts = [int(p) for p in v.split(".")]
    except ValueError:
        return None
    return parts if all(p >= 0 for p in parts) else None


def versions_compatible(a: str, b: str) -> bool:
    """Upstream versionsCompatible: equal at the shared precision ("580.65.06" == "580.65.6", "13.0" == "13")."""
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return bool(a.strip()) and a.strip().lower() == b.strip().lower()
    return all(x == y for x, y in zip(pa, pb, strict=False))


def platform_info(node: dict[str, Any], node_devices: list[dict[str, Any]], runtime_class: str,
                  mode: str) -> dict[str, Any]:
    """Upstream inspectPlatformDriverRuntimeMechanism on summarised facts. ``node`` is a node summary with
    ``all_labels``/``labels``; ``node_devices`` the node's allocatable DRA devices (attributes flattened)."""
    info: dict[str, Any] = {"node": node.get("name"), "container_runtime": (node.get("container_runtime_version") or "").strip(),
                            "runtime_class": runtime_class, "mechanism": "", "driver_version": "", "driver_key": "",
                            "runtime_version": "", "runtime_key": "", "presence_key": "", "warnings": [], "error": ""}
    if "://" not in info["container_runtime"]:
        info["error"] = (f"node {node.get('name')} does not report a valid container runtime in "
                         f"status.nodeInfo.containerRuntimeVersion (got {info['container_runtime']!r})")
        return info
    if mode == "dra" and not node_devices:
        info["error"] = f"no usable DRA ResourceSlice devices found on node {node.get('name')}"
        return info
    if node_devices:
        for kind, keys in (("driver", DRA_DRIVER_ATTRS), ("runtime", DRA_RUNTIME_ATTRS)):
            for d in node_devices:
                for k in keys:
                    val = str((d.get("attributes") or {}).get(k) or "").strip()
                    if not val:
                        continue
                    if not info[f"{kind}_version"]:
                        info[f"{kind}_version"], info[f"{kind}_key"] = val, k
                    elif not versions_compatible(info[f"{kind}_version"], val):
                        info["error"] = (f"node {node.get('name')}: inconsistent DRA {kind} versions: device "
                                         f"{d.get('name')} reports {val!r}, an earlier device reported "
                                         f"{info[f'{kind}_version']!r}")
                        return info
                    break
        if info["driver_version"]:
            info["mechanism"] = "dra"
            if not info["runtime_version"]:
                info["warnings"].append("DRA devices expose no runtime version attribute; the runtime version "
                                        "cross-check is skipped")
            return info
        info["warnings"].append("DRA devices expose no driver version attribute; falling back to node metadata")
        info["runtime_version"] = info["runtime_key"] = ""
    labels = node.get("all_labels") or node.get("labels") or {}
    info["mechanism"] = "node-metadata"
    for kind, keys in (("driver", NODE_DRIVER_LABELS), ("runtime", NODE_RUNTIME_LABELS), ("presence", NODE_PRESENCE_LABELS)):
        for k in keys:
            if str(labels.get(k, "")).strip():
                if kind == "presence":
                    info["presence_key"] = k
                else:
                    info[f"{kind}_version"], info[f"{kind}_key"] = str(labels[k]).strip(), k
                break
    if not info["driver_version"]:
        info["warnings"].append(f"node {node.get('name')} advertises no accelerator driver version (checked "
                                f"{', '.join(NODE_DRIVER_LABELS)}); only the in-container probe verifies the stack")
    return info
