"""Population vector: each action's share of the output spikes."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key, KeyRangeError
from spikey.snn.readout.template import Readout


class PopulationVector(Readout):
    """``(B, n_actions)``: each action pool's share of the game step's output spikes.

    The outputs are split into ``n_actions`` contiguous pools (``pools``; sizes
    differ by at most one, so every output belongs to some pool). With ``p_a``
    the number of spikes pool ``a`` fired, the vector is ``p / Σp``, or the
    uniform ``1 / n_actions`` for a network whose outputs stayed silent.
    Spikes count whatever the output's polarity.

    Examples
    --------
    >>> import numpy as np
    >>> readout = PopulationVector(n_outputs=5, n_actions=2, batch_size=2)
    >>> readout.pools(2).tolist()
    [0, 2, 5]
    >>> counts = np.array([[3, 1, 2, 0, 0], [0, 0, 0, 0, 0]])
    >>> readout(counts, np.ones((2, 5)), steps=10).tolist()
    [[0.6666666666666666, 0.3333333333333333], [0.5, 0.5]]
    """

    Keys = Readout.Keys + [
        Key("n_actions", "number of actions, one contiguous pool of outputs each", int,
            range=(1, None)),
    ]

    def derive(self) -> None:
        n_actions, n_outputs = self.params["n_actions"], self.params["n_outputs"]
        self.bounds = self.pools(n_actions)
        self.membership = pool_membership(self.bounds)

    def pool_counts(self, counts: Any) -> np.ndarray:
        """``(B, n_actions)`` float64 spikes per pool from ``counts`` ``(B, n_outputs)``."""
        counts = np.asarray(self.backend.to_numpy(counts), dtype=np.float64)
        B, n_outputs = self.batch_size, self.params["n_outputs"]
        if counts.shape != (B, n_outputs):
            raise ValueError(f"{type(self).__name__}: counts have shape {counts.shape}; expected "
                             f"(batch_size, n_outputs) = ({B}, {n_outputs}).")
        # Counts are whole numbers, so the float64 product is exact.
        return counts @ self.membership

    def vector(self, pooled: np.ndarray) -> np.ndarray:
        """Normalise pool counts ``(B, n_actions)`` to shares; silent lanes get 1 / n_actions."""
        total = pooled.sum(axis=1, keepdims=True)
        silent = total == 0
        return np.where(silent, 1.0 / pooled.shape[1], pooled / np.where(silent, 1.0, total))

    def __call__(self, counts: Any, polarities: Any, steps: int) -> np.ndarray:
        """``(B, n_actions)`` float64 shares of the spikes; rows sum to 1."""
        return self.vector(self.pool_counts(counts))


def pool_membership(bounds: np.ndarray) -> np.ndarray:
    """``(n_outputs, n_pools)`` 0/1 matrix: output i belongs to pool a when bounds[a] <= i < bounds[a+1]."""
    index = np.arange(bounds[-1])[:, None]
    return ((index >= bounds[None, :-1]) & (index < bounds[None, 1:])).astype(np.float64)
