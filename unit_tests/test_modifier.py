"""Modifiers: schedule values, and schedules changing a running network's keys."""
import numpy as np
import pytest

from spikey.module import KeyRangeError, KeyTypeError, UnknownKeyError
from spikey.snn import LIF, MSTDP, Manual, MatchExpected, RateMap, RLNetwork, Threshold
from spikey.snn.modifier import ExponentialSchedule, LinearSchedule, Modifier, StepSchedule


# -- schedule values --------------------------------------------------------------------------------
def test_linear_schedule_values():
    s = LinearSchedule("learning_rate", start=0.1, stop=0.02, n_steps=4)
    expected = [0.1, 0.08, 0.06, 0.04, 0.02, 0.02, 0.02]
    assert [s.value(t) for t in range(7)] == pytest.approx(expected, abs=1e-15)
    up = LinearSchedule("x", start=-1, stop=1, n_steps=1)
    assert [up.value(t) for t in range(3)] == [-1.0, 1.0, 1.0]


def test_exponential_schedule_values():
    s = ExponentialSchedule("learning_rate", start=1.0, rate=0.5, floor=0.2)
    assert [s.value(t) for t in range(5)] == pytest.approx([1.0, 0.6, 0.4, 0.3, 0.25], abs=1e-15)
    assert s.value(60) == pytest.approx(0.2)
    grow = ExponentialSchedule("x", start=1.0, rate=2.0)
    assert [grow.value(t) for t in range(4)] == [1.0, 2.0, 4.0, 8.0]


def test_step_schedule_values():
    s = StepSchedule("firing_threshold", values=[1.0, 2.0, 3.0], boundaries=[2, 5])
    assert [s.value(t) for t in range(7)] == [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    # any values, e.g. per-member lists
    lists = StepSchedule("firing_threshold", values=[[1, 2], [3, 4]], boundaries=[1])
    assert lists.value(0) == [1, 2] and lists.value(9) == [3, 4]


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="LinearSchedule: n_steps = 0"):
        LinearSchedule("learning_rate", 1.0, 0.0, n_steps=0)
    with pytest.raises(ValueError, match="ExponentialSchedule: rate = 0"):
        ExponentialSchedule("learning_rate", 1.0, rate=0)
    with pytest.raises(ValueError, match="StepSchedule: 2 values for 2 boundaries"):
        StepSchedule("learning_rate", [1, 2], [1, 2])
    with pytest.raises(ValueError, match="StepSchedule: boundaries = \\[3, 1\\]"):
        StepSchedule("learning_rate", [1, 2, 3], [3, 1])
    with pytest.raises(ValueError, match="LinearSchedule: key = ''"):
        LinearSchedule("", 1.0, 0.0, 2)
    with pytest.raises(NotImplementedError, match="Modifier"):
        Modifier("learning_rate").value(0)


# -- on a network -----------------------------------------------------------------------------------
class XOR(RLNetwork):
    parts = {"inputs": RateMap, "neurons": LIF, "weights": Manual, "synapses": MSTDP,
             "readout": Threshold, "rewarder": MatchExpected}
    keys = {"n_inputs": 4, "n_neurons": 3, "n_outputs": 1, "processing_time": 20,
            "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 2.0,
            "matrix": np.full((7, 3), 0.5), "learning_rate": 0.01, "action_threshold": 0.1,
            "state_rate_map": {(0, 0): [0, 0], (0, 1): [0, .5], (1, 0): [.5, 0], (1, 1): [.5, .5]},
            "expected_value": lambda s: np.asarray(s).sum(axis=1) % 2, "punish_mult": 1.0}


STATES = np.array([[0, 1], [1, 1]])


def build(*modifiers, **keys):
    return XOR(parts={"modifiers": list(modifiers)}, batch_size=2, seed=0, **keys)


