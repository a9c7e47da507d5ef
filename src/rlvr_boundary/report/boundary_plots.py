"""Figures of the boundary analyses: solvable-set bars, accuracy histograms (Fig. 5 analog),
chain-of-thought validity, the regime sweep and the crossover's spread across seeds.

Each function takes the analysis table and returns a matplotlib Figure; save it
with plots.save_figure (fixed metadata, so the same table gives the same bytes).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..analyses.coverage import HISTOGRAM_BINS, registry_studies  # noqa: E402

SET_STYLE = {  # set -> (legend label, colour)
    "both": ("both (preserved)", "tab:green"),
    "base_only": ("base only (shrunk)", "tab:gray"),
    "other_only": ("other only (expanded)", "tab:red"),
    "neither": ("neither", "whitesmoke"),
}
LINE_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]


def _panels(n: int, width: float = 4.2, height: float = 3.4, sharey: bool = True):
    fig, axes = plt.subplots(1, max(n, 1), figsize=(width * max(n, 1), height), squeeze=False,
                             sharey=sharey)
    return fig, axes[0]


def _empty(title: str):
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{title}\n(no data)", ha="center", va="center")
    return fig


def plot_coverage_bars(coverage: pd.DataFrame, title: str = "Solvable problems at k = n",
                       study: str | None = ""):
    """Per benchmark, a stacked horizontal bar per (other model vs base) pair:
    shares of problems solved by both / base only / other only / neither.
    ``study``: which registry study to draw ('' = main models, None = all)."""
    if study is not None and not coverage.empty:
        coverage = coverage[coverage["study"] == study]
    if coverage.empty:
        return _empty(title)
    benchmarks = sorted(coverage["benchmark"].unique())
    pairs = coverage.sort_values(["family", "role", "regime", "other_model"])[
        ["other_model", "base_model"]].drop_duplicates()
    labels = [f"{o} vs {b}" for o, b in pairs.itertuples(index=False)]
    fig, axes = _panels(len(benchmarks), width=4.6, height=0.5 * len(labels) + 1.8)
    for ax, benchmark in zip(axes, benchmarks):
        table = coverage[coverage["benchmark"] == benchmark].set_index("other_model")
        left = np.zeros(len(labels))
        for name, (label, colour) in SET_STYLE.items():
            share = np.array([table.at[o, name] / table.at[o, "n_problems"]
                              if o in table.index else 0.0
                              for o, _ in pairs.itertuples(index=False)])
            ax.barh(range(len(labels)), share, left=left, color=colour, edgecolor="black",
                    linewidth=0.4, label=label)
            for y, (x0, width) in enumerate(zip(left, share)):
                count = round(width * table["n_problems"].iloc[0]) if len(table) else 0
                if width >= 0.06:
                    ax.text(x0 + width / 2, y, str(count), ha="center", va="center", fontsize=7)
            left += share
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of problems (counts in bars)")
        ax.set_title(benchmark)
    axes[-1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_histograms(histogram: pd.DataFrame, registry: pd.DataFrame, family: str,
                             title: str | None = None):
    """Per benchmark, grouped bars of the share of problems per c/n bin: base vs each
    RL model of ``family`` (main models only) - does RL move mass to 0 and 1?"""
    main = registry[(registry_studies(registry) == "") & (registry["family"] == family)]
    base = main.loc[main["role"] == "base", "model"].tolist()
    rl = main[main["role"] == "rl"].sort_values(["regime", "model"])
    models = base + rl["model"].tolist()
    names = dict(zip(base, ["base"] * len(base)))
    names.update({m: f"RL ({g})" for m, g in zip(rl["model"], rl["regime"])})
    table = histogram[histogram["model"].isin(models)]
    title = title or f"family {family}: per-problem accuracy c/n"
    if table.empty:
        return _empty(title)
    benchmarks = sorted(table["benchmark"].unique())
    fig, axes = _panels(len(benchmarks), width=5.0, height=3.6)
    width = 0.8 / len(models)
    x = np.arange(len(HISTOGRAM_BINS))
    for ax, benchmark in zip(axes, benchmarks):
        for i, model in enumerate(models):
            rows = table[(table["model"] == model) & (table["benchmark"] == benchmark)]
            if rows.empty:
                continue
            share = rows.sort_values("bin_index")["share"].to_numpy()
            colour = "black" if model in base else LINE_COLOURS[(i - len(base)) % len(LINE_COLOURS)]
            ax.bar(x - 0.4 + width * (i + 0.5), share, width, color=colour, label=names[model])
        ax.set_xticks(x, HISTOGRAM_BINS, rotation=60, fontsize=7)
        ax.set_xlabel("accuracy c/n of a problem")
        ax.set_title(benchmark)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("share of problems")
    axes[-1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_cot_validity(cot: pd.DataFrame, majority: float = 0.5,
                      title: str = "Base has a valid chain on RL-solved problems",
                      study: str | None = ""):
    """Per benchmark, a bar per RL model: share of its solved problems where the base
    has a fully valid chain, with CI error bars and the 'most' line.
    ``study``: which registry study to draw ('' = main models, None = all)."""
    if study is not None and not cot.empty:
        cot = cot[cot["study"] == study]
    if cot.empty:
        return _empty(title)
    benchmarks = sorted(cot["benchmark"].unique())
    models = cot.sort_values(["family", "regime", "model"])["model"].drop_duplicates().tolist()
    fig, axes = _panels(len(benchmarks), width=0.6 * len(models) + 2.4, height=3.6)
    for ax, benchmark in zip(axes, benchmarks):
        table = cot[cot["benchmark"] == benchmark].set_index("model").reindex(models)
        share = table["share"].to_numpy(dtype=float)
        err = np.vstack([share - table["ci_low"].to_numpy(dtype=float),
                         table["ci_high"].to_numpy(dtype=float) - share])
        ax.bar(range(len(models)), np.nan_to_num(share), color="tab:red", alpha=0.7,
               yerr=np.nan_to_num(err), capsize=3, label="share (95% CI)")
        ax.axhline(majority, color="black", linestyle="--", linewidth=1,
                   label=f"'most' ({majority:g})")
        for i, (solved, valid) in enumerate(zip(table["model_solved"], table["base_valid"])):
            if not pd.isna(solved):
                ax.text(i, 0.02, f"{int(valid)}/{int(solved)}", ha="center", fontsize=7)
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(benchmark)
    checked = bool(cot["steps_checked"].all())
    axes[0].set_ylabel("share of RL-solved problems")
    axes[-1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    fig.suptitle(title + ("" if checked else " (answer_only: steps NOT checked)"))
    fig.tight_layout()
    return fig


def plot_regime_gap(regimes: pd.DataFrame,
                    title: str = "Base minus RL at k_max against RL prompt-set breadth"):
    """Gap pass@k_max(base) - pass@k_max(RL) with CI error bars against breadth (log x);
    a line per family x benchmark. Above 0: the base covers more at large k."""
    if regimes.empty:
        return _empty(title)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = regimes.groupby(["family", "benchmark"], sort=True)
    for i, ((family, benchmark), group) in enumerate(groups):
        # one point per breadth: the latest checkpoint where a regime has several
        group = (group.sort_values(["breadth", "step"], na_position="first")
                 .groupby("breadth", sort=True).tail(1))
        # a small multiplicative dodge keeps lines with equal points apart on the log axis
        ax.errorbar(group["breadth"] * 1.04 ** i, group["gap"],
                    yerr=[group["gap"] - group["gap_ci_low"], group["gap_ci_high"] - group["gap"]],
                    marker="o", capsize=3, color=LINE_COLOURS[i % len(LINE_COLOURS)],
                    label=f"{family} / {benchmark}")
    for breadth, regime in (regimes[["breadth", "regime"]].drop_duplicates()
                            .sort_values("breadth").itertuples(index=False)):
        ax.annotate(regime, (breadth, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, -10), textcoords="offset points", ha="center", fontsize=7)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("RL prompts (breadth, log scale)")
    ax.set_ylabel("pass@k_max base - RL (95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_crossover_spread(per_seed: pd.DataFrame,
                          title: str = "Crossover k across RL seeds"):
    """Crossover k (log2 y, CI bars) per seed, a column per family/regime/benchmark;
    seeds without a crossover are drawn as open markers above k_max."""
    if per_seed.empty:
        return _empty(title)
    groups = list(per_seed.groupby(["family", "regime", "benchmark"], sort=True))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(groups) + 2), 4.6))
    for x, (_, group) in enumerate(groups):
        offsets = np.linspace(-0.25, 0.25, len(group)) if len(group) > 1 else [0.0]
        for dx, row in zip(offsets, group.itertuples(index=False)):
            if row.crossed:
                ax.errorbar(x + dx, row.crossover_k, yerr=[[row.crossover_k - row.crossover_ci_low],
                            [row.crossover_ci_high - row.crossover_k]], fmt="o", color="tab:red",
                            capsize=2)
            else:
                ax.plot(x + dx, row.k_max + 1, "o", mfc="none", color="tab:gray")
    ax.plot([], [], "o", color="tab:red", label="crossover k (95% CI)")
    ax.plot([], [], "o", mfc="none", color="tab:gray", label="no crossover up to n")
    ax.set_yscale("log", base=2)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xticks(range(len(groups)), ["\n".join(key) for key, _ in groups], fontsize=7)
    ax.set_ylabel("smallest k with base >= RL")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    ax.set_title(title)
    fig.tight_layout()
    return fig
