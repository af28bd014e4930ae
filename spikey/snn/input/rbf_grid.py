"""Place cells on a grid over the whole observation: a conjunctive Gaussian code."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input.rbf import rbf_bounds
from spikey.snn.input.template import Input


class RBFGrid(Input):
    """Gaussian place cells at every point of a grid over all observation dimensions jointly.

    Dimension ``d`` gets ``C_d = grid_shape[d]`` centres evenly spaced over
    ``[rbf_low[d], rbf_high[d]]`` (spacing ``s_d``); there is one input per grid
    point ``k = (k_1, ..., k_D)`` (``n_inputs = Π_d C_d``, the first dimension
    varying slowest), firing each network step with probability

        p_k = max_rate * exp(-1/2 Σ_d ((x_d - centre_{d,k_d}) / (rbf_width * s_d))^2)

    i.e. the product of ``RBF``'s per-dimension fields. Unlike ``RBF`` (one field
    per dimension, so any read-out is a sum of per-dimension functions) a linear
    read-out of this code can take any smooth shape over the state space, as
    place cells do in Frémaux, Sprekeler & Gerstner (2013): a value ``V(theta,
    theta_dot)`` that is high where the pole is falling back towards upright
    and low where it is falling away needs it. The cost is ``Π_d C_d`` inputs.

    Examples
    --------
    >>> import numpy as np
    >>> inputs = RBFGrid(n_inputs=6, n_dims=2, grid_shape=[2, 3], rbf_low=[0.0, -1.0], rbf_high=[1.0, 1.0],
    ...                  rbf_width=0.5, max_rate=0.5, batch_size=1)
    >>> inputs.update(np.array([[1.0, 0.0]]))
    >>> inputs.rates.astype(float).round(3).tolist()        # the centre (1, 0) fires most
    [[0.009, 0.068, 0.009, 0.068, 0.5, 0.068]]
    """

    Keys = Input.Keys + [
        Key("n_dims", "number of observation dimensions", int, range=(1, None)),
        Key("grid_shape", "centres per dimension (their product is n_inputs); None: n_inputs ** (1/n_dims) each",
            (list, tuple), default=None, nullable=True),
        Key("rbf_low", "lowest centre of each dimension (or one for all)", (float, list, tuple, np.ndarray)),
        Key("rbf_high", "highest centre of each dimension (or one for all)", (float, list, tuple, np.ndarray)),
        Key("rbf_width", "Gaussian standard deviation, in units of the centre spacing", float, default=1.0,
            range=(0, None)),
        Key("max_rate", "spike probability per network step at a centre", float, default=0.5, range=(0, 1)),
    ]
    rate_stream = "rbf_grid"

    def _fail(self, key: str, message: str, expected: str) -> None:
        name = type(self).__name__
        raise ConfigError(f"{name}: {message}.", key=key, part=name, value=self.params[key], expected=expected)

    def derive(self) -> None:
        super().derive()
        n, d = self.n_inputs, self.params["n_dims"]
        shape = self.params["grid_shape"]
        if shape is None:
            side = int(round(n ** (1.0 / d)))
            shape = [side] * d
        shape = [int(c) for c in shape]
        if len(shape) != d or min(shape) < 2 or int(np.prod(shape)) != n:
            self._fail("grid_shape", f"grid_shape {shape} with n_dims = {d} does not give n_inputs = {n} "
                       f"(the product of the centres per dimension, at least 2 each)",
                       f"{d} ints >= 2 whose product is {n}")
        low, high = rbf_bounds(self, d)  # the same keys, checked as RBF checks them
        #: per dimension, the (C_d,) centres
        self.centres = [low[i] + (high[i] - low[i]) * np.linspace(0.0, 1.0, shape[i]) for i in range(d)]
        self._sigma = [self.params["rbf_width"] * (high[i] - low[i]) / (shape[i] - 1) for i in range(d)]
        self.rates = None

    def update(self, state: Any) -> None:
        """Set the per-step spike probabilities from observations ``(B, n_dims)`` floats."""
        super().update(state)
        B, d = self.batch_size, self.params["n_dims"]
        x = self.observations(state, d)
        rates = np.ones((B, 1))
        for i in range(d):  # outer product of the per-dimension Gaussians, first dimension slowest
            field = np.exp(-0.5 * ((x[:, i:i + 1] - self.centres[i][None]) / self._sigma[i]) ** 2)
            rates = (rates[:, :, None] * field[:, None, :]).reshape(B, -1)
        self.rates = self.backend.asarray(self.params["max_rate"] * rates)
