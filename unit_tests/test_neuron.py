"""Neuron family: LIF, RandPotential, AdaptiveLIF, Izhikevich against hand computations and
plain-Python scalar references (the oracles), plus batching, seeding and backend equivalence."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spikey.backend import Backend
from spikey.module import KeyRangeError, KeyTypeError, MissingKeyError, UnknownKeyError
from spikey.snn.neuron import LIF, AdaptiveLIF, Izhikevich, Neuron, RandPotential

F64 = dict(backend=Backend("numpy", dtype="float64"))


def simulate(neurons, currents):
    """Drive ``neurons`` with ``currents`` (T, B, N): returns spikes, fired and potentials (T, B, N)."""
    backend = neurons.backend
    spikes, fired, potentials = [], [], []
    for current in currents:
        spikes.append(backend.to_numpy(neurons()).copy())
        fired.append(backend.to_numpy(neurons.fired).copy())
        neurons.update(backend.asarray(current))
        potentials.append(backend.to_numpy(neurons.potential).copy())
    return np.array(spikes), np.array(fired), np.array(potentials)


# -- plain-Python scalar references (one neuron, one network) -----------------------------------
def lif_reference(currents, theta, decay, v_rest, refractory):
    """Spikey's LIF: a spike at step t blocks firing at t+1..t+R and holds V = V_rest through the
    updates t..t+R-1; with R = 0 the update of step t integrates that step's input after the reset."""
    v, blocked_until, spikes, potentials = v_rest, -1, [], []
    for t, current in enumerate(currents):
        spike = v >= theta and t > blocked_until
        if spike:
            blocked_until = t + refractory
            v = v_rest
        if t < blocked_until:
            v = v_rest
        else:
            v = v_rest + (v - v_rest) * (1.0 - decay) + current
        spikes.append(spike)
        potentials.append(v)
    return np.array(spikes), np.array(potentials)


def adaptive_reference(currents, theta, decay, theta_plus, tau):
    """AdaptiveLIF with R = 0, no random firing: V >= θ + θ_a; θ_a <- θ_a e^(-1/τ) + θ_plus s."""
    v, adapt, spikes, adapts = 0.0, 0.0, [], []
    for current in currents:
        spike = v >= theta + adapt
        if spike:
            v = 0.0
        v = v * (1.0 - decay) + current
        adapt = adapt * math.exp(-1.0 / tau) + theta_plus * spike
        spikes.append(spike)
        adapts.append(adapt)
    return np.array(spikes), np.array(adapts)


def izhikevich_reference(currents, a, b, c, d, h, refractory=0, threshold=30.0, v0=-65.0):
    """Izhikevich (2003) written out with Python floats, in the order the paper's code uses."""
    v, u, blocked_until = v0, b * v0, -1
    spikes, vs, us = [], [], []
    for t, current in enumerate(currents):
        spike = v >= threshold and t > blocked_until
        if spike:
            blocked_until = t + refractory
            v = c
            u = u + d
        if t < blocked_until:  # held at the reset potential, input ignored
            v, current = c, 0.0
        v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
        v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
        u = u + h * (a * (b * v - u))
        spikes.append(spike)
        vs.append(v)
        us.append(u)
    return np.array(spikes), np.array(vs), np.array(us)


# -- LIF ---------------------------------------------------------------------------------------
def test_lif_hand_computation():
    # θ = 1, d = 0.5, V_rest = 0.25; every number is a binary fraction, so float32 is exact.
    lif = LIF(n_neurons=1, firing_threshold=1.0, potential_decay=0.5, resting_mv=0.25)
    assert lif.potential.tolist() == [[0.25]]
    currents = np.array([0.5, 0.5, 0.125, 0.0, 0.0]).reshape(5, 1, 1)
    spikes, _, potentials = simulate(lif, currents)
    # 0.25+0.5 = 0.75; 0.25+0.5*0.5+0.5 = 1.0 (= θ: fires next step); reset 0.25 then +0.125
    # (R = 0: the same step's input counts); 0.25+0.125*0.5; 0.25+0.0625*0.5.
    assert potentials.ravel().tolist() == [0.75, 1.0, 0.375, 0.3125, 0.28125]
    assert spikes.ravel().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("refractory", [0, 1, 2, 3])
