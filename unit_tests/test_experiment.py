"""Local experiment runs: metrics columns, run folders written atomically, resume, shard invariance."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from spikey.experiment import Experiment, ExperimentError, RunFolder, ShardRunner, run_episodes, run_experiment
from spikey.experiment import results as results_module
from spikey.experiment.state_file import read_state, write_state
from spikey.games import xor_gate

COLUMNS = ["episode", "lane", "seed", "length", "reward", "game_reward", "output_rate", "weight_mean",
           "weight_std", "wall_time", "accuracy", "failed"]


def xor(**changes) -> Experiment:
    return Experiment.from_file("examples/xor.yaml").replace(**{"seeds": 4, "n_episodes": 4, "len_episode": 8,
                                                               **changes})


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal metrics apart from wall times (which measure this machine, not the model)."""
    columns = [c for c in a.columns if c != "wall_time"]
    pd.testing.assert_frame_equal(a[columns].reset_index(drop=True), b[columns].reset_index(drop=True))


def test_loop_columns_and_accuracy_from_info():
    network, game = xor().build()
    frame = run_episodes(network, game, 2, 6)
    assert list(frame.columns) == COLUMNS and len(frame) == 8
    # Logic reports info["correct"]: accuracy is the fraction of correct answers, here the game reward
    np.testing.assert_allclose(frame["accuracy"], frame["game_reward"])
    assert frame["length"].eq(6).all() and frame["accuracy"].between(0, 1).all()


def test_run_folder_holds_config_metrics_checkpoint_and_status(tmp_path):
    exp = xor()
    metrics = run_experiment(exp, tmp_path / "run", progress=False)
    folder = RunFolder(tmp_path / "run")
    assert sorted(os.listdir(folder.path)) == ["checkpoint.npz", "config.json", "metrics", "status.json"]
    same_rows(folder.read_metrics(), metrics)
    assert metrics.groupby("episode").size().tolist() == [4] * 4 and metrics["seed"].tolist()[:4] == [0, 1, 2, 3]
    status = folder.read_status()
    assert status["complete"] and status["episodes_done"] == 4 and status["workers"] == 1
    again = folder.load_experiment()  # config.json describes the same experiment
    assert again.keys["expected_value"] == "spikey.games:xor_gate" and again.seeds == exp.seeds
    same_rows(run_experiment(again, progress=False), metrics)
    checkpoint = folder.read_checkpoint()
    assert checkpoint["next_episode"] == 4 and len(checkpoint["shards"]) == 1
    network, _ = exp.build()
    network.load_state_dict(checkpoint["shards"][0]["network"])
    np.testing.assert_array_equal(network.weights.matrix, run_to_end(exp).network.weights.matrix)


def run_to_end(exp):
    runner = ShardRunner(exp)
    while not runner.done:
        runner.play()
    return runner


class Crash(Exception):
    pass


