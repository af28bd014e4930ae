"""Plasticity rules against plain-loop oracles and analytic properties.

The oracles below loop over lanes, synapses and time and are written straight
from the equations (Florian 2007 for STDP/MSTDP/MSTDPET; the RLSTDP docstring
for RLSTDP), independently of the batched code: they keep their own traces,
use unsigned spike indicators and apply the presynaptic polarity to the change
of the stored weight magnitude, and clip to [0, max_weight] every step.
"""
import math

import numpy as np
import pytest

from spikey.backend import Backend
from spikey.module import KeyRangeError, KeyTypeError, MissingKeyError
from spikey.snn import (ActiveRLNetwork, LIF, Manual, MSTDP, MSTDPET, Network, Random, RateMap,
                        RewardFunction, RLNetwork, RLSTDP, STDP, Threshold, fused)
from spikey.snn.synapse.rlstdp import window_kernel

B, N_IN, N, T = 3, 4, 5, 200
N_PRE = N_IN + N
MAX_W = 1.0
TRACE_KEYS = dict(tau_plus=7.0, tau_minus=11.0, a_plus=0.8, a_minus=0.6)
F64 = Backend("numpy", dtype="float64")
F32 = Backend("numpy", dtype="float32")


# -- data ----------------------------------------------------------------------------------------
def spike_data(seed, steps=T, p=0.25, p_none=0.1):
    """Unsigned spikes (steps, B, n), polarities (B, n) of ±1, rewards (steps, B) with None rows."""
    rng = np.random.default_rng(seed)
    fired = (rng.random((steps, B, N_PRE)) < p).astype(float)
    polarity = np.where(rng.random((B, N_PRE)) < 0.3, -1.0, 1.0)
    values = rng.normal(size=(steps, B))
    values[rng.random((steps, B)) < 0.15] = 0.0
    rewards = [None if rng.random() < p_none else values[t] for t in range(steps)]
    return fired, polarity, rewards


def initial_weights(seed, low=0.3, high=0.7, p_absent=0.1):
    """(B, n, N) weights, mostly inside the bounds, some absent synapses (zeros)."""
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(low, high, (B, N_PRE, N))
    matrix[rng.random((B, N_PRE, N)) < p_absent] = 0.0
    return matrix


def make_rule(cls, backend, matrix, deferred=False, **keys):
    weights = Manual(n_inputs=N_IN, n_neurons=N, max_weight=MAX_W, matrix=matrix, batch_size=B,
                     backend=backend)
    rule = cls(n_inputs=N_IN, n_neurons=N, batch_size=B, backend=backend, **keys)
    if deferred:
        rule.deferred = True
    rule.bind(weights)
    return rule


def start_weights(rule):
    """The rule's weights at the start, in float64 (the oracle starts from the same rounded values)."""
    return rule.backend.to_numpy(rule.weights.matrix).astype(np.float64)


def run_rule(rule, fired, polarity, rewards, block=None):
    """Drive the batched rule; with ``block`` the rewards are deferred to each block's end."""
    backend = rule.backend
    for t in range(fired.shape[0]):
        pre = backend.asarray(fired[t] * polarity)
        post = backend.asarray(fired[t][:, N_IN:])
        if block is None:
            rule.update(pre, post, rewards[t])
        else:
            rule.update(pre, post)
            if t % block == block - 1:
                rule.apply_reward(np.asarray(rewards[t]))
    return backend.to_numpy(rule.weights.matrix).astype(np.float64)


def block_rewards(rewards, block):
    """Deferred runs need a reward at every block end (no None there)."""
    return [np.zeros(B) if r is None and t % block == block - 1 else r for t, r in enumerate(rewards)]


def clip_lane(w, mask):
    for i in range(N_PRE):
        for j in range(N):
            w[i][j] = min(max(w[i][j], 0.0), MAX_W) if mask[i][j] else 0.0


