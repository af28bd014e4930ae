"""Experiments on Ray Train: same metrics as a local run, resume after a killed worker or driver, GPU."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikey.experiment import Experiment, RunFolder, run_experiment

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[1]


def same_rows(a: pd.DataFrame, b: pd.DataFrame, skip=("wall_time", "pid")) -> None:
    columns = [c for c in b.columns if c not in skip]
    pd.testing.assert_frame_equal(a[columns].reset_index(drop=True), b[columns].reset_index(drop=True))


def slow_and_record_pid(record, network, game, step):
    """Step callback: 20 ms per game step (so a test can act mid-run) and the simulating process's id."""
    time.sleep(0.02)
    record["pid"] = np.full(network.batch_size, os.getpid())


def env_for_subprocess():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def test_cli_run_on_train_writes_the_metrics_of_the_local_run(ray_session, tmp_path):
    """`spikey run examples/xor.yaml --workers 2` (attached with --address) == the local run, per seed."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "spikey.cli", "run", "examples/xor.yaml", "--workers", "2",
                           "--address", ray_session, "--out", str(tmp_path / "train"), "--quiet"],
                          cwd=ROOT, env=env_for_subprocess(), capture_output=True, text=True, timeout=300)
    train_time = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Ray Train, 2 workers" in done.stdout
    started = time.perf_counter()
    local = run_experiment(Experiment.from_file(ROOT / "examples/xor.yaml"), tmp_path / "local", progress=False)
    local_time = time.perf_counter() - started
    train = RunFolder(tmp_path / "train").read_metrics()
    same_rows(train, local)
    assert len(train) == 5 * 8 and not train.duplicated(["episode", "seed"]).any()
    status = RunFolder(tmp_path / "train").read_status()
    assert status["mode"] == "train" and status["workers"] == 2 and status["complete"]
    checkpoint = RunFolder(tmp_path / "train").read_checkpoint()
    assert [s["lanes"] for s in checkpoint["shards"]] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    print(f"\nxor.yaml: Ray Train 2 workers {train_time:.1f} s (CLI, incl. worker start), local {local_time:.2f} s")


def test_torch_cpu_train_matches_local_torch(ray_session, tmp_path):
    from spikey.experiment.train import run_train
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(backend="torch", seeds=[5, 6, 7], n_episodes=3)
    train = run_train(exp, tmp_path / "train", num_workers=2, progress=False)
    same_rows(train, run_experiment(exp, progress=False))
    assert train["seed"].tolist()[:3] == [5, 6, 7]


def _train_in_thread(exp, folder, **kwargs):
    from spikey.experiment.train import run_train
    outcome = {}

    def target():
        try:
            outcome["metrics"] = run_train(exp, folder, num_workers=2, progress=False, **kwargs)
        except BaseException as error:  # reported to the test thread
            outcome["error"] = error
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _registered_checkpoint(storage: Path) -> int:
    """Episodes done at the latest checkpoint Ray Train has registered (0: none yet).

    A checkpoint folder appears while the workers upload; only the manager's
    snapshot says the report completed (what a restart resumes from).
    """
    import json
    try:
        snapshot = json.loads((storage / "checkpoint_manager_snapshot.json").read_text())
        return int(snapshot["latest_checkpoint_result"]["checkpoint_dir_name"].split("_")[1])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0


def _kill_a_worker_after(folder: Path, episodes: int, timeout: float = 180) -> tuple[int, int]:
    """Wait for a registered checkpoint of >= ``episodes``, then SIGKILL one Train worker.

    Returns the killed pid and the episodes done at the last registered checkpoint.
    """
    from ray.util.state import list_actors
    storage = folder / "ray_train" / "train"
    deadline = time.time() + timeout
    while _registered_checkpoint(storage) < episodes:
        assert time.time() < deadline, f"no checkpoint of {episodes} episodes after {timeout} s"
        time.sleep(0.02)
    workers = list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])
    assert len(workers) == 2
    pid = int(workers[-1]["pid"])
    os.kill(pid, signal.SIGKILL)
    return pid, _registered_checkpoint(storage)


def test_killed_worker_is_replaced_and_the_run_resumes_from_its_checkpoint(ray_session, tmp_path):
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(
        seeds=4, n_episodes=8, len_episode=10, checkpoint_every=2,
        callbacks=[f"{Path(__file__).resolve()}:slow_and_record_pid"])
    reference = run_experiment(exp.replace(callbacks=[]), progress=False)
    thread, outcome = _train_in_thread(exp, tmp_path / "run", max_failures=2)
    killed, resumed_from = _kill_a_worker_after(tmp_path / "run", 2)
    thread.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert resumed_from < 8  # the kill came mid-run
    metrics = outcome["metrics"]
    same_rows(metrics, reference)  # every (episode, seed) exactly once, the same numbers
    assert len(metrics) == 8 * 4 and not metrics.duplicated(["episode", "seed"]).any()
    before, after = metrics[metrics.episode < resumed_from], metrics[metrics.episode >= resumed_from]
    assert killed in set(before["pid"]) and killed not in set(after["pid"])  # early rows kept, not replayed


@pytest.mark.slow
def test_restarted_driver_resumes_the_run_folder(ray_session, tmp_path):
    """No automatic retries: the run fails; running it again on the folder continues from the checkpoint."""
    from spikey.experiment.train import run_train
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(
        seeds=4, n_episodes=6, len_episode=10, checkpoint_every=2,
        callbacks=[f"{Path(__file__).resolve()}:slow_and_record_pid"])
    reference = run_experiment(exp.replace(callbacks=[]), progress=False)
    thread, outcome = _train_in_thread(exp, tmp_path / "run", max_failures=0)
    killed, resumed_from = _kill_a_worker_after(tmp_path / "run", 2)
    thread.join(timeout=300)
    assert "error" in outcome and resumed_from < 6
    metrics = run_train(exp, tmp_path / "run", num_workers=2, progress=False)
    same_rows(metrics, reference)
    assert killed in set(metrics[metrics.episode < resumed_from]["pid"])
    assert killed not in set(metrics[metrics.episode >= resumed_from]["pid"])
    assert RunFolder(tmp_path / "run").read_status()["complete"]


@pytest.mark.gpu
def test_use_gpu_puts_the_workers_on_their_gpu(ray_session, tmp_path):
    torch = pytest.importorskip("torch")
    import ray
    if not torch.cuda.is_available() or ray.cluster_resources().get("GPU", 0) < 1:
        pytest.skip("no CUDA device")
    from spikey.experiment.train import run_train
    exp = Experiment.from_file(ROOT / "examples/xor.yaml").replace(seeds=4, n_episodes=2)
    metrics = run_train(exp, tmp_path / "gpu", num_workers=1, use_gpu=True, progress=False)
    local = run_experiment(exp.replace(backend="torch", device="cuda"), progress=False)
    same_rows(metrics, local)
    assert RunFolder(tmp_path / "gpu").read_status()["use_gpu"]


def test_resuming_with_another_number_of_workers_is_refused_before_ray_starts(tmp_path, monkeypatch):
    from spikey.experiment import ExperimentError
    from spikey.experiment.train import run_train
    import ray
    monkeypatch.setattr(ray, "init", lambda *a, **k: (_ for _ in ()).throw(AssertionError("Ray started")))
    stored = tmp_path / "ray_train" / "train" / "checkpoint_000002"
    stored.mkdir(parents=True)
    for rank in range(2):
        (stored / f"shard-{rank:04d}.npz").write_bytes(b"")
    exp = Experiment.from_file(ROOT / "examples/xor.yaml")
    with pytest.raises(ExperimentError, match="checkpointed by 2 worker"):
        run_train(exp, tmp_path, num_workers=4)
