"""The game's own reward, passed through to the network (scaled and offset)."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.reward.template import Reward


class GameReward(Reward):
    """``r = reward_scale * game_reward + reward_offset`` per lane: the environment's reward itself.

    With a ``GymGame`` the episode loop hands the environment's step reward
    ``(B,)`` to ``network.reward(..., game_reward=...)``, which passes it here, so
    a config needs no hand-written reward: ``rewarder: GameReward``. Lanes whose
    game has already ended get the game's 0 (``GymGame`` returns reward 0 for
    frozen lanes) plus the offset; the episode loop stops their learning anyway.

    It is the raw signal: an RLNetwork modulating MSTDP/MSTDPET by it reinforces
    whatever preceded a positive reward. Where every step earns the same reward
    (CartPole's +1) that says nothing about the action; use a prediction error
    instead (``RewardPredictionError``, ``TDCritic``), which subclass this part and
    share its scaling.

    Examples
    --------
    >>> import numpy as np
    >>> r = GameReward(reward_scale=0.5, reward_offset=-1.0, batch_size=2)
    >>> r(None, None, None, game_reward=np.array([2.0, 0.0])).tolist()
    [0.0, -1.0]
    """

    Keys = Reward.Keys + [
        Key("reward_scale", "factor applied to the game's reward", float, default=1.0, per_member=True),
        Key("reward_offset", "added to the scaled game reward", float, default=0.0, per_member=True),
    ]

    def game_rewards(self, game_reward: Any) -> np.ndarray:
        """``(B,)`` float64 ``reward_scale * game_reward + reward_offset``; raises if the game gave none."""
        name = type(self).__name__
        if game_reward is None:
            raise ValueError(f"{name}: no game_reward given; it passes the game's own reward on, so it needs "
                             f"network.reward(state, action, state_next, game_reward=...) (the episode loop "
                             f"spikey.experiment.run_episodes passes it).")
        values = np.asarray(game_reward.cpu() if hasattr(game_reward, "cpu") else game_reward, dtype=np.float64)
        if values.shape != (self.batch_size,):
            raise ValueError(f"{name}: game_reward has shape {values.shape}; expected one reward per lane, "
                             f"({self.batch_size},).")
        if not np.isfinite(values).all():
            raise ValueError(f"{name}: game_reward of lanes {np.flatnonzero(~np.isfinite(values)).tolist()} is "
                             f"not finite: {values[~np.isfinite(values)].tolist()}.")
        scale = np.asarray(self.params["reward_scale"], dtype=np.float64)
        return scale * values + np.asarray(self.params["reward_offset"], dtype=np.float64)

    def __call__(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
                 terminated: Any = None, truncated: Any = None) -> np.ndarray:
        """``(B,)`` float64 scaled game rewards."""
        return self.game_rewards(game_reward)
