"""The lab's stand-ins for container images: small programs the pod runner (``labcluster/pods.py``) starts for
pods whose image the lab knows, each in the pod's own network namespace with the pod's IP.

They are the project's own code, written to answer as the images the verifiers use do (agnhost ``netexec`` and
``webhook``, pause, and commands of busybox/python/curl images run with the host's programs). Each runs in a
filesystem of its own (``launch.setup_root``: the host's directories under a writable layer, volumes at their
mountPaths). Where that cannot be made, paths the pod spec names are looked up under the pod's directory
(``pod_path``, ``$AICONFORM_POD_ROOT``).
"""
from __future__ import annotations

import os

POD_ROOT_ENV = "AICONFORM_POD_ROOT"


def pod_path(path: str) -> str:
    """``path`` as the pod sees it: under the pod's root directory when it exists there, else as given."""
    root = os.environ.get(POD_ROOT_ENV)
    if root and os.path.isabs(path):
        inside = os.path.join(root, path.lstrip("/"))
        if os.path.exists(inside):
            return inside
    return path
