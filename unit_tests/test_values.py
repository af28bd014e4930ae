"""Values as users write them: YAML 1.2 numbers, finite and in-scale keys, memory estimated before building."""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from spikey.cli import CLIError, _parse_seeds, _parse_sets, load_experiment
from spikey.experiment import Experiment
from spikey.experiment.config import load_yaml
from spikey.experiment.memory import MemoryEstimateError, estimate, parse_size
from spikey.games import CartPole
from spikey.module import ConfigError, KeyRangeError, KeyTypeError
from spikey.snn import LIF, RBF, Random

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "examples" / "xor.yaml"


def xor(**keys):
    return Experiment.from_file(XOR).with_keys(keys).replace(n_episodes=1, len_episode=2, seeds=2)


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "spikey.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


# -- numbers as users write them --------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("1E-3", 1e-3), (".5", 0.5), ("+2", 2), ("-2.5e+3", -2500.0),
                                         ("1e3", 1000.0), ("12", 12), ("inf", np.inf), ("-inf", -np.inf),
                                         (".inf", np.inf), ("mean", "mean"), ("'1e-3'", "1e-3")])
def test_yaml_reads_numbers_as_written(text, value):
    assert load_yaml(f"x: {text}")["x"] == value and type(load_yaml(f"x: {text}")["x"]) is type(value)
    assert _parse_sets([f"learning_rate={text}"])["learning_rate"] == value


def test_config_and_set_values_in_exponent_form_build(tmp_path):
    config = yaml.safe_load(XOR.read_text())
    text = yaml.safe_dump(config).replace("learning_rate: 0.0001", "learning_rate: 1e-4")
    assert "learning_rate: 1e-4" in text
    (tmp_path / "exp.yaml").write_text(text)
    exp = Experiment.from_file(tmp_path / "exp.yaml")
    assert exp.keys["learning_rate"] == 1e-4
    args = argparse.Namespace(set=["learning_rate=1E-3", "max_weight=.5"], seeds="2")
    exp = load_experiment(str(tmp_path / "exp.yaml"), args)
    network, _ = exp.build()
    assert network.synapses.params["learning_rate"] == 1e-3 and network.weights.params["max_weight"] == 0.5


def test_sweep_space_log_range_from_yaml_is_a_log_range():
    from spikey.meta.space import search_space
    space = load_yaml("learning_rate: [1e-5, 1e-2, log]\nmax_weight: [.5, 2E0]")
    domains = search_space(xor(), space)
    assert type(domains["learning_rate"]).__name__ == "Float"
    assert (domains["learning_rate"].lower, domains["learning_rate"].upper) == (1e-5, 1e-2)
    assert "LogUniform" in type(domains["learning_rate"].sampler).__name__
    with pytest.raises(KeyRangeError, match="not finite"):
        search_space(xor(), load_yaml("max_weight: [0, .inf]"))


def test_evolve_log_range_from_yaml_is_a_range_never_three_choices(tmp_path):
    from spikey.meta.evolve import read_config
    from spikey.meta.genotype import GenotypeSpace, Range
    config = yaml.safe_load(XOR.read_text())
    text = yaml.safe_dump(config) + "evolve:\n  constraints:\n    learning_rate: [1e-5, 1e-2, log]\n"
    (tmp_path / "ga.yaml").write_text(text)
    experiment, section = read_config(tmp_path / "ga.yaml")
    space = GenotypeSpace(section["constraints"], experiment.declared_keys(), file_form=True)
    constraint = space.constraints["learning_rate"]
    assert isinstance(constraint, Range) and constraint.log and (constraint.low, constraint.high) == (1e-5, 1e-2)
    # bounds that are not numbers (as a YAML 1.1 reader gave them) are an error, not three choices
    with pytest.raises(KeyTypeError, match="not a number"):
        GenotypeSpace({"learning_rate": ["1e-5", "1e-2", "log"]}, experiment.declared_keys(), file_form=True)


def test_bad_cli_values_give_a_named_error_not_a_traceback():
    with pytest.raises(CLIError, match="--seeds 'a,b'"):
        _parse_seeds("a,b")
    for good, value in (("8", 8), ("0,1,5", [0, 1, 5]), ("1e2", 100)):
        assert _parse_seeds(good) == value
    code, _, err = cli("run", str(XOR), "--seeds", "a,b")
    assert code == 2 and "--seeds 'a,b'" in err and "Traceback" not in err
    code, _, err = cli("run", str(XOR), "--max-memory", "lots")
    assert code == 2 and "--max-memory" in err and "Traceback" not in err


