"""The verify phase's concurrency limit: at most N probes of one cluster's run at a time.

Why not in Ansible: every requirement's probe is its own ``async``/``poll: 0`` task in a family file, and
``throttle`` limits hosts per task, not async jobs. Batching the starts would need a "wait for a free slot"
task before each start (polling ``async_status`` of all earlier jobs), i.e. a change to every family file
and many extra task executions. Instead the playbook passes ``aiconform_verify_concurrency`` to the
verifier processes (play ``environment`` in playbooks/verify.yml), and each verifier takes one of N
``flock`` slots before it probes. All starts stay immediate; a process that dies releases its slot.
Time spent waiting for a slot is not part of the requirement's measured duration.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ENV_LIMIT = "AICONFORM_VERIFY_CONCURRENCY"
ENV_KEY = "AICONFORM_VERIFY_SLOTS"  # one semaphore per (run id, cluster)


def slot_dir(key: str, base: str | None = None) -> Path:
    root = Path(base or tempfile.gettempdir()) / f"aiconform-slots-{os.getuid()}"
    path = root / hashlib.sha256(key.encode()).hexdigest()[:20]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextlib.contextmanager
def slot(key: str, limit: int, *, base: str | None = None, poll: float = 0.2) -> Iterator[int]:
    """Hold one of ``limit`` slots named by ``key`` for the duration of the block."""
    directory = slot_dir(key, base)
    while True:
        for index in range(limit):
            fd = os.open(directory / f"{index}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield index
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        time.sleep(poll)


@contextlib.contextmanager
def verify_slot(environ: dict[str, str] | None = None) -> Iterator[int | None]:
    """The slot for this verifier process, configured by the playbook's environment; a no-op without it."""
    env = os.environ if environ is None else environ
    try:
        limit = int(env.get(ENV_LIMIT) or 0)
    except ValueError:
        limit = 0
    key = env.get(ENV_KEY)
    if limit < 1 or not key:
        yield None
        return
    with slot(key, limit) as index:
        yield index
