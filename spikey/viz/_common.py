"""Helpers shared by the plots: axes, array conversion, lanes, neuron groups and frame columns.

Plots build ``matplotlib.figure.Figure`` objects directly (never pyplot), so they
work headless, keep no global figure registry and need no ``close``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.module import suggest

#: Colour of each neuron group, the same in every plot.
GROUP_COLOURS = {"inputs": "tab:blue", "hidden": "tab:green", "outputs": "tab:red", "neurons": "tab:gray",
                 "all": "black"}


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float], func: str) -> tuple[Figure, Axes]:
    """``ax`` and its root Figure, or a new Figure with one Axes when ``ax`` is None."""
    if ax is None:
        figure = Figure(figsize=figsize, layout="constrained")
        return figure, figure.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"{func}: ax = {ax!r}; expected a matplotlib Axes or None.")
    return root_figure(ax), ax


def root_figure(ax: Axes) -> Figure:
    """The top-level Figure that holds ``ax`` (through any subfigures)."""
    figure = ax.figure
    while not isinstance(figure, Figure):
        figure = figure.figure
    return figure


def to_numpy(value: Any, name: str, func: str) -> np.ndarray:
    """A numpy array from a numpy array, a (CPU or CUDA) torch tensor or nested lists."""
    if hasattr(value, "detach"):  # torch tensors, without importing torch
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{func}: {name} of type {type(value).__name__} cannot be read as an array.") \
            from error


def is_network(source: Any) -> bool:
    """Whether ``source`` looks like a ``spikey.snn.Network`` (duck-typed, no import cycle)."""
    return all(hasattr(source, name) for name in ("spike_log", "n_inputs", "n_neurons", "weights"))


def check_lane(lane: Any, n_lanes: int, func: str) -> int:
    """``lane`` as an int in ``0..n_lanes-1``; the error names the lane and how many there are."""
    if isinstance(lane, (bool, np.bool_)) or not isinstance(lane, (int, np.integer)):
        raise TypeError(f"{func}: lane = {lane!r}; expected an int.")
    if not 0 <= lane < n_lanes:
        raise ValueError(f"{func}: lane = {lane} is out of range; the data holds {n_lanes} lane(s), "
                         f"so lane must be in 0..{n_lanes - 1}.")
    return int(lane)


def check_positive(value: Any, name: str, func: str, integer: bool = False) -> Any:
    """``value`` if it is a positive number (an int when ``integer``), else a ValueError naming it."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds) or not value > 0:
        raise ValueError(f"{func}: {name} = {value!r}; expected a positive {'int' if integer else 'number'}.")
    return value


def neuron_groups(n: int, n_inputs: int | None, n_outputs: int | None,
                  func: str) -> list[tuple[str, int, int]]:
    """Neuron groups ``(name, start, stop)`` of a log or matrix with ``n`` neurons, inputs first.

    Without sizes everything is one group, "neurons"; with ``n_inputs`` the rest
    is "hidden" (or "neurons" when ``n_outputs`` is unknown); with ``n_outputs`` the
    last ``n_outputs`` are "outputs". Empty groups are left out.
    """
    if n_inputs is None and n_outputs is None:
        return [("neurons", 0, n)]
    for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or value < 0):
            raise ValueError(f"{func}: {name} = {value!r}; expected an int >= 0.")
    n_in, n_out = int(n_inputs or 0), int(n_outputs or 0)
    if n_in + n_out > n:
        raise ValueError(f"{func}: n_inputs = {n_in} and n_outputs = {n_out} do not fit the {n} neurons "
                         f"of the data (n_inputs + n_outputs <= {n}).")
    body = "hidden" if n_outputs is not None else "neurons"
    groups = [("inputs", 0, n_in), (body, n_in, n - n_out), ("outputs", n - n_out, n)]
    return [group for group in groups if group[2] > group[1]]


def spike_data(source: Any, func: str, n_inputs: int | None = None,
               n_outputs: int | None = None) -> tuple[np.ndarray, list[tuple[str, int, int]], int]:
    """A spike log as bool ``(B, T, n)``, its neuron groups, and the step number of its first row.

    ``source`` is a Network (its ``spike_log`` and sizes; the first row's step
    counts network steps since the last reset) or an array ``(T, n)`` / ``(B, T, n)``
    (first row: step 0). Explicit ``n_inputs``/``n_outputs`` override a network's.
    """
    if is_network(source):
        log = np.asarray(source.spike_log)
        n_inputs = source.n_inputs if n_inputs is None else n_inputs
        n_outputs = source.n_outputs if n_outputs is None else n_outputs
        start = max(int(source.game_step) * int(source.processing_time) - log.shape[1], 0)
    else:
        log = to_numpy(source, "spike log", func)
        if log.ndim == 2:
            log = log[None]
        elif log.ndim != 3:
            raise ValueError(f"{func}: the spike log has shape {log.shape}; expected (T, n) or (B, T, n) "
                             f"(time steps oldest first, neurons inputs first), or a Network.")
        start = 0
    if log.dtype != bool:
        if not (np.issubdtype(log.dtype, np.number)):
            raise TypeError(f"{func}: the spike log has dtype {log.dtype}; expected bool or numbers.")
        log = log != 0
    return log, neuron_groups(log.shape[2], n_inputs, n_outputs, func), start


def require_columns(frame: Any, columns: dict[str, Any], func: str) -> None:
    """Check that ``frame`` is a DataFrame holding each ``{argument: column}``; errors list the columns."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{func}: frame is a {type(frame).__name__}; expected a pandas DataFrame "
                        f"(e.g. from spikey.experiment.run_episodes).")
    available = [str(column) for column in frame.columns]
    for argument, column in columns.items():
        if column not in frame.columns:
            raise ValueError(f"{func}: {argument} = {column!r} is not a column of the frame."
                             f"{suggest(str(column), available)} Available columns: {available}.")


def require_numeric(frame: Any, column: Any, argument: str, func: str) -> None:
    """Check that ``frame[column]`` holds numbers (or bools)."""
    import pandas as pd

    if not (pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column])):
        raise TypeError(f"{func}: {argument} column {column!r} has dtype {frame[column].dtype}; "
                        f"expected numbers.")


def check_choice(value: Any, name: str, choices: Sequence[Any], func: str) -> Any:
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    allowed = (None in choices) if value is None else \
        (isinstance(value, str) and value in [choice for choice in choices if choice is not None])
    if not allowed:
        raise ValueError(f"{func}: {name} = {value!r}; expected one of {list(choices)}.")
    return value
