"""Running an Experiment in this process, episode by episode, with checkpoints and resume.

``run_experiment(experiment, run_dir)`` plays all seeds as one batch here;
``spikey.experiment.train.run_train`` splits them over Ray Train workers. Both
drive ``ShardRunner``, the networks of some lanes (positions in
``experiment.seeds``) and their games, so a lane's numbers do not depend on
how the batch was split.

Examples
--------
>>> import tempfile
>>> from spikey.experiment.config import Experiment
>>> exp = Experiment.from_dict({
...     "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
...     "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random",
...               "synapses": "MSTDPET", "readout": "Threshold", "rewarder": "MatchExpected"},
...     "keys": {"n_inputs": 4, "n_neurons": 6, "n_outputs": 1, "processing_time": 10,
...              "state_rate_map": {"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0], "1,1": [.3, .3]},
...              "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 1.0,
...              "learning_rate": 0.01, "action_threshold": "mean",
...              "expected_value": "spikey.games:xor_gate"},
...     "seeds": 2, "n_episodes": 3, "len_episode": 4})
>>> metrics = run_experiment(exp, tempfile.mkdtemp(), progress=False)
>>> metrics[["episode", "lane", "seed"]].values.tolist()
[[0, 0, 0], [0, 1, 1], [1, 0, 0], [1, 1, 1], [2, 0, 0], [2, 1, 1]]
"""
from __future__ import annotations

import os
import re
import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, ExperimentError
from spikey.experiment.loop import run_episodes
from spikey.experiment.results import RunFolder, game_state, load_game_state, merge_metrics, plain_state
from spikey.experiment.state_file import FolderFileError

#: Metric columns that are bookkeeping, not measurements (left out of summaries).
INDEX_COLUMNS = ("episode", "lane", "seed")


class ShardRunner:
    """The networks and games for some lanes of an experiment, played one episode at a time.

    Parameters
    ----------
    experiment : Experiment
    lanes : sequence of int, optional
        Positions in ``experiment.seeds`` this shard simulates (all by default).
    device, backend : str, optional
        Override the experiment's (a Ray worker passes its GPU).
    callbacks : sequence
        Extra step callbacks ``f(record, network, game, step)``.
    """

    def __init__(self, experiment: Experiment, lanes: Sequence[int] | None = None, *,
                 device: str | None = None, backend: str | None = None, callbacks: Sequence = (),
                 keep_rows: bool = True):
        self.experiment = experiment
        self.lanes = list(range(len(experiment.seeds))) if lanes is None else [int(i) for i in lanes]
        self.seeds = [experiment.seeds[i] for i in self.lanes]
        self.network, self.game = experiment.build(self.lanes, device=device, backend=backend)
        self.callbacks = experiment.resolved_callbacks() + list(callbacks)
        self.next_episode = 0
        self.keep_rows = keep_rows
        #: Metric rows not yet written to a run folder (all of them when none is written), one frame per episode.
        self.rows: list[pd.DataFrame] = []

    @property
    def done(self) -> bool:
        return self.next_episode >= self.experiment.n_episodes

    def checkpoint_due(self) -> bool:
        """After the episode just played: every ``checkpoint_every`` episodes and at the end."""
        every = self.experiment.checkpoint_every
        return self.done or (every > 0 and self.next_episode % every == 0)

    def play(self) -> pd.DataFrame:
        """Play the next episode; returns its rows (``lane`` = position in ``experiment.seeds``)."""
        exp = self.experiment
        frame = run_episodes(self.network, self.game, 1, exp.len_episode, callbacks=self.callbacks,
                             reset_network=exp.reset_network, first_episode=self.next_episode)
        frame["lane"] = np.asarray(self.lanes)[frame["lane"].to_numpy()]
        if self.keep_rows:
            self.rows.append(frame)
        self.next_episode += 1
        return frame

    def metrics(self) -> pd.DataFrame:
        """The rows held here: every episode's, unless ``rows_saved`` handed them to a run folder."""
        return merge_metrics(self.rows)

    def rows_saved(self) -> None:
        """The held rows are in a run folder now: let them go (memory stays flat over a long run)."""
        self.rows = []

    def failures(self) -> list[dict]:
        """The lanes the numerical guard stopped (``Network.failures``), ``lane`` = position in
        ``experiment.seeds``: lane, seed, episode, game_step, network_steps, parts, message."""
        return [{**record, "lane": self.lanes[record["lane"]]} for record in getattr(self.network, "failures", [])]

    def state(self) -> dict:
        """Everything needed to continue exactly from here, as data (``state_file``): lanes, seeds,
        next episode, network and game state, and the rows held (None if none)."""
        rows = self.metrics()
        return {"lanes": list(self.lanes), "seeds": list(self.seeds), "next_episode": self.next_episode,
                "network": plain_state(self.network.state_dict()), "game": game_state(self.game),
                "rows": rows if len(rows) else None}

    def load(self, state: dict) -> None:
        """Continue from ``state()`` of a shard with the same lanes (its rows belong to the run folder:
        ``RunFolder.restore_rows``)."""
        if list(state["seeds"]) != list(self.seeds):
            raise ExperimentError(f"checkpoint shard holds seeds {list(state['seeds'])} but this shard runs "
                                  f"{self.seeds}; resume with the same seeds and number of workers.",
                                  key="seeds", value=self.seeds, expected=str(list(state["seeds"])))
        self.network.load_state_dict(state["network"])
        load_game_state(self.game, state["game"])
        self.next_episode = int(state["next_episode"])
        self.rows = []


