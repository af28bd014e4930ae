"""spikey.analysis.seeds: the exact rank test, the median interval and the per-seed report."""
import itertools
import json
import math

import numpy as np
import pytest

from spikey.analysis.seeds import format_report, mann_whitney_u, median_interval, result_line, seed_report


def brute_force_p(x, y, alternative):
    """P-value by listing every relabelling of the pooled values (the definition of the exact test)."""
    pooled = np.r_[x, y]
    m = len(x)

    def u_of(idx):
        xs = pooled[list(idx)]
        ys = np.delete(pooled, list(idx))
        return sum((a > b) + 0.5 * (a == b) for a in xs for b in ys)

    observed = u_of(range(m))
    us = [u_of(idx) for idx in itertools.combinations(range(len(pooled)), m)]
    greater = np.mean([u >= observed - 1e-9 for u in us])
    less = np.mean([u <= observed + 1e-9 for u in us])
    return observed, {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]


@pytest.mark.parametrize("case", range(12))
def test_mann_whitney_u_is_the_exact_permutation_test_with_ties(case):
    rng = np.random.default_rng(case)
    m, n = rng.integers(1, 7, 2)
    x = np.round(rng.normal(0.5, 1, m))          # rounded: many ties
    y = np.round(rng.normal(0.0, 1, n))
    for alternative in ("greater", "less", "two-sided"):
        u, p = mann_whitney_u(x, y, alternative)
        u_ref, p_ref = brute_force_p(x, y, alternative)
        assert u == pytest.approx(u_ref) and p == pytest.approx(p_ref), (x, y, alternative)


def test_mann_whitney_u_matches_scipy_without_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = rng.normal(0.4, 1, rng.integers(2, 11)), rng.normal(0, 1, rng.integers(2, 11))
        for alternative in ("greater", "less", "two-sided"):
            ref = stats.mannwhitneyu(x, y, alternative=alternative, method="exact")
            u, p = mann_whitney_u(x, y, alternative)
            assert u == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)


def test_mann_whitney_u_smallest_p_and_refusals():
    assert mann_whitney_u([2, 3, 4, 5, 6], [0, 0.5, 1, 1.5, 1.8]) == (25.0, pytest.approx(1 / math.comb(10, 5)))
    assert mann_whitney_u([1, 1], [1, 1])[1] == 1.0                       # all tied: no evidence
    with pytest.raises(ValueError, match="NaN"):
        mann_whitney_u([1, float("nan")], [0, 1])
    with pytest.raises(ValueError, match="alternative"):
        mann_whitney_u([1], [0], "bigger")


def test_median_interval_order_statistics_and_coverage():
    low, high, coverage = median_interval(np.arange(10) * 1.0)
    assert (low, high) == (1.0, 8.0) and coverage == pytest.approx(1 - 2 * 11 / 1024)
    low, high, coverage = median_interval([5, 1, 3, 2, 4])                # n = 5: (min, max), 1 - 2/32
    assert (low, high, coverage) == (1.0, 5.0, pytest.approx(1 - 2 / 32))
    # coverage checked by simulation for n = 10 (any continuous distribution)
    rng = np.random.default_rng(0)
    hits = np.mean([(lambda v: v[0] <= 0 <= v[1])(median_interval(rng.normal(size=10))) for _ in range(1000)])
    assert abs(hits - (1 - 2 * 11 / 1024)) < 0.02


def test_seed_report_counts_learned_seeds_against_the_best_control_or_a_bound():
    values, control = [0.9, 0.5, 0.8, 0.95, 0.6], [0.5, 0.55, 0.62, 0.5, 0.45]
    report = seed_report("accuracy", values, control, seeds=[10, 11, 12, 13, 14])
    assert report["threshold"] == 0.62 and report["learned"] == [True, False, True, True, False]
    assert report["n_learned"] == 3 and report["median"] == 0.8 and report["control_median"] == 0.5
    assert "above the best control seed (0.62)" in report["criterion"]
    fixed = seed_report("accuracy", values, control, bound=0.55, bound_reason="chance + 1 sd")
    assert fixed["n_learned"] == 4 and "0.55 (chance + 1 sd)" in fixed["criterion"]
    lower = seed_report("loss", [1.0, 2.0, 0.5], [3.0, 2.5, 2.2], higher_is_better=False)
    assert lower["learned"] == [True, True, True] and lower["p_value"] == pytest.approx(1 / 20)
    text = format_report(report)
    assert "seed    11: 0.500 | 0.550  NOT learned" in text and "learned: 3/5 seeds" in text
    line = result_line(report, experiment="x")
    assert line.startswith("result: ") and "\n" not in line
    payload = json.loads(line[len("result: "):])
    assert payload["n_learned"] == 3 and payload["seeds"] == [10, 11, 12, 13, 14] and payload["experiment"] == "x"
    with pytest.raises(ValueError, match="control or a fixed bound"):
        seed_report("accuracy", values)
