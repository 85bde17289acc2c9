"""The collection's and the aiconform package's version (galaxy.yml and pyproject.toml say the same)."""
from __future__ import annotations

__version__ = "0.1.0"
