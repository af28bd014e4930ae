"""`spikey evolve`: a run killed with SIGKILL mid-generation resumes to the uninterrupted result; bad configs refused."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from spikey.cli import main as spikey
from spikey.experiment.results import read_table
from spikey.experiment.state_file import read_state

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
name: xor_ga
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
  population: 6
  generations: 4
  seed: 11
  metric: accuracy
  selection: tournament
  constraints:
    learning_rate: [0.00001, 0.01, log]
    firing_threshold: [0.5, 3.0]
    refractory_period: {choices: [0, 2]}
"""


def write_config(tmp_path, text=CONFIG) -> Path:
    path = tmp_path / "xor_ga.yaml"
    path.write_text(text)
    return path


def state(folder: Path):
    return read_state(folder / "population.npz", kind="population")


# (a Done-when item of the GA/report work: kept in the default suite, ~10 s)
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    config = write_config(tmp_path)
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    whole = read_table(tmp_path / "whole" / "members")
    assert sorted(whole["generation"].unique()) == [0, 1, 2, 3] and len(whole) == 24

    # The same GA in a subprocess, each generation's evaluation delayed (test hook) so it can be
    # killed while generation 2 is being evaluated.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPIKEY_EVOLVE_DELAY_S": "0.4"}
    folder = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "spikey.cli", "evolve", str(config), "--out", str(folder),
                                "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    status = {}
    try:
        while time.time() < deadline:
            try:
                status = json.loads((folder / "status.json").read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                status = {}
            if status.get("generation") == 2 and status.get("state") == "running":
                break
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL and status.get("generation") == 2
    partial = read_table(folder / "members")
    assert sorted(partial["generation"].unique()) == [0, 1]          # killed before generation 2 was recorded
    assert state(folder)["generation"] == 2

    assert spikey(["evolve", "--resume", str(folder), "--quiet"]) == 0
    resumed = read_table(folder / "members")
    pd.testing.assert_frame_equal(resumed, whole)                     # same members, fitness, ages, cached flags
    a, b = state(folder), state(tmp_path / "whole")
    assert a["genotypes"] == b["genotypes"] and a["cache"] == b["cache"] and a["best"] == b["best"]
    assert a["rng_state"] == b["rng_state"]
    assert json.loads((folder / "best.json").read_text()) == json.loads((tmp_path / "whole" / "best.json").read_text())
    assert json.loads((folder / "status.json").read_text())["state"] == "done"


def test_resumed_runs_equal_uninterrupted_ones(tmp_path):
    """Fast version (in-process): 2 generations, resumed to 4 and then extended to 5, equal the
    uninterrupted 5-generation run; a finished run only continues when --generations grows."""
    config = write_config(tmp_path)
    folder = tmp_path / "parts"
    assert spikey(["evolve", str(config), "--out", str(folder), "--generations", "2", "--quiet"]) == 0
    assert read_table(folder / "members")["generation"].max() == 1
    assert spikey(["evolve", str(folder), "--generations", "4", "--quiet"]) == 0   # a GA folder resumes too
    assert spikey(["evolve", "--resume", str(folder), "--quiet"]) == 0               # done: nothing more
    assert read_table(folder / "members")["generation"].max() == 3
    assert spikey(["evolve", "--resume", str(folder), "--generations", "5", "--quiet"]) == 0
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "five"), "--generations", "5", "--quiet"]) == 0
    five = read_table(tmp_path / "five" / "members")
    pd.testing.assert_frame_equal(read_table(folder / "members"), five)
    assert state(folder)["cache"] == state(tmp_path / "five")["cache"]
    assert five["cached"].any() and five["fitness"].between(0, 1).all()


@pytest.mark.parametrize("constraint, words", [
    ("learning_rate: []", ["'learning_rate'", "empty list of choices"]),
    ("learning_rate: [0.01, 0.00001]", ["'learning_rate'", "(0.01, 1e-05)", "low <= high"]),
    ("learning_rat: [0.00001, 0.01]", ["unknown key 'learning_rat'", "Did you mean 'learning_rate'"]),
    ("learning_rate: [0, 0.01, log]", ["'learning_rate'", "low > 0"]),
    ("potential_decay: [0.5, 2.0]", ["'potential_decay'", "0 <= potential_decay <= 1"]),
    ("action_threshold: {choices: [mean, bogus]}", ["'action_threshold'", "'bogus'", "'mean' or 'median'"]),
])
def test_bad_constraints_are_refused_before_anything_runs(tmp_path, capsys, constraint, words):
    text = CONFIG.replace("    learning_rate: [0.00001, 0.01, log]", f"    {constraint}")
    assert text != CONFIG
    config = write_config(tmp_path, text)
    out = tmp_path / "never"
    assert spikey(["evolve", str(config), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("spikey evolve: error:")
    for word in words:
        assert word in error
    assert not out.exists()


@pytest.mark.parametrize("change, args, words", [
    ("  population: 6", ["  population: 1"], ["size = 1"]),
    ("  metric: accuracy", ["  metric: acuracy"], ["metric 'acuracy'", "Did you mean 'accuracy'"]),
    ("  seed: 11", ["  seeds: 11"], ["unknown setting 'seeds'"]),
])
def test_bad_settings_are_refused(tmp_path, capsys, change, args, words):
    config = write_config(tmp_path, CONFIG.replace(change, args[0]))
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "never")]) == 2
    error = capsys.readouterr().err
    for word in words:
        assert word in error


def test_resume_refuses_changes_that_alter_the_search(tmp_path, capsys):
    config = write_config(tmp_path, CONFIG.replace("generations: 4", "generations: 1"))
    assert spikey(["evolve", str(config), "--out", str(tmp_path / "ga"), "--quiet"]) == 0
    assert spikey(["evolve", "--resume", str(tmp_path / "ga"), "--population", "8"]) == 2
    assert "--population cannot change when resuming" in capsys.readouterr().err
    assert spikey(["evolve", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in capsys.readouterr().err