def test_lif_refractory_hand_computation(refractory):
    # Constant drive 2 > θ = 1 with no leak: a spike, then R steps of silence with V held at
    # V_rest (input ignored), then one update of input, then the next spike.
    lif = LIF(n_neurons=1, firing_threshold=1.0, potential_decay=0.0, refractory_period=refractory)
    spikes, _, potentials = simulate(lif, np.full((12, 1, 1), 2.0))
    period = refractory + 1
    expected_spikes = [t >= 1 and (t - 1) % period == 0 for t in range(12)]
    assert (spikes.ravel() != 0).tolist() == expected_spikes
    expected_v = [2.0 if t == 0 or (t - 1) % period == period - 1 else 0.0 for t in range(12)]
    assert potentials.ravel().tolist() == expected_v


@pytest.mark.parametrize("refractory", [0, 1, 4])
def test_lif_matches_scalar_reference(refractory):
    rng = np.random.default_rng(1)
    theta, decay, v_rest = np.array([1.0, 1.5, 0.8]), np.array([0.1, 0.3, 0.0]), np.array([0.0, -0.5, 0.2])
    currents = rng.uniform(-0.2, 0.6, size=(400, 3, 5))
    lif = LIF(n_neurons=5, batch_size=3, firing_threshold=theta, potential_decay=decay,
              resting_mv=v_rest, refractory_period=refractory, **F64)
    spikes, _, potentials = simulate(lif, currents)
    for b in range(3):
        for i in range(5):
            ref_spikes, ref_v = lif_reference(currents[:, b, i], theta[b], decay[b], v_rest[b],
                                              refractory)
            assert (spikes[:, b, i] != 0).tolist() == ref_spikes.tolist()
            np.testing.assert_allclose(potentials[:, b, i], ref_v, rtol=0, atol=1e-12)
    assert (spikes != 0).sum() > 100  # the comparison covered many spikes


def test_refractory_ignores_input():
    lif = LIF(n_neurons=1, firing_threshold=1.0, potential_decay=0.0, refractory_period=3)
    currents = np.array([5.0, 50.0, 50.0, 50.0, 0.25, 0.0]).reshape(-1, 1, 1)
    spikes, _, potentials = simulate(lif, currents)
    # Spike at step 1; the huge inputs of updates 1..3 are ignored; update 4 integrates 0.25.
    assert (spikes.ravel() != 0).tolist() == [False, True, False, False, False, False]
    assert potentials.ravel().tolist() == [5.0, 0.0, 0.0, 0.0, 0.25, 0.25]


def test_random_firing_rate():
    p = np.array([0.1, 0.3])
    lif = LIF(n_neurons=2000, batch_size=2, firing_threshold=1e9, potential_decay=0.5,
              prob_rand_fire=p)
    _, fired, _ = simulate(lif, np.zeros((200, 2, 2000)))
    np.testing.assert_allclose(fired.mean(axis=(0, 2)), p, atol=0.005)
    # With R = 1 a neuron waits one step after each spike: mean interval 1 + 1/p, rate p / (1 + p).
    lif = LIF(n_neurons=2000, batch_size=2, firing_threshold=1e9, potential_decay=0.5,
              prob_rand_fire=p, refractory_period=1)
    _, fired, _ = simulate(lif, np.zeros((200, 2, 2000)))
    np.testing.assert_allclose(fired.mean(axis=(0, 2)), p / (1 + p), atol=0.005)


