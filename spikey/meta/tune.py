"""Ray Tune sweeps over an Experiment's flat keys.

A trial's config is a flat dict of network and game keys (the sampled part of
the space); the trainable merges it into the experiment's ``keys``
(``Experiment.with_keys``), builds the networks for all seeds as one batch and
reports the mean metrics over the seeds after every episode with
``tune.report`` (a checkpoint every ``checkpoint_every`` episodes, so paused
or failed trials resume). With ``train_workers > 0`` each trial runs the
experiment as a Ray Train job instead (``spikey.experiment.train``), reporting
through ``TuneReportCallback``; the trial itself then holds only a small CPU
share and the workers take the rest.

``run_sweep`` reads its settings from the arguments, then from the
experiment's ``sweep`` section (YAML), then the defaults::

    sweep:
      metric: game_reward          # a metric column (mean over seeds per episode)
      mode: max
      num_samples: 16
      scheduler: asha              # asha | fifo | median | hyperband
      grace_period: 2              # episodes before ASHA/median may stop a trial
      reduction_factor: 2
      max_concurrent: 2
      scope: last                  # which results rank trials: last | avg | all | last-5-avg | last-10-avg
      train_workers: 0             # > 0: every trial is a Ray Train run of this many workers
      cpus_per_worker: null        # CPUs of each such worker (default 1, less where the cluster is smaller)
      cpus_per_trial: 1
      seed: 0                      # of the random search
      include_default: true        # the first trial runs the config's own values of the searched keys
      time_budget_s: null
      holdout_seeds: 10            # best keys re-scored on 10 seeds after the experiment's (0: off)
      space: {learning_rate: [0.0005, 0.1, log], action_threshold: {choices: [mean, median]}}

A trial whose state becomes NaN or inf in any lane (the episode loop's numerical
guard) raises ``spikey.snn.network.NonFiniteStateError``: Tune marks it ERROR with
the lane, step and parts in its ``error.txt``, it is never chosen as the best, and
``load_results`` flags its reports (``errored``). Raising is what Tune users expect
of a diverged trial (as of a NaN loss): it shows in the trial table and
``ResultGrid.errors``, while a made-up score would be ranked as a result.

Results land in ``<storage_path>/<name>/``: Tune's trial folders, plus
``results.parquet`` (every report of every trial, ``load_results``) and
``best.json`` (the best trial's keys and score, and ``"holdout"``: the best
keys trained again on ``holdout_seeds`` seeds disjoint from the sweep's and
scored the same way, ``spikey.meta.holdout``; the sweep's own best score is
biased upwards by the luck of its seeds, the held-out one is not).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, ExperimentError
from spikey.experiment.results import dump_shard, load_shards, write_json, write_table
from spikey.experiment.run import ShardRunner, summarize
from spikey.meta.space import search_space

SWEEP_DEFAULTS = {"metric": "game_reward", "mode": "max", "num_samples": 8, "scheduler": "asha",
                  "grace_period": 1, "reduction_factor": 2, "max_concurrent": None, "scope": "last",
                  "train_workers": 0, "cpus_per_worker": None, "use_gpu": False, "cpus_per_trial": 1,
                  "seed": None,
                  "time_budget_s": None, "space": {}, "reuse_actors": True, "include_default": True,
                  "holdout_seeds": None}
SCHEDULERS = ("asha", "fifo", "median", "hyperband")
#: How trials are ranked (Tune's scopes): the last report, the mean, the best, or the mean of the last 5 or 10.
SCOPES = ("last", "avg", "all", "last-5-avg", "last-10-avg")


def sweep_settings(experiment: Experiment, **overrides: Any) -> dict:
    """The sweep settings: ``overrides`` (None means unset) over ``experiment.sweep`` over the defaults."""
    unknown = [k for k in experiment.sweep if k not in SWEEP_DEFAULTS]
    if unknown:
        from spikey.module import suggest
        raise ExperimentError(f"Experiment: unknown sweep setting '{unknown[0]}'.{suggest(unknown[0], SWEEP_DEFAULTS)} "
                              f"Settings: {sorted(SWEEP_DEFAULTS)}.", key=f"sweep.{unknown[0]}",
                              value=experiment.sweep[unknown[0]], expected="a sweep setting")
    settings = {**SWEEP_DEFAULTS, **experiment.sweep, **{k: v for k, v in overrides.items() if v is not None}}
    if settings["mode"] not in ("max", "min"):
        raise ExperimentError(f"sweep: mode = {settings['mode']!r}; expected 'max' or 'min'.", key="sweep.mode",
                              value=settings["mode"], expected="'max' or 'min'")
    if settings["scheduler"] not in SCHEDULERS and not hasattr(settings["scheduler"], "on_trial_result"):
        raise ExperimentError(f"sweep: scheduler = {settings['scheduler']!r}; expected one of {list(SCHEDULERS)} "
                              f"or a Tune TrialScheduler.", key="sweep.scheduler", value=settings["scheduler"],
                              expected=str(list(SCHEDULERS)))
    if settings["scope"] not in SCOPES:
        raise ExperimentError(f"sweep: scope = {settings['scope']!r}; expected one of {list(SCOPES)}.",
                              key="sweep.scope", value=settings["scope"], expected=str(list(SCOPES)))
    for name in ("num_samples", "grace_period", "reduction_factor", "cpus_per_trial"):
        value = settings[name]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ExperimentError(f"sweep: {name} = {value!r}; expected a number > 0.", key=f"sweep.{name}",
                                  value=value, expected="> 0")
    return settings


def make_scheduler(name: str | Any, *, max_t: int, grace_period: int = 1, reduction_factor: float = 2) -> Any:
    """A Tune scheduler by name, with episodes (``training_iteration``) as its time unit."""
    from ray.tune.schedulers import (ASHAScheduler, FIFOScheduler, HyperBandScheduler,
                                     MedianStoppingRule)
    if not isinstance(name, str):
        return name
    grace_period = max(1, min(int(grace_period), max_t))
    if name == "asha":
        return ASHAScheduler(time_attr="training_iteration", max_t=max_t, grace_period=grace_period,
                             reduction_factor=reduction_factor)
    if name == "median":
        return MedianStoppingRule(time_attr="training_iteration", grace_period=grace_period,
                                  min_samples_required=2)
    if name == "hyperband":
        return HyperBandScheduler(time_attr="training_iteration", max_t=max_t,
                                  reduction_factor=reduction_factor)
    if name == "fifo":
        return FIFOScheduler()
    raise ExperimentError(f"sweep: scheduler = {name!r}; expected one of {list(SCHEDULERS)}.", key="scheduler",
                          value=name, expected=str(list(SCHEDULERS)))


def run_trial(config: dict, experiment: Experiment, use_gpu: bool = False) -> None:
    """Tune function trainable: the experiment with ``config``'s keys, all seeds in this process.

    With ``use_gpu`` the trial holds a GPU and runs the torch backend on it.
    """
    from ray import tune
    trial = experiment.with_keys(config)
    if use_gpu:
        trial = trial.replace(backend="torch", device="cuda")
    runner = ShardRunner(trial, keep_rows=False)  # rows go to Tune by report, not into checkpoints
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            runner.load(load_shards(directory)[0])
    _raise_on_failed_lanes(runner, config)
    while not runner.done:
        started = time.perf_counter()
        frame = runner.play()
        _raise_on_failed_lanes(runner, config)
        metrics = {"episode": runner.next_episode - 1, **summarize(frame),
                   "episode_time_s": time.perf_counter() - started}
        if runner.checkpoint_due():
            with tempfile.TemporaryDirectory(prefix="spikey-trial-") as directory:
                dump_shard(directory, 0, runner.state())
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        else:
            tune.report(metrics)


def _raise_on_failed_lanes(runner: ShardRunner, config: dict) -> None:
    """Fail the trial (Tune marks it ERROR) once the numerical guard has stopped any of its lanes.

    A trial whose state became NaN or inf has no result to rank: raising keeps its numbers
    out of the scheduler and the best-trial choice, and Tune shows it as errored with this
    message in the trial's ``error.txt`` (a retry from the last checkpoint fails the same way).
    """
    failures = runner.failures()
    if failures:
        from spikey.snn.network import NonFiniteStateError
        raise NonFiniteStateError(f"trial {config}: {len(failures)} lane(s) stopped by the numerical guard; first: "
                                  f"{failures[0]['message']}", failures)


def run_train_trial(config: dict, experiment: Experiment, num_workers: int, use_gpu: bool = False,
                    resources_per_worker: dict | None = None, experiment_path: str | None = None) -> None:
    """Tune function trainable running the experiment as a Ray Train job inside the trial.

    The Train run's folder is ``<experiment_path>/trial_<id>/run`` (beside Tune's own
    trial folder), so a restored trial resumes its Train run.
    """
    from ray import tune
    from ray.tune.integration.ray_train import TuneReportCallback
    from spikey.experiment.train import run_train
    context = tune.get_context()
    base = Path(experiment_path) if experiment_path else Path(context.get_trial_dir())
    run_dir = base / f"trial_{context.get_trial_id()}" / "run" if experiment_path else base / "run"
    run_train(experiment.with_keys(config), run_dir, num_workers=num_workers, use_gpu=use_gpu,
              resources_per_worker=resources_per_worker, callbacks=[TuneReportCallback()], progress=False,
              validate=False)


def make_trainable(experiment: Experiment, *, train_workers: int = 0, use_gpu: bool = False,
                   cpus_per_trial: float = 1, resources_per_worker: dict | None = None,
                   experiment_path: str | os.PathLike | None = None) -> Any:
    """The Tune trainable for ``experiment`` with its resources attached.

    ``train_workers = 0``: one process per trial (``cpus_per_trial`` CPUs,
    one GPU if ``use_gpu``). ``train_workers > 0``: a Train run per trial; the
    trial takes 0.01 CPU and each worker ``resources_per_worker`` (default one CPU).
    """
    from ray import tune
    if train_workers:
        trainable = tune.with_parameters(run_train_trial, experiment=experiment, num_workers=int(train_workers),
                                         use_gpu=use_gpu, resources_per_worker=resources_per_worker,
                                         experiment_path=str(experiment_path) if experiment_path else None)
        return tune.with_resources(trainable, {"cpu": 0.01})
    trainable = tune.with_parameters(run_trial, experiment=experiment, use_gpu=use_gpu)
    resources = {"cpu": cpus_per_trial}
    if use_gpu:
        resources["gpu"] = 1
    return tune.with_resources(trainable, resources)


@dataclasses.dataclass
class SweepResult:
    """What ``run_sweep`` returns.

    Attributes: ``path`` (the Tune experiment folder), ``results`` (every
    report of every trial, one row each), ``best_config`` (the best trial's
    sampled keys), ``best_score``, ``metric``, ``mode``, ``grid`` (Tune's ResultGrid), ``holdout``
    (the best keys' score on held-out seeds, ``spikey.meta.holdout.evaluate_holdout``; None when off).
    """

    path: Path
    results: pd.DataFrame
    best_config: dict
    best_score: float
    metric: str
    mode: str
    grid: Any = None
    experiment: Experiment | None = None
    holdout: dict | None = None

    def best_experiment(self) -> Experiment:
        """The experiment with the best trial's keys."""
        return self.experiment.with_keys(self.best_config)


def run_sweep(experiment: Experiment, space: dict | list | None = None, *, storage_path: str | os.PathLike | None = None,
              name: str | None = None, address: str | None = None, progress: bool = True, validate: bool = True,
              **settings: Any) -> SweepResult:
    """Tune ``experiment``'s keys over ``space`` (default: its ``sweep.space``); see the module docstring.

    Parameters
    ----------
    experiment : Experiment
    space : dict or list, optional
        ``spikey.meta.space.search_space`` specs.
    storage_path, name : optional
        Results go to ``<storage_path>/<name>`` (default ``./runs`` and
        ``<experiment.name>-sweep-<time>``: a fresh name, so an old sweep is never silently resumed).
    address : str, optional
        Ray cluster to attach to; default: the running instance or a new local one.
    progress : bool
        Tune's progress table while it runs.
    **settings
        Overrides of the sweep settings (``metric``, ``mode``, ``num_samples``,
        ``scheduler``, ``grace_period``, ``reduction_factor``, ``max_concurrent``,
        ``scope``, ``train_workers``, ``use_gpu``, ``cpus_per_trial``, ``seed``, ``time_budget_s``).
    """
    options = sweep_settings(experiment, **settings)
    from spikey.meta.holdout import evaluate_holdout, holdout_seeds
    held_out = holdout_seeds(options["holdout_seeds"], experiment.seeds, key="sweep.holdout_seeds")
    param_space = search_space(experiment, space if space is not None else options["space"])
    if not param_space:
        raise ExperimentError("sweep: the search space is empty; give sweep.space in the config or space=...",
                              key="sweep.space", value=space, expected="at least one key")
    if validate:
        experiment.validate()
        _validate_metric(experiment, options["metric"])
    import ray
    from ray import tune
    from ray.tune.search import BasicVariantGenerator
    if not ray.is_initialized():
        from spikey.meta.cluster import local_ray_environment
        if address is None:
            local_ray_environment()
        ray.init(address=address, log_to_driver=progress)
    storage = Path(storage_path or "runs").absolute()
    name = name or f"{experiment.name}-sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    resources_per_worker = None
    if options["train_workers"]:
        resources_per_worker, concurrent = _train_trial_resources(options)
        # Train groups that wait for each other's CPUs time out and retry, and a retry can
        # strand a placement group (measured on Ray 2.60): run only as many trials as fit at once.
        options["max_concurrent"] = min(int(options["max_concurrent"] or concurrent), concurrent)
    trainable = make_trainable(experiment, train_workers=options["train_workers"], use_gpu=options["use_gpu"],
                               cpus_per_trial=options["cpus_per_trial"],
                               resources_per_worker=resources_per_worker, experiment_path=storage / name)
    scheduler = make_scheduler(options["scheduler"], max_t=experiment.n_episodes,
                               grace_period=options["grace_period"], reduction_factor=options["reduction_factor"])
    # (Tune ignores TuneConfig.max_concurrent_trials when a BasicVariantGenerator is passed.)
    start = [_current_values(experiment, param_space)] if options["include_default"] else None
    searcher = BasicVariantGenerator(random_state=options["seed"], points_to_evaluate=start or None,
                                     max_concurrent=int(options["max_concurrent"] or 0))
    tuner = tune.Tuner(
        trainable, param_space=param_space,
        tune_config=tune.TuneConfig(metric=options["metric"], mode=options["mode"], scheduler=scheduler,
                                    search_alg=searcher, num_samples=int(options["num_samples"]),
                                    reuse_actors=bool(options["reuse_actors"]) and not options["train_workers"],
                                    time_budget_s=options["time_budget_s"],
                                    trial_dirname_creator=_trial_dirname),
        run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=1 if progress else 0,
                                  failure_config=tune.FailureConfig(max_failures=1)))
    grid = tuner.fit()
    path = storage / name
    results = load_results(path)
    best = _best_result(grid, options["metric"], options["mode"], options["scope"])
    best_config = {k: v for k, v in (best.config or {}).items()}
    scores = best.metrics_dataframe[options["metric"]] if best.metrics_dataframe is not None else None
    best_score = float(_scope_value(scores, options["scope"], options["mode"])) if scores is not None \
        else float("nan")
    write_table(path / "results", results)
    errors = [r.error for r in grid if r.error is not None]
    holdout = None
    if held_out and not (errors and len(errors) == len(grid)):
        # the sweep's own score: the scope over the per-episode means over seeds; the same here
        def score(rows: pd.DataFrame) -> float:
            return _scope_value(rows.groupby("episode")[options["metric"]].mean(), options["scope"],
                                options["mode"])
        holdout = evaluate_holdout(experiment, best_config, held_out, options["metric"], score=score)
        holdout["search_score"] = best_score
    write_json(path / "best.json", {"metric": options["metric"], "mode": options["mode"], "scope": options["scope"],
                                    "score": best_score, "config": best_config,
                                    "experiment": experiment.with_keys(best_config).to_dict(), "holdout": holdout})
    if errors and len(errors) == len(grid):
        raise RuntimeError(f"every trial of the sweep failed; first error: {errors[0]}")
    return SweepResult(path=path, results=results, best_config=best_config, best_score=best_score,
                       metric=options["metric"], mode=options["mode"], grid=grid, experiment=experiment,
                       holdout=holdout)


def _best_result(grid: Any, metric: str, mode: str, scope: str) -> Any:
    """The best trial's Result by ``scope`` over its reports, among the trials that did not fail
    (an errored trial, e.g. one the numerical guard stopped, has no result to rank); all of them
    when every trial failed."""
    finished = [r for r in grid if r.error is None and r.metrics_dataframe is not None
                and metric in r.metrics_dataframe.columns]
    if not finished:
        return grid.get_best_result(metric=metric, mode=mode, scope=scope)
    scores = [_scope_value(r.metrics_dataframe[metric], scope, mode) for r in finished]
    order = [i for i in range(len(finished)) if not np.isnan(scores[i])] or list(range(len(finished)))
    pick = (max if mode == "max" else min)(order, key=lambda i: scores[i] if not np.isnan(scores[i]) else 0.0)
    return finished[pick]


def _train_trial_resources(options: dict) -> tuple[dict, int]:
    """Per-worker resources and trial concurrency for trials that run Train inside.

    Each trial holds 0.01 CPU, so on a cluster of C CPUs a Train group of W
    one-CPU workers fits only if 0.01 + W <= C; where it would not, the workers
    get (C - 0.01) / W CPUs each rather than waiting forever.
    """
    import ray
    workers = int(options["train_workers"])
    total = float(ray.cluster_resources().get("CPU", 0.0))
    per_worker = options["cpus_per_worker"]
    if per_worker is None:
        per_worker = 1.0 if total >= workers + 0.01 else np.floor((total - 0.01) / workers * 100) / 100
        if per_worker <= 0:
            raise ExperimentError(f"sweep: train_workers = {workers} cannot fit on a cluster with {total} CPUs.",
                                  key="sweep.train_workers", value=workers, expected=f"<= {int(total)}")
    elif workers * per_worker + 0.01 > total:
        print(f"spikey sweep: note: {workers} workers x {per_worker} CPU + 0.01 for the trial exceed the cluster's "
              f"{total} CPUs; trials wait until the cluster grows.", flush=True)
    concurrent = max(1, int(total // (workers * per_worker + 0.01)))
    return {"CPU": float(per_worker)}, concurrent


def _current_values(experiment: Experiment, space: dict) -> dict:
    """The experiment's own values (or the Keys' defaults) of the searched keys: the sweep's first trial."""
    declared = experiment.declared_keys()
    out = {}
    for name in space:
        value = experiment.keys.get(name, getattr(declared.get(name), "default", None))
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def _trial_dirname(trial: Any) -> str:
    """Short trial folder names (Tune's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


def _scope_value(scores: pd.Series, scope: str, mode: str) -> float:
    values = scores.dropna().to_numpy(dtype=float)
    if not len(values):
        return float("nan")
    if scope == "last":
        return values[-1]
    if scope == "avg":
        return values.mean()
    if scope == "all":
        return values.max() if mode == "max" else values.min()
    if scope.startswith("last-") and scope.endswith("-avg"):
        return values[-int(scope.split("-")[1]):].mean()
    return values[-1]


def _validate_metric(experiment: Experiment, metric: str) -> None:
    """Refuse a sweep metric the runs will not report (checked on a one-episode, one-step dry run)."""
    runner = ShardRunner(experiment.replace(n_episodes=1, len_episode=1))
    columns = set(summarize(runner.play())) | {"episode", "episode_time_s"}
    if metric not in columns:
        from spikey.module import suggest
        raise ExperimentError(f"sweep: metric '{metric}' is not reported.{suggest(metric, columns)} Reported: "
                              f"{sorted(columns)}.", key="sweep.metric", value=metric, expected=str(sorted(columns)))


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """Every report of every trial of a Tune experiment folder as one DataFrame.

    One row per (trial, report): ``trial_id``, ``trial`` (its folder name),
    ``training_iteration``, the metrics, ``errored`` (the trial raised, e.g. the
    numerical guard stopped a lane: its reports are not results), and the trial's
    sampled keys as ``config/<key>`` columns. Reads Tune's ``result.json`` files, so it works
    without Ray running (and on a copied folder).
    """
    path = Path(path)
    rows = []
    for result_file in sorted(path.glob("*/result.json")):
        with open(result_file) as file:
            for number, line in enumerate(file, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    from spikey.experiment.state_file import FolderFileError
                    raise FolderFileError(f"{result_file} line {number} cannot be read: it is truncated or corrupt "
                                          f"({error}). Restore the file from a copy, or remove that trial's folder "
                                          f"from the sweep folder.", key=str(result_file), value=number,
                                          expected="one JSON record per line") from error
                config = record.pop("config", {}) or {}
                record = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
                record["trial"] = result_file.parent.name
                # Tune writes error.txt beside the results of a trial that raised (e.g. NonFiniteStateError)
                record["errored"] = (result_file.parent / "error.txt").exists()
                record.update({f"config/{k}": v for k, v in config.items()})
                rows.append(record)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    first = [c for c in ("trial_id", "trial", "training_iteration", "episode") if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def best_config(results: pd.DataFrame, metric: str, mode: str = "max", scope: str = "last") -> dict:
    """The sampled keys of the best trial in a ``load_results`` table (errored trials left out)."""
    if "errored" in results.columns and not results["errored"].all():
        results = results[~results["errored"].astype(bool)]
    per_trial = {trial: _scope_value(rows.sort_values("training_iteration")[metric], scope, mode)
                 for trial, rows in results.groupby("trial_id")}
    best = (max if mode == "max" else min)(per_trial, key=per_trial.get)
    row = results[results["trial_id"] == best].iloc[-1]
    return {k[len("config/"):]: _python(v) for k, v in row.items() if k.startswith("config/")}


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
