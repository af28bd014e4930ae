"""The Florian XOR example: its construction (fast) and its learning claims (slow, 10 seeds)."""
import json

import numpy as np
import pytest
from example_scripts import load_example


@pytest.fixture(scope="module")
def fx():
    return load_example("florian_xor")


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


def test_short_training_runs_and_reports(fx, tmp_path, capsys):
    out = tmp_path / "xor.png"
    summary = fx.main(["--seeds", "2", "--first-seed", "7", "--episodes", "2", "--len-episode", "5",
                       "--eval-steps", "8", "--out", str(out)])
    result, control = summary["result"], summary["control"]
    assert list(result["seed"]) == [7, 8] and list(control["seed"]) == [7, 8]
    assert result["accuracy"].between(0, 1).all() and control["accuracy"].between(0, 1).all()
    assert {"rate_00", "rate_01", "rate_10", "rate_11"} <= set(result.columns)
    assert out.stat().st_size > 1000
    assert sorted(summary["curve"]["episode"].unique()) == [0, 1]
    printed = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("learned: ") and "/2 seeds" in line for line in printed)
    assert printed[-1].startswith("result: ")
    payload = json.loads(printed[-1][len("result: "):])
    assert payload["seeds"] == [7, 8] and payload["values"] == result["accuracy"].tolist()
    assert payload["control"] == control["accuracy"].tolist() and payload["n"] == 2


def test_control_lanes_are_the_seeds_with_learning_rate_zero(fx):
    """Learning lanes and their controls share one batch: same initial weights; the controls' weights
    never change but for the homeostatic scaling of the output's column, which keeps their ratios."""
    network, game = fx.build("rate", seeds=[3, 4, 3, 4], learning_rate=[0.01, 0.01, 0.0, 0.0], anneal_steps=20)
    w0 = network.backend.to_numpy(network.weights.matrix).copy()
    np.testing.assert_array_equal(w0[:2], w0[2:])
    fx.train(network, game, 1, 6, log=None)
    w1 = network.backend.to_numpy(network.weights.matrix)
    np.testing.assert_array_equal(w1[2:, :, :-1], w0[2:, :, :-1])
    for lane in (2, 3):
        ratio = w1[lane, :, -1][w0[lane, :, -1] > 0] / w0[lane, :, -1][w0[lane, :, -1] > 0]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)          # one common factor
    assert all(np.abs(w1[b, :, :-1] - w0[b, :, :-1]).max() > 0 for b in (0, 1))


def test_annealing_brings_the_learning_rate_to_zero(fx):
    network, game = fx.build("rate", seeds=[0], anneal_steps=4)
    fx.train(network, game, 1, 6, log=None)
    assert float(np.max(network.synapses.params["learning_rate"])) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("first_seed", [0, 10, 100])
def test_rate_coding_learns_xor_on_9_of_10_seeds(fx, tmp_path, first_seed):
    report = fx.main(["--first-seed", str(first_seed), "--out", str(tmp_path / "l.png")])["report"]
    assert report["n_learned"] >= 9 and report["median"] >= 0.85, report
    assert report["control_median"] <= 0.6, report


def test_temporal_trains_carry_the_bit_in_timing_only(fx):
    """Each input fires as many spikes for 0 as for 1; the values differ in which half is synchronous."""
    trains = fx.temporal_spike_map([5, 6], steps=200, n_per_bit=30, rate=0.08).trains  # (B, bit, value, T, n)
    assert trains.shape == (2, 2, 2, 200, 30)
    counts = trains.sum(axis=3)
    assert (counts == 16).all()                                   # 0.08 * 200 spikes, both values
    half = (np.arange(30) // 2) % 2
    for lane in range(2):
        volleys = np.flatnonzero(trains[lane, 0, 0][:, half == 0].all(axis=1))
        assert len(volleys) == 16                                 # half 0 fires all its spikes together
        for bit in range(2):
            for value in range(2):
                train = trains[lane, bit, value]
                # the synchronous half fires exactly at the shared volley steps
                assert (np.flatnonzero(train[:, half == value].any(axis=1)) == volleys).all()
                # the other half is scattered: far fewer coincident spikes than the volleys
                assert train[volleys][:, half != value].mean() < 0.5
            assert not np.array_equal(trains[lane, bit, 0], trains[lane, bit, 1])
    assert not np.array_equal(trains[0], trains[1])               # each seed draws its own trains
    random = fx.temporal_spike_map([5], 200, 30, 0.08, code="random").trains
    assert (random[0, :, 0].sum(axis=1) == random[0, :, 1].sum(axis=1)).all()   # equal counts per input


def test_temporal_build_lanes_match_single_seed_networks(fx):
    network, game = fx.build("temporal", seeds=[3, 4])
    polarities = network.backend.to_numpy(network.polarities)
    assert polarities.shape == (2, 60 + 61)
    assert (polarities[:, :60:2] == 1).all() and (polarities[:, 1:60:2] == -1).all()
    assert (polarities[:, -1] == 1).all()
    states = np.array([[0, 1], [1, 1]])
    network.inputs.update(states)
    batched = network.backend.to_numpy(network.inputs.pattern)
    single, _ = fx.build("temporal", seeds=[4])
    single.inputs.update(states[1:])
    np.testing.assert_array_equal(batched[1], network.backend.to_numpy(single.inputs.pattern)[0])
    trains = network.inputs.params["state_spike_map"].trains
    np.testing.assert_array_equal(batched[0], np.hstack([trains[0, 0, 0], trains[0, 1, 1]]))
    with pytest.raises(ValueError, match="code"):
        fx.build("temporal", seeds=[0], temporal_code="burst")


def test_short_temporal_training_runs(fx, tmp_path):
    summary = fx.main(["--coding", "temporal", "--seeds", "2", "--episodes", "2", "--len-episode", "5",
                       "--eval-steps", "8", "--out", str(tmp_path / "t.png")])
    result = summary["result"]
    assert list(result["seed"]) == [0, 1]
    assert result["accuracy"].between(0, 1).all()
    assert (result[["rate_00", "rate_01", "rate_10", "rate_11"]].to_numpy() > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("first_seed", [0, 10, 100])
def test_temporal_coding_learns_xor_on_9_of_10_seeds(fx, tmp_path, first_seed):
    report = fx.main(["--coding", "temporal", "--first-seed", str(first_seed),
                      "--out", str(tmp_path / "l.png")])["report"]
    assert report["n_learned"] >= 9 and report["median"] >= 0.85, report
    assert report["control_median"] <= 0.6, report


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Florian's random equal-count spike trains: median 0.575 over seeds 0-9 "
                                       "with this recipe (measured); not reproduced yet")
def test_florian_random_spike_train_code_learns(fx, tmp_path):
    report = fx.main(["--coding", "temporal", "--temporal-code", "random", "--out", str(tmp_path / "r.png")])["report"]
    assert report["median"] >= 0.75 and report["p_value"] < 0.01, report


@pytest.mark.slow
def test_quick_main_job_learns_beside_its_control(fx, tmp_path):
    report = fx.main(["--quick", "--out", str(tmp_path / "q.png")])["report"]
    assert report["median"] >= 0.85 and report["control_median"] <= 0.6, report
