"""Reward each output spike by whether it came from the pool of the expected class."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key, KeyRangeError
from spikey.snn.readout.population_vector import pool_membership
from spikey.snn.reward.template import Reward


class PoolSpikes(Reward):
    """``reward_mult * (spikes in the expected pool) - punish_mult * (spikes in the other pools)``.

    Florian's (2007) XOR protocol generalised to classes: rather than judging a
    game step's action, every output spike is judged on its own. The outputs
    are split into ``n_actions`` contiguous pools exactly as the readouts split
    them (``Readout.pools``: sizes differ by at most one), pool ``a`` standing
    for class ``a``. For each network ``b``, with ``c_b = expected_value(state)[b]``
    and ``s`` the output spike events (or counts) ``(B, n_outputs)``::

        r_b = reward_mult * Σ_{i in pool c_b} s_bi  -  punish_mult * Σ_{i not in pool c_b} s_bi

    so silence earns 0. Use it in an ``ActiveRLNetwork`` whose ``step_action``
    passes this step's output spikes through (``action = post_outputs``): the
    reward of a step then reaches exactly the synapses whose eligibility that
    step's spikes created. With one spike per step (a winner-take-all output
    layer) and a causal-only rule (MSTDP with ``a_minus = 0``) the sign of each
    update is that of its own neuron's spike: +reward for the right pool,
    -punishment for a wrong one. Given a game step's ``output_counts`` it is
    the same sum over the step.

    ``expected_value`` maps the states ``(B, ...)`` to class labels ``(B,)`` in
    ``[0, n_actions)``; classification games expose theirs as
    ``game.expected_value``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = lambda states: np.asarray(states)[:, 0]          # the state holds the label here
    >>> r = PoolSpikes(expected_value=labels, n_outputs=6, n_actions=3, punish_mult=0.5, batch_size=3)
    >>> spikes = np.array([[1, 0, 0, 0, 0, 0],     # pool 0, label 0: +1
    ...                    [1, 0, 0, 1, 0, 0],     # pools 0 and 1, label 2: -0.5 * 2
    ...                    [0, 0, 0, 0, 1, 1]])    # pool 2 twice, label 2: +2
    >>> r(np.array([[0], [2], [2]]), spikes).tolist()
    [1.0, -1.0, 2.0]
    """

    Keys = Reward.Keys + [
        Key("expected_value", "f(states (B, ...)) -> expected class (B,) int in [0, n_actions)", callable),
        Key("n_outputs", "number of output neurons (the last n_outputs body neurons)", int,
            range=(1, None)),
        Key("n_actions", "number of classes, one contiguous pool of outputs each", int, range=(1, None)),
    ]

    def derive(self) -> None:
        n_actions, n_outputs = self.params["n_actions"], self.params["n_outputs"]
        if n_actions > n_outputs:
            name = type(self).__name__
            raise KeyRangeError(f"{name}: key 'n_actions' = {n_actions} exceeds n_outputs = {n_outputs}; "
                                f"expected n_actions <= n_outputs (every class needs an output neuron).",
                                key="n_actions", part=name, value=n_actions, expected=f"int <= {n_outputs}")
        bounds = np.linspace(0, n_outputs, n_actions + 1).round().astype(int)  # as Readout.pools
        self.pool_of = pool_membership(bounds).argmax(axis=1)                 # (n_outputs,) class of output i

    def __call__(self, state: Any, action: Any, state_next: Any = None) -> np.ndarray:
        """``(B,)`` float64 rewards for output spikes ``action`` ``(B, n_outputs)`` (bool or counts)."""
        B, n_outputs, n_actions = self.batch_size, self.params["n_outputs"], self.params["n_actions"]
        spikes = np.asarray(self.backend.to_numpy(action), dtype=np.float64)
        if spikes.shape != (B, n_outputs):
            raise ValueError(f"{type(self).__name__}: action has shape {spikes.shape}; expected the output "
                             f"spikes (batch_size, n_outputs) = ({B}, {n_outputs}) (an ActiveRLNetwork whose "
                             f"step_action returns its post_outputs).")
        expected = np.asarray(self.params["expected_value"](state)).reshape(-1)
        if expected.shape != (B,) or ((expected < 0) | (expected >= n_actions)).any():
            raise ValueError(f"{type(self).__name__}: expected_value returned {expected.tolist()}; expected "
                             f"({B},) class labels in [0, {n_actions}).")
        total = spikes.sum(axis=1)
        right = (spikes * (self.pool_of[None, :] == expected[:, None])).sum(axis=1)
        reward = np.asarray(self.params["reward_mult"], dtype=np.float64)
        punish = np.asarray(self.params["punish_mult"], dtype=np.float64)
        return reward * right - punish * (total - right)