def test_polarity_fraction_and_signed_spikes():
    pct = np.array([0.0, 0.2, 0.7])
    lif = LIF(n_neurons=5000, batch_size=3, firing_threshold=0.5, potential_decay=0.0,
              neuron_pct_inhibitory=pct, magnitude=2.0)
    polarities = lif.backend.to_numpy(lif.polarities)
    assert set(np.unique(polarities)) <= {-1.0, 1.0}
    np.testing.assert_allclose((polarities < 0).mean(axis=1), pct, atol=0.02)
    lif.update(np.ones((3, 5000), dtype=np.float32))
    np.testing.assert_array_equal(lif(), 2.0 * polarities)  # everyone fires, signed, scaled
    # Given polarities override the draw.
    given = np.array([[1.0, -1.0, 1.0]])
    assert LIF(n_neurons=3, firing_threshold=1.0, potential_decay=0.0,
               polarities=given).polarities.tolist() == given.tolist()


@pytest.mark.parametrize("delay", [0, 1, 5, 10, 12])
def test_spike_delay(delay):
    lif = LIF(n_neurons=2, firing_threshold=1.0, potential_decay=0.0, spike_delay=delay,
              magnitude=3.0, polarities=np.array([-1.0, 1.0]))
    steps = delay + 12
    currents = np.zeros((steps, 1, 2))
    currents[3, 0, 0] = 1.5  # integrated at the update of step 3: V >= θ at step 4
    spikes, fired, _ = simulate(lif, currents)
    assert fired[:, 0, 0].nonzero()[0].tolist() == [4]
    assert spikes[:, 0, 0].nonzero()[0].tolist() == [4 + delay]
    assert spikes[4 + delay, 0, 0] == -3.0
    assert not spikes[:, 0, 1].any()
    # reset() drops spikes still in flight.
    if delay > 0:
        lif.reset()
        lif.update(np.array([[1.5, 0.0]], dtype=np.float32))
        out = [lif.backend.to_numpy(lif()).copy() for _ in range(delay)]
        assert not np.any(out)


def test_per_member_keys_behave_like_separate_networks():
    thresholds = [1.0, 2.0, 3.0]
    currents = np.tile(np.linspace(0.0, 0.9, 4), (300, 3, 1))
    common = dict(n_neurons=4, potential_decay=0.2, prob_rand_fire=0.02, refractory_period=1)
    batch = LIF(batch_size=3, seed=10, firing_threshold=thresholds, **common)
    spikes, _, potentials = simulate(batch, currents)
    counts = []
    for b, theta in enumerate(thresholds):
        single = LIF(seed=10 + b, firing_threshold=theta, **common)
        s, _, v = simulate(single, currents[:, b:b + 1])
        np.testing.assert_array_equal(spikes[:, b], s[:, 0])
        np.testing.assert_array_equal(potentials[:, b], v[:, 0])
        counts.append((s != 0).sum())
    assert counts[0] > counts[1] > counts[2]  # the thresholds did differ


MODELS = {
    "LIF": (LIF, dict(firing_threshold=1.0, potential_decay=0.1)),
    "RandPotential": (RandPotential, dict(firing_threshold=1.0, potential_decay=0.1,
                                          potential_noise_scale=0.5)),
    "AdaptiveLIF": (AdaptiveLIF, dict(firing_threshold=1.0, potential_decay=0.1, theta_plus=0.2,
                                      theta_decay_tau=30.0)),
    "AdaptiveLIF-WTA": (AdaptiveLIF, dict(firing_threshold=1.0, potential_decay=0.1, theta_plus=0.2,
                                          theta_decay_tau=30.0, winner_take_all=True)),
    "Izhikevich": (Izhikevich, dict(a=0.02, b=0.2, c=-65.0, d=8.0)),
}


def model_currents(name, steps, batch, n, seed=0):
    rng = np.random.default_rng(seed)
    scale = 25.0 if name == "Izhikevich" else 0.5
    return rng.uniform(0.0, scale, size=(steps, batch, n))


@pytest.mark.parametrize("name", MODELS)
def test_lanes_equal_single_networks_with_their_seeds(name):
    cls, keys = MODELS[name]
    seeds = [11, 3, 7, 100]
    currents = model_currents(name, 150, 4, 6)
    common = dict(n_neurons=6, prob_rand_fire=0.05, neuron_pct_inhibitory=0.3, refractory_period=1,
                  spike_delay=2, **keys)
    batch = cls(batch_size=4, seed=seeds, **common)
    spikes, _, potentials = simulate(batch, currents)
    assert (spikes != 0).sum() > 20
    for b, seed in enumerate(seeds):
        single = cls(seed=seed, **common)
        s, _, v = simulate(single, currents[:, b:b + 1])
        np.testing.assert_array_equal(spikes[:, b], s[:, 0])
        np.testing.assert_array_equal(potentials[:, b], v[:, 0])


