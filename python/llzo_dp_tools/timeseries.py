"""Errors of time averages from correlated MD samples, and the stationarity test of a run.

Successive MD samples are correlated, so the naive standard error sigma/sqrt(N) is too small by
sqrt(2 tau), tau the integrated autocorrelation time in samples:

    tau = 1/2 + sum_{t>=1} rho(t),   error of the mean = sqrt(var * 2 tau / N).

The sum is cut at Sokal's self-consistent window (the first W with W >= C * tau(W), C = 5),
which keeps the noise of the far tail out. A series too short to see its own correlation
(fewer than MIN_SAMPLES, or a window that reaches N / 2) has no trustworthy error: it is
returned as nan, so callers say "no estimate" instead of printing a small wrong number.

A run is stationary when its first and second halves agree: |m1 - m2| <= N_SIGMA * sqrt(e1^2 +
e2^2), each half with its own autocorrelation error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SOKAL_C = 5.0
MIN_SAMPLES = 8
N_SIGMA = 2.0


@dataclass
class Estimate:
    mean: float
    error: float      # nan when the series is too short to estimate it
    tau: float        # integrated autocorrelation time, in samples (nan with the error)
    samples: int

    def pair(self) -> tuple[float, float]:
        return self.mean, self.error


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation rho(t), t = 0 .. N-1 (FFT, zero-padded: no wrap-around)."""
    x = np.asarray(x, float) - np.mean(x)
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    return acf / acf[0] if acf[0] > 0 else np.zeros(n)


def integrated_time(x: np.ndarray) -> float:
    """tau in samples, with Sokal's window; nan if the window does not close within N / 2."""
    rho = autocorrelation(x)
    n = len(rho)
    tau = 0.5
    for w in range(1, n // 2 + 1):
        tau += rho[w]
        if w >= SOKAL_C * tau:
            return max(tau, 0.5)
    return float("nan")


def mean_error(x) -> Estimate:
    """Mean of a correlated series and its error (module docstring)."""
    x = np.asarray(x, float)
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(np.mean(x))
    var = float(np.var(x, ddof=1)) if n > 1 else 0.0
    if n < MIN_SAMPLES:
        return Estimate(mean, float("nan"), float("nan"), n)
    if var == 0.0:
        return Estimate(mean, 0.0, 0.5, n)
    tau = integrated_time(x)
    err = math.sqrt(var * 2.0 * tau / n) if math.isfinite(tau) else float("nan")
    return Estimate(mean, err, tau, n)


@dataclass
class Halves:
    first: Estimate
    second: Estimate
    agree: bool | None    # None: an error is missing, the test cannot be made

    def as_dict(self) -> dict:
        return dict(first=self.first.pair(), second=self.second.pair(), agree=self.agree)


def halves(x, n_sigma: float = N_SIGMA) -> Halves:
    """The two halves of a series and whether their means agree within n_sigma combined errors."""
    x = np.asarray(x, float)
    h = len(x) // 2
    a, b = mean_error(x[:h]), mean_error(x[h:2 * h])
    if not (math.isfinite(a.error) and math.isfinite(b.error)):
        return Halves(a, b, None)
    return Halves(a, b, bool(abs(a.mean - b.mean) <= n_sigma * math.hypot(a.error, b.error)))
