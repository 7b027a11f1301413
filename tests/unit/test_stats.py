"""PSI and KS on distributions whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from fraudstream.stats import (
    bin_shares,
    categorical_psi,
    ks,
    psi,
    psi_from_shares,
    quantile_edges,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


def test_identical_samples_have_zero_psi(rng: np.random.Generator) -> None:
    sample = rng.normal(size=10_000)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)


def test_two_draws_of_one_distribution_stay_far_below_the_alarm(rng: np.random.Generator) -> None:
    assert psi(rng.normal(size=20_000), rng.normal(size=20_000)) < 0.01


def test_psi_of_a_shifted_normal_is_about_the_shift_squared(rng: np.random.Generator) -> None:
    # For two unit normals d apart, PSI (the symmetric KL divergence) is d**2 before binning.
    reference = rng.normal(size=50_000)
    values = [psi(reference, rng.normal(loc=shift, size=50_000)) for shift in (0.1, 0.3, 0.6)]
    assert values == sorted(values)
    assert values[0] < 0.02
    assert 0.05 < values[1] < 0.12
    assert 0.25 < values[2] < 0.4


def test_psi_matches_the_closed_form_on_known_shares() -> None:
    expected = np.array([0.5, 0.5])
    actual = np.array([0.25, 0.75])
    by_hand = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert psi_from_shares(expected, actual) == pytest.approx(by_hand)


def test_quantile_bins_of_the_reference_hold_equal_shares(rng: np.random.Generator) -> None:
    reference = rng.exponential(size=100_000)
    edges = quantile_edges(reference, bins=10)
    assert edges.size == 9
    np.testing.assert_allclose(bin_shares(reference, edges), 0.1, atol=1e-3)


def test_ties_collapse_bins_instead_of_failing() -> None:
    reference = np.array([1.0] * 90 + [2.0] * 10)
    edges = quantile_edges(reference, bins=10)
    assert edges.size < 9
    assert psi(reference, reference) == pytest.approx(0.0)


def test_empty_bins_stay_finite() -> None:
    value = psi(np.arange(100.0), np.full(100, 1_000.0))
    assert np.isfinite(value)
    assert value > 1


def test_categorical_psi_counts_categories_only_one_side_has() -> None:
    assert categorical_psi(["a", "b"] * 50, ["a", "b"] * 50) == pytest.approx(0.0)
    shifted = categorical_psi(["a", "b"] * 50, ["a", "b", "c", "c"] * 25)
    assert shifted > 0.25
    assert np.isfinite(shifted)


def test_categorical_psi_accepts_numbers_as_labels() -> None:
    hours = np.arange(24).repeat(10)
    assert categorical_psi(hours, hours) == pytest.approx(0.0)


def test_ks_sees_a_shift_and_not_a_redraw(rng: np.random.Generator) -> None:
    same = ks(rng.normal(size=5_000), rng.normal(size=5_000))
    moved = ks(rng.normal(size=5_000), rng.normal(loc=0.5, size=5_000))
    assert same.statistic < 0.05
    assert same.pvalue > 0.001
    assert moved.statistic > 0.15
    assert moved.pvalue < 1e-10


def test_empty_samples_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="no finite value"):
        psi([], [1.0, 2.0])
    with pytest.raises(ValueError, match="non-empty"):
        categorical_psi([], ["a"])
