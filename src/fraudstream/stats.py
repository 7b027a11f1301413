"""Population stability index and Kolmogorov-Smirnov distance, as plain numpy/scipy functions.

Two callers: the simulator's fidelity report (simulated rows against real Sparkov rows) and the
drift monitor (recent traffic against the training reference); the module sits below both, so
that neither imports the other. Both compare an *expected* sample, the reference, with an
*actual* one, so the bins always come from the reference: its quantiles for numbers, its
categories (plus whatever the actual sample adds) for labels.

Reading PSI: below 0.1 the two samples are the same population for practical purposes, 0.1 to
0.25 is a moderate shift, above 0.25 a major one. Empty bins would make the logarithm infinite,
so every proportion is floored at ``eps`` before the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_BINS = 10
DEFAULT_EPS = 1e-4


def _numbers(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError(f"{name} sample has no finite value: PSI and KS need at least one")
    return array


def quantile_edges(reference: ArrayLike, bins: int = DEFAULT_BINS) -> NDArray[np.float64]:
    """Inner bin edges at the reference's quantiles; ties collapse, so fewer bins may result."""
    if bins < 2:
        raise ValueError("PSI needs at least 2 bins")
    ref = _numbers(reference, "reference")
    inner = np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])
    return np.asarray(np.unique(inner), dtype=np.float64)


def bin_shares(values: ArrayLike, edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """Share of ``values`` in each bin ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    array = _numbers(values, "actual")
    index = np.searchsorted(edges, array, side="left")
    counts = np.bincount(index, minlength=edges.size + 1)
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def psi_from_shares(expected: ArrayLike, actual: ArrayLike, eps: float = DEFAULT_EPS) -> float:
    """PSI of two aligned share vectors (each summing to 1)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), eps, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), eps, None)
    if e.shape != a.shape:
        raise ValueError(f"share vectors differ in length: {e.shape} vs {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def psi(
    expected: ArrayLike,
    actual: ArrayLike,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of a numeric feature, with bins at the quantiles of ``expected`` (the reference)."""
    edges = quantile_edges(expected, bins)
    return psi_from_shares(bin_shares(expected, edges), bin_shares(actual, edges), eps)


def category_shares(
    expected: Sequence[Any] | NDArray[Any], actual: Sequence[Any] | NDArray[Any]
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    """Categories of both samples (reference order first) and each sample's share of them."""
    e_labels, e_counts = np.unique(np.asarray(expected).astype(str), return_counts=True)
    a_labels, a_counts = np.unique(np.asarray(actual).astype(str), return_counts=True)
    if e_counts.sum() == 0 or a_counts.sum() == 0:
        raise ValueError("categorical PSI needs two non-empty samples")
    labels = list(dict.fromkeys([*e_labels.tolist(), *a_labels.tolist()]))
    lookup = {label: i for i, label in enumerate(labels)}
    e_shares = np.zeros(len(labels))
    a_shares = np.zeros(len(labels))
    e_shares[[lookup[v] for v in e_labels.tolist()]] = e_counts / e_counts.sum()
    a_shares[[lookup[v] for v in a_labels.tolist()]] = a_counts / a_counts.sum()
    return labels, e_shares, a_shares


def categorical_psi(
    expected: Sequence[Any] | NDArray[Any],
    actual: Sequence[Any] | NDArray[Any],
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of a categorical feature; a category only one sample has counts with share 0 (eps)."""
    _, e, a = category_shares(expected, actual)
    return psi_from_shares(e, a, eps)


@dataclass(frozen=True, slots=True)
class KsResult:
    """Two-sample KS: the largest gap between the two empirical CDFs, and its p-value."""

    statistic: float
    pvalue: float


def ks(expected: ArrayLike, actual: ArrayLike) -> KsResult:
    """Two-sample Kolmogorov-Smirnov test (scipy's exact or asymptotic method, as it chooses)."""
    from scipy.stats import ks_2samp

    result = ks_2samp(_numbers(expected, "reference"), _numbers(actual, "actual"))
    return KsResult(statistic=float(result.statistic), pvalue=float(result.pvalue))
