"""Statistics: the unbiased pass@k, the problem-paired bootstrap, derived seeds."""
