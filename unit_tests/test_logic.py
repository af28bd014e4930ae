"""The batched Logic game."""
import numpy as np
import pytest

from spikey.games import Logic, and_gate, or_gate, truth_table, xor_gate


@pytest.mark.parametrize("preset,gate", [("AND", and_gate), ("OR", or_gate), ("XOR", xor_gate)])
def test_presets_reward_the_gate_output(preset, gate):
    game = Logic(preset, batch_size=64, seed=3)
    states, info = game.reset()
    assert states.shape == (64, 2) and set(np.unique(states)) <= {0, 1} and info == {}
    expected = {(0, 0): 0, (0, 1): int(preset != "AND"), (1, 0): int(preset != "AND"),
                (1, 1): int(preset != "XOR")}
    np.testing.assert_array_equal(gate(states), [expected[tuple(s)] for s in states])
    _, reward, terminated, truncated, _ = game.step(gate(states))
    np.testing.assert_array_equal(reward, np.ones(64))
    _, reward, *_ = game.step(1 - gate(game.states))
    np.testing.assert_array_equal(reward, np.zeros(64))
    assert not terminated.any() and not truncated.any()


def test_states_are_uniform_and_lanes_follow_their_seeds():
    game = Logic("XOR", batch_size=3, seed=[4, 5, 6])
    batch = [game.reset()[0]] + [game.step(np.zeros(3, int))[0] for _ in range(50)]
    for lane, seed in enumerate((4, 5, 6)):
        single = Logic("XOR", batch_size=1, seed=seed)
        alone = [single.reset()[0]] + [single.step(np.zeros(1, int))[0] for _ in range(50)]
        np.testing.assert_array_equal(np.array(alone)[:, 0], np.array(batch)[:, lane])
    many = Logic("XOR", batch_size=1000, seed=0).reset()[0]
    assert abs(many.mean() - 0.5) < 0.05


def test_user_truth_table():
    nand = truth_table({(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 0})
    game = Logic(None, expected_value=nand, batch_size=8)
    states, _ = game.reset()
    np.testing.assert_array_equal(nand(states), 1 - and_gate(states))


def test_bad_actions_are_rejected():
    game = Logic("XOR", batch_size=4)
    with pytest.raises(RuntimeError, match="before reset"):
        game.step(np.zeros(4, int))
    game.reset()
    with pytest.raises(ValueError, match=r"shape \(3,\); expected one action per game, shape \(4,\)"):
        game.step(np.zeros(3, int))
    with pytest.raises(ValueError, match=r"Logic.step: action 2 in lane 2 is outside the action space "
                                         r"Discrete\(2\); expected integers 0 <= a < 2"):
        game.step(np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"actions \[0.5, -1.0\] in lanes \[0, 3\]"):
        game.step(np.array([0.5, 1, 1, -1.0]))
    with pytest.raises(ValueError, match=r"Logic.reset: unknown options \['reset_mask'\]; this game takes none"):
        game.reset(options={"reset_mask": np.ones(4, bool)})
    with pytest.raises(ValueError, match="unknown preset 'NOR'"):
        Logic("NOR")


def test_spaces_info_seeding_and_torch_actions():
    import torch
    game = Logic("AND", batch_size=5, seed=0)
    assert str(game.observation_space) == "MultiBinary(2)" and game.single_action_space.n == 2
    states, _ = game.reset()
    assert all(game.observation_space.contains(s) for s in states)
    action = torch.tensor([1, 0, 1, 0, 1])
    _, reward, _, _, info = game.step(action)
    expected = and_gate(states)
    np.testing.assert_array_equal(info["expected"], expected)
    np.testing.assert_array_equal(info["correct"], action.numpy() == expected)
    np.testing.assert_array_equal(reward, (action.numpy() == expected).astype(float))
    game.step(np.array([True, False, True, True, False]))  # bools are actions too
    # reset(seed=...) reseeds (seed 0 included); state_dict restores the shown bits and the streams.
    first = game.reset(seed=0)[0]
    np.testing.assert_array_equal(Logic("AND", batch_size=5, seed=0).reset()[0], first)
    saved = game.state_dict()
    later = [game.step(np.zeros(5, int))[0] for _ in range(3)]
    other = Logic("AND", batch_size=5, seed=42)
    other.load_state_dict(saved)
    np.testing.assert_array_equal(other.states, first)
    np.testing.assert_array_equal([other.step(np.zeros(5, int))[0] for _ in range(3)], later)
