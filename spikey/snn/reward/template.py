"""The rewarder template: the reward of a game step (or of a network step) per network.

``rewarder(state, action, state_next=None) -> (B,) float`` with the batch of
game states and actions.
"""
from __future__ import annotations

from typing import Any

from spikey.module import Key
from spikey.snn.part import Part


class Reward(Part):
    """Template for rewarders: ``reward_mult`` for success, ``-punish_mult`` for failure."""

    namespace = "reward"
    Keys = [
        Key("reward_mult", "reward given for a correct action", float, default=1.0, per_member=True),
        Key("punish_mult", "magnitude of the (negative) reward for a wrong action", float, default=0.0,
            range=(0, None), per_member=True),
    ]

    def __call__(self, state: Any, action: Any, state_next: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __call__.")
