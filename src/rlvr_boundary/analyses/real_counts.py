"""Real per-problem counts: Qwen2.5-7B vs SimpleRL-Zoo-7B on MATH500 (n = 128, T = 0.6).

The one place where the default run speaks about real LLMs. The counts come from a public
third-party reproduction (data/real/SOURCE.md) graded with the paper's own lenient grader;
its rows are keyed by ``problem_index``, the 0-based line of MATH500's test.jsonl, which we
map to that line's ``unique_id`` so the counts join the rest of the workflow by problem_id.

Also here: the small coverage and accuracy-histogram helpers the real-data section needs
(C4: which problems each model solves at k = n, and where per-problem accuracy sits).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..grading.counting import COUNT_COLUMNS, check_counts
from .coverage import HISTOGRAM_BINS, accuracy_bin_index, solvable_sets

# Settings of the `real:` config block and their defaults (schemas/config.schema.yaml, `real`
# documents the same keys and defaults; a test keeps the two equal).
REAL_DEFAULTS = {
    "counts": "data/real/math500_qwen25_7b_vs_simplerl_counts.csv",
    "problems": "data/math_eval/math500/test.jsonl",
    "benchmark": "math500",
    "temperature": 0.6,
    "metric": "paper_grader",
    "samples_per_problem": 128,
    "problem_count": 500,
    "bootstrap_resamples": 2000,
    "ci_level": 0.95,
    # The paper's benchmark files as its evaluation code ships them (data/math_eval/SOURCE.md),
    # normalised by rlvr_boundary.sampling.benchmarks; sha256 pins the raw file.
    "benchmarks": {
        "aime24": {"file": "data/math_eval/aime24/test.jsonl", "expected_rows": 30,
                   "sha256": "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac"},
        "gsm8k": {"file": "data/math_eval/gsm8k/test.jsonl", "expected_rows": 1319,
                  "sha256": "9f098df7ff4522078d6ccec27a5c38a454790fdb51131bedfaa0e490070d5394"},
        "math500": {"file": "data/math_eval/math500/test.jsonl", "expected_rows": 500,
                    "sha256": "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"},
        "minerva_math": {"file": "data/math_eval/minerva_math/test.jsonl", "expected_rows": 272,
                         "sha256": "0e656b430d3a0a1dab6aa853f453ba3805e28e2cabe4fc72486a897cc09d8ba2"},
    },
    # Existing generations to import (rlvr_boundary.sampling.imported): a list of {model,
    # benchmark, temperature, files, missing_finish_reason}; regraded with math-verify and
    # the lenient rules next to the paper's own grades.
    "imports": [],
    "grading": {"timeout_s": 5.0, "threads": 2},
}

# Short names used in the CSV -> our model ids, and what they are.
REAL_MODELS = {
    "base": {"model": "qwen25-7b", "role": "base", "hub_id": "Qwen/Qwen2.5-7B",
             "revision": "d149729", "label": "Qwen2.5-7B (base)"},
    "simplerl": {"model": "qwen25-7b-simplerl-zoo", "role": "rl",
                 "hub_id": "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo", "revision": "d630142",
                 "label": "SimpleRL-Zoo-7B (RL)"},
}

COVERAGE_SETS = ("both", "base_only", "rl_only", "neither")
COVERAGE_COLUMNS = ["benchmark", "k", "set", "n_problems", "share", "problem_ids"]
HISTOGRAM_COLUMNS = ["model", "benchmark", "bin", "n_problems", "share"]


def real_settings(config: dict) -> dict:
    """The `real:` block of a config with defaults filled in."""
    block = config.get("real") or {}
    unknown = set(block) - set(REAL_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown keys in the real: block: {sorted(unknown)}")
    return {**REAL_DEFAULTS, **block}


def import_key(entry: dict) -> str:
    """``<model>/<benchmark>``: where an import's outputs live under results/real/imported/."""
    return f"{entry['model']}/{entry['benchmark']}"


def math500_problem_ids(problems_path: str | Path, expected: int) -> list[str]:
    """``unique_id`` of each line of MATH500's test.jsonl, in line order."""
    with open(problems_path, encoding="utf-8") as handle:
        ids = [json.loads(line)["unique_id"] for line in handle if line.strip()]
    if len(ids) != expected:
        raise ValueError(f"{problems_path}: expected {expected} problems, found {len(ids)}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{problems_path}: unique_id values repeat")
    return ids


