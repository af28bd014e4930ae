"""Regressions that once passed the whole suite unnoticed, each pinned by a test that fails when it returns.

* the compiled STDP kernel applying lane 0's learning rate to every lane;
* a resumed GA restarting its time budget instead of spending what was left of it;
* ``Network.spike_log`` returned out of order (it is oldest first, also after the ring buffer wraps).
"""
import numpy as np
import pytest

import spikey.meta.population as population_module
from spikey.meta.population import Population
from spikey.snn import (LIF, MSTDP, MSTDPET, STDP, ActiveRLNetwork, Manual, MatchExpected, Network, RLNetwork,
                        Static, StaticMap, Threshold, fused)

from test_speed_equivalence import make, play  # the fused/reference comparison set-up, one home

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


# -- per-lane learning rates on the compiled engine ------------------------------------------------
RATES_PER_LANE = [0.09, 0.0, 0.03, 0.006]  # lane 0 the largest, lane 1 not learning at all
LEARNING_CASES = [(Network, STDP, {"rewarder": None}), (ActiveRLNetwork, MSTDP, {}),
                  (ActiveRLNetwork, MSTDPET, {}), (RLNetwork, MSTDP, {"rewarder": MatchExpected}),
                  (RLNetwork, MSTDPET, {"rewarder": MatchExpected})]


@needs_numba
@pytest.mark.parametrize("network_class,rule,parts", LEARNING_CASES,
                         ids=[f"{n.__name__}-{r.__name__}" for n, r, _ in LEARNING_CASES])
def test_compiled_plasticity_uses_each_lanes_learning_rate(network_class, rule, parts):
    """Lane b learns with learning_rate[b]: compiled == reference lane by lane, and == a single network."""
    B, seed, game_seed, ticks = len(RATES_PER_LANE), 11, 5, 6
    build = dict(network_class=network_class, rule=rule, parts=parts, layout="dense pattern")
    fast = make(**build, batch_size=B, seed=seed, learning_rate=RATES_PER_LANE)
    slow = make(**build, batch_size=B, seed=seed, learning_rate=RATES_PER_LANE, fused_on=False)
    assert fast.fused_engine() is not None and slow.fused_engine() is None
    initial = fast.weights.matrix.copy()
    play(fast, ticks, seed=game_seed)
    play(slow, ticks, seed=game_seed)
    change = np.abs(fast.weights.matrix - initial).max(axis=(1, 2))
    assert change[1] == 0 and (change[[0, 2, 3]] > 1e-4).all(), change   # the rates matter
    for lane, rate in enumerate(RATES_PER_LANE):
        np.testing.assert_allclose(fast.weights.matrix[lane], slow.weights.matrix[lane], rtol=0, atol=1e-12,
                                   err_msg=f"lane {lane} (learning_rate {rate}): compiled != reference")
        np.testing.assert_array_equal(fast.spike_log[lane], slow.spike_log[lane])
        single = make(**build, batch_size=1, seed=seed + lane, learning_rate=rate)
        assert single.fused_engine() is not None
        play(single, ticks, seed=game_seed + lane)
        np.testing.assert_array_equal(single.weights.matrix[0], fast.weights.matrix[lane],
                                      err_msg=f"lane {lane} (learning_rate {rate}) != a single network")
        np.testing.assert_array_equal(single.spike_log[0], fast.spike_log[lane])


# -- the GA's time budget over a resume ------------------------------------------------------------
class Clock:
    """A stand-in for the ``time`` module of spikey.meta.population: time moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_resumed_ga_spends_only_what_is_left_of_its_time_budget(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(population_module, "time", clock)

    def ten_seconds_each(genotypes):  # every generation's evaluation takes 10 s of (fake) time
        clock.sleep(10.0)
        return [-abs(g["x"] - 0.3) for g in genotypes]

    folder = tmp_path / "ga"
    first = Population(None, {"x": (0.0, 1.0)}, fitness=ten_seconds_each, folder=folder, size=4,
                       n_generations=2, seed=3).run()
    assert first.completed == 2 and first.elapsed_s == 20.0
    resumed = Population.resume(folder, fitness=ten_seconds_each, n_generations=100, time_budget_s=45.0)
    # the 20 s already spent count against the budget: 25 s are left, i.e. three more generations
    assert resumed.elapsed_s == 20.0
    assert resumed.settings["time_budget_s"] - resumed.elapsed_s == 25.0
    resumed.run()
    assert resumed.done and "time budget" in resumed.reason
    assert resumed.completed == 5 and resumed.elapsed_s == 50.0
    # resumed once more with the same budget, it is spent: nothing runs
    again = Population.resume(folder, fitness=ten_seconds_each, n_generations=100, time_budget_s=45.0).run()
    assert again.completed == 5 and again.elapsed_s == 50.0


# -- spike_log order -------------------------------------------------------------------------------
N_BITS, P, GAME_STEPS = 4, 5, 3


def bits(step: int) -> list:
    """Input pattern of network step ``step``: its number in binary, 4 inputs, so 16 distinct rows."""
    return [(step % 16 >> k) & 1 for k in range(N_BITS)]


def counting_network(fused_on: bool, spike_log_length: int) -> Network:
    """Inputs spell out the step number; body neuron k echoes input k one step later (weight = threshold,
    no leak memory), and the two lanes count from different offsets."""
    pattern = {state: np.array([bits(state * P + t) for t in range(P)], float) for state in range(2 * GAME_STEPS)}
    net = Network(parts=dict(inputs=StaticMap, neurons=LIF, weights=Manual, synapses=Static, readout=Threshold),
                  keys=dict(n_inputs=N_BITS, n_neurons=N_BITS, n_outputs=1, processing_time=P,
                            state_spike_map=pattern, firing_threshold=1.0, potential_decay=1.0, max_weight=1.0,
                            matrix=np.vstack([np.eye(N_BITS), np.zeros((N_BITS, N_BITS))]),
                            action_threshold=0.5, spike_log_length=spike_log_length),
                  batch_size=2, seed=0)
    net.fused = fused_on
    return net


def expected_log(first_state: int) -> np.ndarray:
    """(steps, inputs + body) bool: every network step's spikes, oldest first, for one lane."""
    steps = [first_state * P + s for s in range(GAME_STEPS * P)]
    inputs = np.array([bits(s) for s in steps], bool)
    body = np.vstack([np.zeros((1, N_BITS), bool), inputs[:-1]])
    return np.hstack([inputs, body])


@pytest.mark.parametrize("fused_on", [True, False], ids=["compiled", "reference"])
@pytest.mark.parametrize("spike_log_length", [0, 4, 7, 15, 20])
def test_spike_log_is_oldest_first_with_known_spike_times(fused_on, spike_log_length):
    net = counting_network(fused_on, spike_log_length)
    assert (net.fused_engine() is not None) == (fused_on and fused.available())
    length = spike_log_length or P
    lanes = [expected_log(0), expected_log(GAME_STEPS)]
    for game_step in range(GAME_STEPS):
        net.tick(np.array([game_step, GAME_STEPS + game_step]))
        done = (game_step + 1) * P
        kept = min(done, length)
        assert net.spike_log.shape == (2, kept, 2 * N_BITS) and net.spike_log.dtype == bool
        for lane, full in enumerate(lanes):
            np.testing.assert_array_equal(net.spike_log[lane], full[done - kept:done],
                                          err_msg=f"lane {lane} after {done} steps, log length {length}")
