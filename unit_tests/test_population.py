"""The GA: fitness cache, breeding, selection, termination, GA folder, resume; EvolveNetwork batching."""
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from spikey.experiment import Experiment, run_experiment
from spikey.experiment.results import read_table
from spikey.meta.metagame import EvolveNetwork
from spikey.meta.population import Population, load_members
from spikey.module import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"x": (0, 30), "y": (-2.0, 2.0), "z": ["a", "b", "c"]}


class Counting:
    """Toy fitness (peak at x=20, y=0.5, z='b') recording every genotype it is asked about."""

    def __init__(self):
        self.calls = []

    def __call__(self, genotypes):
        self.calls.extend(dict(g) for g in genotypes)
        return [-abs(g["x"] - 20) - (g["y"] - 0.5) ** 2 + (g["z"] == "b") for g in genotypes]


def toy(fitness=None, **settings):
    return Population(None, SPACE, fitness=fitness or Counting(),
                      **{"size": 10, "n_generations": 8, "seed": 4, **settings})


def key(g):
    return (g["x"], g["y"], g["z"])


def test_fitness_cache_evaluates_each_genotype_once():
    fitness = Counting()
    pop = toy(fitness, mutation_scale=0.05, n_generations=12, size=8).run()
    table = pop.table()
    asked = [key(g) for g in fitness.calls]
    assert len(asked) == len(set(asked)) == len(pop.cache)         # never asked twice
    assert int((~table["cached"]).sum()) == len(asked)              # uncached rows = evaluations
    first_seen = {}
    for _, row in table.iterrows():                                  # a cached row repeats the first fitness
        k = (row["x"], row["y"], row["z"])
        if k in first_seen:
            assert row["cached"] and row["fitness"] == first_seen[k]
        else:
            assert not row["cached"]
            first_seen[k] = row["fitness"]
            assert row["fitness"] == fitness([{"x": row["x"], "y": row["y"], "z": row["z"]}])[0]
    assert table["cached"].any()                                     # elites come back every generation


def test_breeding_composition_elites_and_ages():
    pop = toy(size=10, survivor_fraction=0.2, crossover_fraction=0.2, immigrant_fraction=0.1,
              mutation_fraction=0.5, max_age=3, n_generations=10).run()
    table = pop.table()
    for generation in range(1, 10):
        previous = table[table["generation"] == generation - 1]
        current = table[table["generation"] == generation]
        elites = current[current["age"] > 0]
        assert len(elites) == 2                                      # round(10 * 0.2)
        # elites are the best eligible (age < max_age) members of the previous generation, one year older
        eligible = previous[previous["age"] < 3].drop_duplicates(["x", "y", "z"]) \
            .sort_values(["fitness", "member"], ascending=[False, True])
        assert [key(r) for _, r in elites.iterrows()] == [key(r) for _, r in eligible.head(2).iterrows()]
        assert (elites["age"].to_numpy() == eligible.head(2)["age"].to_numpy() + 1).all()
    assert table["age"].max() <= 3
    assert len(table) == 100 and (table.groupby("generation").size() == 10).all()


def test_truncation_mutants_come_from_the_best_half():
    pop = toy(size=12, survivor_fraction=0, crossover_fraction=0, immigrant_fraction=0, mutation_fraction=1,
              parent_fraction=0.5, n_generations=5).run()
    table = pop.table()
    for generation in range(1, 5):
        previous = table[table["generation"] == generation - 1].sort_values(["fitness", "member"],
                                                                           ascending=[False, True])
        top = [key(r) for _, r in previous.head(6).iterrows()]
        for _, child in table[table["generation"] == generation].iterrows():
            distances = [sum(a != b for a, b in zip(key(child), parent)) for parent in top]
            assert min(distances) == 1                               # one gene away from a best-half parent


def test_tournament_selection_and_improvement():
    pop = toy(selection="tournament", tournament_size=3, n_generations=15, size=12).run()
    best = pop.table().groupby("generation")["fitness"].max().to_numpy()
    assert pop.best["fitness"] >= 0.5 and best[-5:].mean() > best[:3].mean()
    assert pop.best["fitness"] == pop.table()["fitness"].max()


