"""aiconform: install, verify and report CNCF Kubernetes AI Conformance on a GPU cluster.

The code Ansible runs lives in the collection's ``plugins/module_utils`` (self-contained: Ansible ships it to
modules, action plugins import it by FQCN). This package is the CLI, the simulator and the lab, and it imports
the same files under its own name: ``plugins/module_utils`` is part of this package's ``__path__``, so
``aiconform.verifiers`` *is* ``plugins/module_utils/verifiers`` (one source, no copy):

- ``aiconform.catalog``    requirement sets per Kubernetes version (ids, levels, descriptions, KARs)
- ``aiconform.results``    the results model every verifier returns
- ``aiconform.verifiers``  one sub-package per requirement: ``fetch`` (talks to the cluster),
                           ``judge`` (pure function: facts -> verdict), probe ``manifests/``
- ``aiconform.report``     renderers (PRODUCT.yaml, Markdown, HTML, junit.xml, e2e.log) and the validator
- ``aiconform.kube``, ``aiconform.preflight``, ``aiconform.redact``, ``aiconform.versions``, ``aiconform.engines``
(all in ``plugins/module_utils``), and here:
- ``aiconform.sim``        a Kubernetes API *simulator* for tests and the embedded demo lab
- ``aiconform.bootstrap``  stdlib-only setup of .venv, kubernetes.core, helm and kubectl
"""
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository (and collection) root when running from a checkout or an editable install.
PROJECT_ROOT = PACKAGE_DIR.parent
# A checkout (or editable install): the repository root is the collection. Otherwise aiconform was installed from
# its wheel, which installs the collection beside the package (site-packages/ansible_collections/aiconform/
# conformance, see setup.py), or the collection was installed on its own (ansible-galaxy).
IN_CHECKOUT = (PROJECT_ROOT / "plugins" / "module_utils").is_dir()


def _module_utils() -> Path:
    """The collection's module_utils: the checkout's, else an installed aiconform.conformance collection's
    (ANSIBLE_COLLECTIONS_PATH, ~/.ansible/collections, /usr/share/ansible/collections, sys.path)."""
    checkout = PROJECT_ROOT / "plugins" / "module_utils"
    if checkout.is_dir():
        return checkout
    roots = [*os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep),
             "~/.ansible/collections", "/usr/share/ansible/collections", *sys.path]
    for root in filter(None, roots):
        found = Path(root).expanduser() / "ansible_collections" / "aiconform" / "conformance" / "plugins" / "module_utils"
        if found.is_dir():
            return found
    return checkout  # absent: importing aiconform.kube & co. fails with ModuleNotFoundError naming it


# The runtime the Ansible plugins and this package share.
MODULE_UTILS = _module_utils()
# The aiconform.conformance collection's root (roles/, playbooks/, rbac/ ...): the checkout, else the installed one
# (absent when no collection was found: the commands that need it say so).
COLLECTION_ROOT = MODULE_UTILS.parent.parent
if MODULE_UTILS.is_dir() and str(MODULE_UTILS) not in __path__:
    __path__.append(str(MODULE_UTILS))

try:
    from aiconform.about import __version__  # noqa: E402  (found through the __path__ above)
except ImportError:  # no collection found: the CLI still starts and says what is missing
    from importlib.metadata import PackageNotFoundError, version
    try:
        __version__ = version("aiconform")
    except PackageNotFoundError:
        __version__ = "unknown"

__all__ = ["COLLECTION_ROOT", "IN_CHECKOUT", "MODULE_UTILS", "PACKAGE_DIR", "PROJECT_ROOT", "__version__"]
