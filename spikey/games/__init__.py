"""Games: batched environments that drive networks (gymnasium-style API).

Every game steps B lanes together: ``reset(seed=None, options=None) ->
(observations, info)`` and ``step(actions) -> (observations, rewards,
terminated, truncated, info)`` with a leading batch axis B on every array;
``observation_space``/``action_space`` describe one lane. A lane whose episode
ended is frozen until ``reset()`` (no automatic resets).

* ``Game`` (template): keys, presets, per-lane seeding, action validation.
* ``Logic``: two random bits per step, the action should be the gate's output.
* ``CartPole``: the old Spikey's cart-pole physics, vectorised over lanes.
* ``GymGame``: any gymnasium environment, lanes in a ``SyncVectorEnv``.
* ``Classification``, ``Digits``, ``MNIST``: one labelled sample per step.
"""
from spikey.games.template import Game
from spikey.games.logic import Logic, and_gate, or_gate, truth_table, xor_gate
from spikey.games.cartpole import CartPole
from spikey.games.gym import GymGame, NonFiniteObservationError
from spikey.games.classification import MNIST, Classification, Digits, read_idx

__all__ = ["Game", "Logic", "and_gate", "or_gate", "truth_table", "xor_gate", "CartPole", "GymGame",
           "NonFiniteObservationError", "Classification", "Digits", "MNIST", "read_idx"]
