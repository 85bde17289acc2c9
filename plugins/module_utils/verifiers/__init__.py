"""One sub-package per requirement id; see README.md beside this file for the contract."""
