"""Reading result folders of every kind into one tidy pandas DataFrame.

``load(path, ...)`` takes any mix of

* run folders (``spikey run`` / ``run_experiment``: ``config.json`` + ``metrics/`` parts, or an
  older version's ``metrics.*``),
* series folders (``spikey.meta.series``: ``series.json``, one run folder per configuration),
* Tune sweep folders (``spikey sweep`` / ``run_sweep``: ``results.*`` + ``best.json``, or
  Tune's own ``*/result.json`` files),
* GA folders (``spikey evolve``: ``config.json`` with ``"kind": "evolve"`` + ``members.*``),

and returns one row per measurement with

* id columns, where they apply: ``source`` (the folder as given), ``kind``
  (run | series | tune | evolve), ``run`` (one run of the network: the run
  folder's name, the series configuration, the Tune trial, or ``g<gen>-m<member>``
  for a GA member), ``config_id`` (series), ``trial_id`` (Tune), ``generation``
  and ``member`` (GA), ``seed`` and ``episode``;
* key columns: the scalar keys of each row's configuration (the experiment's own
  keys with the configuration's values over them);
* metric columns: what the runs measured (``game_reward``, ``accuracy``, ...; a
  Tune row holds the mean over the trial's seeds, a GA row a member's ``fitness``).

The frame's ``attrs`` hold the lists ``key_columns`` and ``metric_columns``;
``read_source`` gives the same per folder with its experiment and best configuration.
Every file is read as data (JSON, Parquet, CSV); a missing, truncated or corrupt
one raises a ``ConfigError`` naming the file and what to do
(``ResultFolderError``, or ``FolderFileError`` for a file of a run folder).

Examples
--------
>>> import tempfile, pathlib
>>> load(tempfile.mkdtemp())                  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spikey.analysis.load.ResultFolderError: load: '...' is not a result folder; looked for ...
"""
from __future__ import annotations

import dataclasses
import numbers
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from spikey.experiment.results import RunFolder, read_json, read_table
from spikey.module import ConfigError

KINDS = ("run", "series", "tune", "evolve")
#: Id columns in their order in the tidy frame.
ID_COLUMNS = ("source", "kind", "run", "config_id", "trial_id", "generation", "member", "seed", "episode")
#: Columns of a run's metrics that are bookkeeping, not measurements.
RUN_INDEX = ("episode", "lane", "seed")
#: Columns Tune adds to every report (not measurements of the network).
TUNE_BOOKKEEPING = ("trial_id", "trial", "training_iteration", "episode", "timestamp", "checkpoint_dir_name",
                    "done", "date", "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip",
                    "time_since_restore", "iterations_since_restore", "should_checkpoint", "experiment_tag",
                    "errored")
#: Columns of a GA members table that are not genotype keys.
GA_COLUMNS = ("generation", "member", "fitness", "age", "cached", "note")


class ResultFolderError(ConfigError):
    """A path is not a result folder of a kind ``load`` reads (names the path and what was looked for)."""


@dataclasses.dataclass
class Source:
    """One result folder as read by ``read_source``.

    Attributes: ``path``, ``kind``, ``frame`` (its tidy rows), ``key_columns``,
    ``metric_columns``, ``experiment`` (the base ``Experiment.to_dict()``, None
    when the folder does not hold one), ``best`` (the folder's own record of its best
    configuration: Tune's or the GA's ``best.json``, else None), ``varied`` (key
    columns taking more than one value).
    """

    path: Path
    kind: str
    frame: pd.DataFrame
    key_columns: list
    metric_columns: list
    experiment: dict | None = None
    best: dict | None = None

    def __post_init__(self) -> None:
        self.frame.attrs["key_columns"] = list(self.key_columns)
        self.frame.attrs["metric_columns"] = list(self.metric_columns)

    @property
    def varied(self) -> list:
        return [k for k in self.key_columns if self.frame[k].nunique(dropna=True) > 1]

    @property
    def label(self) -> str:
        return str(self.path)


def _has_table(folder: Path, name: str) -> bool:
    return (folder / f"{name}.parquet").exists() or (folder / f"{name}.csv").exists()


def _read_json(path: Path) -> dict:
    return read_json(path, advice="Restore it from a copy, or leave this folder out of the report.")


