"""The action whose pool fired most, ties broken at random."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.snn.readout.population_vector import PopulationVector


class TopAction(PopulationVector):
    """``(B,)`` int: the action whose output pool fired most during the game step.

    Pools are those of ``PopulationVector``. Where several pools tie for the
    most spikes (all of them when the outputs were silent), one of the tied
    actions is chosen uniformly at random from the network's own stream: each
    call draws ``n_actions`` uniforms per lane, tie or not, so a lane's
    choices depend only on its seed and the batch reproduces single networks.

    Examples
    --------
    >>> import numpy as np
    >>> readout = TopAction(n_outputs=4, n_actions=2, batch_size=2)
    >>> readout(np.array([[0, 1, 3, 0], [2, 2, 1, 0]]), np.ones((2, 4)), steps=10).tolist()
    [1, 0]
    """

    def __call__(self, counts: Any, polarities: Any, steps: int) -> np.ndarray:
        pooled = self.pool_counts(counts)
        tied = pooled == pooled.max(axis=1, keepdims=True)
        u = self.backend.to_numpy(self.stream("tie", (self.params["n_actions"],)).uniform())
        # Tied actions score their uniform draw (>= 0), the others -1: argmax picks a uniform tied one.
        return np.where(tied, u, -1.0).argmax(axis=1)
