"""GymGame: lanes equal single gymnasium envs, frozen done lanes under every autoreset mode, checks, errors."""
import copy

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from spikey.experiment import run_episodes
from spikey.games import GymGame, NonFiniteObservationError
from spikey.module import ConfigError, MissingKeyError
from test_cartpole import BalanceNet  # the same small CartPole learner


class Counter(gymnasium.Env):
    """obs [t, last action]; NaN in the second entry once action 1 is given at t >= nan_at."""

    observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = spaces.Discrete(2)

    def __init__(self, nan_at=3, end_at=None, nan_on_reset=False):
        self.nan_at, self.end_at, self.nan_on_reset = nan_at, end_at, nan_on_reset

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, np.nan if self.nan_on_reset else 0.0]), {"t": 0}

    def step(self, action):
        self.t += 1
        obs = np.array([self.t, action], dtype=np.float64)
        if action == 1 and self.t >= self.nan_at:
            obs[1] = np.nan
        ended = self.end_at is not None and self.t >= self.end_at
        return obs, 1.0, ended, False, {"t": self.t}


def single_episode(env_id, seed, actions):
    """Observations, rewards and the length of one gymnasium episode under ``actions`` (or fewer)."""
    env = gymnasium.make(env_id)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards), len(rewards), terminated


def test_lanes_equal_single_cartpoles_and_freeze_when_done():
    B, steps = 3, 60
    actions = np.random.default_rng(0).integers(0, 2, (steps, B))
    game = GymGame("CartPole-v1", batch_size=B, seed=7)
    assert game.observation_space.shape == (4,) and game.single_action_space == spaces.Discrete(2)
    obs, _ = game.reset()
    trace, rewards, flags = [obs], [], []
    for t in range(steps):
        obs, reward, terminated, truncated, _ = game.step(actions[t])
        trace.append(obs), rewards.append(reward), flags.append(terminated | truncated)
    trace, rewards, flags = np.array(trace), np.array(rewards), np.array(flags)
    for b in range(B):
        observations, single_rewards, length, terminated = single_episode("CartPole-v1", 7 + b, actions[:, b])
        assert terminated and length < steps  # random pushes drop the pole within 60 steps
        np.testing.assert_array_equal(trace[:length + 1, b], observations)
        np.testing.assert_array_equal(rewards[:length, b], single_rewards)
        assert (rewards[length:, b] == 0).all() and (trace[length:, b] == observations[-1]).all()
        assert not flags[:length - 1, b].any() and flags[length - 1:, b].all()


def test_lane_b_equals_a_single_game_across_episodes():
    """Hidden autoresets of done lanes must not leak into later episodes."""
    seeds, steps = [3, 4, 5], 70
    actions = np.random.default_rng(1).integers(0, 2, (3, steps, 3))
    batch = GymGame("CartPole-v1", batch_size=3, seed=seeds)
    episodes = []
    for episode in range(3):  # the batch plays on for all 70 steps, done lanes included
        episodes.append([batch.reset()[0]] + [batch.step(actions[episode, t])[0] for t in range(steps)])
    for b, seed in enumerate(seeds):
        single = GymGame("CartPole-v1", batch_size=1, seed=seed)
        for episode in range(3):  # the single game stops at its episode's end
            alone = [single.reset()[0]]
            for t in range(steps):
                obs, _, terminated, truncated, _ = single.step(actions[episode, t, b:b + 1])
                alone.append(obs)
                if terminated[0] or truncated[0]:
                    break
            assert len(alone) < steps
            np.testing.assert_array_equal(np.array(alone)[:, 0], np.array(episodes[episode])[:len(alone), b])
    # The first episode's reset is gymnasium's reset(seed=s + b); a reseed repeats it.
    game = GymGame("CartPole-v1", batch_size=2, seed=10)
    first = game.reset()[0]
    np.testing.assert_array_equal(first[1], gymnasium.make("CartPole-v1").reset(seed=11)[0])
    assert not (game.reset()[0] == first).all()
    np.testing.assert_array_equal(game.reset(seed=10)[0], first)


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_user_vector_envs_in_other_autoreset_modes_behave_the_same(mode):
    actions = np.random.default_rng(2).integers(0, 2, (2, 60, 2))

    def play(game):
        out = []
        for episode in range(2):
            out.append(game.reset()[0])
            for t in range(60):
                obs, reward, terminated, truncated, _ = game.step(actions[episode, t])
                out.append(np.concatenate([obs, reward[:, None], terminated[:, None], truncated[:, None]], 1))
        return out

    vector = SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * 2, autoreset_mode=mode)
    theirs = play(GymGame(vector, batch_size=2, seed=0))
    ours = play(GymGame("CartPole-v1", batch_size=2, seed=0))
    for a, b in zip(theirs, ours):
        np.testing.assert_array_equal(a, b)


