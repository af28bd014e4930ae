"""Unsupervised pair STDP with traces, optional column normalisation."""
from __future__ import annotations

from typing import Any

from spikey.module import Key
from spikey.snn.synapse.template import TraceSTDP


class STDP(TraceSTDP):
    """Pair STDP: ``W += learning_rate * ζ`` every step (no reward).

    ``normalize_columns``, when set, rescales each postsynaptic column after
    every update so its weights sum to that value (Diehl & Cook 2015 style),
    keeping total input per neuron constant while the pattern learns.

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn.weight.manual import Manual
    >>> w = Manual(n_inputs=1, n_neurons=1, max_weight=1.0, matrix=np.array([[.5], [0.]]))
    >>> rule = STDP(n_inputs=1, n_neurons=1, learning_rate=0.1); rule.bind(w)
    >>> rule.update(np.array([[1., 0.]]), np.array([[0.]]))   # pre fires ...
    >>> rule.update(np.array([[0., 1.]]), np.array([[1.]]))   # ... post one step later
    >>> bool(w.matrix[0, 0, 0] > 0.5)
    True
    """

    Keys = TraceSTDP.Keys + [
        Key("normalize_columns", "target sum of each column's weights after updates, None to skip",
            float, default=None, range=(0, None), nullable=True),
    ]

    def update(self, pre: Any, post: Any, reward: Any = None) -> None:
        self.step_traces(pre, post)
        self.change_weights(self.learning_rate * self.pairing(pre, post))
        target = self.params["normalize_columns"]
        if target is not None:
            sums = self.weights.matrix.sum(axis=-2, keepdims=True)
            scale = self.xp.where(sums > 0, target / self.xp.where(sums > 0, sums, 1.0), 1.0)
            if self.learning_lanes is not None:  # lanes that do not learn keep their columns
                learns = self.backend.asarray(self.learning_lanes, dtype=bool)
                scale = self.xp.where(learns[:, None, None], scale, 1.0)
            self.weights.matrix *= scale
            self.weights.clip_()
