"""Reward-modulated STDP with a per-synapse eligibility trace (Florian 2007, MSTDPET)."""
from __future__ import annotations

import math
from typing import Any

from spikey.module import Key
from spikey.snn.synapse.mstdp import MSTDP


class MSTDPET(MSTDP):
    """MSTDPET (Florian 2007, eq. 7-8): an eligibility trace z per synapse.

    Per step::

        z <- z * exp(-1/tau_eligibility) + ζ          # (B, n, N)
        W <- W + learning_rate * r * z

    so a reward delivered up to a few ``tau_eligibility`` steps after a
    pairing still credits it (distal reward). Florian's continuous form
    ``dW/dt = γ r z / τ_z`` corresponds to ``learning_rate = γ / τ_z``.

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn.weight.manual import Manual
    >>> w = Manual(n_inputs=1, n_neurons=1, max_weight=1.0, matrix=np.array([[.5], [0.]]))
    >>> rule = MSTDPET(n_inputs=1, n_neurons=1, learning_rate=0.01); rule.bind(w)
    >>> rule.update(np.array([[1., 0.]]), np.array([[0.]]))     # pre, then post: z > 0
    >>> rule.update(np.array([[0., 1.]]), np.array([[1.]]))
    >>> for _ in range(10):                                     # reward 10 steps later
    ...     rule.update(np.zeros((1, 2)), np.zeros((1, 1)))
    >>> rule.update(np.zeros((1, 2)), np.zeros((1, 1)), reward=np.array([1.]))
    >>> bool(w.matrix[0, 0, 0] > 0.5)
    True
    """

    Keys = MSTDP.Keys + [
        Key("tau_eligibility", "τ_z, decay time of the eligibility trace (steps)", float,
            default=25.0, range=(1e-9, None)),
    ]
    state_names = MSTDP.state_names + ("trace",)

    def derive(self) -> None:
        super().derive()
        self.trace_decay = math.exp(-1.0 / self.params["tau_eligibility"])

    def reset(self) -> None:
        super().reset()
        self.trace = self.cleared("trace", (self.batch_size, self.n_pre, self.params["n_neurons"]))

    def eligibility(self, zeta: Any) -> Any:
        self.trace *= self.trace_decay
        self.trace += zeta
        return self.trace
