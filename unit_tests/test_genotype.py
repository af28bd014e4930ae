"""Genotype constraints: parsing and validation against Keys, sampling, mutation, crossover, cache keys."""
from pathlib import Path

import numpy as np
import pytest

from spikey.experiment import Experiment
from spikey.meta.genotype import Choice, GenotypeSpace, Range, parse_constraint, round_float
from spikey.module import ConfigError, KeyRangeError, KeyTypeError, UnknownKeyError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def declared():
    return Experiment.from_file(ROOT / "examples/xor.yaml").declared_keys()


def test_constraint_forms(declared):
    space = GenotypeSpace({"refractory_period": (0, 3), "firing_threshold": (1, 2),
                           "learning_rate": (1e-4, 1e-2, "log"), "potential_decay": {"low": 0.1, "high": 0.5},
                           "max_weight": {"low": 0.5, "high": 4, "log": True},
                           "action_threshold": ["mean", "median"], "n_neurons": {"choices": [1, 2]}}, declared)
    c = space.constraints
    assert isinstance(c["refractory_period"], Range) and c["refractory_period"].integer
    # an int range on a float key is a float range (the key decides)
    assert isinstance(c["firing_threshold"], Range) and not c["firing_threshold"].integer
    assert c["learning_rate"].log and not c["potential_decay"].log and c["max_weight"].log
    assert isinstance(c["action_threshold"], Choice) and c["n_neurons"].values == [1, 2]
    # Python lists are choices; in file form two numbers are a range (like spikey.meta.space)
    assert isinstance(parse_constraint("n_neurons", [1, 4], declared["n_neurons"]), Choice)
    ranged = parse_constraint("n_neurons", [1, 4], declared["n_neurons"], file_form=True)
    assert isinstance(ranged, Range) and (ranged.low, ranged.high, ranged.integer) == (1, 4, True)
    assert parse_constraint("learning_rate", [1e-4, 1e-2, "log"], None, file_form=True).log
    assert isinstance(parse_constraint("n_neurons", [1, 2, 3], None, file_form=True), Choice)
    # the portable form reads back the same in either mode
    again = GenotypeSpace(space.portable(), declared, file_form=True)
    assert again.portable() == space.portable() and repr(again) == repr(space)


@pytest.mark.parametrize("constraints, error, words", [
    ({"learning_rate": []}, KeyRangeError, ["'learning_rate'", "empty list"]),
    ({"learning_rate": (0.1, 0.01)}, KeyRangeError, ["'learning_rate'", "(0.1, 0.01)", "low <= high"]),
    ({"learning_rat": (0.1, 0.2)}, UnknownKeyError, ["'learning_rat'", "Did you mean 'learning_rate'"]),
    ({"learning_rate": (0.0, 0.1, "log")}, KeyRangeError, ["'learning_rate'", "low > 0", "low = 0.0"]),
    ({"learning_rate": {"low": -1, "high": 1, "log": True}}, KeyRangeError, ["'learning_rate'", "low > 0"]),
    ({"potential_decay": (0.5, 2.0)}, KeyRangeError, ["'potential_decay'", "[0.5, 2.0]",
                                                      "0 <= potential_decay <= 1"]),
    ({"n_neurons": [0, 2]}, KeyRangeError, ["'n_neurons'", "choice 0", "n_neurons >= 1"]),
    ({"refractory_period": (0.5, 2.5)}, KeyTypeError, ["'refractory_period'", "takes ints", "(0.5, 2.5)"]),
    ({"firing_threshold": ["high"]}, KeyTypeError, ["'firing_threshold'", "choice 'high'", "float"]),
    ({"expected_value": (0, 1)}, KeyTypeError, ["'expected_value'", "not a numeric range"]),
    ({"learning_rate": (0.1, "x")}, KeyTypeError, ["'learning_rate'", "'x' is not a number"]),
    ({"learning_rate": 0.1}, KeyTypeError, ["'learning_rate'", "not understood"]),
    ({}, ConfigError, ["constraints", "non-empty"]),
])
def test_bad_constraints_name_key_value_and_expectation(declared, constraints, error, words):
    with pytest.raises(error) as raised:
        GenotypeSpace(constraints, declared)
    for word in words:
        assert word in str(raised.value)
    if constraints:
        assert raised.value.key == next(iter(constraints))


def test_sampling_is_seeded_and_covers_the_constraints(declared):
    space = GenotypeSpace({"refractory_period": (0, 3), "learning_rate": (1e-4, 1e-2, "log"),
                           "potential_decay": (0.1, 0.5), "action_threshold": ["mean", "median"]}, declared)
    draws = [space.sample(np.random.default_rng(7)) for _ in range(2)]
    assert draws[0] == draws[1]                                   # an explicit Generator: reproducible
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(4000)]
    periods = np.array([s["refractory_period"] for s in samples])
    assert set(periods) == {0, 1, 2, 3}                           # integer ranges include both bounds
    assert np.allclose(np.bincount(periods) / len(periods), 0.25, atol=0.03)
    rates = np.log10([s["learning_rate"] for s in samples])      # log-uniform: uniform exponent in [-4, -2]
    assert rates.min() >= -4 and rates.max() <= -2 and abs(np.median(rates) + 3) < 0.05
    assert abs(np.mean(rates < -3) - 0.5) < 0.03
    decay = np.array([s["potential_decay"] for s in samples])
    assert decay.min() >= 0.1 and decay.max() <= 0.5 and abs(decay.mean() - 0.3) < 0.01
    assert abs(np.mean([s["action_threshold"] == "mean" for s in samples]) - 0.5) < 0.03
    # floats carry 8 significant digits, so the value evaluated is the value cached and written
    assert all(s["potential_decay"] == round_float(s["potential_decay"]) for s in samples[:50])


