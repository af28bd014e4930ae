"""The batched engine: lane equivalence, backends, learning loop order and the old faults."""
import numpy as np
import pytest

from spikey.backend import Backend
from spikey.games import Logic, xor_gate
from spikey.snn import (LIF, MSTDP, MSTDPET, ActiveRLNetwork, MatchExpected, Manual, Network, RLNetwork,
                        Random, RateMap, RewardFunction, Static, Threshold)

RATES = {(0, 0): [0, 0], (0, 1): [0, .3], (1, 0): [.3, 0], (1, 1): [.3, .3]}


def spike_reward(state, fired, state_next, params):
    """Florian's XOR reward: output spikes are rewarded on true patterns, punished on false ones."""
    return np.where(xor_gate(state) == 1, params["reward_mult"], -params["punish_mult"]) * fired


class SmallXOR(ActiveRLNetwork):
    parts = dict(inputs=RateMap, neurons=LIF, weights=Random, synapses=MSTDPET, readout=Threshold,
                 rewarder=RewardFunction)
    keys = dict(n_inputs=6, n_neurons=5, n_outputs=1, processing_time=25, state_rate_map=RATES,
                input_pct_inhibitory=0.3, firing_threshold=1.0, potential_decay=0.2,
                prob_rand_fire=0.05, max_weight=1.0, connection_prob=0.7, learning_rate=0.05,
                action_threshold=0.05, punish_mult=1.0, reward_fn=spike_reward)


def play(network, game, n_ticks):
    """Tick network and game together; returns actions and rewards, (n_ticks, B) each."""
    state, _ = game.reset()
    actions, rewards = [], []
    for _ in range(n_ticks):
        action = network.tick(state)
        state_next, *_ = game.step(action)
        rewards.append(network.reward(state, action, state_next))
        actions.append(action)
        state = state_next
    return np.array(actions), np.array(rewards)


@pytest.mark.parametrize("network_class", [SmallXOR, RLNetwork])
def test_batch_of_16_equals_16_single_runs(network_class):
    seeds = np.arange(100, 116)
    extra = {} if network_class is SmallXOR else dict(
        parts={**SmallXOR.parts, "synapses": MSTDP, "rewarder": MatchExpected},
        keys={k: v for k, v in SmallXOR.keys.items() if k != "reward_fn"} | {"expected_value": xor_gate})
    batch = network_class(batch_size=16, seed=seeds, **extra)
    actions, rewards = play(batch, Logic("XOR", batch_size=16, seed=seeds), 12)
    # a shuffled batch: each lane must follow its seed, not its position
    order = np.random.default_rng(0).permutation(16)
    shuffled = network_class(batch_size=16, seed=seeds[order], **extra)
    s_actions, s_rewards = play(shuffled, Logic("XOR", batch_size=16, seed=seeds[order]), 12)
    np.testing.assert_array_equal(s_actions, actions[:, order])
    np.testing.assert_array_equal(s_rewards, rewards[:, order])
    np.testing.assert_array_equal(shuffled.weights.matrix, batch.weights.matrix[order])
    for lane, seed in enumerate(seeds):
        single = network_class(batch_size=1, seed=int(seed), **extra)
        a, r = play(single, Logic("XOR", batch_size=1, seed=int(seed)), 12)
        np.testing.assert_array_equal(a[:, 0], actions[:, lane])
        np.testing.assert_array_equal(r[:, 0], rewards[:, lane])
        np.testing.assert_array_equal(single.weights.matrix[0], batch.weights.matrix[lane])
        np.testing.assert_array_equal(single.neurons.potential[0], batch.neurons.potential[lane])
    assert not np.array_equal(batch.weights.matrix, batch.weights.initial)  # it did learn


def test_per_member_parameters_equal_separate_networks():
    thresholds, rates = [0.5, 1.0, 2.0], [0.0, 0.05, 0.1]
    batch = SmallXOR(batch_size=3, seed=[7, 7, 7], firing_threshold=thresholds, learning_rate=rates)
    actions, _ = play(batch, Logic("XOR", batch_size=3, seed=[1, 1, 1]), 8)
    for lane in range(3):
        single = SmallXOR(batch_size=1, seed=7, firing_threshold=thresholds[lane],
                          learning_rate=rates[lane])
        a, _ = play(single, Logic("XOR", batch_size=1, seed=1), 8)
        np.testing.assert_array_equal(a[:, 0], actions[:, lane])
        np.testing.assert_array_equal(single.weights.matrix[0], batch.weights.matrix[lane])


