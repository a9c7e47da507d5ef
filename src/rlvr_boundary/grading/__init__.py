"""Grading: a status per sample (tiny-world traces, math answers) and per-problem counts."""
