"""Reinforcement-learning rewarders: the prediction-error baseline and the TD critic."""
import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from spikey.experiment import run_episodes
from spikey.games import GymGame
from spikey.module import ConfigError
from spikey.snn import (LIF, MSTDPET, RBF, Random, RewardPredictionError, RLNetwork, TDCritic,
                        TopAction)


def chain_critic(B=1, **keys):
    """A critic over one observation coded by 6 narrow fields on [0, 5] (one per integer state)."""
    config = dict(n_inputs=6, n_dims=1, rbf_low=0.0, rbf_high=5.0, rbf_width=0.2, batch_size=B)
    return TDCritic(**{**config, **keys})


def run_chain(critic, length, terminal=True, episodes=200):
    """Episodes 0 -> 1 -> ... -> length, reward 1 per step; the last step terminated (or truncated)."""
    B = critic.batch_size
    for _ in range(episodes):
        critic.reset()
        for t in range(length):
            last = t == length - 1
            critic(np.full((B, 1), t), None, np.full((B, 1), t + 1), game_reward=np.ones(B),
                   terminated=np.full(B, last and terminal), truncated=np.full(B, last and not terminal))


def test_td_critic_learns_the_discounted_values_of_a_chain():
    critic = chain_critic(discount=0.8, critic_rate=0.5)
    run_chain(critic, 4)
    values = [critic.value(np.array([[t]]))[0] for t in range(4)]
    expected = [sum(0.8 ** k for k in range(4 - t)) for t in range(4)]   # 1 + 0.8 + ... to the end
    np.testing.assert_allclose(values, expected, atol=0.02)


def test_td_lambda_reaches_the_same_values():
    critic = chain_critic(discount=0.8, critic_rate=0.3, critic_lambda=0.9)
    run_chain(critic, 4)
    np.testing.assert_allclose(critic.value(np.array([[0]]))[0], 1 + 0.8 + 0.64 + 0.512, atol=0.05)


def test_truncation_bootstraps_and_termination_does_not():
    """From an untouched state 4 (value_init 2), a truncated last step keeps 1 + γ·2, a terminated one 1."""
    deltas = {}
    for terminal in (True, False):
        critic = chain_critic(discount=0.5, value_init=2.0)
        deltas[terminal] = critic(np.array([[3.0]]), None, np.array([[4.0]]), game_reward=np.ones(1),
                                  terminated=np.array([terminal]), truncated=np.array([not terminal]))[0]
    v3 = 2.0   # value_init: the constant feature carries it
    assert deltas[True] == pytest.approx(1.0 - v3) and deltas[False] == pytest.approx(1.0 + 0.5 * 2.0 - v3)


def test_td_error_is_zero_and_nothing_learns_after_a_lane_ended():
    critic = chain_critic(B=2)
    s, s1 = np.zeros((2, 1)), np.ones((2, 1))
    critic(s, None, s1, game_reward=np.ones(2), terminated=np.array([True, False]))
    weights = critic.critic_weights.copy()
    delta = critic(s, None, s1, game_reward=np.array([0.0, 1.0]), terminated=np.array([True, False]))
    assert delta[0] == 0.0 and delta[1] != 0.0
    np.testing.assert_array_equal(critic.critic_weights[0], weights[0])
    critic.reset()                               # a new episode: the lane plays and learns again
    assert critic(s, None, s1, game_reward=np.ones(2))[0] != 0.0


def test_eval_mode_freezes_the_critic_and_lanes_are_independent():
    batch, single = chain_critic(B=2, critic_rate=[0.5, 0.1]), chain_critic(B=1, critic_rate=0.1)
    single.seeds = batch.seeds[1:]
    run_chain(batch, 3, episodes=5)
    run_chain(single, 3, episodes=5)
    np.testing.assert_allclose(batch.critic_weights[1], single.critic_weights[0])
    assert not np.allclose(batch.critic_weights[0], batch.critic_weights[1])
    batch.eval()
    weights = batch.critic_weights.copy()
    run_chain(batch, 3, episodes=2)
    np.testing.assert_array_equal(batch.critic_weights, weights)
    batch.reset_learning()
    assert (batch.critic_weights == 0).all()


def test_critic_state_survives_a_checkpoint():
    critic = chain_critic()
    run_chain(critic, 3, episodes=5)
    copy = chain_critic()
    copy.load_state_dict(critic.state_dict())
    np.testing.assert_array_equal(copy.critic_weights, critic.critic_weights)


