"""The input template: turns a game state into input spikes, one network step at a time.

``update(state)`` runs once per game step with the batch of game states
``(B, ...)``; ``__call__()`` runs once per network step and returns the
``(B, n_inputs)`` signed spikes (``polarity * magnitude`` or 0).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.part import Part


class Input(Part):
    """Template for input groups.

    Input k is excitatory (+1) or inhibitory (-1, with probability
    ``input_pct_inhibitory``), drawn once per network from the lane's seed.
    ``input_firing_steps`` limits firing to the first steps of each game step
    (-1: every step).
    """

    namespace = "input"
    Keys = [
        Key("n_inputs", "number of input neurons", int, range=(0, None)),
        Key("magnitude", "spike magnitude of an input spike (scales W)", float, default=1.0,
            per_member=True),
        Key("input_firing_steps", "network steps per game step that inputs fire for, -1 for all",
            int, default=-1, range=(-1, None)),
        Key("input_pct_inhibitory", "fraction of inputs with negative polarity", float, default=0.0,
            range=(0, 1), per_member=True),
    ]
    state_names = ("polarities",)

    def __init__(self, *args: Any, polarities: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        B, n = self.batch_size, self.n_inputs
        if polarities is None:
            pct = np.broadcast_to(np.asarray(self.params["input_pct_inhibitory"], dtype=float), (B,))
            draws = np.stack([g.random(n) for g in self.generators("polarity")]) if n else np.zeros((B, 0))
            polarities = np.where(draws < pct[:, None], -1.0, 1.0)
        self.polarities = self.backend.asarray(np.broadcast_to(np.asarray(polarities, float), (B, n)).copy())
        self.network_time = 0
        self.reset()

    @property
    def n_inputs(self) -> int:
        return self.params["n_inputs"]

    def derive(self) -> None:
        self.magnitude = self.column("magnitude")

    def reset(self) -> None:
        self.network_time = 0

    def update(self, state: Any) -> None:
        """Take the batch of game states ``(B, ...)`` for the coming game step."""
        self.network_time = 0
        self.state = state

    def firing(self) -> bool:
        """Whether inputs fire at the current network step (``input_firing_steps``)."""
        limit = self.params["input_firing_steps"]
        return limit == -1 or self.network_time < limit

    #: Variants that code the state as per-step spike probabilities ``self.rates`` (B, n_inputs),
    #: set in ``update``, name their random stream here; ``spikes``/``spike_block`` then draw
    #: Bernoulli spikes from it (a step-by-step draw and a block draw give the same spikes).
    rate_stream: str | None = None

    def _rates_ready(self) -> None:
        if getattr(self, "rates", None) is None:
            raise RuntimeError(f"{type(self).__name__}: update(state) must run before the first step.")

    def spikes(self) -> Any:
        """(B, n_inputs) bool or 0/1 spikes of this step. Override (or set ``rate_stream``)."""
        if self.rate_stream is None:
            raise NotImplementedError(f"{type(self).__name__} must define spikes().")
        self._rates_ready()
        return self.stream(self.rate_stream, (self.n_inputs,)).uniform() < self.rates

    def __call__(self) -> Any:
        """(B, n_inputs) signed spikes of this network step."""
        if self.firing():
            out = self.spikes() * (self.polarities * self.magnitude)
        else:
            out = self.backend.zeros((self.batch_size, self.n_inputs))
        self.network_time += 1
        return out

    def block(self, steps: int) -> Any:
        """The next ``steps`` network steps of signed spikes at once: ``(steps, B, n_inputs)``.

        Equal to stacking ``steps`` calls of ``self()`` (inputs do not depend on
        the network's state), which is what this default does; variants
        override ``spike_block`` to draw a game step's spikes in one go.
        """
        limit = self.params["input_firing_steps"]
        firing = steps if limit == -1 else max(0, min(steps, limit - self.network_time))
        if (type(self).spike_block is Input.spike_block and self.rate_stream is None) or firing == 0:
            out = [self() for _ in range(steps)]
            return self.xp.stack(out) if out else self.backend.zeros((0, self.batch_size, self.n_inputs))
        signed = self.spike_block(firing) * (self.polarities * self.magnitude)
        self.network_time += steps
        if firing == steps:
            return signed
        out = self.backend.zeros((steps, self.batch_size, self.n_inputs))
        out[:firing] = signed
        return out

    def spike_block(self, steps: int) -> Any:
        """``(steps, B, n_inputs)``: ``spikes()`` of the next ``steps`` firing steps. Optional override."""
        if self.rate_stream is None:
            raise NotImplementedError
        self._rates_ready()
        return self.stream(self.rate_stream, (self.n_inputs,)).uniforms(steps) < self.rates

    def lane_states(self, state: Any) -> np.ndarray:
        """The game states as a numpy array with the batch axis first, checked against B."""
        states = np.asarray(state.cpu() if hasattr(state, "cpu") else state)
        if states.ndim == 0 or states.shape[0] != self.batch_size:
            raise ValueError(f"{type(self).__name__}.update: got states of shape {states.shape}; "
                             f"expected the batch axis first, shape ({self.batch_size}, ...).")
        return states

    def observations(self, state: Any, n_dims: int) -> np.ndarray:
        """The game states as ``(B, n_dims)`` float64 observations: numbers, that width, no NaN."""
        B = self.batch_size
        x = self.lane_states(state)
        if x.dtype.kind not in "biuf" or x.reshape(B, -1).shape[1] != n_dims:
            raise ValueError(f"{type(self).__name__}.update: got observations of shape {x.shape} "
                             f"(dtype {x.dtype}); expected ({B}, {n_dims}) numbers.")
        x = x.reshape(B, n_dims).astype(np.float64)
        nan_lanes = np.flatnonzero(np.isnan(x).any(axis=1))
        if nan_lanes.size:
            raise ValueError(f"{type(self).__name__}.update: observations of lanes {nan_lanes.tolist()} "
                             f"contain NaN: {x[nan_lanes].tolist()}.")
        return x
