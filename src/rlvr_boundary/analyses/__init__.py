"""Analyses: solvable sets, chains of thought, perplexity, regimes, temperature, algorithms, real counts."""
