"""examples/cartpole.py: the script end to end (fast) and its claim on the full settings (slow).

The claim (project issue): over 20 frozen evaluation episodes per seed the
trained networks' episode length beats a random policy by at least 5x and the
learning-rate-0 control.
"""
import pathlib

import numpy as np
import pytest

from spikey.games import CartPole

from example_scripts import load_example as load




cartpole = load("cartpole")


def is_png(path):
    data = pathlib.Path(path).read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def plain_random_lengths(seed, n_episodes):
    """One lane written out: random pushes from default_rng(seed) on the evaluation game of ``seed``."""
    game = CartPole("DEFAULT", batch_size=1, seed=cartpole.EVAL_SEED_OFFSET + seed, **cartpole.GAME_KEYS)
    rng = np.random.default_rng(seed)
    lengths = []
    for _ in range(n_episodes):
        game.reset()
        steps = 0
        while True:
            _, _, terminated, truncated, _ = game.step(np.array([rng.integers(0, 2)]))
            steps += 1
            if terminated[0] or truncated[0]:
                break
        lengths.append(steps)
    return np.mean(lengths)


def test_quick_run_returns_every_figure_and_writes_the_plot(tmp_path):
    out = tmp_path / "cartpole.png"
    result = cartpole.main(["--quick", "--out", str(out)])
    assert is_png(out)
    for name in ("random", "control", "trained"):
        assert result[name].shape == (3,) and np.isfinite(result[name]).all()
        assert (result[name] >= 1).all() and (result[name] <= 500).all()
    assert result["trained_median"] == np.median(result["trained"])
    assert result["control_median"] == np.median(result["control"])
    assert result["random_mean"] == pytest.approx(result["random"].mean())
    assert result["table"].columns.tolist() == ["seed", "random", "control", "trained"]
    for curve in (result["curve"], result["control_curve"]):
        assert sorted(curve["episode"].unique()) == [0, 1, 2, 3] and len(curve) == 12
    assert 0 < result["wall_time"] < 120


def test_random_policy_lanes_are_the_plain_single_lane_games():
    lengths = cartpole.random_policy([0, 5], n_episodes=4)
    np.testing.assert_allclose(lengths, [plain_random_lengths(0, 4), plain_random_lengths(5, 4)])


def test_random_policy_is_about_22_steps_on_these_bounds():
    lengths = cartpole.random_policy(range(4), n_episodes=20)
    assert 17 < lengths.mean() < 28


def test_control_starts_from_the_same_weights_and_never_changes_them():
    trained, _ = cartpole.build([0, 1], 0.002)
    control, game = cartpole.build([0, 1], 0.0)
    initial = control.weights.matrix.copy()
    np.testing.assert_array_equal(initial, trained.weights.matrix)
    assert not np.array_equal(initial[0], initial[1])  # each seed draws its own weights
    cartpole.train(control, game, 2, log=None)
    np.testing.assert_array_equal(control.weights.matrix, initial)


def test_training_anneals_the_learning_rate_and_evaluation_freezes_the_weights():
    network, game = cartpole.build([0, 1], 0.004)
    before = network.weights.matrix.copy()
    curve = cartpole.train(network, game, 4, max_steps=60, log=None)
    assert network.synapses.params["learning_rate"] == pytest.approx(0.004 * (1 - 3 / 4))
    assert not np.array_equal(network.weights.matrix, before)
    assert curve["length"].between(1, 60).all()
    learned = network.weights.matrix.copy()
    lengths = cartpole.evaluate(network, [0, 1], n_episodes=2, max_steps=60)
    np.testing.assert_array_equal(network.weights.matrix, learned)
    assert network.training and lengths.shape == (2,)


def test_a_lane_of_the_batch_is_the_single_network_with_its_seed():
    """Over one training episode. (Later episodes differ: a lane whose game ended keeps ticking,
    and so drawing random numbers, until every lane is done, which a single network does not.)"""
    batch, batch_game = cartpole.build([0, 1], 0.004)
    single, single_game = cartpole.build([1], 0.004)
    batch_curve = cartpole.train(batch, batch_game, 1, max_steps=80, log=None)
    single_curve = cartpole.train(single, single_game, 1, max_steps=80, log=None)
    assert batch_curve["length"].iloc[1] == single_curve["length"].iloc[0]
    assert not np.array_equal(batch.weights.matrix[1], batch.weights.initial[1])
    np.testing.assert_allclose(batch.weights.matrix[1], single.weights.matrix[0], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_full_run_beats_random_5x_and_the_control(tmp_path):
    result = cartpole.main(["--out", str(tmp_path / "cartpole.png")])
    assert 17 < result["random_mean"] < 28
    assert result["trained_median"] >= 5 * result["random_mean"]
    assert result["trained_median"] > result["control_median"]
    assert result["trained"].mean() >= 5 * result["random_mean"]
    assert (result["trained"] > result["control"]).all()