def test_minimisation_and_nan_fitness_rank_last():
    def fitness(genotypes):
        return [float("nan") if g["z"] == "c" else abs(g["x"] - 7) for g in genotypes]
    pop = Population(None, SPACE, fitness=fitness, size=10, seed=1, mode="min", n_generations=10).run()
    assert pop.best["keys"]["x"] == 7 and pop.best["fitness"] == 0
    ranked = [pop.evaluated[i]["fitness"] for i in pop._ranking()]
    finite = [f for f in ranked if math.isfinite(f)]
    # a NaN fitness becomes the worst one (+inf when minimising), ranked last, with a note in the table
    assert ranked[:len(finite)] == sorted(finite) and all(f == math.inf for f in ranked[len(finite):])
    assert len(finite) < len(ranked)                                 # some members did score NaN
    table = pop.table()
    assert not table["fitness"].isna().any()
    worst = table[table["z"] == "c"]
    assert len(worst) and (worst["fitness"] == math.inf).all() and worst["note"].str.contains("NaN").all()
    assert (table.loc[table["z"] != "c", "note"] == "").all()


def test_termination_target_and_time_budget():
    pop = toy(target_fitness=0.0, n_generations=100).run()
    assert pop.done and "target" in pop.reason and pop.best["fitness"] >= 0.0 and pop.completed < 100
    import time

    def slow(genotypes):
        time.sleep(0.05)
        return [0.0] * len(genotypes)
    pop = toy(slow, time_budget_s=0.12, n_generations=100).run()
    assert "time budget" in pop.reason and 2 <= pop.completed <= 4


def test_same_seed_same_run_other_seed_differs():
    a, b, c = toy().run().table(), toy().run().table(), toy(seed=5).run().table()
    pd.testing.assert_frame_equal(a, b)
    assert not a[["x", "y", "z"]].equals(c[["x", "y", "z"]])


@pytest.mark.parametrize("settings, words", [
    ({"size": 1}, ["size = 1", "int >= 2"]),
    ({"selection": "roulette"}, ["selection = 'roulette'", "truncation"]),
    ({"survivor_fraction": 1.5}, ["survivor_fraction = 1.5", "[0, 1]"]),
    ({"max_age": 0}, ["max_age = 0"]),
    ({"sise": 4}, ["unknown setting 'sise'", "Did you mean 'size'"]),
    ({"mode": "best"}, ["mode = 'best'"]),
])
def test_bad_settings_are_named(settings, words):
    with pytest.raises(ConfigError) as raised:
        toy(**settings)
    for word in words:
        assert word in str(raised.value)


def test_ga_folder_format_and_resume_equals_uninterrupted(tmp_path):
    whole = toy(folder=tmp_path / "whole").run()
    # the same GA stopped after 3 generations, then killed in the middle of generation 3's evaluation
    fitness = Counting()
    part = toy(fitness, folder=tmp_path / "part", n_generations=3).run()
    assert part.done and part.completed == 3

    def crash(genotypes):
        raise KeyboardInterrupt
    resumed = Population.resume(tmp_path / "part", fitness=crash, n_generations=8)
    with pytest.raises(KeyboardInterrupt):
        resumed.run()
    assert load_members(tmp_path / "part")["generation"].max() == 2   # nothing of generation 3 recorded
    fitness_after = Counting()
    resumed = Population.resume(tmp_path / "part", fitness=fitness_after).run()
    pd.testing.assert_frame_equal(resumed.table(), whole.table())
    assert resumed.genotypes == whole.genotypes and resumed.cache == whole.cache and resumed.best == whole.best
    asked = [key(g) for g in fitness.calls + fitness_after.calls]
    assert len(asked) == len(set(asked)) == len(whole.cache)          # no member evaluated twice over the resume
    # the folder: config, members, population.pkl, status, best
    folder = tmp_path / "part"
    config = json.loads((folder / "config.json").read_text())
    assert config["kind"] == "evolve" and config["seed"] == 4 and config["experiment"] is None
    assert config["constraints"] == {"x": {"low": 0, "high": 30, "log": False},
                                     "y": {"low": -2.0, "high": 2.0, "log": False}, "z": {"choices": ["a", "b", "c"]}}
    assert config["settings"]["size"] == 10 and config["settings"]["n_generations"] == 8
    members = read_table(folder / "members")
    assert list(members.columns) == ["generation", "member", "fitness", "age", "cached", "note", "x", "y", "z"]
    pd.testing.assert_frame_equal(members, whole.table(), check_dtype=False)
    status = json.loads((folder / "status.json").read_text())
    assert status["kind"] == "evolve" and status["state"] == "done" and status["generation"] == 7
    assert status["best_fitness"] == whole.best["fitness"]
    best = json.loads((folder / "best.json").read_text())
    assert best == {"fitness": whole.best["fitness"], "generation": whole.best["generation"],
                    "keys": whole.best["keys"]}
    with pytest.raises(Exception, match="already holds a population"):
        toy(folder=folder)
    with pytest.raises(ConfigError, match="'size' cannot change"):
        Population.resume(folder, fitness=Counting(), size=20)


