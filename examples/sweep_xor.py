"""Ray Tune sweep of the XOR experiment (examples/xor.yaml) with ASHA, then a check on held-out seeds.

Attaches to a running Ray cluster (``--address auto``, the default, e.g. on the
head of ``ray up examples/cluster.yaml``) and refuses to start a cluster of its
own there; ``--local`` runs on an embedded Ray instead (a laptop)::

    python examples/sweep_xor.py --local                       # here
    ray submit examples/cluster.yaml examples/sweep_xor.py     # on a cluster's head
    ray job submit --working-dir . -- python examples/sweep_xor.py

Prints the best keys, their mean accuracy on held-out seeds next to the
config's own keys, and where the results table is (``results.parquet``, one
row per trial and episode).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from spikey.meta.cluster import attach, find_config

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="xor.yaml", help="experiment config (default examples/xor.yaml)")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: auto)")
    parser.add_argument("--local", action="store_true", help="start an embedded Ray instead of attaching")
    parser.add_argument("--samples", type=int, default=None, help="trials (default: the config's sweep)")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per trial")
    parser.add_argument("--train-workers", type=int, default=0, help="run each trial on Ray Train workers")
    parser.add_argument("--gpu", action="store_true", help="a GPU per trial (or per Train worker)")
    parser.add_argument("--out", default=str(Path.home() / "spikey_sweeps"), help="results folder")
    parser.add_argument("--name", default=None, help="sweep name (default xor-sweep-<time>)")
    parser.add_argument("--held-out", type=int, default=16, help="held-out seeds for the final comparison")
    args = parser.parse_args(argv)

    from spikey.experiment import Experiment, evaluate
    from spikey.meta import run_sweep

    experiment = Experiment.from_file(find_config(args.config, HERE, "sweep_xor"))
    if args.episodes:
        experiment = experiment.replace(n_episodes=args.episodes)
    experiment.validate()  # before Ray: a bad config fails here, naming the culprit
    attach(args.address, args.local, "sweep_xor")
    started = time.perf_counter()
    result = run_sweep(experiment, storage_path=args.out,
                       name=args.name or f"{experiment.name}-sweep-{time.strftime('%Y%m%d-%H%M%S')}",
                       num_samples=args.samples, train_workers=args.train_workers,
                       use_gpu=True if args.gpu else None, progress=False)
    trials = result.results["trial_id"].nunique()
    stopped = (result.results.groupby("trial_id")["training_iteration"].max() < experiment.n_episodes).sum()
    print(f"{trials} trials ({stopped} stopped early by {experiment.sweep.get('scheduler', 'asha')}) in "
          f"{time.perf_counter() - started:.1f} s; best {result.metric} {result.best_score:.3f} with "
          f"{result.best_config}")
    seeds = list(range(1000, 1000 + args.held_out))
    metric = result.metric
    best = evaluate(result.best_experiment(), seeds, metric=metric, last=experiment.n_episodes)
    default = evaluate(experiment, seeds, metric=metric, last=experiment.n_episodes)
    print(f"held-out seeds {seeds[0]}..{seeds[-1]}: {metric} {best:.3f} (best keys) vs {default:.3f} "
          f"(config's keys)")
    print(f"results: {result.path / 'results.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
