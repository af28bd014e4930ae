"""LIF whose spontaneous activity is random potential kicks, not random spikes (Spikey's variant)."""
from __future__ import annotations

from spikey.module import Key
from spikey.snn.equations import equation
from spikey.snn.neuron.lif import LIF


class RandPotential(LIF):
    """Leaky integrate-and-fire with random depolarising noise instead of random spikes.

    Each step, before the threshold test, every neuron independently receives
    with probability ``p_rand = prob_rand_fire`` a kick ``η ~ U(0, σ)``,
    ``σ = potential_noise_scale``::

        V <- V + η     (η = 0 with probability 1 - p_rand)
        s  = V >= θ    and not refractory

    So spontaneous activity must cross the threshold like any other input; no
    neuron spikes directly at random (unlike ``LIF``). The charge equation, the
    reset, refractory period, polarity and spike delay are ``LIF``'s. Noise
    given to a refractory neuron is discarded by its reset. The draws come from
    each lane's own stream, so lane b of a batch equals a single network
    seeded like lane b.

    Examples
    --------
    >>> import numpy as np
    >>> neurons = RandPotential(n_neurons=4, firing_threshold=1.0, potential_decay=0.0,
    ...                         prob_rand_fire=1.0, potential_noise_scale=0.1)
    >>> neurons().tolist()                  # every neuron got a kick below 0.1: no spike
    [[0.0, 0.0, 0.0, 0.0]]
    >>> bool(((neurons.potential > 0) & (neurons.potential < 0.1)).all())
    True
    >>> neurons.update(np.full((1, 4), 0.9, dtype=np.float32))
    >>> neurons().tolist()                  # 0.9 plus two kicks: above θ where they sum >= 0.1
    [[0.0, 1.0, 1.0, 0.0]]
    """

    Keys = LIF.Keys + [
        Key("potential_noise_scale", "σ, upper bound of a random kick U(0, σ) to V (potential units)",
            float, range=(0, None), per_member=True),
    ]

    random_fire = False  # prob_rand_fire drives the kicks, not direct spikes
    noise_draws = ("draw_kick", "draw_size")

    def derive(self) -> None:
        super().derive()
        self.noise_scale = self.column("potential_noise_scale")

    @equation("potential")
    def noise_eq(potential, draw_kick, draw_size, p_rand, noise_scale):
        """V <- V + η: a kick U(0, σ) with probability p_rand (one draw decides, the other sizes it)."""
        return potential + (draw_kick < p_rand) * (draw_size * noise_scale)
