"""A stand-in for get-pip.py, which ansible-test runs to put pip into the virtual environments of its sanity
tests and downloads from a host this project's CI cannot reach. It does what get-pip does with the arguments
ansible-test passes (pip install options and pins such as ``pip==24.2 setuptools==... --no-wheel``): pip from
the interpreter's own bundled wheel (``ensurepip``, no network), then ``pip install`` of the pinned packages
from the package index. tests/helpers/sanity.py places it where ansible-test looks for its cached copy.
"""
from __future__ import annotations

import ensurepip
import os
import subprocess
import sys


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    env = dict(os.environ)  # ensurepip turns pip's configuration off in this process (PIP_CONFIG_FILE=/dev/null)
    ensurepip.bootstrap(upgrade=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", *args], env=env)


if __name__ == "__main__":
    sys.exit(main())
