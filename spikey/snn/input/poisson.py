"""Poisson rate coding: firing rates in Hz, turned into per-step spike probabilities."""
from __future__ import annotations


import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input.rate_map import RateMap


class Poisson(RateMap):
    """Poisson spike trains whose rates (Hz) are looked up from the game state.

    ``state_rate_map`` maps a state to firing rates in Hz, with RateMap's
    lookup: a dict keyed by state tuples (or scalars) or an array indexed by
    integer states, a rate vector of length m, and with ``n_inputs = k*m``
    input ``i`` firing at ``rate[i mod m]`` (groups interleaved).

    A network step lasts ``dt_ms`` milliseconds. A Poisson process of rate r
    has at least one event in a step with probability
    ``p = 1 - exp(-r * dt_ms / 1000)``; each input spikes with that probability
    per step, independently (one Bernoulli draw per input and step from the
    lane's stream), so the count over T steps is Binomial(T, p) and its mean
    rate tends to r for ``r * dt_ms << 1000``.

    Examples
    --------
    >>> import numpy as np
    >>> inputs = Poisson(n_inputs=4, state_rate_map={0: [0.0, 40.0], 1: [1e6, 1e6]},
    ...                  dt_ms=1.0, batch_size=2, seed=0)
    >>> inputs.update(np.array([0, 1]))
    >>> inputs.rates.astype(float).round(4).tolist()   # spike probability per step
    [[0.0, 0.0392, 0.0, 0.0392], [1.0, 1.0, 1.0, 1.0]]
    >>> inputs().shape
    (2, 4)
    """

    Keys = RateMap.Keys + [
        Key("state_rate_map", "state -> firing rate (Hz) of each input group", (dict, np.ndarray)),
        Key("dt_ms", "duration of one network step, in milliseconds", float, default=1.0,
            range=(0, None)),
    ]

    def derive(self) -> None:
        name, dt = type(self).__name__, self.params["dt_ms"]
        if not dt > 0:
            raise ConfigError(f"{name}: key 'dt_ms' = {dt!r}; expected a step duration > 0 ms.",
                              key="dt_ms", part=name, value=dt, expected="float > 0")
        rate_map = self.params["state_rate_map"]
        for state, rates in (rate_map.items() if isinstance(rate_map, dict) else [("(array)", rate_map)]):
            rates = np.asarray(rates, dtype=np.float64)
            if not (np.isfinite(rates).all() and (rates >= 0).all()):
                raise ConfigError(f"{name}: key 'state_rate_map' has rates {rates.tolist()} for state "
                                  f"{state!r}; expected finite rates >= 0 Hz.", key="state_rate_map",
                                  part=name, value=rate_map, expected="finite rates >= 0 Hz")
        super().derive()

    def probabilities(self, rates: np.ndarray) -> np.ndarray:
        """Rates in Hz -> spike probability per step of ``dt_ms``: ``1 - exp(-rate * dt)``."""
        return -np.expm1(-rates * self.params["dt_ms"] / 1000.0)