# -- oracles -------------------------------------------------------------------------------------
def oracle_trace_rule(kind, w0, fired, polarity, rewards, learning_rate, tau_plus, tau_minus, a_plus,
                      a_minus, tau_eligibility=None, block=None, normalize_columns=None):
    """Florian (2007) STDP / MSTDP / MSTDPET with one loop per lane, step and synapse.

    P+ = P+ e^{-1/τ+} + A+ f_pre;  P- = P- e^{-1/τ-} - A- f_post;  ζ = P+ f_post + P- f_pre.
    STDP: w += γ ζ;  MSTDP: w += γ r ζ;  MSTDPET: z = z e^{-1/τz} + ζ, w += γ r z;
    each change times the presynaptic polarity; deferred: w += γ r Σ_block (ζ or z).
    """
    steps = fired.shape[0]
    rates = np.broadcast_to(learning_rate, (B,))
    result = np.zeros_like(w0)
    for b in range(B):
        w = [[float(w0[b, i, j]) for j in range(N)] for i in range(N_PRE)]
        mask = [[w0[b, i, j] != 0 for j in range(N)] for i in range(N_PRE)]
        p_plus = [0.0] * N_PRE
        p_minus = [0.0] * N
        z = [[0.0] * N for _ in range(N_PRE)]
        total = [[0.0] * N for _ in range(N_PRE)]
        gamma = float(rates[b])
        for t in range(steps):
            f_pre = fired[t, b]
            f_post = fired[t, b, N_IN:]
            for i in range(N_PRE):
                p_plus[i] = p_plus[i] * math.exp(-1 / tau_plus) + a_plus * f_pre[i]
            for j in range(N):
                p_minus[j] = p_minus[j] * math.exp(-1 / tau_minus) - a_minus * f_post[j]
            r = rewards[t]
            for i in range(N_PRE):
                for j in range(N):
                    zeta = p_plus[i] * f_post[j] + p_minus[j] * f_pre[i]
                    if kind == "stdp":
                        w[i][j] += polarity[b, i] * gamma * zeta
                        continue
                    if kind == "mstdpet":
                        z[i][j] = z[i][j] * math.exp(-1 / tau_eligibility) + zeta
                        eligibility = z[i][j]
                    else:
                        eligibility = zeta
                    if block is not None:
                        total[i][j] += eligibility
                    elif r is not None:
                        w[i][j] += polarity[b, i] * gamma * r[b] * eligibility
            if block is not None and t % block == block - 1:
                for i in range(N_PRE):
                    for j in range(N):
                        w[i][j] += polarity[b, i] * gamma * r[b] * total[i][j]
                        total[i][j] = 0.0
            clip_lane(w, mask)
            if normalize_columns is not None:
                for j in range(N):
                    column = sum(w[i][j] for i in range(N_PRE))
                    if column > 0:
                        for i in range(N_PRE):
                            w[i][j] *= normalize_columns / column
                clip_lane(w, mask)
        result[b] = w
    return result


def oracle_rlstdp(w0, fired, polarity, rewards, learning_rate, stdp_window, trace_decay, block=None):
    """RLSTDP from its docstring, over the full spike history (no ring buffer).

    Synapse i -> body j changes by γ z pol_i Σ_{Δ=1}^{W-1} K(Δ) (f_i(t-Δ) f_j(t) - f_i(t) f_j(t-Δ))
    with K(Δ) = (W-Δ)/(W-1); z = z(1 - decay) + r per step, or per block end when deferred.
    """
    steps = fired.shape[0]
    rates = np.broadcast_to(learning_rate, (B,))
    decays = np.broadcast_to(trace_decay, (B,))
    W = stdp_window
    result = np.zeros_like(w0)
    for b in range(B):
        w = [[float(w0[b, i, j]) for j in range(N)] for i in range(N_PRE)]
        mask = [[w0[b, i, j] != 0 for j in range(N)] for i in range(N_PRE)]
        z = 0.0
        for t in range(steps):
            r = rewards[t]
            if block is None:
                z = z * (1 - decays[b]) + (0.0 if r is None else r[b])
            for i in range(N_PRE):
                for j in range(N):
                    post = N_IN + j
                    pairing = 0.0
                    for delta in range(1, W):
                        if t - delta < 0:
                            break
                        kernel = (W - delta) / (W - 1)
                        pairing += kernel * fired[t - delta, b, i] * fired[t, b, post]   # LTP
                        pairing -= kernel * fired[t, b, i] * fired[t - delta, b, post]   # LTD
                    w[i][j] += rates[b] * z * polarity[b, i] * pairing
            clip_lane(w, mask)
            if block is not None and t % block == block - 1:
                z = z * (1 - decays[b]) + r[b]
        result[b] = w
    return result


