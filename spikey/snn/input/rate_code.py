"""Rate coding of continuous observations: each feature's value sets its inputs' spike probability."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input.template import Input


class RateCode(Input):
    """Bernoulli spikes whose per-step probability is ``max_rate`` times the feature value.

    Observations arrive once per game step as ``(B, n_features)`` numbers in
    ``[0, 1]`` (images, classification features; values outside are clipped).
    With ``n_inputs = k * n_features`` each feature drives ``k`` inputs
    (feature-major: inputs ``f*k .. f*k + k - 1`` belong to feature ``f``),
    each spiking with probability ``p = max_rate * x_f`` per network step,
    drawn per lane from the lane's own random stream.

    Examples
    --------
    >>> import numpy as np
    >>> inputs = RateCode(n_inputs=6, n_features=3, max_rate=0.5, batch_size=2, seed=0)
    >>> inputs.update(np.array([[0.0, 0.5, 1.0], [1.0, 1.0, 0.0]]))
    >>> inputs.rates.tolist()
    [[0.0, 0.0, 0.25, 0.25, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5, 0.0, 0.0]]
    >>> inputs().shape
    (2, 6)
    """

    Keys = Input.Keys + [
        Key("n_features", "observation features per lane (n_inputs is a multiple of it)", int,
            range=(1, None)),
        Key("max_rate", "spike probability per network step of a feature at value 1", float,
            default=0.2, range=(0, 1), per_member=True),
    ]

    rate_stream = "rate"

    def derive(self) -> None:
        super().derive()
        n, f = self.n_inputs, self.params["n_features"]
        if n % f:
            name = type(self).__name__
            raise ConfigError(f"{name}: key 'n_inputs' = {n} must be a multiple of n_features = {f} "
                              f"(copies of each feature).", key="n_inputs", part=name, value=n,
                              expected=f"a multiple of {f}")
        self.copies = n // f
        self._max_rate = np.asarray(self.params["max_rate"], dtype=np.float64).reshape(-1, 1)
        self.rates = None

    def update(self, state: Any) -> None:
        """Set the per-step spike probabilities from observations ``(B, n_features)`` in [0, 1]."""
        super().update(state)
        B, f = self.batch_size, self.params["n_features"]
        x = self.lane_states(state)
        if x.dtype.kind not in "biuf" or x.reshape(B, -1).shape[1] != f:
            raise ValueError(f"{type(self).__name__}.update: got observations of shape {x.shape} "
                             f"(dtype {x.dtype}); expected ({B}, {f}) numbers in [0, 1].")
        x = x.reshape(B, f).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:
            raise ValueError(f"{type(self).__name__}.update: observations of lanes {bad.tolist()} are "
                             f"not finite: {x[bad].tolist()}.")
        # Host-side float64, so both backends draw against identical probabilities.
        rates = self._max_rate * np.repeat(np.clip(x, 0.0, 1.0), self.copies, axis=1)
        self.rates = self.backend.asarray(rates)
