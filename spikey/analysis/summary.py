"""Summaries of a tidy results frame: per-configuration statistics, key importance, best configurations.

All three work on "units" first: one value of the metric per run of a network
(per source, run and seed), taken from its episodes by ``scope``:

* ``"last"``: the last episode's value (where the learning got to);
* ``"mean"``: the mean over all episodes (how fast it got there);
* an int k: the mean of the last k episodes.

A GA member or a row without episodes is one unit as it is. The statistics
then go over the units of each configuration (usually its seeds).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"run": ["a"] * 4 + ["b"] * 4, "seed": [0, 0, 1, 1] * 2,
...                       "episode": [0, 1] * 4, "learning_rate": [0.1] * 4 + [0.2] * 4,
...                       "accuracy": [0.1, 0.5, 0.2, 0.7, 0.3, 0.9, 0.2, 0.8]})
>>> summarize(frame, by=["learning_rate"], metric="accuracy")[["learning_rate", "mean", "count"]]
   learning_rate  mean  count
0            0.1  0.60      2
1            0.2  0.85      2
>>> round(float(t_quantile(0.975, 10)), 4)
2.2281
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np
import pandas as pd

#: Metrics tried, in order, when none is named.
DEFAULT_METRICS = ("fitness", "accuracy", "game_reward", "reward")
UNIT_COLUMNS = ("source", "run", "seed")


# -- Student t quantile (no scipy needed) ------------------------------------------------------------
def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """Continued fraction of the incomplete beta function (Abramowitz & Stegun 26.5.8),
    evaluated with the modified Lentz method."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        # even step: d_{2m}; odd step: d_{2m+1}
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return result


def incomplete_beta(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta function I_x(a, b) for 0 <= x <= 1, a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    # the fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) otherwise
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1.0 - x, b, a) / b


def t_cdf(t: float, dof: float) -> float:
    """Student t distribution function P(T <= t) with ``dof`` degrees of freedom."""
    tail = 0.5 * incomplete_beta(dof / (dof + t * t), dof / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


def _t_quantile_one(probability: float, dof: float) -> float:
    if not (dof > 0) or not (0.0 < probability < 1.0):
        return float("nan")
    if math.isinf(dof):
        return NormalDist().inv_cdf(probability)
    if probability < 0.5:
        return -_t_quantile_one(1.0 - probability, dof)
    if probability == 0.5:
        return 0.0
    high = max(1.0, NormalDist().inv_cdf(probability))
    while t_cdf(high, dof) < probability:
        high *= 2.0
    low = 0.0
    for _ in range(200):  # bisection: each step halves the bracket; stop at float resolution
        middle = 0.5 * (low + high)
        if t_cdf(middle, dof) < probability:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, high):
            break
    return 0.5 * (low + high)


def t_quantile(probability: float, dof: Any) -> Any:
    """Quantile of Student's t distribution (e.g. 0.975 for a two-sided 95 % interval).

    Computed here (bisection on the t distribution function, through the
    regularised incomplete beta function), so scipy is not needed. ``dof`` may
    be a number or an array; non-positive or NaN ``dof`` give NaN.

    >>> [round(float(t_quantile(0.975, d)), 3) for d in (1, 2, 5, 30)]
    [12.706, 4.303, 2.571, 2.042]
    """
    if np.ndim(dof) == 0:
        return _t_quantile_one(float(probability), float(dof))
    dof = np.asarray(dof, dtype=float)
    return np.array([_t_quantile_one(float(probability), float(d)) for d in dof.ravel()]).reshape(dof.shape)


# -- helpers -------------------------------------------------------------------------------------------
def default_metric(frame: pd.DataFrame) -> str:
    """The metric to summarise when none is named: the first of ``DEFAULT_METRICS`` with values."""
    candidates = list(frame.attrs.get("metric_columns", [])) or list(frame.columns)
    for name in DEFAULT_METRICS:
        if name in frame.columns and name in candidates and frame[name].notna().any():
            return name
    raise ValueError(f"summarize: no metric named and none of {list(DEFAULT_METRICS)} has values; name one of "
                     f"{[c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]}.")


def varied_keys(frame: pd.DataFrame, keys: Sequence[str] | None = None) -> list:
    """Key columns (``attrs["key_columns"]`` by default) that take more than one value."""
    keys = frame.attrs.get("key_columns", []) if keys is None else keys
    return [k for k in keys if k in frame.columns and frame[k].nunique(dropna=True) > 1]


def _check(frame: pd.DataFrame, metric: str | None, by: Sequence[str] | None, func: str) -> tuple[str, list]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{func}: frame is a {type(frame).__name__}; expected a DataFrame (spikey.analysis.load).")
    metric = default_metric(frame) if metric is None else metric
    if metric not in frame.columns:
        raise ValueError(f"{func}: metric {metric!r} is not a column; columns: {list(frame.columns)}.")
    if not pd.api.types.is_numeric_dtype(frame[metric]) and not pd.api.types.is_bool_dtype(frame[metric]):
        raise TypeError(f"{func}: metric column {metric!r} has dtype {frame[metric].dtype}; expected numbers.")
    if by is None:
        by = varied_keys(frame)
        if "source" in frame.columns and frame["source"].nunique() > 1:
            by = ["source"] + by
        if not by:
            by = [c for c in ("source",) if c in frame.columns]
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise ValueError(f"{func}: by column {missing[0]!r} is not a column; columns: {list(frame.columns)}.")
    return metric, by


