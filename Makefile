# Two commands matter: `make demo` (set up, then deploy every stack to the embedded emulator)
# and `make test` (set up, then run the whole suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# checkov pins an old boto3, so it lives in a virtual environment of its own.
CHECKOV_VENV ?= .venv-checkov
SERVICES := services/service-kit services/app-api services/inference-api
# Extras the test environment installs per service: the agent's libraries, so its tests run.
EXTRAS_services/inference-api := [agentcore]

.PHONY: setup demo test synth lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(wildcard services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' $(foreach s,$(SERVICES),-e '$(s)$(EXTRAS_$(s))')
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3.2,<4'
	touch $@

demo: setup
	$(PY) deploy.py --local --stack all --yes

test: setup $(CHECKOV_VENV)/.installed
	CHECKOV_BIN=$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest

synth: setup
	$(PY) deploy.py --synth

lint: setup
	$(VENV)/bin/ruff check .
	$(PY) deploy.py --synth --check

# Benchmarks print figures; they are not tests. bench_health uses wrk when installed (apt-get install wrk).
bench: setup
	$(PY) bench/synth_bench.py
	$(PY) bench/bench_deploy.py
	$(PY) bench/bench_endpoints.py
	$(PY) bench/bench_health.py
	$(PY) bench/bench_agent.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build
