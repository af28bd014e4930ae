"""Every neuron model runs on both engines from its one set of equations, with the same results.

The compiled step of a model is generated from its ``@equation`` functions
(``spikey.snn.neuron_kernel``); the reference engine evaluates the same functions
on arrays. float64: spikes identical and potentials/weights within 1e-10. float32:
the compiled step sums a step's synaptic input over the spikers' rows while the
reference path uses one BLAS product, so a potential can differ in its last bit
(float32's epsilon is 1.2e-7 relative); a spike flips only when a potential lies
within those rounding errors of the threshold, which over these short runs did not
happen: the spike logs are asserted identical, the potentials to 1e-5 absolute.

A model written outside the package (``QuadraticIF`` below, one class with its Keys
and equations) compiles with no edit anywhere else.
"""
import numpy as np
import pytest

from spikey.games import xor_gate
from spikey.module import Key
from spikey.snn import (MSTDP, MSTDPET, STDP, ActiveRLNetwork, AdaptiveLIF, Izhikevich, LIF, MatchExpected,
                        Network, RandPotential, Random, RateMap, Static, Threshold)
from spikey.snn import fused
from spikey.snn.equations import equation
from spikey.snn.neuron.template import Neuron

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


class QuadraticIF(Neuron):
    """Quadratic integrate-and-fire (Ermentrout & Kopell 1986; Latham et al. 2000), Euler step dt::

        V <- V + dt (k (V - V_rest)(V - V_crit) + I)        reset to V_reset after a spike
    """

    Keys = Neuron.Keys + [
        Key("qif_k", "k, curvature of the quadratic (1 / (potential x step))", float, default=0.05,
            range=(0, None), per_member=True),
        Key("v_crit", "V_crit, the unstable fixed point above which V runs away", float, default=1.0,
            per_member=True),
        Key("v_reset", "V_reset, potential after a spike", float, default=-0.5, per_member=True),
        Key("qif_dt", "dt, model time per network step", float, default=1.0, range=(1e-9, None),
            per_member=True),
    ]

    def derive(self) -> None:
        super().derive()
        self.k, self.v_crit, self.v_reset = self.column("qif_k"), self.column("v_crit"), self.column("v_reset")
        self.dt = self.column("qif_dt")

    @equation("potential")
    def hold_eq(v_reset):
        return v_reset

    @equation("potential")
    def charge_eq(potential, current, v_rest, v_crit, k, dt):
        return potential + dt * (k * (potential - v_rest) * (potential - v_crit) + current)


KEYS = dict(n_inputs=10, n_neurons=20, n_outputs=1, processing_time=30,
            state_rate_map={(0, 0): [0, 0], (0, 1): [0, .3], (1, 0): [.3, 0], (1, 1): [.3, .3]},
            firing_threshold=3.0, potential_decay=0.1, max_weight=1.0, connection_prob=0.3,
            learning_rate=0.01, action_threshold="mean", expected_value=xor_gate, prob_rand_fire=0.02)

MODELS = {
    "LIF": (LIF, {}),
    "LIF delay 3": (LIF, {"spike_delay": 3}),
    "LIF refractory 2": (LIF, {"refractory_period": 2}),
    "AdaptiveLIF": (AdaptiveLIF, {"theta_plus": 0.2, "theta_decay_tau": 20.0}),
    "AdaptiveLIF winner-take-all": (AdaptiveLIF, {"winner_take_all": True, "theta_plus": 0.1,
                                                  "theta_decay_tau": 20.0, "refractory_period": 1}),
    "Izhikevich": (Izhikevich, {"firing_threshold": 30.0, "max_weight": 12.0, "izhikevich_dt": 0.5,
                                "a": [0.02, 0.1, 0.02], "d": [8.0, 2.0, 8.0]}),
    "RandPotential": (RandPotential, {"potential_noise_scale": 0.5, "prob_rand_fire": 0.3}),
    "QuadraticIF (user file)": (QuadraticIF, {"firing_threshold": 2.0, "resting_mv": 0.0}),
}


