"""Results over seeds: how many seeds learned, the median with an interval, and a rank test.

A learning result reported as one median hides the seeds that never learn.
``seed_report`` states, for one metric measured per seed on the learning
networks and on their no-learning control (the same seeds with learning rate
0), everything a reader needs to judge it:

* the per-seed values of both;
* ``n_learned``: the seeds whose value beats a stated criterion; by default
  "above the best control seed" (``value > max(control)``, or below the
  lowest for ``higher_is_better=False``), or above a fixed ``bound`` (e.g.
  a chance-based level) when one is given;
* the median with a distribution-free confidence interval (order statistics,
  ``median_interval``), for the learners and the control;
* a one-sided exact Mann-Whitney U test of learning > control
  (``mann_whitney_u``), its U and p-value.

``format_report`` prints it; ``result_line`` is the machine-readable last line
``result: {json}`` every reference example ends with.

Example
-------
>>> report = seed_report("accuracy", [0.9, 0.95, 0.5, 0.92, 0.97], [0.5, 0.55, 0.45, 0.52, 0.5],
...                      seeds=range(5))
>>> report["n_learned"], report["n"], report["median"]
(4, 5, 0.92)
>>> round(report["p_value"], 4), median_interval([0.9, 0.95, 0.5, 0.92, 0.97])
(0.0278, (0.5, 0.97, 0.9375))
>>> result_line(report)[:26]
'result: {"metric": "accura'
"""
from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np


def mann_whitney_u(x: Sequence[float], y: Sequence[float], alternative: str = "greater") -> tuple[float, float]:
    """Exact one- or two-sided Mann-Whitney U test of ``x`` against ``y``: ``(U, p)``.

    ``U`` counts the pairs ``(x_i, y_j)`` with ``x_i > y_j`` (ties count one
    half). The p-value is exact, from the permutation distribution of the rank
    sum of ``x`` among the pooled mid-ranks (so ties are handled exactly,
    conditionally on the tie pattern): every way of labelling ``len(x)`` of the
    pooled values as ``x`` is equally likely under the null hypothesis that both
    samples come from one distribution. ``alternative``: "greater" (x tends to
    be larger), "less", or "two-sided". Cost: O(N^2 * len(x)) for N pooled
    values after scaling mid-ranks to integers, a fraction of a second for
    N <= 100.
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError(f"mann_whitney_u: both samples need values; got {m} and {n}.")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("mann_whitney_u: a sample holds NaN; drop or fix those seeds first.")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"mann_whitney_u: alternative = {alternative!r}; expected 'greater', 'less' or "
                         f"'two-sided'.")
    pooled = np.r_[x, y]
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(m + n)
    sorted_values = pooled[order]
    i = 0
    while i < m + n:  # mid-ranks: tied values share the mean of their ranks
        j = i
        while j + 1 < m + n and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    doubled = np.rint(2 * ranks).astype(int)        # mid-ranks are multiples of 1/2
    total = int(doubled.sum())
    # counts[k, s]: subsets of size k of the pooled values whose doubled ranks sum to s
    counts = np.zeros((m + 1, total + 1))
    counts[0, 0] = 1.0
    for value in doubled:
        counts[1:, value:] += counts[:-1, :total + 1 - value].copy()
    distribution = counts[m] / counts[m].sum()
    observed = int(doubled[:m].sum())
    u = (observed / 2) - m * (m + 1) / 2
    upper = float(distribution[observed:].sum())
    lower = float(distribution[:observed + 1].sum())
    p = {"greater": upper, "less": lower, "two-sided": min(1.0, 2 * min(upper, lower))}[alternative]
    return float(u), p


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Distribution-free interval for the median: ``(low, high, coverage)``.

    The interval runs between the k-th smallest and k-th largest value, with k
    the largest for which ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``;
    ``coverage`` is its exact coverage (>= ``confidence``, or the best there is:
    for n < 6 no order-statistic interval reaches 95 % and (min, max) is
    returned with its coverage ``1 - 2^(1-n)``).
    """
    v = np.sort(np.asarray(values, dtype=float).ravel())
    n = len(v)
    if n == 0:
        raise ValueError("median_interval: no values.")
    tail = (1.0 - confidence) / 2
    cdf = np.cumsum([math.comb(n, i) for i in range(n + 1)]) / 2.0 ** n   # P(B <= i)
    k = 1
    while k < n // 2 + 1 and cdf[k] <= tail:                               # P(B <= k) = P(B < k + 1)
        k += 1
    coverage = 1.0 - 2 * cdf[k - 1]
    return float(v[k - 1]), float(v[n - k]), float(coverage)


