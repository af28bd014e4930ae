"""A critic that learns the value of states and returns the temporal-difference error."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.backend import Backend
from spikey.module import ConfigError, Key, UnknownKeyError, suggest
from spikey.snn.reward.game_reward import GameReward
from spikey.snn.reward.prediction_error import episode_ended


class TDCritic(GameReward):
    """Actor-critic reward: the TD error ``δ`` of a critic that is linear in the input code's rates.

    The critic codes a game state ``s`` as the spike probabilities ``φ(s)`` ``(B, n)``
    of an input part (``critic_code``, by default ``RBF``, built from the network's
    own keys, so the critic sees what the actor's inputs see: Frémaux et al.'s
    place-cell code) plus a constant 1, and reads its value out linearly,
    ``V(s) = w · [φ(s), 1]`` with weights ``w`` ``(B, n + 1)`` per lane. For the
    game step ``s -> s'`` with game reward ``r = reward_scale * game_reward + reward_offset``::

        δ = r + γ V(s') (1 - terminated) - V(s)                  TD error (B,)
        e <- γ λ e + [φ(s), 1]                                   critic's eligibility trace
        w <- w + α δ e / |[φ(s), 1]|²                            (training mode only)

    with ``γ = discount``, ``λ = critic_lambda``, ``α = critic_rate`` (normalised by
    the squared norm of the code, so ``α`` is the fraction of the error corrected
    for the current state, whatever the code's size). A terminated state has value
    0; a truncated one (a time limit) keeps its bootstrapped value ``V(s')``.

    The returned ``δ`` is the actor's reward: in an ``RLNetwork`` it modulates
    MSTDP/MSTDPET, whose eligibility trace (``tau_eligibility``) carries the credit
    of a push over the following game steps, so ``Δw_actor ∝ δ_t z_t``. This is the
    TD-modulated actor-critic of Frémaux, Sprekeler & Gerstner (2013), "Reinforcement
    learning using a continuous time actor-critic framework with spiking neurons",
    PLoS Comput Biol 9:e1003024, in discrete game steps and with a linear (rate)
    read-out of the critic instead of spiking critic neurons; Florian (2007) and
    Izhikevich (2007) for the reward-modulated STDP and eligibility traces.

    One call is one game step (``RLNetwork.reward``, once per ``tick``). Lanes
    whose episode already ended (a flag seen at an earlier call) get ``δ = 0`` and
    do not learn. ``w`` is learned state: kept by ``reset()`` (new episode, which
    clears ``e``) and set back to ``value_init`` by ``reset_learning()``. In eval
    mode the critic does not learn (it still returns ``δ``).

    Examples
    --------
    A chain of two states before the end, reward 1 per step, γ = 0.5: the values
    become ``V(s0) = 1 + 0.5 V(s1)``, ``V(s1) = 1``, so ``V(s0) = 1.5``.

    >>> import numpy as np
    >>> critic = TDCritic(n_inputs=4, n_dims=1, rbf_low=0.0, rbf_high=3.0, rbf_width=0.3,
    ...                   discount=0.5, critic_rate=0.5, batch_size=1)
    >>> s0, s1, end = np.array([[0.0]]), np.array([[1.0]]), np.array([[2.0]])
    >>> for _ in range(60):
    ...     critic.reset()
    ...     _ = critic(s0, None, s1, game_reward=np.array([1.0]), terminated=np.array([False]))
    ...     _ = critic(s1, None, end, game_reward=np.array([1.0]), terminated=np.array([True]))
    >>> critic.value(s0).round(2).tolist(), critic.value(s1).round(2).tolist()
    ([1.5], [1.0])
    """

    Keys = GameReward.Keys + [
        Key("critic_code", "input part (class or spikey.snn name) whose rates code the critic's states; "
            "built from the network's keys", (type, str), default="RBF"),
        Key("discount", "γ, discount per game step", float, default=0.95, range=(0, 1)),
        Key("critic_rate", "α, critic learning rate (fraction of δ corrected per step)", float, default=0.1,
            range=(0, None), per_member=True),
        Key("critic_lambda", "λ, decay of the critic's eligibility trace per game step (0: TD(0))", float,
            default=0.0, range=(0, 1)),
        Key("value_init", "initial value of every state", float, default=0.0),
    ]
    state_names = ("critic_weights", "critic_trace", "ended")

    def __init__(self, *args: Any, strict: bool = True, **config: Any):
        # The code's keys (n_inputs, rbf_low, ...) are this part's too: checked against both below.
        super().__init__(*args, strict=False, **config)
        code_class = self._code_class()
        keys = {name: value for name, value in config.items() if name not in ("backend", "seed", "batch_size")}
        if strict:
            known = self.accepted_names() | code_class.accepted_names()
            unknown = sorted(set(keys) - known)
            if unknown:
                raise UnknownKeyError(f"{type(self).__name__}: unknown key '{unknown[0]}'.{suggest(unknown[0], known)}"
                                      f" It takes its own keys and those of its critic_code "
                                      f"{code_class.__name__}.", key=unknown[0], part=type(self).__name__,
                                      value=keys[unknown[0]], expected="a key of TDCritic or its critic_code")
        try:
            self.code = code_class(backend=Backend("numpy", "cpu", "float64"), seed=self.seeds,
                                   batch_size=self.batch_size, strict=False, **keys)
        except ConfigError as error:
            raise ConfigError(f"{type(self).__name__}: its critic_code {code_class.__name__} cannot be built "
                              f"from the keys: {error}", key="critic_code", part=type(self).__name__,
                              value=code_class.__name__, expected="an input part the network's keys "
                              "configure") from error
        self.reset_learning()
        self.reset()

    def _code_class(self) -> type:
        import spikey.snn as snn
        from spikey.snn.input.template import Input
        code = self.params["critic_code"]
        cls = getattr(snn, code, None) if isinstance(code, str) else code
        if not (isinstance(cls, type) and issubclass(cls, Input) and hasattr(cls, "rate_stream")):
            name = type(self).__name__
            raise ConfigError(f"{name}: key 'critic_code' = {code!r} is not an input part that codes states "
                              f"as rates; expected e.g. 'RBF' or 'RateMap'.", key="critic_code", part=name,
                              value=code, expected="a rate-coding spikey.snn input part")
        return cls

    @property
    def n_features(self) -> int:
        """The critic's code size: the input part's rates plus one constant."""
        return self.code.n_inputs + 1

    def reset(self) -> None:
        self.critic_trace = np.zeros((self.batch_size, self.n_features))
        self.ended = np.zeros(self.batch_size, dtype=bool)

    def reset_learning(self) -> None:
        self.critic_weights = np.zeros((self.batch_size, self.n_features))
        self.critic_weights[:, -1] = self.params["value_init"]

    def features(self, state: Any) -> np.ndarray:
        """``(B, n + 1)`` float64: the code's rates for ``state`` and a constant 1."""
        self.code.update(state)
        rates = np.asarray(self.code.rates, dtype=np.float64).reshape(self.batch_size, -1)
        return np.concatenate([rates, np.ones((self.batch_size, 1))], axis=1)

    def value(self, state: Any) -> np.ndarray:
        """``(B,)`` the critic's value ``V(state)``."""
        return (self.critic_weights * self.features(state)).sum(axis=1)

    def __call__(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
                 terminated: Any = None, truncated: Any = None) -> np.ndarray:
        """``(B,)`` float64 TD errors of the game step ``state -> state_next``."""
        name = type(self).__name__
        if state_next is None:
            raise ValueError(f"{name}: state_next is None; the TD error needs the game's next observation "
                             f"(network.reward(state, action, state_next, game_reward=...)).")
        reward = self.game_rewards(game_reward)
        now, after = self.features(state), self.features(state_next)
        final = np.zeros(self.batch_size, dtype=bool) if terminated is None \
            else np.asarray(terminated, dtype=bool).reshape(self.batch_size)
        value_next = np.where(final, 0.0, (self.critic_weights * after).sum(axis=1))
        live = ~self.ended
        error = np.where(live, reward + self.params["discount"] * value_next
                         - (self.critic_weights * now).sum(axis=1), 0.0)
        if self.training:
            decay = self.params["discount"] * self.params["critic_lambda"]
            self.critic_trace = np.where(live[:, None], decay * self.critic_trace + now, self.critic_trace)
            rate = np.asarray(self.params["critic_rate"], dtype=np.float64).reshape(-1, 1)
            self.critic_weights += rate * (error / (now * now).sum(axis=1))[:, None] * self.critic_trace
        self.ended = self.ended | episode_ended(terminated, truncated, self.batch_size)
        return error