def unit_values(frame: pd.DataFrame, metric: str, by: Sequence[str] = (), scope: Any = "last") -> pd.DataFrame:
    """One row per unit (source, run, seed) with the ``by`` columns and its ``metric`` value per ``scope``."""
    if not (scope in ("last", "mean") or (isinstance(scope, (int, np.integer)) and scope > 0)):
        raise ValueError(f"summarize: scope = {scope!r}; expected 'last', 'mean' or a positive int.")
    units = [c for c in UNIT_COLUMNS if c in frame.columns and c not in by]
    group = list(by) + units
    data = frame[[c for c in dict.fromkeys(group + ["episode", metric]) if c in frame.columns]]
    data = data[data[metric].notna()]
    if "episode" in data.columns:
        data = data.sort_values("episode", kind="stable", na_position="first")
    if not group:
        data = data.assign(_unit=np.arange(len(data)))
        group = ["_unit"]
    grouped = data.groupby(group, dropna=False, sort=False)[metric]
    if scope == "last":
        values = grouped.last()
    elif scope == "mean":
        values = grouped.mean()
    else:
        values = grouped.apply(lambda s: s.tail(int(scope)).mean())
    return values.astype(float).reset_index().drop(columns=["_unit"], errors="ignore")


# -- the summaries ---------------------------------------------------------------------------------------
def summarize(frame: pd.DataFrame, by: Sequence[str] | str | None = None, metric: str | None = None, *,
              scope: Any = "last", confidence: float = 0.95) -> pd.DataFrame:
    """Per configuration: mean, sample standard deviation, count and confidence interval of ``metric``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame (``spikey.analysis.load``).
    by : list of str, optional
        Columns naming a configuration; default: the key columns that vary
        (with ``source`` first when the frame holds several sources).
    metric : str, optional
        Default: the first of fitness, accuracy, game_reward, reward present.
    scope : "last", "mean" or int
        Which episodes make a unit's value (module docstring).
    confidence : float
        Level of the two-sided interval of the mean: mean -+ t(1-(1-c)/2, n-1) * sd / sqrt(n).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``metric`` (its name), ``mean``, ``std``, ``count``, ``ci_low``,
        ``ci_high``; NaN std and interval where count is 1. Sorted by ``by``.
    """
    metric, by = _check(frame, metric, by, "summarize")
    if not 0 < confidence < 1:
        raise ValueError(f"summarize: confidence = {confidence!r}; expected a level in (0, 1), e.g. 0.95.")
    units = unit_values(frame, metric, by, scope)
    if by:
        stats = units.groupby(by, dropna=False, sort=True)[metric].agg(["mean", "std", "count"]).reset_index()
    else:
        stats = pd.DataFrame({"mean": [units[metric].mean()], "std": [units[metric].std()],
                              "count": [units[metric].count()]})
    count = stats["count"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = t_quantile(0.5 + confidence / 2, np.where(count > 1, count - 1, np.nan))
        half = t * stats["std"].to_numpy(float) / np.sqrt(count)
    stats["ci_low"] = stats["mean"] - half
    stats["ci_high"] = stats["mean"] + half
    stats.insert(len(by), "metric", metric)
    stats["count"] = stats["count"].astype("int64")
    return stats.reset_index(drop=True)


def importance(frame: pd.DataFrame, metric: str | None = None, keys: Sequence[str] | None = None, *,
               scope: Any = "last") -> pd.DataFrame:
    """Spearman rank correlation of each numeric key with ``metric``, strongest first.

    Over units (one value per run and seed, see ``scope``): rho is the Pearson
    correlation of the ranks (ties get their average rank). Keys that do not
    vary, or are not numbers, are left out.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``rho``, ``abs_rho``, ``n`` (units), ``metric``; sorted by ``abs_rho``
        descending (NaN last, e.g. when the metric is constant).
    """
    metric, _ = _check(frame, metric, [], "importance")
    keys = varied_keys(frame, keys)
    keys = [k for k in keys if pd.api.types.is_numeric_dtype(frame[k]) and not pd.api.types.is_bool_dtype(frame[k])]
    rows = []
    for key in keys:
        units = unit_values(frame, metric, [key], scope).dropna(subset=[key, metric])
        if units[key].nunique() < 2:
            continue
        rho = float(units[key].rank().corr(units[metric].rank()))
        rows.append({"key": key, "rho": rho, "abs_rho": abs(rho), "n": int(len(units)), "metric": metric})
    result = pd.DataFrame(rows, columns=["key", "rho", "abs_rho", "n", "metric"])
    return result.sort_values("abs_rho", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def best_configs(frame: pd.DataFrame, metric: str | None = None, n: int = 5, *, by: Sequence[str] | None = None,
                 mode: str = "max", scope: Any = "last", confidence: float = 0.95) -> pd.DataFrame:
    """The ``n`` configurations with the best mean ``metric`` (``summarize`` rows, best first).

    ``mode`` "max" ranks high means first, "min" low ones.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"best_configs: mode = {mode!r}; expected 'max' or 'min'.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"best_configs: n = {n!r}; expected an int >= 1.")
    stats = summarize(frame, by=by, metric=metric, scope=scope, confidence=confidence)
    ordered = stats.sort_values("mean", ascending=(mode == "min"), kind="stable", na_position="last")
    return ordered.head(int(n)).reset_index(drop=True)
