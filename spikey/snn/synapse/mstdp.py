"""Reward-modulated STDP without eligibility trace (Florian 2007, MSTDP)."""
from __future__ import annotations

from typing import Any

from spikey.snn.synapse.template import TraceSTDP


class MSTDP(TraceSTDP):
    """MSTDP (Florian 2007, eq. 5-6): ``dW/dt = γ r(t) ζ(t)``.

    With a per-step reward (ActiveRLNetwork) each step changes
    ``W += learning_rate * r * ζ``. In deferred mode (RLNetwork) the game step's
    reward is held over the steps that produced the action:
    ``W += learning_rate * r * Σ_t ζ(t)`` over those steps.
    Reward 0 leaves W unchanged; a negative reward reverses the change.

    Reference: R. V. Florian, "Reinforcement learning through modulation of
    spike-timing-dependent synaptic plasticity", Neural Computation 19 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn.weight.manual import Manual
    >>> w = Manual(n_inputs=1, n_neurons=1, max_weight=1.0, matrix=np.array([[.5], [0.]]))
    >>> rule = MSTDP(n_inputs=1, n_neurons=1, learning_rate=0.1); rule.bind(w)
    >>> rule.update(np.array([[1., 0.]]), np.array([[0.]]), reward=np.array([1.]))
    >>> rule.update(np.array([[0., 1.]]), np.array([[1.]]), reward=np.array([-1.]))
    >>> bool(w.matrix[0, 0, 0] < 0.5)    # pre-before-post under punishment depresses
    True
    """

    state_names = TraceSTDP.state_names + ("eligibility_sum",)

    def reset(self) -> None:
        super().reset()
        self.eligibility_sum = self.cleared("eligibility_sum", (self.batch_size, self.n_pre, self.params["n_neurons"])) \
            if self.deferred else None

    def eligibility(self, zeta: Any) -> Any:
        """What a reward at this step multiplies: ζ itself for MSTDP."""
        return zeta

    def update(self, pre: Any, post: Any, reward: Any = None) -> None:
        self.step_traces(pre, post)
        eligibility = self.eligibility(self.pairing(pre, post))
        if self.deferred:  # the game step's reward arrives later, through apply_reward
            self.eligibility_sum += eligibility
        elif reward is not None and not self.unchanged_by(reward):
            self.change_weights((self.learning_rate * self._lane(reward)) * eligibility)

    def apply_reward(self, reward: Any) -> None:
        if self.eligibility_sum is None:
            raise RuntimeError(f"{type(self).__name__}.apply_reward needs deferred mode "
                               "(set deferred = True before bind/reset, as RLNetwork does).")
        self.change_weights((self.learning_rate * self._lane(reward)) * self.eligibility_sum)
        self.eligibility_sum[...] = 0.0
