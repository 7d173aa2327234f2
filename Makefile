# One entry point per job; every target creates the project's own virtualenv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-opa.txt | cksum | cut -d' ' -f1)

# The Open Inference Protocol client `make test` calls the harness with (kserve's
# InferenceRESTClient) lives in its own venv: kserve 0.21 needs protobuf >= 6, .venv pins 5.29.
KSERVE_REQ   := tests/harness/kserve-client-requirements.txt
KSERVE_VENV  := build/venv-kserve
KSERVE_PY    := $(KSERVE_VENV)/bin/python
KSERVE_STAMP := $(KSERVE_VENV)/.installed-$(shell cksum < $(KSERVE_REQ) | cut -d' ' -f1)
# NVIDIA Triton's client (tritonclient[http], JSON mode) in a venv of its own too: its gevent
# stack has no place in .venv.
TRITON_REQ   := tests/harness/triton-client-requirements.txt
TRITON_VENV  := build/venv-triton
TRITON_PY    := $(TRITON_VENV)/bin/python
TRITON_STAMP := $(TRITON_VENV)/.installed-$(shell cksum < $(TRITON_REQ) | cut -d' ' -f1)

.PHONY: help venv plan review access demo serve test lint bench clean schema mutate

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-opa.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# OPA, the engine Gatekeeper embeds, for policy.admission and every Rego test. Its metadata says
	@# Python >= 3.14 but the ctypes engine (opa_bindings.engine.OpaEngine) only loads a Go shared
	@# library and runs on 3.11, and it has no dependencies: hence --ignore-requires-python and
	@# --no-deps, with the wheel pinned by hash so nothing else can slip in under those flags.
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python \
		--require-hashes -r requirements-opa.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create .venv with the pinned requirements

plan: $(STAMP) ## offline plan of every stack under mocks -> build/plan, build/manifests
	$(PY) -m infra plan $(if $(VERBOSE),--verbose)

review: plan ## plan review rules over every stack's plan
	$(PY) -m infra review build/plan/*.json

access: plan ## who-can-decrypt report for every stack's plan
	$(PY) -m infra access build/plan/*.json

demo: review ## the main job: offline plan + review, then the local data path end to end (VERBOSE=1: details)
	$(PY) -m infra access build/plan/dev.json
	$(PY) -m infra demo $(if $(VERBOSE),--verbose)

serve: $(STAMP) ## run the harness locally on emulators and leave it in the foreground
	$(PY) -m infra serve $(if $(MODEL),--model "$(MODEL)")

lint: $(STAMP) ## ruff lint and format check, and the import contracts of DESIGN.md
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

$(KSERVE_STAMP): $(KSERVE_REQ)
	@test -x $(KSERVE_PY) || $(PYTHON) -m venv $(KSERVE_VENV)
	@$(KSERVE_PY) -m pip install --quiet --disable-pip-version-check -r $(KSERVE_REQ)
	@rm -f $(KSERVE_VENV)/.installed-* && touch $@

$(TRITON_STAMP): $(TRITON_REQ)
	@test -x $(TRITON_PY) || $(PYTHON) -m venv $(TRITON_VENV)
	@$(TRITON_PY) -m pip install --quiet --disable-pip-version-check -r $(TRITON_REQ)
	@rm -f $(TRITON_VENV)/.installed-* && touch $@

test: lint $(KSERVE_STAMP) $(TRITON_STAMP) ## lint, then the whole test suite (with the kserve and Triton client venvs)
	KSERVE_PYTHON=$(abspath $(KSERVE_PY)) TRITON_PYTHON=$(abspath $(TRITON_PY)) $(PY) -m pytest -q

mutate: $(STAMP) ## every source mutation on a copy: plan + review must catch each (minutes; exit 1 on a survivor)
	$(PY) -m tests.mutation

schema: $(STAMP) ## rewrite components/schema.json, the component package schema (issue 15)
	$(PY) -m infra schema

bench: $(STAMP) ## benchmarks -> build/bench/results.json
	$(PY) -m infra bench

clean: ## remove build output, including the kserve and Triton client venvs (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache
