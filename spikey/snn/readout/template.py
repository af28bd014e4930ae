"""The readout template: turns a game step's output spikes into the network's action.

``readout(counts, polarities, steps)`` receives, per network of the batch,
the number of spikes each output neuron fired during the game step
(``counts``, ``(B, n_outputs)``), the outputs' polarities (``(B, n_outputs)``,
±1) and the number of network steps (``processing_time``). Outputs are the
last ``n_outputs`` body neurons.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key, KeyRangeError
from spikey.snn.part import Part


class Readout(Part):
    """Template for readouts."""

    namespace = "readout"
    Keys = [
        Key("n_outputs", "number of output neurons (the last n_outputs body neurons)", int,
            range=(0, None)),
    ]

    def __call__(self, counts: Any, polarities: Any, steps: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __call__.")

    def pools(self, n_actions: int) -> np.ndarray:
        """Boundaries of ``n_actions`` contiguous output pools, as equal as possible.

        Pool a is outputs ``bounds[a]:bounds[a+1]``; sizes differ by at most one
        (so 5 outputs over 2 actions give pools of 2 and 3).
        """
        n_outputs = self.params["n_outputs"]
        if n_actions > n_outputs:
            name = type(self).__name__
            raise KeyRangeError(
                f"{name}: key 'n_actions' = {n_actions} exceeds n_outputs = {n_outputs}; expected "
                f"n_actions <= n_outputs (every action needs at least one output neuron).",
                key="n_actions", part=name, value=n_actions, expected=f"int <= {n_outputs}")
        return np.linspace(0, n_outputs, n_actions + 1).round().astype(int)