@pytest.mark.parametrize("dtype,tolerance", [("float32", 1e-5), ("float64", 1e-10)])
def test_torch_cpu_matches_numpy_after_1000_steps(dtype, tolerance):
    pytest.importorskip("torch")
    keys = dict(processing_time=100, prob_rand_fire=0.05)
    runs = {}
    for backend in ("numpy", "torch"):
        net = SmallXOR(batch_size=4, seed=3, backend=backend, dtype=dtype, **keys)
        game = Logic("XOR", batch_size=4, seed=3)
        state, _ = game.reset()
        for _ in range(10):  # 10 game steps x 100 network steps
            action = net.tick(state)
            net.reward(state, action)
            state, *_ = game.step(np.asarray(action))
        runs[backend] = net
    assert runs["numpy"]._logged == 1000
    for name in ("potential",):
        np.testing.assert_allclose(runs["torch"].backend.to_numpy(getattr(runs["torch"].neurons, name)),
                                   getattr(runs["numpy"].neurons, name), atol=tolerance, rtol=tolerance)
    np.testing.assert_allclose(runs["torch"].backend.to_numpy(runs["torch"].weights.matrix),
                               runs["numpy"].weights.matrix, atol=tolerance, rtol=tolerance)
    np.testing.assert_array_equal(runs["torch"].spike_log, runs["numpy"].spike_log)


def test_static_synapses_share_one_weight_matrix():
    keys = {k: v for k, v in SmallXOR.keys.items() if k not in ("learning_rate", "connection_prob")}
    parts = {**SmallXOR.parts, "synapses": Static, "weights": Manual}
    shared = ActiveRLNetwork(parts=parts, keys={**keys, "matrix": np.full((11, 5), 0.3)}, batch_size=4)
    assert shared.weights.matrix.shape == (11, 5)
    per_lane = ActiveRLNetwork(parts=parts, keys={**keys, "matrix": np.full((4, 11, 5), 0.3)}, batch_size=4)
    assert per_lane.weights.matrix.shape == (4, 11, 5)
    game = Logic("XOR", batch_size=4, seed=0)
    np.testing.assert_array_equal(play(shared, game, 5)[0], play(per_lane, Logic("XOR", batch_size=4), 5)[0])


def test_step_reward_sees_its_own_output_spike():
    """Old fault: the reward was computed from a stale spike. Here the rewarder's action at each
    network step is exactly that step's output spike, and that step's plasticity uses it."""
    seen = []

    def record(state, fired, state_next, params):
        seen.append(np.array(fired))
        return np.ones(len(fired))

    net = SmallXOR(batch_size=2, seed=1, reward_fn=record, prob_rand_fire=0.3, spike_log_length=25)
    state, _ = Logic("XOR", batch_size=2, seed=1).reset()
    net.tick(state)
    output_spikes = net.spike_log[:, :, -1]  # (B, T) the output neuron, oldest first
    np.testing.assert_array_equal(np.array(seen).T, output_spikes)
    assert output_spikes.any()


@pytest.mark.parametrize("k", [3, 6])
def test_reward_modulates_the_same_step(k):
    """With MSTDP, a reward given at network step k changes the weights at step k, not later."""
    steps = []

    def reward_at_k(state, fired, state_next, params):
        steps.append(len(steps))
        return np.full(len(fired), 1.0 if len(steps) - 1 == k else 0.0)

    def run(processing_time):
        steps.clear()
        net = SmallXOR(batch_size=1, seed=4, parts={"synapses": MSTDP}, prob_rand_fire=0.5,
                       processing_time=processing_time, reward_fn=reward_at_k)
        net.tick(np.array([[1, 1]]))
        return net
    before = run(k)
    assert np.array_equal(before.weights.matrix, np.broadcast_to(before.weights.initial,
                                                                 before.weights.matrix.shape).astype(np.float32))
    after = run(k + 1)
    assert not np.array_equal(after.weights.matrix, before.weights.matrix)


