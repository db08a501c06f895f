# soho-backoffice: `make run` starts the whole system locally, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
E2E_LOG := .e2e-test.log

.PHONY: run test test-unit test-integration test-e2e package bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)  ## the whole system on its embedded default (moto server unless AWS_ENDPOINT_URL is set)
	$(PY) -m devstack

test: $(STAMP)  ## unit, integration and e2e tiers: e2e (mostly waiting on its stacks) alongside the others on 2 workers
	@$(PY) -m pytest -p no:cacheprovider tests/e2e > $(E2E_LOG) 2>&1 & e2e=$$!; \
	$(PY) -m pytest -n 2 tests/unit tests/integration; rest=$$?; \
	wait $$e2e; e2e_rc=$$?; echo "---- e2e tier ($(E2E_LOG)) ----"; cat $(E2E_LOG); \
	echo "unit+integration exit $$rest, e2e exit $$e2e_rc"; test $$rest -eq 0 -a $$e2e_rc -eq 0

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

package: $(STAMP)  ## the AWS SAM/CloudFormation template (chalice package + infra/ merge), linted
	$(PY) -m infra.package

bench: $(STAMP)  ## benchmarks P1-P7 (figures printed and written to bench/RESULTS.md; not part of make test)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .devstack .pytest_cache

.PHONY: localstack
localstack: $(STAMP)  ## LocalStack 4.14 (host mode) + DynamoDB Local in the foreground, installed on first use; prints the endpoints for make run
	$(PY) -m devstack.backends

.PHONY: wheelhouse policies
wheelhouse: $(STAMP)  ## Lambda wheels of requirements.txt into build/wheelhouse; then `PIP_NO_INDEX=1 make package` runs offline
	$(PY) -m infra.wheelhouse

policies: $(STAMP)  ## regenerate policies/<stage>/*.json and the iam_policy_file entries of .chalice/config.json (infra/iam.py)
	$(PY) -m infra.iam
