"""aiconform.sim: a Kubernetes API *simulator* for tests and the embedded demo lab.

Real clients (kubectl, helm, kubernetes.core, the kubernetes Python client) talk to it over HTTP. It is
not a cluster: see README.md in this package for the fidelity contract and what is not emulated.
"""
