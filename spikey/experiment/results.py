"""Run folders: config, per-episode metrics and checkpoints, each written atomically, all data.

A run folder holds::

    config.json       the Experiment (``Experiment.to_dict()``), readable by ``Experiment.from_dict``
    metrics/          the per-episode metrics, one row per (episode, lane), in append-only parts:
                      ``part-<first episode>-<last episode>-<first lane>.parquet`` (``.csv`` where
                      pyarrow is missing), one per checkpoint interval and shard; read them merged
                      with ``RunFolder.read_metrics`` (or ``spikey.analysis.load``)
    checkpoint.npz    network and game state of every shard as of its ``next_episode``, with the rows
                      played since the previous checkpoint (a state file: ``spikey.experiment.state_file``)
    status.json       episodes done, whether the run is complete, workers, wall time

Every file is written to a temporary name in the same folder and moved into
place with ``os.replace``, so a crash leaves the previous version, never half
a file. The checkpoint is the authority: it is written before the metrics part
of its interval, a resumed run restarts from its ``next_episode`` and rewrites
that part from the rows it holds, so each episode is recorded exactly once.
Each checkpoint costs the state plus the interval's rows, however long the run.

Folders of older versions hold ``metrics.parquet`` (read along with the parts)
and ``checkpoint.pkl`` (a pickle: refused unless the user trusts it, see
``RunFolder.read_checkpoint``; a trusted one is rewritten as data on resume).

Examples
--------
>>> import tempfile, pandas as pd
>>> folder = RunFolder(tempfile.mkdtemp())
>>> folder.append_metrics(pd.DataFrame({"episode": [0, 1], "lane": [0, 0], "reward": [0.5, 1.0]})).name
'part-000000-000001-0000.parquet'
>>> folder.read_metrics()["reward"].tolist()
[0.5, 1.0]
"""
from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikey.experiment.state_file import (DISK_FULL, DiskFullError, FolderFileError, StateFileError, load_pickle,
                                          read_state, write_state)

#: What ``checkpoint.npz`` holds (``state_file`` kind); its layout version is the state file's.
CHECKPOINT_KIND = "run-checkpoint"
SHARD_KIND = "shard"
#: How a user passes trust in an old pickle file (named in the refusal).
TRUST_RUN = "pass --trust-pickle (spikey run <folder> --trust-pickle; trust_pickle=True in Python)"
#: Consecutive metrics parts of equal length merged into one (``RunFolder.append_metrics``).
MERGE_PARTS = 16
_PART = re.compile(r"^part-(\d+)-(\d+)-(\d+)\.(parquet|csv)$")


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A full device (ENOSPC, EDQUOT) raises ``DiskFullError`` naming the folder; the
    previous version of the file, and every other file, is left as it was.
    """
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            raise DiskFullError(f"no space left on the device of {path.parent} ({os.strerror(error.errno)}) while "
                                f"writing {path.name}; the folder's earlier files are intact. Free some space "
                                f"and run the same command again to continue.", key=str(path.parent),
                                value=path.name, expected="free space") from error
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, value: Any) -> None:
    atomic_write(path, (json.dumps(value, indent=2, default=_json_default) + "\n").encode())


def read_json(path: str | os.PathLike, *, advice: str = "Restore it from a copy.") -> Any:
    """The JSON in ``path``; ``FolderFileError`` naming the file (and ``advice``) when it cannot be read."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise FolderFileError(f"{path} is missing. {advice}", key=str(path), value=None,
                              expected="a JSON file") from error
    except (OSError, ValueError) as error:
        raise FolderFileError(f"{path} cannot be read: it is truncated or corrupt ({type(error).__name__}: "
                              f"{error}). {advice}", key=str(path), value=type(error).__name__,
                              expected="a JSON file") from error


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


def _has_parquet() -> bool:
    try:
        import pyarrow  # noqa: F401
        return True
    except ImportError:
        return False


