"""Random weights with an optional random sparsity pattern, drawn per network from its seed."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.weight.template import Weight


def uniform(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Default generator: U(0, 1), later scaled by max_weight."""
    return rng.random(shape)


class Random(Weight):
    """Random weights: ``max_weight * weight_generator(rng, shape)``, no self-connections.

    Each synapse exists with probability ``connection_prob`` (and where
    ``matrix_mask`` is true, if given); the resulting pattern is fixed for the
    run (plasticity respects it). ``force_unidirectional`` removes one synapse
    of every reciprocal body pair at random; ``recurrent = False`` keeps only the
    synapses from the inputs (a feed-forward layer, as for a gymnasium policy
    whose outputs should answer the observation rather than each other). Every
    network of a batch draws its own matrix from its seed.

    Examples
    --------
    >>> w = Random(n_inputs=3, n_neurons=4, max_weight=2.0, connection_prob=0.5,
    ...            batch_size=2, seed=7)
    >>> w.matrix.shape, bool((w.matrix <= 2.0).all())
    ((2, 7, 4), True)
    >>> ff = Random(n_inputs=3, n_neurons=4, max_weight=2.0, connection_prob=0.5, recurrent=False,
    ...             batch_size=2, seed=7)
    >>> bool((ff.matrix[:, 3:] == 0).all()), bool((ff.matrix[:, :3] == w.matrix[:, :3]).all())
    (True, True)
    """

    Keys = Weight.Keys + [
        Key("weight_generator", "f(rng, shape) -> values in [0, 1], scaled by max_weight", callable,
            default=uniform),
        Key("connection_prob", "probability that a synapse exists", float, default=1.0, range=(0, 1)),
        Key("matrix_mask", "bool array (n, N): where synapses may exist", np.ndarray, default=None,
            nullable=True),
        Key("force_unidirectional", "keep only one direction of reciprocal body synapses", bool,
            default=False),
        Key("recurrent", "whether body neurons connect to one another (False: feed-forward, synapses "
            "only from the inputs)", bool, default=True),
    ]

    def draw_lane(self, rng: np.random.Generator, lane: int) -> np.ndarray:
        n, N = self.shape
        n_in = self.params["n_inputs"]
        allowed = np.ones((n, N), dtype=bool)
        allowed[n_in + np.arange(N), np.arange(N)] = False  # no self-connections
        if not self.params["recurrent"]:
            allowed[n_in:] = False  # feed-forward: only input rows; the draws below stay the same
        if self.params["matrix_mask"] is not None:
            mask = np.asarray(self.params["matrix_mask"], dtype=bool)
            if mask.shape != (n, N):
                raise ValueError(f"Random: key 'matrix_mask' has shape {mask.shape}; expected {(n, N)}.")
            allowed &= mask
        values = np.asarray(self.params["weight_generator"](rng, (n, N)), dtype=float)
        if values.shape != (n, N):
            raise ValueError(f"Random: 'weight_generator' returned shape {values.shape}; expected {(n, N)}.")
        present = allowed & (rng.random((n, N)) < self.params["connection_prob"])
        if self.params["force_unidirectional"]:
            body = present[n_in:]
            both = np.triu(body & body.T, 1)
            drop_forward = both & (rng.random((N, N)) < 0.5)
            body &= ~drop_forward
            body &= ~(both & ~drop_forward).T
        bound = np.reshape(self.params["max_weight"], (-1,))
        values *= bound[lane if len(bound) > 1 else 0]
        values[~present] = 0.0
        return values