def test_mutation_changes_n_genes_with_a_local_gaussian_step(declared):
    space = GenotypeSpace({"potential_decay": (0.0, 1.0), "refractory_period": (0, 10),
                           "action_threshold": ["mean", "median", 0.5], "learning_rate": (1e-4, 1e-2, "log")},
                          declared)
    rng = np.random.default_rng(1)
    parent = {"potential_decay": 0.5, "refractory_period": 5, "action_threshold": "mean", "learning_rate": 1e-3}
    for n_genes in (1, 2, 4):
        for _ in range(50):
            child = space.mutate(parent, rng, n_genes=n_genes)
            assert sum(child[k] != parent[k] for k in parent) == n_genes   # every chosen gene moves
    steps, log_steps, int_steps = [], [], []
    for _ in range(3000):
        child = space.mutate(parent, rng, n_genes=4, scale=0.1)
        steps.append(child["potential_decay"] - 0.5)
        log_steps.append(np.log10(child["learning_rate"]) + 3)
        int_steps.append(child["refractory_period"] - 5)
        assert child["action_threshold"] in ("median", 0.5)
    # sd = scale * span: 0.1 in value, 0.2 decades in log space (reflection is rare this far from the bounds)
    assert abs(np.std(steps) - 0.1) < 0.01 and abs(np.mean(steps)) < 0.01
    assert abs(np.std(log_steps) - 0.2) < 0.02
    assert 0 not in int_steps and max(np.abs(int_steps)) <= 5
    # at a bound the step is reflected back inside
    edge = [space.mutate({**parent, "potential_decay": 1.0}, rng, n_genes=4, scale=0.1)["potential_decay"]
            for _ in range(500)]
    assert max(edge) <= 1.0 and np.mean(edge) < 1.0 - 0.05
    # scale=None resamples the gene uniformly
    resampled = [space.mutate(parent, rng, n_genes=4, scale=None)["potential_decay"] for _ in range(2000)]
    assert abs(np.std(resampled) - np.sqrt(1 / 12)) < 0.02


def test_crossover_one_point_and_uniform(declared):
    names = ["firing_threshold", "learning_rate", "max_weight", "potential_decay", "refractory_period"]
    space = GenotypeSpace({n: (1, 3) if n == "refractory_period" else (0.0, 1.0) if n == "potential_decay"
                           else (0.1, 10.0) for n in names}, declared)
    a = {"firing_threshold": 1.0, "learning_rate": 1.0, "max_weight": 1.0, "potential_decay": 0.1,
         "refractory_period": 1}
    b = {"firing_threshold": 2.0, "learning_rate": 2.0, "max_weight": 2.0, "potential_decay": 0.2,
         "refractory_period": 2}
    rng = np.random.default_rng(3)
    cuts = set()
    for _ in range(200):
        first, second = space.crossover(a, b, rng, "one_point")
        from_a = [first[k] == a[k] for k in names]                   # sorted keys: a prefix from a, the rest from b
        cut = from_a.index(False)
        assert all(from_a[:cut]) and not any(from_a[cut:]) and 1 <= cut <= 4
        assert all(second[k] == (b[k] if i < cut else a[k]) for i, k in enumerate(names))
        cuts.add(cut)
    assert cuts == {1, 2, 3, 4}
    share = []
    for _ in range(500):
        first, second = space.crossover(a, b, rng, "uniform")
        assert all({first[k], second[k]} == {a[k], b[k]} for k in names)   # complementary children
        share.append(np.mean([first[k] == a[k] for k in names]))
    assert abs(np.mean(share) - 0.5) < 0.03
    with pytest.raises(ConfigError, match="crossover = 'two_point'"):
        space.crossover(a, b, rng, "two_point")


def test_canonical_genotype_is_the_cache_key(declared):
    space = GenotypeSpace({"learning_rate": (1e-4, 1e-1), "refractory_period": (0, 4),
                           "action_threshold": ["mean", "median"]}, declared)
    g1 = {"learning_rate": 0.1 + 0.2 - 0.2, "refractory_period": 2, "action_threshold": "mean"}
    g2 = {"action_threshold": "mean", "refractory_period": np.int64(2), "learning_rate": np.float64(0.1)}
    assert space.canonical(g1) == space.canonical(g2) == (("action_threshold", "mean"), ("learning_rate", 0.1),
                                                          ("refractory_period", 2))
    assert hash(space.canonical(g1)) == hash(space.canonical(g2))
    assert space.canonical({**g1, "learning_rate": 0.1000001}) != space.canonical(g1)
    assert space.check(g2) == {"action_threshold": "mean", "learning_rate": 0.1, "refractory_period": 2}
    with pytest.raises(KeyRangeError, match="'refractory_period' = 9"):
        space.check({**g1, "refractory_period": 9})
