"""The fast paths against the plain reference: fused engine vs stepping through the parts.

``Network.tick`` runs on the compiled, spike-driven engine (``spikey.snn.fused``)
when it can; ``engine="reference"`` forces the reference path (each part's
own batched code, itself checked against plain-loop oracles in
test_synapse.py). Here both run the same seeds side by side: in float64 the
spike trains must be identical and the weights, traces and potentials equal
to rounding (the engine sums a step's synaptic input over the spiking rows in
a different order than BLAS); in float32 the spikes identical until a potential
sits within rounding of its threshold (bounds derived from float32's unit roundoff).

Also: block draws of the random streams and inputs equal step-by-step draws,
and the weight part keeps one copy of its matrix.
"""
import numpy as np
import pytest

from spikey.backend import Backend
from spikey.games import Logic, xor_gate
from spikey.snn import (LIF, MSTDP, MSTDPET, STDP, ActiveRLNetwork, Izhikevich, Manual, MatchExpected,
                        Network, Random, RateMap, RewardFunction, RLNetwork, StaticMap, Threshold, fused)

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")
RATES = {(0, 0): [0.1, 0.1], (0, 1): [0.1, .4], (1, 0): [.4, 0.1], (1, 1): [.4, .4]}
N_IN, N = 6, 5


def spike_reward(state, fired, state_next, params):
    return np.where(xor_gate(state) == 1, params["reward_mult"], -params["punish_mult"]) * fired


def sparse_layout(rng):
    """Per-lane values on one fixed sparse layout (about 20 % present): index lists, shared."""
    layout = np.random.default_rng(99).random((N_IN + N, N)) < 0.2
    layout[N_IN:, -1] = True  # every body neuron reaches the output
    layout[N_IN + N - 1, -1] = False
    return np.where(layout, rng.uniform(0.2, 1.0, layout.shape), 0.0)


KEYS = dict(n_inputs=N_IN, n_neurons=N, n_outputs=1, processing_time=40, state_rate_map=RATES,
            input_pct_inhibitory=0.3, neuron_pct_inhibitory=0.2, firing_threshold=1.0, potential_decay=0.2,
            prob_rand_fire=0.05, max_weight=1.0, learning_rate=0.05, action_threshold=0.05,
            punish_mult=1.0, reward_fn=spike_reward)
LAYOUTS = {
    "all present": (Manual, dict(matrix=lambda rng: rng.uniform(0.1, 0.9, (N_IN + N, N)))),
    "dense pattern": (Random, dict(connection_prob=0.9)),
    "index lists, per lane": (Random, dict(connection_prob=0.15, max_weight=2.5)),
    "index lists, shared": (Manual, dict(matrix=sparse_layout, max_weight=2.0)),
}
MODES = {"all present": fused.ALL_PRESENT, "dense pattern": fused.DENSE_PATTERN,
         "index lists, per lane": fused.INDEX_LISTS, "index lists, shared": fused.INDEX_LISTS}


def make(network_class=ActiveRLNetwork, rule=MSTDP, layout="dense pattern", fused_on=True, dtype="float64",
         batch_size=3, seed=11, parts=None, backend="numpy", device="cpu", **keys):
    weights, extra = LAYOUTS[layout]
    all_parts = {**dict(inputs=RateMap, neurons=LIF, weights=weights, synapses=rule, readout=Threshold,
                        rewarder=RewardFunction), **(parts or {})}
    values = {**KEYS, **extra, **keys}
    if rule is MSTDPET:
        values.setdefault("tau_eligibility", 9.0)
    if all_parts.get("rewarder") is not RewardFunction:
        values.pop("reward_fn")
    if all_parts.get("rewarder") is MatchExpected:
        values["expected_value"] = xor_gate
    if all_parts.get("rewarder") is None:
        values.pop("punish_mult")
    if all_parts["inputs"] is not RateMap:
        values.pop("state_rate_map")
    network = network_class(parts=all_parts, keys=values, batch_size=batch_size, seed=seed, dtype=dtype,
                            backend=backend, device=device)
    network.engine = "auto" if fused_on else "reference"
    return network


def play(network, ticks, seed=5):
    game = Logic("XOR", batch_size=network.batch_size, seed=seed)
    state, _ = game.reset()
    actions = []
    for _ in range(ticks):
        action = network.tick(state)
        state_next, *_ = game.step(action)
        if network.rewarder is not None:
            network.reward(state, action, state_next)
        actions.append(action)
        state = state_next
    return np.array(actions)