def test_copy_keeps_learned_weights_and_is_independent():
    net = SmallXOR(batch_size=2, seed=0)
    play(net, Logic("XOR", batch_size=2, seed=0), 6)
    learned = net.weights.matrix.copy()
    assert not np.array_equal(learned, net.weights.initial)
    clone = net.copy()
    np.testing.assert_array_equal(clone.weights.matrix, learned)
    play(clone, Logic("XOR", batch_size=2, seed=5), 3)
    np.testing.assert_array_equal(net.weights.matrix, learned)  # the original is untouched
    clone.reset()
    assert not np.array_equal(clone.weights.matrix, net.weights.initial)  # reset keeps learning
    clone.reset_weights()
    np.testing.assert_allclose(clone.weights.matrix, np.broadcast_to(
        np.clip(net.weights.initial, 0, 1.0), clone.weights.matrix.shape), rtol=1e-6)


@pytest.mark.parametrize("network_class,synapses", [(SmallXOR, MSTDPET), (SmallXOR, MSTDP),
                                                    (RLNetwork, MSTDPET), (RLNetwork, MSTDP)])
def test_eval_stops_all_plasticity(network_class, synapses):
    """Old fault: eval() kept learning when trace_decay = 1."""
    parts = {**SmallXOR.parts, "synapses": synapses}
    keys = dict(SmallXOR.keys)
    if network_class is RLNetwork:
        parts["rewarder"], keys = MatchExpected, {k: v for k, v in keys.items() if k != "reward_fn"}
        keys["expected_value"] = xor_gate
    net = network_class(parts=parts, keys=keys, batch_size=3, seed=0)
    play(net, Logic("XOR", batch_size=3, seed=0), 3)
    frozen = net.weights.matrix.copy()
    net.eval()
    play(net, Logic("XOR", batch_size=3, seed=1), 20)
    np.testing.assert_array_equal(net.weights.matrix, frozen)
    net.train()
    play(net, Logic("XOR", batch_size=3, seed=2), 5)
    assert not np.array_equal(net.weights.matrix, frozen)


def test_seed_zero_seeds_and_reproduces():
    """Old fault: seed(0) did not seed the game."""
    game = Logic("XOR", batch_size=4)
    game.seed(0)
    first = [game.reset()[0]] + [game.step(np.zeros(4, int))[0] for _ in range(5)]
    game.seed(0)
    again = [game.reset()[0]] + [game.step(np.zeros(4, int))[0] for _ in range(5)]
    np.testing.assert_array_equal(first, again)
    runs = [play(SmallXOR(batch_size=2, seed=0), Logic("XOR", batch_size=2, seed=0), 5) for _ in range(2)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    different = play(SmallXOR(batch_size=2, seed=1), Logic("XOR", batch_size=2, seed=0), 5)
    assert not np.array_equal(runs[0][1], different[1])


def test_state_dict_resumes_exactly():
    net = SmallXOR(batch_size=2, seed=9)
    game = Logic("XOR", batch_size=2, seed=9)
    play(net, game, 3)
    checkpoint = net.state_dict()
    expected = play(net, Logic("XOR", batch_size=2, seed=1), 4)
    restored = SmallXOR(batch_size=2, seed=9)
    restored.load_state_dict(checkpoint)
    resumed = play(restored, Logic("XOR", batch_size=2, seed=1), 4)
    np.testing.assert_array_equal(resumed[0], expected[0])
    np.testing.assert_array_equal(restored.weights.matrix, net.weights.matrix)


def test_set_key_changes_parts_and_validates():
    net = SmallXOR(batch_size=2)
    net.set_key("learning_rate", 0.5)
    assert net.synapses.params["learning_rate"] == 0.5 and net.synapses.learning_rate == 0.5
    net.set_key("neuron.firing_threshold", [1.0, 2.0])
    np.testing.assert_array_equal(net.neurons.threshold.ravel(), [1.0, 2.0])
    with pytest.raises(Exception, match="learning_rat"):
        net.set_key("learning_rat", 0.1)


def test_spike_log_is_a_ring_buffer():
    """A 7-step log holds exactly the last 7 steps of a log long enough to keep everything, oldest first."""
    net = SmallXOR(batch_size=2, spike_log_length=7, prob_rand_fire=0.2)
    whole = SmallXOR(batch_size=2, spike_log_length=3 * 25, prob_rand_fire=0.2)
    state = np.array([[1, 0], [1, 1]])
    for _ in range(3):  # 75 steps: the short log wraps ten times
        net.tick(state)
        whole.tick(state)
    assert net._log.shape[0] == 7 and net.spike_log.shape == (2, 7, 11)
    assert whole.spike_log.shape == (2, 75, 11) and whole.spike_log[:, -7:].any()
    np.testing.assert_array_equal(net.spike_log, whole.spike_log[:, -7:])
