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

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from spikey.meta.cluster import attach, find_config

HERE = Path(__file__).resolve().parent


def balance_action(states) -> np.ndarray:
    """(B, 4) CartPole states ``[x, x_dot, theta, theta_dot]`` -> (B,) pushes: 1 (towards +x) where the
    pole leans or turns towards +x (``theta + 0.5 s * theta_dot > 0``), else 0. Keeps the pole up for
    the 200 steps of an episode on its own."""
    states = np.asarray(states)
    return (states[:, 2] + 0.5 * states[:, 3] > 0).astype(np.int64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="cartpole.yaml")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: auto)")
    parser.add_argument("--local", action="store_true", help="start an embedded Ray instead of attaching")
    parser.add_argument("--samples", type=int, default=None, help="trials (default: the config's sweep)")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per trial")
    parser.add_argument("--train-workers", type=int, default=0, help="run each trial on Ray Train workers")
    parser.add_argument("--gpu", action="store_true", help="a GPU per trial (or per Train worker)")
    parser.add_argument("--out", default=str(Path.home() / "spikey_sweeps"), help="results folder")
    parser.add_argument("--name", default=None)
    parser.add_argument("--held-out", type=int, default=16, help="held-out seeds for the final comparison")
    args = parser.parse_args(argv)

    from spikey.experiment import Experiment, evaluate
    from spikey.meta import run_sweep

    experiment = Experiment.from_file(find_config(args.config, HERE, "sweep_cartpole"))
    if args.episodes:
        experiment = experiment.replace(n_episodes=args.episodes)
    experiment.validate()
    attach(args.address, args.local, "sweep_cartpole")
    started = time.perf_counter()
    result = run_sweep(experiment, storage_path=args.out,
                       name=args.name or f"{experiment.name}-sweep-{time.strftime('%Y%m%d-%H%M%S')}",
                       num_samples=args.samples, train_workers=args.train_workers,
                       use_gpu=True if args.gpu else None, progress=False)
    print(f"{result.results['trial_id'].nunique()} trials in {time.perf_counter() - started:.1f} s; best "
          f"{result.metric} {result.best_score:.1f} with {result.best_config}")
    seeds = list(range(1000, 1000 + args.held_out))
    best = evaluate(result.best_experiment(), seeds, metric=result.metric, last=3)
    default = evaluate(experiment, seeds, metric=result.metric, last=3)
    print(f"held-out seeds, last 3 episodes: {result.metric} {best:.1f} (best keys) vs {default:.1f} "
          f"(config's keys)")
    print(f"results: {result.path / 'results.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