def detect_kind(path: str | os.PathLike) -> str:
    """Which kind of result folder ``path`` is: "run", "series", "tune" or "evolve".

    Raises ``ResultFolderError`` naming the path and the files looked for.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ResultFolderError(f"load: '{path}' does not exist or is not a folder; expected a run, series, "
                                f"Tune sweep or GA folder.", key="path", value=str(path), expected="a folder")
    if (folder / "series.json").exists():
        return "series"
    if (folder / "config.json").exists():
        config = _read_json(folder / "config.json")
        if isinstance(config, dict) and config.get("kind") == "evolve":
            if not _has_table(folder, "members"):
                raise ResultFolderError(f"load: '{path}' is a GA folder without members.parquet/.csv yet (no "
                                        f"generation finished).", key="path", value=str(path),
                                        expected="members.parquet or members.csv")
            return "evolve"
        if RunFolder(folder).has_metrics():
            return "run"
        raise ResultFolderError(f"load: '{path}' has config.json but no metrics (metrics/ parts or "
                                f"metrics.parquet/.csv): a run folder whose first checkpoint has not been written.",
                                key="path", value=str(path), expected="metrics/ or metrics.parquet")
    if (_has_table(folder, "results") and (folder / "best.json").exists()) or any(folder.glob("*/result.json")):
        return "tune"
    raise ResultFolderError(
        f"load: '{path}' is not a result folder; looked for series.json (series folder), config.json with "
        f"metrics.parquet/.csv (run folder), config.json with kind 'evolve' and members.parquet/.csv (GA "
        f"folder), and results.parquet/.csv with best.json or trial folders with result.json (Tune sweep "
        f"folder); found {sorted(p.name for p in folder.iterdir())[:8]}.", key="path", value=str(path),
        expected="a run, series, Tune sweep or GA folder")


def _scalar_keys(experiment: dict | None) -> dict:
    """The experiment's keys whose values fit one table cell (numbers, strings, bools)."""
    keys = (experiment or {}).get("keys", {}) or {}
    return {k: v for k, v in keys.items() if v is None or isinstance(v, (str, bool, numbers.Number))}