@pytest.mark.parametrize("name", MODELS)
def test_torch_matches_numpy(name):
    cls, keys = MODELS[name]
    currents = model_currents(name, 1000, 2, 8, seed=5)
    common = dict(n_neurons=8, batch_size=2, refractory_period=2, spike_delay=3,
                  neuron_pct_inhibitory=0.25, **keys)
    if name == "RandPotential":
        common["prob_rand_fire"] = 0.1  # its noise streams are identical on both backends
    results = []
    for backend in (Backend("numpy"), Backend("torch")):
        neurons = cls(backend=backend, **common)
        results.append(simulate(neurons, currents) + (neurons,))
    (s_np, _, v_np, n_np), (s_t, _, v_t, n_t) = results
    np.testing.assert_array_equal(s_np, s_t)
    np.testing.assert_allclose(v_t, v_np, rtol=0, atol=1e-5)
    assert (s_np != 0).sum() > 100
    for state in cls.state_names:
        a, b = getattr(n_np, state), getattr(n_t, state)
        if a is not None and a.dtype != bool:  # float state keeps the backend's dtype
            assert a.dtype == np.float32 and b.dtype == n_t.backend.dtype, state
            np.testing.assert_allclose(n_t.backend.to_numpy(b), a, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["AdaptiveLIF", "Izhikevich", "RandPotential"])
def test_state_dict_round_trip(name):
    cls, keys = MODELS[name]
    currents = model_currents(name, 100, 2, 5, seed=3)
    common = dict(n_neurons=5, batch_size=2, prob_rand_fire=0.1, spike_delay=1, **keys)
    first = cls(**common)
    simulate(first, currents[:50])
    saved = first.state_dict()
    expected = simulate(first, currents[50:])
    second = cls(**common)
    second.load_state_dict(saved)
    for got, want in zip(simulate(second, currents[50:]), expected):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_keeps_spikes_in_flight():
    # 20 steps with D = 3 leave the delay ring mid-cycle: a restored copy must deliver the
    # same spikes at the same steps as the original.
    keys = dict(n_neurons=4, firing_threshold=1.0, potential_decay=0.1, spike_delay=3)
    currents = np.random.default_rng(0).uniform(0.0, 0.8, size=(40, 1, 4))
    original = LIF(**keys)
    simulate(original, currents[:20])
    restored = LIF(**keys)
    restored.load_state_dict(original.state_dict())
    expected, _, _ = simulate(original, currents[20:])
    got, _, _ = simulate(restored, currents[20:])
    assert (expected != 0).sum() > 5
    np.testing.assert_array_equal(got, expected)


# -- RandPotential -----------------------------------------------------------------------------
def test_rand_potential_never_fires_directly():
    common = dict(n_neurons=50, firing_threshold=1.0, potential_decay=0.0, prob_rand_fire=1.0)
    _, fired, _ = simulate(LIF(**common), np.zeros((20, 1, 50)))
    assert fired[1:].all()  # LIF with p_rand = 1 fires whenever not refractory ...
    _, fired, potentials = simulate(RandPotential(potential_noise_scale=0.0, **common),
                                    np.zeros((20, 1, 50)))
    assert not fired.any() and not potentials.any()  # ... RandPotential only adds (zero) noise


def test_rand_potential_noise_statistics():
    p, scale = np.array([0.2, 0.6]), np.array([0.5, 2.0])
    neurons = RandPotential(n_neurons=1000, batch_size=2, firing_threshold=1e9, potential_decay=0.0,
                            prob_rand_fire=p, potential_noise_scale=scale, **F64)
    _, fired, potentials = simulate(neurons, np.zeros((100, 2, 1000)))
    assert not fired.any()
    kicks = np.diff(potentials, axis=0)  # no leak, no input: each change is one step's kick
    for b in range(2):
        k = kicks[:, b]
        assert k.min() >= 0 and k.max() < scale[b]
        np.testing.assert_allclose((k > 0).mean(), p[b], atol=0.01)
        np.testing.assert_allclose(k[k > 0].mean(), scale[b] / 2, rtol=0.02)


