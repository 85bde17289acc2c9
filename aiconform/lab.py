"""``aiconform conformance`` (``make conformance``): the whole pipeline, by default against a SIMULATED lab.

Without ``-i`` it starts ``aiconform sim --scenario conformant-autoscaling`` (``conformant`` plus the
cluster-autoscaler with the kwok provider and its GPU node group ``gpu-a``, so the MUST ``cluster_autoscaling``
runs its real flow) in a child process on a free port, writes a one-host inventory (``simulated-lab``) in a
private temp dir, runs conformance.yml through the same path as ``aiconform run`` and stops the simulator
afterwards (also on Ctrl-C/SIGTERM). Every install component is declared "provided by the platform", so the
install phase only checks presence. The host carries ``aiconform_simulated: true``, which preflight puts into
every artifact. With ``-i`` it is ``aiconform run``.

Platform metadata is deliberately left unset: PRODUCT.yaml shows the template's ``[placeholders]`` and
``aiconform validate`` rejects exactly those fields, so a simulated run can never pass for a submission.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from aiconform import COLLECTION_ROOT
from aiconform.runner.exitcodes import HELP, Exit
from aiconform.sim import process as sim_process
from aiconform.sim.process import stop

LAB_HOST = "simulated-lab"
LAB_SCENARIO = "conformant-autoscaling"
# Verifier settings for the lab (inventory variables, see inventory/sample/group_vars/all/verify_*.yml):
# the autoscaler's node pool and the kwok taint its nodes carry, and timeouts cut from upstream's minutes to
# seconds because the simulator's autoscaler adds a node within ~1 s and removes it ~2 s after it is idle.
LAB_VARS: dict[str, object] = {
    "aiconform_cluster_autoscaling_node_pool_label": "kwok-nodegroup=gpu-a",
    "aiconform_cluster_autoscaling_tolerations": [{"key": "kwok-provider", "operator": "Exists",
                                                    "effect": "NoSchedule"}],
    "aiconform_cluster_autoscaling_pending_timeout": 30,
    "aiconform_cluster_autoscaling_scale_up_timeout": 60,
    "aiconform_cluster_autoscaling_scale_down_timeout": 60,
    "aiconform_cluster_autoscaling_stability_window": 5,
    # No concurrency setting: the default is safe. Probes holding the lab's two GPUs (shared by the device
    # plugin and the DRA driver) never overlap; see verifiers/holdings.py.
    # pod_autoscaling's CPU-only control: the simulator's metrics follow the load switch at once
    "aiconform_pod_autoscaling_control_window": 5,
}
BANNER = ("*** SIMULATED CLUSTER: no inventory was given, so this run targets the aiconform simulator "
          "(scenario {scenario}), not a real Kubernetes cluster. Its results prove nothing about any platform "
          "and are not a CNCF submission. Pass -i inventory/<cluster> for a real run. ***")
_PROVIDED = re.compile(r"^(\w+)_provided_by_platform\s*:", re.MULTILINE)


@dataclass
class Lab:
    url: str
    kubeconfig: Path
    inventory: Path
    directory: Path
    proc: subprocess.Popen[str]


def provided_by_platform_vars(roles_dir: Path = COLLECTION_ROOT / "roles") -> dict[str, bool]:
    """``<role>_provided_by_platform: true`` for every install role that has the switch."""
    found: dict[str, bool] = {}
    for defaults in sorted(roles_dir.glob("*/defaults/main.yml")):
        for name in _PROVIDED.findall(defaults.read_text(encoding="utf-8")):
            found[f"{name}_provided_by_platform"] = True
    return found


def write_inventory(path: Path, kubeconfig: Path) -> None:
    host = {"ansible_connection": "local", "aiconform_kubeconfig": str(kubeconfig), "aiconform_simulated": True,
            **provided_by_platform_vars(), **LAB_VARS}
    path.write_text(yaml.safe_dump({"all": {"hosts": {LAB_HOST: host}}}, sort_keys=False), encoding="utf-8")
    os.chmod(path, 0o600)


def start_sim(directory: Path, scenario: str = LAB_SCENARIO, kubernetes_version: str | None = None,
              timeout: float = 30.0) -> tuple[subprocess.Popen[str], str]:
    """``aiconform sim`` in a child process writing ``directory/kubeconfig``; returns (process, URL)."""
    return sim_process.start(directory, scenario, kubernetes_version, timeout=timeout)


@contextmanager
def simulated_lab(scenario: str = LAB_SCENARIO, timeout: float = 30.0) -> Iterator[Lab]:
    """A simulator in a child process plus its kubeconfig and inventory in a private (0700) temp dir."""
    directory = Path(tempfile.mkdtemp(prefix="aiconform-lab-"))
    os.chmod(directory, 0o700)
    proc: subprocess.Popen[str] | None = None
    try:
        proc, url = start_sim(directory, scenario, timeout=timeout)
        inventory = directory / "inventory.yml"
        write_inventory(inventory, directory / "kubeconfig")
        yield Lab(url=url, kubeconfig=directory / "kubeconfig", inventory=inventory, directory=directory, proc=proc)
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(directory, ignore_errors=True)


# The lab of real components (`--engine lab`, aiconform/labcluster/): a real control plane, kwok GPU nodes, the
# NVIDIA DRA driver's DeviceClasses/ResourceSlices. With the reference stack built (`aiconform lab build`), the
# install phase installs the components whose real controller the lab runs (lab.stacks.reference: Kueue, KubeRay,
# metrics-server) from the tests' stand-in charts with controller-gen's CRDs and RBAC (labcluster/charts.py); every
# other role is off, and the verifiers say Not Implemented/Unknown for what is absent. Timeouts as the simulated lab's.
LAB_ENGINE_HOST = "lab"
LAB_ENGINE_BANNER = ("*** LAB CLUSTER: no inventory was given, so this run targets `aiconform lab` (a real Kubernetes "
                     "control plane built from source; kwok nodes, no real accelerators), not your platform. Its "
                     "results are not a CNCF submission. Pass -i inventory/<cluster> for a real run. ***")
_ENABLED = re.compile(r"^(\w+)_enabled\s*:", re.MULTILINE)


def component_switches(value: bool, roles_dir: Path = COLLECTION_ROOT / "roles") -> dict[str, bool]:
    """``<role>_enabled: value`` for every install role (its top-level switch, not sub-switches)."""
    found: dict[str, bool] = {}
    for defaults in sorted(roles_dir.glob("*/defaults/main.yml")):
        role = defaults.parent.parent.name
        if role in _ENABLED.findall(defaults.read_text(encoding="utf-8")):
            found[f"{role}_enabled"] = value
    return found


# LAB_VARS that fit only the simulator: its autoscaler's node pool, and a CPU-only control window cut to 5 s because
# its metrics follow the load at once (on the lab a real Prometheus, adapter and HPA take their scrape, relist and
# sync periods: the verifier's default window applies).
SIMULATOR_ONLY_VARS = ("aiconform_cluster_autoscaling_", "aiconform_pod_autoscaling_control_window")


def write_lab_engine_inventory(path: Path, kubeconfig: Path, extra: dict[str, object] | None = None) -> None:
    host = {"ansible_connection": "local", "aiconform_kubeconfig": str(kubeconfig), "aiconform_simulated": True,
            "aiconform_engine": "lab", **component_switches(False),
            **{k: v for k, v in LAB_VARS.items() if not k.startswith(SIMULATOR_ONLY_VARS)},
            **(extra or {})}
    path.write_text(yaml.safe_dump({"all": {"hosts": {LAB_ENGINE_HOST: host}}}, sort_keys=False), encoding="utf-8")
    os.chmod(path, 0o600)


# install role -> lab controller whose real binary backs it (the role is enabled only when the lab runs it)
LAB_ROLES = {"kueue": "kueue", "kuberay": "kuberay-operator", "metrics_server": "metrics-server",
             "kube_prometheus_stack": "prometheus", "prometheus_adapter": "prometheus-adapter"}
# The lab's Prometheus settings: a scrape every 5 s (the chart's default is 30 s) so probes see series quickly, and
# the adapter relisting series every 10 s (the chart's 1m).
LAB_SCRAPE_INTERVAL = "5s"
LAB_ADAPTER_RELIST = "10s"


def prometheus_proxy_url(namespace: str, service: str, port: int | None = None) -> str:
    """Prometheus through the API server's service proxy: how a pod of the lab reaches a Service (no DNS, no
    Service ClusterIPs) - the adapter's --prometheus-url with --prometheus-auth-incluster. Without ``port``, the
    part before it (the chart appends ``:<prometheus.port><prometheus.path>``)."""
    from aiconform.labcluster import topology

    base = f"https://{topology.HOST_IP}:{topology.APISERVER_PORT}/api/v1/namespaces/{namespace}/services/{service}"
    return base if port is None else f"{base}:{port}/proxy/"


def lab_prometheus_vars(controllers: list[str]) -> dict[str, object]:
    """Role variables for the lab's kube-prometheus-stack and prometheus-adapter stand-ins (lab-only values)."""
    from aiconform import versions

    out: dict[str, object] = {}
    if "prometheus" in controllers:
        py = versions.get("verifier_probes.images.python")
        out["kube_prometheus_stack_values"] = {
            "prometheus": {"prometheusSpec": {"scrapeInterval": LAB_SCRAPE_INTERVAL,
                                              "evaluationInterval": LAB_SCRAPE_INTERVAL}},
            "lab": {"operatorImage": f"{py['registry']}/{py['repository']}:{py['tag']}"}}
    if "prometheus-adapter" in controllers:
        ns = versions.get("kube_prometheus_stack.namespace")
        svc = f"{versions.get('kube_prometheus_stack.release')}-prometheus"
        # the role's URL (the chart appends :<port> and the chart's prometheus.path): the service proxy's
        out["prometheus_adapter_prometheus_url"] = prometheus_proxy_url(ns, svc)
        out["prometheus_adapter_values"] = {"prometheus": {"inCluster": True, "path": "/proxy/"},
                                            "metricsRelistInterval": LAB_ADAPTER_RELIST}
    return out
