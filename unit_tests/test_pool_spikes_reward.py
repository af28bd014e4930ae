"""PoolSpikes: per-spike reward by output pool against the expected class."""
import numpy as np
import pytest

from spikey.games import Digits
from spikey.module import KeyRangeError
from spikey.snn import LIF, Manual, MSTDP, TopAction
from spikey.snn.input.rate_code import RateCode
from spikey.snn.network import ActiveRLNetwork
from spikey.snn.readout.population_vector import PopulationVector
from spikey.snn import PoolSpikes


def first_column(states):
    return np.asarray(states)[:, 0].astype(int)


def loop_reward(spikes, labels, bounds, reward, punish):
    """Plain-loop reference: walk every output of every lane."""
    out = np.zeros(len(spikes))
    for b in range(len(spikes)):
        for i in range(spikes.shape[1]):
            pool = next(a for a in range(len(bounds) - 1) if bounds[a] <= i < bounds[a + 1])
            r = reward[b] if np.ndim(reward) else reward
            p = punish[b] if np.ndim(punish) else punish
            out[b] += spikes[b, i] * (r if pool == labels[b] else -p)
    return out


@pytest.mark.parametrize("n_outputs,n_actions", [(6, 3), (7, 3), (10, 10), (23, 10)])
def test_matches_a_plain_loop_and_the_readout_pools(n_outputs, n_actions):
    rng = np.random.default_rng(n_outputs)
    B = 5
    spikes = rng.integers(0, 3, size=(B, n_outputs))           # counts work as well as events
    labels = rng.integers(0, n_actions, size=B)
    reward, punish = rng.uniform(0.5, 2, B), 0.3
    r = PoolSpikes(expected_value=first_column, n_outputs=n_outputs, n_actions=n_actions,
                   reward_mult=reward, punish_mult=punish, batch_size=B)
    got = r(labels[:, None], spikes)
    bounds = PopulationVector(n_outputs=n_outputs, n_actions=n_actions).pools(n_actions)
    assert got.dtype == np.float64 and got.shape == (B,)
    np.testing.assert_allclose(got, loop_reward(spikes, labels, bounds, reward, punish))


def test_silence_earns_nothing_and_bool_events_count_once():
    r = PoolSpikes(expected_value=first_column, n_outputs=4, n_actions=2, punish_mult=1.0, batch_size=3)
    spikes = np.array([[False] * 4, [True, True, False, False], [False, False, True, True]])
    assert r(np.array([[0], [0], [0]]), spikes).tolist() == [0.0, 2.0, -2.0]


def test_errors_name_the_culprit():
    with pytest.raises(KeyRangeError, match="PoolSpikes.*n_actions.*= 5.*n_outputs = 4"):
        PoolSpikes(expected_value=first_column, n_outputs=4, n_actions=5)
    r = PoolSpikes(expected_value=first_column, n_outputs=4, n_actions=2, batch_size=2)
    with pytest.raises(ValueError, match=r"PoolSpikes: action has shape \(2,\); expected .*\(2, 4\)"):
        r(np.zeros((2, 1)), np.array([1, 0]))
    with pytest.raises(ValueError, match=r"PoolSpikes: expected_value returned \[0, 7\]"):
        r(np.array([[0], [7]]), np.zeros((2, 4)))


class SpikePassingNetwork(ActiveRLNetwork):
    def step_action(self, post_outputs):
        return post_outputs


def test_per_step_rewards_in_a_network_sum_to_the_reward_of_the_game_step_counts():
    """In an ActiveRLNetwork the step rewards add up to PoolSpikes of the tick's output counts."""
    B, n_out = 3, 6
    game = Digits(batch_size=B, seed=[0, 1, 2])
    rng = np.random.default_rng(0)
    net = SpikePassingNetwork(
        parts=dict(inputs=RateCode, neurons=LIF, weights=Manual, synapses=MSTDP, readout=TopAction,
                   rewarder=PoolSpikes),
        keys=dict(n_inputs=64, n_features=64, max_rate=0.5, n_neurons=n_out, n_outputs=n_out, n_actions=3,
                  processing_time=10, firing_threshold=1.0, potential_decay=0.2, max_weight=1.0,
                  matrix=np.vstack([rng.uniform(0, 0.3, (64, n_out)), np.zeros((n_out, n_out))]),
                  learning_rate=0.01, expected_value=lambda s: game.expected_value(s) % 3, punish_mult=0.25),
        batch_size=B, seed=[0, 1, 2])
    state, _ = game.reset()
    for _ in range(3):
        action = net.tick(state)
        summed = net.reward(state, action)
        counts = net.backend.to_numpy(net.output_counts)
        assert counts.sum() > 0
        np.testing.assert_allclose(summed, net.rewarder(state, counts))
        state, *_ = game.step(action)


def test_torch_spikes_give_the_same_rewards():
    torch = pytest.importorskip("torch")
    from spikey.backend import Backend
    spikes = np.random.default_rng(1).random((4, 8)) < 0.3
    labels = np.array([[0], [1], [2], [3]])
    keys = dict(expected_value=first_column, n_outputs=8, n_actions=4, punish_mult=0.4, batch_size=4)
    on_numpy = PoolSpikes(**keys)(labels, spikes)
    on_torch = PoolSpikes(backend=Backend("torch"), **keys)(labels, torch.as_tensor(spikes))
    np.testing.assert_array_equal(on_torch, on_numpy)
