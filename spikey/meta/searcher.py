"""The genetic algorithm as a Ray Tune ``Searcher``: Tune runs the members, the GA breeds.

``GASearcher(population)`` hands Tune one trial config per member of the
current generation whose fitness is not cached (``suggest``) and collects each
trial's metric (``on_trial_result`` / ``on_trial_complete``). Once every
member of the generation has reported, the generation is completed
(``Population.complete``: fitness cache, members table, checkpoint) and the
next one is bred; until then ``suggest`` returns None and Tune waits. When the
GA's termination condition holds, ``suggest`` returns ``Searcher.FINISHED``.

Because the members run as ordinary Tune trials, Tune's schedulers apply:
ASHA stops poor members early. A trial's fitness is the mean of ``metric``
over its last ``last`` reports (one report per episode, each the mean over the
seeds), so a member stopped early is scored on the episodes it played.
A trial that fails scores NaN (ranked last).

``tune_population(population, ...)`` runs the whole search with the spikey
trainable (``spikey.meta.tune.make_trainable``) and returns the population.
Always give Tune a ``time_budget_s``: Tune waits forever on a searcher that
keeps answering None (e.g. when trials can never report).
"""
from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np

from spikey.meta.population import Population

try:  # ray is a dependency of spikey; the import is cheap next to Tune itself
    from ray.tune.search import Searcher
except ImportError:  # pragma: no cover
    Searcher = object  # type: ignore[misc,assignment]


class GASearcher(Searcher):
    """A Tune searcher asking a ``Population`` for configs and telling it the results.

    Parameters
    ----------
    population : Population
        The GA (its settings give the defaults below; its folder, if any, is
        checkpointed after every generation).
    metric, mode : str, optional
        The reported metric and whether higher is better (default: the population's).
    last : int, optional
        Reports at the end of a trial that count towards its fitness (default: the population's ``last``).

    Examples
    --------
    >>> pop = Population(None, {"x": (0, 4)}, size=2, n_generations=1, fitness=lambda g: [0.0] * len(g))
    >>> searcher = GASearcher(pop, metric="score", mode="max")
    >>> first, second = searcher.suggest("t1"), searcher.suggest("t2")
    >>> searcher.suggest("t3") is None                    # waits for the generation to report
    True
    >>> searcher.on_trial_complete("t1", {"score": 1.0}); searcher.on_trial_complete("t2", {"score": 2.0})
    >>> searcher.suggest("t4"), pop.best["fitness"]
    ('FINISHED', 2.0)
    """

    def __init__(self, population: Population, metric: str | None = None, mode: str | None = None,
                 last: int | None = None):
        metric = metric or population.settings["metric"]
        mode = mode or population.settings["mode"]
        super().__init__(metric=metric, mode=mode)
        self.population = population
        self.last = int(last or population.settings["last"])
        self._queue: list[dict] = []        # members of this generation not yet handed to Tune
        self._trials: dict[str, tuple] = {}  # trial id -> canonical genotype
        self._values: dict[str, list[float]] = {}
        self._results: dict[tuple, float] = {}
        self._expected: set = set()
        self._generation: int | None = None

    # -- Tune's interface ---------------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    def _start_generation(self) -> None:
        pending = self.population.pending()
        self._queue = list(pending)
        self._expected = {self.population.space.canonical(g) for g in pending}
        self._results = {}
        self._generation = self.population.generation

    def suggest(self, trial_id: str) -> dict | str | None:
        population = self.population
        while True:
            if population.done:
                return Searcher.FINISHED
            if self._generation != population.generation:
                self._start_generation()
            if self._queue:
                genotype = self._queue.pop(0)
                self._trials[trial_id] = population.space.canonical(genotype)
                self._values[trial_id] = []
                return dict(genotype)
            if not self._expected:          # every member's fitness was cached: nothing to run
                population.complete({})
                continue
            return None                     # wait until this generation's trials report

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        value = result.get(self.metric) if isinstance(result, dict) else None
        if trial_id not in self._values or value is None:
            return
        # Tune passes a trial's final report to on_trial_complete only, and may pass a report to
        # both: the iteration number keeps each report counted once.
        iteration = result.get("training_iteration", len(self._values[trial_id]) + 1)
        if not self._values[trial_id] or iteration > self._values[trial_id][-1][0]:
            self._values[trial_id].append((iteration, float(value)))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if isinstance(result, dict) and not error:
            self.on_trial_result(trial_id, result)
        canon = self._trials.pop(trial_id, None)
        values = [v for _, v in self._values.pop(trial_id, [])]
        if canon is None:
            return
        values = [v for v in values if not math.isnan(v)]
        fitness = float(np.mean(values[-self.last:])) if values and not error else float("nan")
        self._results[canon] = fitness
        if self._expected <= set(self._results):
            self.population.complete({c: self._results[c] for c in self._expected})

    # -- checkpoints --------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"population": self.population.state(), "queue": self._queue, "trials": self._trials,
                "values": self._values, "results": self._results, "expected": self._expected,
                "generation": self._generation, "metric": self._metric, "mode": self._mode, "last": self.last}

    def set_state(self, state: dict) -> None:
        self.population._load_state(state["population"])
        self._queue, self._trials, self._values = state["queue"], state["trials"], state["values"]
        self._results, self._expected, self._generation = state["results"], state["expected"], state["generation"]
        self._metric, self._mode, self.last = state["metric"], state["mode"], state["last"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.get_state(), file)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as file:
            self.set_state(pickle.load(file))


def tune_population(population: Population, *, scheduler: str | Any = "asha", grace_period: int = 1,
                    reduction_factor: float = 2, max_concurrent: int | None = None, time_budget_s: float = 600,
                    storage_path: str | None = None, name: str | None = None, cpus_per_trial: float = 1,
                    progress: bool = False) -> Population:
    """Run ``population``'s GA with its members as Tune trials (the spikey trainable) under ``scheduler``.

    ``time_budget_s`` bounds the whole search (Tune stops there even if the
    GA is not done). Returns the population (its ``best``, ``table()`` and folder).
    """
    import time
    from pathlib import Path
    import ray
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from spikey.meta.tune import _trial_dirname, make_scheduler, make_trainable
    experiment = population.experiment
    if experiment is None:
        raise ValueError("tune_population: the population has no experiment to run as trials.")
    if not ray.is_initialized():
        from spikey.meta.cluster import local_ray_environment
        local_ray_environment()
        ray.init(log_to_driver=progress)
    searcher: Any = GASearcher(population)
    if max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=int(max_concurrent))
    s = population.settings
    storage = Path(storage_path or "runs").absolute()
    name = name or f"{experiment.name}-evolve-tune-{time.strftime('%Y%m%d-%H%M%S')}"
    tuner = tune.Tuner(
        make_trainable(experiment, cpus_per_trial=cpus_per_trial),
        tune_config=tune.TuneConfig(metric=s["metric"], mode=s["mode"], search_alg=searcher,
                                    scheduler=make_scheduler(scheduler, max_t=experiment.n_episodes,
                                                             grace_period=grace_period,
                                                             reduction_factor=reduction_factor),
                                    num_samples=s["size"] * s["n_generations"], time_budget_s=time_budget_s,
                                    reuse_actors=True, trial_dirname_creator=_trial_dirname),
        run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=1 if progress else 0))
    tuner.fit()
    return population
