"""Series: one experiment run at each of a list of key settings, over all of its seeds.

A series is the plain, exhaustive counterpart of a Tune sweep: every
configuration is run to the end over the experiment's seeds (one batched
``run_experiment`` per configuration, so the seeds of a configuration advance
together as one batch). The configurations come from a spec in one of three
forms, chosen by ``mode``:

* ``"grid"`` (default for a dict): ``{key: [values...], key2: [...]}`` -> every
  combination (the product, the last key varying fastest);
* ``"zip"``: ``{key: [...], key2: [...]}`` of equal lengths, iterated together;
* ``"list"`` (default for a list): ``[{key: value, ...}, ...]``, each dict one configuration.

Every key must be declared by the experiment's network, parts or game, and
every value must pass its Key's type and range checks; a bad spec raises a
``ConfigError`` naming the key before anything runs.

``Series.run(out_dir)`` writes a series folder::

    series.json        {"kind": "series", "experiment": ..., "spec": ..., "mode": ..., "configs": [...]}
    c000/, c001/, ...  one run folder per configuration (config.json, metrics, checkpoint, status)
    results.parquet    every metrics row of every configuration, with ``config_id`` and one
                       column per varied key (``results.csv`` without pyarrow)

Running it again resumes: configurations whose run folder is complete are
skipped, interrupted ones continue from their checkpoint.

Examples
--------
>>> import tempfile
>>> from spikey.experiment import Experiment
>>> exp = Experiment.from_dict({
...     "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
...     "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random",
...               "synapses": "MSTDPET", "readout": "Threshold", "rewarder": "MatchExpected"},
...     "keys": {"n_inputs": 4, "n_neurons": 6, "n_outputs": 1, "processing_time": 10,
...              "state_rate_map": {"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0], "1,1": [.3, .3]},
...              "potential_decay": 0.1, "max_weight": 1.0, "firing_threshold": 1.0,
...              "learning_rate": 0.01, "action_threshold": "mean",
...              "expected_value": "spikey.games:xor_gate"},
...     "seeds": 2, "n_episodes": 2, "len_episode": 3})
>>> series = Series(exp, {"learning_rate": [0.0, 0.01], "firing_threshold": [1.0, 2.0]})
>>> [c["config_id"] for c in series.configs], series.configs[1]["keys"]
(['c000', 'c001', 'c002', 'c003'], {'learning_rate': 0.0, 'firing_threshold': 2.0})
>>> results = series.run(tempfile.mkdtemp(), use_ray=False)
>>> len(results), sorted(results["config_id"].unique())      # 4 configs x 2 seeds x 2 episodes
(16, ['c000', 'c001', 'c002', 'c003'])
>>> Series(exp, {"learning_rat": [0.1]})                    # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spikey.module.UnknownKeyError: Series: unknown key 'learning_rat' in the spec... Did you mean 'learning_rate'?...
"""
from __future__ import annotations

import itertools
import json
import numbers
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from spikey.experiment.config import Experiment, coerce_value, portable
from spikey.experiment.results import RunFolder, read_table, write_json, write_table
from spikey.module import ConfigError, UnknownKeyError, suggest

MODES = ("grid", "zip", "list")


def _scalar(value: Any) -> Any:
    """A plain Python scalar for numpy scalars (JSON and pandas columns stay simple)."""
    return value.item() if isinstance(value, np.generic) else value


