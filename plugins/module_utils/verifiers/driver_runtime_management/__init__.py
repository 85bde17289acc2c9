"""driver_runtime_management (KAR-0001, SHOULD from v1.35): upstream ``TestAcceleratorDriverRuntimeManagement``.

``VerifiableMechanismExposed``: what the platform advertises for the accelerator node (DRA ResourceSlice
attributes ``driverVersion``/``cudaDriverVersion`` first, GPU Feature Discovery labels otherwise, plus
``containerRuntimeVersion``). ``DriverAndRuntimeCompatibility``: a vanilla-image pod granted one
accelerator must get the device, injected tools (RUNTIME_CONFIG_OK), a working driver (DRIVER_FUNCTIONAL)
and versions equal to the advertised ones at their shared precision. An unknown accelerator is unknown.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "driver_runtime_management"
TEST_NAME = "TestAcceleratorDriverRuntimeManagement"
# What the probe holds while it runs (verifiers/holdings.py): a pod with a GPU reads the driver.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