def assert_same_run(fast, slow, ticks=6, weight_tol=1e-12):
    a_fast, a_slow = play(fast, ticks), play(slow, ticks)
    np.testing.assert_array_equal(fast.spike_log, slow.spike_log)
    np.testing.assert_array_equal(a_fast, a_slow)
    np.testing.assert_allclose(fast.weights.matrix, slow.weights.matrix, rtol=0, atol=weight_tol)
    np.testing.assert_allclose(fast.neurons.potential, slow.neurons.potential, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fast.neurons.fired, slow.neurons.fired)
    np.testing.assert_array_equal(fast.output_counts, slow.output_counts)
    if isinstance(fast, ActiveRLNetwork):  # the summed per-step rewards of the last game step
        np.testing.assert_array_equal(fast.reward(None, None), slow.reward(None, None))
    for name in ("pre_trace", "post_trace"):
        if hasattr(slow.synapses, name):
            np.testing.assert_allclose(getattr(fast.synapses, name), getattr(slow.synapses, name), atol=1e-12)
    assert fast._logged == slow._logged and fast._log_position == slow._log_position


# -- fused engine vs reference -------------------------------------------------------------------
@needs_numba
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("rule", [MSTDP, MSTDPET, STDP], ids=["MSTDP", "MSTDPET", "STDP"])
def test_fused_matches_reference_float64(rule, layout):
    fast, slow = make(rule=rule, layout=layout), make(rule=rule, layout=layout, fused_on=False)
    assert fast.fused_engine() is not None and slow.fused_engine() is None
    assert fast.fused_engine().structure[0] == MODES[layout]
    initial = fast.weights.matrix.copy()
    assert_same_run(fast, slow)
    assert np.abs(fast.weights.matrix - initial).max() > 1e-3  # it learned
    if rule is MSTDPET:  # the eligibility trace of present synapses (absent ones are not kept)
        present = fast.weights.mask_numpy
        np.testing.assert_allclose(np.where(present, fast.synapses.trace, 0),
                                   np.where(present, slow.synapses.trace, 0), atol=1e-12)


@needs_numba
def test_fused_matches_reference_with_refractory_per_member_keys_and_no_random_firing():
    keys = dict(refractory_period=2, prob_rand_fire=0.0, firing_threshold=[0.6, 1.0, 1.4],
                learning_rate=[0.0, 0.05, 0.1], max_weight=[0.8, 1.0, 1.5], potential_decay=[0.1, 0.2, 0.3],
                resting_mv=[0.0, 0.1, -0.1])
    fast, slow = make(**keys), make(fused_on=False, **keys)
    assert_same_run(fast, slow, ticks=8)
    assert fast.neurons.refractory.max() > 0 or fast.spike_log.any()


@needs_numba
@pytest.mark.parametrize("rule", [MSTDP, MSTDPET], ids=["MSTDP", "MSTDPET"])
def test_fused_matches_reference_with_deferred_reward(rule):
    """RLNetwork: eligibility accumulates over the game step and the reward applies once."""
    parts = {"rewarder": MatchExpected}
    fast = make(RLNetwork, rule, parts=parts)
    slow = make(RLNetwork, rule, parts=parts, fused_on=False)
    assert_same_run(fast, slow)
    np.testing.assert_allclose(fast.synapses.eligibility_sum, slow.synapses.eligibility_sum, atol=1e-12)


@needs_numba
def test_fused_matches_reference_for_plain_network_stdp_and_static_inputs():
    """No per-step reward: the whole game step is one kernel call; StaticMap spike patterns."""
    pattern = {s: (np.random.default_rng(i).random((40, N_IN)) < 0.3).astype(float)
               for i, s in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)])}
    parts = {"inputs": StaticMap, "rewarder": None}
    keys = dict(state_spike_map=pattern)
    fast = make(Network, STDP, parts=parts, **keys)
    slow = make(Network, STDP, parts=parts, fused_on=False, **keys)
    assert_same_run(fast, slow)


@needs_numba
def test_fused_matches_reference_in_eval_and_after_a_bound_change():
    """Eval freezes weights on both paths; lowering max_weight clips the whole matrix at the next change."""
    fast, slow = make(), make(fused_on=False)
    for network in (fast, slow):
        network.eval()
    assert_same_run(fast, slow, ticks=2)
    np.testing.assert_array_equal(fast.weights.matrix, np.clip(fast.weights.initial, 0, 1.0))
    for network in (fast, slow):
        network.train()
        network.set_key("max_weight", 0.5)
    assert_same_run(fast, slow, ticks=3)
    assert fast.weights.matrix.max() <= 0.5


