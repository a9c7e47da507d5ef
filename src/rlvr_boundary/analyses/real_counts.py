"""Real per-problem counts: Qwen2.5-7B vs SimpleRL-Zoo-7B on MATH500 (n = 128, T = 0.6).

The one place where the default run speaks about real LLMs. The counts come from a public
third-party reproduction (data/real/SOURCE.md) graded with the paper's own lenient grader;
its rows are keyed by ``problem_index``, the 0-based line of MATH500's test.jsonl, which we
map to that line's ``unique_id`` so the counts join the rest of the workflow by problem_id.

Also here: the small coverage and accuracy-histogram helpers the real-data section needs
(C4: which problems each model solves at k = n, and where per-problem accuracy sits).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..grading.counting import COUNT_COLUMNS, check_counts
from ..sampling.benchmarks import BenchmarkChanged, InputFileError, read_jsonl
from .coverage import HISTOGRAM_BINS, accuracy_bin_index, solvable_sets

log = logging.getLogger(__name__)

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


# Why the problem order can only be checked against a pin (problem_file_checks): the counts
# CSV keys each row by problem_index alone, with no problem id, question or hash of the
# problem. Any reordering of the problem file's lines (two lines swapped) is again a valid
# MATH500 file with the same 500 distinct unique_ids, so nothing inside the two files tells
# the orders apart; only a record of the file the indices refer to (its sha256, or its ids
# in order) can.
ORDER_UNCHECKED = (
    "{path}: no sha256 pinned for this problem file and no pinned file of benchmark "
    "{benchmark} to compare its order with; counts are mapped to problem ids by line, so a "
    "reordered file (two lines swapped) would go unnoticed. Pin it: use the benchmark's "
    "pinned file as real.problems.")


def problem_file_checks(real: dict) -> dict:
    """What :func:`math500_problem_ids` can check the real counts' problem file against, as
    its keyword arguments. The ``real.benchmarks`` entry of ``real.benchmark`` pins its
    file's sha256: when ``real.problems`` is that file, ``{sha256}`` (checked before the
    file is parsed); when it is another file, ``{order_from, order_sha256}`` (the pinned
    file, whose ids the problem file must list in the same order); ``{}`` when nothing is
    pinned (then the order cannot be checked: :data:`ORDER_UNCHECKED`)."""
    spec = (real.get("benchmarks") or {}).get(real.get("benchmark")) or {}
    if not spec.get("file") or not spec.get("sha256"):
        return {}
    if os.path.normpath(spec["file"]) == os.path.normpath(real["problems"]):
        return {"sha256": spec["sha256"]}
    return {"order_from": spec["file"], "order_sha256": spec["sha256"]}


def check_file_sha256(path: str | Path, pinned: str, what: str) -> bytes:
    """The file's bytes, once their sha256 is the pinned one (checked before any parsing)."""
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != pinned:
        raise BenchmarkChanged(
            f"{path}: sha256 {actual}, but {what} pins {pinned}; the file changed (edited, "
            "reordered, truncated or re-encoded). Restore the pinned file; if the new one is "
            "intended, pin its hash (results computed on the old file no longer match).")
    return data