# CRD bundle the lab generates (lab.crd_bundles) -> install roles it enables: the real CRDs plus the lab's
# EMULATION of the implementation (kgateway's controller and Envoy data plane, labcluster/programs/gateway.py)
LAB_BUNDLE_ROLES = {"gateway-api": ("gateway_api", "kgateway")}


def lab_stack_vars(controllers: list[str], charts_dir: Path, bundles: list[str] | tuple[str, ...] = ()
                   ) -> dict[str, object]:
    """Inventory variables that install the components whose real controller runs on the lab, from stand-in charts
    with the generated CRDs/RBAC; the reference stack's own wait timeouts stay (real controllers take seconds).
    ``bundles`` (``gatewayapi.stack_bundles``): the generated CRD bundles and the emulations that go with them."""
    from aiconform.labcluster import charts

    out: dict[str, object] = dict(charts.assemble_all(charts_dir, controllers))
    out.update(lab_prometheus_vars(controllers))
    for role, controller in LAB_ROLES.items():
        if controller in controllers:
            out[f"{role}_enabled"] = True
    if "gateway-api" in bundles:
        out.update(charts.gateway_api_vars())
    return out


def lab_components(controllers: list[str], bundles: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What decides on the lab: real (name and version) or emulated (and why), for the console and the report."""
    from aiconform import versions
    from aiconform.labcluster import build as lab_build

    kube = versions.get("lab.kubernetes")[lab_build.resolve_minor(None)]["version"]
    out = [f"real: Kubernetes {kube} (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), "
           f"kwok {versions.get('lab.kwok.version')} nodes"]
    for name in controllers:
        pin = lab_build.upstream_pin(name)
        note = (f"; reference {pin['reference_version']}: {' '.join(str(pin.get('deviation', '')).split())}"
                if pin.get("reference_version") else "")
        out.append(f"real: {name} {pin['version']} (built from {pin['module']}{note})")
    out.append("emulated: NVIDIA DRA driver and device plugin (the lab publishes DeviceClasses, ResourceSlices and "
               "nvidia.com/gpu capacity; a container gets the device nodes of its DRA allocation or of its "
               "nvidia.com/gpu limit, NVIDIA_VISIBLE_DEVICES their UUIDs; no accelerators)")
    out.append("emulated: NVIDIA DCGM exporter (DCGM needs GPUs): the GPU Operator's nvidia-dcgm-exporter DaemonSet "
               f"and Service in gpu-operator (dcgm-exporter {versions.get('gpu_operator.images.dcgm_exporter.tag')}; "
               "pods created by the real DaemonSet controller, scraped through the real API server's proxy) run a "
               "stand-in serving the real exporter's series and pod labels for each GPU of its node; a GPU's "
               "utilization is 100 while a load program holding it (dcgmproftester12, the CUDA load) runs, 0 "
               "otherwise")
    if "metrics-server" in controllers:
        out.append("emulated: the resource usage metrics-server reads (kwok computes each node's /metrics/resource "
                   "from pod annotations kwok.x-k8s.io/usage-cpu/-memory, default 1m CPU and 1Mi per container, plus "
                   "10m CPU and 128Mi per node; no cgroups); the HPA deciding on it is the real "
                   "kube-controller-manager's")
    if "prometheus" in controllers:
        out.append("emulated: Prometheus Operator (not built: its Prometheus StatefulSet has an init container, which "
                   "the lab's pod runner does not run): the lab's kube-prometheus-stack chart runs the real Prometheus "
                   "server itself with a fixed configuration (kubernetes_sd: pods and Service endpoints annotated "
                   "prometheus.io/scrape, and the DCGM exporter's job as the GPU Operator's ServiceMonitor gives it; "
                   "ServiceMonitors and PodMonitors are not translated), and a script writes the Prometheus object's "
                   "Available condition from the server's Deployment")
    if "prometheus-adapter" in controllers:
        out.append("lab setting: prometheus-adapter reaches Prometheus through the API server's service proxy "
                   "(--prometheus-url=" + prometheus_proxy_url(str(versions.get("kube_prometheus_stack.namespace")),
                                                               f"{versions.get('kube_prometheus_stack.release')}"
                                                               "-prometheus", 9090)
                   + " --prometheus-auth-incluster: the lab has no DNS and no Service ClusterIPs); its rules are the "
                   "prometheus_adapter role's")
    if "gateway-api" in bundles:
        from aiconform.labcluster import gatewayapi

        gw = gatewayapi.pin("gateway-api")
        out.append(f"real: Gateway API CRDs {gw['version']} ({gw['channel']} channel) generated by controller-gen "
                   f"{lab_build.upstream_pin('controller-gen')['version']} from {gw['module']}")
        out.append(f"emulated: kgateway {versions.get('kgateway.chart.version')} controller and Envoy data plane "
                   "(kgateway needs Envoy, C++; agentgateway is Rust: no Go module builds them): the lab's stand-ins "
                   "(labcluster/programs/gateway.py) accept GatewayClass kgateway, make each Gateway's proxy "
                   "Deployment and Service, set Gateway and HTTPRoute status (addresses: the proxy pod's IP) and "
                   "route HTTP requests by the HTTPRoutes (path/header/query matches, weights, EndpointSlices)")
    enabled = {r for r, c in LAB_ROLES.items() if c in controllers}
    enabled |= {r for b in bundles for r in LAB_BUNDLE_ROLES.get(b, ())}
    rest = sorted(role for role in component_switches(False) if role.removesuffix("_enabled") not in enabled)
    out.append("not installed: " + ", ".join(r.removesuffix("_enabled") for r in rest)
               + " (no real controller of theirs runs on the lab)")
    for role, why in (versions.get("lab.not_built") or {}).items():
        out.append(f"not built: {role}: {' '.join(str(why).split())}")
    return out


def _conformance_on_lab(args: argparse.Namespace) -> int:
    from aiconform.labcluster import build as lab_build
    from aiconform.labcluster import charts as lab_charts
    from aiconform.labcluster import cluster as lab_cluster
    from aiconform.labcluster import gatewayapi
    from aiconform.runner.cli import execute

    print(LAB_ENGINE_BANNER, flush=True)
    directory = Path(tempfile.mkdtemp(prefix="aiconform-labrun-"))
    os.chmod(directory, 0o700)
    running = None
    stack = lab_build.DEFAULT_STACK
    missing = lab_build.missing(None, stack)
    if missing:
        print(f"lab: the {stack} stack is not built (missing: {', '.join(missing)}); running the base stack with "
              f"nothing installed. `aiconform lab build --stack {stack}` builds it.", flush=True)
        stack = "base"
    try:
        running = lab_cluster.start(directory / "kubeconfig", stack=stack)
        controllers = lab_build.stack_controllers(stack)
        bundles = gatewayapi.stack_bundles(stack)
        inventory = directory / "inventory.yml"
        components = lab_components(controllers, bundles)
        write_lab_engine_inventory(inventory, running.kubeconfig, {
            **lab_stack_vars(controllers, directory / "charts", bundles), "aiconform_engine_components": components})
        print(f"lab: {running.url} (host {LAB_ENGINE_HOST}, stack {stack})", flush=True)
        for line in components:
            print(f"  {line}", flush=True)
        code = execute(args, inventory=str(inventory))
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)
    except (lab_cluster.LabError, lab_build.BuildError, lab_charts.ChartError) as exc:
        print(f"aiconform conformance: could not start the lab: {exc}", file=sys.stderr)
        return int(Exit.PLAYBOOK_FAILED)
    finally:
        if running is not None:
            lab_cluster.stop(running)
        shutil.rmtree(directory, ignore_errors=True)
    print(LAB_ENGINE_BANNER, flush=True)
    return code


def _cmd_conformance(args: argparse.Namespace) -> int:
    from aiconform.runner.cli import execute

    if args.inventory:
        if args.engine != "sim":
            print("aiconform conformance: --engine applies only without -i (it chooses the test cluster to start)",
                  file=sys.stderr)
            return int(Exit.PLAYBOOK_FAILED)
        return execute(args)
    if args.engine == "lab":
        return _conformance_on_lab(args)
    print(BANNER.format(scenario=LAB_SCENARIO), flush=True)
    try:
        with simulated_lab() as lab:
            print(f"simulated lab: {lab.url} (host {LAB_HOST}, scenario {LAB_SCENARIO}; every component provided by the "
                  "platform; short verifier timeouts, see aiconform/lab.py)", flush=True)
            code = execute(args, inventory=str(lab.inventory))
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)
    except RuntimeError as exc:
        print(f"aiconform conformance: could not start the simulated lab: {exc}", file=sys.stderr)
        return int(Exit.PLAYBOOK_FAILED)
    print(BANNER.format(scenario=LAB_SCENARIO), flush=True)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    from aiconform.runner.cli import add_run_arguments

    p = subparsers.add_parser(
        "conformance", help="install, verify and report (default: against a SIMULATED lab; -i for your clusters)",
        description="The main job: conformance.yml through `aiconform run`. Without -i it starts the aiconform "
                    "simulator (scenario conformant-autoscaling) as a simulated lab, runs the whole pipeline against it, says "
                    "so in every output and stops it afterwards.",
        epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p, inventory_help="inventory of clusters (default: start the SIMULATED lab)")
    p.add_argument("--engine", choices=["sim", "lab"], default="sim",
                   help="without -i: the test cluster to start: `sim` (the aiconform simulator, default) or `lab` "
                        "(aiconform lab: real control plane, kwok nodes; needs `aiconform lab build`)")
    p.set_defaults(func=_cmd_conformance)