def load_real_counts(counts_path: str | Path, problem_ids: list[str], benchmark: str,
                     temperature: float, metric: str, samples_per_problem: int) -> pd.DataFrame:
    """The reproduction's CSV (problem_index, model, correct, n) as our counts schema.

    Refuses a file that is not exactly one row per (model, problem index 0..P-1) with
    n = ``samples_per_problem`` and 0 <= correct <= n, for both models of REAL_MODELS.
    """
    raw = pd.read_csv(counts_path)
    expected_columns = {"problem_index", "model", "correct", "n"}
    if set(raw.columns) != expected_columns:
        raise ValueError(f"{counts_path}: columns {sorted(raw.columns)}, expected {sorted(expected_columns)}")
    if set(raw.model) != set(REAL_MODELS):
        raise ValueError(f"{counts_path}: models {sorted(set(raw.model))}, expected {sorted(REAL_MODELS)}")
    n_problems = len(problem_ids)
    for name, rows in raw.groupby("model"):
        if sorted(rows.problem_index) != list(range(n_problems)):
            raise ValueError(f"{counts_path}: {name} does not have exactly one row for each "
                             f"problem index 0..{n_problems - 1}")
    if (raw.n != samples_per_problem).any():
        raise ValueError(f"{counts_path}: n differs from {samples_per_problem} in some rows")
    if ((raw.correct < 0) | (raw.correct > raw.n)).any():
        raise ValueError(f"{counts_path}: rows with correct outside [0, n]")
    counts = pd.DataFrame({
        "model": raw.model.map(lambda short: REAL_MODELS[short]["model"]),
        "benchmark": benchmark,
        "temperature": float(temperature),
        "metric": metric,
        "problem_id": [problem_ids[i] for i in raw.problem_index],
        "n": raw.n.astype("int64"),
        "c": raw.correct.astype("int64"),
    })[COUNT_COLUMNS]
    check_counts(counts)
    return counts.sort_values(["model", "problem_id"], kind="stable").reset_index(drop=True)


def _per_problem(counts: pd.DataFrame, model: str) -> pd.DataFrame:
    table = counts[counts.model == model].set_index("problem_id").sort_index()
    if table.empty:
        raise ValueError(f"no counts for model {model}")
    return table


def coverage_sets(counts: pd.DataFrame, base: str, rl: str) -> pd.DataFrame:
    """Problems solved at k = n (at least one correct sample) by both, base only, RL only,
    neither (:func:`.coverage.solvable_sets`). One row per set with the problem ids joined
    by ';'."""
    a, b = _per_problem(counts, base), _per_problem(counts, rl)
    if not a.index.equals(b.index):
        raise ValueError("base and RL counts cover different problems")
    k = int(min(a.n.min(), b.n.min()))
    if (a.n != k).any() or (b.n != k).any():
        raise ValueError("coverage at k = n needs the same n for every problem and both models")
    sets = solvable_sets(a.reset_index(), b.reset_index())
    benchmark = a.benchmark.iloc[0]
    rows = [(benchmark, k, name, len(ids), len(ids) / len(a), ";".join(ids))
            for name, ids in zip(COVERAGE_SETS, (sets.both, sets.base_only, sets.other_only,
                                                 sets.neither))]
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def accuracy_histogram(counts: pd.DataFrame) -> pd.DataFrame:
    """How many problems of each model fall into each accuracy bin (the tiny world's
    :data:`.coverage.HISTOGRAM_BINS`)."""
    rows = []
    for (model, benchmark), table in counts.groupby(["model", "benchmark"], sort=True):
        bins = np.bincount(accuracy_bin_index(table.n, table.c), minlength=len(HISTOGRAM_BINS))
        for name, count in zip(HISTOGRAM_BINS, bins):
            rows.append((model, benchmark, name, int(count), count / len(table)))
    return pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS)


# --- the real-data section of the report ---------------------------------------------------

SOURCE_NOTE = (
    "Counts are per-problem numbers of correct samples (n = 128 per problem, T = 0.6, top_p 0.95, "
    "up to 16,384 new tokens, vLLM) from the public third-party reproduction "
    "[cc1107yss/limit-of-rlvr-qwen7b-math500-reproduction](https://github.com/cc1107yss/"
    "limit-of-rlvr-qwen7b-math500-reproduction) (audit/results.json, commit 85ce075), graded there "
    "with the paper's own lenient grader (LeapLabTHU/limit-of-RLVR's Qwen2.5-Math rules: "
    "last-number fallback, percentage tolerance, timeouts scored as wrong), not with our "
    "math-verify grader. The raw generations were not published, so they cannot be regraded here.")
