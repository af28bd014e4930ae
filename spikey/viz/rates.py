"""Firing rates over time: the mean rate of each neuron group in a sliding window."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.viz._common import (GROUP_COLOURS, check_lane, check_positive, figure_and_axes,
                                spike_data)


def firing_rates(source: Any, lane: int | None = 0, *, window: int = 10, dt_ms: float | None = None,
                 t0: int | None = None, n_inputs: int | None = None, n_outputs: int | None = None,
                 groups: bool = True, ax: Axes | None = None, legend: bool = True,
                 title: str | None = None, figsize: tuple[float, float] = (8.0, 3.0)) -> Figure:
    """Group (or population) firing rates over time, averaged in a trailing window.

    The rate at step t is the number of spikes of the group's neurons in steps
    ``t - window + 1 .. t``, divided by ``window`` and the group's size: spikes
    per neuron per network step, or Hz (``* 1000 / dt_ms``) when ``dt_ms`` is given.
    The first point is at the end of the first full window.

    Parameters
    ----------
    source : Network, or array-like (T, n) or (B, T, n)
        As for ``raster``: a Network's ``spike_log`` or a spike log, numpy or torch.
    lane : int or None
        Which of the B networks; None averages the rates over all lanes.
    window : int
        Window length in network steps, ``1 <= window <= T``.
    dt_ms : float, optional
        Network step length in ms: the x axis becomes ms and the rates Hz.
    t0, n_inputs, n_outputs
        As for ``raster``.
    groups : bool
        One line per neuron group (inputs, hidden, outputs) if True; one line for
        all neurons of the log if False.

    Returns
    -------
    matplotlib.figure.Figure
        One line per group, x the window-end steps (or ms), y the rates.

    Examples
    --------
    >>> import numpy as np
    >>> log = np.zeros((6, 3), dtype=bool)          # T=6 steps, 3 neurons
    >>> log[:, 0] = True                            # the input fires every step
    >>> log[[1, 3], 2] = True
    >>> fig = firing_rates(log, window=2, n_inputs=1, n_outputs=1)
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['inputs (1)', 'hidden (1)', 'outputs (1)']
    >>> fig.axes[0].lines[2].get_xydata().tolist()  # (window end, spikes per neuron per step)
    [[1.0, 0.5], [2.0, 0.5], [3.0, 0.5], [4.0, 0.5], [5.0, 0.0]]
    """
    func = "firing_rates"
    log, neuron_groups, start = spike_data(source, func, n_inputs, n_outputs)
    if lane is None:
        spikes = log.mean(axis=0)  # (T, n): mean over lanes
    else:
        spikes = log[check_lane(lane, log.shape[0], func)].astype(float)
    steps, n = spikes.shape
    check_positive(window, "window", func, integer=True)
    if window > steps:
        raise ValueError(f"{func}: window = {window} is longer than the {steps} logged steps; use a "
                         f"window <= {steps} (or a longer spike_log_length and more steps).")
    start = start if t0 is None else int(t0)
    scale = 1.0 if dt_ms is None else float(check_positive(dt_ms, "dt_ms", func))
    figure, ax = figure_and_axes(ax, figsize, func)
    times = (start + np.arange(window - 1, steps)) * scale
    kernel = np.ones(window) / window
    for name, first, stop in (neuron_groups if groups else [("all", 0, n)]):
        per_step = spikes[:, first:stop].mean(axis=1)  # spikes per neuron in each step
        rate = np.convolve(per_step, kernel, mode="valid")
        if dt_ms is not None:
            rate = rate * 1000.0 / dt_ms
        ax.plot(times, rate, color=GROUP_COLOURS[name], label=f"{name} ({stop - first})")
    ax.set_xlabel("time (ms)" if dt_ms is not None else "network step")
    ax.set_ylabel("rate (Hz)" if dt_ms is not None else "spikes per neuron per step")
    ax.set_ylim(bottom=0)
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper right", fontsize="small")
    return figure
