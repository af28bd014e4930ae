"""Learning curves: a metric's mean over lanes/seeds per episode, with a spread band."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.analysis.summary import t_quantile
from spikey.viz._common import check_choice, figure_and_axes, require_columns, require_numeric

#: Spread bands: standard deviation, confidence interval of the mean, range; None for no band.
SPREADS = ("sd", "ci", "minmax", None)


def spread_band(stats: Any, spread: str, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper band edges from per-x ``mean, std, count, min, max`` columns.

    "sd": mean -+ sample standard deviation; "ci": mean -+ t * sd / sqrt(count),
    the two-sided ``confidence`` interval of the mean; "minmax": min .. max.
    Points with a single sample have no sd or ci band (NaN).
    """
    mean, sd, count = (stats[name].to_numpy(float) for name in ("mean", "std", "count"))
    if spread == "minmax":
        return stats["min"].to_numpy(float), stats["max"].to_numpy(float)
    half = sd
    if spread == "ci":
        with np.errstate(invalid="ignore", divide="ignore"):
            dof = np.where(count > 1, count - 1, np.nan)
            half = t_quantile(0.5 + confidence / 2, dof) * sd / np.sqrt(count)
    return mean - half, mean + half


def learning_curve(frame: Any, metric: str = "game_reward", by: str = "episode", *,
                   spread: str | None = "sd", hue: str | None = None, confidence: float = 0.95,
                   ax: Axes | None = None, label: str | None = None, title: str | None = None,
                   figsize: tuple[float, float] = (6.0, 3.5)) -> Figure:
    """Mean of ``metric`` per value of ``by`` (over lanes, seeds, runs), with a spread band.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any tidy frame with the columns named below, e.g. ``run_episodes``'s (one
        row per episode and lane) or several runs concatenated.
    metric : str
        Column to average (numbers), e.g. "game_reward", "reward", "output_rate".
    by : str
        Column on the x axis, e.g. "episode".
    spread : {"sd", "ci", "minmax", None}
        Band around the mean: -+ one standard deviation, the ``confidence``
        interval of the mean (Student t), the min..max range, or none.
    hue : str, optional
        Column (e.g. a config key) splitting the rows into one curve per value.
    confidence : float
        Level of the "ci" band, in (0, 1).
    ax : matplotlib Axes, optional
        Draw here instead of on a new Figure (e.g. to overlay runs).
    label : str, optional
        Legend label of the curve when there is no ``hue``.

    Returns
    -------
    matplotlib.figure.Figure
        One line per curve (its y values the group means, in ``by`` order) and one
        filled band per curve.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"episode": [0, 0, 1, 1], "lane": [0, 1, 0, 1],
    ...                       "game_reward": [0.5, 0.7, 0.8, 1.0]})
    >>> fig = learning_curve(frame, spread="minmax")
    >>> fig.axes[0].lines[0].get_xydata().tolist()
    [[0.0, 0.6], [1.0, 0.9]]
    >>> learning_curve(frame, metric="acuracy")
    Traceback (most recent call last):
    ...
    ValueError: learning_curve: metric = 'acuracy' is not a column of the frame. Available columns: ['episode', 'lane', 'game_reward'].
    """
    func = "learning_curve"
    columns = {"metric": metric, "by": by} | ({} if hue is None else {"hue": hue})
    require_columns(frame, columns, func)
    require_numeric(frame, metric, "metric", func)
    check_choice(spread, "spread", SPREADS, func)
    if not 0 < confidence < 1:
        raise ValueError(f"{func}: confidence = {confidence!r}; expected a level in (0, 1), e.g. 0.95.")
    if frame.empty:
        raise ValueError(f"{func}: the frame has no rows.")
    figure, ax = figure_and_axes(ax, figsize, func)
    curves = [(label, frame)] if hue is None else \
        [(f"{hue}={value}", rows) for value, rows in frame.groupby(hue, sort=True, dropna=False)]
    for name, rows in curves:
        stats = rows.groupby(by, sort=True)[metric].agg(["mean", "std", "count", "min", "max"])
        x = stats.index.to_numpy()
        (line,) = ax.plot(x, stats["mean"].to_numpy(float), label=name,
                          marker="o" if len(x) <= 20 else None, markersize=3)
        if spread is not None:
            low, high = spread_band(stats, spread, confidence)
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_xlabel(by)
    band = {"sd": "mean -+ sd", "ci": f"mean, {confidence:.0%} CI", "minmax": "mean, min..max", None: "mean"}
    ax.set_ylabel(f"{metric} ({band[spread]})")
    if title is not None:
        ax.set_title(title)
    if hue is not None or label is not None:
        ax.legend(fontsize="small")
    return figure