def test_td_critic_names_a_bad_code_and_a_missing_next_state():
    with pytest.raises(ConfigError, match="critic_code"):
        chain_critic(critic_code="LIF")
    with pytest.raises(ConfigError, match="critic_code"):
        TDCritic(n_inputs=4, batch_size=1)               # RBF without n_dims / bounds
    with pytest.raises(ValueError, match="state_next is None"):
        chain_critic()(np.zeros((1, 1)), None, None, game_reward=np.ones(1))


def test_reward_prediction_error_baseline_tracks_the_mean_reward():
    rpe = RewardPredictionError(baseline_rate=0.1, batch_size=2)
    rng = np.random.default_rng(0)
    for _ in range(400):
        rpe(None, None, None, game_reward=np.array([1.0, -2.0]) + rng.normal(0, 0.1, 2))
    np.testing.assert_allclose(rpe.baseline, [1.0, -2.0], atol=0.1)
    rpe.reset()                                   # a new episode keeps the baseline
    assert abs(rpe(None, None, None, game_reward=np.array([1.0, -2.0]))).max() < 0.2
    rpe(None, None, None, game_reward=np.zeros(2), terminated=np.array([True, False]))
    assert rpe(None, None, None, game_reward=np.array([5.0, 5.0]))[0] == 0.0   # ended lane


class Contextual(gymnasium.Env):
    """One-step episodes: observation c in {-1, +1}; action 1 pays 1 when c > 0, action 0 when c < 0."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.context = float(self.np_random.choice([-1.0, 1.0]))
        return np.array([self.context]), {}

    def step(self, action):
        paid = float((action == 1) == (self.context > 0))
        return np.array([self.context]), paid, True, False, {"correct": bool(paid)}


def contextual_accuracy(learning_rate, episodes=300, seeds=(0, 1, 2, 3)):
    """Accuracy over the last 100 training episodes of networks learning from the env reward via TDCritic."""
    parts = dict(inputs=RBF, neurons=LIF, weights=Random, synapses=MSTDPET, readout=TopAction, rewarder=TDCritic)
    keys = dict(n_inputs=4, n_dims=1, rbf_low=-1.0, rbf_high=1.0, rbf_width=0.5, max_rate=0.5, n_neurons=8,
                n_outputs=8, n_actions=2, processing_time=10, firing_threshold=2.0, potential_decay=0.2,
                max_weight=2.0, recurrent=False, learning_rate=learning_rate, a_minus=0.5, critic_rate=0.2)
    net = RLNetwork(parts=parts, keys=keys, batch_size=len(seeds), seed=list(seeds))
    game = GymGame(Contextual, batch_size=len(seeds), seed=list(seeds))
    frame = run_episodes(net, game, episodes, 1)
    return frame[frame["episode"] >= episodes - 100].groupby("lane")["accuracy"].mean().to_numpy()


def test_td_error_modulated_mstdpet_learns_a_contextual_bandit_from_the_env_reward():
    learned, control = contextual_accuracy(0.02), contextual_accuracy(0.0)
    # A lane whose initial weights already answer right stays right; the others must learn.
    assert np.median(learned) >= 0.9 and np.median(control) <= 0.7, (learned, control)
    assert (learned >= control - 0.05).all(), (learned, control)


def test_cartpole_rl_example_runs_end_to_end_and_prints_its_result(capsys):
    import json
    from example_scripts import load_example
    result = load_example("cartpole_rl").main(["--quick"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("result: ")
    printed = json.loads(last[len("result: "):])
    assert printed["env"] == "GymGame('CartPole-v1')" and printed["seeds"] == [0, 1, 2]
    assert len(printed["trained"]) == len(printed["control"]) == len(printed["random"]) == 3
    assert printed["trained_median"] == result["trained_median"] and min(printed["random"]) >= 8   # CartPole: >= 8 steps


def test_rbf_grid_is_the_product_of_rbf_fields_and_names_a_bad_shape():
    from spikey.snn import RBFGrid
    x = np.array([[0.3, -0.7], [1.9, 0.1]])
    keys = dict(n_dims=2, rbf_low=[0.0, -1.0], rbf_high=[2.0, 1.0], rbf_width=0.8, max_rate=1.0, batch_size=2)
    per_dim = RBF(n_inputs=8, **keys)                       # 4 centres per dimension
    grid = RBFGrid(n_inputs=16, **keys)
    per_dim.update(x)
    grid.update(x)
    fields = np.asarray(per_dim.rates, dtype=float).reshape(2, 2, 4)
    expected = (fields[:, 0, :, None] * fields[:, 1, None, :]).reshape(2, 16)
    np.testing.assert_allclose(np.asarray(grid.rates, dtype=float), expected, rtol=1e-6)
    with pytest.raises(ConfigError, match="grid_shape"):
        RBFGrid(n_inputs=10, grid_shape=[2, 4], **keys)