def test_rand_potential_fires_on_threshold_after_noise():
    neurons = RandPotential(n_neurons=500, firing_threshold=1.0, potential_decay=0.1,
                            prob_rand_fire=0.5, potential_noise_scale=0.6, refractory_period=1)
    total = 0
    for _ in range(300):
        may_fire = neurons.refractory <= 0
        spikes = neurons()
        # The spike rule is V >= θ on the kicked potential, gated by the refractory timer.
        np.testing.assert_array_equal(spikes != 0, (neurons.potential >= 1.0) & may_fire)
        total += int((spikes != 0).sum())
        neurons.update(np.zeros((1, 500), dtype=np.float32))
    assert total > 1000


# -- AdaptiveLIF -------------------------------------------------------------------------------
def test_adaptive_rise_and_decay_hand_computation():
    neurons = AdaptiveLIF(n_neurons=1, firing_threshold=1.0, potential_decay=0.0, theta_plus=0.5,
                          theta_decay_tau=4.0, **F64)
    currents = np.zeros((8, 1, 1))
    currents[0] = 1.0
    spikes, _, _ = simulate(neurons, currents)
    assert (spikes.ravel() != 0).tolist() == [False, True] + [False] * 6
    # Raised by 0.5 at the spike of step 1, then decayed by e^(-1/4) at each of the 6 later steps.
    np.testing.assert_allclose(neurons.theta_adapt[0, 0], 0.5 * math.exp(-6 / 4.0), rtol=1e-12)


def test_adaptive_matches_scalar_reference():
    rng = np.random.default_rng(2)
    currents = rng.uniform(0.0, 0.7, size=(500, 2, 4))
    theta_plus, tau = np.array([0.3, 0.05]), np.array([20.0, 200.0])
    neurons = AdaptiveLIF(n_neurons=4, batch_size=2, firing_threshold=1.0, potential_decay=0.2,
                          theta_plus=theta_plus, theta_decay_tau=tau, **F64)
    spikes = []
    adapts = []
    for current in currents:
        spikes.append(neurons().copy())
        neurons.update(current)
        adapts.append(neurons.theta_adapt.copy())
    spikes, adapts = np.array(spikes), np.array(adapts)
    for b in range(2):
        for i in range(4):
            ref_s, ref_a = adaptive_reference(currents[:, b, i], 1.0, 0.2, theta_plus[b], tau[b])
            assert (spikes[:, b, i] != 0).tolist() == ref_s.tolist()
            np.testing.assert_allclose(adapts[:, b, i], ref_a, rtol=1e-12, atol=1e-15)
    # Adaptation slowed firing compared with a plain LIF on the same input.
    plain = LIF(n_neurons=4, batch_size=2, firing_threshold=1.0, potential_decay=0.2, **F64)
    assert (simulate(plain, currents)[0] != 0).sum() > (spikes != 0).sum() + 50


def test_adaptive_eval_freezes_and_reset_keeps_theta():
    neurons = AdaptiveLIF(n_neurons=3, firing_threshold=1.0, potential_decay=0.1, theta_plus=0.1,
                          theta_decay_tau=50.0)
    currents = np.full((60, 1, 3), 0.6)
    simulate(neurons, currents)
    learned = neurons.theta_adapt.copy()
    assert (learned > 0).all()
    neurons.eval()
    spikes, _, _ = simulate(neurons, currents)
    assert (spikes != 0).any()  # it kept firing, yet θ_a neither rose nor decayed
    np.testing.assert_array_equal(neurons.theta_adapt, learned)
    neurons.reset()  # dynamic state cleared, the learned adaptation kept (like weights)
    assert not neurons.potential.any()
    np.testing.assert_array_equal(neurons.theta_adapt, learned)
    assert "theta_adapt" in neurons.state_names
    np.testing.assert_array_equal(neurons.state_dict()["arrays"]["theta_adapt"], learned)
    neurons.train()
    simulate(neurons, currents[:5])
    assert not np.array_equal(neurons.theta_adapt, learned)
    neurons.reset_adaptation()
    assert not neurons.theta_adapt.any()


