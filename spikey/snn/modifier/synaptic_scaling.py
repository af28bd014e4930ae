"""Homeostatic synaptic scaling of the output neurons' inputs."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikey.snn.modifier.template import Modifier


class SynapticScaling(Modifier):
    """Keep each output neuron's firing rate near a target by scaling all its input weights together.

    Homeostatic synaptic scaling (Turrigiano 2008, Cell 135:422): a neuron that
    fires too little multiplies all its excitatory input weights up, one that
    fires too much scales them down. Multiplicative scaling keeps the ratios
    of the weights, i.e. what the reward-modulated rule has learned; it only
    sets the output's overall gain. It rescues a reward-at-spike protocol from
    its absorbing failure: an output punished into silence fires no spikes, so
    it earns no reward and its synapses no eligibility, and it would stay silent
    for good.

    At the start of every game step (training only), with ``r`` the output
    neuron's rate in the last game step (spikes per network step) and ``W_o``
    the column of its input weights, lane by lane::

        ρ <- ρ + (r - ρ) / τ_h                      running rate, τ_h in game steps
        e = clip(1 - ρ / r*, -1, 1)                 relative rate error
        W_o <- clip(W_o · exp(η · e), 0, max_weight)

    ``r* = target_rate``, ``η = eta`` (the largest relative change per game
    step), ``τ_h = tau``. With ``direction="up"`` only a rate below ``r*``
    acts (``e`` clipped at 0): a floor on the output's activity that leaves a
    network whose learning raises its rate alone (in Florian's XOR the outputs
    that learn end at 0.25-0.5 spikes per step, those that fail stay near their
    initial 0.02-0.1). ρ starts at ``r*`` (no scaling before the output's
    rate is known). Scaling is plasticity: it pauses in ``network.eval()``.
    The modifier's ``key`` is ``max_weight``, the bound it keeps.

    Examples
    --------
    >>> import numpy as np
    >>> from spikey.snn import LIF, Manual, RLNetwork, RateMap, Static, Threshold
    >>> w = np.zeros((3, 1)); w[:2, 0] = 0.1                # two inputs -> one output, too weak to fire
    >>> net = RLNetwork(parts=dict(inputs=RateMap, neurons=LIF, weights=Manual, synapses=Static,
    ...                 readout=Threshold, modifiers=[SynapticScaling(target_rate=0.1, tau=5, eta=0.1)]),
    ...                 keys=dict(n_inputs=2, n_neurons=1, n_outputs=1, processing_time=20, matrix=w,
    ...                           state_rate_map={0: [0.5, 0.5]}, firing_threshold=1.0, potential_decay=0.1,
    ...                           max_weight=2.0, action_threshold=0.5), seed=0)
    >>> for _ in range(40):
    ...     _ = net.tick(np.array([0]))
    >>> bool(net.weights.matrix[0, 0] > 0.1)              # scaled up until the output fires
    True
    """

    def __init__(self, target_rate: float, tau: float = 20.0, eta: float = 0.02, direction: str = "both"):
        super().__init__("max_weight")
        if direction not in ("both", "up"):
            raise ValueError(f"SynapticScaling: direction = {direction!r}; expected 'both' or 'up'.")
        self.direction = direction
        for name, value, low in (("target_rate", target_rate, 0.0), ("tau", tau, 1.0), ("eta", eta, 0.0)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or value < low or (name == "target_rate" and value == 0):
                raise ValueError(f"SynapticScaling: {name} = {value!r}; expected a number "
                                 f"{'> 0' if name == 'target_rate' else f'>= {low:g}'}.")
        self.target_rate, self.tau, self.eta = float(target_rate), float(tau), float(eta)
        self.running_rate: np.ndarray | None = None

    def reset(self) -> None:
        """Keep the running rate: like the weights it scales, it persists over episodes."""

    def update(self, network: Any, step: int) -> None:
        """Scale the output columns of ``network.weights.matrix`` from the last game step's output rate."""
        if not network.training or step == 0 or network.game_step == 0:
            return  # no game step played yet (or a new episode): output_counts holds no rate
        be = network.backend
        rate = be.to_numpy(network.output_counts).astype(float) / network.processing_time   # (B, n_outputs)
        if self.running_rate is None or self.running_rate.shape != rate.shape:
            self.running_rate = np.full(rate.shape, self.target_rate)
        self.running_rate += (rate - self.running_rate) / self.tau
        error = np.clip(1.0 - self.running_rate / self.target_rate, 0.0 if self.direction == "up" else -1.0, 1.0)
        factor = np.exp(self.eta * error)
        matrix = network.weights.matrix
        n_out = network.n_outputs
        if matrix.ndim == 2 and network.batch_size > 1:
            raise ValueError("SynapticScaling: the weight matrix is shared by every lane (2-D); it needs one "
                             "matrix per lane (B, n, N) to scale each lane's outputs by their own rate.")
        column = be.asarray(factor if matrix.ndim == 3 else factor[0])[..., None, :]
        high = np.asarray(network.weights.params["max_weight"], dtype=float)
        high = be.asarray(high.reshape(-1, 1, 1) if matrix.ndim == 3 and high.ndim else high)
        scaled = matrix[..., -n_out:] * column
        matrix[..., -n_out:] = be.xp.minimum(be.xp.maximum(scaled, 0.0 * scaled), high + 0.0 * scaled)
