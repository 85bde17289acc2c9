# The two commands of the README. Each sets itself up first (idempotent; seconds when done).
PYTHON ?= python3
VENV := .venv/bin
INVENTORY ?=
ARGS ?=

.PHONY: setup conformance test lint unit

setup:
	@$(PYTHON) aiconform/bootstrap.py

## Run conformance.yml against INVENTORY (default: the embedded simulated lab).
conformance: setup
	@$(VENV)/aiconform conformance $(if $(INVENTORY),-i $(INVENTORY)) $(ARGS)

## The whole test suite: lint, then unit and end-to-end tests.
test: setup lint
	@$(VENV)/python -m pytest -n 2 --dist loadfile $(ARGS)

lint: setup
	@$(VENV)/ruff check aiconform plugins tests
	@PATH="$(CURDIR)/$(VENV):$$PATH" ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(VENV)/ansible-lint --offline -q
