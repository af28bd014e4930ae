"""Attaching a sweep script to Ray: a running cluster, or an embedded instance on request.

Scripts sent with ``ray submit`` run on the head node with only the script
copied, so they find their config next to themselves, in the repository that
``examples/cluster.yaml`` mounts at ``~/spikey-src``, or under ``./examples``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def find_config(name: str, script_dir: Path, who: str) -> Path:
    """The config file ``name`` beside ``script_dir``, in ~/spikey-src/examples or ./examples.

    Exits with a message naming ``who`` (the calling script) when none exists.
    """
    for candidate in (Path(script_dir) / name, Path.home() / "spikey-src" / "examples" / name,
                      Path("examples") / name):
        if candidate.is_file():
            return candidate
    sys.exit(f"{who}: cannot find {name} next to {script_dir} or in ~/spikey-src/examples")


#: Environment a Ray instance started by Spikey inherits (an attached cluster keeps its own).
#: Ray Train's controller polls its workers every RAY_TRAIN_HEALTH_CHECK_INTERVAL_S (default 2 s)
#: and every ``ray.train.report`` waits for a poll; with one report per episode that dominated short
#: runs (128 seeds x 30 episodes on 1 worker: 91 s at 2 s, 38 s at 0.2 s, measured).
LOCAL_RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2"}


def local_ray_environment() -> None:
    """Set ``LOCAL_RAY_ENV`` defaults (values the user set win) before this process starts Ray."""
    for name, value in LOCAL_RAY_ENV.items():
        os.environ.setdefault(name, value)


def attach(address: str | None, local: bool, who: str) -> None:
    """Start an embedded Ray (``local``) or attach to the cluster at ``address`` (default "auto").

    Attaching never quietly starts a cluster of its own: with no running
    cluster the script exits, naming ``who`` and the address tried.
    """
    import ray
    if local:
        local_ray_environment()
        ray.init(include_dashboard=True)
        return
    try:
        ray.init(address=address or "auto")
    except ConnectionError as error:
        sys.exit(f"{who}: no running Ray cluster at {address or 'auto'} ({error}); use --local to run here.")
    nodes = [n for n in ray.nodes() if n["Alive"]]
    resources = ray.cluster_resources()
    print(f"attached to the cluster at {ray.get_runtime_context().gcs_address}: {len(nodes)} node(s), "
          f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs", flush=True)


def sweep_script(argv: list[str] | None, *, config: str, who: str, description: str, script_dir: Path,
                 last: int | None = None) -> int:
    """The body of a sweep script (examples/sweep_*.py): ASHA sweep, then best vs config keys on held-out seeds.

    Parses ``argv`` (``--config`` default ``config``, found by ``find_config``), validates the
    experiment before Ray starts, attaches (``attach``), runs ``spikey.meta.run_sweep`` and prints the
    trials, the best keys and the mean ``metric`` of the last ``last`` episodes (default: all) of the
    best and of the config's own keys on ``--held-out`` seeds 1000, 1001, ...; returns 0.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default=config, help=f"experiment config (default examples/{config})")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: auto)")
    parser.add_argument("--local", action="store_true", help="start an embedded Ray instead of attaching")
    parser.add_argument("--samples", type=int, default=None, help="trials (default: the config's sweep)")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per trial")
    parser.add_argument("--train-workers", type=int, default=0, help="run each trial on Ray Train workers")
    parser.add_argument("--gpu", action="store_true", help="a GPU per trial (or per Train worker)")
    parser.add_argument("--out", default=str(Path.home() / "spikey_sweeps"), help="results folder")
    parser.add_argument("--name", default=None, help="sweep name (default <config name>-sweep-<time>)")
    parser.add_argument("--held-out", type=int, default=16, help="held-out seeds for the final comparison")
    args = parser.parse_args(argv)

    from spikey.experiment import Experiment, evaluate
    from spikey.meta.tune import run_sweep

    experiment = Experiment.from_file(find_config(args.config, script_dir, who))
    if args.episodes:
        experiment = experiment.replace(n_episodes=args.episodes)
    experiment.validate()  # before Ray: a bad config fails here, naming the culprit
    attach(args.address, args.local, who)
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
    last = experiment.n_episodes if last is None else min(last, experiment.n_episodes)
    best = evaluate(result.best_experiment(), seeds, metric=result.metric, last=last)
    default = evaluate(experiment, seeds, metric=result.metric, last=last)
    print(f"held-out seeds {seeds[0]}..{seeds[-1]}, last {last} episodes: {result.metric} {best:.3f} "
          f"(best keys) vs {default:.3f} (config's keys)")
    print(f"results: {result.path / 'results.parquet'}")
    return 0
