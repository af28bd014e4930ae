"""Time-to-first-spike coding: stronger inputs fire earlier, each at most once per game step."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.input._state_lookup import lookup, normalise_table
from spikey.snn.input.template import Input


class TTFS(Input):
    """Latency coding: input k spikes once per game step, earlier the larger its value.

    Each input gets an intensity ``v_k`` in [0, 1] from the game state and
    spikes exactly once, at network step

        t_k = round((1 - v_k) * (ttfs_window - 1))

    of the game step (``round`` as Python's: halves to even), so ``v = 1`` fires
    at step 0 and the smallest intensities near step ``ttfs_window - 1``;
    ``v = 0`` never fires. Deterministic: no random draws. If a game step has
    fewer network steps than ``t_k + 1`` (or ``input_firing_steps`` stops
    inputs before it), that spike is lost.

    ``state_value_map`` maps a state to the ``n_inputs`` intensities: a dict
    keyed by state tuples (or scalars), an array indexed by integer states, or
    None, in which case the state itself is the ``(B, n_inputs)`` intensity
    array (clipped to [0, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> inputs = TTFS(n_inputs=3, ttfs_window=5, batch_size=1)
    >>> inputs.update(np.array([[1.0, 0.5, 0.0]]))
    >>> inputs.fire_step.tolist()                       # -1: never
    [[0, 2, -1]]
    >>> [inputs()[0].tolist() for _ in range(3)]
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    Keys = Input.Keys + [
        Key("state_value_map", "state -> intensity in [0, 1] of each input; None: the state is the "
            "(B, n_inputs) intensity array", (dict, np.ndarray), default=None, nullable=True),
        Key("ttfs_window", "network steps over which first-spike times spread", int, default=10,
            range=(1, None)),
    ]

    def derive(self) -> None:
        super().derive()
        mapping = self.params["state_value_map"]
        self._table = None if mapping is None else normalise_table(mapping)
        if isinstance(self._table, dict):
            for state, values in self._table.items():
                self._check_values(values, f"state {state!r}")
        elif self._table is not None:
            if self._table.ndim < 2 or self._table.shape[-1] != self.n_inputs:
                self._fail(f"key 'state_value_map' is an array of shape {self._table.shape}; expected "
                           f"(n_states, ..., {self.n_inputs}) indexed by integer state")
            if not ((self._table >= 0) & (self._table <= 1)).all():
                self._fail("key 'state_value_map' has values outside [0, 1] (or NaN)")
        self.fire_step = None

    def _fail(self, message: str) -> None:
        name = type(self).__name__
        raise ConfigError(f"{name}: {message}.", key="state_value_map", part=name,
                          value=self.params["state_value_map"], expected=f"{self.n_inputs} values in [0, 1]")

    def _check_values(self, values: np.ndarray, where: str) -> None:
        """One state's intensities: ``n_inputs`` numbers in [0, 1]."""
        if values.shape != (self.n_inputs,):
            self._fail(f"'state_value_map' gives shape {values.shape} for {where}; "
                       f"expected ({self.n_inputs},)")
        if not ((values >= 0) & (values <= 1)).all():
            self._fail(f"'state_value_map' gives values {values.tolist()} for {where}; expected "
                       f"values in [0, 1]")

    def update(self, state: Any) -> None:
        """Set each input's spike step for the game step; ``state`` has shape (B, ...)."""
        super().update(state)
        states = self.lane_states(state)
        B, n, name = self.batch_size, self.n_inputs, type(self).__name__
        if self._table is None:
            if states.dtype.kind not in "biuf" or states.reshape(B, -1).shape[1] != n:
                raise ValueError(f"{name}.update: got intensities of shape {states.shape} (dtype "
                                 f"{states.dtype}); expected ({B}, {n}) numbers, as "
                                 f"'state_value_map' is None.")
            values = states.reshape(B, n).astype(np.float64)
            nan_lanes = np.flatnonzero(np.isnan(values).any(axis=1))
            if nan_lanes.size:
                raise ValueError(f"{name}.update: intensities of lanes {nan_lanes.tolist()} contain NaN.")
            values = values.clip(0.0, 1.0)
        else:
            values = np.stack(lookup(name, "state_value_map", self._table, states))
            if values.shape != (B, n):
                self._fail(f"'state_value_map' gives shape {values.shape[1:]} per state; "
                           f"expected ({n},)")
        steps = np.rint((1.0 - values) * (self.params["ttfs_window"] - 1))
        self.fire_step = self.backend.asarray(np.where(values > 0, steps, -1), dtype=np.int64)

    def spikes(self) -> Any:
        """(B, n_inputs) bool: the inputs whose first-spike step is the current network step."""
        if self.fire_step is None:
            raise RuntimeError(f"{type(self).__name__}: update(state) must run before the first step.")
        return self.fire_step == self.network_time
