"""spikey.analysis: loading every kind of result folder into one tidy frame, and the summaries.

The GA folder (format 3) and the Tune sweep folder (format 2) are written by hand
here with known numbers, so the loader is checked against values the test
chose rather than against another part of the code base.
"""
import json
import math

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from spikey.analysis import (ResultFolderError, best_configs, detect_kind, importance, load, read_source,
                             summarize, t_quantile)
from spikey.analysis.summary import incomplete_beta, t_cdf, unit_values
from spikey.experiment import Experiment, RunFolder, run_experiment
from spikey.experiment.results import write_json, write_table
from spikey.experiment.state_file import write_state
from spikey.meta.series import Series

# --------------------------------------------------------------------------------------------------------
# Result folders used here and in test_report.py
TINY = {
    "name": "tiny-xor", "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
    "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random", "synapses": "MSTDPET",
              "readout": "Threshold", "rewarder": "MatchExpected"},
    "keys": {"n_inputs": 4, "n_neurons": 6, "n_outputs": 1, "processing_time": 8,
             "state_rate_map": {"0,0": [0, 0], "0,1": [0, .4], "1,0": [.4, 0], "1,1": [.4, .4]},
             "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 1.0, "learning_rate": 0.01,
             "action_threshold": "mean", "expected_value": "spikey.games:xor_gate"},
    "seeds": 2, "n_episodes": 3, "len_episode": 4}


def tiny_experiment(**changes) -> Experiment:
    return Experiment.from_dict(TINY).replace(**changes)


def make_run(folder) -> "pd.DataFrame":
    return run_experiment(tiny_experiment(), folder, progress=False, validate=False)


def make_series(folder, seeds=2):
    series = Series(tiny_experiment(seeds=seeds), {"learning_rate": [0.0, 0.02], "firing_threshold": [0.8, 1.5]})
    series.run(folder, use_ray=False)
    return series


#: GA members: (generation, member, fitness, age, cached, learning_rate, firing_threshold)
GA_MEMBERS = [
    (0, 0, 0.40, 0, False, 0.001, 1.0), (0, 1, 0.55, 0, False, 0.010, 2.0),
    (0, 2, 0.35, 0, False, 0.030, 0.5), (0, 3, 0.60, 0, False, 0.020, 1.5),
    (1, 0, 0.60, 1, True, 0.020, 1.5), (1, 1, 0.55, 1, True, 0.010, 2.0),
    (1, 2, 0.70, 0, False, 0.025, 1.4), (1, 3, 0.45, 0, False, 0.002, 0.9),
    (2, 0, 0.70, 2, True, 0.025, 1.4), (2, 1, 0.65, 0, False, 0.022, 1.3),
    (2, 2, 0.75, 0, False, 0.028, 1.6), (2, 3, 0.50, 0, False, 0.004, 1.1)]


def make_ga_folder(folder) -> None:
    """A GA folder in format 3, by hand (the GA itself is written elsewhere)."""
    experiment = tiny_experiment()
    members = pd.DataFrame(GA_MEMBERS, columns=["generation", "member", "fitness", "age", "cached",
                                                "learning_rate", "firing_threshold"])
    write_json(folder / "config.json", {
        "kind": "evolve", "experiment": experiment.to_dict(),
        "constraints": {"learning_rate": [0.0, 0.05], "firing_threshold": [0.5, 2.0]},
        "settings": {"n_agents": 4, "n_generations": 3, "survivor_rate": 0.25, "mutation_rate": 0.5,
                     "crossover_rate": 0.25, "random_rate": 0.0, "max_age": 3, "metric": "accuracy"},
        "seed": 0})
    write_table(folder / "members", members)
    write_state(folder / "population.npz", {"generation": 2}, kind="population")
    write_json(folder / "status.json", {"kind": "evolve", "state": "done", "generation": 2, "best_fitness": 0.75})
    write_json(folder / "best.json", {"fitness": 0.75, "generation": 2,
                                      "keys": {"learning_rate": 0.028, "firing_threshold": 1.6}})


#: Tune reports: trial -> (learning_rate, firing_threshold, accuracy per episode); t3 stopped early.
TUNE_TRIALS = {"t0": (0.001, 1.0, [0.40, 0.45, 0.50]), "t1": (0.010, 1.2, [0.45, 0.60, 0.70]),
               "t2": (0.030, 0.7, [0.50, 0.55, 0.65]), "t3": (0.003, 2.0, [0.30, 0.35])}


