"""CartPole: physics against a plain-Python oracle and gymnasium, lanes vs single games, episode ends, actions."""
import math

import numpy as np
import pytest

from spikey.experiment import run_episodes
from spikey.games import CartPole
from spikey.module import KeyRangeError, UnknownKeyError
from spikey.snn import LIF, MSTDP, RBF, Random, RewardFunction, RLNetwork, TopAction

FAR = dict(x_max=1e9, theta_max=1e9)  # no termination: pure physics


def oracle_step(state, force, g=9.8, m_c=1.0, m_p=0.1, l=0.5, tau=0.02):
    """One explicit-Euler step of the cart-pole equations (Florian 2007), one lane, plain floats."""
    x, x_dot, theta, theta_dot = state
    total = m_c + m_p
    sin, cos = math.sin(theta), math.cos(theta)
    temp = (force + m_p * l * theta_dot ** 2 * sin) / total
    theta_acc = (g * sin - cos * temp) / (l * (4.0 / 3.0 - m_p * cos ** 2 / total))
    x_acc = temp - m_p * l * theta_acc * cos / total
    return [x + tau * x_dot, x_dot + tau * x_acc, theta + tau * theta_dot, theta_dot + tau * theta_acc]


def test_physics_matches_a_plain_python_oracle_for_200_steps():
    masses = [0.1, 0.3, 0.05]
    forces = [10.0, 5.0, 20.0]
    game = CartPole(batch_size=3, seed=11, Mass_Pole=masses, Force_Mag=forces, theta_init_range=(-0.2, 0.2),
                    **FAR)
    obs, _ = game.reset()
    actions = np.random.default_rng(0).integers(0, 2, (200, 3))
    oracle = [list(map(float, obs[b])) for b in range(3)]
    worst_one_step, worst_trajectory = 0.0, 0.0
    for t in range(200):
        before = game.state.copy()
        obs, reward, terminated, truncated, info = game.step(actions[t])
        for b in range(3):
            force = forces[b] if actions[t, b] == 1 else -forces[b]
            one = oracle_step(list(map(float, before[b])), force, m_p=masses[b])
            worst_one_step = max(worst_one_step, np.abs(np.array(one) - obs[b]).max())
            oracle[b] = oracle_step(oracle[b], force, m_p=masses[b])
            scale = max(1.0, np.abs(oracle[b]).max())
            worst_trajectory = max(worst_trajectory, np.abs(np.array(oracle[b]) - obs[b]).max() / scale)
        assert reward.tolist() == [1.0] * 3 and not terminated.any() and not truncated.any()
        assert info["steps"].tolist() == [t + 1] * 3
    assert worst_one_step < 1e-12
    assert worst_trajectory < 1e-12
    assert np.abs(obs[:, 2]).max() > 1.0  # the poles really fell: the test covered large angles


def test_continuous_force_is_action_times_force_mag():
    game = CartPole(batch_size=2, seed=1, continuous=True, Force_Mag=[10.0, 4.0], **FAR)
    assert str(game.action_space) == "Box(-1.0, 1.0, (1,), float64)"
    obs, _ = game.reset()
    actions = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    state = [list(map(float, obs[b])) for b in range(2)]
    for t in range(50):
        shaped = actions[t] if t % 2 else actions[t][:, None]  # (B,) and (B, 1) are both accepted
        obs, *_ = game.step(shaped)
        for b, magnitude in enumerate((10.0, 4.0)):
            state[b] = oracle_step(state[b], actions[t, b] * magnitude)
    np.testing.assert_allclose(obs, state, rtol=1e-12, atol=1e-12)


def test_one_step_agrees_with_gymnasium_cartpole():
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv
    env = CartPoleEnv()
    env.reset(seed=0)
    game = CartPole(batch_size=1, seed=2, theta_init_range=(-0.05, 0.05))
    obs, _ = game.reset()
    for t in range(60):
        action = int(obs[0, 2] + 0.5 * obs[0, 3] > 0)  # a balancing policy keeps both inside their limits
        env.state = game.state[0].copy()
        env.step(action)
        obs, _, terminated, *_ = game.step(np.array([action]))
        np.testing.assert_allclose(obs[0], env.state, rtol=0, atol=1e-12)
    assert not terminated.any()


def test_lane_b_equals_a_single_game_seeded_the_same():
    seeds = [4, 5, 6, 7]
    batch = CartPole("FREMAUX", batch_size=4, seed=seeds, theta_init_range=(-0.1, 0.1))
    actions = np.random.default_rng(3).integers(0, 2, (2, 80, 4))
    runs = []
    for episode in range(2):
        runs.append(batch.reset()[0])
        runs += [batch.step(actions[episode, t])[0] for t in range(80)]
    runs = np.array(runs)
    for lane, seed in enumerate(seeds):
        single = CartPole("FREMAUX", batch_size=1, seed=seed, theta_init_range=(-0.1, 0.1))
        alone = []
        for episode in range(2):
            alone.append(single.reset()[0])
            alone += [single.step(actions[episode, t, lane:lane + 1])[0] for t in range(80)]
        np.testing.assert_array_equal(np.array(alone)[:, 0], runs[:, lane])
    # An int seed s gives lane b the seed s + b.
    np.testing.assert_array_equal(CartPole(batch_size=4, seed=4).reset()[0], CartPole(batch_size=4, seed=seeds).reset()[0])


