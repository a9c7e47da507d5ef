"""Unit tests for the unbiased pass@k estimator and bootstrap helpers."""

import math
from fractions import Fraction

import numpy as np
import pytest

from rlvr_boundary.stats.passk import (
    bootstrap_mean_ci,
    bootstrap_weights,
    k_grid,
    pass_at_k,
    pass_at_k_matrix,
)


def exact_pass_at_k(n, c, k):
    """1 - C(n-c,k)/C(n,k) in exact rational arithmetic."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def _cases():
    rng = np.random.default_rng(123)
    cases = [(10, 0, 1), (10, 0, 10), (10, 10, 1), (10, 10, 10), (300, 0, 300), (300, 300, 1),
             (300, 1, 1), (300, 1, 300), (300, 299, 1), (300, 150, 150), (1, 0, 1), (1, 1, 1)]
    for _ in range(200):
        n = int(rng.integers(1, 301))
        cases.append((n, int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))))
    return cases


@pytest.mark.parametrize("n,c,k", _cases())
def test_scalar_matches_exact_rational(n, c, k):
    assert abs(pass_at_k(n, c, k) - float(exact_pass_at_k(n, c, k))) < 1e-12


def test_matrix_matches_exact_rational():
    for n, c, k in _cases():
        value = pass_at_k_matrix([n], [c], [k])[0, 0]
        assert abs(value - float(exact_pass_at_k(n, c, k))) < 1e-12, (n, c, k)


def test_edge_values_are_exact():
    assert pass_at_k(50, 0, 50) == 0.0
    assert pass_at_k(50, 50, 1) == 1.0
    assert pass_at_k(50, 10, 41) == 1.0  # n - c < k
    matrix = pass_at_k_matrix([50, 50, 50], [0, 50, 10], [1, 41, 50])
    assert np.all(matrix[0] == 0.0) and not np.any(np.signbit(matrix[0]))
    assert np.all(matrix[1] == 1.0)
    assert matrix[2, 1] == 1.0 and matrix[2, 2] == 1.0


@pytest.mark.parametrize("n,c,k", [(8, 2, 9), (8, 2, 0), (8, -1, 1), (8, 9, 1)])
def test_scalar_rejects_invalid(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_k_greater_than_n_message():
    with pytest.raises(ValueError, match=r"undefined for k > n \(k=9, n=8\)"):
        pass_at_k(8, 2, 9)
    with pytest.raises(ValueError, match=r"undefined for k > n \(k=20, n=16\)"):
        pass_at_k_matrix([32, 16, 64], [1, 2, 3], [1, 20])


def test_matrix_rejects_bad_counts():
    with pytest.raises(ValueError):
        pass_at_k_matrix([8, 8], [3, 9], [1])
    with pytest.raises(ValueError):
        pass_at_k_matrix([8, 8], [3, 4], [0, 1])


def test_matrix_equals_scalar_loop_with_mixed_n():
    rng = np.random.default_rng(7)
    n = rng.integers(20, 200, size=60)
    c = np.array([rng.integers(0, m + 1) for m in n])
    ks = [1, 3, 7, 16, 20]
    matrix = pass_at_k_matrix(n, c, ks)
    expected = np.array([[pass_at_k(m, x, k) for k in ks] for m, x in zip(n, c)])
    assert matrix.shape == (60, 5)
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-12)


def test_matrix_all_k_is_monotone_in_k():
    matrix = pass_at_k_matrix([128] * 4, [0, 1, 5, 128], np.arange(1, 129))
    assert np.all(np.diff(matrix, axis=1) >= -1e-15)


def test_k_grid():
    assert k_grid(1) == [1]
    assert k_grid(2) == [1, 2]
    assert k_grid(128) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert k_grid(100) == [1, 2, 4, 8, 16, 32, 64, 100]
    with pytest.raises(ValueError):
        k_grid(0)


def test_bootstrap_weights_rows_sum_and_seed():
    w = bootstrap_weights(37, 200, seed=5)
    assert w.shape == (200, 37)
    assert np.all(w.sum(axis=1) == 37)
    assert np.array_equal(w, bootstrap_weights(37, 200, seed=5))
    assert not np.array_equal(w, bootstrap_weights(37, 200, seed=6))


def test_bootstrap_ci_contains_point():
    per_problem = np.linspace(0.0, 1.0, 50)
    w = bootstrap_weights(50, 1000, seed=0)
    point, low, high = bootstrap_mean_ci(per_problem, w)
    assert point == pytest.approx(0.5)
    assert low < point < high
    assert 0.3 < low and high < 0.7

    points, lows, highs = bootstrap_mean_ci(np.column_stack([per_problem, per_problem**2]), w)
    assert points.shape == lows.shape == highs.shape == (2,)
    assert np.all(lows <= points) and np.all(points <= highs)
    assert lows[0] == pytest.approx(low) and highs[0] == pytest.approx(high)


def test_bootstrap_ci_constant_is_degenerate():
    w = bootstrap_weights(20, 100, seed=1)
    assert bootstrap_mean_ci(np.full(20, 0.25), w) == pytest.approx((0.25, 0.25, 0.25))
