"""LIF with an adaptive threshold (homeostasis, Diehl & Cook 2015) and optional winner-take-all."""
from __future__ import annotations

import numpy as np

from spikey.module import Key
from spikey.snn.equations import equation
from spikey.snn.neuron.lif import LIF


class AdaptiveLIF(LIF):
    """Leaky integrate-and-fire whose threshold rises with each spike and relaxes back.

    The effective threshold is ``θ + θ_a``. The adaptation ``θ_a`` (state
    ``theta_adapt``, shape (B, N)) follows, per step, after the step's spikes ``s``::

        θ_a <- θ_a * exp(-1 / τ_θ) + θ_plus * s

    so a spike at step t raises the threshold tested at step t+1 by
    ``θ_plus = theta_plus``, and the rise decays with time constant
    ``τ_θ = theta_decay_tau`` steps (Diehl & Cook 2015, Front. Comput. Neurosci.
    9:99). Neurons that fire a lot become harder to fire, which spreads the
    activity over the population.

    Adaptation is plasticity: in ``eval()`` mode, and in lanes outside the network's
    ``learning_lanes``, ``θ_a`` is frozen (no rise and no decay), and ``reset()``
    keeps it, as a network's reset keeps learned weights; ``reset_adaptation()`` clears it.

    With ``winner_take_all`` at most one neuron per network fires per step: of
    the neurons eligible to fire (over threshold or firing at random, and not
    refractory), the one with the largest ``V - (θ + θ_a)``; ties go to the
    lowest index. The others keep their potential (they are not reset).

    Charge, reset, refractory period, random firing, polarity and spike delay
    are ``LIF``'s.

    Examples
    --------
    >>> import numpy as np
    >>> neurons = AdaptiveLIF(n_neurons=2, firing_threshold=1.0, potential_decay=0.0,
    ...                       theta_plus=0.5, theta_decay_tau=10.0)
    >>> drive = np.array([[1.2, 0.0]], dtype=np.float32)
    >>> neurons.update(drive); neurons().tolist()
    [[1.0, 0.0]]
    >>> neurons.update(drive); neurons.theta_adapt.tolist()    # raised by θ_plus after the spike
    [[0.5, 0.0]]
    >>> neurons().tolist()                                      # 1.2 < 1.0 + 0.5: silent now
    [[0.0, 0.0]]
    >>> neurons.update(drive); round(float(neurons.theta_adapt[0, 0]), 4)    # 0.5 * exp(-1/10)
    0.4524
    """

    Keys = LIF.Keys + [
        Key("theta_plus", "θ_plus, threshold rise per spike (potential units)", float, default=0.05,
            range=(0, None), per_member=True),
        Key("theta_decay_tau", "τ_θ, decay time constant of the threshold rise (steps; inf: no decay)", float,
            default=1e4, range=(1e-9, None), per_member=True, allow_inf=True),
        Key("winner_take_all", "at most one spike per network per step (largest V - threshold)", bool,
            default=False),
    ]
    state_names = LIF.state_names + ("theta_adapt",)
    model_state = LIF.model_state + ("theta_adapt",)

    def derive(self) -> None:
        super().derive()
        self.theta_plus = self.column("theta_plus")
        retain = np.exp(-1.0 / np.asarray(self.params["theta_decay_tau"], dtype=np.float64))
        # A scalar stays a Python float so that it does not promote float32 state to float64.
        self.theta_retain = float(retain) if retain.ndim == 0 else self.backend.column(retain)

    def reset(self) -> None:
        """Potentials, timers and delayed spikes cleared; the learned ``θ_a`` is kept."""
        super().reset()
        shape = (self.batch_size, self.n_neurons)
        if getattr(self, "theta_adapt", None) is None or tuple(self.theta_adapt.shape) != shape:
            self.theta_adapt = self.backend.zeros(shape)

    def reset_adaptation(self) -> None:
        """Clear the threshold adaptation: ``θ_a = 0`` in every network."""
        self.theta_adapt = self.backend.zeros((self.batch_size, self.n_neurons))

    def reset_learning(self) -> None:
        """``Network.reset_weights()`` forgets the adaptation along with the weights."""
        self.reset_adaptation()

    @equation("threshold")
    def threshold_eq(threshold, theta_adapt):
        """The threshold tested: θ + θ_a."""
        return threshold + theta_adapt

    @equation("theta_adapt")
    def adapt_eq(theta_adapt, spiked, theta_retain, theta_plus):
        """θ_a <- θ_a exp(-1/τ_θ) + θ_plus s (training only)."""
        return theta_adapt * theta_retain + theta_plus * spiked
