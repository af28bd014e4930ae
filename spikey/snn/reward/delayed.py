"""Reward delivered after a random delay as a decaying dopamine level (Izhikevich 2007's distal reward)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikey.module import ConfigError, Key
from spikey.snn.reward.template import Reward


class DelayedReward(Reward):
    """Dopamine delivered a random delay after a rewarded state's onset, one value per network step.

    Called once per network step by ``ActiveRLNetwork`` (``rewarder(state, action)``).
    The first call of each game step (every ``processing_time`` calls) is the
    stimulus onset: for lanes whose state is in ``rewarded_states`` a pulse of
    ``reward_mult`` is scheduled ``D`` steps later, D drawn uniformly from the
    integers in ``reward_delay = (low, high)`` per lane and trial. Pulses may
    land in later game steps. The returned dopamine level decays with
    ``dopamine_tau`` steps (Izhikevich's τ_d = 200 ms)::

        d <- d e^{-1/dopamine_tau} + pulses due now     (B,)

    With ``dopamine_tau = 0`` the reward is the bare pulse (one step).

    Examples
    --------
    >>> import numpy as np
    >>> r = DelayedReward(rewarded_states=[1], reward_delay=(2, 2), processing_time=4,
    ...                   dopamine_tau=0.0, batch_size=2)
    >>> [r(np.array([1, 0]), None).tolist() for _ in range(4)]
    [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    """

    Keys = Reward.Keys + [
        Key("rewarded_states", "states whose onset schedules a reward", (list, tuple, np.ndarray)),
        Key("reward_delay", "(low, high) network steps from onset to reward, inclusive",
            (list, tuple)),
        Key("dopamine_tau", "decay time of the delivered dopamine (steps), 0 for one-step pulses",
            float, default=200.0, range=(0, None)),
        Key("processing_time", "network steps per game step (the onset clock)", int, range=(1, None)),
    ]
    state_names = ("pending", "dopamine")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reset()

    def derive(self) -> None:
        name = type(self).__name__
        delay = tuple(self.params["reward_delay"])
        if len(delay) != 2 or not all(float(d).is_integer() for d in delay) or not 1 <= delay[0] <= delay[1]:
            raise ConfigError(f"{name}: key 'reward_delay' = {self.params['reward_delay']!r}; expected "
                              "(low, high) integer steps with 1 <= low <= high.", key="reward_delay",
                              part=name, value=self.params["reward_delay"], expected="(low, high) ints")
        self.delay_low, self.delay_high = int(delay[0]), int(delay[1])
        self.rewarded = np.asarray(self.params["rewarded_states"]).ravel()
        tau = self.params["dopamine_tau"]
        self.decay = math.exp(-1.0 / tau) if tau > 0 else 0.0
        self.amount = np.broadcast_to(np.asarray(self.params["reward_mult"], dtype=float), (self.batch_size,))

    def reset(self) -> None:
        # Host-side numpy: rewards go back to the network as numpy anyway.
        self.pending = np.zeros((self.delay_high + 1, self.batch_size))
        self.dopamine = np.zeros(self.batch_size)
        self.calls = 0

    def __call__(self, state: Any, action: Any = None, state_next: Any = None) -> np.ndarray:
        if self.calls % self.params["processing_time"] == 0:
            # One draw per lane at every onset, rewarded or not, keeps the stream's shape fixed.
            u = np.asarray(self.backend.to_numpy(self.stream("delay", (1,)).uniform()), dtype=float)[:, 0]
            delay = self.delay_low + np.minimum((u * (self.delay_high - self.delay_low + 1)).astype(int),
                                                self.delay_high - self.delay_low)
            states = np.asarray(state.cpu() if hasattr(state, "cpu") else state)
            hit = np.isin(states.reshape(self.batch_size, -1)[:, 0], self.rewarded)
            slots = (self.calls + delay) % self.pending.shape[0]
            lanes = np.flatnonzero(hit)
            self.pending[slots[lanes], lanes] += self.amount[lanes]
        slot = self.calls % self.pending.shape[0]
        self.dopamine = self.dopamine * self.decay + self.pending[slot]
        self.pending[slot] = 0.0
        self.calls += 1
        return self.dopamine.copy()

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["calls"] = self.calls
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.calls = state.get("calls", 0)
