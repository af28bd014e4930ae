"""Running an Experiment on Ray Train workers (Train V2 ``TorchTrainer``).

Worker ``w`` of ``W`` simulates the seeds at positions ``shard_lanes(n, W)[w]``
(contiguous chunks of ``experiment.seeds``) as one batch, on its own device:
with ``use_gpu=True`` the torch backend on the worker's GPU, otherwise the
experiment's backend on the CPU. Lane b of a batch equals a single network
seeded with that seed, so the metrics of a seed are the same however the
seeds are split (bit for bit on numpy and torch-CPU).

Every episode each worker calls ``ray.train.report`` with the episode's mean
metrics over all seeds (summed across workers with ``torch.distributed``);
every ``checkpoint_every`` episodes (and at the end) the report carries a
checkpoint in which each worker stores its shard as a state file (network
state, game RNG state, next episode and its metric rows since its previous
checkpoint); once reported, the worker writes those rows as a metrics part of
the run folder (``RunFolder.append_metrics``), so a checkpoint costs the
state plus the new rows however long the run. A failed worker group is
restarted up to ``max_failures`` times and resumes from the latest checkpoint;
a killed driver resumes the same way when run again on the same run folder
(the Train run is stored under ``<run_dir>/ray_train/train``). A resumed worker
drops its parts after the checkpoint and rewrites the checkpoint's rows, so
each (episode, seed) appears exactly once. (Workers write into the run folder,
which holds the Train storage too: on a cluster it is on shared storage.)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, ExperimentError
from spikey.experiment.results import RunFolder, dump_shard, load_shards
from spikey.experiment.state_file import FolderFileError
from spikey.experiment.run import INDEX_COLUMNS, ShardRunner, prepare_run_folder

#: ``RunConfig.name`` of the Train run inside a run folder (one run per folder, so resuming is intended).
TRAIN_NAME = "train"


def shard_lanes(n_seeds: int, n_workers: int) -> list[list[int]]:
    """Contiguous chunks of ``range(n_seeds)``, one per worker, sizes differing by at most one.

    >>> shard_lanes(5, 2)
    [[0, 1, 2], [3, 4]]
    """
    if n_workers < 1 or n_workers > n_seeds:
        raise ExperimentError(f"num_workers = {n_workers} for {n_seeds} seeds; expected 1 <= num_workers <= "
                              f"number of seeds (each worker simulates at least one).", key="num_workers",
                              value=n_workers, expected=f"1..{n_seeds}")
    return [chunk.tolist() for chunk in np.array_split(np.arange(n_seeds), n_workers)]


def _global_means(frame: pd.DataFrame, device: Any) -> dict:
    """Mean over every worker's lanes of each numeric metric of one episode."""
    numeric = frame.select_dtypes(include=[np.number, bool])
    columns = sorted(c for c in numeric.columns if c not in INDEX_COLUMNS)
    sums = [float(numeric[c].sum()) for c in columns] + [float(len(frame))]
    import torch
    import torch.distributed as dist
    values = torch.tensor(sums, dtype=torch.float64, device=device)
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values)
    values = values.cpu().numpy()
    return {c: float(v / values[-1]) for c, v in zip(columns, values[:-1])}