def _numeric_metrics(frame: pd.DataFrame, exclude: Iterable[str]) -> list:
    exclude = set(exclude)
    return [c for c in frame.columns if c not in exclude and
            (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


def _assemble(ids: dict, keys: dict, data: pd.DataFrame, key_columns: list, metrics: list) -> pd.DataFrame:
    """Id columns, then key columns (per-row values from ``data`` where present, else ``keys``), then metrics."""
    n = len(data)
    columns = {}
    for name in ID_COLUMNS:
        if name in ids:
            value = ids[name]
            columns[name] = value.to_numpy() if isinstance(value, pd.Series) else [value] * n
    for name in key_columns:
        columns[name] = data[name].to_numpy() if name in data.columns else [keys.get(name)] * n
    for name in metrics:
        values = data[name]
        columns[name] = values.astype(np.float64).to_numpy() if values.dtype == np.float32 else values.to_numpy()
    return pd.DataFrame(columns, index=range(n))


def _read_run(folder: Path, label: str) -> Source:
    config = _read_json(folder / "config.json")
    metrics = RunFolder(folder).read_metrics()
    keys = _scalar_keys(config)
    metric_columns = _numeric_metrics(metrics, RUN_INDEX)
    ids = {"source": label, "kind": "run", "run": folder.name, "seed": metrics["seed"],
           "episode": metrics["episode"]}
    frame = _assemble(ids, keys, metrics, list(keys), metric_columns)
    return Source(folder, "run", frame, list(keys), metric_columns, experiment=config)


def _read_series(folder: Path, label: str) -> Source:
    info = _read_json(folder / "series.json")
    results = read_table(folder / "results")
    if results is None:  # interrupted before the table: gather the configurations' run folders
        frames = []
        for config in info.get("configs", []):
            metrics = RunFolder(folder / config["config_id"]).read_metrics()
            if metrics is not None and len(metrics):
                frames.append(metrics.assign(config_id=config["config_id"],
                                             **{k: v for k, v in config["keys"].items()
                                                if v is None or isinstance(v, (str, bool, numbers.Number))}))
        if not frames:
            raise ResultFolderError(f"load: series folder '{label}' has no results table and no finished "
                                    f"configuration yet.", key="path", value=label, expected="results.parquet")
        results = pd.concat(frames, ignore_index=True)
    base = _scalar_keys(info.get("experiment"))
    varied = list(dict.fromkeys(k for c in info.get("configs", []) for k in c["keys"]))
    key_columns = list(dict.fromkeys([k for k in varied if k in results.columns] + list(base)))
    metric_columns = _numeric_metrics(results, set(RUN_INDEX) | {"config_id"} | set(key_columns))
    ids = {"source": label, "kind": "series", "run": results["config_id"], "config_id": results["config_id"],
           "seed": results["seed"], "episode": results["episode"]}
    frame = _assemble(ids, base, results, key_columns, metric_columns)
    return Source(folder, "series", frame, key_columns, metric_columns, experiment=info.get("experiment"))


def _read_tune(folder: Path, label: str) -> Source:
    results = read_table(folder / "results")
    if results is None or not len(results):
        from spikey.meta.tune import load_results
        results = load_results(folder)
    best = _read_json(folder / "best.json") if (folder / "best.json").exists() else None
    experiment = (best or {}).get("experiment")
    sampled = [c for c in results.columns if c.startswith("config/")]
    data = results.rename(columns={c: c[len("config/"):] for c in sampled})
    sampled = [c[len("config/"):] for c in sampled]
    base = {k: v for k, v in _scalar_keys(experiment).items() if k not in sampled}
    # best.json's experiment carries the best trial's values of the sampled keys: for the
    # other trials those come from their own config columns (base excludes them).
    key_columns = list(dict.fromkeys(sampled + list(base)))
    metric_columns = _numeric_metrics(data, set(TUNE_BOOKKEEPING) | set(sampled))
    if "episode" in data.columns:
        episode = data["episode"]
    else:
        episode = data["training_iteration"] - 1
    trial = data["trial_id"] if "trial_id" in data.columns else data["trial"]
    ids = {"source": label, "kind": "tune", "run": trial.astype(str), "trial_id": trial.astype(str),
           "episode": episode.astype("int64")}
    frame = _assemble(ids, base, data, key_columns, metric_columns)
    return Source(folder, "tune", frame, key_columns, metric_columns, experiment=experiment, best=best)


def _read_evolve(folder: Path, label: str) -> Source:
    config = _read_json(folder / "config.json")
    members = read_table(folder / "members")
    experiment = config.get("experiment")
    genotype = [c for c in members.columns if c not in GA_COLUMNS]
    base = {k: v for k, v in _scalar_keys(experiment).items() if k not in genotype}
    key_columns = list(dict.fromkeys(genotype + list(base)))
    metric_columns = [c for c in ("fitness", "age", "cached") if c in members.columns]
    generation, member = members["generation"].astype("int64"), members["member"].astype("int64")
    run = "g" + generation.map("{:03d}".format) + "-m" + member.map("{:03d}".format)
    ids = {"source": label, "kind": "evolve", "run": run, "generation": generation, "member": member}
    frame = _assemble(ids, base, members, key_columns, metric_columns)
    best = _read_json(folder / "best.json") if (folder / "best.json").exists() else None
    return Source(folder, "evolve", frame, key_columns, metric_columns, experiment=experiment, best=best)


READERS = {"run": _read_run, "series": _read_series, "tune": _read_tune, "evolve": _read_evolve}


def read_source(path: str | os.PathLike) -> Source:
    """One result folder (any kind) as a ``Source``: its tidy rows, key and metric columns, experiment."""
    kind = detect_kind(path)
    return READERS[kind](Path(path), str(path))


def _flatten(paths: tuple) -> list:
    out = []
    for path in paths:
        if isinstance(path, (list, tuple)):
            out.extend(_flatten(tuple(path)))
        else:
            out.append(path)
    return out


def combine(sources: list[Source]) -> pd.DataFrame:
    """The tidy frames of several sources as one (id, key, metric columns in that order)."""
    frames = [s.frame for s in sources]
    ids = [c for c in ID_COLUMNS if any(c in f.columns for f in frames)]
    keys = list(dict.fromkeys(k for s in sources for k in s.key_columns))
    metrics = list(dict.fromkeys(m for s in sources for m in s.metric_columns if m not in keys))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    frame = frame[ids + keys + metrics]
    frame.attrs["key_columns"] = keys
    frame.attrs["metric_columns"] = metrics
    return frame


def load(*paths: str | os.PathLike) -> pd.DataFrame:
    """Read run, series, Tune sweep and GA folders into one tidy DataFrame (see the module docstring).

    Parameters
    ----------
    *paths : path or list of paths
        Result folders of any mix of kinds.

    Returns
    -------
    pandas.DataFrame
        One row per measurement: id columns, key columns, metric columns;
        ``attrs["key_columns"]`` and ``attrs["metric_columns"]`` list the latter two.
    """
    paths = _flatten(paths)
    if not paths:
        raise ResultFolderError("load: no paths given; expected one or more result folders.", key="paths",
                                value=[], expected="result folders")
    return combine([read_source(path) for path in paths])
