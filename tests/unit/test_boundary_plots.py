"""Boundary figures: drawn from the analysis tables, readable, byte-identical when redrawn."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.boundary_plots import (
    plot_accuracy_histograms,
    plot_cot_validity,
    plot_coverage_bars,
    plot_crossover_spread,
    plot_regime_gap,
)
from rlvr_boundary.analyses.cot_validity import cot_validity_table
from rlvr_boundary.analyses.coverage import HISTOGRAM_BINS, accuracy_histogram, coverage_table
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.analyses.regimes import crossover_spread, regime_table

N = 8
REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime="", study=""),
    dict(model="rn", family="f", role="rl", parent="b", regime="narrow", study="", step=10),
    dict(model="rb", family="f", role="rl", parent="b", regime="broad", study="", step=10),
    dict(model="d", family="f", role="distilled", parent="b", regime="", study=""),
    dict(model="s1", family="f", role="rl", parent="b", regime="narrow", study="seeds", rl_seed=1),
    dict(model="s2", family="f", role="rl", parent="b", regime="narrow", study="seeds", rl_seed=2),
])
CORRECT = {"b": [2, 3, 0, 1, 0, 5], "rn": [8, 8, 0, 0, 0, 8], "rb": [8, 8, 8, 1, 0, 8],
           "d": [8] * 6, "s1": [8, 8, 0, 0, 0, 8], "s2": [8, 8, 8, 8, 8, 8]}


@pytest.fixture(scope="module")
def counts():
    frames = []
    for benchmark in ("easy", "hard"):
        for model, correct in CORRECT.items():
            for metric in ("trace", "answer"):
                frames.append(pd.DataFrame({
                    "model": model, "benchmark": benchmark, "temperature": 1.0, "metric": metric,
                    "problem_id": [f"{benchmark}-{i}" for i in range(6)], "n": N,
                    "c": np.asarray(correct)}))
    return pd.concat(frames, ignore_index=True)


def figures(counts):
    coverage, _ = coverage_table(counts, REGISTRY, "trace", 1.0, 100, 0)
    histogram = accuracy_histogram(counts, "trace", 1.0)
    cot = cot_validity_table(counts, REGISTRY, 1.0, 100, 0)
    regimes = regime_table(counts, REGISTRY, {"narrow": 64, "broad": 5000}, "trace", 1.0, 100, 0)
    per_seed, _ = crossover_spread(counts, REGISTRY, "trace", 1.0, 100, 0)
    return {
        "coverage": plot_coverage_bars(coverage),
        "histogram": plot_accuracy_histograms(histogram, REGISTRY, "f"),
        "cot": plot_cot_validity(cot),
        "regimes": plot_regime_gap(regimes),
        "seeds": plot_crossover_spread(per_seed),
    }


def _data_axes(fig):
    return [ax for ax in fig.axes if ax.has_data()]


def test_figures_have_panels_titles_labels_and_legends(counts):
    figs = figures(counts)
    try:
        assert len(_data_axes(figs["coverage"])) == 2  # a panel per benchmark
        assert [ax.get_title() for ax in _data_axes(figs["histogram"])] == ["easy", "hard"]
        hist_ax = figs["histogram"].axes[0]
        assert [t.get_text() for t in hist_ax.get_xticklabels()] == list(HISTOGRAM_BINS)
        labels = [t.get_text() for t in figs["histogram"].axes[-1].get_legend().get_texts()]
        assert labels == ["base", "RL (broad)", "RL (narrow)"]  # seed-study models left out
        coverage_labels = [t.get_text() for t in figs["coverage"].axes[0].get_yticklabels()]
        assert "rn vs b" in coverage_labels and "d vs b" in coverage_labels
        assert "s1 vs b" not in coverage_labels  # main models only by default
        assert figs["regimes"].axes[0].get_xscale() == "log"
        assert len(figs["regimes"].axes[0].get_legend().get_texts()) == 2  # family x benchmark
        for name, fig in figs.items():
            assert fig._suptitle is not None or fig.axes[0].get_title(), name
            assert all(ax.get_xlabel() or ax.get_xticklabels() for ax in _data_axes(fig)), name
            assert _data_axes(fig)[0].get_ylabel() or name == "coverage", name
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_redrawn_figures_are_byte_identical(counts, tmp_path):
    for attempt in ("a", "b"):
        figs = figures(counts)
        for name, fig in figs.items():
            for ext in ("png", "pdf"):
                save_figure(fig, str(tmp_path / f"{name}_{attempt}.{ext}"), dpi=40)
            plt.close(fig)
    for name in ("coverage", "histogram", "cot", "regimes", "seeds"):
        for ext in ("png", "pdf"):
            first = (tmp_path / f"{name}_a.{ext}").read_bytes()
            assert first and first == (tmp_path / f"{name}_b.{ext}").read_bytes(), (name, ext)


def test_empty_tables_give_a_placeholder(tmp_path):
    for fig in (plot_coverage_bars(pd.DataFrame()), plot_cot_validity(pd.DataFrame()),
                plot_regime_gap(pd.DataFrame()), plot_crossover_spread(pd.DataFrame()),
                plot_accuracy_histograms(pd.DataFrame(columns=["model"]), REGISTRY, "f")):
        assert "no data" in fig.axes[0].texts[0].get_text()
        plt.close(fig)