# -- oracle equivalence --------------------------------------------------------------------------
TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-6, atol=1e-6)}
TRACE_CASES = {
    "stdp": (STDP, {}),
    "mstdp": (MSTDP, {}),
    "mstdpet": (MSTDPET, {"tau_eligibility": 9.0}),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", sorted(TRACE_CASES))
def test_trace_rules_match_oracle(kind, dtype):
    cls, extra = TRACE_CASES[kind]
    fired, polarity, rewards = spike_data(1)
    learning_rate = np.array([0.004, 0.01, 0.002])  # per member
    rule = make_rule(cls, Backend("numpy", dtype=dtype), initial_weights(2),
                     learning_rate=learning_rate, **TRACE_KEYS, **extra)
    w0 = start_weights(rule)
    got = run_rule(rule, fired, polarity, rewards)
    expected = oracle_trace_rule(kind, w0, fired, polarity, rewards, learning_rate, **TRACE_KEYS,
                                 **extra)
    assert np.abs(expected - w0).max() > 1e-2  # learning happened
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["mstdp", "mstdpet"])
def test_deferred_reward_matches_oracle(kind, dtype):
    cls, extra = TRACE_CASES[kind]
    block = 10
    fired, polarity, rewards = spike_data(3)
    rewards = block_rewards(rewards, block)
    rule = make_rule(cls, Backend("numpy", dtype=dtype), initial_weights(4), deferred=True,
                     learning_rate=0.002, **TRACE_KEYS, **extra)
    w0 = start_weights(rule)
    got = run_rule(rule, fired, polarity, rewards, block=block)
    expected = oracle_trace_rule(kind, w0, fired, polarity, rewards, 0.002, **TRACE_KEYS, block=block,
                                 **extra)
    assert np.abs(expected - w0).max() > 1e-2
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("kind", sorted(TRACE_CASES))
def test_clipping_matches_oracle(kind):
    """Weights start near the bounds and learn fast, so many hit 0 or max_weight."""
    cls, extra = TRACE_CASES[kind]
    fired, polarity, rewards = spike_data(5)
    matrix = initial_weights(6, low=0.02, high=0.98)
    rule = make_rule(cls, F64, matrix, learning_rate=0.2, **TRACE_KEYS, **extra)
    got = run_rule(rule, fired, polarity, rewards)
    expected = oracle_trace_rule(kind, matrix, fired, polarity, rewards, 0.2, **TRACE_KEYS, **extra)
    present = matrix != 0
    assert (expected[present] == 0).sum() > 5 and (expected[present] == MAX_W).sum() > 5
    np.testing.assert_allclose(got, expected, **TOLERANCE["float64"])


