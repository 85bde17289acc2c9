"""Fetch for dra_support: API discovery, DRA objects, and one functional claim."""
from __future__ import annotations

import dataclasses
from typing import Any

from .. import _accelerator as acc
from ..runtime import ProbeContext, ProbeTimeout

TEMPLATE = "accelerator-claim-template"
REQUEST = "single-accelerator"
POD = "dra-probe"


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts: dict[str, Any] = {"server": acc.server_version(ctx)}
    disc = acc.dra_discovery(ctx)
    facts["dra"] = disc
    ctx.record(f"Served {acc.DRA_GROUP} versions and resources", disc,
               command=f"kubectl api-versions | grep {acc.DRA_GROUP}; kubectl api-resources --api-group={acc.DRA_GROUP}")
    version = acc.client_version(disc)
    facts["dra_version"] = version
    if not version:
        return facts

    classes = [acc.device_class_summary(o) for o in acc.list_dra(ctx, version, "deviceclasses")]
    slices = [acc.slice_summary(o) for o in acc.list_dra(ctx, version, "resourceslices")]
    nodes = acc.list_nodes(ctx)
    # DRA is what is tested: the vendor is the one whose DRA driver publishes slices (device plugins aside).
    vendor = acc.detect_vendor(opts.get("accelerator_type") or "auto", slices, [])
    facts["accelerator_detection"] = vendor
    cfg = acc.accelerator_config(vendor["type"] or "", acc.GPU_VENDORS)
    device_class = opts.get("device_class") or (cfg.device_class if cfg else "")
    facts["device_class"] = device_class
    facts.update(device_classes=classes, resource_slices=slices,
                 nodes=[{k: v for k, v in n.items() if k != "all_labels"} for n in nodes])
    ctx.record("DeviceClasses", [c["name"] for c in classes], command="kubectl get deviceclasses")
    ctx.record("ResourceSlices", [{"name": s["name"], "driver": s["driver"], "node": s["node_name"],
                                   "pool": s["pool"], "devices": [d["name"] for d in s["devices"]]} for s in slices],
               command="kubectl get resourceslices -o yaml")
    if vendor["type"] is None:
        return facts
    if cfg is None:
        facts["unknown_accelerator"] = vendor["type"]
        return facts
    facts["accelerator_type"] = vendor["type"]
    # A DeviceClass selects devices by CEL; like upstream, aiconform maps the class to the vendor's driver
    # (gpu.nvidia.com publishes the gpu, mig and vfio classes' devices; gpu.amd.com / gpu.intel.com theirs)
    # instead of evaluating CEL.
    driver_cfg = dataclasses.replace(cfg, device_class=device_class)
    usable = acc.dra_usable(driver_cfg, classes, slices, nodes, device_class)
    facts["usable"] = usable
    if not usable["usable"]:
        return facts

    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    body = acc.claim_template(ns, TEMPLATE, REQUEST, device_class, version)
    ctx.call(f"create resourceclaimtemplate {ns}/{TEMPLATE}", ctx.custom.create_namespaced_custom_object,
             acc.DRA_GROUP, version, ns, "resourceclaimtemplates", body)
    ctx.record("ResourceClaimTemplate", body, command=f"kubectl create -n {ns} -f claim-template.yaml")
    image = opts.get("probe_image") or "ubuntu:22.04"
    pod = acc.probe_pod(ns, POD, [acc.probe_container("prober", image, driver_cfg)], driver_cfg, grant="dra",
                        claim_template=TEMPLATE)
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    ctx.record("Probe pod", pod, command=f"kubectl create -n {ns} -f {POD}.yaml")
    fn: dict[str, Any] = {"timeout": ""}
    facts["functional"] = fn
    try:
        running = acc.wait_running(ctx, ns, POD, float(opts.get("pod_running_timeout", 300)))
    except ProbeTimeout as exc:
        fn["timeout"] = str(exc)
        last = acc.pod_dict(ctx, ns, POD)
        if last:
            fn["claims"] = acc.claims_of_pod(ctx, ns, last, version)
            ctx.record("Probe pod status", last.get("status") or {}, command=f"kubectl get pod -n {ns} {POD} -o yaml")
        return facts
    fn["pod_uid"] = (running.get("metadata") or {}).get("uid")
    fn["node"] = (running.get("spec") or {}).get("nodeName")
    claims = acc.claims_of_pod(ctx, ns, running, version)
    for c in claims:
        for d in c["devices"]:
            found = acc.find_device(slices, d["driver"], d["pool"], d["device"])
            d["in_resource_slice"] = found is not None
            d["slice"] = (found or {}).get("slice")
            d["uuid"] = ((found or {}).get("attributes") or {}).get("uuid")
    fn["claims"] = claims
    ctx.record("Generated ResourceClaim (allocation and reservation)", claims,
               command=f"kubectl get resourceclaims -n {ns} -o yaml")
    fn["probe"] = acc.poll_probe_log(ctx, ns, POD, "prober", float(opts.get("log_timeout", 90)))
    ctx.record("Probe log", fn["probe"]["log"] or "(empty)", kind="log", command=f"kubectl logs -n {ns} {POD}")
    return facts
