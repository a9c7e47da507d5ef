"""Sampling: benchmarks in, raw completions out (transformers, vLLM, imported)."""
