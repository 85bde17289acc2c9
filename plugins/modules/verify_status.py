#!/usr/bin/python
"""The verify_status action plugin's module name: its documentation is verify_status.yml beside it, its code
plugins/action/verify_status.py."""
from __future__ import annotations
