"""results.json fixtures built by the tests themselves (nothing copied from ../shared)."""
from __future__ import annotations

from typing import Any

from aiconform.results import Check, Evidence, Outcome, RequirementResult, Status

from aiconform import catalog

PLATFORM: dict[str, str] = {
    "platformName": "Example AI Platform",
    "platformVersion": "2.4.0",
    "vendorName": "Example Corp",
    "websiteUrl": "https://example.com/platform",
    "repoUrl": "https://github.com/example/platform",
    "documentationUrl": "https://docs.example.com/platform",
    "productLogoUrl": "https://example.com/logo.svg",
    "description": "An example platform for <AI> workloads & friends.",
    "contactEmailAddress": "conformance@example.com",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.35/example",
}


def result(req_id: str, status: Status = Status.IMPLEMENTED, *, checks: list[Check] | None = None,
           notes: str = "", reasons: list[str] | None = None, evidence: list[Evidence] | None = None) -> dict[str, Any]:
    return RequirementResult(
        id=req_id, status=status,
        reasons=reasons if reasons is not None else [f"{req_id} verified"],
        checks=checks if checks is not None else [Check("component installed", Outcome.PASS, "found", 0.5),
                                                  Check("probe workload ran", Outcome.PASS, "", 1.25)],
        evidence=evidence if evidence is not None else [
            Evidence(f"kubectl get pods for {req_id}", kind="command", command="kubectl get pods -A",
                     content="NAME READY\nprobe-0 1/1\n"),
            Evidence("probe object", kind="object", content="apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\n"),
        ],
        notes=notes, started_at=1000.0, finished_at=1002.5,
    ).to_dict()


def model(version: str, overrides: dict[str, dict[str, Any]] | None = None, *, cluster: str = "lab-a",
          platform: dict[str, Any] | None = None, simulated: bool = False, omit: tuple[str, ...] = (),
          run_id: str = "20261127T041500Z") -> dict[str, Any]:
    """A run model whose every requirement of ``version`` is Implemented unless overridden/omitted."""
    overrides = overrides or {}
    reqs = []
    for req in catalog.requirement_set(version):
        if req.id in omit:
            continue
        reqs.append(overrides.get(req.id) or result(req.id))
    plat = dict(PLATFORM if platform is None else platform)
    if platform is None:
        plat["k8sConformanceUrl"] = f"https://github.com/cncf/k8s-conformance/tree/master/{catalog.normalize_version(version)}/example"
    return {
        "schema": 1,
        "cluster": {"name": cluster, "server_version": f"{version}.3", "kubernetes_version": version,
                    "simulated": simulated, "api_server": "https://10.1.2.3:6443", "tls_verify": True,
                    "nodes": {"total": 3, "ready": 3, "accelerator_nodes": 2, "accelerators": 16}},
        "platform": plat,
        "run": {"id": run_id, "started_at": "2026-11-27T04:15:00+00:00", "finished_at": "2026-11-27T04:21:00+00:00",
                "aiconform_version": "0.1.0", "phases": ["verify", "report"],
                "selected": [r["id"] for r in reqs]},
        "requirements": reqs,
    }
