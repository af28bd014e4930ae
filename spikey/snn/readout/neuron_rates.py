"""Mean firing rate of each pool of outputs."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key, KeyRangeError
from spikey.snn.readout.population_vector import pool_membership
from spikey.snn.readout.template import Readout


class NeuronRates(Readout):
    """``(B, n_actions)`` mean firing rate of each output pool, in spikes per network step.

    The outputs are split into ``n_actions`` contiguous pools (``pools``; sizes
    may differ by one); ``n_actions = 0`` gives one pool per output. A pool's
    rate is its spike count over the game step divided by the number of
    network steps and by its size, so it lies in [0, 1] whatever the pool
    size. Rates are unsigned: inhibitory outputs count like excitatory ones.

    Examples
    --------
    >>> import numpy as np
    >>> readout = NeuronRates(n_outputs=3, n_actions=2)
    >>> readout.pools(2).tolist()
    [0, 2, 3]
    >>> readout(np.array([[5, 10, 2]]), np.ones((1, 3)), steps=10).tolist()
    [[0.75, 0.2]]
    >>> NeuronRates(n_outputs=3, n_actions=0)(np.array([[5, 10, 2]]), np.ones((1, 3)), 10).tolist()
    [[0.5, 1.0, 0.2]]
    """

    Keys = Readout.Keys + [
        Key("n_actions", "number of output pools (0: one per output neuron)", int, range=(0, None)),
    ]

    def derive(self) -> None:
        n_actions, n_outputs = self.params["n_actions"], self.params["n_outputs"]
        self.bounds = self.pools(n_actions or n_outputs)
        self.membership = pool_membership(self.bounds)
        self.sizes = np.diff(self.bounds).astype(np.float64)  # >= 1: pools are never empty

    def __call__(self, counts: Any, polarities: Any, steps: int) -> np.ndarray:
        """``(B, n_pools)`` float64 mean spikes per output neuron per network step."""
        if steps < 1:
            raise ValueError(f"{type(self).__name__}: steps = {steps!r}; expected the number of "
                             f"network steps in the game step (>= 1).")
        counts = np.asarray(self.backend.to_numpy(counts), dtype=np.float64)
        B, n_outputs = self.batch_size, self.params["n_outputs"]
        if counts.shape != (B, n_outputs):
            raise ValueError(f"{type(self).__name__}: counts have shape {counts.shape}; expected "
                             f"(batch_size, n_outputs) = ({B}, {n_outputs}).")
        return counts @ self.membership / self.sizes / steps
