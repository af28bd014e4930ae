"""Parameter versus fitness: how one hyperparameter relates to a fitness column across runs."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.viz._common import check_choice, figure_and_axes, require_columns, require_numeric

#: Trend drawn over numeric keys: a least-squares line, the mean per key value, or none.
TRENDS = ("linear", "mean", None)


def _category_order(values: pd.Series) -> list:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:  # mixed types: keep the order of first appearance
        return unique


def parameter_vs_fitness(frame: Any, key: str, fitness: str, *, trend: str | None = "linear",
                         logx: bool = False, categorical: bool | None = None, jitter: float = 0.15,
                         seed: int = 0, ax: Axes | None = None, title: str | None = None,
                         figsize: tuple[float, float] = (6.0, 3.5)) -> Figure:
    """Scatter of a hyperparameter against a fitness column, with a trend.

    A numeric key gives a scatter plus the trend: a least-squares line (fitted
    on log10 of the key when ``logx``) or the mean fitness per key value. A
    categorical key (strings, bools, lists, or ``categorical=True``) gives one
    box per value (quartiles, whiskers at 1.5 IQR) with the runs as jittered
    points, and the means as diamonds when ``trend`` is not None. Rows where the
    key or fitness is missing are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (or per run and episode), with columns ``key`` and ``fitness``.
    key, fitness : str
        Column names: the hyperparameter (x) and the fitness (y, numbers).
    trend : {"linear", "mean", None}
    logx : bool
        Log-scaled x axis for a positive numeric key (e.g. learning rates).
    categorical : bool, optional
        Force (True) or forbid (False) the categorical layout; default: by dtype.
    jitter : float
        Half-width of the random horizontal spread of categorical points, in box widths.
    seed : int
        Seed of the jitter (a private generator: the plot is reproducible).

    Returns
    -------
    matplotlib.figure.Figure
        Numeric key: the first collection holds the ``(key, fitness)`` points, the
        line the trend. Categorical key: one box per value, x ticks labelled with
        the values (sorted when sortable).

    Examples
    --------
    >>> import pandas as pd
    >>> runs = pd.DataFrame({"learning_rate": [0.01, 0.02, 0.03, 0.04],
    ...                      "neuron": ["LIF", "LIF", "Izhikevich", "LIF"],
    ...                      "accuracy": [0.5, 0.6, 0.7, 0.8]})
    >>> fig = parameter_vs_fitness(runs, "learning_rate", "accuracy")
    >>> fig.axes[0].lines[0].get_ydata()[[0, -1]].round(6).tolist()    # the fitted line's ends
    [0.5, 0.8]
    >>> fig = parameter_vs_fitness(runs, "neuron", "accuracy")
    >>> [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
    ['Izhikevich', 'LIF']
    """
    func = "parameter_vs_fitness"
    require_columns(frame, {"key": key, "fitness": fitness}, func)
    require_numeric(frame, fitness, "fitness", func)
    check_choice(trend, "trend", TRENDS, func)
    data = frame[[key, fitness]].dropna()
    if data.empty:
        raise ValueError(f"{func}: no rows have both {key!r} and {fitness!r}; nothing to plot.")
    numeric = pd.api.types.is_numeric_dtype(data[key]) and not pd.api.types.is_bool_dtype(data[key])
    if categorical is None:
        categorical = not numeric
    elif not categorical and not numeric:
        raise TypeError(f"{func}: categorical=False but key column {key!r} has dtype {data[key].dtype}; "
                        f"a numeric layout needs numbers.")
    figure, ax = figure_and_axes(ax, figsize, func)
    y = data[fitness].to_numpy(float)
    if categorical:
        _categorical(ax, data[key], y, trend, jitter, seed)
    else:
        _numeric(ax, data[key].to_numpy(float), y, trend, logx, func, key)
    ax.set_xlabel(key)
    ax.set_ylabel(fitness)
    if title is not None:
        ax.set_title(title)
    if trend is not None:
        ax.legend(fontsize="small")
    return figure


def _numeric(ax: Axes, x: np.ndarray, y: np.ndarray, trend: str | None, logx: bool, func: str,
             key: str) -> None:
    if logx:
        if (x <= 0).any():
            raise ValueError(f"{func}: logx=True but key {key!r} has values <= 0 (min {x.min()}).")
        ax.set_xscale("log")
    ax.scatter(x, y, s=18, alpha=0.7, label="runs")
    distinct = np.unique(x)
    if trend == "linear" and distinct.size >= 2:
        position = np.log10(x) if logx else x
        slope, intercept = np.polyfit(position, y, 1)
        grid = np.linspace(position.min(), position.max(), 50)
        ax.plot(10 ** grid if logx else grid, slope * grid + intercept, color="black",
                label=f"linear fit (slope {slope:.3g}{' per decade' if logx else ''})")
    elif trend == "mean":
        means = [y[x == value].mean() for value in distinct]
        ax.plot(distinct, means, color="black", marker="o", markersize=3, label="mean")


def _categorical(ax: Axes, keys: pd.Series, y: np.ndarray, trend: str | None, jitter: float,
                 seed: int) -> None:
    # Unhashable values (lists, arrays) group by their text.
    keys = keys.map(lambda value: value if pd.api.types.is_hashable(value) else repr(value))
    order = _category_order(keys)
    groups = [y[(keys == value).to_numpy()] for value in order]
    positions = np.arange(1, len(order) + 1)
    ax.boxplot(groups, positions=positions, widths=0.5, showfliers=False)
    rng = np.random.default_rng(seed)
    for position, values in zip(positions, groups):
        ax.scatter(position + rng.uniform(-jitter, jitter, values.size), values, s=14, alpha=0.6,
                   color="tab:blue", label="runs" if position == 1 else None)
    if trend is not None:
        ax.plot(positions, [values.mean() for values in groups], linestyle="none", marker="D",
                color="black", markersize=5, label="mean")
    ax.set_xticks(positions, [str(value) for value in order])
