"""Run and GA folders are data: no pickle is opened unless trusted, damaged files give named errors,
a full disk leaves the folder intact, and checkpoints cost the same at episode 2 and episode 1,000."""
import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikey.cli import main as spikey
from spikey.experiment import Experiment, RunFolder, ShardRunner, run_experiment
from spikey.experiment import results as results_module
from spikey.experiment.results import game_state, plain_state
from spikey.experiment.run import save_local
from spikey.experiment.state_file import StateFileError, read_state, state_bytes, write_state

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "xor.yaml"


def xor(**changes) -> Experiment:
    return Experiment.from_file(CONFIG).replace(**{"seeds": 3, "n_episodes": 3, "len_episode": 6,
                                                   "checkpoint_every": 1, **changes})


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal metrics apart from wall times (which measure this machine, not the model)."""
    columns = [c for c in a.columns if c != "wall_time"]
    pd.testing.assert_frame_equal(a[columns].reset_index(drop=True), b[columns].reset_index(drop=True))


class Crash(Exception):
    pass


def unfinished_run(folder: Path, **changes) -> Experiment:
    """A run folder stopped after 2 of 3 episodes (checkpointed every episode)."""
    exp = xor(**changes)

    def crash(episode, rows):
        if episode == 1:
            raise Crash

    with pytest.raises(Crash):
        run_experiment(exp, folder, progress=False, on_episode=crash)
    return exp


def finished_run(folder: Path) -> Experiment:
    exp = xor()
    run_experiment(exp, folder, progress=False)
    return exp


def checkpoint_file(folder: Path) -> Path:
    """The folder's checkpoint in whichever format this version writes."""
    return next(folder / name for name in ("checkpoint.npz", "checkpoint.pkl") if (folder / name).exists())


# -- state files: exact round trip, refusal of what is not data -------------------------------------
def assert_identical(a, b, where="state"):
    """Same structure, types, dtypes and bits (NaN equal to NaN)."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_identical(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, (float, np.floating)):
        assert np.array(a).tobytes() == np.array(b).tobytes(), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("config, backend", [("xor.yaml", "numpy"), ("cartpole.yaml", "numpy"),
                                             ("xor.yaml", "torch")])
def test_network_and_game_state_round_trip_exactly(tmp_path, config, backend):
    exp = Experiment.from_file(ROOT / "examples" / config).replace(seeds=2, n_episodes=2, len_episode=5,
                                                                   backend=backend)
    runner = ShardRunner(exp)
    for _ in range(2):
        runner.play()
    state = {"network": plain_state(runner.network.state_dict()), "game": game_state(runner.game),
             "rows": runner.metrics(), "odd": {(1, "a"): [np.float32(np.nan), float("-inf"), 2 ** 100, (None,)],
                                             "$t": np.int8(-3), "s": np.str_("x"), "e": np.empty((0, 3))}}
    write_state(tmp_path / "s.npz", state, kind="shard")
    restored = read_state(tmp_path / "s.npz", kind="shard")
    assert_identical(state, restored)
    # and the restored state continues exactly where the original goes on
    again = ShardRunner(exp.replace(n_episodes=4))
    again.load({"seeds": runner.seeds, "network": restored["network"], "game": restored["game"],
                "next_episode": 2})
    runner.experiment = exp.replace(n_episodes=4)
    same_rows(again.play(), runner.play())


def test_what_is_not_data_is_refused_when_written(tmp_path):
    with pytest.raises(StateFileError, match=r"network\.rewarder\[1\].*function"):
        write_state(tmp_path / "s.npz", {"network": {"rewarder": [1, lambda: 0]}}, kind="shard")
    with pytest.raises(StateFileError, match=r"arrays\[0\].*dtype object"):
        state_bytes({"arrays": [np.array([object()])]}, kind="shard")
    assert not (tmp_path / "s.npz").exists()


# -- planted pickles run nothing --------------------------------------------------------------------
class Planted:
    """Unpickling this creates ``marker`` (as a hostile file would run any command)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def plant(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Planted(marker)))
    assert not marker.exists()


