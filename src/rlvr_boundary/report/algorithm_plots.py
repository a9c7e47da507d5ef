"""Figures of the six-algorithm and training-length studies (the paper's Fig. 8 / Fig. 1 analogs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .plots import plot_curves

ALGORITHM_COLOURS = ["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
                     "tab:cyan", "tab:olive"]
TRAINING_SERIES = [("reward", "reward (mean of the step's rollouts)"),
                   ("completion_length", "response length (tokens)"),
                   ("entropy", "token entropy (nats)")]


def plot_algorithm_curves(passk: pd.DataFrame, algorithms: dict[str, str], base: str, metric: str,
                          temperature: float, benchmark_labels: dict[str, str], title: str):
    curves = [(base, "base", "black", "-")]
    curves += [(model, name, ALGORITHM_COLOURS[i % len(ALGORITHM_COLOURS)], "-")
               for i, (name, model) in enumerate(algorithms.items())]
    return plot_curves(passk, curves, metric, temperature, benchmark_labels, title)


def plot_training_curves(histories: dict[str, pd.DataFrame], smooth: int = 10):
    """Reward, response length and entropy against step, one line per algorithm
    (rolling mean over ``smooth`` steps; columns an algorithm did not log are skipped)."""
    fig, axes = plt.subplots(1, len(TRAINING_SERIES), figsize=(4.2 * len(TRAINING_SERIES), 3.3),
                             squeeze=False)
    for ax, (column, label) in zip(axes[0], TRAINING_SERIES):
        for i, (name, history) in enumerate(histories.items()):
            if column not in history or history[column].isna().all():
                continue
            series = history[column].astype(float).rolling(smooth, min_periods=1).mean()
            ax.plot(history["step"], series, color=ALGORITHM_COLOURS[i % len(ALGORITHM_COLOURS)],
                    label=name)
        ax.set_xlabel("RL step")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"RL training curves (rolling mean over {smooth} steps)")
    fig.tight_layout()
    return fig


def plot_training_length(table: pd.DataFrame, title: str):
    """pass@1 and pass@k_max (with CIs) against training step, a panel per benchmark."""
    benchmarks = sorted(table.benchmark.unique())
    fig, axes = plt.subplots(1, max(1, len(benchmarks)), figsize=(4 * max(1, len(benchmarks)), 3.3),
                             squeeze=False, sharey=True)
    for ax, benchmark in zip(axes[0], benchmarks):
        rows = table[table.benchmark == benchmark].sort_values("step")
        k_max = int(rows.k_max.iloc[0])
        for column, label, colour in (("pass_at_1", "pass@1", "tab:red"),
                                      ("pass_at_k_max", f"pass@{k_max}", "black")):
            ax.errorbar(rows.step, rows[column],
                        yerr=[rows[column] - rows[f"{column}_ci_low"],
                              rows[f"{column}_ci_high"] - rows[column]],
                        color=colour, marker="o", capsize=3, label=label)
        ax.set_title(benchmark)
        ax.set_xlabel("RL step (0 = base)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("pass@k")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
