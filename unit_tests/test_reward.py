"""Rewarders: MatchExpected and RewardFunction."""
import numpy as np
import pytest

import spikey.games
from spikey.module import ConfigError, KeyRangeError, KeyTypeError, MissingKeyError
from spikey.snn.reward import MatchExpected, Reward, RewardFunction

ALL_STATES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def xor(states):
    return np.asarray(states).sum(axis=1) % 2


def test_match_expected_scalar_multipliers():
    rewarder = MatchExpected(expected_value=xor, reward_mult=2.0, punish_mult=0.5, batch_size=4)
    actions = np.array([0, 0, 1, 0])          # right, wrong, right, right
    reward = rewarder(ALL_STATES, actions)
    assert isinstance(reward, np.ndarray) and reward.dtype == np.float64 and reward.shape == (4,)
    assert reward.tolist() == [2.0, -0.5, 2.0, 2.0]


def test_match_expected_default_multipliers():
    rewarder = MatchExpected(expected_value=xor, batch_size=4)
    assert rewarder(ALL_STATES, np.array([1, 1, 1, 1])).tolist() == [0.0, 1.0, 1.0, 0.0]


def test_match_expected_per_member_multipliers():
    rewarder = MatchExpected(expected_value=xor, reward_mult=[1, 2, 3], punish_mult=[1, 2, 3],
                             batch_size=3)
    states = np.array([[0, 1], [1, 1], [1, 0]])
    assert rewarder(states, np.array([1, 1, 1])).tolist() == [1.0, -2.0, 3.0]
    assert rewarder(states, np.array([0, 0, 0])).tolist() == [-1.0, 2.0, -3.0]
    # per-member reward, scalar punishment
    mixed = MatchExpected(expected_value=xor, reward_mult=[1, 2, 3], punish_mult=0.25, batch_size=3)
    assert mixed(states, np.array([0, 0, 0])).tolist() == [-0.25, 2.0, -0.25]


def test_match_expected_with_the_logic_game():
    B = 8
    game = spikey.games.Logic("XOR", batch_size=B, seed=3)
    rewarder = MatchExpected(expected_value=game.expected_value, reward_mult=[1, 2, 3, 4, 5, 6, 7, 8],
                             punish_mult=0.5, batch_size=B)
    assert rewarder(ALL_STATES[[0, 1, 2, 3, 0, 1, 2, 3]], np.array([0, 1, 1, 0, 1, 0, 0, 1])).tolist() \
        == [1.0, 2.0, 3.0, 4.0, -0.5, -0.5, -0.5, -0.5]
    states, _ = game.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):
        actions = rng.integers(0, 2, size=B)
        reward = rewarder(states, actions)
        correct = actions == (states[:, 0] ^ states[:, 1])
        np.testing.assert_array_equal(reward, np.where(correct, np.arange(1, B + 1), -0.5))
        states_next, game_reward, _, _, _ = game.step(actions)
        np.testing.assert_array_equal(game_reward == 1.0, correct)   # the game agrees
        states = states_next


def test_match_expected_other_logic_presets():
    rewarder = MatchExpected(expected_value=spikey.games.Logic("AND").expected_value, batch_size=4)
    assert rewarder(ALL_STATES, np.zeros(4, dtype=int)).tolist() == [1.0, 1.0, 1.0, 0.0]
    rewarder = MatchExpected(expected_value=spikey.games.Logic("OR").expected_value, batch_size=4)
    assert rewarder(ALL_STATES, np.zeros(4, dtype=int)).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_match_expected_vector_actions_are_summed():
    # (B, k) expected actions: one reward or punishment per element, summed.
    rewarder = MatchExpected(expected_value=lambda s: np.asarray(s), reward_mult=1.0, punish_mult=2.0,
                             batch_size=2)
    states = np.array([[1, 0, 1], [0, 0, 0]])
    assert rewarder(states, np.array([[1, 0, 0], [0, 0, 0]])).tolist() == [0.0, 3.0]


def test_match_expected_accepts_torch_actions():
    torch = pytest.importorskip("torch")
    from spikey.backend import Backend
    rewarder = MatchExpected(expected_value=xor, punish_mult=1.0, batch_size=4, backend=Backend("torch"))
    assert rewarder(ALL_STATES, torch.tensor([0, 0, 0, 0])).tolist() == [1.0, -1.0, -1.0, 1.0]


def test_match_expected_missing_expected_value_names_part_and_key():
    with pytest.raises(MissingKeyError) as info:
        MatchExpected(reward_mult=1.0)
    error = info.value
    assert error.part == "MatchExpected" and error.key == "expected_value"
    assert "MatchExpected" in str(error) and "'expected_value'" in str(error)
    assert isinstance(error, KeyError) and isinstance(error, ConfigError)


def test_reward_keys_are_validated():
    with pytest.raises(KeyRangeError, match="MatchExpected: key 'punish_mult' = -1.0"):
        MatchExpected(expected_value=xor, punish_mult=-1.0)
    with pytest.raises(KeyRangeError, match=r"MatchExpected: key 'reward_mult' has \(2,\) values.*\(3,\)"):
        MatchExpected(expected_value=xor, reward_mult=[1, 2], batch_size=3)
    with pytest.raises(KeyTypeError, match="MatchExpected: key 'expected_value'"):
        MatchExpected(expected_value=3)
    with pytest.raises(MissingKeyError, match="RewardFunction: required key 'reward_fn'"):
        RewardFunction()


def test_reward_function_passes_params_and_checks_shape():
    def florian(state, fired, state_next, params):
        target = np.asarray(state).sum(axis=1) % 2 == 1
        return np.where(target, params["reward_mult"], -params["punish_mult"]) * fired

    rewarder = RewardFunction(reward_fn=florian, reward_mult=[1.0, 2.0, 3.0, 4.0], punish_mult=0.5,
                              batch_size=4)
    reward = rewarder(ALL_STATES, np.array([1, 1, 0, 1]))
    assert reward.dtype == np.float64 and reward.tolist() == [-0.5, 2.0, 0.0, -0.5]

    for bad, shown in ((lambda s, a, n, p: np.zeros((4, 1)), r"\(4, 1\)"),
                       (lambda s, a, n, p: np.zeros(3), r"\(3,\)"),
                       (lambda s, a, n, p: 1.0, "float"),
                       (lambda s, a, n, p: [0.0] * 4, "list")):
        with pytest.raises(ValueError, match=rf"RewardFunction: 'reward_fn' returned {shown}.*\(4,\)"):
            RewardFunction(reward_fn=bad, batch_size=4)(ALL_STATES, np.zeros(4))


def test_template_call_is_abstract():
    with pytest.raises(NotImplementedError, match="Reward"):
        Reward()(ALL_STATES, np.zeros(4))
