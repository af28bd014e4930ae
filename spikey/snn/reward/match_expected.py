"""Reward when the action equals the expected action for the state."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.reward.template import Reward


class MatchExpected(Reward):
    """``reward_mult`` where ``action == expected_value(state)``, else ``-punish_mult``.

    ``expected_value`` maps the batch of states ``(B, ...)`` to the batch of
    expected actions ``(B,)`` (or ``(B, k)``: then the per-element results are summed).
    The Logic games expose theirs as ``game.expected_value``.

    Examples
    --------
    >>> import numpy as np
    >>> xor = lambda s: np.asarray(s).sum(axis=1) % 2
    >>> r = MatchExpected(expected_value=xor, punish_mult=1.0, batch_size=3)
    >>> r(np.array([[0, 1], [1, 1], [0, 0]]), np.array([1, 1, 0])).tolist()
    [1.0, -1.0, 1.0]
    """

    Keys = Reward.Keys + [
        Key("expected_value", "f(states (B, ...)) -> expected actions (B,)", callable),
    ]

    def __call__(self, state: Any, action: Any, state_next: Any = None) -> np.ndarray:
        B = self.batch_size
        expected = np.asarray(self.params["expected_value"](np.asarray(state))).reshape(B, -1)
        action = np.asarray(self.backend.to_numpy(action)).reshape(B, -1)
        reward = np.reshape(self.params["reward_mult"], (-1, 1))
        punish = np.reshape(self.params["punish_mult"], (-1, 1))
        return np.where(action == expected, reward, -punish).sum(axis=1).astype(float)
