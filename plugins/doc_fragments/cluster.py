"""Connection options shared by every aiconform module that talks to a cluster."""


class ModuleDocFragment:
    # Options, aliases and environment variables as kubernetes.core's (its k8s_auth_options fragment), so a play
    # whose connection comes from K8S_AUTH_* talks to one cluster through both collections' modules. The
    # argument spec is CONNECTION_ARGSPEC in plugins/module_utils/kube.py.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig. Without it, C(KUBECONFIG) or C(~/.kube/config) (unless I(host) is set).
      - Can also be specified via the C(K8S_AUTH_KUBECONFIG) environment variable.
      - Set once for a play with C(module_defaults) and the C(group/aiconform.conformance.cluster) group.
    type: path
  context:
    description:
      - Context of the kubeconfig to use.
      - Can also be specified via the C(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - API server URL, used with I(api_key) instead of a kubeconfig.
      - Can also be specified via the C(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token (for example a ServiceAccount token). Never logged or reported.
      - Can also be specified via the C(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Verify the API server's TLS certificate. Turning it off is recorded in the report.
      - Can also be specified via the C(K8S_AUTH_VALIDATE_CERTS) or C(K8S_AUTH_VERIFY_SSL) environment variable
        (as in kubernetes.core, any value but C(0), C(false) or C(no) is true).
    type: bool
    default: true
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA bundle to verify the API server with.
      - Can also be specified via the C(K8S_AUTH_CA_CERT) or C(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate to authenticate with.
      - Can also be specified via the C(K8S_AUTH_CLIENT_CERT) or C(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key of I(client_cert).
      - Can also be specified via the C(K8S_AUTH_CLIENT_KEY) or C(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  request_timeout:
    description: Seconds allowed for one API request.
    type: int
    default: 30
"""

    # The run's identity and its probe namespaces' clean-up: every verifier module and verify.
    RUN = r"""
options:
  run_id:
    description:
      - Identifier of this run; probe namespaces are named C(aiconform-<requirement>-<run_id>) and labelled
        C(aiconform.io/run-id=<run_id>) so an always-section can remove them.
    type: str
    required: true
  cleanup_timeout:
    description: Seconds to wait for probe namespaces to disappear after the probe (in C(verify), a requirement's own
      C(cleanup_timeout) wins).
    type: int
    default: 120
"""

    VERIFIER = r"""
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

    # Listed before ansible.builtin.action_common_attributes (which describes the others; modules set their support):
    # idempotent, which it does not describe, and the platform every aiconform module supports.
    ATTRIBUTES = r"""
attributes:
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
  platform:
    support: full
    platforms: all
"""