def test_stdp_normalized_columns_match_oracle():
    fired, polarity, rewards = spike_data(7)
    rule = make_rule(STDP, F64, initial_weights(8), learning_rate=0.01, normalize_columns=2.5,
                     **TRACE_KEYS)
    w0 = start_weights(rule)
    got = run_rule(rule, fired, polarity, rewards)
    expected = oracle_trace_rule("stdp", w0, fired, polarity, rewards, 0.01, **TRACE_KEYS,
                                 normalize_columns=2.5)
    np.testing.assert_allclose(got, expected, **TOLERANCE["float64"])
    np.testing.assert_allclose(got.sum(axis=1), 2.5, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("window", [2, 3, 7])
def test_rlstdp_matches_oracle(window, dtype):
    fired, polarity, rewards = spike_data(9)
    learning_rate = np.array([0.01, 0.02, 0.005])
    trace_decay = np.array([1.0, 0.3, 0.0])  # per member: z = r, a leaky sum, a plain sum
    rule = make_rule(RLSTDP, Backend("numpy", dtype=dtype), initial_weights(10),
                     learning_rate=learning_rate, stdp_window=window, trace_decay=trace_decay)
    w0 = start_weights(rule)
    got = run_rule(rule, fired, polarity, rewards)
    expected = oracle_rlstdp(w0, fired, polarity, rewards, learning_rate, window, trace_decay)
    assert np.abs(expected - w0).max() > 1e-2
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("trace_decay", [1.0, 0.25])
def test_rlstdp_deferred_matches_oracle(trace_decay):
    block = 10
    fired, polarity, rewards = spike_data(11)
    rewards = block_rewards(rewards, block)
    rule = make_rule(RLSTDP, F64, initial_weights(12), deferred=True, learning_rate=0.01,
                     stdp_window=5, trace_decay=trace_decay)
    w0 = start_weights(rule)
    got = run_rule(rule, fired, polarity, rewards, block=block)
    expected = oracle_rlstdp(w0, fired, polarity, rewards, 0.01, 5, trace_decay, block=block)
    assert np.abs(expected - w0).max() > 1e-2
    np.testing.assert_allclose(got, expected, **TOLERANCE["float64"])


def test_rlstdp_clipping_matches_oracle():
    fired, polarity, rewards = spike_data(13)
    matrix = initial_weights(14, low=0.02, high=0.98)
    rule = make_rule(RLSTDP, F64, matrix, learning_rate=0.6, stdp_window=4, trace_decay=0.5)
    got = run_rule(rule, fired, polarity, rewards)
    expected = oracle_rlstdp(matrix, fired, polarity, rewards, 0.6, 4, 0.5)
    present = matrix != 0
    assert (expected[present] == 0).sum() > 5 and (expected[present] == MAX_W).sum() > 5
    np.testing.assert_allclose(got, expected, **TOLERANCE["float64"])


# -- analytic properties -------------------------------------------------------------------------
def single_synapse(cls, w=0.5, **keys):
    """One input -> one body neuron (the body self-synapse absent), B = 1, float64."""
    weights = Manual(n_inputs=1, n_neurons=1, max_weight=1.0, matrix=np.array([[w], [0.0]]),
                     backend=F64)
    rule = cls(n_inputs=1, n_neurons=1, backend=F64, **keys)
    rule.bind(weights)
    return rule


def pair_change(rule, dt, reward=None, polarity=1.0, tail=0):
    """Δw of the input -> body synapse for a pre spike and a post spike dt steps later (dt < 0:
    post first), with ``reward`` at every step (None: no reward), ``tail`` quiet steps after."""
    start = float(rule.weights.matrix[0, 0, 0])
    first, last = (0, dt) if dt >= 0 else (-dt, 0)
    r = None if reward is None else np.array([reward])
    for t in range(max(first, last) + 1 + tail):
        pre = np.array([[polarity * (t == first), float(t == last)]])  # body events are pre too
        post = np.array([[float(t == last)]])
        rule.update(pre, post, r)
    return float(rule.weights.matrix[0, 0, 0]) - start


REWARDED = {
    "stdp": (STDP, None, {}),
    "mstdp": (MSTDP, 1.0, {}),
    "mstdpet": (MSTDPET, 1.0, {"tau_eligibility": 10.0}),
    "rlstdp": (RLSTDP, 1.0, {"stdp_window": 10}),
}


@pytest.mark.parametrize("kind", sorted(REWARDED))
def test_pre_before_post_potentiates_and_post_before_pre_depresses(kind):
    cls, reward, keys = REWARDED[kind]
    for dt in (1, 3):
        assert pair_change(single_synapse(cls, learning_rate=0.01, **keys), dt, reward) > 0
        assert pair_change(single_synapse(cls, learning_rate=0.01, **keys), -dt, reward) < 0
        # an inhibitory presynaptic neuron: the stored magnitude moves the other way
        assert pair_change(single_synapse(cls, learning_rate=0.01, **keys), dt, reward, -1.0) < 0
        assert pair_change(single_synapse(cls, learning_rate=0.01, **keys), -dt, reward, -1.0) > 0


@pytest.mark.parametrize("cls", [STDP, MSTDP])
def test_stdp_window_is_exponential(cls):
    keys = dict(learning_rate=0.01, tau_plus=10.0, tau_minus=15.0, a_plus=0.7, a_minus=0.4)
    reward = None if cls is STDP else 1.0
    for dt in range(-30, 31):
        got = pair_change(single_synapse(cls, **keys), dt, reward)
        if dt > 0:
            expected = 0.01 * 0.7 * math.exp(-dt / 10.0)
        elif dt < 0:
            expected = -0.01 * 0.4 * math.exp(dt / 15.0)
        else:
            expected = 0.01 * (0.7 - 0.4)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), dt


