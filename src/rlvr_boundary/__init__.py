"""rlvr_boundary: the importable logic behind the workflow's rules."""
