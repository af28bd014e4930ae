"""A shaped CartPole reward: did the push bring the pole's predicted angle closer to upright?"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.reward.template import Reward


class CartPoleBalance(Reward):
    """Per game step: ``+reward_mult`` if the step made the pole's predicted angle smaller, else ``-punish_mult``.

    States are CartPole observations ``[x, x_dot, theta, theta_dot]`` ``(B, 4)``
    (m, m/s, rad, rad/s). With ``L = lookahead`` (s), the predicted angle is the
    angle the pole would reach ``L`` seconds on at its current angular velocity,

        a(s) = theta + L * theta_dot                         (rad)

    and the reward of the step ``state -> state_next`` is, per lane,

        -punish_mult   if |theta_next| > theta_max or |x_next| > x_max   (failure)
        +reward_mult   if |a(state_next)| < |a(state)|
        -punish_mult   otherwise.

    What it uses: only the two states (never the action or any policy). It is
    a dense, shaped signal, close to a teacher: a push changes ``theta_dot``
    at once (``theta`` only one step later), so for |theta| below ~0.2 rad the
    sign of the reward is set by the push, and the greedy policy for it (push
    towards the side of ``a``) balances the pole by itself. With ``L = 0``
    the reward is the change of |theta| alone, which no push of this step can
    affect (delayed credit: pair it with an eligibility trace, MSTDPET).

    ``theta_max``/``x_max`` should equal the game's keys of the same names
    (the same key names, so one config sets both).

    Examples
    --------
    >>> import numpy as np
    >>> r = CartPoleBalance(lookahead=0.5, punish_mult=1.0, theta_max=0.2094, x_max=2.4, batch_size=3)
    >>> state = np.array([[0.0, 0.0, 0.05, 0.1], [0.0, 0.0, 0.05, 0.1], [0.0, 0.0, 0.2, 0.5]])
    >>> state_next = np.array([[0.0, 0.1, 0.052, -0.1],   # a: 0.1 -> 0.002, closer to upright
    ...                        [0.0, -0.1, 0.052, 0.3],   # a: 0.1 -> 0.202, further away
    ...                        [0.0, 0.1, 0.21, -0.5]])   # past theta_max: failure
    >>> r(state, None, state_next).tolist()
    [1.0, -1.0, -1.0]
    """

    Keys = Reward.Keys + [
        Key("lookahead", "L, seconds ahead at which the pole's angle theta + L * theta_dot is judged",
            float, default=0.5, range=(0, None), per_member=True),
        Key("theta_max", "|theta| beyond which the episode failed (rad); the game's key", float,
            default=0.2094, range=(0, None), per_member=True, allow_inf=True),
        Key("x_max", "|x| beyond which the episode failed (m); the game's key", float, default=2.4,
            range=(0, None), per_member=True, allow_inf=True),
    ]

    def _lanes(self, name: str) -> np.ndarray:
        """Key ``name`` as a (B,) float64 array (scalar keys broadcast over the lanes)."""
        return np.broadcast_to(np.asarray(self.params[name], dtype=np.float64), (self.batch_size,))

    def _states(self, value: Any, what: str) -> np.ndarray:
        states = np.asarray(value.cpu() if hasattr(value, "cpu") else value, dtype=np.float64)
        if states.shape != (self.batch_size, 4):
            raise ValueError(f"{type(self).__name__}: {what} has shape {states.shape}; expected CartPole "
                             f"observations [x, x_dot, theta, theta_dot] of shape ({self.batch_size}, 4).")
        return states

    def __call__(self, state: Any, action: Any, state_next: Any = None) -> np.ndarray:
        """``(B,)`` float64 rewards of the step ``state -> state_next`` (both ``(B, 4)``)."""
        if state_next is None:
            raise ValueError(f"{type(self).__name__}: state_next is None; the reward compares a step's two "
                             f"states, so it needs the game's next observation (RLNetwork.reward passes it).")
        before, after = self._states(state, "state"), self._states(state_next, "state_next")
        lookahead = self._lanes("lookahead")
        closer = np.abs(after[:, 2] + lookahead * after[:, 3]) < np.abs(before[:, 2] + lookahead * before[:, 3])
        failed = (np.abs(after[:, 2]) > self._lanes("theta_max")) | (np.abs(after[:, 0]) > self._lanes("x_max"))
        reward, punish = self._lanes("reward_mult"), self._lanes("punish_mult")
        return np.where(closer & ~failed, reward, -punish)