@pytest.mark.parametrize("window", [2, 3, 8])
def test_rlstdp_window_is_linear(window):
    for dt in range(-window - 2, window + 3):
        got = pair_change(single_synapse(RLSTDP, learning_rate=0.01, stdp_window=window), dt, 1.0)
        expected = 0.0 if dt == 0 or abs(dt) >= window else \
            math.copysign(0.01 * (window - abs(dt)) / (window - 1), dt)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), dt
    assert window_kernel(window)[0] == 1.0


@pytest.mark.parametrize("kind", ["mstdp", "mstdpet"])
def test_zero_reward_leaves_weights_unchanged(kind):
    cls, extra = TRACE_CASES[kind]
    fired, polarity, _ = spike_data(15)
    zeros = [np.zeros(B)] * T
    rule = make_rule(cls, F32, initial_weights(16), learning_rate=0.5, **extra)
    w0 = start_weights(rule)
    np.testing.assert_array_equal(run_rule(rule, fired, polarity, zeros), w0)
    deferred = make_rule(cls, F32, initial_weights(16), deferred=True, learning_rate=0.5, **extra)
    np.testing.assert_array_equal(run_rule(deferred, fired, polarity, zeros, block=20), w0)


@pytest.mark.parametrize("kind", ["mstdp", "mstdpet", "rlstdp"])
def test_negative_reward_reverses_the_change(kind):
    cls, extra = {**TRACE_CASES, "rlstdp": (RLSTDP, {"stdp_window": 6, "trace_decay": 0.5})}[kind]
    fired, polarity, _ = spike_data(17)
    rng = np.random.default_rng(18)
    rewards = list(rng.uniform(0.1, 1.0, (T, B)))
    changes = []
    for sign in (1.0, -1.0):
        rule = make_rule(cls, F64, initial_weights(19, p_absent=0.0), learning_rate=0.0005, **extra)
        w0 = start_weights(rule)
        changes.append(run_rule(rule, fired, polarity, [sign * r for r in rewards]) - w0)
    assert np.abs(changes[0]).max() > 1e-2
    assert np.abs(w0 + changes[0]).min() > 0 and (w0 + changes[0]).max() < MAX_W  # away from bounds
    np.testing.assert_allclose(changes[1], -changes[0], rtol=1e-9, atol=1e-14)


