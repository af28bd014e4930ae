"""Lanes whose game has ended stop all plasticity, on every network kind and on both paths.

A CartPole batch whose lanes fall at different times: after a lane's game ends its
weights (and adaptive thresholds) stay bit for bit what they were at its end, while
the lanes still playing learn exactly as the same network run alone does.
"""
import numpy as np
import pytest

from spikey.experiment import run_episodes
from spikey.games import CartPole
from spikey.snn import (LIF, MSTDP, MSTDPET, RBF, STDP, ActiveRLNetwork, Network, Random, RewardFunction,
                        RLNetwork, TopAction)
from spikey.snn.neuron.adaptive_lif import AdaptiveLIF
from spikey.snn.synapse.rlstdp import RLSTDP

B, SEED, EPISODES, LENGTH = 4, 5, 2, 60
KEYS = dict(n_inputs=8, n_dims=4, rbf_low=[-2.4, -2, -0.2, -2], rbf_high=[2.4, 2, 0.2, 2], n_neurons=6,
            n_outputs=4, n_actions=2, processing_time=5, firing_threshold=0.5, potential_decay=0.2,
            prob_rand_fire=0.1, max_weight=1.0, learning_rate=0.5,
            reward_fn=lambda s, a, n, p: np.ones(len(a)))
PARTS = dict(inputs=RBF, neurons=LIF, weights=Random, synapses=STDP, readout=TopAction, rewarder=RewardFunction)

#: (network kind, neurons, synapses): every kind, both adaptive and plain neurons, every rule family.
CASES = [(Network, LIF, STDP), (Network, AdaptiveLIF, STDP), (RLNetwork, LIF, MSTDP), (RLNetwork, LIF, MSTDPET),
         (ActiveRLNetwork, LIF, MSTDPET), (ActiveRLNetwork, LIF, MSTDP), (RLNetwork, LIF, RLSTDP)]


def build(kind, neurons, synapses, batch_size, seed, path):
    """The network on ``path``: "fused" (compiled where the parts allow), "reference" or "torch"."""
    keys = {**KEYS, "stdp_window": 4} if synapses is RLSTDP else KEYS
    network = kind(parts={**PARTS, "neurons": neurons, "synapses": synapses}, keys=keys, batch_size=batch_size,
                   seed=seed, backend="torch" if path == "torch" else "numpy")
    network.fused = path == "fused"
    return network


def learned(network):
    """Copies of what a network learns: weights (B, n, N), and θ_a (B, N) where adaptive."""
    out = {"weights": network.backend.to_numpy(network.weights.matrix).copy()}
    if hasattr(network.neurons, "theta_adapt"):
        out["theta_adapt"] = network.backend.to_numpy(network.neurons.theta_adapt).copy()
    return out


def play(network, game, n_episodes=EPISODES):
    """Run the episode loop; per episode, after every game step: (what each lane has learned, done flags)."""
    episodes, records = [], []

    def record_step(record, net, g, step):
        if not records or records[-1] is not record:  # a new record dict: a new episode
            records.append(record)
            episodes.append([])
        episodes[-1].append((learned(net), step["done"].copy()))
    run_episodes(network, game, n_episodes, LENGTH, callbacks=[record_step])
    return episodes


def ends(steps):
    """(B,) index of the game step at which each lane's game ended (the last step if it did not)."""
    done = np.stack([d for _, d in steps])
    return np.where(done.any(axis=0), np.argmax(done, axis=0), len(steps) - 1)


@pytest.mark.parametrize("path", ["fused", "reference", "torch"])
@pytest.mark.parametrize("kind,neurons,synapses", CASES, ids=[f"{k.__name__}-{n.__name__}-{s.__name__}"
                                                              for k, n, s in CASES])
def test_a_finished_lane_learns_nothing_and_the_others_learn_as_alone(kind, neurons, synapses, path):
    network = build(kind, neurons, synapses, B, SEED, path)
    expect_fused = path == "fused" and synapses is not RLSTDP  # every neuron model compiles from its equations
    assert (network.fused_engine() is not None) == expect_fused
    episodes = play(network, CartPole(batch_size=B, seed=SEED))
    assert len(episodes) == EPISODES
    first_ends = ends(episodes[0])
    # The lanes end at different game steps (otherwise the test would prove nothing).
    assert len(set(first_ends.tolist())) > 1
    frozen_steps = 0
    for steps in episodes:
        for b, end in enumerate(ends(steps)):
            at_end = steps[end][0]
            for state, _ in steps[end + 1:]:
                for name, values in state.items():
                    # bit for bit: the same bytes, not merely close
                    assert values[b].tobytes() == at_end[name][b].tobytes(), (name, b)
                frozen_steps += 1
    assert frozen_steps > 0
    # Each lane equals the same network run alone (seed SEED + b) through every step of its first episode
    # (later episodes differ in their random draws: a finished lane still ticks, a lone network does not).
    steps = episodes[0]
    for b in range(B):
        own = play(build(kind, neurons, synapses, 1, SEED + b, path), CartPole(batch_size=1, seed=SEED + b), 1)[0]
        end = ends(steps)[b]
        assert ends(own)[0] == end
        for t in range(end + 1):
            for name, values in steps[t][0].items():
                np.testing.assert_array_equal(values[b], own[t][0][name][0], err_msg=f"{name}, lane {b}, step {t}")
    # and the plasticity really ran: the weights moved
    assert not np.array_equal(episodes[0][0][0]["weights"], episodes[-1][-1][0]["weights"])


def test_learning_lanes_reaches_every_part_and_clears():
    network = build(Network, AdaptiveLIF, STDP, B, SEED, "fused")
    network.learning_lanes = [True, False, True, False]
    assert all(part.learning_lanes is not None and part.learning_lanes.tolist() == [True, False, True, False]
               for _, part in network._parts())
    network.reset()
    assert network.learning_lanes is None and all(part.learning_lanes is None for _, part in network._parts())