class Series:
    """An experiment at each configuration of a spec (see the module docstring).

    Parameters
    ----------
    experiment : Experiment or path
        The base experiment (an ``Experiment`` or a YAML/JSON config file);
        each configuration replaces some of its ``keys``.
    spec : dict or list of dict
        ``{key: [values...]}`` (grid or zip) or ``[{key: value}, ...]`` (list).
    mode : {"grid", "zip", "list"}, optional
        How to read ``spec``; default "grid" for a dict, "list" for a list.

    Attributes
    ----------
    configs : list of dict
        ``{"config_id": "c000", "keys": {key: value}}`` per configuration, in run order.
    varied : list of str
        The keys the spec sets (columns of the results table).
    """

    def __init__(self, experiment: Experiment | str | os.PathLike, spec: dict | Sequence[dict],
                 mode: str | None = None):
        if not isinstance(experiment, Experiment):
            experiment = Experiment.from_file(experiment)
        self.experiment = experiment
        if mode is None:
            mode = "list" if isinstance(spec, (list, tuple)) else "grid"
        if mode not in MODES:
            raise ConfigError(f"Series: mode = {mode!r}; expected one of {list(MODES)}.", key="mode",
                              part="Series", value=mode, expected=str(list(MODES)))
        self.mode = mode
        self.spec = spec
        combos = self._expand(spec, mode)
        self.varied = list(dict.fromkeys(name for combo in combos for name in combo))
        self._validate(combos)
        self.configs = [{"config_id": f"c{i:03d}", "keys": combo} for i, combo in enumerate(combos)]
        self.results: pd.DataFrame | None = None
        self.out_dir: Path | None = None

    # -- spec -------------------------------------------------------------------------------------
    @staticmethod
    def _expand(spec: Any, mode: str) -> list[dict]:
        if mode == "list":
            if not isinstance(spec, (list, tuple)) or not spec:
                raise ConfigError(f"Series: mode 'list' needs a non-empty list of key dicts; got {spec!r}.",
                                  key="spec", part="Series", value=spec, expected="[{key: value}, ...]")
            for i, entry in enumerate(spec):
                if not isinstance(entry, dict):
                    raise ConfigError(f"Series: spec[{i}] = {entry!r}; expected a dict of key values.",
                                      key=f"spec[{i}]", part="Series", value=entry, expected="dict")
            return [{k: _scalar(v) for k, v in entry.items()} for entry in spec]
        if not isinstance(spec, dict) or not spec:
            raise ConfigError(f"Series: mode {mode!r} needs a non-empty dict {{key: [values...]}}; got {spec!r}.",
                              key="spec", part="Series", value=spec, expected="{key: [values...]}")
        columns = {}
        for name, values in spec.items():
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
                raise ConfigError(f"Series: key '{name}' = {values!r}; expected a list of values to try.",
                                  key=name, part="Series", value=values, expected="a list of values")
            values = [_scalar(v) for v in values]
            if not values:
                raise ConfigError(f"Series: key '{name}' has an empty list of values; give at least one.",
                                  key=name, part="Series", value=values, expected="a non-empty list")
            columns[name] = values
        names = list(columns)
        if mode == "grid":
            return [dict(zip(names, combo)) for combo in itertools.product(*columns.values())]
        lengths = {name: len(values) for name, values in columns.items()}
        first = names[0]
        for name in names[1:]:
            if lengths[name] != lengths[first]:
                raise ConfigError(f"Series: mode 'zip' needs lists of equal length, but key '{name}' has "
                                  f"{lengths[name]} values and '{first}' has {lengths[first]}.", key=name,
                                  part="Series", value=columns[name], expected=f"{lengths[first]} values")
        return [dict(zip(names, combo)) for combo in zip(*columns.values())]

    def _validate(self, combos: list[dict]) -> None:
        """Every key declared and every value accepted by its Key (type, range, choices)."""
        declared = self.experiment.declared_keys()
        for name in self.varied:
            if name not in declared:
                plain = [k for k in declared if "." not in k]
                raise UnknownKeyError(f"Series: unknown key '{name}' in the spec: the experiment's network, "
                                      f"parts and game do not declare it.{suggest(name, plain)} `spikey keys` "
                                      f"lists every key.", key=name, part="Series", value=None,
                                      expected="a declared key")
        batch = len(self.experiment.seeds)
        for combo in combos:
            for name, value in combo.items():
                key = declared[name]
                key.validate(coerce_value(name, value, key, self.experiment.base_dir,
                                          self.experiment.trusted_modules), "Series", batch)

    def experiment_of(self, config_id: str) -> Experiment:
        """The experiment of one configuration (its keys applied, named ``<name>-<config_id>``)."""
        for config in self.configs:
            if config["config_id"] == config_id:
                return self.experiment.with_keys(config["keys"]).replace(
                    name=f"{self.experiment.name}-{config_id}")
        raise KeyError(f"Series: no configuration '{config_id}'; known: {[c['config_id'] for c in self.configs]}.")

    def config_frame(self) -> pd.DataFrame:
        """One row per configuration: ``config_id`` and the varied keys (the base value where a
        list-mode entry leaves a key out)."""
        base = self.experiment.keys
        rows = [{"config_id": c["config_id"], **{k: _cell(c["keys"].get(k, base.get(k))) for k in self.varied}}
                for c in self.configs]
        return pd.DataFrame(rows, columns=["config_id"] + self.varied)

    def to_dict(self) -> dict:
        """The ``series.json`` contents."""
        spec = [dict(entry) for entry in self.spec] if self.mode == "list" else \
            {k: list(v) for k, v in self.spec.items()}
        return {"kind": "series", "experiment": self.experiment.to_dict(), "spec": portable(spec),
                "mode": self.mode, "configs": [{"config_id": c["config_id"], "keys": portable(c["keys"])}
                                               for c in self.configs]}

    # -- running ----------------------------------------------------------------------------------
    def run(self, out_dir: str | os.PathLike, *, use_ray: bool = True, address: str | None = None,
            progress: bool = False) -> pd.DataFrame:
        """Run every configuration over all seeds into ``out_dir``; returns the results table.

        Parameters
        ----------
        out_dir : path
            The series folder (created; an existing one of the same series resumes).
        use_ray : bool
            One Ray task (1 CPU) per configuration, on the running Ray instance or a
            new local one (``address`` attaches to a cluster); False runs them here, one by one.
        progress : bool
            Print a line per finished configuration.

        Returns
        -------
        pandas.DataFrame
            One row per configuration, seed and episode: ``config_id``, the varied keys,
            then the run's metric columns (``episode``, ``lane``, ``seed``, ``game_reward``, ...).
        """
        out = Path(out_dir).absolute()
        out.mkdir(parents=True, exist_ok=True)
        self._check_folder(out)
        write_json(out / "series.json", self.to_dict())
        todo = [c["config_id"] for c in self.configs
                if not RunFolder(out / c["config_id"]).read_status().get("complete")]
        if progress:
            print(f"Series: {len(self.configs)} configurations, {len(self.configs) - len(todo)} done already; "
                  f"running {len(todo)} ({'Ray' if use_ray else 'here'}) into {out}", flush=True)
        if todo and use_ray:
            import ray
            if not ray.is_initialized():
                from spikey.meta.cluster import local_ray_environment
                if address is None:
                    local_ray_environment()
                ray.init(address=address, log_to_driver=progress)
            task = ray.remote(num_cpus=1)(_run_config)
            pending = {task.remote(self.experiment_of(cid), str(out / cid)): cid for cid in todo}
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                ray.get(finished[0])  # re-raises a failed configuration's error
                cid = pending.pop(finished[0])
                if progress:
                    print(f"Series: {cid} done", flush=True)
        else:
            for cid in todo:
                _run_config(self.experiment_of(cid), str(out / cid))
                if progress:
                    print(f"Series: {cid} done", flush=True)
        self.results = self._collect(out)
        self.out_dir = out
        write_table(out / "results", self.results)
        return self.results

    def _check_folder(self, out: Path) -> None:
        path = out / "series.json"
        if not path.exists():
            return
        old = json.loads(path.read_text())
        new = json.loads(json.dumps(self.to_dict(), default=str))
        if old.get("configs") != new["configs"]:
            raise ConfigError(f"Series: {out} holds a different series (its configurations differ); choose a "
                              f"new folder.", key="out_dir", part="Series", value=str(out),
                              expected="a new folder or one of the same series")

    def _collect(self, out: Path) -> pd.DataFrame:
        configs = self.config_frame()
        frames = []
        for row in configs.to_dict("records"):
            metrics = RunFolder(out / row["config_id"]).read_metrics()
            if metrics is None or not len(metrics):
                continue
            ids = pd.DataFrame({name: [value] * len(metrics) for name, value in row.items()})
            frames.append(pd.concat([ids, metrics.reset_index(drop=True)], axis=1))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(configs.columns))

    def to_frame(self) -> pd.DataFrame:
        """The results of the last ``run`` (one row per configuration, seed and episode)."""
        if self.results is None:
            raise RuntimeError("Series.to_frame: the series has not been run; call run(out_dir) first, or read "
                               "a finished series folder with spikey.analysis.load(out_dir).")
        return self.results


def _cell(value: Any) -> Any:
    """A table cell: scalars as they are, anything else as its JSON text."""
    if value is None or isinstance(value, (str, bool, numbers.Number)):
        return _scalar(value)
    return json.dumps(portable(value))


def _run_config(experiment: Experiment, run_dir: str) -> int:
    """Run (or resume) one configuration into its run folder; returns the number of metric rows."""
    from spikey.experiment.run import run_experiment
    return len(run_experiment(experiment, run_dir, progress=False))


def load_series(out_dir: str | os.PathLike) -> tuple[dict, pd.DataFrame | None]:
    """``series.json`` and the results table of a series folder."""
    out = Path(out_dir)
    return json.loads((out / "series.json").read_text()), read_table(out / "results")
