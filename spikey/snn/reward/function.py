"""A rewarder from any function of (state, action, state_next)."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.reward.template import Reward, accepted_step_results


class RewardFunction(Reward):
    """``reward_fn(state, action, state_next, params) -> (B,)``.

    ``params`` is this part's key dict (``reward_mult``, ``punish_mult``), so
    a function can scale by the configured values. A function that also names
    ``game_reward``, ``terminated`` or ``truncated`` as keyword parameters (or
    takes ``**kwargs``) receives the game's own step results (``(B,)`` arrays,
    see ``spikey.snn.reward.template``). Use it for rewards that do
    not compare with an expected action, e.g. Florian's XOR reward (reward
    output spikes on true patterns, punish them on false ones).

    Examples
    --------
    >>> import numpy as np
    >>> def florian(state, fired, state_next, params):
    ...     target = np.asarray(state).sum(axis=1) % 2 == 1
    ...     return np.where(target, params["reward_mult"], -params["punish_mult"]) * fired
    >>> r = RewardFunction(reward_fn=florian, punish_mult=1.0, batch_size=2)
    >>> r(np.array([[0, 1], [1, 1]]), np.array([1, 1])).tolist()
    [1.0, -1.0]
    >>> def success_bonus(state, action, state_next, params, game_reward=None, terminated=None):
    ...     return game_reward + params["reward_mult"] * terminated
    >>> r = RewardFunction(reward_fn=success_bonus, batch_size=2)
    >>> r(None, None, None, game_reward=np.array([-1.0, 0.0]), terminated=np.array([False, True])).tolist()
    [-1.0, 1.0]
    """

    Keys = Reward.Keys + [
        Key("reward_fn", "f(state, action, state_next, params) -> (B,) rewards", callable),
    ]

    def __call__(self, state: Any, action: Any, state_next: Any = None, **step_results: Any) -> Any:
        function = self.params["reward_fn"]
        extras = {name: step_results[name] for name in accepted_step_results(function) if name in step_results}
        reward = function(state, action, state_next, self.params, **extras)
        if getattr(reward, "shape", None) is None or tuple(reward.shape) != (self.batch_size,):
            shape = getattr(reward, "shape", type(reward).__name__)
            raise ValueError(f"RewardFunction: 'reward_fn' returned {shape}; expected one reward per "
                             f"network, shape ({self.batch_size},).")
        return reward.astype(float, copy=False) if isinstance(reward, np.ndarray) else reward