def test_winner_take_all_picks_largest_margin():
    rng = np.random.default_rng(4)
    B, N = 3, 12
    neurons = AdaptiveLIF(n_neurons=N, batch_size=B, firing_threshold=[1.0, 0.8, 1.2],
                          potential_decay=0.05, theta_plus=0.3, theta_decay_tau=15.0,
                          refractory_period=2, winner_take_all=True, **F64)
    theta = np.array([1.0, 0.8, 1.2])
    n_spikes = 0
    for _ in range(400):
        potential, adapt = neurons.potential.copy(), neurons.theta_adapt.copy()
        may_fire = neurons.refractory <= 0
        fired = neurons() != 0
        for b in range(B):  # the oracle: a plain loop over lanes and neurons
            margins = [potential[b, i] - (theta[b] + adapt[b, i]) for i in range(N)]
            eligible = [i for i in range(N) if margins[i] >= 0 and may_fire[b, i]]
            expected = np.zeros(N, dtype=bool)
            if eligible:
                best = max(margins[i] for i in eligible)
                expected[min(i for i in eligible if margins[i] == best)] = True
            np.testing.assert_array_equal(fired[b], expected)
        n_spikes += fired.sum()
        neurons.update(rng.uniform(0.0, 0.5, size=(B, N)))
    assert n_spikes > 300


def test_winner_take_all_ties_and_random_firing():
    neurons = AdaptiveLIF(n_neurons=4, batch_size=2, firing_threshold=1.0, potential_decay=0.0,
                          winner_take_all=True)
    neurons.update(np.array([[0.5, 2.0, 2.0, 2.0], [3.0, 1.0, 3.0, 0.0]], dtype=np.float32))
    assert neurons().tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    # With random firing many neurons are eligible each step; still at most one spike per lane.
    neurons = AdaptiveLIF(n_neurons=50, batch_size=4, firing_threshold=1.0, potential_decay=0.1,
                          prob_rand_fire=0.3, winner_take_all=True)
    _, fired, _ = simulate(neurons, np.full((200, 4, 50), 0.2))
    per_lane = fired.sum(axis=2)
    assert per_lane.max() == 1 and per_lane.mean() > 0.9


# -- Izhikevich --------------------------------------------------------------------------------
@pytest.mark.parametrize("refractory", [0, 2])
def test_izhikevich_matches_scalar_reference_exactly(refractory):
    params = dict(a=[0.02, 0.1, 0.02], b=[0.2, 0.2, 0.25], c=[-65.0, -65.0, -55.0],
                  d=[8.0, 2.0, 4.0])
    h = 0.5
    rng = np.random.default_rng(6)
    t = np.arange(1000)
    drive = 8.0 + 6.0 * np.sin(t / 40.0)[:, None, None] + rng.uniform(0, 4, size=(1000, 3, 2))
    neurons = Izhikevich(n_neurons=2, batch_size=3, izhikevich_dt=h, refractory_period=refractory,
                         **params, **F64)
    spikes, vs, us = [], [], []
    for current in drive:
        spikes.append(neurons().copy())
        neurons.update(current)
        vs.append(neurons.potential.copy())
        us.append(neurons.recovery.copy())
    spikes, vs, us = np.array(spikes), np.array(vs), np.array(us)
    assert (spikes != 0).sum() > 50
    for b in range(3):
        for i in range(2):
            ref_s, ref_v, ref_u = izhikevich_reference(
                drive[:, b, i].tolist(), params["a"][b], params["b"][b], params["c"][b],
                params["d"][b], h, refractory)
            assert (spikes[:, b, i] != 0).tolist() == ref_s.tolist()
            assert vs[:, b, i].tolist() == ref_v.tolist()  # bit for bit, float64
            assert us[:, b, i].tolist() == ref_u.tolist()