def summarize(frame: pd.DataFrame) -> dict:
    """Mean over lanes of every numeric metric column of one episode's rows (for reports)."""
    numeric = frame.select_dtypes(include=[np.number, bool])
    return {column: float(numeric[column].mean()) for column in numeric.columns
            if column not in INDEX_COLUMNS}


def _comparable(config: dict) -> dict:
    """The parts of a config that must match for a run folder to be resumed (not run lengths).

    Values only described by their repr (lambdas, local functions) are compared without
    their memory addresses, which differ between processes.
    """
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return re.sub(r" at 0x[0-9a-fA-F]+", "", value) if isinstance(value, str) else value
    return {k: clean(v) for k, v in config.items()
            if k not in ("n_episodes", "checkpoint_every", "sweep", "base_dir", "name")}


def prepare_run_folder(experiment: Experiment, run_dir: str | os.PathLike, *, resume: bool = True,
                       mode: str = "local", workers: int = 1, trust_pickle: bool = False,
                       checkpoint_elsewhere: bool = False) -> tuple[RunFolder, dict | None]:
    """Create or reopen a run folder; returns it and its checkpoint (None for a fresh run).

    A folder holding a different experiment (other keys, parts, seeds, ...) is
    refused rather than mixed; ``resume=False`` refuses any existing checkpoint.
    Damaged or missing files are refused naming the file (``FolderFileError``):
    metrics without a checkpoint (unless ``checkpoint_elsewhere``: a Ray Train run's
    own storage holds it) would restart at episode 0 and record episodes twice.
    A checkpoint of an older version (a pickle) loads only with ``trust_pickle``
    and is then rewritten as data (``RunFolder.migrate``).
    """
    folder = RunFolder(run_dir)
    config = experiment.to_dict()
    existing = folder.read_config()
    checkpoint = folder.read_checkpoint(trust_pickle=trust_pickle)
    if checkpoint is not None or existing is not None:
        if not resume:
            raise ExperimentError(f"run folder {folder.path} already holds a run; choose a new folder or "
                                  f"resume it.", key="run_dir", value=str(folder.path), expected="a new folder")
        if existing is None:
            raise FolderFileError(f"run folder {folder.path} has a checkpoint but no config.json, so it cannot be "
                                  f"checked to hold this experiment; restore config.json from a copy, or start a "
                                  f"new folder.", key=str(folder.path / "config.json"), value=None,
                                  expected="config.json")
        if _comparable(existing) != _comparable(config):
            differing = sorted(k for k in set(_comparable(existing)) | set(_comparable(config))
                               if _comparable(existing).get(k) != _comparable(config).get(k))
            detail = differing[0]
            if detail == "keys":
                keys = sorted(k for k in set(existing["keys"]) | set(config["keys"])
                              if existing["keys"].get(k) != config["keys"].get(k))
                detail = f"keys ({', '.join(keys[:5])})"
            raise ExperimentError(f"run folder {folder.path} holds a different experiment ({detail} differ); "
                                  f"choose a new folder.", key="run_dir", value=str(folder.path),
                                  expected="a folder of the same experiment")
        status = folder.read_status()
        if checkpoint is not None and status.get("workers", workers) != workers:
            raise ExperimentError(f"run folder {folder.path} was run with {status.get('workers')} worker(s); "
                                  f"resume it with the same number (here {workers}).", key="workers",
                                  value=workers, expected=str(status.get("workers")))
    if checkpoint is None and not checkpoint_elsewhere and folder.has_metrics():
        raise FolderFileError(f"run folder {folder.path} has metrics but no checkpoint ({folder.checkpoint_path.name} "
                              f"is missing): resuming would restart at episode 0 and record episodes twice. "
                              f"Restore {folder.checkpoint_path.name} from a copy, or start a new folder.",
                              key=str(folder.checkpoint_path), value=None, expected="the run's checkpoint")
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_config(config)
    if checkpoint is not None and checkpoint["legacy"]:
        folder.migrate(checkpoint)
    return folder, checkpoint


