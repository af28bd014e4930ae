"""A weight matrix given by the user: a full matrix, per-network matrices, or feedforward layers."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.weight.template import Weight


def feedforward(layers: list[np.ndarray], n_neurons: int | None = None) -> np.ndarray:
    """Place feedforward layer blocks on the ``(n_in + N, N)`` grid.

    Layer k, of shape ``(m_k, m_{k+1})``, connects group k to group k+1: the
    inputs are group 0 (rows ``0..m_0``) and the body neurons groups 1.. in order.

    >>> feedforward([np.ones((2, 3)), np.ones((3, 1))]).shape
    (6, 4)
    """
    layers = [np.asarray(layer, dtype=float) for layer in layers]
    for k in range(len(layers) - 1):
        if layers[k].shape[1] != layers[k + 1].shape[0]:
            raise ValueError(f"feedforward: layer {k} has {layers[k].shape[1]} outputs but layer {k + 1} "
                             f"has {layers[k + 1].shape[0]} inputs.")
    n_pre = sum(layer.shape[0] for layer in layers) + layers[-1].shape[1]
    n_body = n_pre - layers[0].shape[0] if n_neurons is None else n_neurons
    matrix = np.zeros((n_pre, n_body))
    row = 0
    column = 0
    for layer in layers:
        rows, columns = layer.shape
        matrix[row:row + rows, column:column + columns] = layer
        row += rows
        column += columns
    return matrix[:layers[0].shape[0] + n_body]


class Manual(Weight):
    """Weights from the ``matrix`` key.

    ``matrix`` is one of: an array ``(n_inputs + N, N)`` shared by all
    networks; an array ``(B, n_inputs + N, N)``, one per network; a list of
    feedforward layer blocks (see ``feedforward``); or a callable
    ``f(rng) -> array`` called once per network with its own seeded
    ``numpy.random.Generator``, so each lane of a batch gets the draw of its seed.

    Examples
    --------
    >>> import numpy as np
    >>> w = Manual(n_inputs=2, n_neurons=2, max_weight=1.0,
    ...            matrix=[np.full((2, 1), .5), np.full((1, 1), .8)])
    >>> w.matrix.tolist()
    [[0.5, 0.0], [0.5, 0.0], [0.0, 0.800000011920929], [0.0, 0.0]]
    """

    Keys = Weight.Keys + [
        Key("matrix", "weights: array (n, N) or (B, n, N), feedforward layer list, or f(rng) -> array",
            (np.ndarray, list, callable)),
    ]

    def draws_per_lane(self) -> bool:
        matrix = self.params["matrix"]
        return callable(matrix) and not isinstance(matrix, np.ndarray)

    def draw_lane(self, rng: np.random.Generator, lane: int) -> np.ndarray:
        return self.params["matrix"](rng)

    def generate(self) -> np.ndarray:
        matrix = self.params["matrix"]
        if self.draws_per_lane():
            return super().generate()
        if isinstance(matrix, list):
            return feedforward(matrix, self.params["n_neurons"])
        return np.asarray(matrix, dtype=float)
