"""Synapses without plasticity."""
from __future__ import annotations

from spikey.snn.synapse.template import Synapse


class Static(Synapse):
    """Fixed weights: nothing learns, so a batch can share one weight matrix.

    Examples
    --------
    >>> Static(n_inputs=2, n_neurons=3).plastic
    False
    """

    @property
    def plastic(self) -> bool:
        return False
