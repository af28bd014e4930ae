"""The neuron template: fire -> reset -> charge, shared by every neuron model.

A model states its equations once, as ``@equation`` functions
(``spikey.snn.equations``), and its own state variables (SpikingJelly's split:
the skeleton is shared, a model writes its dynamics). Both engines evaluate
the same functions: the reference engine on ``(B, N)`` arrays here, the
compiled engine per neuron. State is ``(B, N)``: B networks, N neurons.

What a model may state (class attributes; ``None`` where it has nothing):

* ``charge_eq`` (required): integrate one step of synaptic input ``current``;
* ``hold_eq``: the values of a neuron that fired or is refractory (default ``V = V_rest``);
* ``spike_eq``: a jump applied only to neurons that fired this step (Izhikevich's ``u += d``);
* ``threshold_eq``: the threshold tested this step (default ``firing_threshold``);
* ``adapt_eq``: a training-only update after charging, given ``spiked`` (1.0 where fired);
* ``noise_eq`` with ``noise_draws``: a random kick before firing, from one stream draw per name.

Their arguments name state variables (``state_names``), inputs (``current``,
``spiked``, the draws) or the part's derived values (``derive()`` attributes).

Per network step the network calls, in order:

1. ``neurons()``: which neurons fire now (from the current state); returns the
   signed spikes ``polarity * magnitude`` delivered this step (after ``spike_delay``;
   the network's spike log and plasticity see spikes at their delivery time);
2. ``neurons.update(current)``: refractory timers count down, spiking and
   refractory neurons are reset, then the model integrates the synaptic input.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.equations import equation, evaluate
from spikey.snn.part import Part


class Neuron(Part):
    """Template for neuron groups (leaky integrate-and-fire skeleton).

    Firing rule (per step, Spikey's): ``s = (V >= θ or U(0,1) < p_rand) and not refractory``.
    A spiking neuron is reset to ``V_rest`` and ignores input for ``R`` steps
    (with R = 0 it integrates the same step's input from ``V_rest``).
    Spikes reach their targets ``D = spike_delay`` steps after they fire.
    Neurons are excitatory (+1) or inhibitory (-1) with probability
    ``neuron_pct_inhibitory``, drawn once per network from each lane's seed.
    """

    namespace = "neuron"
    Keys = [
        Key("n_neurons", "N, body neurons; the last n_outputs of them are the outputs", int,
            range=(1, None)),
        Key("magnitude", "spike magnitude delivered to targets (scales W)", float, default=1.0,
            per_member=True),
        Key("firing_threshold", "θ, potential at which a neuron fires (mV-like units)", float,
            per_member=True),
        Key("refractory_period", "R, steps after a spike with input ignored and no firing", int,
            default=0, range=(0, None)),
        Key("resting_mv", "V_rest, resting and reset potential", float, default=0.0, per_member=True),
        Key("prob_rand_fire", "p_rand, probability per step of a spontaneous spike", float,
            default=0.0, range=(0, 1), per_member=True),
        Key("neuron_pct_inhibitory", "fraction of neurons with negative polarity", float,
            default=0.0, range=(0, 1), per_member=True),
        Key("spike_delay", "D, steps between firing and delivery", int, default=0, range=(0, None)),
    ]
    state_names = ("potential", "refractory", "polarities", "delay_line", "fired")
    #: Per-neuron state variables of the model's equations (each (B, N); ``potential`` first).
    model_state: tuple[str, ...] = ("potential",)
    #: Whether ``prob_rand_fire`` makes neurons spike directly (else it drives ``noise_eq``).
    random_fire: bool = True
    #: Names of the uniform draws ``noise_eq`` takes per neuron and step (its stream: "noise").
    noise_draws: tuple[str, ...] = ()

    @equation("potential")
    def hold_eq(v_rest):
        """A neuron that fired or is refractory sits at the resting potential: V = V_rest."""
        return v_rest

    charge_eq = None
    spike_eq = None
    threshold_eq = None
    adapt_eq = None
    noise_eq = None

    def __init__(self, *args: Any, polarities: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        B, N = self.batch_size, self.params["n_neurons"]
        if polarities is None:
            pct = np.broadcast_to(np.asarray(self.params["neuron_pct_inhibitory"], dtype=float), (B,))
            draws = np.stack([g.random(N) for g in self.generators("polarity")])
            polarities = np.where(draws < pct[:, None], -1.0, 1.0)
        polarities = np.broadcast_to(np.asarray(polarities, dtype=float), (B, N))
        self.polarities = self.backend.asarray(polarities.copy())
        self.reset()

    @property
    def n_neurons(self) -> int:
        return self.params["n_neurons"]

    def derive(self) -> None:
        self.threshold = self.column("firing_threshold")
        self.v_rest = self.column("resting_mv")
        self.p_rand = self.column("prob_rand_fire")
        self.any_random = bool(np.any(np.asarray(self.params["prob_rand_fire"]) > 0))
        self.magnitude = self.column("magnitude")

    def reset(self) -> None:
        """Potentials to V_rest, timers and delayed spikes cleared."""
        B, N = self.batch_size, self.n_neurons
        self.potential = self.backend.full((B, N), 0.0) + self.v_rest
        self.refractory = self.backend.zeros((B, N))
        self.fired = self.backend.zeros((B, N), dtype=bool)
        delay = self.params["spike_delay"]
        self.delay_line = self.backend.zeros((delay, B, N)) if delay > 0 else None
        self._delay_slot = 0
        # Neuron indices (1, N), compared with each lane's winner under winner_take_all.
        self._neuron_index = self.backend.asarray(np.arange(N)[None, :], dtype=np.int64)

    # -- the shared skeleton --------------------------------------------------------------------
    @property
    def effective_threshold(self) -> Any:
        """The threshold tested this step: ``threshold_eq`` or θ (``firing_threshold``)."""
        if self.threshold_eq is None:
            return self.threshold
        function = self.threshold_eq
        return function(*[getattr(self, name) for name in function.inputs])

    def fire_condition(self) -> Any:
        """(B, N) bool: neurons whose state says fire now (before the refractory gate).

        ``V >= threshold`` after the model's random kick (``noise_eq``), or a
        direct random spike with probability ``p_rand``; with ``winner_take_all``
        only each network's eligible neuron with the largest ``V - threshold``
        (ties to the lowest index).
        """
        if self.noise_eq is not None and self.any_random:
            draws = self.stream("noise", (len(self.noise_draws), self.n_neurons)).uniform()
            evaluate(self, self.noise_eq, **{name: draws[:, k] for k, name in enumerate(self.noise_draws)})
        threshold = self.effective_threshold
        fired = self.potential >= threshold
        if self.random_fire and self.any_random:
            fired = fired | (self.stream("random_fire", (self.n_neurons,)).uniform() < self.p_rand)
        if not self.params.get("winner_take_all", False):
            return fired
        eligible = fired & (self.refractory <= 0)
        margin = self.xp.where(eligible, self.potential - threshold, -float("inf"))
        # argmax returns the first maximum on numpy and torch: ties go to the lowest index.
        winner = self.xp.argmax(margin, 1)
        return eligible & (self._neuron_index == winner[:, None])

    def __call__(self) -> Any:
        """Fire: returns (B, N) signed spikes (``polarity * magnitude`` or 0) delivered this step."""
        fired = self.fire_condition() & (self.refractory <= 0)
        self.fired = fired
        if self.params["refractory_period"] > 0:
            self.refractory = self.xp.where(fired, self.params["refractory_period"] + 1.0, self.refractory)
        spikes = fired * (self.polarities * self.magnitude)
        if self.delay_line is not None:
            # Copy before the slot is overwritten: indexing returns a view on both backends.
            delivered = self.backend.copy(self.delay_line[self._delay_slot])
            self.delay_line[self._delay_slot] = spikes
            self._delay_slot = (self._delay_slot + 1) % self.delay_line.shape[0]
            return delivered
        return spikes

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["delay_slot"] = self._delay_slot  # which in-flight spikes arrive next
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._delay_slot = state.get("delay_slot", 0)

    def update(self, current: Any) -> None:
        """Reset who fired, hold refractory neurons, integrate ``current`` (B, N) into the rest,
        then (training only) the model's adaptation."""
        if self.params["refractory_period"] > 0:
            self.refractory = (self.refractory - 1.0).clip(min=0.0)
            refractory = self.refractory > 0
            self.reset_spiked(self.fired | refractory)
            current = self.xp.where(refractory, 0.0, current)
        else:
            self.reset_spiked(self.fired)
        self.charge(current)
        if self.adapt_eq is not None and self.training:
            # lanes that no longer learn (their game ended, or they failed) keep their adaptation
            lanes = None if self.learning_lanes is None else \
                self.backend.asarray(self.learning_lanes, dtype=bool)[:, None]
            evaluate(self, self.adapt_eq, mask=lanes, spiked=self.backend.cast(self.fired))

    def reset_spiked(self, mask: Any) -> None:
        """Neurons in ``mask`` (fired or refractory) take ``hold_eq``; those that fired, ``spike_eq``."""
        evaluate(self, self.hold_eq, mask=mask)
        if self.spike_eq is not None:
            evaluate(self, self.spike_eq, mask=self.fired)

    def charge(self, current: Any) -> None:
        """Integrate one step of input ``current`` (B, N) by the model's ``charge_eq``."""
        if self.charge_eq is None:
            raise NotImplementedError(f"{type(self).__name__} must state its charge equation (charge_eq).")
        evaluate(self, self.charge_eq, current=current)

    def __iadd__(self, current: Any) -> "Neuron":
        self.update(current)
        return self
