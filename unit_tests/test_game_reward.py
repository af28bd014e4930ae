"""The game's own step results (reward, terminated, truncated) reach the network's rewarder."""
import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from spikey.experiment import run_episodes
from spikey.experiment.config import Experiment
from spikey.games import GymGame
from spikey.snn import (LIF, MSTDPET, ActiveRLNetwork, GameReward, MatchExpected, RBF, Random, Reward,
                        RewardFunction, RLNetwork, TopAction)
from spikey.snn.reward.template import accepted_step_results, call_rewarder


class Ladder(gymnasium.Env):
    """obs [t]; reward 10 * t + lane offset; terminates after ``end_at`` steps (lane offset: the reset seed)."""

    observation_space = spaces.Box(-np.inf, np.inf, (1,), np.float64)
    action_space = spaces.Discrete(2)

    def __init__(self, end_at=4):
        self.end_at = end_at

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.offset = 0, float(seed or 0)
        return np.array([0.0]), {}

    def step(self, action):
        self.t += 1
        return np.array([float(self.t)]), 10.0 * self.t + self.offset, self.t >= self.end_at, False, {}


class Recorder(Reward):
    """Returns the game's reward and records every call's step results."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def __call__(self, state, action, state_next=None, game_reward=None, terminated=None, truncated=None):
        self.calls.append((None if game_reward is None else np.asarray(game_reward).copy(),
                           None if terminated is None else np.asarray(terminated).copy(),
                           None if truncated is None else np.asarray(truncated).copy()))
        return np.zeros(self.batch_size) if game_reward is None else np.asarray(game_reward, float)


class Legacy(Reward):
    """A rewarder written for (state, action, state_next) only."""

    def __call__(self, state, action, state_next=None):
        return np.full(self.batch_size, 2.0)


def network(rewarder, B=2, network_class=RLNetwork, n_dims=1, **keys):
    parts = dict(inputs=RBF, neurons=LIF, weights=Random, synapses=MSTDPET, readout=TopAction, rewarder=rewarder)
    config = dict(n_inputs=4 * n_dims, n_dims=n_dims, rbf_low=0.0, rbf_high=5.0, n_neurons=4, n_outputs=4,
                  n_actions=2, processing_time=5, firing_threshold=1.0, potential_decay=0.2, max_weight=1.0,
                  learning_rate=0.01, recurrent=False)
    return network_class(parts=parts, keys={**config, **keys}, batch_size=B, seed=[0, 1])


def test_the_episode_loop_passes_the_env_reward_and_flags_to_the_rewarder():
    game = GymGame(Ladder, env_kwargs={"end_at": 3}, batch_size=2, seed=[0, 5], max_steps=10)
    net = network(Recorder)
    frame = run_episodes(net, game, 1, 10)
    rewards = [call[0] for call in net.rewarder.calls]
    terminated = [call[1] for call in net.rewarder.calls]
    truncated = [call[2] for call in net.rewarder.calls]
    assert len(net.rewarder.calls) == 3                          # the batch stops once both lanes ended
    np.testing.assert_array_equal(rewards, [[10, 15], [20, 25], [30, 35]])
    np.testing.assert_array_equal(terminated, [[False, False], [False, False], [True, True]])
    np.testing.assert_array_equal(truncated, np.zeros((3, 2), bool))
    # the network's reward is the game's: both columns agree
    np.testing.assert_allclose(frame["reward"], frame["game_reward"])
    np.testing.assert_allclose(frame["game_reward"], [20.0, 25.0])


def test_truncation_by_the_time_limit_reaches_the_rewarder():
    game = GymGame(Ladder, env_kwargs={"end_at": 100}, batch_size=2, seed=0, max_steps=2)
    net = network(Recorder)
    run_episodes(net, game, 1, 10)
    assert [call[2].tolist() for call in net.rewarder.calls] == [[False, False], [True, True]]
    assert [call[1].tolist() for call in net.rewarder.calls] == [[False, False], [False, False]]


def test_game_reward_part_learns_from_the_env_reward_through_rl_network():
    game = GymGame("CartPole-v1", batch_size=2, seed=3)
    net = network(GameReward, n_dims=4, reward_scale=0.5, reward_offset=-0.25)
    before = net.weights.matrix.copy()
    frame = run_episodes(net, game, 1, 20)
    np.testing.assert_allclose(frame["reward"], 0.5 * frame["game_reward"] - 0.25)
    assert not np.array_equal(before, net.weights.matrix)       # +0.25 per step modulated MSTDPET


def test_rewarders_without_the_extras_are_called_as_before():
    game = GymGame(Ladder, batch_size=2, seed=0)
    frame = run_episodes(network(Legacy), game, 1, 3)
    assert (frame["reward"] == 2.0).all()
    assert accepted_step_results(Legacy.__call__) == ()
    assert accepted_step_results(Recorder.__call__) == ("game_reward", "terminated", "truncated")
    expected = MatchExpected(expected_value=lambda s: np.zeros(2), punish_mult=1.0, batch_size=2)
    assert call_rewarder(expected, np.zeros((2, 1)), np.array([0, 1]), None,
                         game_reward=np.ones(2), terminated=np.ones(2, bool)).tolist() == [1.0, -1.0]


def test_reward_function_receives_the_step_results_it_names():
    def bonus(state, action, state_next, params, game_reward=None, terminated=None):
        return game_reward + 100.0 * terminated

    game = GymGame(Ladder, env_kwargs={"end_at": 2}, batch_size=2, seed=0)
    frame = run_episodes(network(RewardFunction, reward_fn=bonus), game, 1, 5)
    np.testing.assert_allclose(frame["reward"], [(10 + 20 + 100) / 2, (11 + 21 + 100) / 2])


def test_active_rl_network_accepts_the_step_results():
    game = GymGame(Ladder, batch_size=2, seed=0)
    net = network(Legacy, network_class=ActiveRLNetwork)
    state, _ = game.reset()
    action = net.tick(state)
    state_next, reward, terminated, truncated, _ = game.step(action)
    assert net.reward(state, action, state_next, game_reward=reward, terminated=terminated,
                      truncated=truncated).shape == (2,)


def test_game_reward_names_a_missing_or_bad_reward():
    part = GameReward(batch_size=2)
    with pytest.raises(ValueError, match="no game_reward given"):
        part(None, None, None)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        part(None, None, None, game_reward=np.ones(3))
    with pytest.raises(ValueError, match="not finite"):
        part(None, None, None, game_reward=np.array([1.0, np.nan]))


def test_gym_yaml_builds_a_feed_forward_network_and_plays_any_env():
    experiment = Experiment.from_file("examples/gym.yaml").replace(seeds=[0, 1])
    net, game = experiment.validate().build()
    assert isinstance(game, GymGame) and isinstance(net.rewarder, GameReward)
    body = net.weights.matrix[:, net.n_inputs:]
    assert (body == 0).all() and (net.weights.matrix[:, :net.n_inputs] > 0).any()   # no recurrent links
    frame = run_episodes(net, game, 1, 5)
    assert (frame["game_reward"] == -1.0).all() and np.isfinite(frame["reward"]).all()
    assert (net.rewarder.critic_weights != 0).any()             # the critic learned from Acrobot's -1s


def test_random_weights_feed_forward_key_keeps_the_input_draws():
    keys = dict(n_inputs=3, n_neurons=4, max_weight=2.0, connection_prob=0.7, batch_size=2, seed=4)
    recurrent, forward = Random(**keys), Random(recurrent=False, **keys)
    assert (recurrent.matrix[:, 3:] > 0).any() and (forward.matrix[:, 3:] == 0).all()
    np.testing.assert_array_equal(recurrent.matrix[:, :3], forward.matrix[:, :3])
    assert not forward.mask_numpy[:, 3:].any()                  # plasticity cannot grow them either
