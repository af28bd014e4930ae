"""The synapse template: plasticity rules that change the bound weight matrix.

Per network step (training only) the network calls
``synapses.update(pre, post, reward)`` with

* ``pre``  ``(B, n)``: presynaptic spike events of this step, signed by the
  presynaptic polarity (+1 excitatory, -1 inhibitory, 0 silent), inputs first;
* ``post`` ``(B, N)``: body spike events of this step (1 or 0);
* ``reward`` ``(B,)`` or None: the reward of *this* step, already computed from
  this step's own output spikes (ActiveRLNetwork), or None between rewards.

With ``deferred = True`` (RLNetwork) the reward of a game step arrives once,
after the network has produced its action, through ``apply_reward(reward)``;
rules then accumulate their eligibility over the game step's network steps.

Weights are magnitudes and a presynaptic polarity gives the sign, so a rule
that changes the signed efficacy by ``Δ`` changes the stored magnitude by
``polarity * Δ``: that is why ``pre`` arrives signed.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.part import Part


class Synapse(Part):
    """Template for synapse/plasticity rules (the static rule does nothing)."""

    namespace = "synapse"
    Keys = [
        Key("n_inputs", "number of input neurons", int, range=(0, None)),
        Key("n_neurons", "N, body neurons", int, range=(1, None)),
    ]
    deferred = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.weights = None

    @property
    def n_pre(self) -> int:
        return self.params["n_inputs"] + self.params["n_neurons"]

    def bind(self, weights: Any) -> None:
        """Attach the Weight part this rule changes and allocate state.

        The weights return to their initial values: one matrix shared by all
        lanes if this rule never learns, else a ``(B, n, N)`` copy per lane.
        """
        self.weights = weights
        weights.reset(shared=not self.plastic)
        self.reset()

    @property
    def plastic(self) -> bool:
        """Whether this rule ever changes weights (static rules keep them shared)."""
        return True

    def update(self, pre: Any, post: Any, reward: Any = None) -> None:
        """One network step of plasticity. Override."""

    def apply_reward(self, reward: Any) -> None:
        """A game step's reward ``(B,)`` for the steps since the last call (deferred mode)."""

    def change_weights(self, delta: Any) -> None:
        """W += delta ``(B, n, N)`` in the lanes that learn (``learning_lanes``), then bound and re-mask.

        Lanes outside ``learning_lanes`` keep their weights bit for bit (their delta is
        not even added, so a NaN delta of a stopped lane cannot reach them).
        """
        lanes = self.learning_lanes
        if lanes is None:
            self.weights.matrix += delta
        elif not lanes.any():
            return
        else:
            index = self.backend.asarray(np.flatnonzero(lanes), dtype=np.int64)
            self.weights.matrix[index] += delta[index]
        self.weights.clip_()

    def _lane(self, value: Any) -> Any:
        """A (B,) reward or per-member rate as (B, 1, 1) to scale (B, n, N) updates."""
        if isinstance(value, (int, float)):
            return value
        return self.backend.asarray(value).reshape(-1, 1, 1)


class TraceSTDP(Synapse):
    """Pair-based STDP with exponential traces (shared by STDP, MSTDP and MSTDPET).

    Per step, with ``pre``/``post`` spike events::

        x <- x * exp(-1/tau_plus)  + a_plus  * pre      # presynaptic trace, (B, n)
        y <- y * exp(-1/tau_minus) + a_minus * post     # postsynaptic trace, (B, N)
        ζ_ij = x_i * post_j - pre_i * y_j                # Florian's ζ with A- = -a_minus

    so pre-before-post gives ζ > 0 (potentiation) and post-before-pre ζ < 0,
    with magnitude ``a * exp(-Δt/τ)`` for a spike-time difference of Δt steps.
    Simultaneous spikes give ``a_plus - a_minus``.
    """

    Keys = Synapse.Keys + [
        Key("learning_rate", "γ, weight change per unit of eligibility", float, range=(0, None),
            per_member=True),
        Key("tau_plus", "τ+, decay time of the presynaptic trace (steps)", float, default=20.0,
            range=(1e-9, None)),
        Key("tau_minus", "τ-, decay time of the postsynaptic trace (steps)", float, default=20.0,
            range=(1e-9, None)),
        Key("a_plus", "A+, potentiation amplitude", float, default=1.0, range=(0, None)),
        Key("a_minus", "|A-|, depression amplitude", float, default=1.0, range=(0, None)),
    ]
    state_names = ("pre_trace", "post_trace")

    def derive(self) -> None:
        self.pre_decay = math.exp(-1.0 / self.params["tau_plus"])
        self.post_decay = math.exp(-1.0 / self.params["tau_minus"])
        self.learning_rate = self._lane(self.params["learning_rate"])

    def reset(self) -> None:
        B = self.batch_size
        self.pre_trace = self.backend.zeros((B, self.n_pre))
        self.post_trace = self.backend.zeros((B, self.params["n_neurons"]))

    def step_traces(self, pre: Any, post: Any) -> None:
        """Decay the traces one step and add this step's spikes."""
        self.pre_trace = self.pre_trace * self.pre_decay + self.params["a_plus"] * pre
        self.post_trace = self.post_trace * self.post_decay + self.params["a_minus"] * post

    def pairing(self, pre: Any, post: Any) -> Any:
        """ζ ``(B, n, N)``: this step's STDP pairing term (after ``step_traces``)."""
        return self.pre_trace[:, :, None] * post[:, None, :] - pre[:, :, None] * self.post_trace[:, None, :]

    def unchanged_by(self, reward: Any) -> bool:
        """Whether a weight change scaled by ``reward`` would leave W exactly as it is.

        True when every lane's reward is 0 (the change is 0 x eligibility) and the whole
        matrix already respects the current bound (so the clip in ``change_weights`` is a
        no-op): the reference path then skips the dense update.
        """
        if not isinstance(reward, np.ndarray) or reward.any():
            return False
        clipped_to = getattr(self.weights, "clipped_to", None)
        return clipped_to is not None and np.array_equal(clipped_to, self.weights.params["max_weight"])
