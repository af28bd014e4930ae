"""Ray Tune sweep of the CartPole experiment (examples/cartpole.yaml, spikey.games.CartPole) with ASHA.

The networks learn from a teacher signal: ``balance_action`` (below, named in
cartpole.yaml as ``sweep_cartpole.py:balance_action``) is the push a simple
rule would choose, and the rewarder (MatchExpected) rewards agreeing with it.
The sweep maximises ``length``, the game steps the pole stays up (of 200).

    python examples/sweep_cartpole.py --local                     # here, on an embedded Ray
    ray submit examples/cluster.yaml examples/sweep_cartpole.py   # on a cluster's head
    ray job submit --working-dir . -- python examples/sweep_cartpole.py

Prints the best keys and, on held-out seeds, their mean episode length next
to the config's own keys'.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from spikey.meta.cluster import sweep_script

HERE = Path(__file__).resolve().parent


def balance_action(states) -> np.ndarray:
    """(B, 4) CartPole states ``[x, x_dot, theta, theta_dot]`` -> (B,) pushes: 1 (towards +x) where the
    pole leans or turns towards +x (``theta + 0.5 s * theta_dot > 0``), else 0. Keeps the pole up for
    the 200 steps of an episode on its own."""
    states = np.asarray(states)
    return (states[:, 2] + 0.5 * states[:, 3] > 0).astype(np.int64)


def main(argv=None) -> int:
    return sweep_script(argv, config="cartpole.yaml", who="sweep_cartpole", description=__doc__.split("\n")[0],
                        script_dir=HERE, last=3)


if __name__ == "__main__":
    sys.exit(main())
