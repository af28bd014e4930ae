"""Fitness of genotypes: an experiment's networks trained with each member's keys, batched.

``EvolveNetwork(experiment, metric=..., last=k)`` is the GA's fitness
function: called with a list of genotypes (flat key dicts), it returns one
fitness per genotype, the mean of ``metric`` (a column of the episode loop's
metrics: ``accuracy``, ``game_reward``, ``reward``, ...) over the last ``k``
episodes and every seed. Every member is evaluated on the same seeds (the
experiment's), so fitnesses are comparable and can be cached.

Batching (``mode="batched"``, the default): the members are grouped by the
values of their genes that cannot differ between the lanes of one network
(keys that are not ``per_member``, e.g. ``n_neurons`` or ``refractory_period``),
and each group of m members runs as ONE network of m*S lanes (S seeds): lane
``i*S + j`` is member i with seed j, and each per-member gene is passed as a
list of m*S values. A lane's numbers depend only on its seed and its own key
values, so member i's metrics equal those of the member run alone
(``mode="single"``, one network of S lanes per member; kept for comparison).
``max_lanes`` caps a batch (larger groups are cut into chunks of whole
members). ``mode="ray"`` sends the groups (or chunks) to Ray tasks.

Examples
--------
>>> from spikey.experiment import Experiment
>>> exp = Experiment.from_dict({
...     "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
...     "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random",
...               "synapses": "MSTDPET", "readout": "Threshold", "rewarder": "MatchExpected"},
...     "keys": {"n_inputs": 4, "n_neurons": 3, "n_outputs": 1, "processing_time": 5,
...              "state_rate_map": {"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0], "1,1": [.3, .3]},
...              "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 1.0,
...              "learning_rate": 0.01, "action_threshold": "mean",
...              "expected_value": "spikey.games:xor_gate"},
...     "seeds": 2, "n_episodes": 2, "len_episode": 8})
>>> fitness = EvolveNetwork(exp, metric="accuracy", last=1)
>>> members = [{"firing_threshold": 0.5, "n_neurons": 3}, {"firing_threshold": 2.0, "n_neurons": 3},
...            {"firing_threshold": 1.0, "n_neurons": 4}]
>>> batched = fitness(members)                      # 2 networks: 2 members x 2 seeds, 1 member x 2 seeds
>>> batched == EvolveNetwork(exp, metric="accuracy", last=1, mode="single")(members)
True
>>> fitness.last_batches
[4, 2]
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, ExperimentError
from spikey.module import ConfigError

MODES = ("batched", "single", "ray")
AGGREGATIONS = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}


def _group_value(value: Any) -> Any:
    """A hashable form of a gene value (group keys)."""
    if isinstance(value, (list, tuple)):
        return tuple(_group_value(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _group_value(v)) for k, v in value.items()))
    return value.item() if isinstance(value, np.generic) else value


def run_batch(experiment: Experiment, genotypes: Sequence[dict], per_member: Sequence[str],
              n_episodes: int | None = None) -> pd.DataFrame:
    """Play the experiment once for several members as one network of ``len(genotypes) * S`` lanes.

    ``genotypes`` must agree on every gene not in ``per_member`` (they become
    scalar keys); genes in ``per_member`` become lists with one value per lane.
    Returns the episode loop's rows with a ``member`` column (index into
    ``genotypes``); ``lane`` and ``seed`` as in the run.
    """
    from spikey.experiment.loop import run_episodes
    m, S = len(genotypes), len(experiment.seeds)
    first = genotypes[0]
    keys: dict[str, Any] = {}
    for name in first:
        if name in per_member and m > 1:
            keys[name] = [g[name] for g in genotypes for _ in range(S)]
        else:
            keys[name] = first[name]
    trial = experiment.with_keys(keys)
    # Lanes are positions in experiment.seeds, repeated once per member: member i, seed j -> lane i*S + j.
    lanes = [j for _ in range(m) for j in range(S)]
    network, game = trial.build(lanes)
    frame = run_episodes(network, game, n_episodes or experiment.n_episodes, experiment.len_episode,
                         callbacks=experiment.resolved_callbacks(), reset_network=experiment.reset_network)
    frame["member"] = frame["lane"].to_numpy() // S
    # the numerical guard's records (lane, seed, episode, step, parts, message) go along with the rows
    frame.attrs["failures"] = [{**record, "member": record["lane"] // S} for record in network.failures]
    return frame


def _ray_batch(experiment: Experiment, genotypes: Sequence[dict], per_member: Sequence[str],
               n_episodes: int | None) -> pd.DataFrame:
    return run_batch(experiment, genotypes, per_member, n_episodes)


def _failure_note(frame: pd.DataFrame, member: int) -> str | None:
    """Why ``member``'s run failed (lanes stopped by the numerical guard), or None."""
    if "failed" not in frame.columns:
        return None
    rows = frame[(frame["member"] == member) & frame["failed"]]
    if not len(rows):
        return None
    seeds = sorted(rows["seed"].unique().tolist())
    records = [r for r in frame.attrs.get("failures", []) if r.get("member") == member]
    where = (f": {', '.join(records[0]['parts'])} at episode {records[0].get('episode')}, game step "
             f"{records[0]['game_step']}" if records else f" in episode {int(rows['episode'].min())}")
    return f"run failed: non-finite state (NaN or inf) in seed(s) {seeds}{where}; given the worst fitness"


