"""Sections of claims.md drawn from the studies' tables (each optional)."""

from __future__ import annotations

import math

import pandas as pd

# Written before any result: which regime the paper's setting is like, and why.
PAPER_REGIME_NOTE = (
    "The paper's RL models were trained on small RL sets next to pretraining (e.g. "
    "SimpleRL-Zoo: ~8K MATH problems for ~100 steps), so its setting resembles `narrow`, not "
    "`broad` (the analog of prolonged, broad RL such as ProRL). Every regime's verdict is "
    "shown, whether or not it agrees with the paper."
)


def _ci(low, high, digits=3, signed=True) -> str:
    """[low, high]; differences are signed, levels (pass@k, dSE) are not."""
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return ""
    sign = "+" if signed else ""
    return f"[{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"


def _k(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return f"{int(value)}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def regimes_section(regimes: pd.DataFrame) -> str:
    rows = [[r.family, r.regime, int(r.breadth), r.benchmark,
             f"{r.gap:+.3f} {_ci(r.gap_ci_low, r.gap_ci_high)}", r.both, r.base_only, r.rl_only,
             _k(r.crossover_k), r.c1_verdict, r.c2_verdict]
            for r in regimes.sort_values(["family", "breadth", "benchmark"]).itertuples()]
    return "\n".join([
        "## Regimes sweep: RL prompt-set breadth and corpus rarity", "",
        "Base minus RL at k_max with its CI, problems only one model solves at k = n, the "
        "crossover k, and C1/C2 per scope (each scope's one-sided exact test on its own, without "
        "the Holm correction the claims above apply; `not estimable` where both models are at 0, "
        "or both at 1, on every problem). `deep_common` is the deep base pretrained on a corpus "
        "where the rare facts are right far more often. Figure: results/figures/regime_gap.", "",
        PAPER_REGIME_NOTE, "",
        *_table(["family", "regime", "RL prompts", "benchmark", "base - RL at k_max [CI]", "both",
                 "base only", "RL only", "crossover k", "C1", "C2"], rows)])


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def seeds_section(per_seed: pd.DataFrame, spread: pd.DataFrame) -> str:
    rows = [[r.family, r.regime, r.benchmark, r.n_seeds, getattr(r, "n_not_compared", 0),
             r.n_no_crossover, _k(r.crossover_min), _k(r.crossover_median), _k(r.crossover_max)]
            for r in spread.itertuples()]
    seeds = [[r.model, r.benchmark, _k(r.crossover_k), f"[{_k(r.crossover_ci_low)}, "
              f"{_k(r.crossover_ci_high)}]", _text(getattr(r, "lead_changes", "")),
              _text(getattr(r, "rl_ahead_k", "")), _text(getattr(r, "base_ahead_k", ""))]
             for r in per_seed.itertuples()]
    return "\n".join([
        "## The crossover across RL seeds", "",
        "Reproductions found that the crossover k moves with the RL seed; here each seed is "
        "a separate RL run from the same base (the main model is seed 0). The crossover k is "
        "the first k where the base's mean pass@k reaches the RL model's; k where both curves "
        "are at 0 or both at 1 are not compared (a seed flat at every k is counted apart, never "
        "as a crossover). Its CI comes from the k where either model is significantly ahead, "
        "simultaneously over every k (paired sign-flip max-t test): RL ahead at 1..a and the "
        "base ahead at b put the crossover in [a+1, b]; an end above k_max means the base is "
        "never significantly ahead. Lead changes list every crossing of the point curves "
        "(who leads from which k). Figure: results/figures/crossover_spread.", "",
        *_table(["family", "regime", "benchmark", "seeds", "flat at every k", "no crossover",
                 "min k", "median k", "max k"], rows), "",
        *_table(["model", "benchmark", "crossover k", "CI", "lead changes", "RL ahead at k",
                 "base ahead at k"], seeds)])


def _k_interval(low, high, k_max) -> str:
    """[low, high] of a crossover; k_max + 1 stands for "beyond k_max"."""
    def end(value):
        return f">{int(k_max)}" if value > k_max else _k(value)
    return f"[{end(low)}, {end(high)}]"


def _crossover_cell(row) -> str:
    """"k [low, high]", or "flat at every k" where no k was compared (no lead changes)."""
    if not _text(getattr(row, "lead_changes", "compared")):
        return "flat at every k"
    interval = _k_interval(row.crossover_ci_low, row.crossover_ci_high, row.k_max)
    return f"{_k(row.crossover_k)} {interval}"


def temperature_section(table: pd.DataFrame) -> str:
    rows = [[r.rl_model, r.benchmark, r.comparison, f"{r.base_temperature:g}",
             f"{r.rl_temperature:g}", f"{r.base_entropy:.3f}", f"{r.rl_entropy:.3f}",
             f"{r.gap_k_max:+.3f} {_ci(r.gap_ci_low, r.gap_ci_high)}",
             _crossover_cell(r),
             _text(getattr(r, "rl_ahead_k", "")), _text(getattr(r, "base_ahead_k", ""))]
            for r in table.itertuples()]
    return "\n".join([
        "## Temperature and entropy (robustness of C2)", "",
        "Base minus RL at k_max with the same temperature for both, and with the RL model at "
        "the temperature whose mean token entropy is closest to the base's at the claims' "
        "temperature. The crossover is the claims' (the first k where the base's mean pass@k "
        "reaches RL's; k where both curves are at 0 or both at 1 are not compared) with its "
        "interval from the k where either model is significantly ahead, simultaneously over "
        "every k (paired sign-flip max-|t| test; >k_max: the base is never significantly "
        "ahead). Figures: results/figures/passk_temperatures_*.", "",
        *_table(["RL model", "benchmark", "comparison", "base T", "RL T", "base entropy",
                 "RL entropy", "base - RL at k_max [CI]", "crossover k [CI]", "RL ahead at k",
                 "base ahead at k"], rows)])


def training_length_section(table: pd.DataFrame) -> str:
    rows = [[r.model, r.step, r.benchmark,
             f"{r.pass_at_1:.3f} {_ci(r.pass_at_1_ci_low, r.pass_at_1_ci_high, signed=False)}",
             f"{r.pass_at_k_max:.3f} "
             f"{_ci(r.pass_at_k_max_ci_low, r.pass_at_k_max_ci_high, signed=False)}"]
            for r in table.itertuples()]
    k_max = int(table.k_max.max()) if len(table) else 0
    return "\n".join([
        "## Training length (Table 3 / Fig. 1 analog)", "",
        "One run at its intermediate checkpoints (step 0 = the base). The paper: pass@1 rises "
        "with training while pass@k_max falls or stays. Figure: results/figures/training_length.",
        "", *_table(["model", "step", "benchmark", "pass@1 [CI]", f"pass@{k_max} [CI]"], rows)])


def algorithms_section(gap: pd.DataFrame) -> str:
    rows = [[r.algorithm, r.benchmark,
             f"{r.pass_at_1:.3f} {_ci(r.pass_at_1_ci_low, r.pass_at_1_ci_high, signed=False)}",
             f"{r.base_pass_at_k_max:.3f}",
             f"{r.dse:.3f} {_ci(r.dse_ci_low, r.dse_ci_high, signed=False)}"]
            for r in gap.itertuples()]
    k_max = int(gap.k_max.max()) if len(gap) else 0
    return "\n".join([
        "## Sampling-efficiency gap per algorithm (Fig. 8 analog)", "",
        f"dSE = pass@{k_max}(base) - pass@1(RL), lower is better; CIs by problem-paired "
        "bootstrap. Figures: results/figures/passk_curves_algorithms, training_curves_algorithms.",
        "", *_table(["algorithm", "benchmark", "pass@1 [CI]", f"base pass@{k_max}", "dSE [CI]"],
                    rows)])


def real_section(markdown: str) -> str:
    """results/real/report.md as a section: its headings one level down."""
    lines = ["## Real models (not the tiny world)", ""]
    for line in markdown.strip().splitlines():
        lines.append("#" + line if line.startswith("#") else line)
    return "\n".join(lines)


def _stop_text(stop: str) -> str:
    """A stop string readable in a table cell: newlines and pipes escaped."""
    return stop.replace("\n", "\\n").replace("|", "\\|")


def stop_reasons_section(stops: pd.DataFrame) -> str:
    """Paper scale: what ended the samples, per model, benchmark and temperature: a stop
    string, a stop token (``eos:<id>``) or the length limit, as shares of the samples."""
    rows = [[model, benchmark, f"{temperature:g}", int(group.samples.sum()),
             ", ".join(f"`{_stop_text(r.stop_reason)}` {r.share:.1%}"
                       for r in group.itertuples())]
            for (model, benchmark, temperature), group
            in stops.groupby(["model", "benchmark", "temperature"], sort=True)]
    lines = ["## Where the samples stopped", "",
             "Each template's stop strings and stop token ids, as the paper's evaluation code "
             "(a model writing past its turn shows here as a stop string), or `length` at "
             "max_new_tokens. Source: tables/stop_reasons.csv.", ""]
    return "\n".join(lines + _table(["model", "benchmark", "T", "samples", "stopped by"], rows))


def grading_section(grading: pd.DataFrame) -> str:
    """Paper scale: per model and benchmark, samples cut short at max_new_tokens, answers
    over the grading time limit, and how often math-verify and the lenient rules disagree."""
    graded = "truncated_graded" in grading and bool(grading.truncated_graded.any())
    rows = [[r.model, r.benchmark, f"{r.temperature:g}", int(r.samples),
             f"{int(r.truncated)} ({r.truncated / r.samples:.1%})"
             + (f", {int(r.truncated_correct_math_verify)} correct" if graded else ""),
             int(r.timeout_math_verify), f"{r.correct_math_verify / r.samples:.3f}",
             f"{r.correct_lenient / r.samples:.3f}", int(r.only_math_verify), int(r.only_lenient),
             f"{r.disagreement_rate:.2%}"]
            for r in grading.sort_values(["model", "benchmark", "temperature"]).itertuples()]
    lines = ["## Grading: truncation, timeouts and the two graders", "",
             ("Truncated samples (finish_reason = length) are graded like the others, as the "
              "paper's evaluation did (grading.grade_truncated), and counted; "
              if graded else
              "Truncated samples (finish_reason = length) are not graded and count as wrong; ")
             + "a timeout is its own status. `lenient` is the paper's rules (last-number fallback, "
             "percentage tolerance): where it credits answers math-verify does not, the "
             "original code's large-k pass rates were inflated. Source: tables/grading.csv.", ""]
    lines += _table(["model", "benchmark", "T", "samples", "truncated", "timeouts",
                     "accuracy math-verify", "accuracy lenient", "only math-verify",
                     "only lenient", "disagree"], rows)
    return "\n".join(lines)