ORDER_NOTE = (
    "Assumed problem order: the reproduction keys problems by index; we take index i to be "
    "the i-th line (0-based) of MATH500's test.jsonl as the paper's evaluation code ships it "
    "(sha256 35dc4108..., the same file the reproduction hashed) and use that line's unique_id "
    "as problem_id. Pass@k, crossover and histograms do not depend on this mapping; only the "
    "problem ids named in the coverage sets do.")


def _ci(point: float, low: float, high: float, percent: bool = True) -> str:
    if percent:
        return f"{100 * point:.2f}% [{100 * low:.2f}, {100 * high:.2f}]"
    return f"{point:+.4f} [{low:+.4f}, {high:+.4f}]"


def real_summary(counts: pd.DataFrame, passk: pd.DataFrame, coverage: pd.DataFrame,
                 histogram: pd.DataFrame, settings: dict, seed: int) -> dict:
    """The section's numbers: pass@1 and pass@n with CIs, C1/C2 differences with paired CIs
    and verdicts, crossover k with CI, coverage sets and the histogram's end bins."""
    from ..report.claims import benchmark_seed, crossover_k, paired_difference, verdict_from_ci
    from ..stats.passk import bootstrap_weights

    base, rl = REAL_MODELS["base"]["model"], REAL_MODELS["simplerl"]["model"]
    level, benchmark = float(settings["ci_level"]), settings["benchmark"]
    base_t, rl_t = _per_problem(counts, base).reset_index(), _per_problem(counts, rl).reset_index()
    weights = bootstrap_weights(len(base_t), int(settings["bootstrap_resamples"]),
                                benchmark_seed(seed, benchmark))
    k_max = int(min(base_t.n.min(), rl_t.n.min()))

    def at(model, k):
        row = passk[(passk.model == model) & (passk.k == k)].iloc[0]
        return {"pass_at_k": float(row.pass_at_k), "ci_low": float(row.ci_low),
                "ci_high": float(row.ci_high)}

    c1 = paired_difference(rl_t, base_t, 1, weights, level)
    c2 = paired_difference(base_t, rl_t, k_max, weights, level)
    cross, cross_low, cross_high = crossover_k(base_t, rl_t, weights, level)
    ends = histogram[histogram.bin.isin(["0", "1"])]
    return {
        "benchmark": benchmark, "temperature": float(settings["temperature"]),
        "metric": settings["metric"], "n": k_max, "problems": len(base_t),
        "ci_level": level, "bootstrap_resamples": int(settings["bootstrap_resamples"]),
        "models": {short: {**spec, "total_correct": int(counts[counts.model == spec["model"]].c.sum()),
                           "pass_at_1": at(spec["model"], 1), "pass_at_n": at(spec["model"], k_max)}
                   for short, spec in REAL_MODELS.items()},
        "C1": {"difference": "pass@1(RL) - pass@1(base)", "value": c1[0], "ci_low": c1[1],
               "ci_high": c1[2], "verdict": verdict_from_ci(c1[1], c1[2])},
        "C2": {"difference": f"pass@{k_max}(base) - pass@{k_max}(RL)", "value": c2[0],
               "ci_low": c2[1], "ci_high": c2[2], "verdict": verdict_from_ci(c2[1], c2[2]),
               "crossover_k": cross, "crossover_ci_low": cross_low,
               "crossover_ci_high": cross_high},
        "coverage": {row.set: {"n_problems": int(row.n_problems),
                               "problem_ids": row.problem_ids.split(";") if row.problem_ids else []}
                     for row in coverage.itertuples()},
        "accuracy_ends": {f"{row.model}/{row.bin}": int(row.n_problems) for row in ends.itertuples()},
    }


