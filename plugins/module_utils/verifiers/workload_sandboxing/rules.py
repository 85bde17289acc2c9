"""Pure parts of workload_sandboxing: RuntimeClass classification, the isolation probe and its output.

The probe prints the line protocol of upstream's sandbox probe (``SANDBOX_PROBE: <CHECK>=PASS|FAIL``,
``SANDBOX_INFO: <KEY>=<value>``, ``SANDBOX_PROBE: COMPLETED``) so logs read the same in both tools.
"""
from __future__ import annotations

from typing import Any

SANDBOX_KEYWORDS = ("gvisor", "runsc", "kata", "sandboxed", "quark", "krun")
# Handlers that are plain OCI runtimes sharing the host kernel: a RuntimeClass for them is no sandbox mechanism
# (the GPU Operator's "nvidia" RuntimeClass is on most GPU clusters).
PLAIN_HANDLERS = ("runc", "crun", "youki", "nvidia", "nvidia-cdi", "nvidia-legacy", "nvidia-experimental")
AGENT_GROUP = "agents.x-k8s.io"
COMPLETED = "SANDBOX_PROBE: COMPLETED"
CHECKS = {"SCHEDULING": "scheduling", "PID_ISOLATION": "pid", "KERNEL_ISOLATION": "kernel",
          "FS_ISOLATION": "fs", "NET_ISOLATION": "net"}
INFO = {"KERNEL_RELEASE": "release", "KERNEL_VERSION": "version", "BOOT_ID": "boot_id",
        "INTERFACES": "interfaces", "PID_COUNT": "pid_count"}
HOST_PATHS = ("/etc/kubernetes", "/var/lib/kubelet", "/var/log/pods")
HOST_DAEMONS = ("kubelet", "containerd", "containerd-shim*", "dockerd", "crio", "systemd-journal")
HOST_BRIDGES = ("docker0", "cbr0", "cni0", "flannel*", "br-*", "bond*", "dummy*")

# Busybox sh. Kernel identity first, then one verdict line per isolation area, then the completion marker.
SCRIPT = f"""say() {{ echo "SANDBOX_$1"; }}
say "PROBE: SCHEDULING=PASS"
say "INFO: KERNEL_RELEASE=$(uname -r 2>/dev/null || echo unknown)"
say "INFO: KERNEL_VERSION=$(cat /proc/version 2>/dev/null || echo unknown)"
say "INFO: BOOT_ID=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)"
# host daemons visible by executable name (comm, not cmdline: this script's own cmdline names them)
pids=0; seen_host=no
for d in /proc/[0-9]*; do
  [ -d "$d" ] || continue
  pids=$((pids + 1))
  name=""; read -r name < "$d/comm" 2>/dev/null || continue
  case "$name" in {'|'.join(HOST_DAEMONS)}) seen_host=yes ;; esac
done
say "INFO: PID_COUNT=$pids"
if [ "$seen_host" = no ]; then say "PROBE: PID_ISOLATION=PASS"; else say "PROBE: PID_ISOLATION=FAIL"; fi
# raw host memory must not be readable
mem=no
for dev in /dev/mem /dev/kmem; do head -c 1 "$dev" >/dev/null 2>&1 && mem=yes; done
if [ "$mem" = no ]; then say "PROBE: KERNEL_ISOLATION=PASS"; else say "PROBE: KERNEL_ISOLATION=FAIL"; fi
# node paths must not be mounted in
host_fs=no
for p in {' '.join(HOST_PATHS)}; do [ -d "$p" ] && host_fs=yes; done
if [ "$host_fs" = no ]; then say "PROBE: FS_ISOLATION=PASS"; else say "PROBE: FS_ISOLATION=FAIL"; fi
# the node's bridges must not be visible (/proc/net/dev first: gVisor's sysfs has no /sys/class/net)
if [ -r /proc/net/dev ]; then
  ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')
else
  ifaces=$(ls /sys/class/net 2>/dev/null | tr '\\n' ' ')
fi
bridge=no
for i in $ifaces; do case "$i" in {'|'.join(HOST_BRIDGES)}) bridge=yes ;; esac; done
say "INFO: INTERFACES=$ifaces"
if [ "$bridge" = no ]; then say "PROBE: NET_ISOLATION=PASS"; else say "PROBE: NET_ISOLATION=FAIL"; fi
echo "{COMPLETED}"
"""


def classify(rc: dict[str, Any]) -> str:
    """'sandbox' (a known sandbox keyword in name or handler, as upstream), 'plain' or 'unrecognised'."""
    name, handler = str(rc.get("name") or "").lower(), str(rc.get("handler") or "").lower()
    if any(k in name or k in handler for k in SANDBOX_KEYWORDS):
        return "sandbox"
    if handler in PLAIN_HANDLERS:
        return "plain"
    return "unrecognised"


def parse(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {v: False for v in CHECKS.values()}
    out.update({v: "" for v in INFO.values()}, completed=False)
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line == COMPLETED:
            out["completed"] = True
        elif line.startswith("SANDBOX_PROBE: ") and "=" in line:
            key, _sep, val = line[len("SANDBOX_PROBE: "):].partition("=")
            if key in CHECKS:
                out[CHECKS[key]] = val.strip() == "PASS"
        elif line.startswith("SANDBOX_INFO: ") and "=" in line:
            key, _sep, val = line[len("SANDBOX_INFO: "):].partition("=")
            if key in INFO:
                val = val.strip()
                out[INFO[key]] = "" if val == "unknown" else val  # unreadable = no information
    try:
        out["pid_count"] = int(out["pid_count"] or 0)
    except ValueError:
        out["pid_count"] = 0
    return out


def kernel_differs(sandboxed: dict[str, Any], control: dict[str, Any]) -> list[str]:
    """Fields of the kernel identity that differ; a field either side could not read is not compared."""
    return [f for f in ("release", "version", "boot_id")
            if sandboxed.get(f) and control.get(f) and sandboxed[f] != control[f]]