def test_schedules_change_part_params_at_each_game_step():
    learning = LinearSchedule("learning_rate", start=0.04, stop=0.0, n_steps=4)
    threshold = StepSchedule("neuron.firing_threshold", values=[1.0, 1.5, 2.5], boundaries=[2, 3])
    net = build(learning, threshold)
    expected_rate = [0.04, 0.03, 0.02, 0.01, 0.0, 0.0]
    expected_threshold = [1.0, 1.0, 1.5, 2.5, 2.5, 2.5]
    for step in range(6):
        action = net.tick(STATES)
        # tick `step` ran under the values scheduled for game step `step`
        assert net.synapses.params["learning_rate"] == pytest.approx(expected_rate[step], abs=1e-15)
        assert net.synapses.learning_rate == pytest.approx(expected_rate[step], abs=1e-15)
        assert net.neurons.params["firing_threshold"] == expected_threshold[step]
        assert net.neurons.threshold == expected_threshold[step]
        assert net.config["learning_rate"] == pytest.approx(expected_rate[step], abs=1e-15)
        net.reward(STATES, action)
    assert net.game_step == 6
    # reset() (a new episode) keeps the schedule's clock: it spans the experiment
    net.reset()
    assert net.game_step == 0 and net.total_game_steps == 6
    net.tick(STATES)
    assert net.synapses.params["learning_rate"] == pytest.approx(0.0, abs=1e-15)
    # reset_weights() starts the experiment, and the schedules, over
    net.reset_weights()
    net.tick(STATES)
    assert net.synapses.params["learning_rate"] == 0.04 and net.neurons.threshold == 1.0


def test_scheduled_learning_rate_zero_stops_learning():
    net = build(LinearSchedule("learning_rate", start=0.05, stop=0.0, n_steps=2))
    changes = []
    for _ in range(4):
        before = net.weights.matrix.copy()
        net.reward(STATES, net.tick(STATES))
        changes.append(float(np.abs(net.weights.matrix - before).sum()))
    assert changes[0] > 0 and changes[1] > 0      # γ = 0.05, 0.025: weights move
    assert changes[2] == 0 and changes[3] == 0    # γ = 0 from game step 2 on


def test_scheduled_threshold_changes_firing():
    # An unreachable threshold from game step 2 on silences the body neurons.
    net = build(StepSchedule("firing_threshold", values=[1.0, 1e6], boundaries=[2]))
    n_in = net.n_inputs
    body_spikes = []
    for _ in range(4):
        net.tick(STATES)
        body_spikes.append(int(net.spike_log[:, :, n_in:].sum()))
    assert body_spikes[0] > 0 and body_spikes[1] > 0
    # firing compares with the current threshold, so silence starts with game step 2's first step
    assert body_spikes[2] == 0 and body_spikes[3] == 0


def test_per_member_schedule_values():
    net = build(StepSchedule("neuron.firing_threshold", values=[[1.0, 2.0], [3.0, 4.0]], boundaries=[1]))
    net.tick(STATES)
    assert net.neurons.threshold.reshape(-1).tolist() == [1.0, 2.0]
    net.tick(STATES)
    assert net.neurons.threshold.reshape(-1).tolist() == [3.0, 4.0]


def test_schedule_on_unknown_key_suggests_the_known_one():
    with pytest.raises(UnknownKeyError) as info:
        net = build(LinearSchedule("learnig_rate", start=0.1, stop=0.0, n_steps=3))
        net.tick(STATES)
    assert info.value.key == "learnig_rate"
    assert "'learnig_rate'" in str(info.value) and "Did you mean 'learning_rate'" in str(info.value)
    # a namespace that does not declare the key is unknown as well
    with pytest.raises(UnknownKeyError, match="neuron.learning_rate"):
        net = build(StepSchedule("neuron.learning_rate", values=[0.1], boundaries=[]))
        net.tick(STATES)


def test_schedule_out_of_range_raises_and_keeps_the_last_valid_value():
    net = build(LinearSchedule("learning_rate", start=0.02, stop=-0.02, n_steps=2))
    net.tick(STATES)
    net.tick(STATES)
    assert net.synapses.params["learning_rate"] == 0.0
    with pytest.raises(KeyRangeError) as info:
        net.tick(STATES)           # game step 2 schedules -0.02
    assert info.value.part == "MSTDP" and info.value.key == "learning_rate"
    assert "MSTDP: key 'learning_rate' = -0.02 is out of range" in str(info.value)
    assert net.synapses.params["learning_rate"] == 0.0

    net = build(StepSchedule("prob_rand_fire", values=[0.0, 1.5], boundaries=[1]))
    net.tick(STATES)
    with pytest.raises(KeyRangeError, match="LIF: key 'prob_rand_fire' = 1.5"):
        net.tick(STATES)


def test_schedule_of_wrong_type_raises():
    net = build(StepSchedule("refractory_period", values=[0, 1.5], boundaries=[1]))
    net.tick(STATES)
    with pytest.raises(KeyTypeError, match="LIF: key 'refractory_period' = 1.5"):
        net.tick(STATES)