def seed_report(metric: str, values: Sequence[float], control: Sequence[float] | None = None,
                seeds: Sequence[int] | None = None, *, higher_is_better: bool = True,
                bound: float | None = None, bound_reason: str = "", confidence: float = 0.95) -> dict:
    """Per-seed result of one metric, its control, how many seeds learned, median and interval.

    Parameters
    ----------
    metric : str
        The metric's name (e.g. "accuracy").
    values : (n,) per-seed values of the learning networks.
    control : (n_c,) per-seed values of the no-learning control, optional.
    seeds : (n,) the seeds of ``values`` (default 0..n-1).
    higher_is_better : bool
        Direction of "learned" and of the rank test.
    bound : float, optional
        Fixed criterion: a seed learned when its value is above ``bound``
        (below, when lower is better). Default: beyond the best control seed.
    bound_reason : str
        Why that bound (printed with it), e.g. "chance 0.5 + 3 binomial sd of 100 trials".

    Returns a dict of plain Python values (JSON-ready): ``metric``, ``seeds``,
    ``values``, ``n``, ``median``, ``interval`` [low, high], ``coverage``,
    ``control`` (values), ``control_median``, ``control_interval``,
    ``criterion`` (text), ``threshold``, ``learned`` (bool per seed),
    ``n_learned``, ``u``, ``p_value`` (one-sided exact Mann-Whitney U, None
    without control).
    """
    values = np.asarray(values, dtype=float).ravel()
    seeds = list(range(len(values))) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != len(values):
        raise ValueError(f"seed_report: {len(values)} values for {len(seeds)} seeds.")
    sign = 1.0 if higher_is_better else -1.0
    word = "above" if higher_is_better else "below"
    control_values = None if control is None else np.asarray(control, dtype=float).ravel()
    if bound is not None:
        threshold = float(bound)
        criterion = f"{metric} {word} {threshold:g}" + (f" ({bound_reason})" if bound_reason else "")
    elif control_values is not None and len(control_values):
        threshold = float(control_values.max() if higher_is_better else control_values.min())
        criterion = f"{metric} {word} the best control seed ({threshold:.4g})"
    else:
        raise ValueError("seed_report: give a control or a fixed bound for the 'learned' criterion.")
    learned = sign * values > sign * threshold
    low, high, coverage = median_interval(values, confidence)
    report: dict[str, Any] = dict(
        metric=metric, seeds=seeds, values=[float(v) for v in values], n=len(values),
        median=float(np.median(values)), interval=[low, high], coverage=round(coverage, 4),
        criterion=criterion, threshold=threshold, learned=[bool(v) for v in learned],
        n_learned=int(learned.sum()), control=None, control_median=None, control_interval=None,
        u=None, p_value=None)
    if control_values is not None and len(control_values):
        c_low, c_high, _ = median_interval(control_values, confidence)
        u, p = mann_whitney_u(values, control_values, "greater" if higher_is_better else "less")
        report.update(control=[float(v) for v in control_values], control_median=float(np.median(control_values)),
                      control_interval=[c_low, c_high], u=u, p_value=p)
    return report


def format_report(report: dict, digits: int = 3) -> str:
    """Human-readable lines of a ``seed_report``: per seed, learned count and criterion, medians, test."""
    fmt = f"{{:.{digits}f}}"
    lines = [f"{report['metric']} per seed (learning" + (" | control" if report["control"] else "") + "):"]
    for i, (seed, value) in enumerate(zip(report["seeds"], report["values"])):
        control = f" | {fmt.format(report['control'][i])}" if report["control"] and i < len(report["control"]) else ""
        mark = "learned" if report["learned"][i] else "NOT learned"
        lines.append(f"  seed {seed:>5}: {fmt.format(value)}{control}  {mark}")
    low, high = report["interval"]
    lines.append(f"learned: {report['n_learned']}/{report['n']} seeds ({report['criterion']})")
    text = (f"median {report['metric']} {fmt.format(report['median'])} "
            f"[{fmt.format(low)}, {fmt.format(high)}] ({100 * report['coverage']:.0f} % order-statistic interval)")
    if report["control"]:
        c_low, c_high = report["control_interval"]
        text += (f"; control (learning rate 0) {fmt.format(report['control_median'])} "
                 f"[{fmt.format(c_low)}, {fmt.format(c_high)}]; one-sided Mann-Whitney U = {report['u']:g}, "
                 f"p = {report['p_value']:.2g}")
    lines.append(text)
    return "\n".join(lines)


def result_line(report: dict, **extra: Any) -> str:
    """``result: {json}``: the headline of a ``seed_report`` (plus ``extra`` fields), one line."""
    keys = ("metric", "median", "interval", "control_median", "n_learned", "n", "criterion", "p_value", "seeds",
            "values", "control")
    payload = {k: report[k] for k in keys}
    payload.update(extra)
    return "result: " + json.dumps(payload, default=float)
