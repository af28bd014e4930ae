"""Spikey's leaky integrate-and-fire neuron."""
from __future__ import annotations

from spikey.module import Key
from spikey.snn.equations import equation
from spikey.snn.neuron.template import Neuron


class LIF(Neuron):
    """Leaky integrate-and-fire with Spikey's discrete-time update.

    Per step, for neurons that are not refractory::

        V <- V_rest + (V - V_rest) * (1 - d) + I

    with ``d = potential_decay`` and ``I`` the synaptic input ``spikes @ W``.
    Firing, reset, refractory period, random firing, polarity and spike delay
    follow the ``Neuron`` template.

    Examples
    --------
    >>> import numpy as np
    >>> lif = LIF(n_neurons=3, firing_threshold=1.0, potential_decay=0.5)
    >>> lif.update(np.array([[0.6, 2.0, 0.0]], dtype=np.float32))
    >>> lif().tolist()                      # the second neuron crossed θ = 1
    [[0.0, 1.0, 0.0]]
    >>> lif.update(np.zeros((1, 3), dtype=np.float32))
    >>> lif.potential.tolist()              # 0.6 decayed by half; the spiker reset to V_rest
    [[0.30000001192092896, 0.0, 0.0]]
    """

    Keys = Neuron.Keys + [
        Key("potential_decay", "d, fraction of (V - V_rest) lost per step", float,
            range=(0, 1), per_member=True),
    ]

    def derive(self) -> None:
        super().derive()
        self.retain = 1.0 - self.backend.column(self.params["potential_decay"])

    @equation("potential")
    def charge_eq(potential, current, v_rest, retain):
        """V <- V_rest + (V - V_rest) (1 - d) + I"""
        return v_rest + (potential - v_rest) * retain + current
