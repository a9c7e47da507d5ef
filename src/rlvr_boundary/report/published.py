"""The run's pass@k next to the numbers the paper printed (data/published/yue2025.csv).

Each published row names its model the way a run can find it: a released checkpoint by Hub id
(matched against the registry's ``<hub id>@<revision>``, whatever the config calls the model),
a model the paper trained itself by its base's Hub id, RL algorithm and training step (matched
against the registry's RL models of that algorithm and step whose parent is that base). The run's
value is pass@k at the row's k and temperature under one metric (analysis.published.metric), and
a difference counts as within tolerance when |run - published| <= max(tolerance_points, the run's
CI half-width), both in percentage points.
"""

from __future__ import annotations

import math

import pandas as pd

from .sections import _table

PUBLISHED_COLUMNS = ["model_label", "hub_id", "base_hub_id", "algorithm", "step", "setting",
                     "benchmark", "k", "temperature", "metric", "value", "problems", "source",
                     "derivation"]
# `main`: the paper's section 3 protocol (each model's own zero-shot prompt, T 0.6, top-p 0.95,
# 16,384 new tokens), the protocol every model of a run is sampled under. `controlled`: its
# own RL runs' evaluation (sections 4.3-4.4, Tables 3-4); a released checkpoint's numbers there
# are not its numbers under the main protocol, so only models trained here are compared to them.
SETTINGS = ("main", "controlled")
COMPARISON_COLUMNS = ["model_label", "model", "benchmark", "k", "published", "run",
                      "ci_half_width", "tolerance", "difference", "status", "note", "source"]
STATUSES = ("within", "outside", "not run")


def load_published(path) -> pd.DataFrame:
    """The published table, checked: every row a model (a Hub id, or a base Hub id with an
    algorithm and a step), a benchmark, k >= 1, a pass@k in [0, 100] and its source."""
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: lacks columns {missing}")
    for number, row in enumerate(table.to_dict("records"), start=2):
        where = f"{path}, line {number}"
        trained = bool(row["base_hub_id"] and row["algorithm"] and row["step"])
        if bool(row["hub_id"]) == trained:
            raise ValueError(f"{where}: give hub_id, or base_hub_id with algorithm and step")
        if row["setting"] not in SETTINGS:
            raise ValueError(f"{where}: setting {row['setting']!r} is not one of {SETTINGS}")
        if row["metric"] != "pass@k":
            raise ValueError(f"{where}: metric {row['metric']!r} (only pass@k is compared)")
        if not row["source"].strip():
            raise ValueError(f"{where}: no source")
        if not 0 <= float(row["value"]) <= 100 or int(row["k"]) < 1:
            raise ValueError(f"{where}: value must be in [0, 100] points and k >= 1")
    table["k"] = table["k"].astype(int)
    table["value"] = table["value"].astype(float)
    table["temperature"] = table["temperature"].astype(float)
    table["problems"] = table["problems"].astype(int)
    return table


def _hub_id(identity: str) -> str:
    """The Hub id of a registry identity ``<hub id>@<revision> sha256:...``; "" otherwise."""
    return identity.split("@", 1)[0].lower() if "@" in identity else ""


def matching_models(row: dict, registry: pd.DataFrame) -> list[str]:
    """The run's models a published row speaks of (see the module's docstring)."""
    hub = {r.model: _hub_id(r.revision_or_sha256) for r in registry.itertuples()
           if r.source == "hub"}
    if row["hub_id"]:
        return sorted(m for m, hub_id in hub.items() if hub_id == row["hub_id"].lower())
    steps = pd.to_numeric(registry["step"], errors="coerce")
    chosen = registry[(registry.role == "rl") & (registry.algorithm == row["algorithm"])
                      & (steps == int(row["step"]))]
    return sorted(r.model for r in chosen.itertuples()
                  if hub.get(r.parent) == row["base_hub_id"].lower())


