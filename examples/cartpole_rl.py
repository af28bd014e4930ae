"""CartPole-v1 (gymnasium) learned by a spiking actor-critic from the environment's own reward only.

The environment is ``GymGame("CartPole-v1")``: +1 per step until the pole
tips past 12 degrees or the cart leaves the track (terminated) or 500 steps
pass (truncated). That reward and those flags are all the network learns
from: no teacher, no shaped reward, nothing about the pole's physics.

The network (``examples/cartpole_rl.yaml``; one per seed, all seeds one batch):

* Inputs: ``RBFGrid`` place cells on a 2 x 2 x 7 x 7 grid over (x, x_dot,
  theta, theta_dot): 196 Bernoulli inputs, up to 0.5 spikes per network step
  at a cell's centre. A grid (rather than one field per variable, ``RBF``)
  lets a linear read-out depend on combinations such as theta with theta_dot.
* Actor: 20 output neurons fed forward from the inputs only (``Random``
  weights, ``recurrent: false``), two pools of 10; ``AdaptiveLIF`` with
  ``winner_take_all`` (no threshold adaptation): at most one output fires per
  network step, so the spikes, and with them the eligibility, belong mostly
  to the pool that acts. The pool that fires more over the game step's 5
  network steps picks the push (``TopAction``).
* Critic (``TDCritic``): ``V(s)`` linear in the same grid's rates, learned by
  TD(lambda); its TD error ``delta = r + gamma V(s') (1 - terminated) - V(s)``
  (r = 0.05 per step, gamma = 0.95) is the actor's reward (Frémaux,
  Sprekeler & Gerstner 2013).
* Plasticity: MSTDPET (Florian 2007) in ``RLNetwork``'s deferred mode:
  ``dW = lr * delta_t * sum over the step's network steps of z``; the
  eligibility trace ``z`` (25 network steps = 5 game steps) carries each
  push's credit into the next game steps' TD errors.

``python examples/cartpole_rl.py`` trains 10 seeds, then evaluates each with
learning off over 100 episodes on unseen initial states, beside the
untrained networks (learning rate 0) and a random policy; see
``examples/gym_rl.py`` for the protocol. The last line is ``result: {json}``.
"""
from __future__ import annotations

from pathlib import Path

from spikey.experiment.config import load_file_module

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "cartpole_rl.yaml"


def main(argv=None) -> dict:
    """Run ``examples/gym_rl.py``'s protocol on ``cartpole_rl.yaml``; returns its result dict."""
    gym_rl = load_file_module(HERE / "gym_rl.py")
    return gym_rl.main(argv, config=str(CONFIG), description=__doc__.split("\n")[0])


if __name__ == "__main__":
    main()