# -- finite and in-scale values ----------------------------------------------------------------------------
@pytest.mark.parametrize("key, value", [
    ("firing_threshold", np.nan), ("resting_mv", np.nan), ("action_threshold", np.nan),
    ("learning_rate", np.inf), ("learning_rate", np.nan), ("tau_eligibility", np.inf), ("tau_plus", np.inf),
    ("max_weight", np.inf), ("potential_decay", np.nan), ("learning_rate", -np.inf),
    ("learning_rate", [0.1, np.nan]),                               # per-member values too
])
def test_non_finite_values_are_refused_naming_the_key(key, value):
    with pytest.raises(KeyRangeError) as raised:
        xor(**{key: value}).build()
    assert f"'{key}'" in str(raised.value) and raised.value.key == key
    assert "NaN" in str(raised.value) or "infinite" in str(raised.value)


def test_inf_where_the_key_says_it_is_meaningful():
    game = CartPole(x_max=np.inf, theta_max=float("inf"), batch_size=2)
    game.reset()
    assert game.params["x_max"] == np.inf
    with pytest.raises(KeyRangeError, match="NaN"):
        CartPole(x_max=np.nan)


def test_values_that_overflow_float32_are_refused_naming_the_key():
    with pytest.raises(KeyRangeError, match="'max_weight' = 1e\\+300 overflows float32") as raised:
        xor(max_weight=1e300).build()
    assert raised.value.key == "max_weight"
    network, _ = xor(max_weight=1e300).replace(dtype="float64").build()  # float64 holds it
    assert network.weights.params["max_weight"] == 1e300
    with pytest.raises(KeyRangeError, match="overflows float32"):
        LIF(n_neurons=2, firing_threshold=1e39, potential_decay=0.1)
    Random(n_inputs=2, n_neurons=2, max_weight=3e38)  # float32 holds this


def test_int_keys_take_counts_written_with_an_exponent():
    network, _ = xor(n_neurons=1e1, processing_time=2e1).build()
    assert network.n_neurons == 10 and network.processing_time == 20
    with pytest.raises(KeyTypeError, match="n_neurons"):
        xor(n_neurons=2.5).build()


def test_wrong_length_rbf_bounds_say_the_expected_length():
    with pytest.raises(ConfigError) as raised:
        RBF(n_inputs=8, n_dims=4, rbf_low=[0.0] * 6, rbf_high=1.0)
    message = str(raised.value)
    assert "rbf_low" in message and "(6,)" in message and "4 values, one per dimension" in message


# -- memory estimated before building -----------------------------------------------------------------------
@pytest.mark.parametrize("changes, key", [({"n_neurons": 1e9}, "n_neurons"), ({"processing_time": 1e9}, "processing_time")])
def test_huge_sizes_fail_fast_naming_the_keys(changes, key):
    started = time.perf_counter()
    with pytest.raises(MemoryEstimateError) as raised:
        xor(**changes).validate()
    assert time.perf_counter() - started < 5
    assert key in str(raised.value) and raised.value.key == key and "available" in str(raised.value)


def test_a_huge_seed_count_fails_before_the_seed_list_is_made():
    started = time.perf_counter()
    for seeds in (1e8, 100_000_000, {"start": 0, "count": 100_000_000}):
        with pytest.raises(MemoryEstimateError) as raised:
            Experiment.from_file(XOR).replace(seeds=seeds)
        assert raised.value.key == "seeds" and "seeds" in str(raised.value)
    assert time.perf_counter() - started < 5


def test_max_memory_setting_and_flag():
    exp = xor()
    needed = estimate(exp).total
    with pytest.raises(MemoryEstimateError, match="max_memory"):
        exp.replace(max_memory=needed // 2).build()
    exp.replace(max_memory=needed * 2).build()
    assert parse_size("2GiB") == 2 ** 31 and parse_size("1e3") == 1000
    with pytest.raises(ConfigError, match="max_memory"):
        exp.replace(max_memory="-1GB")
    code, _, err = cli("run", str(XOR), "--max-memory", "10KB", "--episodes", "1")
    assert code == 2 and "max_memory = 10 KB" in err and "seeds" in err and "Traceback" not in err


def test_the_estimate_grows_with_the_keys_that_drive_it():
    small = estimate(xor(n_neurons=100)).total
    assert estimate(xor(n_neurons=200)).total > 3 * small  # weights grow with N^2
    assert estimate(xor(n_neurons=100).replace(seeds=8)).total > 3 * small
    assert estimate(xor(n_neurons=100).replace(dtype="float64")).total > 1.5 * small