# -- EvolveNetwork on the XOR example network ---------------------------------------------------------
def xor(**changes):
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(seeds=3, n_episodes=3, len_episode=8)
    return exp.with_keys(processing_time=10).replace(**changes)


MEMBERS = [{"learning_rate": 0.001, "firing_threshold": 0.7, "n_neurons": 1},
           {"learning_rate": 0.0001, "firing_threshold": 1.5, "n_neurons": 1},
           {"learning_rate": 0.003, "firing_threshold": 1.0, "n_neurons": 2},
           {"learning_rate": 0.0005, "firing_threshold": 2.0, "n_neurons": 1}]


def test_batched_fitness_equals_members_run_alone():
    exp = xor()
    batched = EvolveNetwork(exp, metric="accuracy", last=2)
    values = batched(MEMBERS)
    # grouped by the shape gene n_neurons: members 0, 1, 3 share one network of 9 lanes, member 2 its own
    assert batched.groups(MEMBERS) == [[0, 1, 3], [2]] and batched.last_batches == [9, 3]
    # independent computation: each member as its own ordinary run, mean accuracy of the last 2 episodes
    for member, value in zip(MEMBERS, values):
        metrics = run_experiment(exp.with_keys(member), progress=False)
        expected = metrics[metrics["episode"] >= 1]["accuracy"].mean()
        assert value == pytest.approx(expected, abs=1e-12)
    assert EvolveNetwork(exp, metric="accuracy", last=2, mode="single")(MEMBERS) == values
    chunked = EvolveNetwork(exp, metric="accuracy", last=2, max_lanes=6)
    assert chunked(MEMBERS) == values and chunked.last_batches == [6, 3, 3]
    assert len(set(values)) > 1


def test_evolve_network_checks_metric_and_settings():
    with pytest.raises(ConfigError, match="metric 'acuracy' is not reported.*Did you mean 'accuracy'"):
        EvolveNetwork(xor(), metric="acuracy").validate()
    with pytest.raises(ConfigError, match="last = 5"):
        EvolveNetwork(xor(), last=5)
    with pytest.raises(ConfigError, match="mode = 'threads'"):
        EvolveNetwork(xor(), mode="threads")


def test_population_on_xor_writes_comparable_fitness(tmp_path):
    exp = xor(seeds=2)
    pop = Population(exp, {"learning_rate": (1e-4, 1e-2, "log"), "firing_threshold": (0.5, 2.0),
                           "refractory_period": [0, 2]}, size=6, n_generations=3, metric="accuracy", last=2,
                     seed=2, folder=tmp_path / "ga").run()
    table = load_members(tmp_path / "ga")
    assert len(table) == 18 and table["fitness"].between(0, 1).all()
    # the best member's fitness is reproduced by an ordinary run of its keys on the same seeds
    metrics = run_experiment(exp.with_keys(pop.best["keys"]), progress=False)
    assert pop.best["fitness"] == pytest.approx(metrics[metrics["episode"] >= 1]["accuracy"].mean(), abs=1e-12)
    config = json.loads((tmp_path / "ga" / "config.json").read_text())
    assert Experiment.from_dict(config["experiment"]).keys["processing_time"] == 10
    assert config["constraints"]["refractory_period"] == {"choices": [0, 2]}