def test_mstdpet_delayed_reward_decays_with_tau_eligibility():
    tau_z, tau_plus, a_plus, lr = 12.0, 8.0, 0.9, 0.01
    for k in (0, 1, 5, 12, 40):
        rule = single_synapse(MSTDPET, learning_rate=lr, tau_eligibility=tau_z, tau_plus=tau_plus,
                              a_plus=a_plus)
        rule.update(np.array([[1.0, 0.0]]), np.array([[0.0]]))   # pre at step 0
        rule.update(np.array([[0.0, 1.0]]), np.array([[1.0]]), np.array([1.0]) if k == 0 else None)
        for step in range(1, k + 1):                              # reward k steps after the post spike
            rule.update(np.zeros((1, 2)), np.zeros((1, 1)), np.array([1.0]) if step == k else None)
        change = float(rule.weights.matrix[0, 0, 0]) - 0.5
        expected = lr * a_plus * math.exp(-1 / tau_plus) * math.exp(-k / tau_z)
        assert change == pytest.approx(expected, rel=1e-12), k


@pytest.mark.parametrize("cls,extra", [(STDP, {}), (MSTDP, {}), (MSTDPET, {}),
                                       (RLSTDP, {"stdp_window": 5, "trace_decay": 0.5})])
def test_absent_synapses_never_change(cls, extra):
    weights = Random(n_inputs=N_IN, n_neurons=N, max_weight=MAX_W, connection_prob=0.5, batch_size=B,
                     seed=21, backend=F32)
    rule = cls(n_inputs=N_IN, n_neurons=N, batch_size=B, backend=F32, learning_rate=0.3, **extra)
    rule.bind(weights)
    absent = weights.initial == 0
    assert absent.sum() > 20 and (~absent).sum() > 20
    fired, polarity, rewards = spike_data(22, steps=100, p=0.4, p_none=0.0)
    got = run_rule(rule, fired, polarity, rewards)
    assert (got[absent] == 0).all()
    assert np.abs(got - weights.initial)[~absent].max() > 0.1
    assert got.min() >= 0 and got.max() <= MAX_W


# -- rules inside a network ----------------------------------------------------------------------
def xor_reward(state, action, state_next, params):
    target = np.asarray(state).sum(axis=1) % 2 == 1
    return np.where(np.asarray(action).astype(bool) == target, 1.0, -1.0)


NETWORK_CASES = [
    (Network, STDP, {}),
    (RLNetwork, MSTDP, {}),
    (RLNetwork, MSTDPET, {}),
    (RLNetwork, RLSTDP, {"stdp_window": 4, "trace_decay": 0.0}),
    (ActiveRLNetwork, MSTDPET, {}),
    (ActiveRLNetwork, RLSTDP, {"stdp_window": 4}),
]


def tiny_network(network_cls, rule, extra):
    keys = {"n_inputs": 4, "n_neurons": 3, "n_outputs": 1, "processing_time": 10,
            "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 2.0,
            "matrix": np.full((7, 3), 0.6), "learning_rate": 0.05, "action_threshold": 0.1,
            "state_rate_map": {(0, 0): [0.1, 0.1], (0, 1): [0.1, .6], (1, 0): [.6, 0.1],
                               (1, 1): [.6, .6]},
            "reward_fn": xor_reward, **extra}
    parts = {"inputs": RateMap, "neurons": LIF, "weights": Manual, "synapses": rule,
             "readout": Threshold, "rewarder": RewardFunction}
    return network_cls(parts=parts, keys=keys, batch_size=2, seed=3)


def play(net, ticks, seed):
    rng = np.random.default_rng(seed)
    for _ in range(ticks):
        state = rng.integers(0, 2, (2, 2))
        action = net.tick(state)
        net.reward(state, action)


@pytest.mark.parametrize("fused_on", [True, False], ids=["compiled", "reference"])
@pytest.mark.parametrize("network_cls,rule,extra", NETWORK_CASES)
def test_eval_stops_learning(network_cls, rule, extra, fused_on):
    net = tiny_network(network_cls, rule, extra)
    net.fused = fused_on
    # The path that runs is asserted, so the compiled engine's eval is checked too (RLSTDP has none).
    compiled = fused_on and fused.available() and rule in (STDP, MSTDP, MSTDPET)
    assert (net.fused_engine() is not None) == compiled, fused.unsupported_reason(net)
    before = net.backend.to_numpy(net.weights.matrix).copy()
    play(net, 20, seed=0)
    trained = net.backend.to_numpy(net.weights.matrix).copy()
    assert np.abs(trained - before).max() > 1e-3  # the control: training does learn
    net.eval()
    play(net, 50, seed=1)
    np.testing.assert_array_equal(net.backend.to_numpy(net.weights.matrix), trained)
    net.train()
    play(net, 20, seed=2)
    assert np.abs(net.backend.to_numpy(net.weights.matrix) - trained).max() > 0


