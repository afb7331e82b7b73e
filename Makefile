# LabelChain — every target installs what it needs first (a fresh clone needs only python3 and npm).
SHELL := /bin/bash
VENV := .venv
PYTHON_BOOTSTRAP ?= python3
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# Offline by construction: no CDK telemetry/notices, no EC2 metadata probing for credentials.
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
export PYTHONDONTWRITEBYTECODE := 1
STACK := LabelChain
CDK_FLAGS := --no-notices --no-version-reporting

.PHONY: help setup lint typecheck test test-fast synth demo deploy bench clean

help:
	@echo "make demo    run AWS's seed experiment offline (moto + simulated Ground Truth), < 1 min"
	@echo "make test    install (venv + npm), lint, type-check and run every test"
	@echo "make synth   synthesize the stack offline into cdk.out and cfn-lint it"
	@echo "make deploy  npx cdk deploy (needs AWS credentials)"
	@echo "make bench   run the benchmarks in bench/"

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	ruff check .
	ruff format --check .

typecheck: setup
	mypy

test: lint typecheck
	pytest -q

test-fast: setup
	pytest -q -m "not infra"

synth: setup
	rm -rf cdk.out
	npx cdk synth $(CDK_FLAGS) --quiet
	cfn-lint cdk.out/$(STACK).template.json

demo: setup
	python -m local.demo --synth

deploy: setup
	npx cdk deploy $(CDK_FLAGS) $(STACK)

bench: setup
	python bench/cold_init.py
	python bench/split_manifest.py
	python bench/demo_run.py

clean:
	rm -rf cdk.out demo-output .pytest_cache .mypy_cache .ruff_cache
