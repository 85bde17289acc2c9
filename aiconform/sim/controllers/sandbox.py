"""Sandboxed container runtimes: what an isolation probe observes inside a pod, by its RuntimeClass handler.

Real semantics emulated (and nothing more):
- gVisor (handler ``runsc``, and ``gvisor``): the Sentry is the kernel the workload sees. ``uname -r`` is
  ``4.4.0`` and ``/proc/version`` is ``Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016`` whatever the
  host runs; ``/proc/sys/kernel/random/boot_id`` is a random id per sandbox; there is no ``/dev/mem``; only the
  sandbox's own processes and its ``lo``/``eth0`` are visible.
- Kata Containers (handlers ``kata*``): a guest VM, so its own guest kernel and boot id.
- Any other handler (runc, nvidia, none): a plain container sharing the node's kernel: the node's
  ``status.nodeInfo.kernelVersion`` and ``bootID``; an unprivileged runc container has no ``/dev/mem`` either,
  its own PID and network namespaces and no host paths, which is why upstream compares kernel identities.
A pod's handler comes from its ``runtimeClassName``'s RuntimeClass. The log producer answers containers running
the workload_sandboxing probe (their script prints ``SANDBOX_PROBE: COMPLETED``).
"""
from __future__ import annotations

import uuid
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.logs import register_producer

Obj = dict[str, Any]
MARKER = "SANDBOX_PROBE: COMPLETED"
GVISOR_RELEASE = "4.4.0"
GVISOR_VERSION = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016"
KATA_RELEASE = "6.1.62"
KATA_VERSION = "Linux version 6.1.62 (kata@kata-containers) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #1 SMP"

# pod uid -> (handler, node kernel release, node boot id); rebuilt by sync(), read by the log producer.
SEEN: dict[str, tuple[str, str, str]] = {}


def sync(c: Cluster, mgr: Any) -> None:
    handlers = {rc["metadata"]["name"]: str(rc.get("handler") or "") for rc in c.objects("node.k8s.io", "runtimeclasses")}
    live: set[str] = set()
    for pod in c.objects("", "pods"):
        spec = pod.get("spec") or {}
        if (pod.get("status") or {}).get("phase") != "Running" or not spec.get("nodeName"):
            continue
        uid = pod["metadata"].get("uid", "")
        live.add(uid)
        info = ((c.find("", "nodes", "", spec["nodeName"]) or {}).get("status") or {}).get("nodeInfo") or {}
        SEEN[uid] = (handlers.get(spec.get("runtimeClassName") or "", ""), str(info.get("kernelVersion") or ""),
                     str(info.get("bootID") or ""))
    for uid in [u for u in SEEN if u not in live]:
        del SEEN[uid]


def _identity(handler: str, release: str, boot_id: str, uid: str) -> tuple[str, str, str, int]:
    """(kernel release, /proc/version, boot id, visible PIDs) as the workload sees them."""
    h = handler.lower()
    own_boot = str(uuid.uuid5(uuid.NAMESPACE_OID, f"sandbox/{uid}"))  # a new kernel boots per sandbox
    if "runsc" in h or "gvisor" in h:
        return GVISOR_RELEASE, GVISOR_VERSION, own_boot, 2
    if "kata" in h:
        return KATA_RELEASE, KATA_VERSION, own_boot, 3
    version = (f"Linux version {release} (buildd@lcy02-amd64-032) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) "
               "12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #149-Ubuntu SMP Fri Apr 11 22:11:41 UTC 2025")
    return release, version, boot_id, 3


@register_producer
def probe_log(pod: Obj, container: str) -> str | None:
    spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
    script = " ".join(str(x) for x in (spec.get("command") or []) + (spec.get("args") or []))
    uid = pod["metadata"].get("uid", "")
    if MARKER not in script or uid not in SEEN:
        return None
    handler, release, boot_id = SEEN[uid]
    rel, ver, boot, pids = _identity(handler, release, boot_id, uid)
    return "\n".join([
        "SANDBOX_PROBE: SCHEDULING=PASS", f"SANDBOX_INFO: KERNEL_RELEASE={rel}", f"SANDBOX_INFO: KERNEL_VERSION={ver}",
        f"SANDBOX_INFO: BOOT_ID={boot}", f"SANDBOX_INFO: PID_COUNT={pids}", "SANDBOX_PROBE: PID_ISOLATION=PASS",
        "SANDBOX_PROBE: KERNEL_ISOLATION=PASS", "SANDBOX_PROBE: FS_ISOLATION=PASS", "SANDBOX_INFO: INTERFACES=lo eth0 ",
        "SANDBOX_PROBE: NET_ISOLATION=PASS", MARKER]) + "\n"
