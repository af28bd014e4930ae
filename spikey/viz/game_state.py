"""Game observations over time: one trace per observation dimension, with the termination marked."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.viz._common import check_lane, check_positive, figure_and_axes, to_numpy

#: Names of CartPole's four observation dimensions (gymnasium order), for ``labels="cartpole"``.
CARTPOLE_LABELS = ("x", "x_dot", "theta", "theta_dot")
LABEL_PRESETS = {"cartpole": CARTPOLE_LABELS}


def _labels(labels: Any, d: int, func: str) -> list[str]:
    if labels is None:
        return [f"dim {k}" for k in range(d)]
    if isinstance(labels, str):
        if labels.lower() not in LABEL_PRESETS:
            raise ValueError(f"{func}: labels = {labels!r}; expected a sequence of {d} names or one of "
                             f"{sorted(LABEL_PRESETS)}.")
        labels = LABEL_PRESETS[labels.lower()]
    labels = [str(label) for label in labels]
    if len(labels) != d:
        raise ValueError(f"{func}: {len(labels)} labels {labels} for observations with {d} dimensions; "
                         f"expected {d}.")
    return labels


def _dims(dims: Any, labels: list[str], func: str) -> list[int]:
    if dims is None:
        return list(range(len(labels)))
    chosen = []
    for dim in ([dims] if isinstance(dims, (str, int, np.integer)) else dims):
        if isinstance(dim, str):
            if dim not in labels:
                raise ValueError(f"{func}: dims names {dim!r}, which is not a dimension label; labels: "
                                 f"{labels}.")
            chosen.append(labels.index(dim))
        elif isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and 0 <= dim < len(labels):
            chosen.append(int(dim))
        else:
            raise ValueError(f"{func}: dims entry {dim!r}; expected a label in {labels} or an index in "
                             f"0..{len(labels) - 1}.")
    return chosen


def _termination_step(termination: Any, lane: int, steps: int, n_lanes: int, func: str) -> int | None:
    """The step at which the lane's episode ended, or None (see ``game_state``)."""
    if termination is None:
        return None
    flags = to_numpy(termination, "termination", func)
    if flags.dtype == bool:
        if flags.ndim == 2:
            flags = flags[:, check_lane(lane, flags.shape[1], func)]
        if flags.shape != (steps,):
            raise ValueError(f"{func}: termination flags have shape {np.shape(termination)}; expected "
                             f"({steps},) or ({steps}, B), one done flag per step.")
        return int(np.argmax(flags)) if flags.any() else None
    if not np.issubdtype(flags.dtype, np.integer):
        raise TypeError(f"{func}: termination = {termination!r}; expected a step (int), per-lane steps "
                        f"(B,) ints, or done flags (T,) / (T, B) bools.")
    if flags.ndim == 1:
        if flags.shape[0] != n_lanes:
            raise ValueError(f"{func}: termination has {flags.shape[0]} per-lane steps; the states hold "
                             f"{n_lanes} lane(s).")
        flags = flags[lane]
    elif flags.ndim != 0:
        raise ValueError(f"{func}: termination has shape {flags.shape}; expected a step, (B,) steps or flags.")
    step = int(flags)
    if step < 0:
        return None  # a negative per-lane step: that lane never terminated
    if step >= steps:
        raise ValueError(f"{func}: termination step {step} is beyond the {steps} steps of the states.")
    return step


def game_state(states: Any, lane: int = 0, *, labels: Any = None, dims: Any = None, termination: Any = None,
               dt: float | None = None, separate: bool = False, ax: Axes | None = None,
               title: str | None = None, figsize: tuple[float, float] | None = None) -> Figure:
    """Traces of game observations over time, one per dimension.

    Parameters
    ----------
    states : array-like (T,), (T, d) or (T, B, d)
        Observations of T game steps (numpy or torch), e.g. CartPole's
        (x, x_dot, theta, theta_dot); a batch's axis B comes second.
    lane : int
        Which game of a batch.
    labels : sequence of d str, or "cartpole", optional
        Dimension names (default "dim 0", "dim 1", ...).
    dims : sequence of int or label, optional
        The dimensions to draw (default all), e.g. ``["x", "theta"]``.
    termination : int, (B,) ints, or (T,) / (T, B) bools, optional
        Where the episode ended: a step, one step per lane (negative: never),
        or done flags (the first True). Marked by a dashed vertical line.
    dt : float, optional
        Seconds per game step (CartPole: 0.02); the x axis is then seconds.
    separate : bool
        One stacked subplot per dimension (sharing x) instead of one axes;
        needs ``ax=None``.
    ax : matplotlib Axes, optional
        Draw here instead of on a new Figure.

    Returns
    -------
    matplotlib.figure.Figure
        One line per drawn dimension, labelled, y the observations.

    Examples
    --------
    >>> import numpy as np
    >>> states = np.zeros((4, 2, 4))                    # T=4 steps, B=2 CartPoles
    >>> states[:, 1, 2] = [0.0, 0.05, 0.12, 0.21]       # lane 1's pole angle
    >>> fig = game_state(states, lane=1, labels="cartpole", dims=["x", "theta"], termination=[-1, 3])
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['x', 'theta', 'terminated']
    >>> fig.axes[0].lines[1].get_ydata().tolist()
    [0.0, 0.05, 0.12, 0.21]
    """
    func = "game_state"
    values = to_numpy(states, "states", func)
    if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
        raise TypeError(f"{func}: states have dtype {values.dtype}; expected numbers.")
    n_lanes = 1
    if values.ndim == 1:
        values = values[:, None]
    elif values.ndim == 3:
        n_lanes = values.shape[1]
        values = values[:, check_lane(lane, n_lanes, func)]
    elif values.ndim != 2:
        raise ValueError(f"{func}: states have shape {values.shape}; expected (T,), (T, d) or (T, B, d) "
                         f"with time first.")
    if values.ndim == 2 and n_lanes == 1:
        check_lane(lane, 1, func)
    values = values.astype(float)
    steps, d = values.shape
    names = _labels(labels, d, func)
    chosen = _dims(dims, names, func)
    end = _termination_step(termination, lane, steps, n_lanes, func)
    scale = 1.0 if dt is None else float(check_positive(dt, "dt", func))
    times = np.arange(steps) * scale
    if separate:
        if ax is not None:
            raise ValueError(f"{func}: separate=True draws its own stacked subplots; pass ax=None.")
        figure = Figure(figsize=figsize or (7.0, 1.6 * len(chosen) + 0.6), layout="constrained")
        axes = list(np.atleast_1d(figure.subplots(len(chosen), 1, sharex=True, squeeze=False)[:, 0]))
    else:
        figure, ax = figure_and_axes(ax, figsize or (7.0, 3.0), func)
        axes = [ax] * len(chosen)
    for axes_k, k in zip(axes, chosen):
        axes_k.plot(times, values[:, k], label=names[k])
        if separate:
            axes_k.set_ylabel(names[k])
    for axes_k in dict.fromkeys(axes):  # each distinct axes once, in order
        if end is not None:
            axes_k.axvline(end * scale, color="black", linestyle="--", linewidth=1.0, label="terminated")
        if not separate:
            axes_k.set_ylabel("observation")
            axes_k.legend(fontsize="small", loc="best")
    axes[-1].set_xlabel("time (s)" if dt is not None else "game step")
    if title is not None:
        axes[0].set_title(title)
    return figure