@needs_numba
@pytest.mark.parametrize("rule", [MSTDP, MSTDPET], ids=["MSTDP", "MSTDPET"])
def test_fused_float32_stays_close_to_reference(rule):
    """float32: spikes identical step by step until a potential lies within rounding of its threshold.

    The two paths differ only in the summation order of the synaptic input, so with u = 2^-24 (float32's
    unit roundoff) and at most n = n_inputs + N presynaptic spikes of magnitude 1 on weights <= w_max:

    * one step's input differs by at most 2 γ_n n w_max (γ_n = n u / (1 - n u), a sum's worst-case
      rounding), plus n δW from weights that already differ;
    * weights differ by at most 2 u w_max per update (one rounding of W + Δ on each path), t updates: t 2 u w_max;
    * the potential V <- V_rest + (V - V_rest)(1 - d) + I contracts old differences by (1 - d) and adds
      3 u |V|max of its own rounding (|V| <= n w_max / d), so δV <= (2 γ_n n w_max + n δW + 3 u |V|max) / d.

    With one network step per game step the potentials are compared after every step against these
    bounds. While they hold, a spike can differ only where a potential sat within δV of its threshold;
    from that step on the runs may legitimately part, so the comparison stops there.
    """
    n, w_max, decay, steps = N_IN + N, 2.5, KEYS["potential_decay"], 400
    u = float(np.finfo(np.float32).eps) / 2
    gamma = n * u / (1 - n * u)
    keys = dict(dtype="float32", layout="index lists, per lane", processing_time=1, max_weight=w_max)
    fast, slow = make(rule=rule, **keys), make(rule=rule, fused_on=False, **keys)
    assert fast.fused_engine() is not None and fast.weights.matrix.dtype == np.float32
    threshold = KEYS["firing_threshold"]
    game = Logic("XOR", batch_size=fast.batch_size, seed=5)
    state, _ = game.reset()
    compared, bound_v = 0, 0.0
    for t in range(1, steps + 1):
        before = fast.neurons.potential.astype(np.float64), slow.neurons.potential.astype(np.float64)
        action = fast.tick(state)
        action_slow = slow.tick(state)
        fast.reward(state, action)
        slow.reward(state, action_slow)
        a, b = fast.spike_log[:, -1], slow.spike_log[:, -1]
        np.testing.assert_array_equal(a[:, :N_IN], b[:, :N_IN])        # the inputs never depend on the engine
        if not np.array_equal(a, b):
            lane, neuron = np.nonzero(a[:, N_IN:] != b[:, N_IN:])
            for potential in before:  # the firing test V >= θ was decided within rounding of θ
                assert (np.abs(potential[lane, neuron] - threshold) <= bound_v).all(), (t, potential[lane, neuron])
            break
        compared += int(a.sum())
        bound_w = t * 2 * u * w_max
        bound_v = (2 * gamma * n * w_max + n * bound_w + 3 * u * n * w_max / decay) / decay
        np.testing.assert_allclose(fast.weights.matrix, slow.weights.matrix, rtol=0, atol=bound_w)
        np.testing.assert_allclose(fast.neurons.potential, slow.neurons.potential, rtol=0, atol=bound_v)
        assert np.array_equal(action, action_slow)
        state, *_ = game.step(action)
    assert compared > 500  # enough spikes compared exactly for the comparison to mean something


@needs_numba
def test_batch_lanes_equal_single_runs_on_the_fused_engine():
    batch = make(batch_size=4, seed=[3, 1, 4, 1])
    single_seeds = [3, 1, 4, 1]
    game = Logic("XOR", batch_size=4, seed=[7, 8, 9, 10])
    state, _ = game.reset()
    for _ in range(4):
        batch.reward(state, batch.tick(state))
        state, *_ = game.step(np.zeros(4, int))
    for lane, seed in enumerate(single_seeds):
        single = make(batch_size=1, seed=seed)
        game = Logic("XOR", batch_size=1, seed=7 + lane)
        state, _ = game.reset()
        for _ in range(4):
            single.reward(state, single.tick(state))
            state, *_ = game.step(np.zeros(1, int))
        np.testing.assert_array_equal(single.weights.matrix[0], batch.weights.matrix[lane])
        np.testing.assert_array_equal(single.spike_log[0], batch.spike_log[lane])


