# Two commands matter: `make demo` (set up, then deploy every stack to the embedded emulator)
# and `make test` (set up, then run the whole suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# checkov pins an old boto3, so it lives in a virtual environment of its own.
CHECKOV_VENV ?= .venv-checkov
SERVICES := services/service-kit services/app-api services/inference-api
# Hashed lock files (requirements/*.lock): installs resolve nothing and fetch exactly what was reviewed.
# local.lock is the demo (project + emulator), dev.lock everything `make test` needs. Refresh: make lock
LOCK_ARGS := --generate-hashes --python-version 3.11 --universal --quiet \
	--no-emit-package layered-platform $(foreach s,$(SERVICES),--no-emit-package $(notdir $(s)))
UV := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet --require-hashes --no-deps
# Test worker processes (pytest-xdist): two more than the cores, since part of the suite's time is
# spent waiting (time limits, sockets, a served emulator's start) and the extra workers use it
# (measured on 2 cores, runs of one commit in one hour: 127 and 110 s with 3 workers, 85, 84 and 85 s
# with 4, 98 s with 5, 92 s with 6). Tests, not whole files, are shared out, and an idle worker takes
# tests queued on a busy one (worksteal).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 2)')
TEST_ARGS ?= -n $(TEST_WORKERS) --dist worksteal
# Extras the test environment installs per service: the agent's libraries, so its tests run.
EXTRAS_services/inference-api := [agentcore]

.PHONY: setup demo-setup demo test synth lint lock bench clean

setup: $(VENV)/.installed

demo-setup: $(VENV)/.demo

# The demo needs only the project and the emulator: no linters, no test tools, no services.
# pip installs only uv (hashed, requirements/uv.lock); uv installs the rest from the same hashed lock
# files in a few seconds, where pip took 38 s for the demo's 58 packages and minutes for the tests'.
# The venv is made without pip (ensurepip's copy of pip took 4 of the setup's 13 s): the interpreter's
# own pip installs uv into it (pip >= 22.3: --python); where that pip is missing or older, ensurepip.
PIP_UV := --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.lock
$(VENV)/.demo: requirements/local.lock requirements/uv.lock pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(PY) install $(PIP_UV) 2>/dev/null \
		|| { $(PY) -m ensurepip --default-pip >/dev/null && $(PY) -m pip install $(PIP_UV); }
	$(UV_INSTALL) --python $(PY) -r requirements/local.lock
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed: $(VENV)/.demo requirements/dev.lock pyproject.toml $(wildcard services/*/pyproject.toml)
	$(UV_INSTALL) --python $(PY) -r requirements/dev.lock
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation \
		-e '.[dev]' $(foreach s,$(SERVICES),-e '$(s)$(EXTRAS_$(s))')
	$(UV) pip check --quiet --python $(PY)
	touch $@

$(CHECKOV_VENV)/.installed: $(VENV)/.demo requirements/checkov.lock
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python -r requirements/checkov.lock
	touch $@

demo: demo-setup
	$(PY) deploy.py --local --stack all --yes

# Bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set: the suite starts hundreds of
# Python processes (deploy.py, services, linters), and each would otherwise compile botocore, moto and
# the project from source again (measured: deploy.py 2.4 s of CPU instead of 1.1 s, moto's start 6 s
# instead of 2 s). The caches land in __pycache__/ (git-ignored) and in the virtual environments.
test: setup $(CHECKOV_VENV)/.installed
	PYTHONDONTWRITEBYTECODE= CHECKOV_BIN=$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest $(TEST_ARGS)

# Rewrites the lock files from requirements/*.in (the pyproject.toml files); commit the result.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
	.venv-lock/bin/uv pip compile requirements/uv.in $(LOCK_ARGS) -o requirements/uv.lock
	.venv-lock/bin/uv pip compile requirements/local.in $(LOCK_ARGS) -o requirements/local.lock
	.venv-lock/bin/uv pip compile requirements/dev.in $(LOCK_ARGS) -o requirements/dev.lock
	.venv-lock/bin/uv pip compile requirements/checkov.in $(LOCK_ARGS) -o requirements/checkov.lock

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
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-lock build