def compare_with_published(passk: pd.DataFrame, registry: pd.DataFrame,
                           published: pd.DataFrame, metric: str,
                           tolerance_points: float) -> pd.DataFrame:
    """One row per published number and matching run model (one `not run` row where no model
    matches or the run has no pass@k at that benchmark, k and temperature)."""
    rows = []
    for row in published.to_dict("records"):
        base = {"model_label": row["model_label"], "benchmark": row["benchmark"], "k": row["k"],
                "published": row["value"], "source": row["source"]}
        if row["hub_id"] and row["setting"] == "controlled":
            rows.append({**base, "model": "", "status": "not run",
                         "note": "the paper's RL-study evaluation of this checkpoint; runs sample "
                                 "it under the main protocol"})
            continue
        models = matching_models(row, registry)
        if not models:
            what = (row["hub_id"] if row["hub_id"] else
                    f"{row['algorithm']} from {row['base_hub_id']} at step {row['step']}")
            rows.append({**base, "model": "", "status": "not run",
                         "note": f"no model of this run is {what}"})
            continue
        for model in models:
            on = passk[(passk.model == model) & (passk.benchmark == row["benchmark"])
                       & (passk.metric == metric)
                       & ((passk.temperature.astype(float) - row["temperature"]).abs() < 1e-9)]
            found = on[on.k == row["k"]]
            if found.empty:
                why = (f"{row['benchmark']} not sampled at T={row['temperature']:g}" if on.empty
                       else f"k = {row['k']} above the run's n = {int(on.n_samples.max())}")
                rows.append({**base, "model": model, "status": "not run", "note": why})
                continue
            r = found.iloc[0]
            run = 100 * float(r.pass_at_k)
            half = 100 * (float(r.ci_high) - float(r.ci_low)) / 2
            tolerance = max(tolerance_points, half)
            difference = run - row["value"]
            note = ("" if int(r.n_problems) >= row["problems"] else
                    f"run on {int(r.n_problems)} of the paper's {row['problems']} problems")
            rows.append({**base, "model": model, "run": run, "ci_half_width": half,
                         "tolerance": tolerance, "difference": difference,
                         "status": "within" if abs(difference) <= tolerance else "outside",
                         "note": note})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _points(value, signed=False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def published_section(comparison: pd.DataFrame, metric: str, tolerance_points: float,
                      reason: str, table_path: str) -> str:
    """claims.md's comparison with the paper: every published number, the run's value, the
    difference and whether it lies within tolerance (flagged when not)."""
    rows = [[r.model_label, r.model or "-", r.benchmark, r.k, _points(r.published),
             _points(r.run), _points(r.difference, signed=True), _points(r.tolerance),
             "**outside**" if r.status == "outside" else r.status, r.note, r.source]
            for r in comparison.itertuples()]
    counts = comparison.status.value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    return "\n".join([
        "## Against the paper's published numbers", "",
        f"pass@k in percentage points under `{metric}`, for every number {table_path} holds "
        "(each with its table in arXiv:2504.13837 and how it was read there). Tolerance: "
        f"max({tolerance_points:g} points, the run's CI half-width); {reason} A run on a "
        f"benchmark's first problems only (limit) is noted. {summary}.", "",
        *_table(["paper's model", "run model", "benchmark", "k", "published", "run",
                 "run - published", "tolerance", "status", "note", "source"], rows)])


def published_report_section(passk_path, registry: pd.DataFrame, published_path,
                             settings: dict) -> str:
    """The section from the run's passk.csv, its registry, the published table and
    analysis.published (metric, tolerance_points, tolerance_reason, file)."""
    comparison = compare_with_published(pd.read_csv(passk_path), registry,
                                        load_published(published_path), settings["metric"],
                                        float(settings["tolerance_points"]))
    return published_section(comparison, settings["metric"], float(settings["tolerance_points"]),
                             settings.get("tolerance_reason", ""), settings.get("file") or "")