@pytest.mark.parametrize("every, crash_after", [(1, 1), (2, 2), (3, 1)])
def test_interrupted_run_resumes_with_every_episode_once(tmp_path, every, crash_after):
    exp = xor(n_episodes=5, checkpoint_every=every)
    reference = run_experiment(exp, progress=False)

    def crash(episode, rows):
        if episode == crash_after:
            raise Crash

    with pytest.raises(Crash):
        run_experiment(exp, tmp_path, progress=False, on_episode=crash)
    saved = RunFolder(tmp_path).read_checkpoint()
    done = (crash_after // every) * every  # episodes covered by the last checkpoint before the crash
    assert (saved["next_episode"] if saved else 0) == done
    played = []
    resumed = run_experiment(exp, tmp_path, progress=False, on_episode=lambda e, rows: played.append(e))
    assert played == list(range(done, 5))  # picks up after the checkpoint, replays only the lost episodes
    same_rows(resumed, reference)
    same_rows(RunFolder(tmp_path).read_metrics(), reference)
    assert not resumed.duplicated(["episode", "seed"]).any()


def test_finished_run_is_not_repeated_and_can_be_extended(tmp_path):
    run_experiment(xor(n_episodes=2), tmp_path, progress=False)
    played = []
    metrics = run_experiment(xor(n_episodes=2), tmp_path, progress=False, on_episode=lambda e, r: played.append(e))
    assert played == [] and len(metrics) == 8
    longer = run_experiment(xor(n_episodes=3), tmp_path, progress=False, on_episode=lambda e, r: played.append(e))
    assert played == [2]
    same_rows(longer, run_experiment(xor(n_episodes=3), progress=False))


def test_a_different_experiment_is_refused_in_the_same_folder(tmp_path):
    run_experiment(xor(n_episodes=1), tmp_path, progress=False)
    with pytest.raises(ExperimentError, match=r"different experiment \(keys \(learning_rate\) differ\)"):
        run_experiment(xor(n_episodes=1).with_keys(learning_rate=0.5), tmp_path, progress=False)
    with pytest.raises(ExperimentError, match="already holds a run"):
        run_experiment(xor(n_episodes=1), tmp_path, progress=False, resume=False)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_seed_metrics_do_not_depend_on_how_the_batch_is_split(backend):
    exp = xor(seeds=[3, 1, 4, 5, 9], backend=backend)
    whole = run_to_end(exp).metrics()
    parts = [run_lanes(exp, lanes) for lanes in ([0, 1, 2], [3, 4])]
    split = pd.concat(parts).sort_values(["episode", "lane"]).reset_index(drop=True)
    same_rows(split, whole)
    assert whole["seed"].tolist()[:5] == [3, 1, 4, 5, 9]


def run_lanes(exp, lanes):
    runner = ShardRunner(exp, lanes)
    while not runner.done:
        runner.play()
    return runner.metrics()


def test_writes_are_atomic(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path)
    folder.write_status(complete=False, episodes_done=1)

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(results_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        folder.write_status(complete=True, episodes_done=2)
    monkeypatch.undo()
    assert folder.read_status() == {"complete": False, "episodes_done": 1}  # the old file, whole
    assert os.listdir(tmp_path) == ["status.json"]  # no temporary left behind
    assert oct(os.stat(tmp_path / "status.json").st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_checkpoint_is_data_without_functions(tmp_path):
    state = ShardRunner(xor(seeds=2)).state()
    write_state(tmp_path / "shard.npz", state, kind="shard")  # refuses anything but data
    restored = read_state(tmp_path / "shard.npz", kind="shard")  # expected_value (a function) is left out
    assert "expected_value" not in restored["network"]["rewarder"]["params"]
    assert restored["network"]["synapses"]["params"]["learning_rate"] == 1e-4


def test_csv_fallback_without_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setattr(results_module, "_has_parquet", lambda: False)
    frame = pd.DataFrame({"episode": [0, 1], "lane": [0, 0], "reward": [0.25, 0.5]})
    path = RunFolder(tmp_path).append_metrics(frame)
    assert path.name == "part-000000-000001-0000.csv"
    pd.testing.assert_frame_equal(RunFolder(tmp_path).read_metrics(), frame)


def test_progress_bar_and_custom_metric_callback(capsys):
    def rate_true(record, network, game, step):
        record.setdefault("fired_on_true", np.zeros(network.batch_size))
        counts = network.backend.to_numpy(network.output_counts).sum(axis=1)
        record["fired_on_true"] += np.where(xor_gate(step["state"]) == 1, counts, 0)

    metrics = run_experiment(xor(n_episodes=2), progress=True, callbacks=[rate_true])
    assert "fired_on_true" in metrics.columns and metrics["fired_on_true"].gt(0).any()
    assert "2/2" in capsys.readouterr().err  # tqdm's bar reached the end


def test_cartpole_run_resumes_exactly(tmp_path):
    """A game with its own state (CartPole) continues exactly after a resume too."""
    exp = Experiment.from_dict(dict(
        network="RLNetwork", game="CartPole", seeds=3, n_episodes=3, len_episode=30,
        parts=dict(inputs="RBF", neurons="LIF", weights="Random", synapses="MSTDPET", readout="TopAction",
                   rewarder="RewardFunction"),
        keys=dict(n_inputs=16, n_dims=4, rbf_low=[-2.4, -3, -0.2, -3], rbf_high=[2.4, 3, 0.2, 3], n_neurons=6,
                  n_outputs=2, n_actions=2, processing_time=5, firing_threshold=1.0, potential_decay=0.1,
                  max_weight=1.0, learning_rate=0.01, theta_max=0.21, reward_fn="unit_tests/test_experiment.py:upright_reward")))
    reference = run_experiment(exp, progress=False)
    assert reference["length"].lt(30).any()  # some lanes fell (theta_max, a game key): episodes end per lane

    def crash(episode, rows):
        if episode == 1:
            raise Crash

    with pytest.raises(Crash):
        run_experiment(exp, tmp_path, progress=False, on_episode=crash)
    same_rows(run_experiment(exp, tmp_path, progress=False), reference)


def upright_reward(state, action, state_next, params):
    """Reward 1 while the pole stays within 0.2 rad of upright."""
    return (np.abs(np.asarray(state_next)[:, 2]) < 0.2).astype(float)


def test_resume_accepts_an_equal_lambda_from_another_process(tmp_path):
    """A key given as a lambda is stored by its repr; its memory address may differ on resume."""
    def exp_with(gate):
        return xor(n_episodes=2, keys={**xor().keys, "expected_value": gate})
    run_experiment(exp_with(lambda s: xor_gate(s)), tmp_path, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["keys"]["expected_value"]["repr"].startswith("<function")
    metrics = run_experiment(exp_with(lambda s: xor_gate(s)).replace(n_episodes=3), tmp_path, progress=False)
    assert metrics["episode"].max() == 2


def test_lanes_whose_game_ended_stop_learning():
    """A fallen CartPole lane freezes: from its last step on, its network's weights no longer change."""
    exp = Experiment.from_dict(dict(
        network="RLNetwork", game="CartPole", seeds=3, n_episodes=1, len_episode=60,
        parts=dict(inputs="RBF", neurons="LIF", weights="Random", synapses="MSTDP", readout="TopAction",
                   rewarder="RewardFunction"),
        keys=dict(n_inputs=16, n_dims=4, rbf_low=[-2.4, -3, -0.2, -3], rbf_high=[2.4, 3, 0.2, 3], n_neurons=6,
                  n_outputs=2, n_actions=2, processing_time=5, firing_threshold=1.0, potential_decay=0.1,
                  max_weight=1.0, learning_rate=0.05, theta_max=0.05,
                  reward_fn="unit_tests/test_experiment.py:constant_reward")))
    network, game = exp.build()
    snapshots = []

    def keep_weights(record, network, game, step):
        snapshots.append((step["done"].copy(), network.backend.to_numpy(network.weights.matrix).copy()))

    frame = run_episodes(network, game, 1, 60, callbacks=[keep_weights])
    lengths = frame["length"].to_numpy()
    assert lengths.min() < lengths.max() <= 60  # lanes fell at different steps
    lane = int(np.argmin(lengths))
    after_fall = [w[lane] for done, w in snapshots if done[lane]]
    assert len(after_fall) >= 2
    for w in after_fall[1:]:
        np.testing.assert_array_equal(w, after_fall[0])
    # the lanes still playing kept learning meanwhile
    survivor = int(np.argmax(lengths))
    assert not np.array_equal(snapshots[len(after_fall) - 1][1][survivor], snapshots[-1][1][survivor]) \
        or lengths[survivor] == lengths[lane]


def constant_reward(state, action, state_next, params):
    """Reward 1 at every step, so every lane that may learn changes its weights."""
    return np.ones(len(np.asarray(state)))
