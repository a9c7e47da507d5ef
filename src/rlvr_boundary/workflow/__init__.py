"""The workflow's own plumbing: plans, config checks, code inputs, job I/O, provenance."""