# -- RLSTDP specifics ----------------------------------------------------------------------------
def test_rlstdp_bad_keys_raise():
    base = dict(n_inputs=1, n_neurons=1, learning_rate=0.1, stdp_window=3)
    for key, value, error in [("stdp_window", 1, KeyRangeError), ("stdp_window", 0, KeyRangeError),
                              ("learning_rate", -1.0, KeyRangeError),
                              ("trace_decay", 1.5, KeyRangeError), ("trace_decay", -0.1, KeyRangeError),
                              ("stdp_window", 2.5, KeyTypeError)]:
        with pytest.raises(error) as info:
            RLSTDP(**{**base, key: value})
        assert "RLSTDP" in str(info.value) and key in str(info.value) and info.value.key == key
    with pytest.raises(MissingKeyError, match="stdp_window"):
        RLSTDP(n_inputs=1, n_neurons=1, learning_rate=0.1)


def test_rlstdp_checkpoint_resumes_exactly():
    fired, polarity, rewards = spike_data(23, steps=60)
    rule = make_rule(RLSTDP, F64, initial_weights(24), learning_rate=0.02, stdp_window=7,
                     trace_decay=0.2)
    run_rule(rule, fired[:33], polarity, rewards[:33])   # position 33 % 6 = 3: mid-ring
    saved = (rule.state_dict(), rule.weights.state_dict())
    final = run_rule(rule, fired[33:], polarity, rewards[33:])
    resumed = make_rule(RLSTDP, F64, initial_weights(24), learning_rate=0.02, stdp_window=7,
                        trace_decay=0.2)
    resumed.load_state_dict(saved[0])
    resumed.weights.load_state_dict(saved[1])
    np.testing.assert_array_equal(run_rule(resumed, fired[33:], polarity, rewards[33:]), final)


def test_rlstdp_window_change_reallocates_ring():
    rule = make_rule(RLSTDP, F64, initial_weights(25), learning_rate=0.02, stdp_window=3)
    assert rule.history.shape == (B, 2, N_PRE)
    rule.set_param("stdp_window", 6)
    assert rule.history.shape == (B, 5, N_PRE) and rule.kernels.shape == (5, 5)
    fired, polarity, rewards = spike_data(26, steps=20)
    run_rule(rule, fired, polarity, rewards)


# -- torch ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,extra,block", [(MSTDPET, {"tau_eligibility": 9.0}, None),
                                             (MSTDPET, {}, 10),
                                             (STDP, {"normalize_columns": 2.0}, None),
                                             (RLSTDP, {"stdp_window": 5, "trace_decay": 0.3}, None),
                                             (RLSTDP, {"stdp_window": 2}, 10)])
def test_torch_matches_numpy(cls, extra, block):
    pytest.importorskip("torch")
    fired, polarity, rewards = spike_data(27)
    if block:
        rewards = block_rewards(rewards, block)
    keys = {**(TRACE_KEYS if cls is not RLSTDP else {}), **extra}
    results = []
    for backend in (F32, Backend("torch")):
        rule = make_rule(cls, backend, initial_weights(28), deferred=block is not None,
                         learning_rate=np.array([0.004, 0.01, 0.002]), **keys)
        results.append(run_rule(rule, fired, polarity, rewards, block=block))
    assert np.abs(results[0] - initial_weights(28)).max() > 1e-2
    np.testing.assert_allclose(results[1], results[0], rtol=0, atol=1e-5)