def make_tune_folder(folder) -> None:
    """A Tune sweep folder in format 2 (results table + best.json), by hand."""
    rows = []
    for trial, (lr, threshold, accuracy) in TUNE_TRIALS.items():
        for i, value in enumerate(accuracy):
            rows.append({"trial_id": trial, "trial": f"trial_{trial}", "training_iteration": i + 1, "episode": i,
                         "accuracy": value, "game_reward": value - 0.1, "episode_time_s": 0.01,
                         "timestamp": 1700000000 + i, "time_this_iter_s": 0.01, "done": i == len(accuracy) - 1,
                         "config/learning_rate": lr, "config/firing_threshold": threshold})
    write_table(folder / "results", pd.DataFrame(rows))
    best = {"learning_rate": 0.010, "firing_threshold": 1.2}
    write_json(folder / "best.json", {"metric": "accuracy", "mode": "max", "scope": "last", "score": 0.70,
                                      "config": best, "experiment": tiny_experiment().with_keys(best).to_dict()})


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("analysis")
    out = {name: base / name for name in ("run", "series", "ga", "tune")}
    for path in out.values():
        path.mkdir()
    make_run(out["run"])
    make_series(out["series"])
    make_ga_folder(out["ga"])
    make_tune_folder(out["tune"])
    return out


# --------------------------------------------------------------------------------------------------------
def test_detect_kind_and_errors(folders, tmp_path):
    assert {name: detect_kind(path) for name, path in folders.items()} == \
        {"run": "run", "series": "series", "ga": "evolve", "tune": "tune"}
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ResultFolderError) as error:
        load(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "series.json" in message and "members" in message \
        and "best.json" in message and "notes.txt" in message
    with pytest.raises(ResultFolderError, match="does not exist"):
        load(tmp_path / "missing")
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    with pytest.raises(ResultFolderError, match="no metrics"):
        load(tmp_path)


def test_load_run_folder_matches_its_metrics(folders):
    frame = load(folders["run"])
    metrics = RunFolder(folders["run"]).read_metrics()
    assert len(frame) == len(metrics) == 2 * 3
    assert list(frame.columns[:5]) == ["source", "kind", "run", "seed", "episode"]
    assert (frame["kind"] == "run").all() and (frame["run"] == "run").all()
    assert frame["seed"].tolist() == metrics["seed"].tolist()
    np.testing.assert_array_equal(frame["accuracy"].to_numpy(), metrics["accuracy"].to_numpy())
    np.testing.assert_array_equal(frame["weight_mean"].to_numpy(), metrics["weight_mean"].to_numpy(np.float64))
    assert frame["weight_mean"].dtype == np.float64
    # scalar keys of the config become columns; dict-valued ones (state_rate_map) do not
    assert (frame["learning_rate"] == 0.01).all() and (frame["action_threshold"] == "mean").all()
    assert "state_rate_map" not in frame.columns and "lane" not in frame.columns
    assert "accuracy" in frame.attrs["metric_columns"] and "seed" not in frame.attrs["metric_columns"]
    assert "learning_rate" in frame.attrs["key_columns"]


def test_load_series_has_config_columns(folders):
    source = read_source(folders["series"])
    frame = source.frame
    assert len(frame) == 4 * 2 * 3
    assert sorted(source.varied) == ["firing_threshold", "learning_rate"]
    assert (frame["run"] == frame["config_id"]).all()
    for config in json.loads((folders["series"] / "series.json").read_text())["configs"]:
        rows = frame[frame["config_id"] == config["config_id"]]
        metrics = RunFolder(folders["series"] / config["config_id"]).read_metrics()
        np.testing.assert_array_equal(rows["accuracy"].to_numpy(), metrics["accuracy"].to_numpy())
        for key, value in config["keys"].items():
            assert (rows[key] == value).all()
        assert (rows["n_inputs"] == 4).all()  # an unvaried key of the base experiment


def test_load_ga_folder(folders):
    frame = load(folders["ga"])
    assert len(frame) == len(GA_MEMBERS)
    expected = pd.DataFrame(GA_MEMBERS, columns=["generation", "member", "fitness", "age", "cached",
                                                 "learning_rate", "firing_threshold"])
    for column in expected.columns:
        np.testing.assert_array_equal(frame[column].to_numpy(), expected[column].to_numpy())
    assert frame["run"].tolist()[:2] == ["g000-m000", "g000-m001"]
    assert (frame["kind"] == "evolve").all() and "seed" not in frame.columns
    assert frame.attrs["metric_columns"] == ["fitness", "age", "cached"]
    assert (frame["n_neurons"] == 6).all()  # from the experiment in config.json


def test_load_tune_folder(folders):
    frame = load(folders["tune"])
    assert len(frame) == sum(len(v[2]) for v in TUNE_TRIALS.values())
    assert set(frame["trial_id"]) == set(TUNE_TRIALS) and (frame["run"] == frame["trial_id"]).all()
    for trial, (lr, threshold, accuracy) in TUNE_TRIALS.items():
        rows = frame[frame["trial_id"] == trial].sort_values("episode")
        assert rows["accuracy"].tolist() == accuracy and rows["episode"].tolist() == list(range(len(accuracy)))
        assert (rows["learning_rate"] == lr).all() and (rows["firing_threshold"] == threshold).all()
    for bookkeeping in ("timestamp", "time_this_iter_s", "done", "training_iteration", "config/learning_rate"):
        assert bookkeeping not in frame.columns
    assert {"accuracy", "game_reward", "episode_time_s"} <= set(frame.attrs["metric_columns"])


def test_load_mixed_kinds_in_one_frame(folders):
    frame = load([folders["run"], folders["ga"]], folders["tune"])
    assert frame["kind"].value_counts().to_dict() == {"evolve": 12, "tune": 11, "run": 6}
    ga = frame[frame["kind"] == "evolve"]
    assert ga["seed"].isna().all() and ga["episode"].isna().all() and ga["fitness"].notna().all()


# --------------------------------------------------------------------------------------------------------
T975 = {1: 12.706204736174698, 2: 4.302652729749464, 3: 3.182446305284263, 4: 2.7764451051977934,
        9: 2.2621571628540993, 29: 2.045229642132703}  # two-sided 95 % critical values (standard tables)


def test_t_quantile_against_tables_and_closed_forms():
    for dof, value in T975.items():
        assert t_quantile(0.975, dof) == pytest.approx(value, rel=1e-9)
    for p in (0.55, 0.8, 0.95, 0.999):
        # dof 1 is the Cauchy distribution; dof 2 has t = (2p - 1) / sqrt(2 p (1 - p))
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
        assert t_quantile(1 - p, 7) == pytest.approx(-t_quantile(p, 7), rel=1e-12)
    assert t_cdf(0.0, 5) == 0.5 and incomplete_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)
    assert incomplete_beta(0.25, 2.0, 3.0) == pytest.approx(0.26171875)  # 1 - sum_{j<2} C(4,j) .25^j .75^(4-j)
    assert np.isnan(t_quantile(0.975, 0)) and np.isnan(t_quantile(0.975, np.nan))
    np.testing.assert_allclose(t_quantile(0.975, np.array([1, 4])), [T975[1], T975[4]], rtol=1e-9)