def table_bytes(frame: pd.DataFrame) -> tuple[bytes, str]:
    """``(bytes, form)``: ``frame`` as Parquet (``form`` "parquet"), or CSV without pyarrow."""
    buffer = io.BytesIO()
    if _has_parquet():
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue(), "parquet"
    frame.to_csv(buffer, index=False)
    return buffer.getvalue(), "csv"


def table_from_bytes(data: bytes, form: str) -> pd.DataFrame:
    """The table ``table_bytes`` made."""
    return pd.read_parquet(io.BytesIO(data)) if form == "parquet" else pd.read_csv(io.BytesIO(data))


def write_table(path_without_suffix: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """``frame`` as ``<path>.parquet`` (or ``<path>.csv`` without pyarrow); returns the path written."""
    data, form = table_bytes(frame)
    path = Path(path_without_suffix).with_suffix("." + form)
    atomic_write(path, data)
    return path


def read_table_file(path: str | os.PathLike, *, advice: str = "Restore it from a copy.") -> pd.DataFrame:
    """One Parquet or CSV table; ``FolderFileError`` naming the file when it is truncated or corrupt."""
    path = Path(path)
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError as error:
        raise FolderFileError(f"{path} is missing. {advice}", key=str(path), value=None,
                              expected="a table") from error
    except Exception as error:  # pyarrow and pandas raise many kinds for a damaged file
        raise FolderFileError(f"{path} cannot be read: it is truncated or corrupt ({type(error).__name__}: "
                              f"{error}). {advice}", key=str(path), value=type(error).__name__,
                              expected="a Parquet or CSV table") from error


def read_table(path_without_suffix: str | os.PathLike) -> pd.DataFrame | None:
    """The table ``write_table`` wrote (parquet first, then CSV); None if neither exists."""
    base = Path(path_without_suffix)
    for suffix in (".parquet", ".csv"):
        if base.with_suffix(suffix).exists():
            return read_table_file(base.with_suffix(suffix))
    return None


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype != object
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


def plain_state(state: Any) -> Any:
    """A state dict without non-data key values (functions, objects) under ``"params"`` entries.

    Key values come back from the configuration when the network is rebuilt;
    dropping callables leaves data only, which a state file stores (``state_file``).
    """
    if isinstance(state, dict):
        out = {}
        for name, value in state.items():
            if name == "params" and isinstance(value, dict):
                out[name] = {k: v for k, v in value.items() if _is_plain(v)}
            else:
                out[name] = plain_state(value)
        return out
    return state


def game_state(game: Any) -> dict | None:
    """What a game needs to continue exactly: its ``state_dict()`` or its lanes' RNG states."""
    if hasattr(game, "state_dict"):
        return {"kind": "state_dict", "state": game.state_dict()}
    if hasattr(game, "rngs"):
        return {"kind": "rngs", "state": [rng.bit_generator.state for rng in game.rngs]}
    return None


def load_game_state(game: Any, state: dict | None) -> None:
    if state is None:
        return
    if state["kind"] == "state_dict":
        game.load_state_dict(state["state"])
    elif state["kind"] == "rngs":
        if len(state["state"]) != len(game.rngs):
            raise ValueError(f"checkpoint has {len(state['state'])} game lanes; the game has {len(game.rngs)}.")
        for rng, rng_state in zip(game.rngs, state["state"]):
            rng.bit_generator.state = rng_state


class RunFolder:
    """The files of one run (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).absolute()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.npz"

    @property
    def legacy_checkpoint_path(self) -> Path:
        """Where older versions kept the checkpoint (a pickle)."""
        return self.path / "checkpoint.pkl"

    @property
    def metrics_dir(self) -> Path:
        return self.path / "metrics"

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", config)

    def read_config(self) -> dict | None:
        """``config.json`` (None when the folder has none); ``FolderFileError`` when it is damaged."""
        path = self.path / "config.json"
        if not path.exists():
            return None
        config = read_json(path, advice="It describes the run; restore it from a copy, or start a new folder.")
        if not isinstance(config, dict):
            raise FolderFileError(f"{path} holds a {type(config).__name__}, not an experiment; restore it from a "
                                  f"copy, or start a new folder.", key=str(path), value=type(config).__name__,
                                  expected="a JSON object")
        return config

    # -- metrics: append-only parts -----------------------------------------------------------------
    def append_metrics(self, rows: pd.DataFrame | None) -> Path | None:
        """Write ``rows`` (one shard's episodes since its previous checkpoint) as a new part; returns its path.

        The part's name holds its first and last episode and first lane, so writing
        the same rows again (a resumed run restoring its last interval) replaces it.
        Every ``MERGE_PARTS`` consecutive parts of equal length are merged into one
        (as a counter carries), so a shard keeps few files, and each row is rewritten
        about log_16(episodes) times in all: a checkpoint costs O(new rows) on average.
        """
        if rows is None or not len(rows):
            return None
        lane = int(rows["lane"].min())
        name = f"part-{int(rows['episode'].min()):06d}-{int(rows['episode'].max()):06d}-{lane:04d}"
        path = write_table(self.metrics_dir / name, rows.reset_index(drop=True))
        while True:
            tail = [p for p in self.metric_parts() if p[2] == lane][-MERGE_PARTS:]
            if len(tail) < MERGE_PARTS or len({last - first for first, last, _, _ in tail}) > 1 \
                    or any(b[0] != a[1] + 1 for a, b in zip(tail, tail[1:])):
                return path
            merged = self._read_parts([p[-1] for p in tail])
            path = write_table(self.metrics_dir / f"part-{tail[0][0]:06d}-{tail[-1][1]:06d}-{lane:04d}", merged)
            for *_, old in tail:  # after the merged part exists (metric_parts prefers it meanwhile)
                old.unlink()

    def metric_parts(self) -> list[tuple[int, int, int, Path]]:
        """``(first episode, last episode, first lane, path)`` of every metrics part, in that order.

        A part whose episodes lie inside a larger part of the same lanes is left out:
        it is what ``compact_metrics`` merged, left behind by a crash before its removal.
        """
        if not self.metrics_dir.is_dir():
            return []
        parts = []
        for path in self.metrics_dir.iterdir():
            match = _PART.match(path.name)
            if match:
                parts.append((int(match[1]), int(match[2]), int(match[3]), path))
        return sorted(p for p in parts if not any(q[2] == p[2] and q[0] <= p[0] and p[1] <= q[1] and q[:2] != p[:2]
                                                  for q in parts))

    def compact_metrics(self) -> None:
        """Merge each shard's parts into one (at the end of a run: reports then read one file per shard).

        The merged part is written before the parts it replaces are removed; until then
        ``metric_parts`` already prefers it, so a crash in between loses nothing.
        """
        groups: dict[int, list] = {}
        for part in self.metric_parts():
            groups.setdefault(part[2], []).append(part)
        for parts in groups.values():
            if len(parts) > 1:
                self.append_metrics(self._read_parts([p[-1] for p in parts]))
        if self.metrics_dir.is_dir():
            kept = {p[-1] for p in self.metric_parts()}
            for path in self.metrics_dir.iterdir():
                if _PART.match(path.name) and path not in kept:
                    path.unlink()

    def _read_parts(self, paths: list[Path]) -> pd.DataFrame:
        """Tables merged and sorted by episode and lane; ``FolderFileError`` naming a damaged one."""
        advice = ("The rows in it cannot be recovered from the folder: restore the file from a copy, or run the "
                  "experiment again in a new folder.")
        if len(paths) > 1 and _has_parquet() and all(p.suffix == ".parquet" for p in paths):
            import pyarrow as pa
            import pyarrow.parquet as pq
            tables = []
            for path in paths:  # one pandas conversion for all parts: ~5x faster than one per part
                try:
                    tables.append(pq.read_table(path, use_threads=False))
                except Exception as error:
                    read_table_file(path, advice=advice)  # names the file and the error
                    raise
            frame = pa.concat_tables(tables, promote_options="default").to_pandas(use_threads=False)
        else:
            frame = pd.concat([read_table_file(path, advice=advice) for path in paths], ignore_index=True)
        if {"episode", "lane"} <= set(frame.columns):
            frame = frame.sort_values(["episode", "lane"], kind="stable").reset_index(drop=True)
        return frame

    def _legacy_metrics(self) -> Path | None:
        for suffix in (".parquet", ".csv"):
            if (self.path / f"metrics{suffix}").exists():
                return self.path / f"metrics{suffix}"
        return None

    def has_metrics(self) -> bool:
        return self._legacy_metrics() is not None or bool(self.metric_parts())

    def read_metrics(self) -> pd.DataFrame | None:
        """Every metrics row of the run (parts merged, and an older version's ``metrics.parquet``),
        sorted by episode and lane; None if the run has none yet."""
        paths = ([self._legacy_metrics()] if self._legacy_metrics() else []) + [p[-1] for p in self.metric_parts()]
        if not paths:
            return None
        metrics = self._read_parts(paths)
        if {"episode", "lane"} <= set(metrics.columns):
            twice = metrics.duplicated(["episode", "lane"])
            if twice.any():
                episode, lane = metrics.loc[twice, ["episode", "lane"]].iloc[0]
                raise FolderFileError(f"{self.metrics_dir} records episode {episode} of lane {lane} more than once "
                                      f"({int(twice.sum())} repeated rows) across {len(paths)} files; remove the "
                                      f"parts that do not belong to this run.", key=str(self.metrics_dir),
                                      value=int(twice.sum()), expected="each (episode, lane) once")
        return metrics

    def prune_metrics(self, from_episode: int, lane: int | None = None) -> None:
        """Delete the parts from ``from_episode`` on (of the shard starting at ``lane``): a resumed run
        plays those episodes again."""
        for first, _, first_lane, path in self.metric_parts():
            if first >= from_episode and (lane is None or first_lane == lane):
                path.unlink()

    def restore_rows(self, shard: dict) -> None:
        """Make the parts of ``shard``'s lanes match its checkpoint: drop later parts, rewrite its rows."""
        self.prune_metrics(int(shard["next_episode"]), int(shard["lanes"][0]))
        self.append_metrics(shard.get("rows"))

    # -- status ---------------------------------------------------------------------------------------
    def write_status(self, **status: Any) -> None:
        write_json(self.path / "status.json", status)

    def read_status(self) -> dict:
        """``status.json`` ({} when missing); ``FolderFileError`` when it is damaged."""
        path = self.path / "status.json"
        if not path.exists():
            return {}
        status = read_json(path, advice="Delete status.json: running the folder again writes it anew from "
                                        "the checkpoint.")
        if not isinstance(status, dict):
            raise FolderFileError(f"{path} holds a {type(status).__name__}, not a status; delete it: running the "
                                  f"folder again writes it anew.", key=str(path), value=type(status).__name__,
                                  expected="a JSON object")
        return status

    # -- checkpoint -----------------------------------------------------------------------------------
    def write_checkpoint(self, next_episode: int, shards: list[dict]) -> None:
        """Atomically store every shard's state (``ShardRunner.state()``) as of ``next_episode``."""
        write_state(self.checkpoint_path, {"next_episode": int(next_episode), "shards": shards},
                    kind=CHECKPOINT_KIND)
        if self.legacy_checkpoint_path.exists():  # replaced by the data file just written
            self.legacy_checkpoint_path.unlink()

    def read_checkpoint(self, *, trust_pickle: bool = False) -> dict | None:
        """The checkpoint (None if the folder has none): ``{"next_episode", "shards", "legacy"}``.

        ``checkpoint.npz`` loads as data. An older version's ``checkpoint.pkl`` is
        refused (``UnsafeFileError``) unless ``trust_pickle``; ``"legacy"`` is then
        True and ``migrate`` rewrites the folder in the current format.
        """
        advice = ("It holds the run's state: restore it from a copy, or start a new folder (the metrics so "
                  "far stay readable).")
        if self.checkpoint_path.exists():
            checkpoint = read_state(self.checkpoint_path, kind=CHECKPOINT_KIND, advice=advice)
            if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("shards"), list) \
                    or not isinstance(checkpoint.get("next_episode"), int):
                raise StateFileError(f"{self.checkpoint_path} cannot be read: it lacks next_episode or shards. "
                                     f"{advice}", key=str(self.checkpoint_path), value=None,
                                     expected="a run checkpoint")
            return {**checkpoint, "legacy": False}
        if self.legacy_checkpoint_path.exists():
            payload = load_pickle(self.legacy_checkpoint_path, trust_pickle=trust_pickle,
                                  new_name="checkpoint.npz", how=TRUST_RUN)
            try:
                return {"next_episode": int(payload["next_episode"]), "legacy": True,
                        "shards": [legacy_shard(s) for s in payload["shards"]]}
            except (TypeError, KeyError, ValueError) as error:
                raise StateFileError(f"{self.legacy_checkpoint_path} cannot be read: it is not a run checkpoint "
                                     f"({type(error).__name__}: {error}). {advice}",
                                     key=str(self.legacy_checkpoint_path), value=None,
                                     expected="a run checkpoint") from error
        return None

    def migrate(self, checkpoint: dict) -> None:
        """Rewrite a folder of an older version (``checkpoint["legacy"]``) in the current format: its rows as
        metrics parts (replacing ``metrics.parquet``), its state as ``checkpoint.npz`` (replacing the pickle)."""
        for shard in checkpoint["shards"]:
            self.restore_rows(shard)
        legacy = self._legacy_metrics()
        if legacy is not None:
            legacy.unlink()  # the checkpoint's rows (now parts) are the authority, as they were
        self.write_checkpoint(checkpoint["next_episode"], checkpoint["shards"])
        checkpoint["legacy"] = False

    def load_experiment(self):
        """The Experiment in ``config.json``."""
        from spikey.experiment.config import Experiment
        config = self.read_config()
        if config is None:
            raise FolderFileError(f"{self.path} has no config.json: not a run folder.", key=str(self.path),
                                  value=None, expected="a run folder")
        return Experiment.from_dict(config)


def legacy_shard(shard: dict) -> dict:
    """A shard state of an older version (all metrics so far under ``"metrics"``) in the current layout
    (``"rows"``: the rows not yet in the folder's parts, here all of them before ``next_episode``)."""
    shard = dict(shard)
    metrics = shard.pop("metrics", None)
    if metrics is not None and len(metrics):
        metrics = metrics[metrics["episode"] < int(shard["next_episode"])].reset_index(drop=True)
    shard["rows"] = metrics if metrics is not None and len(metrics) else None
    return shard


def shard_file_name(rank: int) -> str:
    """File name of worker ``rank``'s state inside a Ray Train checkpoint directory."""
    return f"shard-{rank:04d}.npz"


def dump_shard(directory: str | os.PathLike, rank: int, state: dict) -> Path:
    """Write one shard's state (``ShardRunner.state()``) into a checkpoint directory, as a state file."""
    return write_state(Path(directory) / shard_file_name(rank), state, kind=SHARD_KIND)


def load_shards(directory: str | os.PathLike, *, trust_pickle: bool = False) -> list[dict]:
    """Every shard state in a checkpoint directory, by rank (an older version's ``shard-*.pkl`` only
    when ``trust_pickle``)."""
    directory = Path(directory)
    paths = sorted(directory.glob("shard-*.npz"))
    if paths:
        return [read_state(path, kind=SHARD_KIND, advice="The checkpoint is damaged: resume from an earlier "
                                                        "one, or start a new folder.") for path in paths]
    return [legacy_shard(load_pickle(path, trust_pickle=trust_pickle, new_name=shard_file_name(0), how=TRUST_RUN))
            for path in sorted(directory.glob("shard-*.pkl"))]


def merge_metrics(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Shards' metrics as one table sorted by episode and lane."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["episode", "lane"], kind="stable") \
        .reset_index(drop=True)
