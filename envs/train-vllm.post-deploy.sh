#!/usr/bin/env bash
# Snakemake runs this inside the new conda env of envs/train-vllm.yaml, from its working
# directory (the repository root): see envs/install_pip.py.
set -euo pipefail
python envs/install_pip.py train-vllm