def math500_problem_ids(problems_path: str | Path, expected: int, sha256: str | None = None,
                        order_from: str | Path | None = None,
                        order_sha256: str | None = None) -> list[str]:
    """``unique_id`` of each line of MATH500's test.jsonl, in line order.

    ``sha256``: the file's pin, checked before the file is parsed. ``order_from`` (with its
    pin ``order_sha256``): a pinned file the ids must equal, line by line, when the problem
    file itself is unpinned (:func:`problem_file_checks`). Errors name the file and line."""
    data = (check_file_sha256(problems_path, sha256, "the config")
            if sha256 else Path(problems_path).read_bytes())
    records, lines = read_jsonl(problems_path, data)
    ids, first_line = [], {}
    for record, line in zip(records, lines):
        problem_id = record.get("unique_id")
        if not isinstance(problem_id, str) or not problem_id:
            raise InputFileError(f"{problems_path}, line {line}: no unique_id (a non-empty "
                                 f"string); fields {sorted(record)}")
        if problem_id in first_line:
            raise InputFileError(f"{problems_path}, lines {first_line[problem_id]} and {line}: "
                                 f"unique_id {problem_id} repeats (unique_id values repeat)")
        first_line[problem_id] = line
        ids.append(problem_id)
    if len(ids) != expected:
        raise InputFileError(f"{problems_path}: expected {expected} problems, found {len(ids)}")
    if order_from is not None:
        reference = math500_problem_ids(order_from, expected, order_sha256)
        for index, (ours, theirs) in enumerate(zip(ids, reference)):
            if ours != theirs:
                raise InputFileError(
                    f"{problems_path}, line {lines[index]}: unique_id {ours}, but line "
                    f"{index + 1} of the pinned {order_from} is {theirs}; the counts' "
                    "problem_index follows the pinned file's order, so this file would map "
                    "counts to the wrong problems")
    return ids


COUNT_FILE_COLUMNS = ["problem_index", "model", "correct", "n"]
_INTEGER = re.compile(r"[+-]?[0-9]+")


