#!/usr/bin/python
"""The conformance_report action plugin's module name: its documentation is conformance_report.yml beside it, its
code plugins/action/conformance_report.py."""
from __future__ import annotations
