"""Ray Tune over experiment keys: search spaces from Keys, sweeps with ASHA, results in one DataFrame."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikey.experiment import Experiment, RunFolder, evaluate
from spikey.module import KeyRangeError, KeyTypeError, UnknownKeyError

ROOT = Path(__file__).resolve().parents[1]


def xor() -> Experiment:
    return Experiment.from_file(ROOT / "examples/xor.yaml")


def test_search_space_from_keys():
    from ray.tune.search.sample import Categorical, Float, Integer
    from spikey.meta import search_space
    space = search_space(xor(), {"learning_rate": [1e-4, 1e-1, "log"], "potential_decay": "auto",
                                 "refractory_period": [0, 4], "action_threshold": {"choices": ["mean", "median"]},
                                 "threshold_window": {"grid": [8, 16]}, "firing_threshold": 1.5})
    assert isinstance(space["learning_rate"], Float) and (space["learning_rate"].lower,
                                                          space["learning_rate"].upper) == (1e-4, 1e-1)
    decay = space["potential_decay"]  # "auto": the Key's declared range 0..1
    assert isinstance(decay, Float) and (decay.lower, decay.upper) == (0.0, 1.0)
    assert isinstance(space["refractory_period"], Integer) and space["refractory_period"].upper == 5  # inclusive
    assert isinstance(space["action_threshold"], Categorical)
    assert space["threshold_window"] == {"grid_search": [8, 16]} and space["firing_threshold"] == 1.5
    samples = [space["learning_rate"].sample(random_state=np.random.default_rng(0)) for _ in range(50)]
    assert all(1e-4 <= s <= 1e-1 for s in samples)


@pytest.mark.parametrize("space, error, words", [
    ({"learning_rat": [0, 1]}, UnknownKeyError, ["learning_rat", "Did you mean 'learning_rate'"]),
    ({"potential_decay": [0.5, 2.0]}, KeyRangeError, ["potential_decay", "0 <= potential_decay <= 1"]),
    ({"learning_rate": "auto"}, KeyRangeError, ["learning_rate", "no finite declared range"]),
    ({"learning_rate": [0.0, 0.1, "log"]}, KeyRangeError, ["learning_rate", "low > 0"]),
    ({"output_range": [0, 1]}, KeyTypeError, ["output_range", "not a numeric range", "choices"]),
    ({"firing_threshold": {"choices": [1.0, "x"]}}, KeyTypeError, ["firing_threshold", "'x'"]),
])
def test_bad_search_spaces_name_the_key(space, error, words):
    from spikey.meta import search_space
    with pytest.raises(error) as raised:
        search_space(xor(), space)
    for word in words:
        assert word in str(raised.value)


def test_small_asha_sweep_results_in_one_dataframe(ray_session, tmp_path):
    from spikey.meta import load_results, run_sweep
    exp = xor().replace(seeds=4, n_episodes=3, len_episode=10)
    result = run_sweep(exp, {"learning_rate": [1e-4, 1e-2, "log"], "action_threshold": {"choices": ["mean",
                                                                                                  "median"]}},
                       storage_path=tmp_path, name="small", num_samples=4, grace_period=1, progress=False)
    frame = result.results
    assert frame["trial_id"].nunique() == 4 and {"config/learning_rate", "config/action_threshold",
                                                 "accuracy", "episode", "training_iteration"} <= set(frame.columns)
    per_trial = frame.groupby("trial_id")["training_iteration"].max()
    assert per_trial.max() == 3 and per_trial.min() >= 1
    first = frame[frame["trial"] == sorted(frame["trial"].unique())[0]].iloc[0]
    assert (first["config/learning_rate"], first["config/action_threshold"]) == (1e-4, "mean")  # the config's own
    pd.testing.assert_frame_equal(load_results(tmp_path / "small"), frame)  # readable later, Ray or not
    assert (tmp_path / "small" / "results.parquet").exists()
    best = json.loads((tmp_path / "small" / "best.json").read_text())
    assert best["config"] == result.best_config and best["metric"] == "accuracy"
    assert best["experiment"]["keys"]["learning_rate"] == result.best_config["learning_rate"]
    # the reported accuracy of a trial is the local run's mean over its seeds
    row = frame[frame["trial_id"] == frame["trial_id"].iloc[0]].sort_values("training_iteration")
    keys = {k[len("config/"):]: v for k, v in row.iloc[0].items() if k.startswith("config/")}
    from spikey.experiment import run_experiment
    local = run_experiment(exp.with_keys(keys), progress=False)
    np.testing.assert_allclose(row["accuracy"].to_numpy(), local.groupby("episode")["accuracy"].mean()
                               .to_numpy()[:len(row)])


def test_sweep_of_16_asha_trials_beats_the_default_on_held_out_seeds(ray_session, tmp_path):
    from spikey.meta import run_sweep
    exp = xor()  # the sweep section of examples/xor.yaml: 16 trials, ASHA, 4 keys
    result = run_sweep(exp, storage_path=tmp_path, name="xor16", progress=False)
    frame = result.results
    assert frame["trial_id"].nunique() == 16
    stopped = frame.groupby("trial_id")["training_iteration"].max() < exp.n_episodes
    assert stopped.sum() >= 4  # ASHA stopped the poor ones early
    held_out = list(range(100, 116))
    best = evaluate(result.best_experiment(), held_out, metric="accuracy", last=exp.n_episodes)
    default = evaluate(exp, held_out, metric="accuracy", last=exp.n_episodes)
    print(f"\nheld-out mean accuracy: best {best:.3f} ({result.best_config}), default {default:.3f}")
    assert best > default + 0.03


@pytest.mark.slow
def test_trials_that_run_train_inside(ray_session, tmp_path):
    from spikey.meta import run_sweep
    exp = xor().replace(seeds=4, n_episodes=2, len_episode=10)
    result = run_sweep(exp, {"learning_rate": {"choices": [1e-4, 1e-3]}}, storage_path=tmp_path, name="nested",
                       num_samples=2, scheduler="fifo", train_workers=2, progress=False)
    frame = result.results
    assert frame["trial_id"].nunique() == 2 and frame.groupby("trial_id").size().tolist() == [2, 2]
    for trial in frame["trial"].unique():  # each trial holds a complete Train run folder
        run = tmp_path / "nested" / trial / "run"
        assert json.loads((run / "status.json").read_text())["workers"] == 2
        assert len(RunFolder(run).read_metrics()) == 2 * 4
