"""``aiconform artifacts``: every chart, CRD bundle and image the install roles deploy, for mirroring.

Reads the same versions file the role defaults derive from, so the list cannot drift from what
`playbooks/install.yml` installs (kubespray's contrib/offline generate_list, without the shell).
"""
from __future__ import annotations

import argparse
import json
import sys

from aiconform import versions


def _render_text(items: list[versions.Artifact]) -> str:
    lines: list[str] = []
    for kind, title in (("image", "# images"), ("chart", "# charts"), ("crds", "# CRD bundles")):
        rows = [a for a in items if a.kind == kind]
        if not rows:
            continue
        lines.append(title)
        for a in rows:
            extra = ""
            if kind == "chart":
                extra = f" --version {a.version}"
            if kind != "image" or a.sha256:
                extra += f"  # sha256: {a.sha256 or 'unverified (mirror fills it)'}"
            if kind == "image" and a.version is None:
                extra += "  # tag from the chart's appVersion: render the chart to resolve"
            lines.append(f"{a.ref}{extra}  [{a.component}]")
    return "\n".join(lines) + "\n"


def _cmd(args: argparse.Namespace) -> int:
    items = list(versions.artifacts(registry_mirror=args.registry_mirror,
                                    kubernetes_version=args.kubernetes_version))
    if args.format == "json":
        json.dump([a.as_dict() for a in items], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_render_text(items))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("artifacts", help="list every image, chart and CRD bundle the install phase deploys")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--registry-mirror", metavar="REGISTRY",
                   help="rewrite image references to this registry (same repository paths), as the install "
                        "roles do with aiconform_image_registry")
    p.add_argument("--kubernetes-version", metavar="V",
                   help="only the per-minor images for this cluster version (default: every supported minor)")
    p.set_defaults(func=_cmd)