def test_izhikevich_regular_vs_fast_spiking():
    # h = 0.1 ms, 1 s of I = 10: RS fires tonically with a short first interval then regular,
    # longer ones (spike-frequency adaptation); FS fires several times faster.
    cells = Izhikevich(n_neurons=1, batch_size=2, a=[0.02, 0.1], d=[8.0, 2.0], izhikevich_dt=0.1)
    _, fired, _ = simulate(cells, np.full((10000, 2, 1), 10.0))
    rs_times, fs_times = fired[:, 0, 0].nonzero()[0] * 0.1, fired[:, 1, 0].nonzero()[0] * 0.1
    assert 20 <= len(rs_times) <= 26
    rs_isi = np.diff(rs_times)
    assert rs_isi[0] < 0.6 * rs_isi[-1]
    assert rs_isi[2:].std() / rs_isi[2:].mean() < 0.02  # tonic: regular after adapting
    assert len(fs_times) > 100 and len(fs_times) > 4 * len(rs_times)
    # The paper's coarse h = 1 ms keeps the ordering.
    cells = Izhikevich(n_neurons=1, batch_size=2, a=[0.02, 0.1], d=[8.0, 2.0])
    _, fired, _ = simulate(cells, np.full((1000, 2, 1), 10.0))
    rs, fs = fired.sum(axis=(0, 2))
    assert 10 <= rs <= 30 and fs > 2 * rs


def test_izhikevich_defaults_and_reset():
    cells = Izhikevich(n_neurons=2, b=0.25)
    assert cells.params["firing_threshold"] == 30.0 and cells.params["resting_mv"] == -65.0
    assert cells.potential.tolist() == [[-65.0, -65.0]]
    assert cells.recovery.tolist() == [[-16.25, -16.25]]  # u0 = b v0
    # A spike resets v to c and raises u by d, once (also with a refractory period).
    cells = Izhikevich(n_neurons=1, c=-50.0, d=2.0, refractory_period=3, **F64)
    cells.potential[:] = 35.0
    u_before = float(cells.recovery[0, 0])
    assert cells().tolist() == [[1.0]]
    # Three held updates (R = 3): v restarts from c, input ignored, u relaxes from u + d.
    u = u_before + 2.0
    for step in range(3):
        cells.update(np.array([[100.0]]))
        v = -50.0
        v = v + 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + 0.0)
        v = v + 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + 0.0)
        u = u + 1.0 * (0.02 * (0.2 * v - u))
        assert cells.potential[0, 0] == v and cells.recovery[0, 0] == u
        assert cells().tolist() == [[0.0]]
    cells.update(np.array([[100.0]]))  # refractory over: the input counts again
    assert cells.potential[0, 0] > 30.0


# -- keys --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, keys, error, culprit", [
    (LIF, dict(firing_threshold=1.0, potential_decay=1.5), KeyRangeError, "potential_decay"),
    (LIF, dict(potential_decay=0.1), MissingKeyError, "firing_threshold"),
    (LIF, dict(firing_threshold=1.0, potential_decay=0.1, prob_rand_fire=[0.1, 2.0]), KeyRangeError,
     "prob_rand_fire"),
    (LIF, dict(firing_threshold=[1.0, 2.0, 3.0], potential_decay=0.1), KeyRangeError,
     "firing_threshold"),
    (LIF, dict(firing_threshold=1.0, potential_decay=0.1, spike_delay=-1), KeyRangeError,
     "spike_delay"),
    (LIF, dict(firing_threshold=1.0, potential_decay=0.1, refractory_period=1.5), KeyTypeError,
     "refractory_period"),
    (RandPotential, dict(firing_threshold=1.0, potential_decay=0.1), MissingKeyError,
     "potential_noise_scale"),
    (RandPotential, dict(firing_threshold=1.0, potential_decay=0.1, potential_noise_scale=-1.0),
     KeyRangeError, "potential_noise_scale"),
    (AdaptiveLIF, dict(firing_threshold=1.0, potential_decay=0.1, theta_decay_tau=0.0),
     KeyRangeError, "theta_decay_tau"),
    (AdaptiveLIF, dict(firing_threshold=1.0, potential_decay=0.1, theta_plus=-0.1), KeyRangeError,
     "theta_plus"),
    (AdaptiveLIF, dict(firing_threshold=1.0, potential_decay=0.1, winner_take_all="yes"),
     KeyTypeError, "winner_take_all"),
    (Izhikevich, dict(izhikevich_dt=0.0), KeyRangeError, "izhikevich_dt"),
    (Izhikevich, dict(a="fast"), KeyTypeError, "a"),
    (Izhikevich, dict(tau=3.0), UnknownKeyError, "tau"),
])
def test_bad_keys_name_the_culprit(cls, keys, error, culprit):
    with pytest.raises(error) as info:
        cls(n_neurons=3, batch_size=2, **keys)
    assert info.value.key == culprit and info.value.part == cls.__name__
    assert cls.__name__ in str(info.value) and repr(culprit) in str(info.value)


