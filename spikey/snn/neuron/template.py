"""The neuron template: fire -> reset -> charge, shared by every neuron model.

A model writes only its charge equation (``charge``) and, where its reset or
firing rule differs, ``reset_spiked``/``fire_condition``, plus its own state
variables (SpikingJelly's split). State is ``(B, N)``: B networks, N neurons.

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

    # -- the shared skeleton --------------------------------------------------------------------
    def fire_condition(self) -> Any:
        """(B, N) bool: neurons whose state says fire now (before the refractory gate)."""
        fired = self.potential >= self.threshold
        if self.any_random:
            fired = fired | (self.stream("random_fire", (self.n_neurons,)).uniform() < self.p_rand)
        return fired

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
        """Reset who fired, hold refractory neurons, integrate ``current`` (B, N) into the rest."""
        if self.params["refractory_period"] > 0:
            self.refractory = (self.refractory - 1.0).clip(min=0.0)
            refractory = self.refractory > 0
            self.reset_spiked(self.fired | refractory)
            current = self.xp.where(refractory, 0.0, current)
        else:
            self.reset_spiked(self.fired)
        self.charge(current)

    # -- what a model writes --------------------------------------------------------------------
    def reset_spiked(self, mask: Any) -> None:
        """Reset neurons in ``mask`` (fired or refractory): V = V_rest."""
        self.potential = self.xp.where(mask, self.v_rest, self.potential)

    def charge(self, current: Any) -> None:
        """Integrate one step of input. Override with the model's equation."""
        raise NotImplementedError(f"{type(self).__name__} must define charge(current).")

    def __iadd__(self, current: Any) -> "Neuron":
        self.update(current)
        return self
