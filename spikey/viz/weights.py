"""Weight plots: the distribution of present synapses' weights, and the weight matrix as a heatmap."""
from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikey.viz._common import GROUP_COLOURS, check_lane, figure_and_axes, is_network, to_numpy


def lane_weights(source: Any, lane: int, mask: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    """One lane's weights ``(n, N)`` (float) and which synapses are present ``(n, N)`` (bool).

    ``source`` is a Network (its ``weights.matrix``, shared ``(n, N)`` or ``(B, n, N)``,
    and ``weights.mask_numpy``) or a matrix ``(n, N)`` / ``(B, n, N)``; an array's
    present synapses are its nonzero entries unless ``mask`` says otherwise.
    """
    if is_network(source):
        matrix = to_numpy(source.weights.matrix, "weights.matrix", func)
        n_lanes = int(source.batch_size)
        default_mask = np.asarray(source.weights.mask_numpy, dtype=bool)
    else:
        matrix = to_numpy(source, "weight matrix", func)
        if matrix.ndim not in (2, 3):
            raise ValueError(f"{func}: the weight matrix has shape {matrix.shape}; expected (n, N) or "
                             f"(B, n, N) with n = n_inputs + n_neurons presynaptic rows, or a Network.")
        if not np.issubdtype(matrix.dtype, np.number):
            raise TypeError(f"{func}: the weight matrix has dtype {matrix.dtype}; expected numbers.")
        n_lanes = 1 if matrix.ndim == 2 else matrix.shape[0]
        default_mask = matrix != 0
    lane = check_lane(lane, n_lanes, func)
    weights = (matrix if matrix.ndim == 2 else matrix[lane]).astype(float)
    present = default_mask if mask is None else to_numpy(mask, "mask", func)
    if present.shape not in (weights.shape, (n_lanes,) + weights.shape):
        raise ValueError(f"{func}: mask has shape {present.shape}; expected {weights.shape} or "
                         f"{(n_lanes,) + weights.shape}, the weight matrix's shape.")
    present = (present if present.ndim == 2 else present[lane]).astype(bool)
    return weights, present


def _sizes(source: Any, n_inputs: int | None, n_outputs: int | None, n: int, N: int,
           func: str) -> tuple[int | None, int | None]:
    if is_network(source):
        n_inputs = source.n_inputs if n_inputs is None else n_inputs
        n_outputs = source.n_outputs if n_outputs is None else n_outputs
    for name, value, most in (("n_inputs", n_inputs, n), ("n_outputs", n_outputs, N)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or not 0 <= value <= most):
            raise ValueError(f"{func}: {name} = {value!r}; expected an int in 0..{most} for a "
                             f"({n}, {N}) weight matrix.")
    if n_inputs is not None and n - n_inputs != N:
        raise ValueError(f"{func}: n_inputs = {n_inputs} does not fit a ({n}, {N}) weight matrix, whose "
                         f"rows are n_inputs + N = n_inputs + {N}; expected n_inputs = {n - N}.")
    return n_inputs, n_outputs


def weight_histogram(source: Any, lane: int = 0, *, mask: Any = None, bins: Any = 20, split: bool = True,
                     n_inputs: int | None = None, ax: Axes | None = None, title: str | None = None,
                     figsize: tuple[float, float] = (6.0, 3.5)) -> Figure:
    """Histogram of the present synapses' weights (absent synapses are left out).

    Parameters
    ----------
    source : Network, or array-like (n, N) or (B, n, N)
        A Network (its current ``weights.matrix`` and fixed sparsity pattern
        ``weights.mask_numpy``) or a weight matrix, numpy or torch; rows are
        presynaptic (inputs first), columns postsynaptic.
    lane : int
        Which network's matrix (any lane of a shared matrix shows the same one).
    mask : array-like (n, N) or (B, n, N) of bool, optional
        Present synapses; default: the network's mask, or an array's nonzero entries.
    bins : int, sequence or str
        As for ``numpy.histogram_bin_edges``; shared by the groups.
    split : bool
        Stack the synapses from inputs and from body neurons in two colours
        (when the input count is known: a Network, or ``n_inputs``).
    n_inputs : int, optional
        Number of input rows of an array (a Network supplies its own).

    Returns
    -------
    matplotlib.figure.Figure
        Bars whose heights (stacked per group) count synapses; they sum to the
        number of present synapses.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0.5, 0.0], [1.0, 0.2], [0.0, 0.7]])     # 1 input + 2 neurons; 2 absent
    >>> fig = weight_histogram(w, bins=4, n_inputs=1)
    >>> float(sum(bar.get_height() for bar in fig.axes[0].patches))
    4.0
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['from inputs (1)', 'from neurons (3)']
    """
    func = "weight_histogram"
    weights, present = lane_weights(source, lane, mask, func)
    n, N = weights.shape
    n_inputs, _ = _sizes(source, n_inputs, None, n, N, func)
    if not present.any():
        raise ValueError(f"{func}: lane {lane} has no present synapses (the mask is all False); "
                         f"nothing to histogram.")
    values = weights[present]
    try:
        edges = np.histogram_bin_edges(values, bins=bins)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{func}: bins = {bins!r} is not usable: {error}") from error
    figure, ax = figure_and_axes(ax, figsize, func)
    if split and n_inputs is not None:
        rows = np.arange(n)[:, None] < n_inputs
        parts = [("from inputs", weights[present & rows], GROUP_COLOURS["inputs"]),
                 ("from neurons", weights[present & ~rows], GROUP_COLOURS["hidden"])]
        parts = [part for part in parts if part[1].size]
    else:
        parts = [("synapses", values, GROUP_COLOURS["neurons"])]
    ax.hist([part[1] for part in parts], bins=edges, stacked=True,
            label=[f"{name} ({data.size})" for name, data, _ in parts], color=[part[2] for part in parts])
    ax.set_xlabel("weight")
    ax.set_ylabel("synapses")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return figure


def weight_matrix(source: Any, lane: int = 0, *, mask: Any = None, n_inputs: int | None = None,
                  n_outputs: int | None = None, signed: bool = False, polarities: Any = None,
                  cmap: str | None = None, colorbar: bool = True, ax: Axes | None = None,
                  title: str | None = None, figsize: tuple[float, float] = (6.0, 5.0)) -> Figure:
    """Heatmap of the ``(n, N)`` weight matrix: presynaptic rows (inputs first), postsynaptic columns.

    Absent synapses are drawn in light grey. Dashed lines separate the input
    rows from the body rows and, with ``n_outputs``, the output neurons.

    Parameters
    ----------
    source : Network, or array-like (n, N) or (B, n, N)
        As for ``weight_histogram``.
    lane : int
        Which network's matrix.
    mask : array-like of bool, optional
        Present synapses (default: the network's mask, or an array's nonzero entries).
    n_inputs, n_outputs : int, optional
        Group sizes of an array (a Network supplies its own).
    signed : bool
        Multiply each row by its presynaptic polarity (+1 excitatory, -1
        inhibitory), on a diverging colour map centred on 0.
    polarities : array-like (n,) or (B, n), optional
        The polarities for ``signed`` with an array (a Network supplies its own).
    cmap : str, optional
        Colour map name (default "viridis", or "RdBu_r" when signed).
    colorbar : bool
        Add a colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        The image's data is the (signed) matrix with absent synapses masked.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0.5, 0.0], [1.0, 0.2], [0.0, 0.7]])
    >>> fig = weight_matrix(w, n_inputs=1, n_outputs=1, signed=True, polarities=[1, -1, 1])
    >>> fig.axes[0].images[0].get_array().tolist()
    [[0.5, None], [-1.0, -0.2], [None, 0.7]]
    """
    func = "weight_matrix"
    weights, present = lane_weights(source, lane, mask, func)
    n, N = weights.shape
    n_inputs, n_outputs = _sizes(source, n_inputs, n_outputs, n, N, func)
    if signed:
        if polarities is None:
            if not is_network(source):
                raise ValueError(f"{func}: signed=True needs the presynaptic polarities of an array; "
                                 f"pass polarities=(n,) with n = {n} (or a Network).")
            polarities = source.polarities
        signs = to_numpy(polarities, "polarities", func).astype(float)
        if signs.ndim == 2:
            signs = signs[check_lane(lane, signs.shape[0], func)]
        if signs.shape != (n,):
            raise ValueError(f"{func}: polarities have shape {signs.shape}; expected ({n},) or (B, {n}), "
                             f"one sign per presynaptic row.")
        weights = weights * signs[:, None]
    image = np.ma.masked_array(weights, mask=~present)
    colours = matplotlib.colormaps[cmap or ("RdBu_r" if signed else "viridis")].with_extremes(bad="0.9")
    if signed:
        bound = float(np.abs(image).max()) if present.any() else 1.0
        limits = (-(bound or 1.0), bound or 1.0)
    else:
        limits = (0.0, float(image.max()) if present.any() and image.max() > 0 else 1.0)
    figure, ax = figure_and_axes(ax, figsize, func)
    drawn = ax.imshow(image, aspect="auto", interpolation="nearest", cmap=colours, vmin=limits[0],
                      vmax=limits[1])
    if n_inputs:
        ax.axhline(n_inputs - 0.5, color="black", linestyle="--", linewidth=0.8)
    if n_outputs and n_outputs < N:
        ax.axvline(N - n_outputs - 0.5, color="black", linestyle="--", linewidth=0.8)
        if n_inputs is not None:
            ax.axhline(n - n_outputs - 0.5, color="black", linestyle=":", linewidth=0.8)
    ax.set_xlabel("postsynaptic neuron")
    ax.set_ylabel("presynaptic (inputs, then neurons)")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        figure.colorbar(drawn, ax=ax, label="signed weight" if signed else "weight")
    return figure
