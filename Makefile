# The two commands of the README. Each sets itself up first (idempotent; seconds when done).
PYTHON ?= python3
VENV := .venv/bin
INVENTORY ?=
ARGS ?=

.PHONY: setup conformance test lint unit lab-build

setup:
	@$(PYTHON) aiconform/bootstrap.py

## Run conformance.yml against INVENTORY (default: the embedded simulated lab).
conformance: setup
	@$(VENV)/aiconform conformance $(if $(INVENTORY),-i $(INVENTORY)) $(ARGS)

## The lab's programs (aiconform lab build: Kubernetes + kwok from Go modules; cached, seconds when built).
## Without Go the tests marked `lab` skip and say why; under CI (CI set) a missing Go is an error.
lab-build: setup
	@if command -v $${AICONFORM_GO:-go} >/dev/null 2>&1; then $(VENV)/aiconform lab build && $(VENV)/aiconform lab build --stack karpenter \
		&& $(VENV)/aiconform lab build --stack volcano && $(VENV)/aiconform lab build --stack coscheduling; \
	elif [ -n "$$CI" ]; then echo "[lab] Go 1.26+ is needed to build the lab (tests marked lab)" >&2; exit 1; \
	else echo "[lab] Go not found: tests marked lab will be skipped (install Go 1.26+, then make lab-build)"; fi

## The whole test suite: lint, the lab's programs, then unit, end-to-end and lab tests.
test: setup lint lab-build
	@$(VENV)/python -m pytest -n 2 --dist loadfile $(ARGS)

lint: setup
	@$(VENV)/ruff check aiconform plugins tests
	@PATH="$(CURDIR)/$(VENV):$$PATH" ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(VENV)/ansible-lint --offline -q