@pytest.mark.parametrize("finished", [False, True])
@pytest.mark.parametrize("name", ["checkpoint.pkl", "checkpoint.npz"])
def test_planted_checkpoint_pickle_runs_nothing(tmp_path, capsys, finished, name):
    folder, marker = tmp_path / "run", tmp_path / "ran"
    finished_run(folder) if finished else unfinished_run(folder)
    checkpoint_file(folder).unlink()
    plant(folder / name, marker)  # as the old format, or disguised as the new one
    capsys.readouterr()
    assert spikey(["run", str(folder), "--quiet"]) == 2
    assert not marker.exists()
    error = capsys.readouterr().err
    assert name in error and len(error.strip().splitlines()) == 1
    assert ("pickle" in error and "--trust-pickle" in error) if name.endswith(".pkl") else "corrupt" in error


GA_CONFIG = """
name: xor_ga
network: ActiveRLNetwork
parts: {inputs: RateMap, neurons: LIF, weights: Random, synapses: MSTDPET, readout: Threshold,
        rewarder: MatchExpected}
game: Logic
game_preset: XOR
keys:
  n_inputs: 4
  n_neurons: 1
  n_outputs: 1
  processing_time: 5
  state_rate_map: {"0,0": [0.2, 0, 0, 0], "0,1": [0, 0.2, 0, 0], "1,0": [0, 0, 0.2, 0], "1,1": [0, 0, 0, 0.2]}
  firing_threshold: 1.0
  potential_decay: 0.1
  max_weight: 1.0
  learning_rate: 0.0001
  action_threshold: mean
  expected_value: spikey.games:xor_gate
n_episodes: 1
len_episode: 4
seeds: 1
evolve:
  population: 4
  generations: 2
  seed: 3
  metric: accuracy
  constraints:
    learning_rate: [0.00001, 0.01]
"""


