"""The benchmark's peer environments: pinned files, the install script, missing or failing peers, firing rates."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import run

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / "benchmarks" / "envs"
INSTALL = ROOT / "benchmarks" / "install_peers.sh"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,.-]+\])?==([0-9][A-Za-z0-9_.+!-]*)$")


def pins(environment: str) -> dict:
    """Package name (lower case) -> pinned version of benchmarks/envs/<environment>.txt."""
    found = {}
    for line in (ENVS / f"{environment}.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"envs/{environment}.txt: {line!r} is not pinned as name==version"
        name = match.group(1).lower().replace("_", "-")
        assert name not in found, f"envs/{environment}.txt pins {name} twice"
        found[name] = match.group(3)
    return found


@pytest.mark.parametrize("environment, expected", [
    ("bindsnet", {"bindsnet": "0.3.4", "torch": "2.14.1", "torchvision": "0.29.1"}),  # the pair that imports together
    ("brian2", {"brian2": "2.9.0"})])
def test_each_peer_environment_pins_every_package(environment, expected):
    pinned = pins(environment)
    assert {name: pinned.get(name) for name in expected} == expected
    assert "numpy" in pinned


def test_peer_pins_that_conflict_live_in_separate_environments():
    # BindsNET 0.3.4 requires numpy >= 2; Brian2 2.9.0 fails to import under numpy 2 (np.ndarray.ptp)
    bindsnet, brian2 = pins("bindsnet"), pins("brian2")
    assert int(bindsnet["numpy"].split(".")[0]) >= 2
    assert int(brian2["numpy"].split(".")[0]) < 2
    assert "brian2" not in bindsnet and "bindsnet" not in brian2
    assert set(run.PEER_ENVIRONMENTS) == {p.stem for p in ENVS.glob("*.txt")}


def test_install_script_names_an_unknown_peer():
    done = subprocess.run(["sh", str(INSTALL), "nest"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown peer 'nest'" in done.stderr and "bindsnet or brian2" in done.stderr


def test_install_script_leaves_an_existing_environment_alone(tmp_path):
    (tmp_path / "keep").write_text("x")
    done = subprocess.run(["sh", str(INSTALL), "brian2", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert str(tmp_path) in done.stderr and "remove it" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_peer_python_order_flag_variable_default(monkeypatch):
    monkeypatch.delenv("SPIKEY_BRIAN2_PYTHON", raising=False)
    assert run.peer_python("brian2") == ROOT / ".venv-brian2" / "bin" / "python"
    monkeypatch.setenv("SPIKEY_BRIAN2_PYTHON", "/envs/b2/bin/python")
    assert run.peer_python("brian2") == Path("/envs/b2/bin/python")
    assert run.peer_python("brian2", "/other/python") == Path("/other/python")


def test_a_missing_peer_environment_is_skipped_by_name(tmp_path, capsys):
    missing = tmp_path / "nothing" / "bin" / "python"
    rows, skipped = run.peers({"bindsnet": missing}, [61], 0.0, 1, 60)
    assert rows == []
    assert len(skipped) == 1
    message = skipped[0]
    assert message.startswith("BindsNET skipped: no interpreter at") and str(missing) in message
    assert "sh benchmarks/install_peers.sh bindsnet" in message and "SPIKEY_BINDSNET_PYTHON" in message
    assert message in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("bindsnet") is not None, reason="bindsnet importable here")
def test_a_failing_peer_is_skipped_with_its_error():
    # Spikey's own interpreter lacks BindsNET: peers.py reports the failure as a row, run.py names it
    rows, skipped = run.peers({"bindsnet": sys.executable}, [61], 0.0, 1, 120)
    assert rows == []
    assert skipped == ["bindsnet N=61 failed: ModuleNotFoundError: No module named 'bindsnet'"]


def spikey_row(n: int, rate: float) -> dict:
    return {"N": n, "B": 1, "backend": "numpy", "rule": "MSTDP", "steps_per_s": 1e4, "body_rate": rate}


def test_rate_warnings_name_rows_whose_rates_differ_by_more_than_the_tolerance():
    rows = [spikey_row(61, 0.04), spikey_row(1000, 0.04)]
    peer_rows = [{"peer": "BindsNET", "N": 61, "steps_per_s": 500.0, "body_rate": 0.07},
                 {"peer": "Brian2-cython", "N": 61, "steps_per_s": 800.0, "body_rate": 0.13},
                 {"peer": "Brian2-numpy", "N": 1000, "steps_per_s": 300.0, "body_rate": 0.015}]
    warnings = run.rate_warnings(rows, peer_rows)
    assert len(warnings) == 2
    assert "N=61" in warnings[0] and "Brian2-cython 0.1300" in warnings[0] and "Spikey numpy MSTDP 0.0400" in warnings[0]
    assert "N=1000" in warnings[1] and "Brian2-numpy 0.0150" in warnings[1]
    assert run.rate_warnings(rows, peer_rows[:1]) == []


def test_spikey_rows_record_the_body_firing_rate():
    row = run.measure(61, 2, "numpy", "MSTDP", min_time=0.0, repeats=1, processing_time=50)
    # the benchmark network fires at a few percent per step (spontaneous 1 % plus driven spikes)
    assert 0.01 < row["body_rate"] < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("environment", ["bindsnet", "brian2"])
def test_installed_peer_runs_at_spikey_s_firing_rate(environment):
    python = run.peer_python(environment)
    if not python.exists():
        pytest.skip(f"{python} missing: sh benchmarks/install_peers.sh {environment}")
    rows, skipped = run.peers({environment: python}, [61], 0.0, 1, 1800)
    assert skipped == [] and rows
    spikey = run.measure(61, 1, "numpy", "MSTDP", min_time=0.0, repeats=1)
    assert run.rate_warnings([spikey], rows) == []