def test_bad_key_message():
    with pytest.raises(KeyRangeError, match=r"LIF: key 'potential_decay' = 1.5 is out of range"):
        LIF(n_neurons=3, firing_threshold=1.0, potential_decay=1.5)
    neurons = AdaptiveLIF(n_neurons=2, firing_threshold=1.0, potential_decay=0.1)
    with pytest.raises(KeyRangeError, match="AdaptiveLIF: key 'theta_decay_tau'"):
        neurons.set_param("theta_decay_tau", -5.0)


def test_template_needs_a_charge_equation():
    neurons = Neuron(n_neurons=2, firing_threshold=1.0)
    neurons()
    with pytest.raises(NotImplementedError, match="Neuron must state its charge equation"):
        neurons.update(np.zeros((1, 2), dtype=np.float32))


def test_set_param_recomputes_constants():
    neurons = AdaptiveLIF(n_neurons=1, firing_threshold=1.0, potential_decay=0.0, theta_plus=1.0,
                          theta_decay_tau=1e9, **F64)
    neurons.update(np.array([[1.0]]))
    neurons()
    neurons.set_param("theta_decay_tau", 2.0)
    neurons.update(np.array([[0.0]]))
    assert neurons.theta_adapt[0, 0] == pytest.approx(1.0)  # the spike's rise
    neurons()
    neurons.update(np.array([[0.0]]))
    assert neurons.theta_adapt[0, 0] == pytest.approx(math.exp(-0.5))  # decays with τ = 2 now


# -- in a network ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["RandPotential", "AdaptiveLIF", "Izhikevich"])
def test_models_run_in_a_network(name):
    from spikey.snn import MSTDP, Manual, MatchExpected, RateMap, RLNetwork, Threshold
    cls, keys = MODELS[name]
    weight = 20.0 if name == "Izhikevich" else 0.5

    class Net(RLNetwork):
        parts = {"inputs": RateMap, "neurons": cls, "weights": Manual, "synapses": MSTDP,
                 "readout": Threshold, "rewarder": MatchExpected}

    net = Net(batch_size=2, seed=0, n_inputs=4, n_neurons=3, n_outputs=1, processing_time=30,
              max_weight=50.0, matrix=np.full((7, 3), weight), learning_rate=0.01,
              action_threshold=0.1, state_rate_map={(0, 0): [0, 0], (0, 1): [0, .5],
                                                    (1, 0): [.5, 0], (1, 1): [.5, .5]},
              expected_value=lambda s: s.sum(axis=1) % 2, **keys)
    state = np.array([[0, 1], [1, 1]])
    action = net.tick(state)
    assert action.shape == (2,)
    assert net.spike_log[:, :, 4:].any()  # the body neurons fired
    net.reward(state, action)
    if name == "AdaptiveLIF":
        net.eval()
        frozen = net.neurons.theta_adapt.copy()
        net.tick(state)
        np.testing.assert_array_equal(net.neurons.theta_adapt, frozen)