def test_box_actions_with_pendulum_and_time_limit_truncation():
    game = GymGame("Pendulum-v1", batch_size=2, seed=0)
    assert game.action_space.shape == (1,)
    obs, _ = game.reset()
    actions = np.random.default_rng(4).uniform(-2, 2, (205, 2))
    envs = [gymnasium.make("Pendulum-v1") for _ in range(2)]
    expected = [env.reset(seed=b)[0] for b, env in enumerate(envs)]
    for t in range(205):
        shaped = actions[t] if t % 2 else actions[t][:, None]  # (B,) and (B, 1) both accepted
        obs, reward, terminated, truncated, _ = game.step(shaped)
        if t < 200:
            steps = [env.step(actions[t, b:b + 1].astype(np.float32)) for b, env in enumerate(envs)]
            expected = [s[0] for s in steps]
            np.testing.assert_allclose(reward, [s[1] for s in steps], rtol=1e-6)
        else:
            assert (reward == 0).all()
        np.testing.assert_array_equal(obs, np.array(expected))
        assert truncated.all() == (t >= 199) and not terminated.any()
    with pytest.raises(ValueError, match=r"GymGame\('Pendulum-v1'\).step: action \[3.0\] in lane 1 is outside the "
                                         r"action space Box\(-2.0, 2.0"):
        game.reset()
        game.step(np.array([0.0, 3.0]))
    with pytest.raises(ValueError, match=r"action has shape \(2, 2\); expected one action per game, "
                                         r"shape \(2, 1\)"):
        game.step(np.zeros((2, 2)))
    mountain = GymGame("MountainCarContinuous-v0", batch_size=2, seed=0)
    assert mountain.reset()[0].shape == (2, 2)
    assert mountain.step(np.array([[0.5], [-1.0]]))[0].dtype == np.float32


def test_non_finite_observations_are_named():
    game = GymGame(Counter, batch_size=3, seed=0, env_kwargs={"nan_at": 2})
    assert game.env_name == "Counter"
    game.reset()
    game.step(np.array([1, 1, 1]))  # t = 1: still finite
    with pytest.raises(NonFiniteObservationError, match=r"GymGame\('Counter'\): step gave a non-finite "
                                                        r"observation in lanes \[0, 2\]: \{0: \[2.0, nan\], "
                                                        r"2: \[2.0, nan\]\}"):
        game.step(np.array([1, 0, 1]))
    with pytest.raises(NonFiniteObservationError, match=r"reset gave a non-finite observation in lane"):
        GymGame(Counter, batch_size=2, env_kwargs={"nan_on_reset": True}).reset()
    # A done lane's hidden continuation may emit anything: it is neither checked nor shown.
    quiet = GymGame(Counter, batch_size=2, env_kwargs={"nan_at": 3, "end_at": 2})
    quiet.reset()
    for t in range(4):
        obs, reward, terminated, truncated, info = quiet.step(np.array([1, 1]))
    assert terminated.all() and (obs == [[2.0, 1.0], [2.0, 1.0]]).all() and not info["_t"].any()


