"""Real kubernetes.core modules through ansible-playbook against the simulator (tasks batched: ~0.7 s each)."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers.sim import run_playbook

pytestmark = pytest.mark.e2e
CHART = str(Path(__file__).resolve().parents[1] / "charts" / "sim-demo")

K8S_PLAYBOOK = r"""
- hosts: localhost
  gather_facts: false
  vars:
    cm: {apiVersion: v1, kind: ConfigMap, metadata: {name: demo-cm, namespace: play, labels: {app: demo}}, data: {a: "1"}}
  tasks:
    - name: namespace and configmap (present, then idempotent)
      kubernetes.core.k8s:
        state: present
        definition:
          - {apiVersion: v1, kind: Namespace, metadata: {name: play}}
          - "{{ cm }}"
    - kubernetes.core.k8s: {state: present, definition: "{{ cm }}"}
      register: again
    - assert: {that: [not again.changed]}

    - name: client-side apply, then server-side apply of a new object
      kubernetes.core.k8s:
        apply: true
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: applied, namespace: play, labels: {app: demo}}, data: {b: "2"}}
    - kubernetes.core.k8s:
        apply: true
        server_side_apply: {field_manager: aiconform-test}
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: ssa, namespace: play, labels: {app: other}}, data: {c: "3"}}

    - name: check mode creates nothing
      kubernetes.core.k8s:
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: ghost, namespace: play}}
      check_mode: true
      register: ghost
    - kubernetes.core.k8s_info: {kind: ConfigMap, namespace: play, name: ghost}
      register: ghost_info
    - assert: {that: [ghost.changed, ghost_info.resources | length == 0]}

    - name: deployment waits for Available
      kubernetes.core.k8s:
        wait: true
        wait_timeout: 30
        wait_condition: {type: Available, status: "True"}
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: web, namespace: play, labels: {app: demo}}
          spec:
            replicas: 2
            selector: {matchLabels: {app: web}}
            template:
              metadata: {labels: {app: web}, annotations: {"sim.aiconform.io/log": "serving on :8080"}}
              spec: {containers: [{name: web, image: nginx:1.27}]}
    - kubernetes.core.k8s_info:
        kind: ConfigMap
        namespace: play
        label_selectors: [app=demo]
      register: by_label
    - assert: {that: ["by_label.resources | map(attribute='metadata.name') | sort | list == ['applied', 'demo-cm']"]}
    - kubernetes.core.k8s_log: {namespace: play, label_selectors: [app=web]}
      register: logs
    - assert: {that: ["logs.log_lines[0] == 'serving on :8080'"], fail_msg: "{{ logs | to_json }}"}

    - name: a switched-off controller makes the wait time out with a clear error
      kubernetes.core.k8s:
        wait: true
        wait_timeout: 3
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: stuck, namespace: play, annotations: {"sim.aiconform.io/auto-ready": "false"}}
          spec:
            replicas: 1
            selector: {matchLabels: {app: stuck}}
            template:
              metadata: {labels: {app: stuck}}
              spec: {containers: [{name: c, image: busybox}]}
      register: stuck
      ignore_errors: true
    - assert: {that: [stuck.failed, "'Timed out waiting on resource' in stuck.msg"]}

    - name: absent by label selector
      kubernetes.core.k8s: {state: absent, kind: ConfigMap, namespace: play, label_selectors: [app=demo], wait: true}
    - kubernetes.core.k8s_info: {kind: ConfigMap, namespace: play, label_selectors: [app=demo]}
      register: gone
    - assert: {that: [gone.resources | length == 0]}

    - name: helm install and helm_info
      kubernetes.core.helm: {name: demo, chart_ref: "{{ chart }}", release_namespace: play, wait: true, wait_timeout: 60s}
    - kubernetes.core.helm_info: {name: demo, release_namespace: play}
      register: rel
    - assert: {that: ["rel.status.status == 'deployed'"]}
    - kubernetes.core.helm: {name: demo, release_namespace: play, state: absent, wait: true}

    - name: namespace absent cascades
      kubernetes.core.k8s: {state: absent, kind: Namespace, name: play, wait: true, wait_timeout: 30}
    - kubernetes.core.k8s_info: {kind: Deployment, namespace: play}
      register: after
    - assert: {that: [after.resources | length == 0]}
"""


def test_kubernetes_core_modules(sim):
    rc, out = run_playbook(K8S_PLAYBOOK, sim, extra_vars={"chart": CHART})
    assert rc == 0, out
    assert "failed=0" in out
