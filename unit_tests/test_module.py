"""Key/Module validation: every bad-key case names the key, the part and what was expected."""
import numpy as np
import pytest

from spikey.module import (ConfigError, Key, KeyRangeError, KeyTypeError, MissingKeyError, Module,
                           UnknownKeyError)
from spikey.snn import LIF, Network, RateMap, Manual, MSTDP, Threshold, RLNetwork, MatchExpected


class Part(Module):
    namespace = "neuron"
    Keys = [
        Key("n_neurons", "count", int, range=(1, None)),
        Key("decay", "fraction lost per step", float, default=0.1, range=(0, 1), per_member=True),
        Key("mode", "how", str, default="a", choices=("a", "b")),
        Key("fn", "a function", callable, default=None, nullable=True),
    ]


def test_defaults_and_types_are_normalised():
    part = Part(n_neurons=3)
    assert part.params == {"n_neurons": 3, "decay": 0.1, "mode": "a", "fn": None}
    assert isinstance(Part(n_neurons=np.int64(4)).params["n_neurons"], int)
    assert isinstance(Part(n_neurons=1, decay=1).params["decay"], float)  # int accepted as float


def test_missing_key_names_part_key_and_expectation():
    with pytest.raises(MissingKeyError) as info:
        Part()
    error = info.value
    assert (error.key, error.part) == ("n_neurons", "Part")
    assert "required key 'n_neurons'" in str(error) and "int" in str(error)


@pytest.mark.parametrize("value", ["3", 2.5, True, None])
def test_wrong_type(value):
    with pytest.raises(KeyTypeError) as info:
        Part(n_neurons=value)
    assert info.value.key == "n_neurons" and info.value.part == "Part"
    assert repr(value) in str(info.value) and "expected int" in str(info.value)


@pytest.mark.parametrize("key,value", [("n_neurons", 0), ("decay", 1.5), ("decay", -0.1),
                                       ("decay", float("nan")), ("mode", "c")])
def test_out_of_range(key, value):
    config = {"n_neurons": 2, key: value}
    with pytest.raises(KeyRangeError) as info:
        Part(**config)
    assert info.value.key == key and info.value.part == "Part"
    assert key in str(info.value)


def test_unknown_key_suggests_close_names():
    with pytest.raises(UnknownKeyError) as info:
        Part(n_neurons=2, dekay=0.2)
    assert "'dekay'" in str(info.value) and "Did you mean 'decay'" in str(info.value)


def test_per_member_values():
    part = Part(n_neurons=2, decay=[0.1, 0.2, 0.3], batch_size=3)
    np.testing.assert_array_equal(part.params["decay"], [0.1, 0.2, 0.3])
    with pytest.raises(KeyRangeError, match=r"shape \(3,\)"):
        Part(n_neurons=2, decay=[0.1, 0.2], batch_size=3)
    with pytest.raises(KeyRangeError, match="decay"):
        Part(n_neurons=2, decay=[0.1, 2.0, 0.3], batch_size=3)
    with pytest.raises(KeyTypeError):  # not a per-member key
        Part(n_neurons=[1, 2, 3], batch_size=3)


def test_namespaced_key_overrides_flat_one():
    assert Part(n_neurons=2, decay=0.1, **{"neuron.decay": 0.5}).params["decay"] == 0.5
    assert Part(n_neurons=2, **{"neuron.decay": 0.5}).params["decay"] == 0.5


def test_set_param_validates():
    part = Part(n_neurons=2)
    part.set_param("decay", 0.3)
    assert part.params["decay"] == 0.3
    with pytest.raises(KeyRangeError):
        part.set_param("decay", 3.0)
    with pytest.raises(UnknownKeyError):
        part.set_param("decy", 0.3)


XOR_KEYS = dict(n_inputs=4, n_neurons=3, n_outputs=1, processing_time=5, firing_threshold=1.0,
                potential_decay=0.1, max_weight=2.0, matrix=np.full((7, 3), 0.5), learning_rate=0.01,
                action_threshold=0.1, expected_value=lambda s: s.sum(axis=1) % 2,
                state_rate_map={(0, 0): [0, 0], (0, 1): [0, .5], (1, 0): [.5, 0], (1, 1): [.5, .5]})
XOR_PARTS = dict(inputs=RateMap, neurons=LIF, weights=Manual, synapses=MSTDP, readout=Threshold,
                 rewarder=MatchExpected)


def test_network_rejects_unknown_key_with_suggestion():
    with pytest.raises(UnknownKeyError) as info:
        RLNetwork(parts=XOR_PARTS, keys={**XOR_KEYS, "firing_treshold": 2.0})
    assert "firing_treshold" in str(info.value) and "firing_threshold" in str(info.value)


def test_network_reports_the_part_of_a_bad_value():
    with pytest.raises(KeyRangeError) as info:
        RLNetwork(parts=XOR_PARTS, keys={**XOR_KEYS, "potential_decay": 1.5})
    assert info.value.part == "LIF" and info.value.key == "potential_decay"
    with pytest.raises(MissingKeyError) as info:
        RLNetwork(parts=XOR_PARTS, keys={k: v for k, v in XOR_KEYS.items() if k != "learning_rate"})
    assert info.value.part == "MSTDP"


def test_network_rejects_bad_parts_and_sizes():
    with pytest.raises(ConfigError, match="part 'readout' is missing"):
        RLNetwork(parts={**XOR_PARTS, "readout": None}, keys=XOR_KEYS)
    with pytest.raises(ConfigError, match="unknown part role 'neuron'"):
        RLNetwork(parts={**XOR_PARTS, "neuron": LIF}, keys=XOR_KEYS)
    with pytest.raises(ConfigError, match="not an instance"):
        RLNetwork(parts={**XOR_PARTS, "neurons": LIF(n_neurons=3, firing_threshold=1.0,
                                                     potential_decay=0.1)}, keys=XOR_KEYS)
    with pytest.raises(ConfigError, match="n_outputs = 4 exceeds n_neurons = 3"):
        RLNetwork(parts=XOR_PARTS, keys={**XOR_KEYS, "n_outputs": 4})
    with pytest.raises(ConfigError, match="weights are sized"):
        RLNetwork(parts=XOR_PARTS, keys={**XOR_KEYS, "weight.n_inputs": 3,
                                                    "matrix": np.full((6, 3), 0.5)})
    with pytest.raises(ValueError, match="transposed"):
        RLNetwork(parts=XOR_PARTS, keys={**XOR_KEYS, "matrix": np.full((3, 7), 0.5)})


def test_list_keys_covers_every_part(capsys):
    rows = Network.list_keys(inputs=RateMap, neurons=LIF, weights=Manual, synapses=MSTDP,
                             readout=Threshold, rewarder=MatchExpected)
    names = {row["key"] for row in rows}
    assert {"processing_time", "state_rate_map", "firing_threshold", "potential_decay", "matrix",
            "learning_rate", "tau_plus", "action_threshold", "expected_value"} <= names
    assert "firing_threshold" in capsys.readouterr().out
