"""Fixed input per state: a direct current or a given spike pattern, no randomness."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input._state_lookup import lookup, normalise_table
from spikey.snn.input.template import Input


class StaticMap(Input):
    """Inputs read from a fixed per-state pattern: the same values every game step.

    ``state_spike_map`` gives, for a state, either

    * an array of length ``n_inputs``: the same values at every network step
      (a direct current, or a constant spike vector), or
    * an array of shape ``(T, n_inputs)``: row t at network step t of the game
      step (a spike pattern); a game step that needs more network steps than
      the T rows given raises an error (give at least ``processing_time`` rows,
      or limit ``input_firing_steps``).

    It is a dict keyed by state tuples (or scalars), an array indexed by
    integer states (``map[s]`` is one of the above), or a function
    ``f(states)`` of the numpy states ``(B, ...)`` returning ``(B, n_inputs)``
    or ``(B, T, n_inputs)``. Values may be real (currents), not only 0/1: the
    output of a step is ``values * polarity * magnitude``.

    Examples
    --------
    >>> import numpy as np
    >>> pattern = {0: [0.5, 0.0, 2.0],                          # constant current
    ...            1: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}        # one spike per step
    >>> inputs = StaticMap(n_inputs=3, state_spike_map=pattern, batch_size=2)
    >>> inputs.update(np.array([0, 1]))
    >>> [inputs().tolist() for _ in range(2)]
    [[[0.5, 0.0, 2.0], [1.0, 0.0, 0.0]], [[0.5, 0.0, 2.0], [0.0, 1.0, 0.0]]]
    """

    Keys = Input.Keys + [
        Key("state_spike_map", "state -> input values per network step: (n_inputs,) every step or "
            "(T, n_inputs) row t at step t; a dict, an array indexed by integer state, or "
            "f(states (B, ...)) -> (B, n_inputs) or (B, T, n_inputs)", (dict, np.ndarray, callable)),
    ]

    def derive(self) -> None:
        super().derive()
        mapping = self.params["state_spike_map"]
        self._function = mapping if not isinstance(mapping, (dict, np.ndarray)) else None
        self._table = None if self._function is not None else normalise_table(mapping)
        if isinstance(self._table, dict):
            for state, values in self._table.items():
                self._check_pattern(values, f"state {state!r}")
        elif self._table is not None:
            table = self._table
            if table.ndim < 2 or table.shape[-1] != self.n_inputs or not np.isfinite(table).all():
                self._fail(f"key 'state_spike_map' is an array of shape {table.shape}; expected finite "
                           f"values of shape (n_states, ..., {self.n_inputs}) indexed by integer state")
        self.pattern = None

    def _fail(self, message: str) -> None:
        name = type(self).__name__
        raise ConfigError(f"{name}: {message}.", key="state_spike_map", part=name,
                          value=self.params["state_spike_map"], expected="values (n_inputs,) or (T, n_inputs)")

    def _check_pattern(self, values: np.ndarray, where: str) -> None:
        """One state's pattern must be finite, shaped (n_inputs,) or (T, n_inputs) with T >= 1."""
        n = self.n_inputs
        if values.ndim not in (1, 2) or values.shape[-1] != n or values.shape[0] == 0:
            self._fail(f"'state_spike_map' gives shape {values.shape} for {where}; expected ({n},) "
                       f"(same every step) or (T, {n}) (row t at network step t)")
        if not np.isfinite(values).all():
            self._fail(f"'state_spike_map' gives non-finite values for {where}")

    def update(self, state: Any) -> None:
        """Fetch each lane's pattern for the game step; ``state`` has shape (B, ...)."""
        super().update(state)
        states = self.lane_states(state)
        B, n = self.batch_size, self.n_inputs
        if self._function is not None:
            out = self._function(states)
            out = np.asarray(out.cpu() if hasattr(out, "cpu") else out, dtype=np.float64)
            if out.ndim not in (2, 3) or out.shape[0] != B or out.shape[-1] != n:
                self._fail(f"function 'state_spike_map' returned shape {out.shape}; expected ({B}, {n}) "
                           f"or ({B}, T, {n})")
            per_lane = list(out)
        else:
            per_lane = lookup(type(self).__name__, "state_spike_map", self._table, states)
        for lane, values in enumerate(per_lane):
            self._check_pattern(values, f"lane {lane} (state {states[lane].tolist()!r})")
        # Time-varying lanes bound the game step; constant lanes are repeated to the same length.
        self._lane_rows = [v.shape[0] if v.ndim == 2 else None for v in per_lane]
        varying = [r for r in self._lane_rows if r is not None]
        self._rows = min(varying) if varying else None
        T = max(varying) if varying else 1
        pattern = np.zeros((B, T, n))
        for lane, values in enumerate(per_lane):
            pattern[lane, :len(values) if values.ndim == 2 else T] = values
        self._states = states
        self.pattern = self.backend.asarray(pattern)

    def spikes(self) -> Any:
        """(B, n_inputs) values of the current network step (before polarity and magnitude)."""
        if self.pattern is None:
            raise RuntimeError(f"{type(self).__name__}: update(state) must run before the first step.")
        t = self.network_time
        if self._rows is None:
            return self.pattern[:, 0]
        if t >= self._rows:
            lane = self._lane_rows.index(self._rows)
            raise ValueError(
                f"{type(self).__name__}: processing step {t + 1} of this game step needs row {t} of the "
                f"spike pattern, but 'state_spike_map' gives only {self._rows} rows for lane {lane} "
                f"(state {self._states[lane].tolist()!r}). Give at least processing_time rows per "
                f"state, or set input_firing_steps <= {self._rows}.")
        return self.pattern[:, t]

    def spike_block(self, steps: int) -> Any:
        if self.pattern is None or self._rows is None:
            return self.xp.stack([self.spikes()] * steps)
        t = self.network_time
        if t + steps > self._rows:
            self.network_time = max(t, self._rows)
            self.spikes()  # raises the error naming the lane and the rows it lacks
        return self.xp.moveaxis(self.pattern[:, t:t + steps], 1, 0)
