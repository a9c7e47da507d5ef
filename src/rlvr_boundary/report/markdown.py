"""The claims report: claims.json (one row per claim and scope) and claims.md."""

from __future__ import annotations

import pandas as pd

from .claims import STATEMENTS, evaluate_claims
from .decision import VERDICTS
from .decision import decision_rule_lines

CLAIM_FIELDS = ["id", "scope", "statement", "metric", "value", "ci_low", "ci_high", "verdict",
                "estimable", "why", "mde", "p_holds", "p_refutes", "p_refutes_holm", "evidence"]
SOURCES = {
    "C1": "results/tables/passk.csv (k=1); results/figures/passk_curves_*",
    "C2": "results/tables/passk.csv (k=n); results/figures/passk_curves_*",
    "C3": "results/tables/coverage.csv (test=coverage), perplexity.csv (test=perplexity); "
    "results/figures/coverage, perplexity_*",
    "C4": "results/tables/coverage.csv, coverage_problems.csv, accuracy_histogram.csv; "
    "results/figures/coverage, accuracy_histograms_*",
    "C5": "results/tables/cot_validity.csv; results/figures/cot_validity",
    "C8": "derived from C1 and C4 (per regime) and C7 (overall)",
    "C6": "results/tables/sampling_efficiency_gap.csv, algorithm_pairs.csv, training_length.csv; "
    "results/figures/passk_curves_algorithms, training_curves_algorithms, training_length",
    "C7": "results/tables/passk.csv (k=n); results/figures/passk_curves_*",
}


def claim_rows(counts: pd.DataFrame, registry: pd.DataFrame, settings: dict,
               study_rows: list[dict] = ()) -> list[dict]:
    """C1, C2, C7 from the counts, with the studies' claims (see assemble_claims)."""
    return assemble_claims(evaluate_claims(counts, registry, settings), study_rows)


def assemble_claims(rows: list[dict], study_rows: list[dict] = ()) -> list[dict]:
    """claims.evaluate_claims rows; claims computed by the studies (``study_rows``) replace
    their 'not computed' placeholder; checked and in claim order."""
    computed = {row["id"] for row in study_rows}
    rows = [row for row in rows if row["id"] not in computed] + list(study_rows)
    order = list(STATEMENTS)
    rows = sorted(rows, key=lambda row: order.index(row["id"]))  # stable within a claim
    defaults = {"estimable": True, "why": ""}
    rows = [{field: row.get(field, defaults.get(field)) for field in CLAIM_FIELDS}
            for row in rows]
    for row in rows:
        assert row["verdict"] in VERDICTS, row
    missing = set(STATEMENTS) - {row["id"] for row in rows if row["scope"] == "overall"}
    if missing:
        raise AssertionError(f"claims without an overall row: {sorted(missing)}")
    return rows


def name_missing_inputs(rows: list[dict], missing: dict[str, str]) -> list[dict]:
    """A claim the configuration cannot compute says which input it lacks: its overall
    'not computed' row's evidence becomes ``missing[claim]`` (e.g. no model with role
    `distilled`, no annotation file yet, study not in the configuration)."""
    return [{**row, "evidence": missing[row["id"]]}
            if row["scope"] == "overall" and row["verdict"] == "not computed"
            and row["id"] in missing else row for row in rows]


def _number(value) -> str:
    return "" if value is None else f"{value:+.3f}"


def _interval(row) -> str:
    if row["ci_low"] is None:
        return ""
    return f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"


def tiny_world_context(settings: dict, benchmark_labels: dict[str, str],
                       regimes: dict) -> list[str]:
    """What the tiny world's metric, benchmarks and regimes mean (claims.md's opening)."""
    return [
        f"Metric `{settings['metric']}`: every step and the answer right.",
        "Benchmarks (tiny-world analogs): " + ", ".join(
            f"`{name}` ~ {label}" for name, label in benchmark_labels.items()) + ".",
        "RL regimes: " + ", ".join(f"`{name}` ({spec['prompts']} RL prompts)"
                                   for name, spec in regimes.items()) + ".",
    ]


def render_markdown(rows: list[dict], settings: dict, context: list[str],
                    sections: list[str] = ()) -> str:
    """claims.md: verdicts, per-regime verdicts, every claim's scopes, then ``sections``
    (the studies' tables, see report_sections). ``context``: lines saying what the
    metric, benchmarks and regimes are (e.g. :func:`tiny_world_context`)."""
    level = round(100 * settings["ci_level"])
    lines = [
        "# Claims report",
        "",
        *decision_rule_lines(float(settings["ci_level"])),
        "",
        "## Setting",
        "",
        f"Each claim of the note as a number with a {level}% interval (problem-paired bootstrap, "
        f"{settings['n_resamples']} resamples, or exact where stated) and a verdict by the rule "
        f"above. Metric: `{settings['metric']}`; sampling temperature {settings['temperature']}.",
        "",
        *context,
        "",
        "## Verdicts",
        "",
        "| claim | verdict | evidence |",
        "|---|---|---|",
    ]
    for row in rows:
        if row["scope"] == "overall":
            lines.append(f"| {row['id']} | **{row['verdict']}** | {row['evidence']} |")
    lines += ["", "## Verdicts per regime", "", "| claim | regime | verdict | evidence |",
              "|---|---|---|---|"]
    for row in rows:
        if row["scope"].startswith("regime="):
            lines.append(f"| {row['id']} | {row['scope'].split('=', 1)[1]} | {row['verdict']} | "
                         f"{row['evidence']} |")
    for claim, statement in STATEMENTS.items():
        scoped = [r for r in rows if r["id"] == claim and r["scope"] not in ("overall",)
                  and not r["scope"].startswith("regime=")]
        lines += ["", f"## {claim}: {statement}", ""]
        if claim in SOURCES:
            lines.append(f"From: {SOURCES[claim]}")
            lines.append("")
        overall = next(r for r in rows if r["id"] == claim and r["scope"] == "overall")
        if not scoped:
            lines.append(f"Verdict: {overall['verdict']}. {overall['evidence']}")
            continue
        if overall["value"] is not None:
            lines.append(f"Pooled effect (description only, decides nothing): "
                         f"{_number(overall['value'])} {_interval(overall)}".rstrip() + ".")
            lines.append("")
        lines += ["| scope | value | CI | verdict | mde | p (Holm) against | evidence |",
                  "|---|---|---|---|---|---|---|"]
        for row in scoped:
            verdict = row["verdict"] + (f" ({row['why']})" if not row.get("estimable", True)
                                        and row.get("why") else "")
            mde = "" if row.get("mde") is None else f"{row['mde']:.3f}"
            against = "" if row.get("p_refutes_holm") is None else f"{row['p_refutes_holm']:.3g}"
            lines.append(f"| {row['scope']} | {_number(row['value'])} | {_interval(row)} | "
                         f"{verdict} | {mde} | {against} | {row['evidence']} |")
    for section in sections:
        lines += ["", section]
    return "\n".join(lines) + "\n"