def run_experiment(experiment: Experiment, run_dir: str | os.PathLike | None = None, *,
                   progress: bool = True, callbacks: Sequence = (), resume: bool = True,
                   validate: bool = True, trust_pickle: bool = False,
                   on_episode: Callable[[int, pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Run every seed of ``experiment`` as one batch in this process.

    Parameters
    ----------
    experiment : Experiment
    run_dir : path, optional
        Run folder for ``config.json``, ``metrics/``, ``checkpoint.npz`` and
        ``status.json`` (``spikey.experiment.results``); an interrupted run in it
        resumes from its last checkpoint.
        ``status.json`` lists in ``failed_lanes`` the lanes the numerical guard stopped
        (NaN or inf state; see ``spikey.experiment.loop``): lane, seed, episode, game
        step, network steps, parts and message. The run still plays to its end.
    progress : bool
        Show a progress bar (tqdm) with the latest episode's mean reward.
    callbacks : sequence
        Step callbacks adding custom metric columns (``spikey.experiment.loop``).
    resume : bool
        Continue a run found in ``run_dir`` (False: refuse to touch it).
    validate : bool
        Check the spec first (``Experiment.validate``).
    trust_pickle : bool
        Open a run folder of an older version whose checkpoint is a pickle (which
        can run code: only for folders from a trusted source); it is rewritten as data.
    on_episode : callable, optional
        ``f(episode, rows)`` after each episode.

    Returns
    -------
    pandas.DataFrame
        One row per episode and lane (see ``run_episodes``), ``lane`` being the
        position in ``experiment.seeds``; ``failed`` marks the rows of stopped lanes.
    """
    if validate:
        experiment.validate()
    started = time.perf_counter()
    runner = ShardRunner(experiment, callbacks=callbacks)
    folder = None
    if run_dir is not None:
        folder, checkpoint = prepare_run_folder(experiment, run_dir, resume=resume, trust_pickle=trust_pickle)
        if checkpoint is not None:
            shard = checkpoint["shards"][0]
            runner.load(shard)
            folder.restore_rows(shard)  # a crash may have come between the checkpoint and its part
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=experiment.n_episodes, initial=runner.next_episode, unit="episode",
                   desc=experiment.name)
    try:
        while not runner.done:
            frame = runner.play()
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in summarize(frame).items()
                                 if k in ("reward", "game_reward", "accuracy")})
            if on_episode is not None:
                on_episode(runner.next_episode - 1, frame)
            if folder is not None and runner.checkpoint_due():
                save_local(folder, runner, started)
    finally:
        if bar is not None:
            bar.close()
    if folder is None:
        return runner.metrics()
    if not folder.read_status().get("complete"):
        save_local(folder, runner, started)
    metrics = folder.read_metrics()
    return metrics if metrics is not None else runner.metrics()


def save_local(folder: RunFolder, runner: ShardRunner, started: float) -> None:
    """Checkpoint (with the rows since the previous one), then those rows as a metrics part, then the
    status of a one-shard run, each atomically. Costs the state plus the new rows, however long the run;
    at the end the parts are merged into one (``RunFolder.compact_metrics``)."""
    state = runner.state()
    folder.write_checkpoint(runner.next_episode, [state])
    folder.append_metrics(state["rows"])
    runner.rows_saved()
    if runner.done:
        folder.compact_metrics()
    folder.write_status(mode="local", workers=1, episodes_done=runner.next_episode,
                        n_episodes=runner.experiment.n_episodes, complete=runner.done,
                        wall_time_s=round(time.perf_counter() - started, 3), failed_lanes=runner.failures(),
                        engine=runner.network.engine, engine_reason=runner.network.engine_reason)


def evaluate(experiment: Experiment, seeds: Sequence[int] | int | None = None, *, metric: str = "game_reward",
             last: int = 1) -> float:
    """Mean of ``metric`` over the last ``last`` episodes and all lanes of a fresh run on ``seeds``.

    For comparing configurations on held-out seeds (e.g. a sweep's best against the default).
    """
    if seeds is not None:
        experiment = experiment.replace(seeds=seeds)
    metrics = run_experiment(experiment, progress=False)
    episodes = sorted(metrics["episode"].unique())[-last:]
    return float(metrics.loc[metrics["episode"].isin(episodes), metric].mean())