def ga_folder(tmp_path, finished: bool) -> Path:
    """A GA folder after 1 of 2 generations (unfinished) or both (finished), written by the CLI."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "ga.yaml"
    config.write_text(GA_CONFIG)
    folder = tmp_path / "ga"
    assert spikey(["evolve", str(config), "--out", str(folder), "--quiet",
                   "--generations", "2" if finished else "1"]) == 0
    if not finished:  # leave it as a stopped run of 2 generations would: status running, 1 done
        status = json.loads((folder / "status.json").read_text())
        (folder / "status.json").write_text(json.dumps({**status, "state": "running", "n_generations": 2}))
    return folder


def population_file(folder: Path) -> Path:
    return next(folder / name for name in ("population.npz", "population.pkl") if (folder / name).exists())


@pytest.mark.parametrize("finished", [False, True])
def test_planted_population_pickle_runs_nothing(tmp_path, capsys, finished):
    folder, marker = ga_folder(tmp_path, finished), tmp_path / "ran"
    population_file(folder).unlink()
    plant(folder / "population.pkl", marker)
    capsys.readouterr()
    assert spikey(["evolve", "--resume", str(folder), "--generations", "3", "--quiet"]) == 2
    assert spikey(["evolve", str(folder), "--quiet"]) == 2
    assert not marker.exists()
    error = capsys.readouterr().err
    assert "population.pkl" in error and "pickle" in error and "--trust-pickle" in error


def test_trusted_old_run_folder_is_read_once_and_rewritten_as_data(tmp_path, capsys):
    """A folder of the older version (checkpoint.pkl with all rows, metrics.parquet) resumes only with
    --trust-pickle, then continues exactly and holds data files only."""
    reference = run_experiment(xor(), progress=False)
    folder = tmp_path / "old"
    unfinished_run(folder)
    checkpoint = RunFolder(folder).read_checkpoint()
    metrics = RunFolder(folder).read_metrics()
    shards = [{k: v for k, v in s.items() if k != "rows"} | {"metrics": metrics} for s in checkpoint["shards"]]
    (folder / "checkpoint.pkl").write_bytes(pickle.dumps({"format": 1, "next_episode": 2, "shards": shards}))
    metrics.to_parquet(folder / "metrics.parquet", index=False)
    (folder / "checkpoint.npz").unlink()
    for part in (folder / "metrics").iterdir():
        part.unlink()
    same_rows(RunFolder(folder).read_metrics(), metrics)  # the old table stays readable (reports)

    assert spikey(["run", str(folder), "--quiet"]) == 2
    assert "pickle" in capsys.readouterr().err and (folder / "checkpoint.pkl").exists()
    assert spikey(["run", str(folder), "--quiet", "--trust-pickle"]) == 0
    assert sorted(os.listdir(folder)) == ["checkpoint.npz", "config.json", "metrics", "status.json"]
    same_rows(RunFolder(folder).read_metrics(), reference)


def test_trusted_old_ga_folder_resumes_and_is_rewritten_as_data(tmp_path):
    whole = ga_folder(tmp_path / "a", finished=True)
    folder = ga_folder(tmp_path / "b", finished=False)
    state = read_state(folder / "population.npz", kind="population")
    (folder / "population.npz").unlink()
    (folder / "population.pkl").write_bytes(pickle.dumps(state))
    assert spikey(["evolve", "--resume", str(folder), "--generations", "2", "--quiet"]) == 2
    assert spikey(["evolve", "--resume", str(folder), "--generations", "2", "--quiet", "--trust-pickle"]) == 0
    assert (folder / "population.npz").exists() and not (folder / "population.pkl").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "members.parquet"),
                                  pd.read_parquet(whole / "members.parquet"))


# -- damaged files: named errors, never a silent restart --------------------------------------------
def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def newer_version(path: Path) -> None:
    """The same checkpoint as a later format version would write it."""
    import io
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    tree = json.loads(arrays["__tree__"].tobytes())
    tree["version"] = 99
    arrays["__tree__"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


RUN_DAMAGE = {
    "truncated config.json": (lambda f: truncate(f / "config.json"), "config.json"),
    "corrupt status.json": (lambda f: (f / "status.json").write_text("{\"episodes_done\": 2, "), "status.json"),
    "truncated checkpoint": (lambda f: truncate(checkpoint_file(f)), "checkpoint"),
    "corrupt checkpoint": (lambda f: checkpoint_file(f).write_bytes(b"\x00garbage" * 40), "checkpoint"),
    "checkpoint of a newer version": (lambda f: newer_version(f / "checkpoint.npz"), "newer"),
    "deleted checkpoint": (lambda f: checkpoint_file(f).unlink(), "no checkpoint"),
}


@pytest.mark.parametrize("damage", list(RUN_DAMAGE))
def test_damaged_run_folder_is_refused_naming_the_file(tmp_path, capsys, damage):
    folder = tmp_path / "run"
    unfinished_run(folder)
    before = RunFolder(folder).read_metrics()
    change, words = RUN_DAMAGE[damage]
    change(folder)
    capsys.readouterr()
    assert spikey(["run", str(folder), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert words in error and str(folder) in error and len(error.strip().splitlines()) == 1
    if damage != "truncated config.json":
        same_rows(RunFolder(folder).read_metrics(), before)  # nothing replayed or recorded twice
    if damage == "deleted checkpoint":  # also when the config file is run again on the folder
        assert spikey(["run", str(CONFIG), "--out", str(folder), "--quiet", "--seeds", "3", "--episodes", "3",
                       "--len-episode", "6", "--checkpoint-every", "1"]) == 2
        assert "no checkpoint" in capsys.readouterr().err


def report_input(tmp_path, kind: str) -> tuple[Path, Path]:
    """A finished folder of ``kind`` and the file of it that gets damaged."""
    if kind == "run metrics":
        folder = tmp_path / "run"
        finished_run(folder)
        parts = sorted((folder / "metrics").glob("part-*")) if (folder / "metrics").is_dir() else []
        return folder, (parts or [folder / "metrics.parquet"])[-1]
    if kind == "tune result.json":
        folder = tmp_path / "sweep"
        (folder / "trial_a").mkdir(parents=True)
        (folder / "trial_a" / "result.json").write_text(
            json.dumps({"trial_id": "a", "training_iteration": 1, "accuracy": 0.5, "config": {"learning_rate": 0.1}})
            + "\n" + json.dumps({"trial_id": "a", "training_iteration": 2, "accuracy": 0.7})[:30] + "\n")
        return folder, folder / "trial_a" / "result.json"
    folder = ga_folder(tmp_path, finished=True)
    return folder, folder / ("members.parquet" if kind == "GA members" else "best.json")


@pytest.mark.parametrize("kind", ["run metrics", "GA members", "GA best.json", "tune result.json"])
def test_damaged_report_inputs_are_named_by_report_and_load(tmp_path, capsys, kind):
    folder, damaged = report_input(tmp_path, kind)
    if kind != "tune result.json":
        truncate(damaged)
    capsys.readouterr()
    assert spikey(["report", str(folder), "--out", str(tmp_path / "report"), "--no-raster"]) == 2
    error = capsys.readouterr().err
    assert damaged.name in error and "truncated or corrupt" in error and len(error.strip().splitlines()) == 1
    from spikey.analysis import load
    from spikey.module import ConfigError
    with pytest.raises(ConfigError, match=damaged.name):
        load(folder)


@pytest.mark.parametrize("damage", ["truncated state", "truncated config.json"])
def test_damaged_ga_folder_is_refused_naming_the_file(tmp_path, capsys, damage):
    folder = ga_folder(tmp_path, finished=False)
    path = population_file(folder) if damage == "truncated state" else folder / "config.json"
    truncate(path)
    capsys.readouterr()
    assert spikey(["evolve", "--resume", str(folder), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert path.name in error and "truncated or corrupt" in error


# -- full disk ---------------------------------------------------------------------------------------
def test_full_disk_gives_one_line_and_leaves_the_folder_intact(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "run"
    exp = xor(n_episodes=2)
    run_experiment(exp, folder, progress=False)
    files = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # where the device reports it at the latest
    capsys.readouterr()
    assert spikey(["run", str(folder), "--episodes", "4", "--quiet"]) == 2
    monkeypatch.undo()
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "no space left" in error and str(folder) in error
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files
    assert spikey(["run", str(folder), "--episodes", "4", "--quiet"]) == 0  # space again: it continues
    same_rows(RunFolder(folder).read_metrics(), run_experiment(xor(n_episodes=4), progress=False))


# -- long runs: linear cost, flat memory -------------------------------------------------------------
def test_checkpoint_bytes_and_rows_held_do_not_grow_with_the_run(tmp_path, monkeypatch):
    """Each checkpoint writes the state plus one interval's rows, and the runner lets rows go once saved
    (the quadratic cost of rewriting all metrics at every checkpoint would show as growing bytes)."""
    written = []
    real = results_module.atomic_write

    def counting(path, data):
        written[-1] += len(data)
        real(path, data)

    monkeypatch.setattr(results_module, "atomic_write", counting)
    folder = RunFolder(tmp_path)
    runner = ShardRunner(xor(n_episodes=1000))
    held = []
    for _ in range(40):
        runner.play()
        written.append(0)
        save_local(folder, runner, time.perf_counter())
        held.append(len(runner.metrics()))
    assert max(held) == 0
    # episodes 21-40 cost what episodes 1-20 cost (each window holds one merge of 16 parts)
    assert sum(written[20:]) <= 1.05 * sum(written[:20]), written
    assert len(folder.read_metrics()) == 40 * 3
    assert len(folder.metric_parts()) == 40 - 2 * 15  # 2 merged parts of 16 episodes, 8 of one


def test_finished_run_merges_its_parts_and_a_crash_while_merging_loses_nothing(tmp_path):
    folder = RunFolder(tmp_path)
    metrics = run_experiment(xor(n_episodes=4), tmp_path, progress=False)
    assert [p[-1].name for p in folder.metric_parts()] == ["part-000000-000003-0000.parquet"]
    for episode in range(4):  # as if the run had stopped after writing the merged part, before removing these
        folder.append_metrics(metrics[metrics["episode"] == episode])
    assert len(list(folder.metrics_dir.iterdir())) == 5
    same_rows(folder.read_metrics(), metrics)
    folder.compact_metrics()
    assert len(list(folder.metrics_dir.iterdir())) == 1
    same_rows(folder.read_metrics(), metrics)


# -- kill -9 mid-run, resume: exact --------------------------------------------------------------------
def test_run_killed_with_sigkill_resumes_exactly(tmp_path):
    exp = xor(n_episodes=30, len_episode=10)
    reference = run_experiment(exp, progress=False)
    config = tmp_path / "xor.yaml"
    config.write_text(json.dumps(exp.to_dict()))
    folder = tmp_path / "run"
    command = [sys.executable, "-m", "spikey.cli", "run", str(config), "--out", str(folder), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while RunFolder(folder).read_status().get("episodes_done", 0) < 5:
            assert process.poll() is None and time.time() < deadline, "the run ended before it could be killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    done = RunFolder(folder).read_checkpoint()["next_episode"]
    assert 5 <= done < 30
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    same_rows(RunFolder(folder).read_metrics(), reference)
