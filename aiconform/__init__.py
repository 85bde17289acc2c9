"""aiconform: install, verify and report CNCF Kubernetes AI Conformance on a GPU cluster.

Layout of this package (shared by the Ansible plugins under ``plugins/`` and the ``aiconform`` CLI):

- ``aiconform.catalog``    requirement sets per Kubernetes version (ids, levels, descriptions, KARs)
- ``aiconform.results``    the results model every verifier returns
- ``aiconform.verifiers``  one sub-package per requirement: ``fetch`` (talks to the cluster),
                           ``judge`` (pure function: facts -> verdict), probe ``manifests/``
- ``aiconform.report``     renderers (PRODUCT.yaml, Markdown, HTML, junit.xml, e2e.log) and the validator
- ``aiconform.sim``        a Kubernetes API *simulator* for tests and the embedded demo lab
- ``aiconform.bootstrap``  stdlib-only setup of .venv, kubernetes.core, helm and kubectl
"""
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository (and collection) root when running from a checkout or an editable install.
PROJECT_ROOT = PACKAGE_DIR.parent
