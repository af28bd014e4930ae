"""Which engine runs a network (spikey.snn.engine): never silently different, and visible.

A user's subclass that overrides a method the compiled step computes itself (``propagate``,
``spikes``, ``charge``, the synapse update, the network step) runs on the reference path,
which executes the override: its run equals an explicit reference run and differs from the
plain class's. A subclass that overrides nothing the compiled step replaces (``class
MyLIF(LIF): pass``, new Keys defaults, ``step_action``, ``apply_reward``) runs compiled with
the plain class's results. ``network.engine``/``engine_reason``, one INFO line per fallback,
``SPIKEY_ENGINE`` and ``engine=`` make the choice visible and forceable.
"""
import json
import logging

import numpy as np
import pytest

from spikey.games import Logic, xor_gate
from spikey.module import ConfigError, Key
from spikey.snn import (LIF, MSTDP, MSTDPET, STDP, ActiveRLNetwork, Manual, MatchExpected, Random, RateMap,
                        RewardFunction, RLNetwork, Static, Threshold, engine, fused)

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")
RATES = {(0, 0): [0.1, 0.1], (0, 1): [0.1, .4], (1, 0): [.4, 0.1], (1, 1): [.4, .4]}
N_IN, N = 6, 8


def spike_reward(state, fired, state_next, params):
    return np.where(xor_gate(state) == 1, 1.0, -1.0) * fired


KEYS = dict(n_inputs=N_IN, n_neurons=N, n_outputs=1, processing_time=40, state_rate_map=RATES,
            input_pct_inhibitory=0.2, neuron_pct_inhibitory=0.2, firing_threshold=1.0, potential_decay=0.2,
            prob_rand_fire=0.02, max_weight=1.0, learning_rate=0.05, action_threshold=0.05,
            connection_prob=0.7, reward_fn=spike_reward)


# -- user subclasses ------------------------------------------------------------------------------
class DoubledInput(Random):
    """Synaptic input twice the plain product."""

    def propagate(self, spikes):
        return 2.0 * super().propagate(spikes)


class SilentFirstInput(RateMap):
    """Input 0 never fires."""

    def spikes(self):
        spikes = super().spikes().copy()
        spikes[:, 0] = False
        return spikes


class BiasedLIF(LIF):
    """LIF with a constant bias current."""

    def charge(self, current):
        super().charge(current + 0.15)


class BoostedMSTDP(MSTDP):
    """MSTDP whose per-step reward counts three times."""

    def update(self, pre, post, reward=None):
        super().update(pre, post, None if reward is None else 3.0 * reward)


class PairedSTDP(STDP):
    """STDP that only potentiates (overrides the pairing term, not update)."""

    def pairing(self, pre, post):
        return self.xp.maximum(super().pairing(pre, post), 0.0)


class MyLIF(LIF):
    pass


class DefaultDecayLIF(LIF):
    """Only a Keys default changes: potential_decay = 0.2 unless given."""

    Keys = [key if key.name != "potential_decay" else
            Key("potential_decay", key.description, float, default=0.2, range=(0, 1), per_member=True)
            for key in LIF.Keys]


class FirstOutputAction(ActiveRLNetwork):
    """A per-step action of its own (called from Python on both paths)."""

    def step_action(self, post_outputs):
        return ~post_outputs[:, 0]


class HalfRewardMSTDP(MSTDP):
    """Deferred reward at half strength (apply_reward runs from Python on both paths)."""

    def apply_reward(self, reward):
        super().apply_reward(0.5 * np.asarray(reward))


class LoggingStepNetwork(ActiveRLNetwork):
    """Counts its network steps (an override of the step the compiled path replaces)."""

    steps = 0

    def _network_step(self):
        type(self).steps += 1
        super()._network_step()


def build(network_class=ActiveRLNetwork, request=None, batch_size=3, seed=4, keys=None, drop=(), **parts):
    """A float64 network of ``parts`` (over the defaults) given the KEYS its parts declare."""
    all_parts = {**dict(inputs=RateMap, neurons=LIF, weights=Random, synapses=MSTDP, readout=Threshold,
                        rewarder=RewardFunction), **parts}
    declared = {row["key"] for row in network_class.list_keys(print_table=False, **all_parts)}
    values = {**KEYS, "expected_value": xor_gate, **(keys or {})}
    values = {k: v for k, v in values.items() if k in declared and k not in drop}
    network = network_class(parts=all_parts, keys=values, batch_size=batch_size, seed=seed, dtype="float64")
    if request is not None:
        network.engine = request
    return network


