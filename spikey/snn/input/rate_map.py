"""Rate coding: each input fires with a per-step probability chosen by the game state."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
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

    def derive(self) -> None:
        super().derive()
        rate_map = self.params["state_rate_map"]
        if isinstance(rate_map, dict):
            self._table = {self._as_key(k): np.atleast_1d(np.asarray(v, dtype=float))
                           for k, v in rate_map.items()}
            sizes = {v.size for v in self._table.values()}
        else:
            self._table = np.asarray(rate_map, dtype=float)
            sizes = {int(np.prod(self._table.shape[1:]))} if self._table.ndim > 1 else {1}
        for size in sizes:
            if size == 0 or self.n_inputs % size:
                raise ValueError(f"RateMap: key 'n_inputs' = {self.n_inputs} is not a multiple of the "
                                 f"rate vector size {size} from 'state_rate_map'.")
        self.rates = None

    @staticmethod
    def _as_key(state: Any) -> Any:
        array = np.asarray(state)
        if array.ndim == 0:
            return array.item()
        return tuple(array.reshape(-1).tolist())

    def update(self, state: Any) -> None:
        """Look up each lane's rates; ``state`` has shape (B, ...) (or (B,) for scalar states)."""
        super().update(state)
        states = self.lane_states(state)
        if isinstance(self._table, dict):
            try:
                per_lane = [self._table[self._as_key(s)] for s in states]
            except KeyError as error:
                raise KeyError(f"RateMap: state {error.args[0]!r} is not in 'state_rate_map' "
                               f"(known states: {list(self._table)[:8]}).") from None
            rates = np.stack(per_lane)
        else:
            index = states.astype(np.int64)
            rates = self._table[tuple(index.T)] if index.ndim > 1 else self._table[index]
            rates = rates.reshape(self.batch_size, -1)
        repeats = self.n_inputs // rates.shape[1]
        self.rates = self.backend.asarray(np.tile(rates, (1, repeats)))

    def spikes(self) -> Any:
        if self.rates is None:
            raise RuntimeError("RateMap: update(state) must run before the first step.")
        return self.stream("rate", (self.n_inputs,)).uniform() < self.rates