@needs_numba
def test_checkpoint_and_copy_continue_identically_on_the_fused_engine():
    network = make()
    play(network, 2)
    clone = network.copy()
    restored = make(seed=11)
    restored.load_state_dict(network.state_dict())
    for other in (clone, restored):
        other._state = network._state
    a, b, c = play(network, 3, seed=8), play(clone, 3, seed=8), play(restored, 3, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(network.weights.matrix, clone.weights.matrix)
    np.testing.assert_array_equal(network.weights.matrix, restored.weights.matrix)


def test_engine_selection():
    network = make()
    assert (network.fused_engine() is not None) == fused.available()
    assert make(fused_on=False).engine_reason == "engine='reference' was requested"
    keys = {k: v for k, v in KEYS.items() if k != "potential_decay"}
    izhikevich = ActiveRLNetwork(parts=dict(inputs=RateMap, neurons=Izhikevich, weights=Random, synapses=MSTDP,
                                            readout=Threshold, rewarder=RewardFunction),
                                 keys={**keys, "firing_threshold": 30.0})
    # every shipped neuron model and any spike delay compile from their equations
    assert (izhikevich.fused_engine() is not None) == fused.available()
    assert make(spike_delay=2).engine == ("compiled" if fused.available() else "reference")
    pytest.importorskip("torch")
    on_torch = ActiveRLNetwork(parts=make().part_classes, keys={**KEYS, **LAYOUTS["dense pattern"][1]},
                               backend="torch")
    assert on_torch.fused_engine() is None


# -- block draws ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_stream_block_draws_equal_step_draws_across_refills(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    be = Backend(backend, dtype="float32")
    one = be.stream([4, 9, 2], "x", (3, 2), block=7)
    many = be.stream([4, 9, 2], "x", (3, 2), block=5)
    steps = [be.to_numpy(one.uniform()) for _ in range(23)]
    blocks = np.concatenate([be.to_numpy(many.uniforms(k)) for k in (1, 9, 0, 13)])
    np.testing.assert_array_equal(blocks, np.stack(steps))
    assert blocks.shape == (23, 3, 3, 2)
    # a checkpoint continues exactly, whatever the block size of the stream that loads it
    state = many.state()
    other = be.stream([4, 9, 2], "x", (3, 2), block=11)
    other.load_state(state)
    np.testing.assert_array_equal(be.to_numpy(other.uniforms(6)), be.to_numpy(many.uniforms(6)))


def test_stream_caps_block_memory():
    stream = Backend().stream(list(range(64)), "big", (1000,))
    assert stream.block * 64 * 1000 <= (1 << 22)


@pytest.mark.parametrize("limit", [-1, 3])
def test_input_block_equals_step_by_step_calls(limit):
    inputs = [RateMap(n_inputs=6, state_rate_map=RATES, batch_size=3, seed=2, input_firing_steps=limit,
                      input_pct_inhibitory=0.5) for _ in range(2)]
    state = np.array([[0, 1], [1, 1], [1, 0]])
    for part in inputs:
        part.update(state)
    steps = np.stack([inputs[0]() for _ in range(10)])
    block = np.concatenate([inputs[1].block(4), inputs[1].block(6)])
    np.testing.assert_array_equal(block, steps)
    assert inputs[1].network_time == inputs[0].network_time == 10
    if limit == 3:
        assert not block[3:].any() and block[:3].any()


def test_static_map_block_equals_calls_and_reports_short_patterns():
    pattern = {0: np.eye(3), 1: [0.5, 0.0, 2.0]}
    a, b = (StaticMap(n_inputs=3, state_spike_map=pattern, batch_size=2) for _ in range(2))
    for part in (a, b):
        part.update(np.array([0, 1]))
    np.testing.assert_array_equal(b.block(3), np.stack([a() for _ in range(3)]))
    with pytest.raises(ValueError, match="gives only 3 rows"):
        b.block(1)


# -- weights: one copy ---------------------------------------------------------------------------
def test_weights_keep_one_matrix_and_regenerate_the_initial_one():
    weights = Manual(n_inputs=2, n_neurons=3, max_weight=1.0, batch_size=4, seed=5,
                     matrix=lambda rng: np.r_[rng.uniform(0.1, 2.0, (2, 3)), np.zeros((3, 3))])
    assert weights.mask_numpy.shape == (4, 5, 3) and weights.mask_numpy.strides[0] == 0  # one pattern
    assert weights.mask.shape == (5, 3) and weights.mask.dtype == bool
    weights.reset(shared=False)  # as a plastic rule's bind does: the stored initial matrix is dropped
    assert weights._initial is None
    first, second = weights.initial, weights.initial
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(weights.matrix, np.clip(first, 0, 1.0).astype(np.float32))
    weights.matrix[:] = 0.3
    weights.reset()
    np.testing.assert_array_equal(weights.matrix, np.clip(first, 0, 1.0).astype(np.float32))


# -- GPU -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", [MSTDP, MSTDPET], ids=["MSTDP", "MSTDPET"])
def test_torch_cuda_matches_numpy(rule):
    """The torch path on CUDA (B lanes on the device) against numpy: same spikes, weights to rounding."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    gpu = make(rule=rule, layout="index lists, per lane", backend="torch", device="cuda", batch_size=8)
    cpu = make(rule=rule, layout="index lists, per lane", batch_size=8)
    assert gpu.weights.matrix.device.type == "cuda" and gpu.fused_engine() is None
    play(gpu, 4)
    play(cpu, 4)
    np.testing.assert_array_equal(gpu.spike_log, cpu.spike_log)
    np.testing.assert_allclose(gpu.backend.to_numpy(gpu.weights.matrix), cpu.weights.matrix, atol=1e-10)


# -- reference path: zero rewards skip the dense update exactly ----------------------------------
@pytest.mark.parametrize("rule", [MSTDP, MSTDPET], ids=["MSTDP", "MSTDPET"])
def test_zero_reward_skips_the_update_only_when_it_changes_nothing(rule):
    weights = Manual(n_inputs=2, n_neurons=2, max_weight=1.0, batch_size=2,
                     backend=Backend("numpy", dtype="float64"), matrix=np.full((4, 2), 0.8))
    synapse = rule(n_inputs=2, n_neurons=2, learning_rate=0.5, batch_size=2, backend=weights.backend)
    synapse.bind(weights)
    pre, post = np.array([[1.0, 0, 1, 0], [0, 1, 0, 1]]), np.array([[0.0, 1], [1, 0]])
    synapse.update(pre, post, np.array([1.0, -1.0]))
    before = weights.matrix.copy()
    assert synapse.unchanged_by(np.zeros(2)) and not synapse.unchanged_by(np.array([0.0, 1.0]))
    synapse.update(pre, post, np.zeros(2))
    np.testing.assert_array_equal(weights.matrix, before)
    weights.set_param("max_weight", 0.5)  # a lower bound: the next change must clip everything
    assert not synapse.unchanged_by(np.zeros(2))
    synapse.update(pre, post, np.zeros(2))
    assert weights.matrix.max() == 0.5


@pytest.mark.parametrize("kind", ["Random", "Manual"])
def test_per_lane_weights_are_built_lane_by_lane_without_a_float64_batch(kind):
    """Building B networks that each draw their own matrix peaks near one float32 weight array.

    (Stacking the lanes' float64 draws first would peak at 4x: a list of lanes, their stack, then the copy.)
    """
    import tracemalloc

    from spikey.snn import Random
    B, n_in, N = 32, 40, 200
    make = {"Random": lambda: Random(n_inputs=n_in, n_neurons=N, max_weight=2.0, connection_prob=0.5,
                                     batch_size=B, seed=3),
            "Manual": lambda: Manual(n_inputs=n_in, n_neurons=N, max_weight=2.0, batch_size=B, seed=3,
                                     matrix=lambda rng: rng.uniform(0, 3, (n_in + N, N)))}[kind]
    tracemalloc.start()
    weights = make()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert weights.matrix.dtype == np.float32 and weights.matrix.shape == (B, n_in + N, N)
    # Random with connection_prob < 1 gives each lane its own sparsity pattern: one bool per synapse
    own_patterns = weights.mask_numpy.nbytes if weights.mask_numpy.strides[0] != 0 else 0
    assert peak <= 1.3 * weights.matrix.nbytes + own_patterns, peak / weights.matrix.nbytes
    # the same values as the stacked draw, bounded and rounded to float32
    np.testing.assert_array_equal(weights.matrix, np.clip(weights.generate(), 0, 2.0).astype(np.float32))
    assert weights.mask_numpy.shape == (B, n_in + N, N)
    np.testing.assert_array_equal(weights.mask_numpy, weights.generate() != 0)