def train_loop(config: dict) -> None:
    """The per-worker loop (``train_loop_per_worker``): play this worker's shard, report, checkpoint."""
    import ray.train
    import torch

    experiment: Experiment = config["experiment"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    lanes = shard_lanes(len(experiment.seeds), world)[rank]
    if config.get("use_gpu"):
        from ray.train.torch import get_device
        device, backend = str(get_device()), "torch"
    else:
        device, backend = "cpu", experiment.backend
        torch.set_num_threads(max(1, int(config.get("threads", 1))))
    runner = ShardRunner(experiment, lanes, device=device, backend=backend)
    folder = RunFolder(config["run_dir"])
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            shards = {tuple(s["lanes"]): s for s in load_shards(directory,
                                                                trust_pickle=config.get("trust_pickle", False))}
        if tuple(lanes) not in shards:
            raise ExperimentError(f"checkpoint has shards for lanes {sorted(shards)}; worker {rank} runs {lanes}: "
                                  f"resume with the same number of workers.", key="num_workers", value=world)
        runner.load(shards[tuple(lanes)])
        folder.restore_rows(shards[tuple(lanes)])
    else:
        folder.prune_metrics(0, lanes[0])  # parts of an attempt that never reached a checkpoint
    reduce_device = device if device.startswith("cuda") else "cpu"
    while not runner.done:
        started = time.perf_counter()
        frame = runner.play()
        episode = runner.next_episode - 1
        metrics = {"episode": episode, **_global_means(frame, reduce_device),
                   "episode_time_s": time.perf_counter() - started}
        if rank == 0 and config.get("progress"):
            shown = ", ".join(f"{k} {metrics[k]:.3g}" for k in ("reward", "game_reward", "accuracy")
                              if k in metrics)
            # Straight to the worker's stdout (which Ray forwards to the driver): Train's patched
            # print() would also copy it into its logger, so every line would show twice.
            sys.__stdout__.write(f"[spikey] episode {episode + 1}/{experiment.n_episodes}: {shown}\n")
            sys.__stdout__.flush()
        if runner.checkpoint_due():
            state = runner.state()
            with tempfile.TemporaryDirectory(prefix="spikey-ckpt-") as directory:
                dump_shard(directory, rank, state)
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory),
                                 checkpoint_dir_name=f"checkpoint_{runner.next_episode:06d}")
            folder.append_metrics(state["rows"])  # after the checkpoint holding them is stored
            runner.rows_saved()
        else:
            ray.train.report(metrics)


def _check_stored_workers(train_storage, num_workers: int) -> bool:
    """Refuse, before Ray starts, to resume a stored Train run with another number of workers;
    returns whether the stored run has a checkpoint."""
    checkpoints = sorted(train_storage.glob("checkpoint_*")) if train_storage.exists() else []
    for checkpoint in reversed(checkpoints):
        shards = list(checkpoint.glob("shard-*.npz")) or list(checkpoint.glob("shard-*.pkl"))
        if shards:
            if len(shards) != num_workers:
                raise ExperimentError(f"the Train run in {train_storage} was checkpointed by {len(shards)} "
                                      f"worker(s); resume it with num_workers={len(shards)} (got {num_workers}) "
                                      f"or use a new run folder.", key="num_workers", value=num_workers,
                                      expected=str(len(shards)))
            return True
    return False


def _complete_metrics(folder: RunFolder, next_episode: int, n_lanes: int) -> pd.DataFrame:
    """The run folder's metrics, checked to hold every (episode, lane) before ``next_episode`` once."""
    metrics = folder.read_metrics()
    if metrics is None:
        metrics = pd.DataFrame(columns=list(INDEX_COLUMNS))
    held = set(zip(metrics["episode"].tolist(), metrics["lane"].tolist()))
    missing = [(e, l) for e in range(next_episode) for l in range(n_lanes) if (e, l) not in held]
    if missing or len(metrics) != next_episode * n_lanes:
        raise FolderFileError(f"{folder.metrics_dir} lacks rows after the Train run (first missing: episode, lane "
                              f"{missing[0] if missing else None}; {len(metrics)} rows for {next_episode} episodes "
                              f"x {n_lanes} lanes); the workers could not write their parts there: check that the "
                              f"run folder is on storage every worker can write.", key=str(folder.metrics_dir),
                              value=len(metrics), expected=f"{next_episode * n_lanes} rows")
    return metrics


def shard_failures(shards: list[dict]) -> list[dict]:
    """The numerical guard's records of every shard, ``lane`` = position in ``experiment.seeds``."""
    return [{**record, "lane": int(shard["lanes"][int(record["lane"])])} for shard in shards
            for record in shard["network"]["network"].get("failures", [])]


