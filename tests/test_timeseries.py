"""Errors of correlated time averages and the halves test, against processes with known answers."""
import math

import numpy as np
import pytest

from llzo_dp_tools.timeseries import halves, integrated_time, mean_error


def ar1(n, phi, seed):
    """x_t = phi x_{t-1} + noise: tau_int = (1 + phi) / (2 (1 - phi)), var = 1 / (1 - phi^2)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0] / math.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_integrated_time_of_ar1(phi):
    tau_true = (1 + phi) / (2 * (1 - phi))
    taus = [integrated_time(ar1(20000, phi, seed)) for seed in range(4)]
    assert np.mean(taus) == pytest.approx(tau_true, rel=0.1)


def test_error_of_the_mean_matches_the_spread_of_independent_runs():
    """The quoted error of each run's mean is the scatter of the means over many runs."""
    phi, n = 0.8, 4000
    runs = [mean_error(ar1(n, phi, seed)) for seed in range(200)]
    spread = np.std([r.mean for r in runs], ddof=1)
    quoted = np.mean([r.error for r in runs])
    assert quoted == pytest.approx(spread, rel=0.15)
    naive = math.sqrt(1 / (1 - phi ** 2) / n)
    assert quoted > 2.5 * naive  # the correlation is not ignored


def test_short_or_slow_series_has_no_error_estimate():
    assert math.isnan(mean_error([1.0, 2.0, 3.0]).error)
    slow = np.linspace(0.0, 1.0, 40) + 0.01 * np.random.default_rng(0).normal(size=40)
    assert math.isnan(mean_error(slow).error)  # a drift never decorrelates
    assert mean_error(np.ones(50)).error == 0.0


def test_halves_agree_for_a_stationary_series_and_not_for_a_drift():
    x = ar1(4000, 0.5, 3)
    assert halves(x).agree is True
    assert halves(x + np.linspace(0.0, 1.0, len(x))).agree is False
    assert halves([1.0, 2.0, 3.0, 4.0]).agree is None
