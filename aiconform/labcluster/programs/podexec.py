"""``kubectl exec`` into a lab pod: the command kwok runs, moved into the pod's namespaces.

kwok serves ``exec`` for a pod from an ``Exec`` object (kwok ``--enable-crds=Exec``): it runs the command on its own
host with that object's working directory and environment. The lab gives each pod it runs an ``Exec`` object whose
environment names the pod's directory (``AICONFORM_POD_DIR``; in a multi-container pod, one target per container
naming the container's directory, so ``kubectl exec -c NAME`` enters that container), and starts kwok with ``PATH`` set to a directory of
shims (``shim_dir``): one link per program name found on the host's ``PATH``, all to this program. So ``kubectl
exec POD -- sh -c ...`` makes kwok start the shim ``sh``, which enters the pod's network, UTS and mount namespaces
and its root (``nsenter --target <pid of the pod's program> --net --uts --mount --root --wd``) and runs ``sh``
there, in the container's working directory, with the container's environment (read from the pod's own launch file, never
from the ``Exec`` object: Secret-sourced values stay out of the API).

A command given by absolute path (``kubectl exec POD -- /bin/sh``) is not looked up on ``PATH``, so kwok runs it on
the lab's host (its network namespace and files), not in the pod: give commands by name. This is the one place where
exec differs from a kubelet's; ``aiconform lab`` says so in its help and README. A command's exit code reaches
kubectl only as success or failure: kwok v0.8.0 reports a non-zero exit as an internal error naming the status
(``exit status 3``), where a kubelet makes kubectl exit with that code.

A pod whose program is not running (restarting, finished) refuses exec
with exit code 126 and the reason, as a kubelet refuses exec into a container that is not running.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

POD_DIR_ENV = "AICONFORM_POD_DIR"


def shim_dir(state: Path, search_path: str | None = None) -> Path:
    """A directory holding one link per program name on ``search_path`` (the host's ``PATH``), each to a script
    that runs this module: the ``PATH`` kwok is started with."""
    d = state / "exec-path"
    d.mkdir(parents=True, exist_ok=True)
    script = state / "podexec"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom aiconform.labcluster.programs.podexec import main\n"
                      "sys.exit(main(sys.argv))\n", encoding="utf-8")
    script.chmod(0o755)
    seen: set[str] = set()
    for entry in (search_path if search_path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep):
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for name in names:
            if name in seen or "/" in name:
                continue
            full = os.path.join(entry, name)
            if os.path.isfile(full) and os.access(full, os.X_OK):
                seen.add(name)
                link = d / name
                if not link.is_symlink():
                    link.symlink_to(script)
    return d


def _fail(msg: str, code: int = 126) -> int:
    print(f"aiconform lab exec: {msg}", file=sys.stderr, flush=True)
    return code


def main(argv: list[str]) -> int:
    name = os.path.basename(argv[0])
    pod_dir = os.environ.get(POD_DIR_ENV)
    if not pod_dir:
        return _fail(f"{name}: no {POD_DIR_ENV} (kwok ran the shim outside a lab pod's Exec)")
    pdir = Path(pod_dir)
    try:
        pid = int((pdir / "pid").read_text(encoding="utf-8").strip())
        spec = json.loads((pdir / "launch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _fail("the pod's container is not running")
    if not os.path.exists(f"/proc/{pid}/ns/net"):
        return _fail("the pod's container is not running")
    if spec.get("ready") and not os.path.exists(spec["ready"]):  # its filesystem is still being made
        return _fail("the pod's container is starting")
    nsenter = shutil.which("nsenter", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if nsenter is None:
        return _fail("nsenter (util-linux) is not installed on the lab's host")
    env = dict(spec.get("env") or {})
    # --root and --wd without a value: the target's own root and working directory (the container's workingDir,
    # launch.py chdirs there); a path given to --wd would be opened in the host's filesystem, outside the pod
    cmd = [nsenter, f"--target={pid}", "--net", "--uts", "--mount", "--root", "--wd", "--", name, *argv[1:]]
    os.execve(nsenter, cmd, env)
    return 127  # not reached
