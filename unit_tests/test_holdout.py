"""Searches report generalisation: the best keys re-scored on seeds disjoint from the search's."""
import json

import numpy as np
import pytest

from spikey.cli import main as spikey
from spikey.experiment import Experiment
from spikey.meta.holdout import DEFAULT_COUNT, evaluate_holdout, holdout_seeds
from spikey.module import ConfigError

CONFIG = """
name: xor_holdout
network: ActiveRLNetwork
parts: {inputs: RateMap, neurons: LIF, weights: Random, synapses: MSTDPET, readout: Threshold,
        rewarder: MatchExpected}
game: Logic
game_preset: XOR
keys:
  n_inputs: 16
  n_neurons: 1
  n_outputs: 1
  processing_time: 10
  state_rate_map: {"0,0": [0.2, 0, 0, 0], "0,1": [0, 0.2, 0, 0], "1,0": [0, 0, 0.2, 0], "1,1": [0, 0, 0, 0.2]}
  firing_threshold: 1.0
  potential_decay: 0.1
  max_weight: 1.0
  learning_rate: 0.0001
  action_threshold: mean
  expected_value: spikey.games:xor_gate
n_episodes: 2
len_episode: 8
seeds: 2
evolve:
  population: 4
  generations: 2
  seed: 3
  metric: accuracy
  constraints:
    learning_rate: [0.00001, 0.01, log]
    firing_threshold: [0.5, 3.0]
"""


def test_holdout_seeds_default_count_list_and_off():
    assert holdout_seeds(None, [0, 1]) == list(range(2, 2 + DEFAULT_COUNT))
    assert holdout_seeds(3, [4, 9, 2]) == [10, 11, 12]
    assert holdout_seeds([100, 200], [0, 1]) == [100, 200]
    assert holdout_seeds("7,8", [0]) == [7, 8] and holdout_seeds("2", [0]) == [1, 2]
    assert holdout_seeds(0, [0]) == [] and holdout_seeds(False, [0]) == [] and holdout_seeds([], [0]) == []
    with pytest.raises(ConfigError, match=r"shares the seeds \[1\]"):
        holdout_seeds([1, 5], [0, 1])
    with pytest.raises(ConfigError, match="count >= 0"):
        holdout_seeds(-1, [0])
    with pytest.raises(ConfigError, match="holdout_seeds"):
        holdout_seeds(1.5, [0])


def test_evaluate_holdout_scores_the_keys_on_the_given_seeds(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    experiment = Experiment.from_file(path).replace(evolve={})
    held = evaluate_holdout(experiment, {"learning_rate": 0.001}, [5, 6, 7], "accuracy",
                            score=lambda rows: rows["accuracy"].mean(), last=1)
    assert held["seeds"] == [5, 6, 7] and held["episodes"] == [1] and len(held["per_seed"]) == 3
    assert held["score"] == pytest.approx(np.mean(held["per_seed"]))
    from spikey.experiment.run import evaluate
    same = evaluate(experiment.with_keys({"learning_rate": 0.001}), [5, 6, 7], metric="accuracy", last=1)
    assert held["score"] == pytest.approx(same)


def test_spikey_evolve_prints_and_writes_the_held_out_score(tmp_path, capsys):
    config = tmp_path / "ga.yaml"
    config.write_text(CONFIG)
    folder = tmp_path / "ga"
    assert spikey(["evolve", str(config), "--out", str(folder), "--holdout-seeds", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    best = json.loads((folder / "best.json").read_text())
    holdout = best["holdout"]
    assert holdout["seeds"] == [2, 3, 4, 5] and len(holdout["per_seed"]) == 4
    assert holdout["search_fitness"] == best["fitness"]
    assert f"held-out accuracy {holdout['score']:.4g} on 4 seeds 2..5" in out
    # the same keys trained on those seeds give that score (mean accuracy of the last episode)
    experiment = Experiment.from_file(config).replace(evolve={})
    from spikey.experiment.run import evaluate
    assert holdout["score"] == pytest.approx(evaluate(experiment.with_keys(best["keys"]), [2, 3, 4, 5],
                                                      metric="accuracy", last=1))
    from spikey.analysis.report import build_report
    report = build_report([folder], tmp_path / "report", raster=False)
    assert "held-out accuracy" in report.read_text()


def test_spikey_evolve_holdout_off_and_overlap_refused_before_the_search(tmp_path, capsys):
    config = tmp_path / "ga.yaml"
    config.write_text(CONFIG.replace("  seed: 3\n", "  seed: 3\n  holdout_seeds: 0\n"))
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "off"), "--quiet"]) == 0
    assert "held-out" not in capsys.readouterr().out
    assert "holdout" not in json.loads((tmp_path / "off" / "best.json").read_text())
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "bad"), "--holdout-seeds", "1,9", "--quiet"]) != 0
    assert "shares the seeds [1] with the search's own seeds [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "members.parquet").exists()


def test_report_shows_a_folders_holdout_line():
    from spikey.analysis.report import holdout_text
    text = holdout_text({"holdout": {"seeds": [10, 11, 12], "metric": "accuracy", "score": 0.7,
                                     "per_seed": [0.6, 0.7, 0.8], "search_fitness": 0.95}})
    assert "held-out accuracy 0.7 on 3 seeds 10..12 (search's own seeds: 0.95)" in text
    assert holdout_text(None) == "" and holdout_text({"fitness": 1.0}) == ""


@pytest.mark.ray
def test_sweep_writes_the_best_keys_held_out_score(ray_session, tmp_path):
    from spikey.experiment.run import evaluate
    from spikey.meta import run_sweep
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    experiment = Experiment.from_file(path).replace(evolve={})
    result = run_sweep(experiment, {"learning_rate": [1e-4, 1e-2, "log"]}, storage_path=tmp_path, name="s",
                       num_samples=2, progress=False, holdout_seeds=[7, 9], scheduler="fifo", metric="accuracy")
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    assert best["holdout"] == result.holdout and result.holdout["seeds"] == [7, 9]
    assert result.holdout["search_score"] == result.best_score
    # scope "last": the last episode's mean accuracy over the held-out seeds
    assert result.holdout["score"] == pytest.approx(evaluate(experiment.with_keys(result.best_config), [7, 9],
                                                             metric="accuracy", last=1))
    off = run_sweep(experiment, {"learning_rate": [1e-4, 1e-2, "log"]}, storage_path=tmp_path, name="off",
                    num_samples=1, progress=False, holdout_seeds=0, scheduler="fifo", metric="accuracy")
    assert off.holdout is None and json.loads((tmp_path / "off" / "best.json").read_text())["holdout"] is None