def test_initial_states_are_uniform_in_their_ranges_and_seed_zero_seeds():
    ranges = dict(x_init_range=(-1.0, 2.0), xdot_init_range=(0.5, 0.5), theta_init_range=(-0.1, 0.1),
                  thetadot_init_range=(0.0, 0.3))
    obs, _ = CartPole(batch_size=4000, seed=0, **ranges).reset()
    for dim, (low, high) in enumerate(ranges.values()):
        assert (obs[:, dim] >= low).all() and (obs[:, dim] <= high).all()
        assert abs(obs[:, dim].mean() - (low + high) / 2) < 0.03 * max(high - low, 1e-9) + 1e-12
        if high > low:  # uniform: a quarter of the draws in each quarter of the range
            quarters = np.histogram(obs[:, dim], bins=4, range=(low, high))[0] / len(obs)
            np.testing.assert_allclose(quarters, 0.25, atol=0.03)
    default = CartPole(batch_size=500, seed=0).reset()[0]
    assert (default[:, [0, 2]] == 0).all() and np.abs(default[:, [1, 3]]).max() <= 0.1
    assert len(np.unique(default[:, 1])) == 500
    # seed 0 seeds (the old seed(0) did nothing); reset(seed=...) reseeds.
    a, b = CartPole(batch_size=3, seed=0), CartPole(batch_size=3, seed=0)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    first = a.reset(seed=9)[0]
    a.reset()
    np.testing.assert_array_equal(a.reset(seed=9)[0], first)
    b.seed(9)
    np.testing.assert_array_equal(b.reset()[0], first)


def fall_step(start, action, x_max, theta_max, **physics):
    """Steps until the oracle's pole or cart leaves its limits under a constant action."""
    state, force = list(start), (10.0 if action == 1 else -10.0)
    for t in range(1, 10_000):
        state = oracle_step(state, force, **physics)
        if abs(state[0]) > x_max or abs(state[2]) > theta_max:
            return t, state
    raise AssertionError("never terminated")


def test_termination_reward_and_frozen_lanes():
    game = CartPole(batch_size=3, seed=0, x_max=2.4, theta_max=0.21, theta_init_range=(0.05, 0.05),
                    xdot_init_range=(0.0, 0.0), thetadot_init_range=(0.0, 0.0), Force_Mag=[10.0, 10.0, 10.0])
    obs, _ = game.reset()
    actions = np.array([0, 1, 1])  # lane 0 pushes the cart away from the pole: it falls faster
    ends = [fall_step(obs[b], actions[b], 2.4, 0.21) for b in range(3)]
    assert ends[0][0] < ends[1][0] == ends[2][0]
    total, last_terminated = np.zeros(3), None
    for t in range(1, ends[1][0] + 5):
        obs, reward, terminated, truncated, _ = game.step(actions)
        total += reward
        for b in range(3):
            end, final = ends[b]
            assert terminated[b] == (t >= end) and not truncated[b]
            assert reward[b] == (1.0 if t <= end else 0.0)  # the terminating step still earns 1
            if t >= end:
                np.testing.assert_allclose(obs[b], final, atol=1e-12)  # frozen at the final state
        last_terminated = terminated
    assert total.tolist() == [float(ends[b][0]) for b in range(3)] and last_terminated.all()
    # The flags of done lanes are independent of the action given to them.
    assert game.step(np.array([1, 0, 0]))[1].tolist() == [0.0, 0.0, 0.0]
    # A partial reset restarts only the masked lanes.
    frozen = game.state.copy()
    obs, _ = game.reset(options={"reset_mask": np.array([True, False, False])})
    np.testing.assert_array_equal(obs[1:], frozen[1:])
    np.testing.assert_allclose(obs[0], [0, 0, 0.05, 0])
    _, reward, terminated, _, info = game.step(actions)
    assert reward.tolist() == [1.0, 0.0, 0.0] and terminated.tolist() == [False, True, True]
    assert info["steps"].tolist() == [1, ends[1][0], ends[2][0]]


def test_truncation_after_max_steps():
    game = CartPole(batch_size=2, seed=0, max_steps=5, **FAR)
    game.reset()
    flags = [game.step(np.array([0, 1]))[2:4] for _ in range(7)]
    truncated = np.array([f[1] for f in flags])
    terminated = np.array([f[0] for f in flags])
    assert not terminated.any()
    assert truncated[:, 0].tolist() == [False] * 4 + [True] * 3
    assert CartPole(max_steps=None).params["max_steps"] is None


