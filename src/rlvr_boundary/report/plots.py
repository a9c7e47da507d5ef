"""Figures: pass@k curves with bootstrap CI bands (the paper's Fig. 2 analog)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

ROLE_STYLE = {"base": ("black", "-"), "rl": ("tab:red", "-"), "distilled": ("tab:blue", "--"),
              "imported": ("tab:gray", ":")}
REGIME_COLOURS = ["tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink"]
# Fixed metadata so the same data gives the same bytes (no creation dates).
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
            "svg": {"Date": None}}


def _label(row) -> str:
    if row.role == "rl":
        return f"RL ({row.regime})"
    return {"base": "base", "distilled": "distilled"}.get(row.role, row.model)


def main_models(registry: pd.DataFrame) -> pd.DataFrame:
    """The main study's models (study models have figures of their own)."""
    return registry[registry.study.fillna("") == ""] if "study" in registry else registry


def plot_passk_curves(passk: pd.DataFrame, registry: pd.DataFrame, family: str, metric: str,
                      temperature: float, benchmark_labels: dict[str, str]):
    """One panel per benchmark: pass@k against k (log2 axis) for each model of ``family``."""
    models = main_models(registry)
    models = models[models.family == family].sort_values(["role", "regime", "model"])
    regimes = sorted(models.regime[models.role == "rl"].unique())
    curves = []
    for row in models.itertuples():
        colour, style = ROLE_STYLE.get(row.role, ("tab:gray", ":"))
        if row.role == "rl":
            colour = REGIME_COLOURS[regimes.index(row.regime) % len(REGIME_COLOURS)]
        curves.append((row.model, _label(row), colour, style))
    return plot_curves(passk, curves, metric, temperature, benchmark_labels,
                       f"family {family}: pass@k with 95% problem-paired bootstrap CIs, "
                       f"T={temperature}")


def plot_curves(passk: pd.DataFrame, curves: list[tuple[str, str, str, str]], metric: str,
                temperature: float, benchmark_labels: dict[str, str], title: str):
    """pass@k curves with CI bands, a panel per benchmark; curves: (model, label, colour,
    line style). Benchmarks without any of the curves' data are left out."""
    table = passk[(passk.metric == metric) & (passk.temperature.round(6) == round(temperature, 6))]
    wanted = {model for model, *_ in curves}
    benchmarks = [b for b in benchmark_labels
                  if not table[(table.benchmark == b) & table.model.isin(wanted)].empty]
    fig, axes = plt.subplots(1, max(1, len(benchmarks)), figsize=(4 * max(1, len(benchmarks)), 3.4),
                             squeeze=False, sharey=True)
    for ax, benchmark in zip(axes[0], benchmarks):
        for model, label, colour, style in curves:
            curve = table[(table.model == model) & (table.benchmark == benchmark)].sort_values("k")
            if curve.empty:
                continue
            ax.plot(curve.k, curve.pass_at_k, style, color=colour, label=label, marker="o",
                    markersize=3)
            ax.fill_between(curve.k, curve.ci_low, curve.ci_high, color=colour, alpha=0.15,
                            linewidth=0)
        ax.set_xscale("log", base=2)
        label = benchmark_labels[benchmark]
        ax.set_title(f"{benchmark} ({label})" if label else benchmark)
        ax.set_xlabel("k")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"pass@k ({metric})")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str, dpi: int) -> None:
    ext = path.rsplit(".", 1)[-1]
    fig.savefig(path, dpi=dpi, metadata=METADATA.get(ext))
