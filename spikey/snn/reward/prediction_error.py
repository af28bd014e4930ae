"""Reward-prediction error against a learned per-lane baseline."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.reward.game_reward import GameReward


class RewardPredictionError(GameReward):
    """``δ = r - b``: the game's (scaled) reward minus a running-average baseline ``b`` per lane.

    With ``r = reward_scale * game_reward + reward_offset`` (``GameReward``) and
    ``η = baseline_rate``, each call (one game step) returns ``δ`` and then, in
    training mode, moves the baseline towards the reward::

        δ_b = r_b - b_b                        (B,)
        b_b <- b_b + η δ_b

    Modulating MSTDP/MSTDPET by ``δ`` rather than ``r`` removes the reward's mean
    from the update: a policy-gradient rule with a baseline (Williams 1992;
    Frémaux, Sprekeler & Gerstner 2013 use the critic's TD error in the same
    place, see ``TDCritic``). Actions are then reinforced only when they earn
    more than usual. The baseline is a learned quantity: it is kept by
    ``reset()`` (new episode) and cleared by ``reset_learning()``. Lanes whose
    episode already ended (``terminated`` or ``truncated`` seen before this call)
    get ``δ = 0`` and keep their baseline.

    A per-step baseline cannot learn a task whose reward is the same on every
    step until the end (CartPole's +1): use ``TDCritic`` there.

    Examples
    --------
    >>> import numpy as np
    >>> r = RewardPredictionError(baseline_rate=0.5, batch_size=2)
    >>> [r(None, None, None, game_reward=np.array([1.0, 0.0])).tolist() for _ in range(3)]
    [[1.0, 0.0], [0.5, 0.0], [0.25, 0.0]]
    """

    Keys = GameReward.Keys + [
        Key("baseline_rate", "η, fraction of the prediction error the baseline moves by each step", float,
            default=0.05, range=(0, 1), per_member=True),
    ]
    state_names = ("baseline", "ended")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reset_learning()
        self.reset()

    def reset(self) -> None:
        self.ended = np.zeros(self.batch_size, dtype=bool)

    def reset_learning(self) -> None:
        self.baseline = np.zeros(self.batch_size)

    def __call__(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
                 terminated: Any = None, truncated: Any = None) -> np.ndarray:
        """``(B,)`` float64 prediction errors of this game step."""
        live = ~self.ended
        error = np.where(live, self.game_rewards(game_reward) - self.baseline, 0.0)
        if self.training:
            self.baseline = self.baseline + np.asarray(self.params["baseline_rate"], dtype=np.float64) * error
        self.ended = self.ended | episode_ended(terminated, truncated, self.batch_size)
        return error


def episode_ended(terminated: Any, truncated: Any, batch_size: int) -> np.ndarray:
    """``(B,)`` bool: lanes whose episode ended at this step (either flag; None counts as False)."""
    ended = np.zeros(batch_size, dtype=bool)
    for flag in (terminated, truncated):
        if flag is not None:
            ended |= np.asarray(flag, dtype=bool).reshape(batch_size)
    return ended
