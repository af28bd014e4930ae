"""Spike raster: one mark per spike, time on x and neuron on y, groups in their own colours."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.viz._common import (GROUP_COLOURS, check_lane, check_positive, figure_and_axes,
                                spike_data)


def raster(source: Any, lane: int = 0, *, ax: Axes | None = None, dt_ms: float | None = None,
           t0: int | None = None, n_inputs: int | None = None, n_outputs: int | None = None,
           marker_size: float = 16.0, legend: bool = True, title: str | None = None,
           figsize: tuple[float, float] = (8.0, 4.0)) -> Figure:
    """Spike raster of one lane of a spike log.

    Parameters
    ----------
    source : Network, or array-like (T, n) or (B, T, n)
        A ``spikey.snn.Network`` (its ``spike_log``, the last ``spike_log_length``
        network steps, and its sizes) or a bool/0-1 spike log, numpy or torch,
        time steps oldest first and neurons inputs first.
    lane : int
        Which of the B networks to show.
    ax : matplotlib Axes, optional
        Draw here instead of on a new Figure.
    dt_ms : float, optional
        Length of a network step in ms; the x axis is then time in ms instead of steps.
    t0 : int, optional
        Step number of the log's first row (default: for a Network, network steps
        since its last reset; for an array, 0).
    n_inputs, n_outputs : int, optional
        Group sizes for an array (a Network supplies its own): the first
        ``n_inputs`` neurons are inputs, the last ``n_outputs`` outputs, the rest hidden.
        Groups get their own colour, and dashed lines separate them.
    marker_size : float
        Marker area in points^2.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter collection per group; its offsets are the ``(time, neuron)``
        of every spike in the group.

    Examples
    --------
    >>> import numpy as np
    >>> log = np.zeros((2, 5, 4), dtype=bool)            # B=2 lanes, T=5 steps, 4 neurons
    >>> log[1, [0, 2, 4], [0, 3, 3]] = True
    >>> fig = raster(log, lane=1, n_inputs=1, n_outputs=1)
    >>> [c.get_label() for c in fig.axes[0].collections]
    ['inputs (1)', 'hidden (2)', 'outputs (1)']
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    3
    >>> fig.axes[0].collections[2].get_offsets().tolist()    # (step, neuron)
    [[2.0, 3.0], [4.0, 3.0]]
    """
    func = "raster"
    log, groups, start = spike_data(source, func, n_inputs, n_outputs)
    spikes = log[check_lane(lane, log.shape[0], func)]
    start = start if t0 is None else int(t0)
    scale = 1.0 if dt_ms is None else float(check_positive(dt_ms, "dt_ms", func))
    figure, ax = figure_and_axes(ax, figsize, func)
    steps, n = spikes.shape
    for name, first, stop in groups:
        times, neurons = np.nonzero(spikes[:, first:stop])
        ax.scatter((start + times) * scale, first + neurons, s=marker_size, marker="|",
                   color=GROUP_COLOURS[name], label=f"{name} ({stop - first})")
        if first > 0:  # the boundary below this group
            ax.axhline(first - 0.5, color="0.6", linestyle="--", linewidth=0.8)
    ax.set_xlim((start - 0.5) * scale, (start + max(steps, 1) - 0.5) * scale)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlabel("time (ms)" if dt_ms is not None else "network step")
    ax.set_ylabel("neuron (inputs first)")
    if title is not None:
        ax.set_title(title)
    if legend and len(groups) > 1:
        # outside the axes: a raster has no empty corner to put it in
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", markerscale=1.5,
                  borderaxespad=0.0)
    return figure
