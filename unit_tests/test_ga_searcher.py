"""The GA as a Ray Tune Searcher: Tune runs the members (under ASHA), the GA breeds generation by generation."""
from pathlib import Path

import numpy as np
import pytest

from spikey.experiment import Experiment
from spikey.meta.population import Population, load_members
from spikey.meta.searcher import GASearcher

ROOT = Path(__file__).resolve().parents[1]


def toy_population(**settings) -> Population:
    return Population(None, {"x": (0, 20), "y": ["a", "b"]}, fitness=lambda g: [0.0] * len(g),
                      **{"size": 4, "n_generations": 3, "seed": 0, **settings})


def config_value(config):
    return config["x"] * 2.0


def test_searcher_waits_for_the_generation_then_breeds():
    pop = toy_population()
    searcher = GASearcher(pop, metric="score", mode="max", last=2)
    configs = {}
    for i in range(4):
        configs[f"t{i}"] = searcher.suggest(f"t{i}")
    assert all(isinstance(c, dict) for c in configs.values())
    assert searcher.suggest("extra") is None and pop.generation == 0     # Tune waits
    # per-episode reports: fitness = mean of the last 2 reports
    scores = {}
    for trial_id, config in configs.items():
        values = [config["x"] * 0.1, config["x"] * 1.0, config["x"] * 2.0]
        for iteration, v in enumerate(values[:-1], 1):
            searcher.on_trial_result(trial_id, {"score": v, "training_iteration": iteration})
        searcher.on_trial_result(trial_id, {"score": values[1], "training_iteration": 2})  # a repeat: ignored
        scores[trial_id] = np.mean(values[-2:])
    for n, trial_id in enumerate(configs):
        # Tune gives the final report to on_trial_complete only
        searcher.on_trial_complete(trial_id, {"score": config_value(configs[trial_id]), "training_iteration": 3})
        assert pop.generation == (0 if n < 3 else 1)                      # bred only after the last member
    first = pop.table()
    assert len(first) == 4
    expected = {tuple(sorted(configs[t].items())): scores[t] for t in configs}
    for _, row in first.iterrows():
        assert row["fitness"] == pytest.approx(expected[(("x", row["x"]), ("y", row["y"]))])
    # a failed trial scores NaN and ranks last; the run ends with FINISHED
    while True:
        trial_id = f"t{np.random.default_rng(len(pop.history)).integers(1 << 30)}"
        config = searcher.suggest(trial_id)
        if config == "FINISHED":
            break
        assert config is not None
        searcher.on_trial_complete(trial_id, None if config["x"] == 0 else {"score": float(config["x"])},
                                   error=config["x"] == 0)
    assert pop.done and pop.completed == 3 and pop.best["fitness"] == pop.table()["fitness"].max()


def test_searcher_state_round_trip(tmp_path):
    pop = toy_population()
    searcher = GASearcher(pop, metric="score", mode="max")
    first = searcher.suggest("a")
    searcher.on_trial_result("a", {"score": 3.0})
    searcher.save(tmp_path / "s.pkl")
    other = GASearcher(toy_population(seed=5), metric="score", mode="max")
    other.restore(tmp_path / "s.pkl")
    assert other.population.genotypes == pop.genotypes and other._values == {"a": [(1, 3.0)]}
    assert other.suggest("b") == searcher.suggest("b") != first


@pytest.mark.ray
def test_ga_under_tune_asha_three_generations(ray_session, tmp_path):
    from spikey.meta.searcher import tune_population
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(seeds=2, n_episodes=3, len_episode=6)
    exp = exp.with_keys(processing_time=10)
    pop = Population(exp, {"learning_rate": (1e-4, 1e-2, "log"), "firing_threshold": (0.5, 2.0)},
                     size=4, n_generations=3, metric="accuracy", last=1, seed=3, folder=tmp_path / "ga")
    tune_population(pop, scheduler="asha", grace_period=1, time_budget_s=120, storage_path=str(tmp_path),
                    name="ga-tune")
    table = load_members(tmp_path / "ga")
    assert pop.done and pop.completed == 3, pop.reason
    assert sorted(table["generation"].unique()) == [0, 1, 2] and len(table) == 12
    assert table["fitness"].between(0, 1).all()
    # Tune ran one trial per evaluated (not cached) member
    import json
    trials = [p for p in (tmp_path / "ga-tune").glob("trial_*") if (p / "result.json").exists()]
    assert len(trials) == int((~table["cached"]).sum())
    # each trial's fitness is its last reported accuracy (last=1), whether ASHA stopped it or not
    reported = {}
    for trial in trials:
        lines = [json.loads(line) for line in (trial / "result.json").read_text().splitlines() if line.strip()]
        reported[(round(lines[-1]["config"]["firing_threshold"], 6), round(lines[-1]["config"]["learning_rate"], 9))] = \
            lines[-1]["accuracy"]
    for _, row in table[~table["cached"]].iterrows():
        key = (round(row["firing_threshold"], 6), round(row["learning_rate"], 9))
        assert row["fitness"] == pytest.approx(reported[key])


@pytest.mark.ray
def test_ray_evaluation_spreads_chunks_and_matches_batched(ray_session):
    from spikey.meta.metagame import EvolveNetwork
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(seeds=2, n_episodes=2, len_episode=6)
    exp = exp.with_keys(processing_time=10)
    members = [{"learning_rate": lr, "refractory_period": r} for lr, r in
               ((1e-3, 0), (3e-3, 0), (1e-4, 2), (5e-3, 0), (2e-3, 2))]
    on_ray = EvolveNetwork(exp, metric="accuracy", mode="ray", max_lanes=4)
    values = on_ray(members)
    # grouped by the non-per-member refractory_period, cut into chunks of at most 2 members (4 lanes): 3 Ray tasks
    assert on_ray.groups(members) == [[0, 1], [3], [2, 4]] and on_ray.last_batches == [4, 2, 4]
    assert values == EvolveNetwork(exp, metric="accuracy")(members)