def _frame():
    """Two configs (lr 0.1: 3 seeds, lr 0.2: 2 seeds), 3 episodes each; last-episode values known."""
    rows = []
    last = {(0.1, 0): 0.5, (0.1, 1): 0.7, (0.1, 2): 0.9, (0.2, 0): 0.4, (0.2, 1): 0.6}
    for (lr, seed), value in last.items():
        for episode, scale in enumerate((0.2, 0.5, 1.0)):
            rows.append({"source": "s", "run": f"lr{lr}", "seed": seed, "episode": episode, "learning_rate": lr,
                         "threshold": 1.0 + seed, "label": "x" if seed else "y", "accuracy": value * scale})
    frame = pd.DataFrame(rows)
    frame.attrs["key_columns"] = ["learning_rate", "threshold", "label"]
    return frame.sample(frac=1.0, random_state=1)  # order must not matter


def test_summarize_mean_std_ci_over_seeds():
    stats = summarize(_frame(), by=["learning_rate"], metric="accuracy")
    assert stats.columns.tolist() == ["learning_rate", "metric", "mean", "std", "count", "ci_low", "ci_high"]
    assert stats["learning_rate"].tolist() == [0.1, 0.2] and stats["count"].tolist() == [3, 2]
    np.testing.assert_allclose(stats["mean"], [0.7, 0.5])
    np.testing.assert_allclose(stats["std"], [0.2, math.sqrt(0.02)])
    half = [T975[2] * 0.2 / math.sqrt(3), T975[1] * math.sqrt(0.02) / math.sqrt(2)]
    np.testing.assert_allclose(stats["ci_high"] - stats["mean"], half, rtol=1e-9)
    np.testing.assert_allclose(stats["mean"] - stats["ci_low"], half, rtol=1e-9)
    # scope "mean": mean over episodes of (0.2 + 0.5 + 1) / 3 * value; int 2: the last two
    means = summarize(_frame(), by="learning_rate", metric="accuracy", scope="mean")["mean"]
    np.testing.assert_allclose(means, np.array([0.7, 0.5]) * 1.7 / 3)
    last2 = summarize(_frame(), by="learning_rate", metric="accuracy", scope=2)["mean"]
    np.testing.assert_allclose(last2, np.array([0.7, 0.5]) * 0.75)
    # default by: the varied keys
    assert summarize(_frame(), metric="accuracy").columns[:3].tolist() == ["learning_rate", "threshold", "label"]
    with pytest.raises(ValueError, match="accuracyy"):
        summarize(_frame(), by="learning_rate", metric="accuracyy")
    with pytest.raises(ValueError, match="scope"):
        summarize(_frame(), by="learning_rate", metric="accuracy", scope="first")


