"""The digits example: its construction and report (fast) and its learning claim (slow, full settings)."""
import numpy as np
import pytest
from example_scripts import load_example


@pytest.fixture(scope="module")
def dg():
    return load_example("digits")


def test_control_lanes_are_the_same_networks_with_learning_rate_zero(dg):
    network, game, is_control = dg.build(seeds=[3, 5], anneal_steps=8)
    assert is_control.tolist() == [False, False, True, True]
    assert network.seeds.tolist() == [3, 5, 3, 5] and game.batch_size == 4
    w0 = network.weights.matrix.copy()
    np.testing.assert_array_equal(w0[:2], w0[2:])                  # same initial weights per seed
    assert (w0[:, 64:] == 0).all()                                  # feedforward: no recurrent synapses
    dg.train(network, game, 1, 6, log=None)
    w1 = network.weights.matrix
    np.testing.assert_array_equal(w1[2:], w0[2:])                  # control lanes never learn
    assert all(np.abs(w1[b] - w0[b]).max() > 0 for b in (0, 1))    # the learning lanes did
    # after 6 of 8 annealing steps (the schedule is applied before each step): 0.01 * (1 - 5/8)
    np.testing.assert_allclose(np.ravel(network.synapses.params["learning_rate"]),
                               [0.01 * 3 / 8] * 2 + [0.0] * 2)
    np.testing.assert_allclose(network.rewarder.params["punish_mult"], 0.1 + 1.9 * 5 / 8)


def test_winner_take_all_gives_at_most_one_output_spike_per_step(dg):
    network, game, _ = dg.build(seeds=[0], control=False)
    state, _ = game.reset()
    network.tick(state)
    log = network.spike_log[:, :, network.n_inputs:]                # (B, T, N) body spikes
    assert log.sum(axis=2).max() <= 1 and log.sum() > 0


def test_evaluate_confusion_matches_accuracy_and_restores_the_training_split(dg):
    network, game, _ = dg.build(seeds=[0, 1], control=False)
    accuracy, confusion = dg.evaluate(network, game, n_samples=25)
    assert confusion.shape == (2, 10, 10) and (confusion.sum(axis=(1, 2)) == 25).all()
    np.testing.assert_allclose(accuracy, np.trace(confusion, axis1=1, axis2=2) / 25)
    assert game.params["split"] == "train" and game.n_samples == 1347  # back on the training split
    from spikey.games import Digits
    first = Digits(split="test", shuffle=False).labels[:25]
    np.testing.assert_array_equal(confusion.sum(axis=2), np.stack([np.bincount(first, minlength=10)] * 2))
    assert game.params["shuffle"] and network.training


def test_short_run_reports_per_seed_test_and_control_accuracy(dg, tmp_path, capsys):
    out = tmp_path / "digits.png"
    summary = dg.main(["--seeds", "2", "--epochs", "2", "--train-samples", "15", "--test-samples", "20",
                       "--out", str(out)])
    result = summary["result"]
    assert list(result.columns) == ["seed", "test_accuracy", "control_accuracy"]
    assert result["seed"].tolist() == [0, 1]
    assert result[["test_accuracy", "control_accuracy"]].stack().between(0, 1).all()
    confusion = summary["confusion"]
    assert confusion.shape == (4, 10, 10) and (confusion.sum(axis=(1, 2)) == 20).all()
    np.testing.assert_allclose(result["test_accuracy"], np.trace(confusion[:2], axis1=1, axis2=2) / 20)
    np.testing.assert_allclose(result["control_accuracy"], np.trace(confusion[2:], axis1=1, axis2=2) / 20)
    assert sorted(summary["curve"]["episode"].unique()) == [0, 1]
    assert out.stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "test_accuracy" in printed and "control" in printed and "wall time" in printed
    assert "command: python examples/digits.py --seeds 2" in printed


@pytest.mark.slow
def test_full_settings_learn_well_above_chance_and_control(dg, tmp_path):
    summary = dg.main(["--out", str(tmp_path / "digits.png")])
    learned, control = summary["result"]["test_accuracy"], summary["result"]["control_accuracy"]
    assert len(learned) >= 3
    assert learned.min() >= 0.6, learned.tolist()
    assert control.max() <= 0.25, control.tolist()
    assert learned.min() > control.max() + 0.4, (learned.tolist(), control.tolist())


def test_torch_backend_builds_and_steps_like_numpy(dg):
    pytest.importorskip("torch")
    results = []
    for backend in ("numpy", "torch"):
        network, game, _ = dg.build(seeds=[0], control=False, backend=backend)
        state, _ = game.reset()
        action = network.tick(state)
        results.append((np.asarray(action).tolist(), float(network.reward(state, action)[0])))
    assert results[0] == results[1]
