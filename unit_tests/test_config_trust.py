"""What a config may run: references resolve to spikey's part library, numpy, named files and trusted modules."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from spikey.experiment import Experiment, ExperimentError
from spikey.experiment.config import coerce_value, resolve_reference
from spikey.experiment.references import RefusedReferenceError, UserCodeNotImported, no_user_code
from spikey.games import xor_gate
from spikey.module import ConfigError

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "examples" / "xor.yaml"


def cli(*args, cwd):
    """``python -m spikey.cli ARGS`` in ``cwd``, as a user would run it; (returncode, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "spikey.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def xor_config(tmp_path, name="exp.yaml", **keys):
    config = yaml.safe_load(XOR.read_text())
    config["keys"].update(keys)
    config.update(n_episodes=1, len_episode=2, seeds=2)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def test_call_os_system_through_the_cli_runs_nothing_and_names_the_reference(tmp_path):
    config = yaml.safe_load(XOR.read_text())
    config["parts"]["weights"] = "Manual"
    config["keys"]["matrix"] = {"call": "os:system", "args": ["touch MARKER"]}
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(config))
    code, _, err = cli("run", "evil.yaml", "--quiet", "--out", "run", cwd=tmp_path)
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "run").exists()
    assert code == 2 and "'os:system'" in err and "refused" in err and "Traceback" not in err


@pytest.mark.parametrize("reference", [
    "os:system", "subprocess:run", "builtins:eval", "sys:modules", "shutil:rmtree", "importlib:import_module",
    "pickle:loads", "socket:socket", "ctypes:CDLL", "runpy:run_path",
    "spikey.cli:os.system",                     # a re-export inside spikey
    "spikey.cli:main",                          # spikey outside its part library
    "spikey.experiment.references:load_file_module",
    "spikey:experiment",                        # a passage to the same
    "numpy:load", "numpy:save", "numpy:ndarray.tofile", "numpy:lib.format",  # numpy's file I/O
    "spikey.games:xor_gate.__globals__",        # private attributes
    "numpy:random.__builtins__",
])
def test_code_a_config_may_not_name_is_refused_by_name(reference):
    with pytest.raises(RefusedReferenceError) as raised:
        resolve_reference(reference)
    assert repr(reference) in str(raised.value) and isinstance(raised.value, ConfigError)
    with pytest.raises(RefusedReferenceError):
        coerce_value("matrix", {"call": reference, "args": []}, None)


def test_denied_modules_stay_refused_when_trusted(tmp_path):
    with pytest.raises(RefusedReferenceError, match="trusted_modules entry 'os'"):
        Experiment(trusted_modules=["os"])
    with pytest.raises(RefusedReferenceError, match="'subprocess'"):
        resolve_reference("subprocess:run", trusted=["mylab"])


def test_a_named_file_cannot_hand_out_what_a_config_may_not_name(tmp_path):
    (tmp_path / "helpers.py").write_text("import os\nfrom subprocess import run\nimport numpy as np\n")
    for attr in ("os.system", "run", "np.load"):
        with pytest.raises(RefusedReferenceError):
            resolve_reference(f"helpers.py:{attr}", str(tmp_path))


def test_spikey_and_numpy_and_files_resolve(tmp_path):
    assert resolve_reference("spikey.games:xor_gate") is xor_gate
    assert resolve_reference("spikey:games.xor_gate") is xor_gate
    np.testing.assert_array_equal(coerce_value("m", {"call": "numpy:full", "args": [[2, 3], 0.5]}, None),
                                  np.full((2, 3), 0.5))
    (tmp_path / "helpers.py").write_text("def gate(states):\n    return states\n")
    assert resolve_reference("helpers.py:gate", str(tmp_path)).__name__ == "gate"


def test_trusted_modules_are_the_only_other_modules(tmp_path, monkeypatch):
    package = tmp_path / "site" / "mylab_trust_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import numpy as np\ndef gate(states):\n"
                                         "    return np.asarray(states).sum(axis=1) % 2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(RefusedReferenceError, match="--trust-module mylab_trust_pkg"):
        resolve_reference("mylab_trust_pkg:gate")
    gate = resolve_reference("mylab_trust_pkg:gate", trusted=["mylab_trust_pkg"])
    # An object of a user module given in Python is written as a reference, with its module trusted,
    # so that the run folder's config.json reads back.
    config = yaml.safe_load(XOR.read_text())
    exp = Experiment.from_dict({**config, "keys": {**config["keys"], "expected_value": gate}})
    data = json.loads(json.dumps(exp.to_dict()))
    assert data["keys"]["expected_value"] == "mylab_trust_pkg:gate"
    assert data["trusted_modules"] == ["mylab_trust_pkg"]
    network, _ = Experiment.from_dict(data).build()
    assert network.rewarder.params["expected_value"] is gate
    with pytest.raises(RefusedReferenceError):
        Experiment.from_dict({**data, "trusted_modules": []}).build()


def test_spikey_keys_does_not_import_user_files(tmp_path):
    (tmp_path / "helpers.py").write_text("open('MARKER', 'w').write('imported')\ndef gate(s):\n    return s\n")
    (tmp_path / "parts.py").write_text("open('MARKER_PARTS', 'w').write('imported')\n"
                                       "from spikey.snn import LIF\nclass MyLIF(LIF):\n    pass\n")
    config = yaml.safe_load(XOR.read_text())
    config["keys"]["expected_value"] = "helpers.py:gate"
    config["parts"]["neurons"] = "parts.py:MyLIF"
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    code, out, err = cli("keys", "exp.yaml", cwd=tmp_path)
    assert code == 0, err
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "MARKER_PARTS").exists()
    assert "MSTDPET" in out and "learning_rate" in out  # built-in parts are listed
    assert "parts.neurons" in out and "user file" in out and "not imported" in out
    code, _, err = cli("keys", "parts.py:MyLIF", cwd=tmp_path)
    assert not (tmp_path / "MARKER_PARTS").exists()
    with no_user_code(), pytest.raises(UserCodeNotImported):
        resolve_reference("helpers.py:gate", str(tmp_path))
    assert not (tmp_path / "MARKER").exists()


def test_a_module_only_in_the_working_directory_is_not_imported(tmp_path):
    (tmp_path / "cwd_only_gate.py").write_text("open('MARKER', 'w').write('imported')\nimport numpy as np\n"
                                               "def gate(states):\n    return np.asarray(states).sum(axis=1) % 2\n")
    xor_config(tmp_path, expected_value="cwd_only_gate:gate")
    code, _, err = cli("run", "exp.yaml", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 2 and "cwd_only_gate" in err and "refused" in err
    code, _, err = cli("run", "exp.yaml", "--quiet", "--out", "run", "--trust-module", "cwd_only_gate", cwd=tmp_path)
    assert code == 2 and "'cwd_only_gate' cannot be imported" in err
    assert not (tmp_path / "MARKER").exists()


def test_typos_in_spikey_module_names_still_say_cannot_be_imported():
    with pytest.raises(ExperimentError, match="cannot be imported.*Did you mean 'spikey.games'"):
        resolve_reference("spikey.gamez:xor_gate")