def read_counts_csv(counts_path: str | Path, n_problems: int,
                    samples_per_problem: int) -> pd.DataFrame:
    """The reproduction's CSV checked row by row (every error names the file and line):
    header exactly ``problem_index, model, correct, n``; each model one of REAL_MODELS;
    problem_index, correct and n integers (no ``3.7``, no empty or NaN cell);
    0 <= problem_index < ``n_problems``; n = ``samples_per_problem``; 0 <= correct <= n; one
    row per (model, problem_index), and every index for every model. Rows in file order."""
    path = counts_path
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise InputFileError(f"{path}, line {line}: not UTF-8 text (byte "
                             f"0x{data[error.start]:02x}); the file is damaged") from None
    if not text.strip():
        raise InputFileError(f"{path}: empty file; expected the header "
                             f"{','.join(COUNT_FILE_COLUMNS)} and one row per model and problem")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader)]
    if sorted(header) != sorted(COUNT_FILE_COLUMNS) or len(header) != len(COUNT_FILE_COLUMNS):
        raise InputFileError(f"{path}, line 1: columns {header}, expected "
                             f"{sorted(COUNT_FILE_COLUMNS)}")

    def integer(cell: str, column: str, line: int) -> int:
        if not _INTEGER.fullmatch(cell):
            raise InputFileError(f"{path}, line {line}: {column} {cell!r} is not an integer")
        return int(cell)

    rows, seen = [], {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise InputFileError(f"{path}, line {line}: {len(record)} fields, expected "
                                 f"{len(header)} ({','.join(header)})")
        cells = {column: cell.strip() for column, cell in zip(header, record)}
        model = cells["model"]
        if model not in REAL_MODELS:
            raise InputFileError(f"{path}, line {line}: unknown model {model!r} (the models "
                                 f"are {sorted(REAL_MODELS)})")
        index = integer(cells["problem_index"], "problem_index", line)
        n = integer(cells["n"], "n", line)
        correct = integer(cells["correct"], "correct", line)
        if not 0 <= index < n_problems:
            raise InputFileError(f"{path}, line {line}: problem_index {index} outside "
                                 f"0..{n_problems - 1} (the problem file has {n_problems})")
        if n != samples_per_problem:
            raise InputFileError(f"{path}, line {line}: n = {n}; n differs from "
                                 f"{samples_per_problem}, the samples per problem")
        if not 0 <= correct <= n:
            raise InputFileError(f"{path}, line {line}: correct = {correct} outside [0, n = {n}]")
        if (model, index) in seen:
            raise InputFileError(f"{path}, lines {seen[model, index]} and {line}: two rows for "
                                 f"{model}, problem_index {index} (exactly one row per problem)")
        seen[model, index] = line
        rows.append((index, model, correct, n))
    if not rows:
        raise InputFileError(f"{path}: a header but no rows")
    missing_models = sorted(set(REAL_MODELS) - {model for model, _ in seen})
    if missing_models:
        raise InputFileError(f"{path}: no rows for models {missing_models} (expected models "
                             f"{sorted(REAL_MODELS)})")
    for model in REAL_MODELS:
        absent = [i for i in range(n_problems) if (model, i) not in seen]
        if absent:
            raise InputFileError(
                f"{path}: {model} does not have exactly one row for each problem index "
                f"0..{n_problems - 1}: none for {absent[:5]}{' ...' if len(absent) > 5 else ''}")
    frame = pd.DataFrame(rows, columns=COUNT_FILE_COLUMNS)
    return frame.astype({"problem_index": "int64", "correct": "int64", "n": "int64"})


def load_real_counts(counts_path: str | Path, problem_ids: list[str], benchmark: str,
                     temperature: float, metric: str, samples_per_problem: int) -> pd.DataFrame:
    """The reproduction's CSV (problem_index, model, correct, n) as our counts schema.

    Refuses a file that is not exactly one row per (model, problem index 0..P-1) with
    n = ``samples_per_problem`` and an integer 0 <= correct <= n, for both models of
    REAL_MODELS, naming the file and line (:func:`read_counts_csv`).
    """
    raw = read_counts_csv(counts_path, len(problem_ids), samples_per_problem)
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
    and verdicts, the crossover (stats.crossover, as the claims: the first k where the base
    leads, every lead change, and the k where either model is significantly ahead
    simultaneously over all k, with the CI that follows), coverage sets, the histogram's end
    bins, and the power of C1/C2 at this benchmark's size (analyses.power)."""
    from ..report.claims import (benchmark_seed, crossover_of, flip_seed, paired_difference,
                                 verdict_from_ci)
    from ..stats.bayes import PRIOR, bayes_at_n
    from ..stats.crossover import crossover_text, ranges
    from ..stats.exact import sign_flips
    from ..stats.passk import bootstrap_weights
    from ..stats.power import scope_power
    from .power import POWER_TARGETS, scope_differences

    base, rl = REAL_MODELS["base"]["model"], REAL_MODELS["simplerl"]["model"]
    level, benchmark = float(settings["ci_level"]), settings["benchmark"]
    base_t, rl_t = _per_problem(counts, base).reset_index(), _per_problem(counts, rl).reset_index()
    n_resamples = int(settings["bootstrap_resamples"])
    weights = bootstrap_weights(len(base_t), n_resamples, benchmark_seed(seed, benchmark))
    flips = sign_flips(len(base_t), n_resamples, flip_seed(seed, benchmark))
    k_max = int(min(base_t.n.min(), rl_t.n.min()))

    def at(model, k):
        row = passk[(passk.model == model) & (passk.k == k)].iloc[0]
        return {"pass_at_k": float(row.pass_at_k), "ci_low": float(row.ci_low),
                "ci_high": float(row.ci_high)}

    def power(favoured, other, k, claim):
        result = scope_power(*scope_differences(favoured, other, k), POWER_TARGETS[claim], level)
        return {name: result[name] for name in ("mde", "target", "problems_needed", "method",
                                                "spread")}

    def bayes(model):
        table = _per_problem(counts, model)
        return bayes_at_n(table.n, table.c, level)

    c1 = paired_difference(rl_t, base_t, 1, weights, level)
    c2 = paired_difference(base_t, rl_t, k_max, weights, level)
    cross = crossover_of(base_t, rl_t, flips, level)
    ends = histogram[histogram.bin.isin(["0", "1"])]
    return {
        "benchmark": benchmark, "temperature": float(settings["temperature"]),
        "metric": settings["metric"], "n": k_max, "problems": len(base_t),
        "ci_level": level, "bootstrap_resamples": n_resamples, "bayes_prior": PRIOR,
        "models": {short: {**spec, "total_correct": int(counts[counts.model == spec["model"]].c.sum()),
                           "pass_at_1": at(spec["model"], 1),
                           "pass_at_n": at(spec["model"], k_max), "bayes_at_n": bayes(spec["model"])}
                   for short, spec in REAL_MODELS.items()},
        "C1": {"difference": "pass@1(RL) - pass@1(base)", "value": c1[0], "ci_low": c1[1],
               "ci_high": c1[2], "verdict": verdict_from_ci(c1[1], c1[2]),
               "power": power(rl_t, base_t, 1, "C1")},
        "C2": {"difference": f"pass@{k_max}(base) - pass@{k_max}(RL)", "value": c2[0],
               "ci_low": c2[1], "ci_high": c2[2], "verdict": verdict_from_ci(c2[1], c2[2]),
               "crossover_k": cross.point, "crossover_ci_low": cross.ci_low,
               "crossover_ci_high": cross.ci_high,
               "lead_changes": [[k, who] for k, who in cross.lead_changes],
               "rl_ahead_k": ranges(cross.rl_ahead), "base_ahead_k": ranges(cross.base_ahead),
               "flat_k": ranges(cross.flat), "crossover": crossover_text(cross),
               "power": power(base_t, rl_t, k_max, "C2")},
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

    def power_text(claim):
        power = summary[claim]["power"]
        mde = "none" if power["mde"] is None else f"{power['mde']:.3f}"
        needed = (f"{power['problems_needed']:,} problems" if power["problems_needed"]
                  else f"no size ({power['method']})")
        return f"{claim} mde {mde}; target {power['target']:.2f} needs {needed}"

    lines = [
        f"## Real models: {base['label']} vs {rl['label']} on MATH500",
        "",
        f"{summary['problems']} problems, n = {n} samples per problem, T = {summary['temperature']:g}, "
        f"metric `{summary['metric']}`; {level:.0%} CIs from {summary['bootstrap_resamples']} "
        "problem-paired bootstrap resamples (one weight matrix for both models).",
        "",
        "| model | Hub id @ revision | correct samples | pass@1 | Bayes@N | " f"pass@{n} |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for spec in (base, rl):
        posterior = spec["bayes_at_n"]
        lines.append(f"| {spec['label']} | {spec['hub_id']}@{spec['revision']} | "
                     f"{spec['total_correct']:,} | {_ci(**_unpack(spec['pass_at_1']))} | "
                     f"{_ci(posterior['mean'], posterior['ci_low'], posterior['ci_high'])} | "
                     f"{_ci(**_unpack(spec['pass_at_n']))} |")
    lines += [
        "",
        f"Bayes@N (Hariri et al., `scorio`): the posterior mean of the mean accuracy over these "
        f"problems with its {level:.0%} credible interval; prior {summary['bayes_prior']}. It "
        "covers the sampling noise of these 500 problems only, so it is far narrower than "
        "pass@1's bootstrap CI, which also resamples the problems.",
        "",
        f"- **C1** (RL beats base at k=1): pass@1(RL) - pass@1(base) = "
        f"{_ci(c1['value'], c1['ci_low'], c1['ci_high'], percent=False)}: **{c1['verdict']}**.",
        f"- **C2** (base overtakes RL at large k): pass@{n}(base) - pass@{n}(RL) = "
        f"{_ci(c2['value'], c2['ci_low'], c2['ci_high'], percent=False)}: **{c2['verdict']}**.",
        f"- **Crossover** (as in the claims: the first k where the base's mean pass@k reaches "
        "RL's, every later lead change, and the k where either model is significantly ahead, "
        "simultaneously over every k by the paired sign-flip max-|t| test; k where both curves "
        f"are at 0 or both at 1 are not compared): {c2['crossover']}.",
        f"- **Power** at {summary['problems']} problems (80% power, one-sided "
        f"{(1 - level) / 2:.1%}; the problems needed keep the per-problem spread): "
        f"{power_text('C1')}; {power_text('C2')}.",
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
