"""A sweep submitted with `ray job submit --working-dir .` to a cluster started with `ray start --head`."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    """A free TCP port from the OS's ephemeral range (above Ray's worker ports 10002-19999)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_head(temp_dir: str, gcs_port: int | None = None) -> int:
    """End the processes of the cluster whose RAY_TMPDIR is ``temp_dir`` (and their children), by pid.

    A process belongs to it when an argument mentions ``temp_dir`` or points at its
    GCS (``--address=host:gcs_port``, as Ray's client server does). Never ``ray
    stop``: that would end every Ray process on the machine.
    """
    import psutil
    mine = {os.getpid()} | {p.pid for p in psutil.Process().parents()}
    found = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            arguments = process.info["cmdline"] or []
            if process.pid not in mine and any(temp_dir in part or (
                    gcs_port is not None and part.startswith(("--address=", "--gcs-address=", "--gcs_address="))
                    and part.endswith(f":{gcs_port}")) for part in arguments):
                found[process.pid] = process
                found.update({child.pid: child for child in process.children(recursive=True)})
        except psutil.Error:
            continue
    for process in found.values():
        try:
            process.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(found.values()), timeout=5)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    return len(found)


@pytest.fixture(scope="module")
def head():
    """A Ray head started with `ray start --head` in a private RAY_TMPDIR; yields (env, dashboard URL)."""
    temp_dir = tempfile.mkdtemp(prefix="spikey-head-", dir="/tmp")
    env = dict(os.environ, RAY_TMPDIR=temp_dir, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("RAY_ADDRESS", None)
    gcs, dashboard, client = free_port(), free_port(), free_port()
    # Ray's fixed default ports (the dashboard agent's 52365, metrics, runtime-env agent) may be
    # held by another Ray instance on this machine (this session's own, for one): pick free ones.
    agent_ports = ["--dashboard-agent-listen-port", free_port(), "--dashboard-agent-grpc-port", free_port(),
                   "--metrics-export-port", free_port(), "--runtime-env-agent-port", free_port()]
    try:
        started = subprocess.run([RAY, "start", "--head", "--num-cpus", "2", "--port", str(gcs),
                                  "--dashboard-port", str(dashboard), "--dashboard-host", "127.0.0.1",
                                  "--ray-client-server-port", str(client), "--disable-usage-stats",
                                  *map(str, agent_ports)],
                                 env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr[-2000:]
        yield env, f"http://127.0.0.1:{dashboard}", f"127.0.0.1:{gcs}"
    finally:
        stop_head(temp_dir, gcs)
        shutil.rmtree(temp_dir, ignore_errors=True)


def submit(env: dict, dashboard: str, *command: str, timeout: float = 400) -> subprocess.CompletedProcess:
    """`ray job submit --working-dir . -- command`, retried while the new head's job agent is not up yet."""
    deadline = time.time() + 120
    while True:
        job = subprocess.run([RAY, "job", "submit", "--address", dashboard, "--working-dir", ".", "--", *command],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if "No available agent to submit job" not in job.stdout + job.stderr or time.time() > deadline:
            return job
        time.sleep(2)


def test_cluster_yaml_is_a_valid_ray_cluster_config():
    """examples/cluster.yaml passes Ray's own schema, as `ray up` fills and checks it."""
    import yaml
    from ray.autoscaler._private.util import prepare_config, validate_config
    config = yaml.safe_load((ROOT / "examples" / "cluster.yaml").read_text())
    prepared = prepare_config(config)
    validate_config(prepared)
    types = prepared["available_node_types"]
    assert prepared["head_node_type"] == "head" and types["gpu_worker"]["resources"]["GPU"] == 1
    assert "pip install -q -e ~/spikey-src" in prepared["setup_commands"]
    assert prepared["file_mounts"] == {"~/spikey-src": "."}


def test_ray_job_submit_of_a_sweep(head, tmp_path):
    env, dashboard, gcs = head
    out = tmp_path / "sweeps"
    started = time.perf_counter()
    job = submit(env, dashboard, "python", "-m", "spikey.cli", "sweep", "examples/xor.yaml", "--samples", "4",
                 "--episodes", "2", "--seeds", "4", "--out", str(out), "--name", "job", "--quiet")
    elapsed = time.perf_counter() - started
    assert job.returncode == 0, (job.stdout + job.stderr)[-4000:]
    assert "succeeded" in job.stdout + job.stderr
    results = pd.read_parquet(out / "job" / "results.parquet")
    assert results["trial_id"].nunique() == 4
    best = json.loads((out / "job" / "best.json").read_text())
    assert set(best["config"]) == {"learning_rate", "firing_threshold", "potential_decay", "action_threshold"}
    # the job ran on the started head, not on a cluster of its own
    listed = subprocess.run([RAY, "job", "list", "--address", dashboard], env=env, capture_output=True,
                            text=True, timeout=60)
    assert "SUCCEEDED" in listed.stdout
    print(f"\nray job submit of a 4-trial sweep: {elapsed:.1f} s")


def test_failed_job_is_reported(head):
    env, dashboard, _ = head
    job = submit(env, dashboard, "python", "-m", "spikey.cli", "run", "examples/xor.yaml", "--set", "n_neuron=3",
                 timeout=200)
    assert job.returncode != 0
    assert "unknown key 'n_neuron'" in job.stdout + job.stderr
