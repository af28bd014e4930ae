"""Population coding of continuous observations with Gaussian radial basis functions."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input.template import Input


def rbf_bounds(part: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """A part's ``rbf_low`` and ``rbf_high`` as ``(d,)`` arrays (one value given: every dimension), checked:
    finite, one or ``d`` values, low < high in every dimension."""
    bounds = {}
    for key in ("rbf_low", "rbf_high"):
        value = np.asarray(part.params[key], dtype=np.float64)
        if value.ndim > 1 or value.size not in (1, d) or not np.isfinite(value).all():
            what = "non-finite values" if np.size(value) in (1, d) and value.ndim <= 1 else \
                f"shape {value.shape} ({value.size} values)"
            part._fail(key, f"key '{key}' = {part.params[key]!r} has {what}; expected one finite value for "
                       f"all dimensions or {d} values, one per dimension (n_dims = {d})",
                       f"one finite value or {d} (one per dimension)")
        bounds[key] = np.broadcast_to(value.reshape(-1), (d,))
    low, high = bounds["rbf_low"], bounds["rbf_high"]
    if not (low < high).all():
        part._fail("rbf_high", f"key 'rbf_high' = {high.tolist()} must exceed 'rbf_low' = "
                   f"{low.tolist()} in every dimension", "rbf_high > rbf_low")
    return low, high


class RBF(Input):
    """Gaussian receptive fields tiling each observation dimension; Bernoulli spikes.

    Each of the ``n_dims`` observation dimensions gets ``C = n_inputs / n_dims``
    inputs whose centres are evenly spaced over ``[rbf_low[d], rbf_high[d]]``
    (spacing ``s_d = (high - low) / (C - 1)``). Input ``k = d*C + c``
    (dimension-major) fires each network step with probability

        p = max_rate * exp(-(x_d - centre_{d,c})^2 / (2 * (rbf_width * s_d)^2))

    drawn per lane from that lane's random stream. Observations arrive once per
    game step as ``(B, n_dims)`` floats (e.g. CartPole's 4 state variables);
    values beyond the bounds simply excite the outermost fields weakly.

    Examples
    --------
    >>> import numpy as np
    >>> inputs = RBF(n_inputs=6, n_dims=2, rbf_low=[-1.0, 0.0], rbf_high=[1.0, 10.0],
    ...              rbf_width=0.5, max_rate=0.5, batch_size=1)
    >>> inputs.centres.tolist()
    [[-1.0, 0.0, 1.0], [0.0, 5.0, 10.0]]
    >>> inputs.update(np.array([[0.0, 10.0]]))
    >>> inputs.rates.astype(float).round(3).tolist()
    [[0.068, 0.5, 0.068, 0.0, 0.068, 0.5]]
    >>> inputs().shape
    (1, 6)
    """

    Keys = Input.Keys + [
        Key("n_dims", "number of observation dimensions", int, range=(1, None)),
        Key("rbf_low", "lowest receptive-field centre of each dimension (or one for all)",
            (float, list, tuple, np.ndarray)),
        Key("rbf_high", "highest receptive-field centre of each dimension (or one for all)",
            (float, list, tuple, np.ndarray)),
        Key("rbf_width", "Gaussian standard deviation, in units of the centre spacing", float,
            default=1.0, range=(0, None), per_member=True),
        Key("max_rate", "spike probability per network step at a field's centre", float,
            default=0.5, range=(0, 1), per_member=True),
    ]

    def _fail(self, key: str, message: str, expected: str) -> None:
        name = type(self).__name__
        raise ConfigError(f"{name}: {message}.", key=key, part=name, value=self.params[key],
                          expected=expected)

    rate_stream = "rbf"

    def derive(self) -> None:
        super().derive()
        n, d = self.n_inputs, self.params["n_dims"]
        if n % d or n // d < 2:
            self._fail("n_inputs", f"key 'n_inputs' = {n} must be n_dims * centres_per_dim with "
                       f"n_dims = {d} and at least 2 centres per dimension",
                       f"a multiple of {d}, >= {2 * d}")
        low, high = rbf_bounds(self, d)
        width = np.asarray(self.params["rbf_width"], dtype=np.float64)
        if not (width > 0).all():
            self._fail("rbf_width", f"key 'rbf_width' = {self.params['rbf_width']!r}", "rbf_width > 0")
        C = n // d
        #: (n_dims, C) receptive-field centres.
        self.centres = low[:, None] + (high - low)[:, None] * np.linspace(0.0, 1.0, C)[None, :]
        spacing = (high - low) / (C - 1)
        # (B or 1, n_dims, 1) standard deviations: width may differ per network.
        self._sigma = width.reshape(-1, 1, 1) * spacing[None, :, None]
        self._max_rate = np.asarray(self.params["max_rate"], dtype=np.float64).reshape(-1, 1)
        self.rates = None

    def update(self, state: Any) -> None:
        """Set the per-step spike probabilities from observations ``(B, n_dims)`` floats."""
        super().update(state)
        B, d = self.batch_size, self.params["n_dims"]
        x = self.observations(state, d)
        # Computed once per game step on the host in float64, so both backends get identical rates.
        distance = (x[:, :, None] - self.centres[None]) / self._sigma
        rates = self._max_rate * np.exp(-0.5 * distance ** 2).reshape(B, -1)
        self.rates = self.backend.asarray(rates)
