# One-command entry points. `make reproduce` and `make test` are the README's quickstart.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: install reproduce quick test lint dag lock

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and exact: a loose torch requirement pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-test.txt -e .
	touch $@

install: $(VENV)/.installed

reproduce: install  ## the whole default study: figures and results/report/claims.md
	$(BIN)/snakemake --cores $(CORES)

quick: install  ## the core claims (C1, C2) only
	$(BIN)/snakemake quick --cores $(CORES)

test: install  ## the test suite (what .ci/run runs)
	$(BIN)/pytest --durations=15

lint: install
	$(BIN)/snakemake --lint

dag: install
	$(BIN)/snakemake --dag | dot -Tpdf > dag.pdf

# Lockfiles Snakemake reads: envs/<env>.<platform>.pin.txt (+ .pip.txt). Needs conda-lock
# and reachable conda channels (not the case where this project is built: none committed).
LOCK_PLATFORMS ?= linux-64
lock: install  ## conda-lock envs/*.yaml for LOCK_PLATFORMS
	$(BIN)/python scripts/dev/lock_envs.py $(LOCK_PLATFORMS)
