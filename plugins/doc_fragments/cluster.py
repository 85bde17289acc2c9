"""Connection options shared by every aiconform module that talks to a cluster."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig. Defaults to C(K8S_AUTH_KUBECONFIG), C(KUBECONFIG) or C(~/.kube/config).
      - Set once for a play with C(module_defaults) and the C(group/aiconform.conformance.cluster) group.
    type: path
  context:
    description: Context of the kubeconfig to use.
    type: str
  host:
    description: API server URL, used with I(api_key) instead of a kubeconfig.
    type: str
  api_key:
    description: Bearer token (for example a ServiceAccount token). Never logged or reported.
    type: str
  validate_certs:
    description:
      - Verify the API server's TLS certificate. Turning it off is recorded in the report.
    type: bool
    default: true
  ca_cert:
    description: CA bundle to verify the API server with.
    type: path
  request_timeout:
    description: Seconds allowed for one API request.
    type: int
    default: 30
"""

    VERIFIER = r"""
options:
  run_id:
    description:
      - Identifier of this run; probe namespaces are named C(aiconform-<requirement>-<run_id>) and labelled
        C(aiconform.io/run-id=<run_id>) so an always-section can remove them.
    type: str
    required: true
  cleanup_timeout:
    description: Seconds to wait for probe namespaces to disappear after the probe.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    details: In check mode no probe workload is created and the verdict is C(unknown).
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Probes run in a namespace of their own that is deleted afterwards; the cluster is left as found.
"""
