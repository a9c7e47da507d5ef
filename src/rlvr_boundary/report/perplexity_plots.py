"""Figure: per-problem perplexity distributions side by side (the paper's Fig. 6 analog)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PANELS = {"ppl_per_token": "per-token PPL", "ppl_matched_length": "matched-length PPL"}
COLOURS = ["0.55", "tab:red", "tab:orange", "tab:blue", "tab:purple", "tab:green"]


def plot_perplexity_distributions(table: pd.DataFrame, distributions: list[tuple[str, str, str]],
                                  family: str, benchmark_labels: dict[str, str]):
    """Rows: per-token and matched-length perplexity; columns: benchmarks; in each panel one
    box per distribution (label, scorer, responses), e.g. ("PPL_base(Y_RL)", base, rl), over
    the problems of that benchmark. ``table``: :func:`~rlvr_boundary.analyses.perplexity.perplexity_table`
    rows with a ``benchmark`` column. A distribution without rows leaves an empty slot."""
    benchmarks = list(benchmark_labels)
    fig, axes = plt.subplots(len(PANELS), len(benchmarks), squeeze=False,
                             figsize=(1.2 + 1.1 * len(distributions) * len(benchmarks), 6.4))
    labels = [label for label, _, _ in distributions]
    positions = np.arange(1, len(distributions) + 1)
    for row, (column, title) in enumerate(PANELS.items()):
        for ax, benchmark in zip(axes[row], benchmarks):
            here = table[table.benchmark == benchmark]
            for position, (_, scorer, responses), colour in zip(
                    positions, distributions, COLOURS * len(distributions)):
                values = here.loc[(here.scorer == scorer) & (here.responses == responses), column]
                values = values.dropna().to_numpy()
                if not len(values):
                    continue
                box = ax.boxplot(values, positions=[position], widths=0.6, patch_artist=True,
                                 showmeans=True, meanprops={"marker": "D", "markersize": 4,
                                                            "markerfacecolor": "white",
                                                            "markeredgecolor": "black"},
                                 medianprops={"color": "black"}, flierprops={"markersize": 2})
                box["boxes"][0].set_facecolor(colour)
                box["boxes"][0].set_alpha(0.7)
            ax.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
            ax.set_xlim(0.4, len(distributions) + 0.6)
            ax.grid(axis="y", alpha=0.3)
            if row == 0:
                analog = benchmark_labels[benchmark]
                ax.set_title(f"{benchmark} ({analog})" if analog else benchmark)
        axes[row][0].set_ylabel(title)
    n_samples = sorted(table.n_samples.unique()) if "n_samples" in table else []
    fig.suptitle(f"family {family}: per-problem perplexity of responses under each scorer"
                 + (f" ({', '.join(map(str, n_samples))} responses per problem)" if n_samples else ""))
    fig.tight_layout()
    return fig