def real_report_markdown(summary: dict) -> str:
    """The real-data section of the claims report, from :func:`real_summary`."""
    n, level = summary["n"], summary["ci_level"]
    base, rl = summary["models"]["base"], summary["models"]["simplerl"]
    c1, c2, cov = summary["C1"], summary["C2"], summary["coverage"]

    def k_text(value):
        return f">{n}" if value > n else f"{value:g}"

    cross = ("no crossover up to k=n" if c2["crossover_k"] is None
             else f"crossover k = {c2['crossover_k']}")
    lines = [
        f"## Real models: {base['label']} vs {rl['label']} on MATH500",
        "",
        f"{summary['problems']} problems, n = {n} samples per problem, T = {summary['temperature']:g}, "
        f"metric `{summary['metric']}`; {level:.0%} CIs from {summary['bootstrap_resamples']} "
        "problem-paired bootstrap resamples (one weight matrix for both models).",
        "",
        "| model | Hub id @ revision | correct samples | pass@1 | " f"pass@{n} |",
        "|---|---|---:|---:|---:|",
    ]
    for spec in (base, rl):
        lines.append(f"| {spec['label']} | {spec['hub_id']}@{spec['revision']} | "
                     f"{spec['total_correct']:,} | {_ci(**_unpack(spec['pass_at_1']))} | "
                     f"{_ci(**_unpack(spec['pass_at_n']))} |")
    lines += [
        "",
        f"- **C1** (RL beats base at k=1): pass@1(RL) - pass@1(base) = "
        f"{_ci(c1['value'], c1['ci_low'], c1['ci_high'], percent=False)}: **{c1['verdict']}**.",
        f"- **C2** (base overtakes RL at large k): pass@{n}(base) - pass@{n}(RL) = "
        f"{_ci(c2['value'], c2['ci_low'], c2['ci_high'], percent=False)}: **{c2['verdict']}**; "
        f"{cross} [{level:.0%} CI {k_text(c2['crossover_ci_low'])}, "
        f"{k_text(c2['crossover_ci_high'])}] (smallest k with pass@k(base) >= pass@k(RL)).",
        f"- **C4** (coverage at k = {n}, solved = at least one correct sample): both "
        f"{cov['both']['n_problems']}, base only {cov['base_only']['n_problems']}, RL only "
        f"{cov['rl_only']['n_problems']}, neither {cov['neither']['n_problems']}.",
        f"  - base only: {', '.join(f'`{p}`' for p in cov['base_only']['problem_ids']) or 'none'}",
        f"  - RL only: {', '.join(f'`{p}`' for p in cov['rl_only']['problem_ids']) or 'none'}",
        "- Per-problem accuracy (c/n) at the ends: "
        + "; ".join(f"{spec['label']}: {summary['accuracy_ends'].get(spec['model'] + '/0', 0)} "
                    f"problems never solved, {summary['accuracy_ends'].get(spec['model'] + '/1', 0)} "
                    "always solved" for spec in (base, rl)) + ".",
        "",
        f"Source. {SOURCE_NOTE}",
        "",
        ORDER_NOTE,
        "",
        "Tables: `results/real/tables/` (counts.parquet, passk.csv, coverage.csv, "
        "accuracy_histogram.csv); figures: `results/real/figures/`.",
        "",
    ]
    return "\n".join(lines)


def _unpack(entry: dict) -> dict:
    return {"point": entry["pass_at_k"], "low": entry["ci_low"], "high": entry["ci_high"]}


# --- figures -------------------------------------------------------------------------------

def plot_real_passk(passk: pd.DataFrame, summary: dict):
    """pass@k against k (log2 axis) for base and RL with CI bands; the crossover marked."""
    from ..report.plots import plt

    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    styles = {"base": ("black", "-"), "simplerl": ("tab:red", "-")}
    for short, spec in summary["models"].items():
        curve = passk[passk.model == spec["model"]].sort_values("k")
        colour, style = styles[short]
        ax.plot(curve.k, curve.pass_at_k, style, color=colour, label=spec["label"])
        ax.fill_between(curve.k, curve.ci_low, curve.ci_high, color=colour, alpha=0.2, linewidth=0)
    cross = summary["C2"]["crossover_k"]
    if cross is not None:
        ax.axvline(cross, color="tab:gray", linestyle=":", label=f"crossover k={cross}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k")
    ax.set_ylabel(f"pass@k ({summary['metric']})")
    ax.set_title(f"MATH500, T={summary['temperature']:g}, n={summary['n']}: "
                 f"{summary['ci_level']:.0%} paired-bootstrap CIs", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_real_histogram(histogram: pd.DataFrame, summary: dict):
    """Share of problems per accuracy bin, base and RL side by side."""
    from ..report.plots import plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    positions = np.arange(len(HISTOGRAM_BINS))
    width = 0.4
    for offset, (short, colour) in zip((-width / 2, width / 2),
                                       (("base", "black"), ("simplerl", "tab:red"))):
        spec = summary["models"][short]
        table = histogram[histogram.model == spec["model"]].set_index("bin").reindex(list(HISTOGRAM_BINS))
        ax.bar(positions + offset, table.share, width, color=colour, alpha=0.8, label=spec["label"])
    ax.set_xticks(positions, HISTOGRAM_BINS, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("per-problem accuracy c/n")
    ax.set_ylabel("share of problems")
    ax.set_title(f"MATH500 per-problem accuracy, n={summary['n']}, T={summary['temperature']:g}",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