def run_train(experiment: Experiment, run_dir: str | os.PathLike, *, num_workers: int = 2,
              use_gpu: bool = False, resources_per_worker: dict | None = None, max_failures: int = 3,
              address: str | None = None, progress: bool = True, callbacks: Sequence = (),
              validate: bool = True, runtime_env: dict | None = None, trust_pickle: bool = False) -> pd.DataFrame:
    """Run ``experiment`` as a Ray Train job of ``num_workers`` workers; returns the metrics table.

    Parameters
    ----------
    experiment : Experiment
    run_dir : path
        The run folder (``spikey.experiment.results``); the Train run's own
        storage lives in ``<run_dir>/ray_train``. Running again on the same
        folder resumes (or, if complete, just returns the metrics).
    num_workers : int
        Ray Train workers; each simulates a contiguous chunk of the seeds.
    use_gpu : bool
        One GPU per worker, torch backend on it.
    resources_per_worker : dict, optional
        e.g. ``{"CPU": 1}`` (Ray's default) or ``{"CPU": 0.5}`` to pack workers.
    max_failures : int
        Worker-group restarts allowed (``FailureConfig``); each resumes from the last checkpoint.
    address : str, optional
        Ray cluster to attach to (``"auto"``, ``"ray://..."``); default: the running
        instance or a new local one.
    progress : bool
        Print one line per episode (from worker 0).
    callbacks : sequence
        Ray Train ``UserCallback`` objects (e.g. Tune's ``TuneReportCallback``).
    validate : bool
        Check the spec on the driver before Ray starts.
    runtime_env : dict, optional
        Passed to ``ray.init`` when this call starts or attaches to Ray.
    trust_pickle : bool
        Open a run folder of an older version whose checkpoints are pickles (which can
        run code: only for folders from a trusted source).
    """
    if validate:
        experiment.validate()
    lanes = shard_lanes(len(experiment.seeds), num_workers)
    storage = RunFolder(run_dir).path / "ray_train"
    # A started Train run holds its checkpoints in its storage (the folder's own checkpoint comes at the end).
    stored = _check_stored_workers(storage / TRAIN_NAME, num_workers) or (storage / TRAIN_NAME).exists()
    folder, local_checkpoint = prepare_run_folder(experiment, run_dir, mode="train", workers=num_workers,
                                                  trust_pickle=trust_pickle, checkpoint_elsewhere=stored)
    status = folder.read_status()
    if status.get("complete") and status.get("episodes_done") == experiment.n_episodes:
        return folder.read_metrics()
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    if not ray.is_initialized():
        if address is None:  # a Ray started here: Spikey's defaults (see spikey.meta.cluster)
            from spikey.meta.cluster import local_ray_environment
            local_ray_environment()
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
    started = time.perf_counter()
    resume_from = None
    if local_checkpoint is not None and not (storage / TRAIN_NAME).exists():
        # A checkpoint written by an earlier run of this folder (e.g. copied back after a finished
        # Train run whose storage was removed): hand it to the workers.
        staging = folder.path / "ray_train_resume"
        staging.mkdir(exist_ok=True)
        for rank, shard in enumerate(local_checkpoint["shards"]):
            dump_shard(staging, rank, shard)
        resume_from = ray.train.Checkpoint.from_directory(str(staging))
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={"experiment": experiment, "use_gpu": use_gpu, "progress": progress,
                           "run_dir": str(folder.path), "trust_pickle": trust_pickle},
        scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu,
                                     resources_per_worker=resources_per_worker),
        run_config=RunConfig(name=TRAIN_NAME, storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=2),
                             callbacks=list(callbacks) or None),
        resume_from_checkpoint=resume_from)
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train run in {storage} finished without a checkpoint.")
    with result.checkpoint.as_directory() as directory:
        shards = load_shards(directory, trust_pickle=trust_pickle)
    if sorted(tuple(s["lanes"]) for s in shards) != sorted(tuple(l) for l in lanes):
        raise RuntimeError(f"the final checkpoint holds shards for lanes {[s['lanes'] for s in shards]}; "
                           f"expected {lanes}.")
    next_episode = min(int(s["next_episode"]) for s in shards)
    shards = sorted(shards, key=lambda s: s["lanes"][0])
    folder.write_checkpoint(next_episode, shards)
    for shard in shards:  # the last rows, in case a worker stopped before writing them
        folder.restore_rows(shard)
    metrics = _complete_metrics(folder, next_episode, len(experiment.seeds))
    folder.compact_metrics()
    folder.write_status(mode="train", workers=num_workers, use_gpu=use_gpu, episodes_done=next_episode,
                        n_episodes=experiment.n_episodes, complete=next_episode >= experiment.n_episodes,
                        wall_time_s=round(time.perf_counter() - started, 3),
                        train_storage=str(storage / TRAIN_NAME), failed_lanes=shard_failures(shards))
    return metrics