def play(network, ticks=8, seed=5):
    game = Logic("XOR", batch_size=network.batch_size, seed=seed)
    state, _ = game.reset()
    log = []
    for _ in range(ticks):
        action = network.tick(state)
        state_next, *_ = game.step(action)
        network.reward(state, action, state_next)
        log.append(network.spike_log)
        state = state_next
    return np.concatenate(log, axis=1)


def assert_same(a, b):
    spikes_a, spikes_b = play(a), play(b)
    np.testing.assert_array_equal(spikes_a, spikes_b)
    np.testing.assert_allclose(a.weights.matrix, b.weights.matrix, rtol=0, atol=1e-12)
    return spikes_a


# -- overrides run on the reference path and their code runs --------------------------------------
@needs_numba
@pytest.mark.parametrize("role, cls, plain", [
    ("weights", DoubledInput, Random),
    ("inputs", SilentFirstInput, RateMap),
    ("neurons", BiasedLIF, LIF),
    ("synapses", BoostedMSTDP, MSTDP),
    ("synapses", PairedSTDP, STDP),
], ids=["propagate", "spikes", "charge", "synapse update", "STDP pairing"])
def test_an_override_of_what_the_kernel_computes_runs_on_the_reference_path(role, cls, plain):
    default, explicit = build(**{role: cls}), build(request="reference", **{role: cls})
    spikes = assert_same(default, explicit)
    baseline = build(**{role: plain})
    plain_spikes = play(baseline)
    # the override changes the math, so its run differs from the plain class's: it ran
    assert not (np.array_equal(spikes, plain_spikes) and np.allclose(default.weights.matrix,
                                                                        baseline.weights.matrix))
    assert default.engine == "reference" and baseline.engine == "compiled"
    assert default.engine_reason.startswith(f"{role}: {cls.__name__} overrides ")


@needs_numba
def test_an_input_override_is_not_bypassed():
    network = build(inputs=SilentFirstInput)
    spikes = play(network)
    assert not spikes[:, :, 0].any() and spikes[:, :, 1:N_IN].any()


@needs_numba
def test_an_overridden_network_step_runs():
    LoggingStepNetwork.steps = 0
    network = build(LoggingStepNetwork)
    play(network, ticks=2)
    assert LoggingStepNetwork.steps == 2 * KEYS["processing_time"]
    assert network.engine_reason == "network: LoggingStepNetwork overrides _network_step of Network"


# -- subclasses that override nothing the kernel computes run compiled ------------------------------
@needs_numba
@pytest.mark.parametrize("neurons", [MyLIF, DefaultDecayLIF], ids=["pass", "Keys defaults"])
def test_a_subclass_that_changes_no_equation_runs_compiled_with_the_plain_results(neurons):
    network = build(neurons=neurons, drop=("potential_decay",) if neurons is DefaultDecayLIF else ())
    assert network.fused_engine() is not None
    assert network.engine == "compiled" and network.engine_reason is None
    spikes = assert_same(network, build(neurons=LIF))
    np.testing.assert_array_equal(spikes, play(build(request="reference", neurons=neurons,
                                                     drop=("potential_decay",) if neurons is DefaultDecayLIF else ())))


@needs_numba
def test_methods_called_from_python_may_be_overridden_on_the_compiled_path():
    network, reference = build(FirstOutputAction), build(FirstOutputAction, request="reference")
    assert network.engine == "compiled"
    assert_same(network, reference)
    plain = build()
    assert not np.array_equal(play(network), play(plain))
    deferred = build(RLNetwork, synapses=HalfRewardMSTDP, rewarder=MatchExpected)
    assert deferred.engine == "compiled"
    assert_same(deferred, build(RLNetwork, "reference", synapses=HalfRewardMSTDP, rewarder=MatchExpected))


@needs_numba
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("rule", [Static, MSTDP, MSTDPET])
def test_manual_2d_and_non_contiguous_weights_run_compiled(rule, order):
    matrix = np.asarray(np.random.default_rng(3).uniform(0.0, 1.0, (N_IN + N, N)), order=order)
    network = build(weights=Manual, synapses=rule, keys={"matrix": matrix, "tau_eligibility": 9.0})
    assert network.fused_engine() is not None
    assert network.engine == "compiled"
    assert network.weights.matrix.flags.c_contiguous and network.weights.matrix.flags.writeable
    assert not np.shares_memory(network.weights.matrix, matrix)  # the network owns its weights
    assert_same(network, build(request="reference", weights=Manual, synapses=rule,
                               keys={"matrix": np.ascontiguousarray(matrix), "tau_eligibility": 9.0}))


