"""The rewarder template: the reward of a game step (or of a network step) per network.

``rewarder(state, action, state_next=None) -> (B,) float`` with the batch of
game states and actions. Rewarders that also want the game's own step results
(gymnasium's ``reward, terminated, truncated``) declare them as keyword
parameters of ``__call__``::

    def __call__(self, state, action, state_next=None, game_reward=None, terminated=None, truncated=None)

and ``call_rewarder`` (used by ``Network.reward``) passes each one the rewarder
accepts; rewarders written for ``(state, action, state_next)`` keep working
unchanged. ``game_reward`` is the game's ``(B,)`` float reward of the step,
``terminated``/``truncated`` its ``(B,)`` bool flags (gymnasium's meaning:
terminated = the episode reached a terminal state, so nothing follows it;
truncated = cut short by a time limit, the state still has a future).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any

from spikey.module import Key
from spikey.snn.part import Part

#: The game's step results a rewarder may take as keyword arguments.
GAME_STEP_RESULTS = ("game_reward", "terminated", "truncated")


def accepted_step_results(function: Any) -> tuple[str, ...]:
    """Which of ``GAME_STEP_RESULTS`` ``function`` takes as keyword arguments (all of them with ``**kwargs``).

    Read once per function: rewarders are called every network step, and a signature costs ~25 us.
    """
    try:
        return _accepted_step_results(function)
    except TypeError:  # an unhashable callable: read it each time
        return _accepted_step_results.__wrapped__(function)


@functools.lru_cache(maxsize=1024)
def _accepted_step_results(function: Any) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature: pass nothing extra
        return ()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return GAME_STEP_RESULTS
    return tuple(name for name in GAME_STEP_RESULTS if name in parameters
                 and parameters[name].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                               inspect.Parameter.KEYWORD_ONLY))


def call_rewarder(rewarder: Any, state: Any, action: Any, state_next: Any = None, **step_results: Any) -> Any:
    """``rewarder(state, action, state_next, ...)`` with the game's step results it accepts.

    ``step_results`` holds ``game_reward``, ``terminated``, ``truncated`` (any may be
    missing or None); only those named in the rewarder's ``__call__`` signature are
    passed, so rewarders of ``(state, action, state_next)`` are called exactly as before.

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn.reward.game_reward import GameReward
    >>> from spikey.snn.reward.match_expected import MatchExpected
    >>> call_rewarder(GameReward(batch_size=2), None, None, None, game_reward=np.array([1.0, -1.0]),
    ...               terminated=np.array([False, True])).tolist()
    [1.0, -1.0]
    >>> old = MatchExpected(expected_value=lambda s: np.zeros(2), punish_mult=1.0, batch_size=2)
    >>> call_rewarder(old, np.zeros((2, 1)), np.array([0, 1]), None, game_reward=np.ones(2)).tolist()
    [1.0, -1.0]
    """
    accepted = getattr(type(rewarder), "_accepted_step_results", None)
    if accepted is None:
        accepted = accepted_step_results(rewarder.__call__)
    extras = {name: step_results[name] for name in accepted if step_results.get(name) is not None}
    return rewarder(state, action, state_next, **extras)


class Reward(Part):
    """Template for rewarders: ``reward_mult`` for success, ``-punish_mult`` for failure."""

    namespace = "reward"
    Keys = [
        Key("reward_mult", "reward given for a correct action", float, default=1.0, per_member=True),
        Key("punish_mult", "magnitude of the (negative) reward for a wrong action", float, default=0.0,
            range=(0, None), per_member=True),
    ]

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # Read once per class: which game step results its __call__ takes (see call_rewarder).
        cls._accepted_step_results = accepted_step_results(cls.__call__)

    def __call__(self, state: Any, action: Any, state_next: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __call__.")