class EvolveNetwork:
    """Fitness of genotypes: train the experiment's networks with each member's keys.

    Parameters
    ----------
    experiment : Experiment
        The network, game, run length and seeds (every member runs on all of them).
    metric : str
        Metric column to score (``accuracy``, ``game_reward``, ``reward``, ...).
    last : int
        Episodes at the end whose values count (fitness = aggregation over them and the seeds).
    aggregation : str
        ``mean`` (default), ``median``, ``min`` or ``max`` over those episodes and seeds.
    mode : str
        ``batched`` (default), ``single`` (one network per member) or ``ray``.
    max_lanes : int, optional
        Largest batch (lanes); a bigger group is cut into chunks of whole members.
    n_episodes : int, optional
        Overrides the experiment's episode count.
    declared : dict, optional
        ``Experiment.declared_keys()`` if already known.
    """

    def __init__(self, experiment: Experiment, *, metric: str = "game_reward", last: int = 1,
                 aggregation: str = "mean", mode: str = "batched", max_lanes: int | None = None,
                 n_episodes: int | None = None, declared: dict | None = None, ray_cpus: float = 1):
        if mode not in MODES:
            raise ConfigError(f"EvolveNetwork: mode = {mode!r}; expected one of {list(MODES)}.", key="mode",
                              value=mode, expected=str(list(MODES)))
        if aggregation not in AGGREGATIONS:
            raise ConfigError(f"EvolveNetwork: aggregation = {aggregation!r}; expected one of "
                              f"{sorted(AGGREGATIONS)}.", key="aggregation", value=aggregation,
                              expected=str(sorted(AGGREGATIONS)))
        if n_episodes is not None:
            experiment = experiment.replace(n_episodes=int(n_episodes))
        if not isinstance(last, int) or not 1 <= last <= experiment.n_episodes:
            raise ConfigError(f"EvolveNetwork: last = {last!r}; expected an int in 1..{experiment.n_episodes} "
                              f"(the episodes played).", key="last", value=last,
                              expected=f"1 <= last <= {experiment.n_episodes}")
        if max_lanes is not None and (not isinstance(max_lanes, int) or max_lanes < len(experiment.seeds)):
            raise ConfigError(f"EvolveNetwork: max_lanes = {max_lanes!r}; expected an int >= the number of seeds "
                              f"({len(experiment.seeds)}).", key="max_lanes", value=max_lanes,
                              expected=f">= {len(experiment.seeds)}")
        self.experiment = experiment
        self.metric, self.last, self.aggregation, self.mode = metric, int(last), aggregation, mode
        self.max_lanes, self.ray_cpus = max_lanes, ray_cpus
        self.declared = experiment.declared_keys() if declared is None else declared
        #: Lanes of each network the last call built (for tests and reports).
        self.last_batches: list[int] = []
        #: Seconds the last call took.
        self.last_wall_time = 0.0
        #: Per genotype of the last call: why its run failed (numerical guard), or None.
        self.last_notes: list[str | None] = []

    def settings(self) -> dict:
        return {"metric": self.metric, "last": self.last, "aggregation": self.aggregation, "mode": self.mode,
                "max_lanes": self.max_lanes}

    def per_member_genes(self, names: Sequence[str]) -> list[str]:
        """The genes that may differ between lanes of one network (``per_member`` keys)."""
        return [n for n in names if getattr(self.declared.get(n), "per_member", False)]

    def validate(self, genotype: dict | None = None) -> "EvolveNetwork":
        """Check the experiment (with ``genotype``) builds and reports ``metric``; one short dry run."""
        trial = self.experiment.with_keys(genotype or {})
        trial.validate()
        probe = run_batch(trial.replace(seeds=trial.seeds[:1], n_episodes=1, len_episode=1), [{}], [], 1)
        if self.metric not in probe.columns:
            from spikey.module import suggest
            numeric = sorted(c for c in probe.select_dtypes(include=[np.number, bool]).columns
                             if c not in ("episode", "lane", "seed", "member"))
            raise ExperimentError(f"EvolveNetwork: metric '{self.metric}' is not reported.{suggest(self.metric, numeric)}"
                                  f" Reported: {numeric}.", key="metric", value=self.metric, expected=str(numeric))
        return self

    def groups(self, genotypes: Sequence[dict]) -> list[list[int]]:
        """Member indices per network: grouped by non-per-member genes, cut to ``max_lanes``; ``single``: one each."""
        if self.mode == "single":
            return [[i] for i in range(len(genotypes))]
        by_shape: dict[tuple, list[int]] = {}
        for i, genotype in enumerate(genotypes):
            fixed = self._fixed(genotype)
            by_shape.setdefault(fixed, []).append(i)
        S = len(self.experiment.seeds)
        per_batch = len(genotypes) if self.max_lanes is None else max(1, self.max_lanes // S)
        out = []
        for members in by_shape.values():
            out.extend(members[i:i + per_batch] for i in range(0, len(members), per_batch))
        return out

    def _fixed(self, genotype: dict) -> tuple:
        pm = set(self.per_member_genes(list(genotype)))
        return tuple(sorted((k, _group_value(v)) for k, v in genotype.items() if k not in pm))

    def __call__(self, genotypes: Sequence[dict]) -> list[float]:
        """One fitness per genotype (float; NaN where the metric is NaN for every counted episode).

        A member with a lane the numerical guard stopped (NaN or inf state) gets NaN and a
        note in ``last_notes`` naming the seeds, episode, step and parts; ``Population``
        gives it the worst fitness.
        """
        started = time.perf_counter()
        genotypes = [dict(g) for g in genotypes]
        if not genotypes:
            return []
        groups = self.groups(genotypes)
        per_member = self.per_member_genes(list(genotypes[0]))
        jobs = [[genotypes[i] for i in members] for members in groups]
        if self.mode == "ray":
            frames = self._run_ray(jobs, per_member)
        else:
            frames = [run_batch(self.experiment, job, per_member) for job in jobs]
        self.last_batches = [len(job) * len(self.experiment.seeds) for job in jobs]
        fitness = [float("nan")] * len(genotypes)
        notes: list[str | None] = [None] * len(genotypes)
        for members, frame in zip(groups, frames):
            if self.metric not in frame.columns:
                raise ExperimentError(f"EvolveNetwork: metric '{self.metric}' is not reported; columns: "
                                      f"{sorted(frame.columns)}.", key="metric", value=self.metric,
                                      expected=str(sorted(frame.columns)))
            episodes = sorted(frame["episode"].unique())[-self.last:]
            counted = frame[frame["episode"].isin(episodes)]
            for position, index in enumerate(members):
                notes[index] = _failure_note(frame, position)
                if notes[index] is not None:
                    continue  # a stopped lane's numbers are not results
                values = counted.loc[counted["member"] == position, self.metric].to_numpy(dtype=float)
                values = values[~np.isnan(values)]
                fitness[index] = float(AGGREGATIONS[self.aggregation](values)) if len(values) else float("nan")
        self.last_notes = notes
        self.last_wall_time = time.perf_counter() - started
        return fitness

    def _run_ray(self, jobs: list[list[dict]], per_member: list[str]) -> list[pd.DataFrame]:
        import ray
        if not ray.is_initialized():
            from spikey.meta.cluster import local_ray_environment
            local_ray_environment()
            ray.init(log_to_driver=False)
        remote = ray.remote(num_cpus=self.ray_cpus)(_ray_batch)
        experiment = ray.put(self.experiment)
        return ray.get([remote.remote(experiment, job, per_member, None) for job in jobs])
