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

.PHONY: help setup lambda-deps lint typecheck test test-fast coverage-report synth demo deploy destroy bench bench-venv clean

help:
	@echo "make demo    run AWS's seed experiment offline (moto + simulated Ground Truth), about a minute"
	@echo "make test    install (venv + npm), lint, type-check, run every test with coverage (>= 90 % lines)"
	@echo "make test-fast  the pure tests (tests/unit, not the scale ones): no moto, no synth, under 30 s"
	@echo "make coverage-report  HTML report of the last make test in build/coverage/html"
	@echo "make synth   synthesize the stack offline into cdk.out and cfn-lint it"
	@echo "make deploy  npx cdk deploy (needs AWS credentials)"
	@echo "make destroy stop every running job, then npx cdk destroy (asks first; data is retained)"
	@echo "make bench   run the benchmarks in bench/"

# The Lambda layer of runtime dependencies (requirements-lambda.txt: nh3), built for the Lambda platform
# (Python 3.13, arm64) from binary wheels only, so no Docker and no compiler are needed; infra/functions.py
# attaches build/lambda-deps as a layer. The stamp lives outside the layer so it is not deployed.
LAMBDA_DEPS := build/lambda-deps/python
LAMBDA_DEPS_STAMP := build/.lambda-deps-installed

setup: $(VENV)/.installed $(VENV)/.labelchain-installed node_modules/.installed $(LAMBDA_DEPS_STAMP)

lambda-deps: $(LAMBDA_DEPS_STAMP)

$(LAMBDA_DEPS_STAMP): requirements-lambda.txt $(VENV)/.installed
	rm -rf $(LAMBDA_DEPS)
	$(VENV)/bin/pip install --quiet --no-compile --target $(LAMBDA_DEPS) --platform manylinux2014_aarch64 \
		--implementation cp --python-version 3.13 --only-binary=:all: -r requirements-lambda.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# The labelchain package itself (lambdas/labelchain), editable: the `labelchain` CLI in $(VENV)/bin.
# --no-deps: requirements*.txt pin everything it needs. The install's metadata lives in the venv; the
# egg-info setuptools leaves beside the package is a by-product, removed so it never nears the asset.
$(VENV)/.labelchain-installed: pyproject.toml $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --no-deps --editable .
	rm -rf lambdas/labelchain.egg-info
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	ruff check .
	ruff format --check .

typecheck: setup
	mypy

# Every test, the stack synthesized once (tests/support/synth.py), line coverage of lambdas/labelchain
# and infra/ measured and enforced (pyproject.toml [tool.coverage]: fail_under 90). pytest-xdist runs a
# worker per CPU, each test module on one worker (module fixtures such as an offline stack are not
# repeated); the workers share the one synthesis and pytest-cov combines their coverage.
test: lint typecheck
	mkdir -p build/coverage
	pytest -q -n auto --dist loadfile --cov --cov-report=term

# The pure tests but the two over production-sized data (marked scale): tests/unit/conftest.py fails the
# run if one of them loads moto or the CDK.
test-fast: setup
	pytest -q tests/unit -m "not scale"

coverage-report: setup
	coverage html
	@echo "open build/coverage/html/index.html"

synth: setup
	rm -rf cdk.out
	npx cdk synth $(CDK_FLAGS) --quiet
	cfn-lint cdk.out/$(STACK).template.json

demo: setup
	python -m local.demo --synth

deploy: setup
	npx cdk deploy $(CDK_FLAGS) $(STACK)

# Stops every running or queued labeling job first (their records end final with their cost; exit 3:
# no stack deployed, nothing to stop), then deletes the stack. With removal_policy "retain" (the
# default) the key, buckets, table and log groups stay; README § Teardown says how to remove them.
destroy: setup
	labelchain stop --all --wait || [ $$? -eq 3 ]
	npx cdk destroy $(CDK_FLAGS) $(STACK)

# Every benchmark runs (about 20 min on 2 cores); the target fails at the end if any printed a FAIL.
BENCH_RUNS := \
	"cold_init.py --instructions" \
	"split_manifest.py" \
	"lifecycle_history.py" \
	"completion_latency.py" \
	"reconciler_scale.py" \
	"queue_burst.py" \
	"queue_burst.py --calibrated-jobs --batches 10 --quota 1" \
	"demo_run.py"

# The Lambda runtime's Python with the runtime packages requirements.txt pins (boto3, Powertools, pydantic,
# ...), for bench/cold_init.py: bytecode is only used by the interpreter version that wrote it, so the
# cold start is measured on the runtime's own version. infra/lambda_code.py finds the interpreter.
BENCH_VENV := build/venv-lambda
LAMBDA_RUNTIME_PACKAGES := ^(boto3|botocore|aws-lambda-powertools|aws-xray-sdk|pydantic|nh3)==

bench-venv: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: requirements.txt $(VENV)/.installed
	@interpreter="$$(python -c 'from infra.lambda_code import find_lambda_python as f; print(f() or "")')"; \
	if [ -z "$$interpreter" ]; then echo "no Python of the Lambda runtime's version found (set LABELCHAIN_LAMBDA_PYTHON)"; exit 1; fi; \
	case "$$(realpath -s -m "$$interpreter")" in "$(CURDIR)/$(BENCH_VENV)"/*) \
		echo "LABELCHAIN_LAMBDA_PYTHON names $(BENCH_VENV)'s own interpreter; name the Python it was made from"; exit 1;; esac; \
	rm -rf $(BENCH_VENV) && "$$interpreter" -m venv $(BENCH_VENV)
	grep -E '$(LAMBDA_RUNTIME_PACKAGES)' requirements.txt > $(BENCH_VENV)/requirements.txt
	$(BENCH_VENV)/bin/pip install --quiet -r $(BENCH_VENV)/requirements.txt
	touch $@

# Without a Python of the Lambda runtime's version, cold_init.py runs on the venv's Python (it says so).
bench: setup
	@$(MAKE) --no-print-directory bench-venv || echo "bench-venv failed: cold_init.py measures on $$(python -V)"
	@failed=""; for run in $(BENCH_RUNS); do \
		echo "== python bench/$$run"; \
		python bench/$$run || failed="$$failed\n  bench/$$run"; \
		echo; \
	done; \
	if [ -n "$$failed" ]; then echo -e "FAIL or error in:$$failed"; exit 1; fi

clean:
	rm -rf cdk.out demo-output build/coverage build/lambda-code .pytest_cache .mypy_cache .ruff_cache