def test_max_steps_partial_reset_and_state_dict():
    game = GymGame(Counter, batch_size=3, seed=1, max_steps=3, env_kwargs={"nan_at": 99})
    game.reset()
    truncated = [game.step(np.zeros(3, int))[3] for _ in range(4)]
    assert [t.tolist() for t in truncated] == [[False] * 3, [False] * 3, [True] * 3, [True] * 3]
    obs, _ = game.reset(options={"reset_mask": np.array([False, True, False])})
    assert obs[:, 0].tolist() == [3.0, 0.0, 3.0]
    obs, reward, _, truncated, _ = game.step(np.zeros(3, int))
    assert obs[:, 0].tolist() == [3.0, 1.0, 3.0] and reward.tolist() == [0.0, 1.0, 0.0]
    # Checkpoints restore the lanes' seed streams: the next episodes start alike.
    cart = GymGame("CartPole-v1", batch_size=2, seed=5)
    cart.reset()
    saved = cart.state_dict()
    other = GymGame("CartPole-v1", batch_size=2, seed=99)
    other.load_state_dict(saved)
    np.testing.assert_array_equal(cart.reset()[0], other.reset()[0])
    np.testing.assert_array_equal(copy.deepcopy(cart).reset()[0], cart.reset()[0])


def test_construction_errors_and_no_class_mutation():
    with pytest.raises(MissingKeyError, match="key 'env' is missing"):
        GymGame()
    with pytest.raises(ConfigError, match="cannot make env 'NoSuchEnv-v0'"):
        GymGame("NoSuchEnv-v0")
    with pytest.raises(ConfigError, match="an Env instance serves one lane"):
        GymGame(gymnasium.make("CartPole-v1"), batch_size=2)
    with pytest.raises(ConfigError, match="the VectorEnv has 2 envs but batch_size is 3"):
        GymGame(SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * 2), batch_size=3)
    with pytest.raises(ConfigError, match="cannot make env '<lambda>' with env_kwargs {}: TypeError: it made a int, not a gymnasium.Env"):
        GymGame(lambda: 3)
    with pytest.raises(ValueError, match=r"GymGame\('CartPole-v1'\).step: actions \[2, 5\] in lanes \[0, 1\]"):
        game = GymGame("CartPole-v1", batch_size=2)
        game.reset()
        game.step(np.array([2, 5]))
    instance = gymnasium.make("CartPole-v1")
    single = GymGame(instance, seed=3)
    assert single.env_name == "CartPole-v1" and single.vector_env.envs[0] is instance
    np.testing.assert_array_equal(single.reset()[0][0], gymnasium.make("CartPole-v1").reset(seed=3)[0])
    # Two wrappers of different envs coexist; no env class gains bases.
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv
    bases = CartPoleEnv.__bases__
    pair = GymGame("CartPole-v1"), GymGame("MountainCar-v0", env_kwargs={"goal_velocity": 0.0})
    assert type(pair[0]) is type(pair[1]) is GymGame and CartPoleEnv.__bases__ == bases
    assert pair[1].observation_space.shape == (2,) and pair[1].action_space.n == 3
    assert GymGame(env="CartPole-v1").env_name == "CartPole-v1"  # the key works like the argument


def test_experiment_loop_lengths_are_the_single_envs_episode_lengths():
    B, actions = 3, []
    frame = run_episodes(BalanceNet(batch_size=B, seed=2), GymGame("CartPole-v1", batch_size=B, seed=20), 1, 300,
                         callbacks=[lambda record, network, game, step: actions.append(np.array(step["action"]))])
    steps = np.array(actions)
    for b in range(B):
        _, rewards, length, _ = single_episode("CartPole-v1", 20 + b, steps[:, b])
        assert frame.length[b] == length and frame.game_reward[b] == rewards.mean()
    assert frame.length.nunique() > 1 and len(steps) == frame.length.max()
