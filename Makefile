# `make demo` and `make test` set up everything they need on a fresh machine:
# a .venv with the package and its pinned dependencies, and Azurite from package-lock.json.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The suite mostly waits on queues and worker processes: two pytest processes (a file each, each with its own
# Azurite) halve its wall time on two cores. `make test PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromedriver

.PHONY: demo test lint typecheck unit setup clean bench

setup: $(STAMP) node_modules/.package-lock.json $(CHROMIUM)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,otel]'
	touch $(STAMP)

# The dashboard test drives a real browser: Debian's Chromium and its chromedriver (no browser download).
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install chromium and chromium-driver (the dashboard test needs them)"; exit 1; }
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

demo: setup
	$(PY) -m durable_storage._demo

lint: $(STAMP)
	$(VENV)/bin/ruff check durable_storage tests benchmarks samples
	$(VENV)/bin/ruff format --check durable_storage tests benchmarks samples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: setup lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# Throughput, latency and storage-call figures (benchmarks/*.py), each on an Azurite of its own: under 5 minutes.
bench: setup
	$(PY) -m benchmarks.storage_floor --run-hello
	$(PY) -m benchmarks.fan_out
	$(PY) -m benchmarks.sequence
	$(PY) -m benchmarks.events

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
