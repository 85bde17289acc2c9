"""Start one container of a lab pod: ``python -m aiconform.labcluster.programs.launch SPEC.json``.

The pod runner starts this in a new network (and UTS) namespace and holds it on stdin until the namespace has its
``eth0`` and pod IP; one byte on stdin releases it. (A container of a multi-container pod starts in the network and
UTS namespaces of the pod's sandbox, itself this program running ``pause``, with a mount namespace of its own.)
Once the container's filesystem is made it creates the spec's ``ready`` file: ``kubectl exec`` waits for it. It then sets the hostname to the pod's name and becomes the
program named in the spec (its exit code is the container's): a stand-in (agnhost, the GPU load programs and
the DCGM exporter of ``gpu.py``), the container's command with the host's programs, or (``controller``) an upstream controller's binary built by ``aiconform lab build`` with the
container's args.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys


def _exec_command(argv: list[str], env: dict[str, str]) -> int:
    """busybox/python/curl images: run the container's command with the host's programs."""
    if not argv:
        print("launch: the container has neither command nor args", file=sys.stderr)
        return 126
    prog = argv[0]
    base = os.path.basename(prog)
    if base in ("python", "python3") or base.startswith("python3."):
        # the lab's python; argv[0] must be its path, as python finds its library from argv[0]
        os.execve(sys.executable, [sys.executable, *argv[1:]], env)
    elif "/" in prog and not os.path.exists(prog):
        prog = base
    path = prog if "/" in prog else shutil.which(prog, path=env.get("PATH") or os.defpath)
    if path is None:
        print(f"launch: {argv[0]}: executable file not found on the lab's host", file=sys.stderr)
        return 127
    os.execve(path, [argv[0], *argv[1:]], env)
    return 127  # not reached


def _mount(*args: str) -> None:
    res = subprocess.run(["mount", *args], capture_output=True, text=True, check=False, timeout=20)
    if res.returncode != 0:
        raise OSError(f"mount {' '.join(args)}: {res.stderr.strip()}")


def _host_real(path: str) -> str:
    """``path`` with the symlinks of its existing part resolved on the host (``/var/run/x`` -> ``/run/x``)."""
    head, rest = os.path.normpath(path), []
    while not os.path.exists(head):
        head, tail = os.path.split(head)
        rest.insert(0, tail)
    return os.path.join(os.path.realpath(head), *rest)


_DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")


def setup_dev(dst: str, devices: list[str]) -> None:
    """The container's /dev as a runtime makes it: a tmpfs with the standard nodes (bound from the host), pts, shm
    and the fd links — plus only the accelerator device nodes its DRA allocation gives it (``devices``, paths under
    /dev; empty files standing for the nodes the driver's CDI spec would inject: ``labcluster/devices.py``)."""
    _mount("-t", "tmpfs", "-o", "mode=0755,nosuid", "aiconform-dev", dst)
    for name in _DEV_NODES:
        if os.path.exists("/dev/" + name):
            open(os.path.join(dst, name), "w").close()  # noqa: SIM115 - a mount point
            _mount("--bind", "/dev/" + name, os.path.join(dst, name))
    for sub in ("pts", "shm"):
        os.mkdir(os.path.join(dst, sub))
    if os.path.isdir("/dev/pts"):
        _mount("--rbind", "/dev/pts", os.path.join(dst, "pts"))
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm", os.path.join(dst, "shm"))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
        os.symlink(target, os.path.join(dst, name))
    for rel in devices:
        path = os.path.normpath(os.path.join(dst, rel))
        if not path.startswith(dst + os.sep):
            raise OSError(f"device {rel!r} leaves /dev")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        os.close(fd)


def setup_root(root: str, mounts: list[dict[str, str]], etc: dict[str, str] | None = None,
               devices: list[str] | None = None) -> None:
    """The pod's filesystem, in its own mount namespace, as a container's: each of the host's top-level
    directories as an overlay whose writes land in a tmpfs (the container's writable layer; read-only bind where
    an overlay cannot be made), /proc and /sys bound, a /dev of its own (``setup_dev``: the standard nodes and
    the accelerator devices allocated to it), each volume bound at its ``mountPath``; then chroot.
    The host's filesystem is never written through it (except /dev and /proc, as a privileged container)."""
    targets = [(m["source"], _host_real(m["path"])) for m in mounts]
    os.makedirs(root, exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=0755", "aiconform-pod", root)
    for entry in sorted(os.listdir("/")):
        src, dst = "/" + entry, os.path.join(root, entry)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
            continue
        if not os.path.isdir(src):
            continue
        os.mkdir(dst)
        if entry == "dev":
            setup_dev(dst, devices or [])
            continue
        if entry in ("proc", "sys"):
            _mount("--rbind", src, dst)
            continue
        up, work = os.path.join(root, ".aic", "up", entry), os.path.join(root, ".aic", "work", entry)
        os.makedirs(up)
        os.makedirs(work)
        try:
            _mount("-t", "overlay", "-o", f"lowerdir={src},upperdir={up},workdir={work}", "overlay", dst)
        except OSError:
            _mount("--bind", src, dst)
            _mount("-o", "remount,bind,ro", dst)
    for source, target in targets:
        inside = os.path.join(root, target.lstrip("/"))
        if os.path.isdir(source):
            os.makedirs(inside, exist_ok=True)
        else:  # a subPath file (the Kueue chart's /controller_manager_config.yaml): bind a file onto a file
            os.makedirs(os.path.dirname(inside), exist_ok=True)
            if not os.path.exists(inside):
                open(inside, "a").close()  # noqa: SIM115 - creates the mount point
        _mount("--bind", source, inside)
    for name, content in (etc or {}).items():  # /etc/hosts, /etc/resolv.conf, as a kubelet writes them
        path = os.path.join(root, "etc", name)
        if os.path.lexists(path):
            os.unlink(path)  # a symlink would lead out of the pod's root: replace it (in the writable layer)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(content)
    os.chroot(root)
    os.chdir("/")


def _own_uts_namespace() -> bool:
    """Only a UTS namespace of our own may get the pod's hostname (never the host's)."""
    try:
        return os.readlink("/proc/self/ns/uts") != os.readlink(f"/proc/{os.getppid()}/ns/uts")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    # a controller's binary is opened at once, before the pod's mounts: a volume (e.g. an emptyDir at /tmp) may
    # cover the lab's cache directory where it lives; it is then executed from the descriptor (fexecve)
    binary = os.open(spec["argv"][0], os.O_RDONLY | os.O_CLOEXEC) if spec["program"] == "controller" else -1
    # the file that says the container's filesystem is made (``kubectl exec`` waits for it, podexec.py): its
    # directory is opened now, as after the chroot the host's paths are out of reach
    ready = spec.get("ready") or ""
    ready_dir = os.open(os.path.dirname(ready), os.O_RDONLY | os.O_DIRECTORY) if ready else -1
    if not sys.stdin.read(1):  # the runner closed the pipe without releasing us: the pod is gone
        return 137
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    if _own_uts_namespace():
        socket.sethostname(spec["hostname"])
    else:
        print("launch: no UTS namespace of its own: the hostname stays the host's", file=sys.stderr)
    if spec.get("rootfs"):
        try:
            setup_root(spec["rootfs"], spec.get("mounts") or [], spec.get("etc"), spec.get("devices"))
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"launch: no filesystem of its own ({exc}); volumes are only under $AICONFORM_POD_ROOT",
                  file=sys.stderr, flush=True)
    os.chdir(spec.get("workdir") or "/")
    if ready_dir >= 0:
        os.close(os.open(os.path.basename(ready), os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=ready_dir))
        os.close(ready_dir)
    env = spec["env"]
    os.environ.clear()
    os.environ.update(env)
    if spec["program"] == "exec":
        return _exec_command(spec["argv"], env)
    if spec["program"] == "controller":  # an upstream controller built by `aiconform lab build`, the pod's args
        os.execve(binary, spec["argv"], env)
    if spec["program"] == "agnhost":
        from aiconform.labcluster.programs import agnhost
        return agnhost.main(spec["argv"])
    if spec["program"] in ("dcgmproftester", "cuda-load", "dcgm-exporter"):  # GPU work and its exporter (gpu.py)
        from aiconform.labcluster.programs import gpu
        argv = spec["argv"]
        if spec["program"] == "dcgm-exporter":
            return gpu.dcgm_exporter(argv)
        if spec["program"] == "dcgmproftester" and argv and os.path.basename(argv[0]).startswith("dcgmproftester"):
            return gpu.dcgmproftester(argv[1:])
        if spec["program"] == "cuda-load" and gpu.is_cuda_load(argv):
            return gpu.cuda_load(argv)
        return _exec_command(argv, env)  # another command of the image: the host's programs
    if spec["program"] == "pause":
        from aiconform.labcluster.programs import agnhost
        return agnhost.main(["pause"])
    if spec["program"] in ("kgateway-controller", "kgateway-proxy"):  # the lab's emulation of kgateway
        from aiconform.labcluster.programs import gateway
        return gateway.main([spec["program"].removeprefix("kgateway-")])
    print(f"launch: unknown program {spec['program']!r}", file=sys.stderr)
    return 126


if __name__ == "__main__":
    sys.exit(main())
