# The aiconform.conformance.versions lookup: role defaults derive their pins from aiconform/data/versions.yml.
from __future__ import annotations

DOCUMENTATION = r"""
name: versions
author: aiconform developers (!UNKNOWN)
short_description: Look up pinned chart, CRD bundle and image versions
description:
  - Returns values from C(aiconform/data/versions.yml), the single file pinning every chart, CRD bundle
    and image the install roles deploy.
  - Each term is a dotted path, for example C(kueue.chart.version) or C(gpu_operator.images.operator).
  - With I(kubernetes_version), the term is looked up in the per-minor choices
    (C(kubernetes.by_version.<minor>)), falling back to C(kubernetes.default_version) when the version
    is absent or unknown.
options:
  _terms:
    description: Dotted paths into the versions file.
    required: true
  kubernetes_version:
    description: Cluster version (v1.35, 1.35.2); selects the per-minor table.
    type: str
  default:
    description: Returned when the path does not exist (otherwise the lookup fails).
    type: raw
"""

EXAMPLES = r"""
- name: Chart version of Kueue
  ansible.builtin.debug:
    msg: "{{ lookup('aiconform.conformance.versions', 'kueue.chart.version') }}"
- name: DRA API version for this cluster
  ansible.builtin.debug:
    msg: "{{ lookup('aiconform.conformance.versions', 'dra_api_version', kubernetes_version='v1.33') }}"
"""

RETURN = r"""
_raw:
  description: One value per term (strings, numbers or mappings).
  type: list
  elements: raw
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

_MISSING = object()


def _versions_module() -> Any:
    from ansible_collections.aiconform.conformance.plugins.module_utils import versions
    return versions


class LookupModule(LookupBase):
    def run(self, terms: list[str], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        versions = _versions_module()
        kube_version = self.get_option("kubernetes_version")
        default = kwargs.get("default", _MISSING)
        out: list[Any] = []
        for term in terms:
            # Minor keys contain dots (v1.35), so the per-minor table is selected first, then walked.
            data = versions.for_kubernetes(kube_version) if "kubernetes_version" in kwargs else None
            try:
                out.append(versions.get(str(term), data))
            except versions.VersionsError as exc:
                if default is _MISSING:
                    raise AnsibleLookupError(str(exc)) from exc
                out.append(default)
        return out