def test_bad_actions_and_keys_are_named():
    game = CartPole(batch_size=4)
    with pytest.raises(RuntimeError, match=r"CartPole.step called before reset"):
        game.step(np.zeros(4, int))
    game.reset()
    with pytest.raises(ValueError, match=r"CartPole.step: action has shape \(3,\); expected one action per "
                                         r"game, shape \(4,\)"):
        game.step(np.zeros(3, int))
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        game.step(np.zeros((4, 2), int))
    with pytest.raises(ValueError, match=r"actions \[2, -1\] in lanes \[1, 3\] are outside the action space "
                                         r"Discrete\(2\)"):
        game.step(np.array([0, 2, 1, -1]))
    with pytest.raises(ValueError, match=r"action 0.5 in lane 0"):
        game.step(np.array([0.5, 1, 1, 1]))
    game.step(np.array([0.0, 1.0, True, False]))  # integral floats and bools are fine
    continuous = CartPole(batch_size=2, continuous=True)
    continuous.reset()
    with pytest.raises(ValueError, match=r"action \[1.5\] in lane 1 is outside the action space"):
        continuous.step(np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match=r"lane 0"):
        continuous.step(np.array([np.nan, 0.0]))
    with pytest.raises(KeyRangeError, match=r"CartPole: key 'x_init_range' = \(1.0, 0.0\)"):
        CartPole(x_init_range=(1.0, 0.0))
    with pytest.raises(KeyRangeError, match=r"'Tau' = 0.0 must be > 0"):
        CartPole(Tau=0.0)
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'Force_Mag'"):
        CartPole(force_mag=3.0)
    with pytest.raises(ValueError, match=r"unknown preset 'FREEMAUX'"):
        CartPole("FREEMAUX")


def test_state_dict_resumes_mid_episode():
    game = CartPole(batch_size=2, seed=4, theta_init_range=(-0.1, 0.1))
    assert game.state_dict()["state"] is None  # before the first reset too
    game.reset()
    for _ in range(5):
        game.step(np.array([0, 1]))
    other = CartPole(batch_size=2, seed=0, theta_init_range=(-0.1, 0.1))  # keys come from the config
    other.load_state_dict(game.state_dict())
    for _ in range(30):
        np.testing.assert_array_equal(game.step(np.array([1, 1]))[0], other.step(np.array([1, 1]))[0])
    np.testing.assert_array_equal(game.reset()[0], other.reset()[0])
    with pytest.raises(ValueError, match="unknown options \\['lanes'\\]"):
        game.reset(options={"lanes": [0]})


def test_presets_and_spaces():
    assert CartPole().params["x_max"] == 4.5 and CartPole("FREMAUX").params["x_max"] == 2.5
    space = CartPole("FREMAUX").observation_space
    assert space.shape == (4,) and space.high[0] == 5.0 and np.isinf(space.high[1])
    assert CartPole().single_action_space.n == 2


class BalanceNet(RLNetwork):
    parts = dict(inputs=RBF, neurons=LIF, weights=Random, synapses=MSTDP, readout=TopAction,
                 rewarder=RewardFunction)
    keys = dict(n_inputs=8, n_dims=4, rbf_low=[-2.4, -2, -0.2, -2], rbf_high=[2.4, 2, 0.2, 2], n_neurons=6,
                n_outputs=4, n_actions=2, processing_time=5, firing_threshold=0.5, potential_decay=0.2,
                prob_rand_fire=0.1, max_weight=1.0, learning_rate=0.01,
                reward_fn=lambda s, a, n, p: np.ones(len(a)))


def test_experiment_loop_counts_each_lane_until_its_end():
    B = 4
    actions = []
    frame = run_episodes(BalanceNet(batch_size=B, seed=3), CartPole(batch_size=B, seed=3), 2, 400,
                         callbacks=[lambda record, network, game, step: actions.append(np.array(step["action"]))])
    # Replay every lane's actions on a single game with the lane's seed: the loop's lengths are the
    # single games' episode lengths, and the game reward is 1 per counted step.
    steps = np.array(actions)
    position = 0
    singles = [CartPole(batch_size=1, seed=3 + b) for b in range(B)]
    for episode in range(2):
        rows = frame[frame.episode == episode].sort_values("lane")
        n = int(rows.length.max())
        for b in range(B):
            singles[b].reset()
            length = 0
            for t in range(n):
                length += 1
                if singles[b].step(steps[position + t, b:b + 1])[2][0]:
                    break
            assert rows.length.iloc[b] == length
        position += n
    assert (frame.game_reward == 1.0).all() and frame.length.nunique() > 1
