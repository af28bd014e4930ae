"""A series over two XOR keys: every (learning_rate, firing_threshold) pair, 3 seeds each.

The experiment is examples/xor.yaml (Florian-style XOR with MSTDPET, one batched
run of 3 networks per configuration). The 3 x 3 grid runs as Ray tasks, one per
configuration, into a series folder (``spikey.meta.series``)::

    python examples/series_xor.py                 # embedded Ray, results in runs/series_xor
    python examples/series_xor.py --no-ray        # one configuration after another, in this process
    python examples/series_xor.py --address auto  # on a running cluster

Running it again resumes (finished configurations are skipped). Prints the mean
final accuracy per configuration with its 95 % confidence interval over the
seeds and the Spearman importance of the two keys; ``examples/report_xor.py``
turns the folder into an HTML report.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

GRID = {"learning_rate": [0.0001, 0.001, 0.003], "firing_threshold": [0.7, 1.0, 1.5]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/series_xor", help="series folder (default runs/series_xor)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (networks) per configuration")
    parser.add_argument("--episodes", type=int, default=None, help="episodes (default: xor.yaml's)")
    parser.add_argument("--no-ray", action="store_true", help="run the configurations here, one by one")
    parser.add_argument("--address", default=None, help="Ray cluster to run on (default: an embedded one)")
    args = parser.parse_args(argv)

    from spikey.analysis import importance, load, summarize
    from spikey.experiment import Experiment
    from spikey.meta.series import Series

    experiment = Experiment.from_file(HERE / "xor.yaml").replace(seeds=args.seeds)
    if args.episodes:
        experiment = experiment.replace(n_episodes=args.episodes)
    experiment.validate()  # before Ray: a bad config fails here, naming the culprit
    series = Series(experiment, GRID)
    if not args.no_ray:
        import ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter()
    series.run(args.out, use_ray=not args.no_ray, progress=True)
    print(f"{len(series.configs)} configurations x {args.seeds} seeds in {time.perf_counter() - started:.1f} s")

    frame = load(args.out)
    stats = summarize(frame, by=list(GRID), metric="accuracy")
    print("final-episode accuracy per configuration (mean over seeds, 95 % CI):")
    short = lambda x: f"{x:.3g}"  # noqa: E731
    print(stats[list(GRID) + ["mean", "std", "count", "ci_low", "ci_high"]].to_string(index=False, float_format=short))
    print("Spearman rank correlation of each key with the final accuracy:")
    print(importance(frame, "accuracy", keys=list(GRID))[["key", "rho", "n"]].to_string(index=False, float_format=short))
    print(f"series folder: {Path(args.out).absolute()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
