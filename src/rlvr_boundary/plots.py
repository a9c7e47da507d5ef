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


def plot_passk_curves(passk: pd.DataFrame, registry: pd.DataFrame, family: str, metric: str,
                      temperature: float, benchmark_labels: dict[str, str]):
    """One panel per benchmark: pass@k against k (log2 axis) for each model of ``family``."""
    models = registry[registry.family == family].sort_values(["role", "regime", "model"])
    table = passk[(passk.metric == metric) & (passk.temperature.round(6) == round(temperature, 6))]
    benchmarks = list(benchmark_labels)
    fig, axes = plt.subplots(1, len(benchmarks), figsize=(4 * len(benchmarks), 3.4),
                             squeeze=False, sharey=True)
    regimes = sorted(models.regime[models.role == "rl"].unique())
    for ax, benchmark in zip(axes[0], benchmarks):
        for row in models.itertuples():
            curve = table[(table.model == row.model) & (table.benchmark == benchmark)].sort_values("k")
            if curve.empty:
                continue
            colour, style = ROLE_STYLE.get(row.role, ("tab:gray", ":"))
            if row.role == "rl":
                colour = REGIME_COLOURS[regimes.index(row.regime) % len(REGIME_COLOURS)]
            ax.plot(curve.k, curve.pass_at_k, style, color=colour, label=_label(row), marker="o",
                    markersize=3)
            ax.fill_between(curve.k, curve.ci_low, curve.ci_high, color=colour, alpha=0.15,
                            linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{benchmark} ({benchmark_labels[benchmark]})" if benchmark_labels[benchmark]
                     else benchmark)
        ax.set_xlabel("k")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"pass@k ({metric})")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"family {family}: pass@k with 95% problem-paired bootstrap CIs, T={temperature}")
    fig.tight_layout()
    return fig


def save_figure(fig, path: str, dpi: int) -> None:
    ext = path.rsplit(".", 1)[-1]
    fig.savefig(path, dpi=dpi, metadata=METADATA.get(ext))
