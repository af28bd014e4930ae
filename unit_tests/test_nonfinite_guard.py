"""The numerical guard: a lane whose potentials, weights or traces become NaN or inf is stopped.

Key validation refuses non-finite key values before a run, so these tests reach a non-finite
state at run time the ways a run can: a learning rate changed on the part after validation
(inf gives NaN weights: inf x 0), finite float32 weights (3e38) whose sums overflow to inf,
and a user neuron part whose update produces NaN.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikey.experiment import Experiment, run_episodes, run_experiment
from spikey.snn import LIF

ROOT = Path(__file__).resolve().parents[1]
B = 4


def xor(**changes) -> Experiment:
    return Experiment.from_file(ROOT / "examples/xor.yaml").replace(**{"seeds": B, "n_episodes": 3,
                                                                       "len_episode": 8, **changes})


def overflowing(seeds: int = 3, **changes) -> Experiment:
    """Lane 0's weights are up to 3e38 (finite in float32): two input spikes overflow its potentials to inf.

    The other lanes have max_weight 1 and stay finite."""
    return Experiment.from_dict({
        "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
        "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random", "synapses": "MSTDPET",
                  "readout": "Threshold", "rewarder": "MatchExpected"},
        "keys": {"n_inputs": 4, "n_neurons": 3, "n_outputs": 1, "processing_time": 10,
                 "state_rate_map": {"0,0": [0, 0], "0,1": [0, 1.0], "1,0": [1.0, 0], "1,1": [1.0, 1.0]},
                 "firing_threshold": 3.0e38, "potential_decay": 0.1, "max_weight": [3.0e38] + [1.0] * (seeds - 1),
                 "learning_rate": 0.01, "action_threshold": "mean", "expected_value": "spikey.games:xor_gate"},
        "seeds": seeds, "n_episodes": 3, "len_episode": 6, **changes})


def metric_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_time"]).reset_index(drop=True)


def test_nonfinite_lanes_finds_nan_and_inf_per_lane_and_nothing_in_huge_finite_values():
    from spikey.snn.network import nonfinite_lanes
    state = np.full((3, 4, 5), 3.0e38, dtype=np.float32)  # finite, but its sum overflows float32
    assert nonfinite_lanes(state, 3) is None
    state[1, 2, 3] = np.nan
    state[2, 0, 0] = -np.inf
    assert nonfinite_lanes(state, 3).tolist() == [False, True, True]
    assert nonfinite_lanes(np.full((2, 3), 1e308), 2) is None


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
def test_an_inf_learning_rate_gives_nan_weights_and_stops_only_that_lane(fused, capsys):
    exp = xor()
    network, game = exp.build()
    network.fused = fused
    assert (network.fused_engine() is not None) == fused
    rate = np.array(np.broadcast_to(np.asarray(network.synapses.learning_rate, dtype=np.float32), (B, 1, 1)))
    rate[1] = np.inf  # lane 1 only: inf x 0 = NaN in its weight update
    network.synapses.learning_rate = rate
    frame = run_episodes(network, game, exp.n_episodes, exp.len_episode)
    # the weights did become NaN (the failure the guard is for), in lane 1 only
    weights = np.asarray(network.weights.matrix)
    assert np.isnan(weights[1]).any() and np.isfinite(weights[[0, 2, 3]]).all()
    assert network.failed_lanes.tolist() == [False, True, False, False]
    [record] = network.failures
    assert record["lane"] == 1 and record["episode"] == 0
    assert "weights.matrix (Random)" in record["parts"]
    assert 1 <= record["game_step"] <= exp.len_episode
    P = network.processing_time
    assert record["network_steps"] == [(record["total_game_steps"] - 1) * P + 1, record["total_game_steps"] * P]
    err = capsys.readouterr().err
    assert "episode 0: lane 1 (seed 1) stopped: non-finite values" in err and "weights.matrix" in err
    # lane 1's rows say so, from its failure on; no row without the flag holds NaN
    failed = frame.set_index(["episode", "lane"])["failed"]
    assert failed.xs(1, level="lane").all() and not failed.drop(1, level="lane").any()
    assert not frame[~frame["failed"]].select_dtypes("number").isna().any().any()
    assert (frame.loc[(frame["lane"] == 1) & (frame["episode"] > 0), "length"] == 0).all()  # stopped for good
    # the other lanes are exactly what they would have been without lane 1's failure
    network2, game2 = exp.build()
    network2.fused = fused
    healthy = run_episodes(network2, game2, exp.n_episodes, exp.len_episode)
    keep = frame["lane"] != 1
    pd.testing.assert_frame_equal(metric_rows(frame[keep]), metric_rows(healthy[keep]))


def test_float32_overflow_to_inf_is_stopped_and_the_run_folder_says_which_lane(tmp_path, capsys):
    exp = overflowing()
    metrics = run_experiment(exp, tmp_path / "run", progress=False)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["complete"] is True
    [record] = status["failed_lanes"]
    assert record["lane"] == 0 and record["seed"] == 0 and record["parts"] == ["neurons.potential (LIF)"]
    assert "lane 0 (seed 0) stopped" in record["message"] and "game step" in record["message"]
    assert metrics.groupby("lane")["failed"].any().tolist() == [True, False, False]
    assert not metrics[~metrics["failed"]].select_dtypes("number").isna().any().any()
    assert not np.isinf(metrics[~metrics["failed"]].select_dtypes("number")).any().any()
    from spikey.experiment.results import RunFolder
    saved = RunFolder(tmp_path / "run").read_metrics()
    assert saved["failed"].tolist() == metrics["failed"].tolist()
    # a resumed (finished) run keeps the failed lane stopped: the guard's records travel in the checkpoint
    from spikey.experiment.run import ShardRunner
    from spikey.experiment.results import RunFolder
    runner = ShardRunner(exp)
    runner.load(RunFolder(tmp_path / "run").read_checkpoint()["shards"][0])
    assert runner.network.failed_lanes.tolist() == [True, False, False]


def test_spikey_run_exits_non_zero_naming_the_failed_lane(tmp_path, capsys):
    from spikey.cli import main
    config = tmp_path / "overflow.json"
    config.write_text(json.dumps(overflowing().to_dict()))
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 3  # EXIT_LANES_FAILED
    err = capsys.readouterr().err
    assert "spikey run: lane 0: lane 0 (seed 0) stopped" in err and "1 lane(s) failed ([0])" in err
    healthy = tmp_path / "healthy.json"
    healthy.write_text(json.dumps(overflowing().with_keys({"max_weight": 1.0}).to_dict()))
    assert main(["run", str(healthy), "--out", str(tmp_path / "healthy"), "--quiet"]) == 0


class Unstable(LIF):
    """A user's neuron model with a bug: lane 2's potentials become NaN at its 7th network step."""

    def charge(self, current):
        super().charge(current)
        self.steps = getattr(self, "steps", 0) + 1
        if self.steps == 7:
            self.potential[2] = np.nan


def test_a_user_part_producing_nan_is_named_with_the_step():
    from spikey.games import Logic
    network, _ = xor().build()
    keys = {k: v for k, v in network.config.items()}
    network = type(network)(parts={**network.part_classes, "neurons": Unstable}, keys=keys, batch_size=B, seed=0)
    frame = run_episodes(network, Logic("XOR", batch_size=B, seed=0), 2, 4)
    [record] = network.failures
    P = network.processing_time  # 50: network step 7 is in game step 1
    assert record["lane"] == 2 and record["game_step"] == 1 and record["network_steps"] == [1, P]
    assert record["parts"] == ["neurons.potential (Unstable)"]
    assert frame.loc[frame["lane"] == 2, "failed"].all() and frame.loc[frame["lane"] == 2, "length"].sum() == 0
    assert frame.loc[frame["lane"] != 2, "length"].eq(4).all()


def test_reset_weights_restarts_a_stopped_lane():
    network, _ = xor().build()
    network.weights.matrix[3, 0, 0] = np.inf
    assert [r["lane"] for r in network.check_finite()] == [3] and network.check_finite() == []
    network.reset()
    assert network.failed_lanes[3]  # a reset keeps it stopped (its weights are still inf)
    network.reset_weights()
    assert not network.failed_lanes.any() and network.check_finite() == []


def test_a_ga_member_whose_run_fails_gets_the_worst_fitness_and_a_note(tmp_path):
    from spikey.meta.population import Population, load_members
    exp = overflowing(seeds=2).replace(n_episodes=2)
    exp = exp.with_keys({"max_weight": 1.0})
    population = Population(exp, {"max_weight": [1.0, 3.0e38]}, size=2, seed=0, n_generations=1,
                            folder=tmp_path / "ga", metric="accuracy", last=1,
                            initial=[{"max_weight": 1.0}, {"max_weight": 3.0e38}])
    population.run()
    table = population.table()
    assert set(table["max_weight"]) == {1.0, 3.0e38}
    failed = table[table["max_weight"] == 3.0e38]
    assert (failed["fitness"] == -np.inf).all() and failed["note"].str.contains("non-finite state").all()
    assert failed["note"].str.contains("neurons.potential").all()
    healthy = table[table["max_weight"] == 1.0]
    assert healthy["fitness"].between(0, 1).all() and (healthy["note"] == "").all()
    assert not table["fitness"].isna().any()
    assert population.best["keys"]["max_weight"] == 1.0
    saved = load_members(tmp_path / "ga")
    assert saved["note"].tolist() == table["note"].tolist() and not saved["fitness"].isna().any()


def test_a_tune_trial_with_a_failed_lane_raises_the_named_error(ray_session, tmp_path):
    from spikey.meta.tune import load_results, run_sweep
    exp = overflowing(seeds=2)
    result = run_sweep(exp.with_keys({"max_weight": 1.0}), {"max_weight": {"grid": [1.0, 3.0e38]}},
                       storage_path=tmp_path, name="guard", num_samples=1, scheduler="fifo", metric="accuracy",
                       progress=False, include_default=False)
    errors = [r for r in result.grid if r.error is not None]
    finished = [r for r in result.grid if r.error is None]
    assert len(errors) == 1 and len(finished) == 1
    assert errors[0].config["max_weight"] == 3.0e38 and "NonFiniteStateError" in repr(errors[0].error)
    assert "stopped by the numerical guard" in str(errors[0].error)
    assert result.best_config["max_weight"] == 1.0
    # the failing trial raised in its first episode, before any report: the results hold the healthy one only
    results = load_results(tmp_path / "guard")
    assert set(results["config/max_weight"]) == {1.0} and not results["errored"].any()


@pytest.mark.ray
def test_a_ray_train_run_lists_its_failed_lanes_in_status(ray_session, tmp_path):
    """Under Ray Train (seeds split over 2 workers) status.json names the failed lane by its position in the
    experiment's seeds, as a local run does."""
    from spikey.experiment.train import run_train
    exp = overflowing()
    metrics = run_train(exp, tmp_path / "train", num_workers=2, progress=False)
    status = json.loads((tmp_path / "train" / "status.json").read_text())
    assert [record["lane"] for record in status["failed_lanes"]] == [0]
    assert status["failed_lanes"][0]["parts"] == ["neurons.potential (LIF)"]
    assert metrics.groupby("lane")["failed"].any().tolist() == [True, False, False]
