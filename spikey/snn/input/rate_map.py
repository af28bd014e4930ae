"""Rate coding: each input fires with a per-step probability chosen by the game state."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input._state_lookup import lookup, normalise_table
from spikey.snn.input.template import Input


class RateMap(Input):
    """Bernoulli spikes with per-step probabilities looked up from the state.

    ``state_rate_map`` maps a state to a rate vector of length m (probability
    of a spike per network step, 0..1): a dict keyed by state tuples (or
    scalars), or an array indexed by integer states. With ``n_inputs = k*m``,
    input ``i`` fires with ``rate[i mod m]`` (groups interleaved, as in Spikey).

    Examples
    --------
    >>> import numpy as np
    >>> inputs = RateMap(n_inputs=4, state_rate_map={(0, 1): [0.0, 1.0], (1, 1): [1.0, 1.0]},
    ...                  batch_size=2, seed=0)
    >>> inputs.update(np.array([[0, 1], [1, 1]]))
    >>> inputs().tolist()
    [[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """

    Keys = Input.Keys + [
        Key("state_rate_map", "state -> per-step spike probability of each input group",
            (dict, np.ndarray)),
    ]

    rate_stream = "rate"

    def derive(self) -> None:
        super().derive()
        name = type(self).__name__
        table = normalise_table(self.params["state_rate_map"])
        self._table = {k: self.probabilities(v) for k, v in table.items()} if isinstance(table, dict) \
            else self.probabilities(table)
        values = list(self._table.values()) if isinstance(self._table, dict) else [self._table]
        for rates in values:
            if not np.all((rates >= 0) & (rates <= 1)):
                raise ConfigError(f"{name}: key 'state_rate_map' holds rates outside [0, 1] "
                                  f"(spike probabilities per step): {rates.ravel()[:6].tolist()}.",
                                  key="state_rate_map", part=name, value=rates,
                                  expected="probabilities per step in [0, 1]")
        if isinstance(self._table, dict):  # every state's rate vector must fit
            sizes = sorted({v.size for v in self._table.values()})
            unfit = [size for size in sizes if not size or self.n_inputs % size]
            size = unfit[0] if unfit else None
        else:  # states of k components index the first k axes (k is known only once states arrive):
            shape = self._table.shape  # rate vectors of prod(shape[k:]) rates, one k must fit
            sizes = [int(np.prod(shape[k:])) for k in range(1, len(shape))]
            fits = any(size and self.n_inputs % size == 0 for size in sizes)
            size = None if fits else " or ".join(str(size) for size in sizes)
        if size is not None:
            raise ConfigError(f"{name}: key 'n_inputs' = {self.n_inputs} is not a multiple of the "
                              f"rate vector size {size} from 'state_rate_map'.", key="n_inputs",
                              part=name, value=self.n_inputs, expected=f"a multiple of {size}")
        self.rates = None

    def probabilities(self, rates: np.ndarray) -> np.ndarray:
        """Map values -> spike probability per network step (the identity here)."""
        return rates

    def update(self, state: Any) -> None:
        """Look up each lane's rates; ``state`` has shape (B, ...) (or (B,) for scalar states)."""
        super().update(state)
        states = self.lane_states(state)
        rates = np.stack([r.ravel() for r in lookup(type(self).__name__, "state_rate_map",
                                                    self._table, states)])
        if not rates.shape[1] or self.n_inputs % rates.shape[1]:
            name = type(self).__name__
            raise ConfigError(f"{name}: key 'n_inputs' = {self.n_inputs} is not a multiple of the rate vector "
                              f"size {rates.shape[1]} that 'state_rate_map' gives for states of shape "
                              f"{states.shape[1:]}.", key="n_inputs", part=name, value=self.n_inputs,
                              expected=f"a multiple of {rates.shape[1]}")
        repeats = self.n_inputs // rates.shape[1]
        self.rates = self.backend.asarray(np.tile(rates, (1, repeats)))
