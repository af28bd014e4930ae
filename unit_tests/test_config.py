"""The Experiment spec: files, references, JSON-friendly key forms, validation that names the culprit."""
import json
import textwrap

import numpy as np
import pytest

from spikey.experiment import Experiment, ExperimentError, check_compatible
from spikey.experiment.config import coerce_value, portable, resolve_reference
from spikey.games import Logic, xor_gate
from spikey.module import ConfigError, KeyRangeError, KeyTypeError, UnknownKeyError
from spikey.snn import LIF, MSTDPET, RateMap, Random, Threshold, MatchExpected, RLNetwork

XOR_PARTS = dict(inputs="RateMap", neurons="LIF", weights="Random", synapses="MSTDPET", readout="Threshold",
                 rewarder="MatchExpected")
XOR_KEYS = dict(n_inputs=4, n_neurons=3, n_outputs=1, processing_time=10,
                state_rate_map={"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0], "1,1": [.3, .3]},
                firing_threshold=1.0, potential_decay=0.1, max_weight=1.0, learning_rate=0.01,
                action_threshold="mean", expected_value="spikey.games:xor_gate")


def xor_spec(**changes):
    data = dict(network="RLNetwork", parts=XOR_PARTS, game="Logic", game_preset="XOR", keys=dict(XOR_KEYS),
                seeds=3, n_episodes=2, len_episode=4)
    data.update(changes)
    return data


def test_example_yaml_loads_validates_and_builds_with_python_objects():
    exp = Experiment.from_file("examples/xor.yaml")
    assert exp.name == "xor" and exp.seeds == list(range(8)) and exp.base_dir.endswith("examples")
    network, game = exp.validate().build()
    assert type(network).__name__ == "ActiveRLNetwork" and isinstance(game, Logic)
    assert network.batch_size == game.batch_size == 8 and network.seeds.tolist() == list(range(8))
    # "spikey.games:xor_gate" became the function, "0,1" dict keys became tuples
    assert network.rewarder.params["expected_value"] is xor_gate
    assert set(network.inputs.params["state_rate_map"]) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert type(network.synapses) is MSTDPET and network.synapses.params["learning_rate"] == 1e-4


def test_parts_given_as_classes_short_or_dotted_names_agree():
    by_name = Experiment.from_dict(xor_spec()).build()[0]
    dotted = Experiment.from_dict(xor_spec(network="spikey.snn.RLNetwork",
                                           parts={**XOR_PARTS, "neurons": "spikey.snn.neuron.lif.LIF",
                                                  "inputs": "spikey.snn:RateMap"})).build()[0]
    classes = Experiment(network=RLNetwork, parts=dict(inputs=RateMap, neurons=LIF, weights=Random,
                                                       synapses=MSTDPET, readout=Threshold,
                                                       rewarder=MatchExpected),
                         game=Logic, game_preset="XOR", keys=XOR_KEYS, seeds=3).build()[0]
    for network in (dotted, classes):
        assert [type(p) for _, p in network._parts()] == [type(p) for _, p in by_name._parts()]
        np.testing.assert_array_equal(network.weights.matrix, by_name.weights.matrix)


def test_file_references_calls_and_refs(tmp_path):
    (tmp_path / "helpers.py").write_text(textwrap.dedent("""
        import numpy as np
        def gate(states):
            return np.asarray(states).sum(axis=1) % 2
        def full_matrix(rows, cols, value):
            return np.full((rows, cols), value)
        def count_spikes(record, network, game, step):
            record.setdefault("spikes", np.zeros(network.batch_size))
            record["spikes"] += network.backend.to_numpy(network.output_counts).sum(axis=1)
    """))
    spec = xor_spec(parts={**XOR_PARTS, "weights": "Manual"}, callbacks=["helpers.py:count_spikes"])
    spec["keys"].update(expected_value="helpers.py:gate", matrix={"call": "helpers.py:full_matrix",
                                                                  "args": [7, 3, 0.25]})
    (tmp_path / "exp.json").write_text(json.dumps(spec))
    exp = Experiment.from_file(tmp_path / "exp.json")  # references start at the config's folder
    network, _ = exp.validate().build()
    assert network.rewarder.params["expected_value"].__name__ == "gate"
    np.testing.assert_array_equal(network.weights.matrix[0], np.full((7, 3), 0.25, dtype=np.float32))
    from spikey.experiment import run_experiment
    metrics = run_experiment(exp, progress=False)
    assert "spikes" in metrics.columns and metrics["spikes"].ge(0).all()
    assert resolve_reference("spikey.games:xor_gate") is xor_gate
    assert coerce_value("x", {"ref": "spikey.games:xor_gate"}, None) is xor_gate


def test_json_friendly_forms_round_trip_through_to_dict():
    exp = Experiment(network=RLNetwork, parts=dict(inputs=RateMap, neurons=LIF, weights=Random,
                                                   synapses=MSTDPET, readout=Threshold, rewarder=MatchExpected),
                     game=Logic, game_preset="XOR", seeds=[4, 9],
                     keys={**XOR_KEYS, "expected_value": xor_gate,
                           "state_rate_map": {(0, 0): [0, 0], (0, 1): [0, .3], (1, 0): [.3, 0], (1, 1): [.3, .3]},
                           "matrix_mask": np.ones((7, 3), bool)})
    data = json.loads(json.dumps(exp.to_dict()))  # JSON all the way
    assert data["keys"]["expected_value"] == "spikey.games.logic:xor_gate"
    assert data["keys"]["state_rate_map"]["0,1"] == [0, 0.3] and data["parts"]["neurons"].endswith(":LIF")
    back = Experiment.from_dict(data)
    a, b = exp.build()[0], back.build()[0]
    assert b.weights.params["matrix_mask"].dtype == bool  # list -> array for an ndarray key
    np.testing.assert_array_equal(a.weights.matrix, b.weights.matrix)
    assert portable(lambda s: s)["repr"].startswith("<function")  # not loadable, but readable


def test_per_member_lists_are_cut_to_a_shards_lanes():
    spec = xor_spec(seeds=[10, 11, 12, 13])
    spec["keys"]["learning_rate"] = [0.0, 0.1, 0.2, 0.3]
    exp = Experiment.from_dict(spec)
    network, game = exp.build(lanes=[2, 3])
    assert network.seeds.tolist() == [12, 13] and game.seeds.tolist() == [12, 13]
    np.testing.assert_allclose(network.synapses.params["learning_rate"], [0.2, 0.3])


@pytest.mark.parametrize("change, error, words", [
    (dict(parts={**XOR_PARTS, "neurons": "LIFF"}), ExperimentError, ["parts.neurons", "'LIFF'", "Did you mean 'LIF'"]),
    (dict(parts={**XOR_PARTS, "neurons": "RateMap"}), ExperimentError, ["parts.neurons", "RateMap", "Neuron"]),
    (dict(parts={**XOR_PARTS, "nerons": "LIF"}), ExperimentError, ["nerons", "Did you mean 'neurons'"]),
    (dict(game="Logik"), ExperimentError, ["game", "'Logik'", "Logic"]),
    (dict(network="LIF"), ExperimentError, ["network", "Network"]),
    (dict(n_episode=3), ExperimentError, ["n_episode", "Did you mean 'n_episodes'"]),
    (dict(seeds=[1, 1]), ExperimentError, ["seeds", "distinct"]),
    (dict(len_episode=0), ExperimentError, ["len_episode", ">= 1"]),
    (dict(backend="jax"), ExperimentError, ["backend", "'jax'"]),
    (dict(keys={**XOR_KEYS, "firing_treshold": 1.0}), UnknownKeyError, ["firing_treshold", "firing_threshold"]),
    (dict(keys={**XOR_KEYS, "firing_threshold": "high"}), KeyTypeError, ["LIF", "firing_threshold", "'high'",
                                                                        "float"]),
    (dict(keys={**XOR_KEYS, "potential_decay": 2.0}), KeyRangeError, ["potential_decay", "2.0", "<= 1"]),
    (dict(keys={**XOR_KEYS, "expected_value": "spikey.games:xor_gat"}), ExperimentError,
     ["xor_gat", "Did you mean 'xor_gate'"]),
    (dict(keys={**XOR_KEYS, "expected_value": "spikey.gamez:xor_gate"}), ExperimentError,
     ["spikey.gamez", "cannot be imported"]),
])
def test_bad_specs_fail_naming_the_culprit(change, error, words):
    with pytest.raises(error) as raised:
        Experiment.from_dict(xor_spec(**change)).validate()
    for word in words:
        assert word in str(raised.value)
    assert isinstance(raised.value, ConfigError)


def test_unparseable_file_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("keys: {n_inputs: [1, 2\n")
    with pytest.raises(ExperimentError, match="bad.yaml' cannot be parsed"):
        Experiment.from_file(bad)
    with pytest.raises(ExperimentError, match="does not exist"):
        Experiment.from_file(tmp_path / "nothing.yaml")


def test_state_map_missing_a_game_state_is_caught_by_the_dry_run():
    keys = {**XOR_KEYS, "state_rate_map": {"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0]}}
    exp = Experiment.from_dict(xor_spec(keys=keys, seeds=16))  # 16 lanes: some see (1, 1) first
    with pytest.raises(ExperimentError) as raised:
        exp.validate()
    message = str(raised.value)
    assert "game Logic" in message and "inputs RateMap" in message and "(1, 1)" in message


CARTPOLE_KEYS = dict(n_inputs=8, n_dims=4, rbf_low=-1.0, rbf_high=1.0, n_neurons=4, n_outputs=2,
                     processing_time=5, firing_threshold=1.0, potential_decay=0.1, max_weight=1.0,
                     n_actions=2)


def cartpole_spec(**keys):
    return xor_spec(network="Network", game="CartPole", game_preset=None,
                    parts=dict(inputs="RBF", neurons="LIF", weights="Random", synapses="Static",
                               readout="TopAction"), keys={**CARTPOLE_KEYS, **keys}, seeds=2)


def test_game_and_network_sizes_are_checked_before_running():
    Experiment.from_dict(cartpole_spec()).validate()  # the matching sizes pass
    with pytest.raises(ExperimentError) as raised:
        Experiment.from_dict(cartpole_spec(n_outputs=3, n_actions=3)).validate()
    assert "readout TopAction produces 3 actions but game CartPole has 2" in str(raised.value)
    assert raised.value.key == "n_actions"
    with pytest.raises(ExperimentError) as raised:
        Experiment.from_dict(cartpole_spec(n_inputs=6, n_dims=3)).validate()
    assert "inputs RBF expect n_dims = 3" in str(raised.value) and "gives 4" in str(raised.value)
    network, game = Experiment.from_dict(xor_spec()).build()
    with pytest.raises(ExperimentError, match="batch_size 3 but the game Logic 2"):
        check_compatible(network, Logic("XOR", batch_size=2))


def test_builder_hook(tmp_path):
    (tmp_path / "make.py").write_text(textwrap.dedent("""
        from spikey.experiment import Experiment
        def build(seeds, backend="numpy", size=3, **keys):
            spec = Experiment.from_file(%r)
            spec = spec.with_keys(keys).with_keys(n_neurons=size)
            return spec.replace(seeds=list(seeds), backend=backend).build()
    """ % str(tmp_path / "base.json")))
    (tmp_path / "base.json").write_text(json.dumps(xor_spec()))
    exp = Experiment(builder="make.py:build", builder_args={"size": 5}, keys={"learning_rate": [0.1, 0.2, 0.3]},
                     seeds=[7, 8, 9], base_dir=str(tmp_path))
    network, game = exp.validate().build()
    assert network.n_neurons == 5 and network.seeds.tolist() == [7, 8, 9] and game.batch_size == 3
    network, _ = exp.build(lanes=[1])  # per-member list cut to the lane, found by probing the built parts
    np.testing.assert_allclose(network.synapses.params["learning_rate"], [0.2])
    with pytest.raises(ExperimentError, match="takes no 'device' argument"):
        exp.replace(backend="torch", device="cuda").build()


def test_florian_builder_from_the_examples():
    exp = Experiment(builder="examples/florian_xor.py:build", builder_args={"coding": "rate"},
                     keys={"processing_time": 5, "learning_rate": 0.001}, seeds=2, n_episodes=1, len_episode=2)
    network, game = exp.validate().build()
    assert network.processing_time == 5 and network.batch_size == 2 and isinstance(game, Logic)


def test_an_evolve_section_is_kept_and_ignored_by_runs():
    """One config file serves `spikey run`, `spikey sweep` and `spikey evolve`."""
    from spikey.experiment import Experiment
    data = Experiment.from_file("examples/xor.yaml").to_dict()
    data["evolve"] = {"constraints": {"learning_rate": [0.0001, 0.01, "log"]}, "population": 8}
    exp = Experiment.from_dict(data)
    assert exp.evolve["population"] == 8 and Experiment.from_dict(exp.to_dict()).evolve == exp.evolve
    exp.validate()