def test_summarize_single_unit_has_no_interval():
    stats = summarize(_frame().query("seed == 0"), by=["learning_rate"], metric="accuracy")
    assert stats["count"].tolist() == [1, 1] and stats["std"].isna().all() and stats["ci_low"].isna().all()


def _spearman(x, y):
    """Independent Spearman rho for data without ties: Pearson of argsort ranks."""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return np.corrcoef(rx, ry)[0, 1]


def test_importance_is_spearman_over_units_sorted_by_strength():
    rng = np.random.default_rng(3)
    n = 40
    a, b, c = rng.uniform(size=n), rng.uniform(size=n), rng.uniform(size=n)
    metric = 2 * a - 0.7 * b + 0.1 * rng.normal(size=n)
    frame = pd.DataFrame({"run": np.arange(n), "a": a, "b": b, "c": c, "const": 1.0, "word": ["x", "y"] * 20,
                          "fitness": metric})
    frame.attrs["key_columns"] = ["a", "b", "c", "const", "word"]
    table = importance(frame, "fitness")
    assert set(table["key"]) == {"a", "b", "c"}  # constant and non-numeric keys left out
    for row in table.itertuples():
        assert row.rho == pytest.approx(_spearman(frame[row.key].to_numpy(), metric), abs=1e-12)
        assert row.n == n
    assert table["abs_rho"].tolist() == sorted(table["abs_rho"], reverse=True)
    assert table["key"].iloc[0] == "a" and table["rho"].iloc[0] > 0.8
    assert table.loc[table["key"] == "b", "rho"].iloc[0] < 0
    try:
        from scipy.stats import spearmanr
    except ImportError:
        return
    assert table.loc[table["key"] == "c", "rho"].iloc[0] == pytest.approx(spearmanr(c, metric)[0], abs=1e-12)


def test_importance_uses_the_last_episode_of_each_seed():
    table = importance(_frame(), "accuracy")
    units = unit_values(_frame(), "accuracy", ["learning_rate"])
    assert len(units) == 5 and table.set_index("key")["n"].to_dict() == {"learning_rate": 5, "threshold": 5}
    # threshold = 1 + seed; last values by seed 0,1,2,0,1 -> .5,.7,.9,.4,.6
    expected = pd.Series([1, 2, 3, 1, 2]).rank().corr(pd.Series([.5, .7, .9, .4, .6]).rank())
    assert table.set_index("key").loc["threshold", "rho"] == pytest.approx(expected)


def test_best_configs_order_and_mode(folders):
    best = best_configs(_frame(), "accuracy", n=1, by=["learning_rate"])
    assert best["learning_rate"].tolist() == [0.1] and best["mean"].iloc[0] == pytest.approx(0.7)
    worst = best_configs(_frame(), "accuracy", n=5, by=["learning_rate"], mode="min")
    assert worst["learning_rate"].tolist() == [0.2, 0.1]
    ga = best_configs(load(folders["ga"]), "fitness", n=3, by=["learning_rate", "firing_threshold"])
    assert ga["mean"].tolist() == [0.75, 0.70, 0.65]
    assert ga["count"].tolist() == [1, 2, 1]  # (0.025, 1.4) evaluated twice (cached)
    with pytest.raises(ValueError, match="n = 0"):
        best_configs(_frame(), "accuracy", n=0)


def test_load_tune_folder_from_trial_result_files(tmp_path):
    """A sweep folder without results.parquet (e.g. interrupted): Tune's own */result.json lines."""
    for trial, (lr, threshold, accuracy) in TUNE_TRIALS.items():
        (tmp_path / f"trial_{trial}").mkdir()
        lines = [json.dumps({"accuracy": value, "episode": i, "training_iteration": i + 1, "trial_id": trial,
                             "config": {"learning_rate": lr, "firing_threshold": threshold}})
                 for i, value in enumerate(accuracy)]
        (tmp_path / f"trial_{trial}" / "result.json").write_text("\n".join(lines) + "\n")
    assert detect_kind(tmp_path) == "tune"
    frame = load(tmp_path)
    assert len(frame) == 11 and frame.attrs["metric_columns"] == ["accuracy"]
    stats = summarize(frame, by=["learning_rate"], metric="accuracy").set_index("learning_rate")
    assert stats["mean"].to_dict() == {lr: acc[-1] for lr, _, acc in TUNE_TRIALS.values()}
