"""The `spikey` command: keys, local runs and resume, bad configs refused before Ray starts, plug-ins."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from spikey import cli
from spikey.experiment import RunFolder

ROOT = Path(__file__).resolve().parents[1]
XOR = str(ROOT / "examples" / "xor.yaml")


@pytest.fixture
def no_ray(monkeypatch):
    """Fail the test if anything tries to start or attach to Ray, or to run on Train/Tune."""
    import ray

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started")
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr("spikey.experiment.train.run_train", refuse)
    monkeypatch.setattr("spikey.meta.tune.run_sweep", refuse)


def test_console_script_is_declared():
    assert '"spikey=spikey.cli:main"' in (ROOT / "setup.py").read_text()
    done = subprocess.run([sys.executable, "-m", "spikey.cli", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and all(c in done.stdout for c in ("run", "sweep", "evolve", "report", "keys"))


def test_keys_of_parts_and_of_a_config(capsys):
    assert cli.main(["keys", "LIF", "inputs=RateMap", "spikey.games.Logic"]) == 0
    out = capsys.readouterr().out
    assert "firing_threshold" in out and "state_rate_map" in out and "expected_value" in out
    assert any(line.split()[:2] == ["inputs", "RateMap"] for line in out.splitlines())
    assert cli.main(["keys", XOR, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_key = {(r["part"], r["key"]): r for r in rows}
    assert by_key[("LIF", "firing_threshold")]["value"] == 1.0
    assert by_key[("MatchExpected", "expected_value")]["value"] == "spikey.games:xor_gate"
    assert by_key[("LIF", "refractory_period")]["default"] == 0 and "value" not in by_key[("LIF",
                                                                                           "refractory_period")]
    assert cli.main(["keys", "LIFF"]) == 2
    assert "Did you mean 'LIF'" in capsys.readouterr().err


def test_local_run_then_resume_from_the_run_folder(tmp_path, capsys, no_ray):
    out = tmp_path / "run"
    assert cli.main(["run", XOR, "--out", str(out), "--episodes", "3", "--seeds", "2", "--set", "learning_rate=0.001",
                     "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "local" in printed and "accuracy" in printed
    metrics = RunFolder(out).read_metrics()
    assert metrics["episode"].max() == 2 and sorted(metrics["seed"].unique()) == [0, 1]
    config = json.loads((out / "config.json").read_text())
    assert config["keys"]["learning_rate"] == 0.001 and config["n_episodes"] == 3
    # `spikey run RUN_DIR` continues the folder's own experiment: here it is complete, so nothing is replayed
    assert cli.main(["run", str(out), "--quiet"]) == 0
    pd.testing.assert_frame_equal(RunFolder(out).read_metrics(), metrics)
    assert cli.main(["run", str(out), "--episodes", "4", "--quiet"]) == 0  # extend by one episode
    assert RunFolder(out).read_metrics()["episode"].max() == 3


BAD = [
    ({"parts": {"neurons": "LIFF"}}, "parts.neurons = 'LIFF'"),
    ({"parts": {"readout": "LIF"}}, "parts.readout = LIF is not a Readout"),
    ({"keys": {"n_neuron": 3}}, "unknown key 'n_neuron'"),
    ({"keys": {"firing_threshold": "high"}}, "key 'firing_threshold' = 'high' has type str; expected float"),
    ({"keys": {"potential_decay": -1}}, "LIF: key 'potential_decay' = -1 is out of range"),
    ({"keys": {"expected_value": "spikey.games:nand"}}, "has no attribute 'nand'"),
    ({"n_episodes": "ten"}, "n_episodes = 'ten'"),
    ({"game": "Pong"}, "game = 'Pong' is not a known game"),
    ({"sweep": {"space": {"learning_rat": [0.1, 1]}}}, "search space: unknown key 'learning_rat'"),
    ({"sweep": {"metric": "acuracy"}}, "metric 'acuracy' is not reported. Did you mean 'accuracy'"),
    ({"sweep": {"sheduler": "asha"}}, "unknown sweep setting 'sheduler'"),
]


CASES = [(command, change, message) for command in (["run", "--workers", "2"], ["sweep"])
         for change, message in BAD if command[0] == "sweep" or "sweep" not in change]  # run ignores sweep


@pytest.mark.parametrize("command, change, message", CASES)
def test_bad_configs_fail_before_ray_starts_naming_the_culprit(tmp_path, capsys, no_ray, change, message, command):
    import yaml
    config = yaml.safe_load(Path(XOR).read_text())
    for field, value in change.items():
        config[field] = {**config[field], **value} if isinstance(value, dict) and field in config else value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    status = cli.main([command[0], str(path)] + command[1:] + ["--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and message in err, err


def test_bad_override_and_missing_file(capsys, no_ray):
    assert cli.main(["run", XOR, "--set", "learning_rate"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["run", "nowhere.yaml"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["run", XOR, "--address", "auto"]) == 2
    assert "give --workers" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evolve", "report"])
def test_plugin_commands_say_when_their_module_is_missing(command, capsys, monkeypatch):
    """A plug-in command whose module cannot be imported exits 2 naming it (here: hidden from import)."""
    import sys
    module = cli.PLUGINS[command][0]
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ModuleNotFoundError
    assert cli.main([command, XOR, "--anything"]) == 2
    err = capsys.readouterr().err
    assert f"spikey {command}: not available" in err and module in err


@pytest.mark.parametrize("command", ["evolve", "report"])
def test_plugin_commands_are_available(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0 and f"spikey {command}" in capsys.readouterr().out
