"""The Florian XOR example: its construction (fast) and its learning claims (slow, 10 seeds)."""
import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "florian_xor.py"


@pytest.fixture(scope="module")
def fx():
    spec = importlib.util.spec_from_file_location("florian_xor", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_balanced_polarities_half_of_each_group_inhibitory(fx):
    for n_inputs, n_groups in ((60, 4), (60, 2), (8, 2)):
        polarities = fx.balanced_polarities(n_inputs, n_groups)
        for group in range(n_groups):
            members = polarities[group::n_groups]
            assert members.sum() == len(members) % 2, (n_inputs, n_groups, group)  # odd: one more +


def test_build_sets_polarities_and_every_pattern_drives_the_same_inputs(fx):
    network, game = fx.build("rate", seeds=[3, 4])
    polarities = network.backend.to_numpy(network.polarities)
    assert polarities.shape == (2, 60 + 61)
    assert (polarities[:, -1] == 1).all()                      # excitatory output
    assert (polarities[:, :60].sum(axis=1) == 4).all()         # 4 groups of 15: 8 +, 7 -
    rates = network.inputs.params["state_rate_map"]
    assert {float(np.sum(r)) for r in rates.values()} == {0.16}
    assert game.batch_size == network.batch_size == 2


def test_short_training_runs_and_reports(fx, tmp_path):
    out = tmp_path / "xor.png"
    summary = fx.main(["--seeds", "2", "--episodes", "2", "--len-episode", "5", "--eval-steps", "8",
                       "--out", str(out)])
    result = summary["result"]
    assert list(result["seed"]) == [0, 1]
    assert result["accuracy"].between(0, 1).all()
    assert {"rate_00", "rate_01", "rate_10", "rate_11"} <= set(result.columns)
    assert out.stat().st_size > 1000
    assert sorted(summary["curve"]["episode"].unique()) == [0, 1]


def test_annealing_brings_the_learning_rate_to_zero(fx):
    network, game = fx.build("rate", seeds=[0], anneal_steps=4)
    fx.train(network, game, 1, 6, log=None)
    assert float(np.max(network.synapses.params["learning_rate"])) == 0.0


@pytest.mark.slow
def test_rate_coding_learns_xor_over_10_seeds(fx, tmp_path):
    learned = fx.main(["--out", str(tmp_path / "l.png")])["result"]["accuracy"]
    control = fx.main(["--learning-rate", "0", "--out", str(tmp_path / "c.png")])["result"]["accuracy"]
    assert learned.median() >= 0.9, learned.tolist()
    assert control.median() <= 0.55, control.tolist()
