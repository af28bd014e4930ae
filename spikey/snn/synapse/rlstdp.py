"""The earlier Spikey's reward-modulated STDP (RLSTDP): a scalar reward trace and a linear window."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.synapse.template import Synapse


def window_kernel(stdp_window: int) -> np.ndarray:
    """K(Δ) for Δ = 1 .. W-1 steps: ``(W - Δ) / (W - 1)``, shape ``(W - 1,)``.

    Linear, 1 at Δ = 1 and ``1/(W-1)`` at Δ = W-1 (0 from Δ = W on).

    >>> window_kernel(3).tolist()
    [1.0, 0.5]
    """
    delta = np.arange(1, stdp_window)
    return (stdp_window - delta) / (stdp_window - 1.0)


class RLSTDP(Synapse):
    """Reward-modulated STDP of the earlier Spikey, with its faults fixed.

    One scalar reward trace ``z`` per network (no per-synapse eligibility) and
    a linear STDP window of ``W = stdp_window`` steps. Per network step, with
    this step's signed presynaptic events ``pre`` ``(B, n)`` and body events
    ``post`` ``(B, N)``::

        d_i   = Σ_{Δ=1}^{W-1} K(Δ) |pre_i(t-Δ)|                 # (B, n), earlier steps only
        z    <- z * (1 - trace_decay) + r                       # r = this step's reward (0 if None)
        ΔW_ij = learning_rate * z * ( pol_i * d_i * post_j       # LTP: i fired before body j fires
                                     - pre_i * d_{n_in + j} )    # LTD: i fires after body j fired
        W    <- clip(W + ΔW)

    with ``K(Δ) = (W - Δ)/(W - 1)`` and ``pol_i`` the presynaptic polarity.
    The history of body neurons comes from the body columns of ``pre`` (the
    network passes every neuron's events there, signed, inputs first).
    Both terms carry the polarity of the presynaptic neuron of the changed
    synapse (weights are magnitudes; see the template).

    Deferred mode (RLNetwork, ``deferred = True``): network steps learn with
    the current ``z`` and leave it unchanged; ``apply_reward(r)`` then sets
    ``z <- z * (1 - trace_decay) + r``, so a game step's reward modulates the
    pairings of the *following* network steps, not those that produced the
    action (that is the nature of this rule: use MSTDP/MSTDPET to credit the
    pairings that caused a reward). With ``trace_decay = 0`` rewards simply
    add up in ``z``; with the default 1, ``z`` is the last reward. A reward
    passed to ``update`` in deferred mode counts like ``apply_reward``.

    Changes from the earlier Spikey (REFERENCE §1.4): the kernel there was
    ``(W - 1 - Δ)/(W - 2)``, which divides by zero for ``W = 2`` and ignores
    pairings W-1 steps apart; its LTD used the polarity of the earlier-firing
    (postsynaptic) neuron instead of the presynaptic one; with
    ``trace_decay = 1`` it learned from one stale window only, even after
    ``eval()``. Here every step learns (training only), and the spike history
    is a ring buffer of the last ``W - 1`` steps.

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn.weight.manual import Manual
    >>> w = Manual(n_inputs=1, n_neurons=1, max_weight=1.0, matrix=np.array([[.5], [0.]]))
    >>> rule = RLSTDP(n_inputs=1, n_neurons=1, learning_rate=0.1, stdp_window=3); rule.bind(w)
    >>> rule.update(np.array([[1., 0.]]), np.array([[0.]]), reward=np.array([1.]))  # pre fires
    >>> rule.update(np.array([[0., 1.]]), np.array([[1.]]), reward=np.array([1.]))  # post, Δ = 1
    >>> round(float(w.matrix[0, 0, 0]), 6)   # 0.5 + 0.1 * z * K(1) = 0.5 + 0.1
    0.6
    """

    Keys = Synapse.Keys + [
        Key("learning_rate", "weight change per unit of reward trace and kernel", float,
            range=(0, None), per_member=True),
        Key("stdp_window", "W, steps of the STDP window; pairings 1..W-1 steps apart count", int,
            range=(2, None)),
        Key("trace_decay", "fraction of the reward trace z lost per network step "
            "(per apply_reward in deferred mode)", float,
            default=1.0, range=(0, 1), per_member=True),
    ]
    state_names = ("reward_trace", "history")

    def derive(self) -> None:
        self.learning_rate = self._lane(self.params["learning_rate"])
        decay = self.params["trace_decay"]
        self.retain = 1.0 - decay if np.ndim(decay) == 0 else \
            self.backend.asarray(1.0 - np.asarray(decay, dtype=np.float64))
        # Row p: K by ring slot when slot p is written next (slot p-1 is Δ = 1, p-2 is Δ = 2, ...).
        kernel = window_kernel(self.params["stdp_window"])
        slots = len(kernel)
        age = (np.arange(slots)[:, None] - 1 - np.arange(slots)[None, :]) % slots  # Δ - 1
        self.kernels = self.backend.asarray(kernel[age])
        history = getattr(self, "history", None)
        if history is not None and history.shape[1] != slots:
            self.reset()  # a new window size needs a new ring buffer

    def reset(self) -> None:
        B = self.batch_size
        self.reward_trace = self.backend.zeros((B,))
        # Signed events of the last W-1 steps; a neuron's polarity is fixed, so
        # |Σ K pre| = Σ K |pre| and the sign of Σ K pre is the polarity.
        self.history = self.backend.zeros((B, self.params["stdp_window"] - 1, self.n_pre))
        self.position = 0

    def _add_reward(self, reward: Any) -> None:
        reward = reward if isinstance(reward, (int, float)) else self.backend.asarray(reward)
        self.reward_trace = self.reward_trace * self.retain + reward

    def update(self, pre: Any, post: Any, reward: Any = None) -> None:
        if not self.deferred:
            self._add_reward(0.0 if reward is None else reward)
        elif reward is not None:
            self._add_reward(reward)
        n_inputs = self.params["n_inputs"]
        signed = self.kernels[self.position] @ self.history       # (B, n): pol_i * d_i
        earlier_body = self.xp.abs(signed[:, n_inputs:])           # (B, N): d of body neurons
        change = signed[:, :, None] * post[:, None, :] - pre[:, :, None] * earlier_body[:, None, :]
        self.change_weights((self.learning_rate * self._lane(self.reward_trace)) * change)
        self.history[:, self.position] = pre
        self.position = (self.position + 1) % self.history.shape[1]

    def apply_reward(self, reward: Any) -> None:
        """A game step's reward ``(B,)``: ``z <- z * (1 - trace_decay) + r`` for the next steps."""
        self._add_reward(reward)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["position"] = self.position
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.position = int(state.get("position", 0))
