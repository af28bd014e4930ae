"""spikey.meta.series: spec forms and validation, runs into a series folder, resume, Ray tasks."""
import json

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import spikey.meta.series as series_module
from spikey.experiment import Experiment, run_experiment
from spikey.experiment.results import RunFolder
from spikey.meta.series import Series
from spikey.module import ConfigError, KeyRangeError, KeyTypeError, UnknownKeyError

from test_analysis import TINY as ANALYSIS_TINY  # noqa: E402 (one tiny XOR config for both files)

TINY = {**ANALYSIS_TINY, "name": "series-xor", "n_episodes": 2}
SPEC = {"learning_rate": [0.0, 0.02], "firing_threshold": [0.8, 1.5]}


@pytest.fixture(scope="module")
def experiment():
    return Experiment.from_dict(TINY)


def keys_of(series):
    return [c["keys"] for c in series.configs]


def test_grid_zip_and_list_specs(experiment):
    grid = Series(experiment, SPEC)
    assert grid.mode == "grid" and [c["config_id"] for c in grid.configs] == ["c000", "c001", "c002", "c003"]
    assert keys_of(grid) == [{"learning_rate": 0.0, "firing_threshold": 0.8},
                             {"learning_rate": 0.0, "firing_threshold": 1.5},
                             {"learning_rate": 0.02, "firing_threshold": 0.8},
                             {"learning_rate": 0.02, "firing_threshold": 1.5}]
    zipped = Series(experiment, SPEC, mode="zip")
    assert keys_of(zipped) == [{"learning_rate": 0.0, "firing_threshold": 0.8},
                               {"learning_rate": 0.02, "firing_threshold": 1.5}]
    listed = Series(experiment, [{"learning_rate": 0.005}, {"firing_threshold": 2.0, "action_threshold": "median"}])
    assert listed.mode == "list" and listed.varied == ["learning_rate", "firing_threshold", "action_threshold"]
    # a key a list entry leaves out takes the base experiment's value in the config table
    table = listed.config_frame()
    assert table.to_dict("records") == [
        {"config_id": "c000", "learning_rate": 0.005, "firing_threshold": 1.0, "action_threshold": "mean"},
        {"config_id": "c001", "learning_rate": 0.01, "firing_threshold": 2.0, "action_threshold": "median"}]
    # numpy values are stored as plain Python numbers
    assert type(Series(experiment, {"learning_rate": np.array([0.01])}).configs[0]["keys"]["learning_rate"]) is float
    assert listed.experiment_of("c001").keys["firing_threshold"] == 2.0


def test_spec_errors_name_the_key(experiment):
    with pytest.raises(UnknownKeyError, match="learning_rat'.*Did you mean 'learning_rate'") as error:
        Series(experiment, {"learning_rat": [0.1]})
    assert error.value.key == "learning_rat"
    with pytest.raises(ConfigError, match="'firing_threshold' has an empty list") as error:
        Series(experiment, {"learning_rate": [0.1], "firing_threshold": []})
    assert error.value.key == "firing_threshold"
    with pytest.raises(ConfigError, match="key 'firing_threshold' has 3 values and 'learning_rate' has 2") as error:
        Series(experiment, {"learning_rate": [0.1, 0.2], "firing_threshold": [1, 2, 3]}, mode="zip")
    assert error.value.key == "firing_threshold"
    with pytest.raises(KeyRangeError, match="potential_decay"):
        Series(experiment, {"potential_decay": [0.1, 1.5]})
    with pytest.raises(KeyTypeError, match="n_neurons"):
        Series(experiment, {"n_neurons": [4.5]})
    with pytest.raises(ConfigError, match="mode"):
        Series(experiment, SPEC, mode="product")
    with pytest.raises(ConfigError, match=r"spec\[1\]"):
        Series(experiment, [{"learning_rate": 0.1}, 0.2])
    with pytest.raises(ConfigError, match="'learning_rate' = 0.1; expected a list"):
        Series(experiment, {"learning_rate": 0.1})


def _without_time(frame):
    return frame.drop(columns=["wall_time"]).reset_index(drop=True)


def test_run_writes_series_folder_equal_to_single_runs(experiment, tmp_path):
    series = Series(experiment, SPEC)
    with pytest.raises(RuntimeError, match="not been run"):
        series.to_frame()
    results = series.run(tmp_path / "s", use_ray=False)
    assert len(results) == 4 * 2 * 2
    assert results.columns[:3].tolist() == ["config_id", "learning_rate", "firing_threshold"]
    info = json.loads((tmp_path / "s" / "series.json").read_text())
    assert info["kind"] == "series" and info["mode"] == "grid" and info["spec"] == SPEC
    assert info["configs"] == [{"config_id": c["config_id"], "keys": c["keys"]} for c in series.configs]
    assert Experiment.from_dict(info["experiment"]).keys == experiment.to_dict()["keys"]
    stored = pd.read_parquet(tmp_path / "s" / "results.parquet")
    pdt.assert_frame_equal(stored, results)
    pdt.assert_frame_equal(series.to_frame(), results)
    # each configuration equals an independent run of the experiment with its keys
    for config in series.configs:
        alone = run_experiment(experiment.with_keys(config["keys"]), tmp_path / f"alone-{config['config_id']}",
                               progress=False)
        rows = results[results["config_id"] == config["config_id"]]
        for key, value in config["keys"].items():
            assert (rows[key] == value).all()
        pdt.assert_frame_equal(_without_time(rows[alone.columns]), _without_time(alone))
        assert RunFolder(tmp_path / "s" / config["config_id"]).read_status()["complete"] is True
    # the learning rate changes the weights: the configs are really different runs
    final = results[results["episode"] == 1].groupby("learning_rate")["weight_std"].mean()
    assert final[0.0] != final[0.02]


def test_run_resumes_and_skips_finished_configs(experiment, tmp_path, monkeypatch):
    series = Series(experiment, SPEC)
    first = series.run(tmp_path, use_ray=False)
    calls = []
    real = series_module._run_config
    monkeypatch.setattr(series_module, "_run_config", lambda exp, run_dir: calls.append(run_dir) or real(exp, run_dir))
    again = Series(experiment, SPEC).run(tmp_path, use_ray=False)
    assert calls == []
    pdt.assert_frame_equal(again, first)
    # an interrupted configuration (not complete) runs again, the others are skipped
    status = RunFolder(tmp_path / "c002")
    status.write_status(**{**status.read_status(), "complete": False})
    resumed = Series(experiment, SPEC).run(tmp_path, use_ray=False)
    assert [p.rsplit("/", 1)[-1] for p in calls] == ["c002"]
    assert len(resumed) == len(first)
    # a different series in the same folder is refused
    with pytest.raises(ConfigError, match="different series"):
        Series(experiment, {"learning_rate": [0.5]}).run(tmp_path, use_ray=False)


@pytest.mark.slow
@pytest.mark.ray
def test_run_on_ray_tasks_equals_local(experiment, tmp_path, ray_session):
    spec = {"learning_rate": [0.0, 0.02], "firing_threshold": [0.8, 1.5]}
    on_ray = Series(experiment, spec).run(tmp_path / "ray", use_ray=True)
    local = Series(experiment, spec).run(tmp_path / "local", use_ray=False)
    pdt.assert_frame_equal(_without_time(on_ray), _without_time(local))
