"""The genetic algorithm: a population of genotypes over an experiment's keys, resumable.

``Population(experiment, constraints, size=..., ...)`` holds one generation of
genotypes (flat key dicts, see ``spikey.meta.genotype``). ``step()``
evaluates it and breeds the next; ``run()`` steps until a termination
condition holds (``n_generations`` generations evaluated, the best fitness
reaching ``target_fitness``, or ``time_budget_s`` spent).

Fitness comes from ``spikey.meta.metagame.EvolveNetwork`` (every member
trained on the experiment's seeds, batched), or from any callable
``fitness(list of genotypes) -> list of floats``. A **fitness cache** keyed by
the canonical genotype (sorted, floats rounded) holds every fitness ever
computed, so a genotype is evaluated once per search: repeats in a generation
and members seen before are marked ``cached`` and cost nothing. (The old
Spikey's cache appended a copy on every hit and was lost in worker
processes; here it is one dict in the driver, checkpointed with the rest.)

Breeding (``size`` = n): members are ranked by fitness (a member whose run
failed has the worst fitness, -inf or +inf by ``mode``, and a ``note``: it ranks last);
those of ``age >= max_age`` are not eligible as survivors or parents (unless
none is younger). The next generation is

* ``round(n * survivor_fraction)`` elites: the best eligible members, unchanged, ``age + 1``;
* ``round(n * crossover_fraction)`` children of crossover (``"uniform"`` or
  ``"one_point"``) of two selected parents;
* ``round(n * immigrant_fraction)`` random newcomers;
* the rest mutants of one selected parent each (``mutation_fraction`` is the
  share left to them; the four fractions are normalised to sum to 1).

Parents are selected by ``"truncation"`` (uniformly from the best
``parent_fraction`` of the eligible members) or ``"tournament"`` (the best of
``tournament_size`` eligible members drawn at random). New children are redrawn
(up to 20 times) while they repeat a member of the new generation or a
genotype already in the cache, so slots go to new points. All randomness comes
from one ``numpy.random.Generator`` seeded with ``seed``.

GA folder (``folder=``; the shared result-folder format)::

    config.json      {"kind": "evolve", "experiment", "constraints", "settings", "seed"}
    members.parquet  one row per member per generation: generation, member, fitness, age, cached, genes
    population.npz   the whole GA state after the last completed generation (atomic; a state file,
                     ``spikey.experiment.state_file``: loads as data)
    status.json      {"kind": "evolve", "state": "running" | "done", "generation", "best_fitness", ...}
    best.json        {"fitness", "generation", "keys"}

Everything is rewritten from ``population.npz``'s state after every
generation, so a crash at any moment leaves a consistent folder, and
``Population.resume(folder)`` continues from the last completed generation:
no evaluated member is lost or recorded twice, and the run ends exactly as an
uninterrupted one with the same seed. A GA folder of an older version holds
``population.pkl`` (a pickle, which can run code when loaded): ``resume``
refuses it unless ``trust_pickle=True`` (``spikey evolve --resume DIR
--trust-pickle``), then rewrites it as ``population.npz``.

Examples
--------
>>> def fitness(genotypes):                      # a toy fitness: peak at x = 3, y = "b"
...     return [-(g["x"] - 3) ** 2 + (g["y"] == "b") for g in genotypes]
>>> pop = Population(None, {"x": (0, 10), "y": ["a", "b", "c"]}, size=8, seed=1, fitness=fitness,
...                  n_generations=6)
>>> pop.run().best["fitness"], pop.best["keys"]
(1.0, {'x': 3, 'y': 'b'})
>>> table = pop.table()
>>> len(table), bool(table["cached"].any()), list(table.columns[:5])
(48, True, ['generation', 'member', 'fitness', 'age', 'cached'])
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, ExperimentError
from spikey.experiment.results import read_json, read_table, write_json, write_table
from spikey.experiment.state_file import FolderFileError, StateFileError, load_pickle, read_state, write_state
from spikey.meta.genotype import CROSSOVERS, GenotypeSpace
from spikey.module import ConfigError

SELECTIONS = ("truncation", "tournament")
STATE_FORMAT = 1
#: The GA state file of a GA folder, its ``state_file`` kind, and the pickle older versions wrote.
STATE_FILE, STATE_KIND, LEGACY_STATE_FILE = "population.npz", "population", "population.pkl"
TRUST_GA = ("pass --trust-pickle (spikey evolve --resume DIR --trust-pickle; Population.resume(folder, "
            "trust_pickle=True) in Python)")
#: Test hook: seconds to sleep at the start of each generation's evaluation (lets a test kill a run mid-generation).
DELAY_ENV = "SPIKEY_EVOLVE_DELAY_S"

#: GA settings and their defaults (``config.json``'s "settings"; the ``evolve:`` section of a config file).
DEFAULTS = {
    "size": 16, "selection": "truncation", "survivor_fraction": 0.125, "mutation_fraction": 0.5,
    "crossover_fraction": 0.25, "immigrant_fraction": 0.125, "parent_fraction": 0.5, "tournament_size": 3,
    "max_age": None, "crossover": "uniform", "mutation_scale": 0.2, "mutation_genes": 1,
    "mode": "max", "n_generations": 10, "target_fitness": None, "time_budget_s": None,
    "metric": "game_reward", "last": 1, "aggregation": "mean", "evaluation": "batched", "max_lanes": None,
}
#: Settings a resumed run may change (termination and how fitness is computed, not what it is).
RESUME_OVERRIDES = ("n_generations", "target_fitness", "time_budget_s", "evaluation", "max_lanes")


def check_settings(settings: Mapping[str, Any]) -> dict:
    """``settings`` over ``DEFAULTS``, each checked; raises a ``ConfigError`` naming the setting."""
    from spikey.module import suggest
    unknown = [k for k in settings if k not in DEFAULTS]
    if unknown:
        raise ConfigError(f"Population: unknown setting '{unknown[0]}'.{suggest(unknown[0], DEFAULTS)} "
                          f"Settings: {sorted(DEFAULTS)}.", key=unknown[0], value=settings[unknown[0]],
                          expected="a GA setting")
    out = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None or k in ("max_age", "target_fitness",
                                                                                      "time_budget_s", "max_lanes")}}

    def fail(name, expected):
        raise ConfigError(f"Population: {name} = {out[name]!r}; expected {expected}.", key=name, value=out[name],
                          expected=expected)

    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    def is_num(v):
        return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)

    if not is_int(out["size"]) or out["size"] < 2:
        fail("size", "an int >= 2")
    if out["selection"] not in SELECTIONS:
        fail("selection", f"one of {list(SELECTIONS)}")
    if out["crossover"] not in CROSSOVERS:
        fail("crossover", f"one of {list(CROSSOVERS)}")
    fractions = ("survivor_fraction", "mutation_fraction", "crossover_fraction", "immigrant_fraction")
    for name in fractions + ("parent_fraction",):
        if not is_num(out[name]) or not 0 <= out[name] <= 1:
            fail(name, "a number in [0, 1]")
    if sum(out[n] for n in fractions) <= 0:
        fail("mutation_fraction", "fractions that do not all equal 0")
    if out["parent_fraction"] <= 0:
        fail("parent_fraction", "a number in (0, 1]")
    if not is_int(out["tournament_size"]) or out["tournament_size"] < 1:
        fail("tournament_size", "an int >= 1")
    if out["max_age"] is not None and (not is_int(out["max_age"]) or out["max_age"] < 1):
        fail("max_age", "an int >= 1 or None")
    if out["mutation_scale"] is not None and (not is_num(out["mutation_scale"]) or out["mutation_scale"] <= 0):
        fail("mutation_scale", "a number > 0, or None (resample the gene)")
    if not is_int(out["mutation_genes"]) or out["mutation_genes"] < 1:
        fail("mutation_genes", "an int >= 1")
    if out["mode"] not in ("max", "min"):
        fail("mode", "'max' or 'min'")
    if not is_int(out["n_generations"]) or out["n_generations"] < 1:
        fail("n_generations", "an int >= 1")
    if out["target_fitness"] is not None and not is_num(out["target_fitness"]):
        fail("target_fitness", "a number or None")
    if out["time_budget_s"] is not None and (not is_num(out["time_budget_s"]) or out["time_budget_s"] <= 0):
        fail("time_budget_s", "a number > 0 or None")
    if not is_int(out["last"]) or out["last"] < 1:
        fail("last", "an int >= 1")
    return {k: (int(v) if is_int(v) else v) for k, v in out.items()}


def _json_ready(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def members_frame(rows: list[dict], genes: Sequence[str]) -> pd.DataFrame:
    """The members table: fixed columns, then one column per gene (mixed-type genes as strings).

    ``note`` says why a member got the worst fitness (its run failed, e.g. stopped by the
    numerical guard, or its fitness was NaN); empty otherwise.
    """
    columns = ["generation", "member", "fitness", "age", "cached", "note"] + list(genes)
    frame = pd.DataFrame([{"note": "", **row} for row in rows], columns=columns)
    if len(frame):
        frame = frame.astype({"generation": int, "member": int, "fitness": float, "age": int, "cached": bool,
                              "note": str})
    for gene in genes:
        kinds = {type(v) for v in frame[gene]}
        numeric = all(issubclass(k, (int, float, np.number)) and not issubclass(k, bool) for k in kinds)
        if len(kinds) > 1 and not numeric:  # parquet needs one type per column
            frame[gene] = frame[gene].map(lambda v: v if isinstance(v, str) else json.dumps(v))
    return frame


class Population:
    """A genetic algorithm over some of an experiment's keys (see the module docstring).

    Parameters
    ----------
    experiment : Experiment or None
        What each member runs (None with a custom ``fitness``).
    constraints : dict
        ``key -> spec`` (``spikey.meta.genotype``); checked against the experiment's Keys.
    size, selection, survivor_fraction, mutation_fraction, crossover_fraction, immigrant_fraction,
    parent_fraction, tournament_size, max_age, crossover, mutation_scale, mutation_genes :
        Breeding (``DEFAULTS``; module docstring).
    mode : str
        ``"max"`` or ``"min"``: whether higher fitness is better.
    n_generations, target_fitness, time_budget_s :
        Termination: generations to evaluate; stop early once the best fitness
        reaches the target, or once this many seconds were spent (over resumes).
    metric, last, aggregation, evaluation, max_lanes :
        Fitness by ``EvolveNetwork``: mean (aggregation) of ``metric`` over the last
        ``last`` episodes and all seeds; ``evaluation`` = batched | single | ray.
    seed : int
        Seed of the GA's Generator (initial population, selection, variation).
    fitness : callable, optional
        ``f(list of genotypes) -> list of floats`` instead of ``EvolveNetwork``.
    folder : path, optional
        GA folder, checkpointed after every generation (must not hold a GA yet:
        continue one with ``Population.resume``).
    initial : list of dict, optional
        Genotypes for the first generation (completed with random ones).
    progress : bool or callable
        Print (or pass to the callable) one line per generation.
    file_form : bool
        Constraints come from YAML/JSON (``[low, high]`` is a range).
    """

    def __init__(self, experiment: Experiment | None, constraints: Mapping[str, Any], *, seed: int = 0,
                 fitness: Callable[[list[dict]], Sequence[float]] | None = None,
                 folder: str | os.PathLike | None = None, initial: Sequence[dict] | None = None,
                 progress: bool | Callable[[str], None] = False, file_form: bool = False,
                 _state: dict | None = None, **settings: Any):
        if experiment is None and fitness is None:
            raise ConfigError("Population: give an experiment (fitness by EvolveNetwork) or a fitness function.",
                              key="experiment", value=None, expected="an Experiment or fitness=")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"Population: seed = {seed!r}; expected an int >= 0.", key="seed", value=seed,
                              expected="int >= 0")
        self.settings = check_settings(settings)
        self.experiment = experiment
        self.seed = int(seed)
        declared = experiment.declared_keys() if experiment is not None else None
        self.space = GenotypeSpace(constraints, declared, file_form=file_form)
        self.fitness = fitness
        if fitness is None:
            from spikey.meta.metagame import EvolveNetwork
            s = self.settings
            self.fitness = EvolveNetwork(experiment, metric=s["metric"], last=s["last"],
                                         aggregation=s["aggregation"], mode=s["evaluation"],
                                         max_lanes=s["max_lanes"], declared=declared)
        self.folder = Path(folder).absolute() if folder is not None else None
        self._progress = progress
        self._generation_started: float | None = None
        if _state is not None:
            self._load_state(_state)
            return
        if self.folder is not None and any((self.folder / name).exists() for name in (STATE_FILE, LEGACY_STATE_FILE)):
            raise ExperimentError(f"GA folder {self.folder} already holds a population; continue it with "
                                  f"Population.resume (spikey evolve --resume) or choose a new folder.",
                                  key="folder", value=str(self.folder), expected="a new folder")
        self.rng = np.random.default_rng(self.seed)
        self.generation = 0           # index of the generation held in self.genotypes
        self.genotypes: list[dict] = []
        for genotype in initial or ():
            self.genotypes.append(self.space.check(dict(genotype)))
        self.genotypes = self.genotypes[:self.size]
        while len(self.genotypes) < self.size:
            self.genotypes.append(self.space.sample(self.rng))
        self.ages = [0] * self.size
        self.cache: dict[tuple, float] = {}
        self.notes: dict[tuple, str] = {}   # canonical genotype -> why its run failed (worst fitness)
        self.history: list[dict] = []
        self.evaluated: list[dict] = []    # the last evaluated generation: genotype, age, fitness, cached
        self.best: dict = {"fitness": None, "generation": None, "keys": None}
        self.elapsed_s = 0.0
        self.done = False
        self.reason: str | None = None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json(self.folder / "config.json", self.config())
            self.checkpoint()

    # -- properties --------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.settings["size"]

    @property
    def completed(self) -> int:
        """Generations evaluated so far."""
        return len({row["generation"] for row in self.history})

    def config(self) -> dict:
        """``config.json`` of the GA folder."""
        return {"kind": "evolve",
                "experiment": self.experiment.to_dict() if self.experiment is not None else None,
                "constraints": self.space.portable(), "settings": {k: _json_ready(v) for k, v in self.settings.items()},
                "seed": self.seed,
                "fitness": "EvolveNetwork" if self.experiment is not None and _is_evolve_network(self.fitness)
                else getattr(self.fitness, "__qualname__", type(self.fitness).__name__)}

    @property
    def worst_fitness(self) -> float:
        """The fitness of a member whose run failed: -inf when maximising, +inf when minimising."""
        return -math.inf if self.settings["mode"] == "max" else math.inf

    def _better(self, a: float, b: float | None) -> bool:
        if not math.isfinite(a):  # NaN, or the worst fitness of a failed member: never the best
            return False
        if b is None or (isinstance(b, float) and not math.isfinite(b)):
            return True
        return a > b if self.settings["mode"] == "max" else a < b

    def _reached(self, value: float | None) -> bool:
        target = self.settings["target_fitness"]
        if target is None or value is None or math.isnan(value):
            return False
        return value >= target if self.settings["mode"] == "max" else value <= target

    # -- one generation, in two halves (the Tune searcher calls them separately) -------------------
    def pending(self) -> list[dict]:
        """The genotypes of this generation whose fitness is unknown (distinct, in member order)."""
        if self._generation_started is None:
            self._generation_started = time.perf_counter()
        seen, out = set(), []
        for genotype in self.genotypes:
            canon = self.space.canonical(genotype)
            if canon not in self.cache and canon not in seen:
                seen.add(canon)
                out.append(genotype)
        return out

    def complete(self, fitness: Sequence[float] | Mapping[tuple, float],
                 notes: Sequence[str | None] | None = None) -> None:
        """Record the fitness of ``pending()`` (a list in its order, or canonical genotype -> fitness),
        then breed the next generation and checkpoint.

        ``notes`` (in ``pending()`` order) say why a member's run failed. A failed member, or one
        whose fitness is NaN, gets ``worst_fitness`` and a note in its table row, never NaN.
        """
        pending = self.pending()
        if isinstance(fitness, Mapping):
            values = {canon: float(f) for canon, f in fitness.items()}
        else:
            fitness = list(fitness)
            if len(fitness) != len(pending):
                raise ValueError(f"Population.complete: {len(fitness)} fitness values for {len(pending)} pending "
                                 f"genotypes.")
            values = {self.space.canonical(g): float(f) for g, f in zip(pending, fitness)}
        missing = [g for g in pending if self.space.canonical(g) not in values]
        if missing:
            raise ValueError(f"Population.complete: no fitness for {missing[0]!r}.")
        for genotype, note in zip(pending, notes or []):
            if note:
                canon = self.space.canonical(genotype)
                values[canon] = self.worst_fitness
                self.notes[canon] = str(note)
        for canon, value in values.items():
            if math.isnan(value):
                values[canon] = self.worst_fitness
                self.notes[canon] = f"fitness was NaN ({self.settings['metric']} not a number in every counted " \
                                    f"episode); given the worst fitness"
        known_before = set(self.cache)
        self.cache.update(values)
        seen = set()
        self.evaluated = []
        for member, genotype in enumerate(self.genotypes):
            canon = self.space.canonical(genotype)
            value = self.cache[canon]
            cached = canon in known_before or canon in seen
            seen.add(canon)
            row = {"generation": self.generation, "member": member, "fitness": value,
                   "age": self.ages[member], "cached": cached, "note": self.notes.get(canon, ""), **genotype}
            self.history.append(row)
            self.evaluated.append({"genotype": dict(genotype), "age": self.ages[member], "fitness": value,
                                   "cached": cached})
            if self._better(value, self.best["fitness"]):
                self.best = {"fitness": value, "generation": self.generation, "keys": dict(genotype)}
        started = self._generation_started or time.perf_counter()
        self.elapsed_s += time.perf_counter() - started
        self._generation_started = None
        completed = self.generation + 1
        fitnesses = [m["fitness"] for m in self.evaluated]
        self._report(completed, fitnesses, len(values))
        if completed >= self.settings["n_generations"]:
            self.done, self.reason = True, f"{completed} generations"
        elif self._reached(self.best["fitness"]):
            self.done, self.reason = True, f"target fitness {self.settings['target_fitness']} reached"
        elif self.settings["time_budget_s"] is not None and self.elapsed_s >= self.settings["time_budget_s"]:
            self.done, self.reason = True, f"time budget {self.settings['time_budget_s']} s spent"
        if not self.done:
            self.genotypes, self.ages = self._breed()
            self.generation += 1
        self.checkpoint()

    def step(self) -> "Population":
        """Evaluate the current generation (cached fitness where known) and breed the next."""
        if self.done:
            return self
        self._write_status("running")
        pending = self.pending()
        delay = float(os.environ.get(DELAY_ENV, "0") or 0)
        if delay > 0:
            time.sleep(delay)
        values = list(self.fitness(pending)) if pending else []
        notes = getattr(self.fitness, "last_notes", None) if pending else None
        self.complete(values, notes=notes if notes is not None and len(notes) == len(pending) else None)
        return self

    def run(self) -> "Population":
        """Step until a termination condition holds; returns self."""
        while not self.done:
            self.step()
        return self

    # -- breeding -----------------------------------------------------------------------------------
    def _ranking(self) -> list[int]:
        """Member indices of the evaluated generation, best first (NaN last, ties by index)."""
        sign = -1.0 if self.settings["mode"] == "max" else 1.0
        fitness = [m["fitness"] for m in self.evaluated]
        return sorted(range(len(fitness)), key=lambda i: (math.isnan(fitness[i]),
                                                          0.0 if math.isnan(fitness[i]) else sign * fitness[i], i))

    def _breed(self) -> tuple[list[dict], list[int]]:
        s, n, rng = self.settings, self.size, self.rng
        ranking = self._ranking()
        members = self.evaluated
        eligible = [i for i in ranking if s["max_age"] is None or members[i]["age"] < s["max_age"]] or ranking
        names = ("survivor_fraction", "crossover_fraction", "immigrant_fraction", "mutation_fraction")
        total = sum(s[k] for k in names)
        n_elite = min(int(round(n * s["survivor_fraction"] / total)), len(eligible), n)
        n_cross = min(int(round(n * s["crossover_fraction"] / total)), n - n_elite)
        n_immigrant = min(int(round(n * s["immigrant_fraction"] / total)), n - n_elite - n_cross)
        new: list[dict] = []
        ages: list[int] = []
        seen: set = set()
        for i in eligible:
            if len(new) >= n_elite:
                break
            canon = self.space.canonical(members[i]["genotype"])
            if canon not in seen:
                seen.add(canon)
                new.append(dict(members[i]["genotype"]))
                ages.append(members[i]["age"] + 1)
        pool = eligible[:max(1, int(round(s["parent_fraction"] * len(eligible))))]
        rank_of = {i: r for r, i in enumerate(ranking)}

        def select() -> dict:
            if s["selection"] == "truncation":
                return members[pool[int(rng.integers(len(pool)))]]["genotype"]
            k = min(s["tournament_size"], len(eligible))
            drawn = rng.choice(len(eligible), size=k, replace=False)
            return members[min((eligible[int(j)] for j in drawn), key=rank_of.get)]["genotype"]

        def add(child: dict) -> None:
            seen.add(self.space.canonical(child))
            new.append(child)
            ages.append(0)

        def novel(make: Callable[[], list[dict]]) -> list[dict]:
            children = make()
            for _ in range(20):
                if all(self.space.canonical(c) not in seen and self.space.canonical(c) not in self.cache
                       for c in children):
                    break
                children = make()
            return children

        target = len(new) + n_cross
        while len(new) < target:
            def cross():
                a, b = select(), select()
                return list(self.space.crossover(a, b, rng, s["crossover"]))
            for child in novel(cross)[:target - len(new)]:
                add(child)
        target = n - n_immigrant
        while len(new) < target:
            add(novel(lambda: [self.space.mutate(select(), rng, n_genes=s["mutation_genes"],
                                                 scale=s["mutation_scale"])])[0])
        while len(new) < n:
            add(novel(lambda: [self.space.sample(rng)])[0])
        return new, ages

    # -- reporting ----------------------------------------------------------------------------------
    def _report(self, completed: int, fitnesses: list[float], n_evaluated: int) -> None:
        if not self._progress:
            return
        finite = [f for f in fitnesses if math.isfinite(f)]
        best_here = (max(finite) if self.settings["mode"] == "max" else min(finite)) if finite else float("nan")
        best = self.best["fitness"]
        line = (f"generation {completed - 1:>3}: best {best_here:.4g}, mean "
                f"{np.mean(finite) if finite else float('nan'):.4g}, best so far "
                f"{float('nan') if best is None else best:.4g} (generation {self.best['generation']}); "
                f"{n_evaluated} evaluated, {len(fitnesses) - n_evaluated} cached; "
                f"{self.elapsed_s:.1f} s")
        (self._progress if callable(self._progress) else lambda text: print(text, flush=True))(line)

    def table(self) -> pd.DataFrame:
        """Every evaluated member of every generation (the ``members`` table)."""
        return members_frame(self.history, self.space.keys)

    def final(self) -> pd.DataFrame:
        """The last evaluated generation: member, fitness, age, cached and genes."""
        table = self.table()
        if not len(table):
            return table
        return table[table["generation"] == table["generation"].max()].reset_index(drop=True)

    # -- checkpoints --------------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue exactly, as data (``state_file``)."""
        return {"format": STATE_FORMAT, "generation": self.generation, "genotypes": self.genotypes,
                "ages": self.ages, "cache": dict(self.cache), "rng_state": self.rng.bit_generator.state,
                "history": self.history, "evaluated": self.evaluated, "best": self.best,
                "elapsed_s": self.elapsed_s, "done": self.done, "reason": self.reason}

    def _load_state(self, state: dict) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ExperimentError(f"population state has format {state.get('format')!r}; expected {STATE_FORMAT}.",
                                  key=STATE_FILE, value=state.get("format"), expected=str(STATE_FORMAT))
        self.rng = np.random.default_rng(self.seed)
        self.rng.bit_generator.state = state["rng_state"]
        self.generation = int(state["generation"])
        self.genotypes = [dict(g) for g in state["genotypes"]]
        self.ages = list(state["ages"])
        self.cache = dict(state["cache"])
        self.history = list(state["history"])
        self.notes = {self.space.canonical({k: row[k] for k in self.space.keys}): row["note"]
                      for row in self.history if row.get("note")}
        self.evaluated = list(state["evaluated"])
        self.best = dict(state["best"])
        self.elapsed_s = float(state["elapsed_s"])
        self.done, self.reason = bool(state["done"]), state["reason"]

    def checkpoint(self) -> None:
        """Write the GA folder: members table, best.json, population.npz, status.json (each atomic)."""
        if self.folder is None:
            return
        write_table(self.folder / "members", self.table())
        write_json(self.folder / "best.json", {k: _json_ready(v) for k, v in self.best.items()})
        write_state(self.folder / STATE_FILE, self.state(), kind=STATE_KIND)
        if (self.folder / LEGACY_STATE_FILE).exists():  # replaced by the data file just written
            (self.folder / LEGACY_STATE_FILE).unlink()
        self._write_status("done" if self.done else "running")

    def _write_status(self, state: str) -> None:
        if self.folder is None:
            return
        completed = self.completed
        write_json(self.folder / "status.json", {
            "kind": "evolve", "state": state, "generation": self.generation, "completed_generations": completed,
            "n_generations": self.settings["n_generations"], "best_fitness": self.best["fitness"],
            "evaluations": len(self.cache), "elapsed_s": round(self.elapsed_s, 3), "reason": self.reason})

    @classmethod
    def resume(cls, folder: str | os.PathLike, *, experiment: Experiment | None = None,
               fitness: Callable | None = None, progress: bool | Callable[[str], None] = False,
               trust_pickle: bool = False, **overrides: Any) -> "Population":
        """Continue the GA in ``folder`` from its last completed generation.

        ``experiment``/``fitness`` replace what ``config.json`` holds (needed
        when it was not portable, e.g. a custom fitness function);
        ``overrides`` may change ``n_generations``, ``target_fitness``,
        ``time_budget_s``, ``evaluation`` and ``max_lanes``. A run that had
        finished continues if ``n_generations`` grows. A folder of an older version
        (``population.pkl``, a pickle that can run code) opens only with ``trust_pickle``.
        Damaged or missing files raise a ``FolderFileError`` naming the file.
        """
        folder = Path(folder).absolute()
        config_path, state_path = folder / "config.json", folder / STATE_FILE
        legacy_path = folder / LEGACY_STATE_FILE
        if not config_path.exists() or not (state_path.exists() or legacy_path.exists()):
            raise ExperimentError(f"{folder} is not a GA folder (config.json and {STATE_FILE} expected).",
                                  key="folder", value=str(folder), expected="a GA folder")
        config = read_json(config_path, advice="It describes the GA; restore it from a copy, or start a new GA.")
        if not isinstance(config, dict) or config.get("kind") != "evolve":
            kind = config.get("kind") if isinstance(config, dict) else type(config).__name__
            raise ExperimentError(f"{folder}/config.json has kind {kind!r}; expected 'evolve'.",
                                  key="folder", value=str(folder), expected="a GA folder")
        lacking = [k for k in ("constraints", "settings", "seed") if k not in config]
        if lacking:
            raise FolderFileError(f"{config_path} lacks {lacking}: it is damaged; restore it from a copy, or start "
                                  f"a new GA.", key=str(config_path), value=lacking, expected="a GA config")
        bad = [k for k in overrides if k not in RESUME_OVERRIDES]
        if bad:
            raise ConfigError(f"Population.resume: setting '{bad[0]}' cannot change on resume; only "
                              f"{list(RESUME_OVERRIDES)} can.", key=bad[0], value=overrides[bad[0]],
                              expected=str(list(RESUME_OVERRIDES)))
        if experiment is None and config.get("experiment") is not None:
            experiment = Experiment.from_dict(config["experiment"])
        if fitness is None and (experiment is None or config.get("fitness") != "EvolveNetwork"):
            raise ConfigError(f"{folder}: the GA used a custom fitness function; pass fitness= to resume it.",
                              key="fitness", value=config.get("fitness"), expected="fitness=")
        settings = {**config["settings"], **{k: v for k, v in overrides.items() if v is not None}}
        advice = "Restore it from a copy, or start a new GA (the members table so far stays readable)."
        if state_path.exists():
            state, source = read_state(state_path, kind=STATE_KIND, advice=advice), state_path
        else:
            state, source = load_pickle(legacy_path, trust_pickle=trust_pickle, new_name=STATE_FILE, how=TRUST_GA), \
                legacy_path
        try:
            population = cls(experiment, config["constraints"], seed=config["seed"], fitness=fitness, folder=folder,
                             progress=progress, file_form=True, _state=state, **settings)
        except (KeyError, TypeError, AttributeError) as error:
            raise StateFileError(f"{source} cannot be read: it is not a complete GA state ({type(error).__name__}: "
                                 f"{error}). {advice}", key=str(source), value=None,
                                 expected="a GA state") from error
        if population.done and state.get("reason", "").endswith("generations") \
                and len({r["generation"] for r in population.history}) < population.settings["n_generations"]:
            # More generations asked of a finished run: breed on from its last generation.
            population.done, population.reason = False, None
            population.genotypes, population.ages = population._breed()
            population.generation += 1
        write_json(folder / "config.json", population.config())
        population.checkpoint()
        return population


def _is_evolve_network(fitness: Any) -> bool:
    from spikey.meta.metagame import EvolveNetwork
    return isinstance(fitness, EvolveNetwork)


def load_members(folder: str | os.PathLike) -> pd.DataFrame | None:
    """The members table of a GA folder (None if it has none)."""
    return read_table(Path(folder) / "members")
