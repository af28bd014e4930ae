"""CartPoleBalance: the shaped CartPole reward, against a plain per-lane computation."""
import math

import numpy as np
import pytest

from spikey.games import CartPole
from spikey.module import ConfigError
from spikey.snn import LIF, MSTDP, RBF, Manual, RLNetwork, TopAction
from spikey.snn import CartPoleBalance


def plain_reward(state, state_next, lookahead, theta_max, x_max, reward=1.0, punish=1.0):
    """One lane, written out: failure -> -punish, predicted angle closer to 0 -> +reward, else -punish."""
    x, _, theta, theta_dot = state
    x2, _, theta2, theta_dot2 = state_next
    if abs(theta2) > theta_max or abs(x2) > x_max:
        return -punish
    return reward if abs(theta2 + lookahead * theta_dot2) < abs(theta + lookahead * theta_dot) else -punish


def test_matches_plain_computation_on_random_states():
    rng = np.random.default_rng(0)
    B = 200
    state = rng.uniform([-2.5, -2, -0.25, -2], [2.5, 2, 0.25, 2], (B, 4))
    state_next = state + rng.normal(0, [0.1, 0.1, 0.02, 0.3], (B, 4))
    r = CartPoleBalance(lookahead=0.3, reward_mult=2.0, punish_mult=0.5, theta_max=0.2, x_max=2.4,
                        batch_size=B)
    got = r(state, np.zeros(B, int), state_next)
    expected = [plain_reward(s, t, 0.3, 0.2, 2.4, 2.0, 0.5) for s, t in zip(state, state_next)]
    assert got.dtype == np.float64 and got.shape == (B,)
    np.testing.assert_array_equal(got, expected)
    # Both outcomes and failures all occur in this sample, so the comparison is not vacuous.
    failed = (np.abs(state_next[:, 2]) > 0.2) | (np.abs(state_next[:, 0]) > 2.4)
    assert 10 < failed.sum() < B - 50 and (got[~failed] == 2.0).sum() > 20 and (got[~failed] == -0.5).sum() > 20


def test_per_lane_keys_and_zero_lookahead_is_the_change_of_abs_theta():
    state = np.array([[0.0, 0.0, 0.10, -1.0], [0.0, 0.0, 0.10, -1.0], [0.0, 0.0, -0.05, 0.0]])
    state_next = np.array([[0.0, 0.0, 0.12, -1.0], [0.0, 0.0, 0.12, -1.0], [0.0, 0.0, -0.04, 0.0]])
    r = CartPoleBalance(lookahead=[0.0, 0.5, 0.0], punish_mult=[1.0, 3.0, 1.0], batch_size=3)
    # Lane 0: |theta| grew -> punished; lane 1: theta + 0.5 theta_dot went -0.4 -> -0.38, closer -> +1;
    # lane 2: |theta| shrank -> +1.
    assert r(state, None, state_next).tolist() == [-1.0, 1.0, 1.0]
    assert r(state_next, None, state).tolist() == [1.0, -3.0, -1.0]


def test_failure_bounds_are_strict_and_default_to_gymnasium():
    r = CartPoleBalance(batch_size=3)
    assert (r.params["theta_max"], r.params["x_max"], r.params["lookahead"]) == (0.2094, 2.4, 0.5)
    state = np.tile([0.0, 0.0, 0.2094, 1.0], (3, 1))
    # All three end closer to upright by the predicted angle; only the ones past a bound fail.
    state_next = np.array([[0.0, 0.0, 0.2094, 0.0], [2.41, 0.0, 0.0, 0.0], [0.0, 0.0, -0.2095, 0.0]])
    assert r(state, None, state_next).tolist() == [1.0, 0.0, 0.0]  # punish_mult defaults to 0


def test_bad_states_and_keys_name_the_culprit():
    r = CartPoleBalance(batch_size=2)
    with pytest.raises(ValueError, match=r"CartPoleBalance: state_next has shape \(2, 3\)"):
        r(np.zeros((2, 4)), None, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="state_next is None"):
        r(np.zeros((2, 4)), None)
    with pytest.raises(ConfigError, match="lookahead"):
        CartPoleBalance(lookahead=-1.0)


def test_rl_network_rewards_cartpole_steps_with_it():
    """RLNetwork passes (state, action, state_next) to the rewarder: its rewards equal the plain ones."""
    seeds = [3, 4]
    game = CartPole("DEFAULT", batch_size=2, seed=seeds, theta_max=0.2094, x_max=2.4,
                    theta_init_range=(-0.05, 0.05))
    network = RLNetwork(parts=dict(inputs=RBF, neurons=LIF, weights=Manual, synapses=MSTDP, readout=TopAction,
                                   rewarder=CartPoleBalance),
                        keys=dict(n_inputs=8, n_dims=4, rbf_low=[-2.4, -2, -0.21, -2], rbf_high=[2.4, 2, 0.21, 2],
                                  n_neurons=2, n_outputs=2, n_actions=2, processing_time=5, firing_threshold=1.0,
                                  potential_decay=0.2, max_weight=1.0, matrix=np.full((10, 2), 0.5),
                                  learning_rate=0.01, punish_mult=1.0),
                        batch_size=2, seed=seeds)
    state, _ = game.reset()
    seen = []
    for _ in range(15):
        action = network.tick(state)
        state_next, *_ = game.step(action)
        got = network.reward(state, action, state_next)
        seen += [plain_reward(s, t, 0.5, 0.2094, 2.4) for s, t in zip(state, state_next)]
        np.testing.assert_array_equal(got, seen[-2:])
        state = state_next
    assert set(seen) == {1.0, -1.0}
    assert math.isclose(network.rewarder.params["theta_max"], 0.2094)
