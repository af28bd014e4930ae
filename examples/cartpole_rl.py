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
  to the pool that acts. The pool that fires more over the game step's 10
  network steps picks the push (``TopAction``).
* Critic (``TDCritic``): ``V(s)`` linear in the same grid's rates, learned by
  TD(lambda); its TD error ``delta = r + gamma V(s') (1 - terminated) - V(s)``
  (r = 0.05 per step, gamma = 0.95) is the actor's reward (Frémaux,
  Sprekeler & Gerstner 2013).
* Plasticity: MSTDPET (Florian 2007) in ``RLNetwork``'s deferred mode:
  ``dW = lr * delta_t * sum over the step's network steps of z``; the
  eligibility trace ``z`` (50 network steps = 5 game steps) carries each
  push's credit into the next game steps' TD errors.

Measured (this machine, numpy; deterministic for given seeds), evaluation =
mean return over 100 episodes per seed with learning off, seeds 0-9:

* ``python examples/cartpole_rl.py --anneal`` (200 episodes, learning rate
  falling linearly to 0): per seed 122.6, 166.7, 125.8, 230.4, 110.3, 301.9,
  184.3, 156.0, 104.9, 163.6: median 159.8, every seed above its controls;
  learning-rate-0 control median 16.1 (11.1-51.4), random policy median 22.6
  (19.6-24.6). 588 s wall time with other jobs on 2 cores.
* with 5 network steps per game step (``--set processing_time=5 --set
  tau_eligibility=25``): median 140.0 (117.4-283.4) annealed, 140.3
  (23.9-422.7) at a constant rate, 102.0 (39.6-235.2) after 80 episodes.
* Training returns (mean over seeds and the last 10 episodes) rise to ~160
  by episode 90 and stay at 160-180 to episode 200, single episodes reaching
  500: the target of gymnasium's v0 level (median >= 195) is not reached.

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