def build(neurons, extra, engine, dtype="float64", synapses=MSTDPET, network_class=ActiveRLNetwork):
    parts = dict(inputs=RateMap, neurons=neurons, weights=Random, synapses=synapses, readout=Threshold,
                 rewarder=MatchExpected)
    declared = {row["key"] for row in network_class.list_keys(print_table=False, **parts)}
    keys = {k: v for k, v in {**KEYS, **extra}.items() if k in declared}
    return network_class(parts=parts, keys=keys, batch_size=3, seed=0, engine=engine, dtype=dtype)


def play(network, ticks=20, seed=0):
    rng = np.random.default_rng(seed)
    logs = []
    for _ in range(ticks):
        state = rng.integers(0, 2, (3, 2))
        action = network.tick(state)
        network.reward(state, action)
        logs.append(network.spike_log)
    return np.concatenate(logs, axis=1)


def assert_engines_agree(extra, neurons, dtype, synapses, network_class, atol):
    reference = build(neurons, extra, "reference", dtype, synapses, network_class)
    compiled = build(neurons, extra, "compiled", dtype, synapses, network_class)
    assert compiled.engine == "compiled", compiled.engine_reason
    spikes_reference, spikes_compiled = play(reference), play(compiled)
    body = spikes_reference[:, :, reference.n_inputs:]
    assert body.any() and not body.all(), "a test network must be neither silent nor saturated"
    np.testing.assert_array_equal(spikes_compiled, spikes_reference)
    for name in type(reference.neurons).model_state:
        np.testing.assert_allclose(getattr(compiled.neurons, name), getattr(reference.neurons, name),
                                   rtol=0, atol=atol)
    np.testing.assert_allclose(compiled.weights.matrix, reference.weights.matrix, rtol=0, atol=atol)


@needs_numba
@pytest.mark.parametrize("model", list(MODELS))
def test_every_neuron_model_compiles_and_equals_the_reference_path_float64(model):
    neurons, extra = MODELS[model]
    assert_engines_agree(extra, neurons, "float64", MSTDPET, ActiveRLNetwork, atol=1e-10)


@needs_numba
@pytest.mark.parametrize("model", ["LIF delay 3", "AdaptiveLIF winner-take-all", "Izhikevich", "QuadraticIF (user file)"])
@pytest.mark.parametrize("synapses", [Static, STDP, MSTDP])
def test_neuron_models_with_each_rule_float32(model, synapses):
    neurons, extra = MODELS[model]
    network_class = Network if synapses is STDP else ActiveRLNetwork
    assert_engines_agree(extra, neurons, "float32", synapses, network_class, atol=1e-5)


@needs_numba
def test_adaptation_is_frozen_in_eval_on_the_compiled_path():
    network = build(AdaptiveLIF, MODELS["AdaptiveLIF"][1], "compiled")
    play(network, ticks=3)
    before = network.neurons.theta_adapt.copy()
    assert before.any()
    network.eval()
    play(network, ticks=3)
    np.testing.assert_array_equal(network.neurons.theta_adapt, before)


@needs_numba
def test_a_delayed_spike_arrives_exactly_delay_steps_later_on_the_compiled_path():
    """One neuron driven above threshold at step 0 only: its spike is logged at step D."""
    from spikey.snn import Manual, StaticMap
    for delay in (0, 1, 5):
        class Net(Network):
            parts = dict(inputs=StaticMap, neurons=LIF, weights=Manual, synapses=Static, readout=Threshold)
            keys = dict(n_inputs=1, n_neurons=1, n_outputs=1, processing_time=8, firing_threshold=1.0,
                        potential_decay=1.0, max_weight=5.0, matrix=np.array([[2.0], [0.0]]),
                        spike_delay=delay, action_threshold=0.5,
                        state_spike_map={(0,): [0.0], (1,): [1.0]})
        network = Net(engine="compiled")
        assert network.engine == "compiled"
        network.tick(np.array([[1]]))
        log = network.spike_log[0, :, 1]
        # the input spikes at every step: the neuron charges at step 0, fires from step 1 on
        assert log.argmax() == 1 + delay and not log[:1 + delay].any()