# -- visibility -----------------------------------------------------------------------------------
@needs_numba
def test_one_info_line_per_network_that_falls_back(caplog):
    caplog.set_level(logging.INFO, logger="spikey.engine")
    first, second = build(neurons=BiasedLIF, batch_size=1), build(neurons=BiasedLIF, batch_size=1)
    play(first, ticks=4)
    play(second, ticks=2)
    play(build(batch_size=1), ticks=2)  # compiled: no line
    lines = [r for r in caplog.records if r.name == "spikey.engine"]
    assert len(lines) == 2 and all(r.levelno == logging.INFO for r in lines)
    assert lines[0].getMessage() == ("ActiveRLNetwork runs on the reference engine: neurons: BiasedLIF overrides "
                                     "charge of Neuron, which the compiled path computes itself")


@needs_numba
def test_environment_and_argument_force_the_reference_path(monkeypatch):
    monkeypatch.setenv("SPIKEY_ENGINE", "reference")
    network = build()
    assert network.engine == "reference" and network.engine_reason == "SPIKEY_ENGINE=reference"
    assert network.fused_engine() is None
    assert build(request="auto").engine == "reference"
    forced = build(request="compiled")  # an explicit argument wins over the environment
    assert forced.engine == "compiled"
    monkeypatch.delenv("SPIKEY_ENGINE")
    argument = ActiveRLNetwork(parts=build().part_classes, keys=KEYS, engine="reference")
    assert argument.engine == "reference" and argument.engine_reason == "engine='reference' was requested"
    assert_same(build(), build(request="reference"))


@needs_numba
def test_the_deprecated_switches_still_force_the_reference_path(monkeypatch):
    network = build()
    with pytest.warns(DeprecationWarning):
        network.fused = False
    assert network.engine == "reference" and network.fused is False
    monkeypatch.setenv("SPIKEY_FUSED", "0")
    assert build().engine == "reference" and "SPIKEY_FUSED=0" in build().engine_reason


@needs_numba
def test_compiled_on_an_unsupported_network_raises_a_named_error(monkeypatch):
    with pytest.raises(engine.EngineError, match="engine='compiled'.*neurons: BiasedLIF overrides charge") as info:
        ActiveRLNetwork(parts=build().part_classes | {"neurons": BiasedLIF}, keys=KEYS, engine="compiled")
    assert info.value.key == "engine" and info.value.part == "ActiveRLNetwork"
    network = build()
    with pytest.raises(engine.EngineError, match="neurons: BiasedLIF overrides charge"):
        build(neurons=BiasedLIF).engine = "compiled"
    network.engine = "compiled"
    network.weights.matrix = np.asfortranarray(network.weights.matrix)  # now the kernel cannot take it
    with pytest.raises(engine.EngineError, match="weights: matrix is not a writable C-contiguous"):
        play(network, ticks=1)
    monkeypatch.setenv("SPIKEY_ENGINE", "compiled")
    with pytest.raises(engine.EngineError, match="engine='compiled'.*neurons: BiasedLIF"):
        build(neurons=BiasedLIF)
    with pytest.raises(ConfigError, match="engine="):
        ActiveRLNetwork(parts=build().part_classes, keys=KEYS, engine="fast")
    monkeypatch.setenv("SPIKEY_ENGINE", "fast")
    with pytest.raises(ConfigError, match="SPIKEY_ENGINE = 'fast'"):
        build()


@needs_numba
def test_kinds_the_kernel_does_not_implement_are_named():
    from spikey.snn import RLSTDP, Neuron
    assert build(neurons=Neuron).engine_reason == ("neurons: Neuron states no charge_eq.")
    assert build(synapses=RLSTDP, keys={"stdp_window": 5}).engine_reason.startswith("synapses: RLSTDP is not a kind")


@needs_numba
def test_the_class_checks_run_once_per_combination_not_per_tick():
    network = build(batch_size=1)
    play(network, ticks=1)
    before = engine.class_reason.cache_info()
    play(network, ticks=5)
    after = engine.class_reason.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 5


def test_the_run_folder_status_names_the_engine(tmp_path, monkeypatch):
    from spikey.experiment import Experiment, RunFolder, run_experiment
    exp = Experiment.from_file("examples/xor.yaml").replace(seeds=2, n_episodes=1, len_episode=2)
    run_experiment(exp, tmp_path / "auto", progress=False)
    status = json.loads((tmp_path / "auto" / "status.json").read_text())
    expected = "compiled" if fused.available() else "reference"
    assert status["engine"] == expected and (status["engine_reason"] is None) == fused.available()
    monkeypatch.setenv("SPIKEY_ENGINE", "reference")
    run_experiment(exp, tmp_path / "reference", progress=False)
    status = RunFolder(tmp_path / "reference").read_status()
    assert status["engine"] == "reference" and status["engine_reason"] == "SPIKEY_ENGINE=reference"
