"""Run folders: config, per-episode metrics and checkpoints, each written atomically.

A run folder holds::

    config.json       the Experiment (``Experiment.to_dict()``), readable by ``Experiment.from_dict``
    metrics.parquet   one row per (episode, lane); ``metrics.csv`` where pyarrow is missing
    checkpoint.pkl    network and game state of every shard, the next episode and the metrics so far
    status.json       episodes done, whether the run is complete, workers, wall time

Every file is written to a temporary name in the same folder and moved into
place with ``os.replace``, so a crash leaves the previous version, never half
a file. The checkpoint is the authority: a resumed run restarts from its
``next_episode`` with its metrics, so each episode is recorded exactly once.

Examples
--------
>>> import tempfile, pandas as pd
>>> folder = RunFolder(tempfile.mkdtemp())
>>> folder.write_metrics(pd.DataFrame({"episode": [0, 1], "reward": [0.5, 1.0]})).name
'metrics.parquet'
>>> folder.read_metrics()["reward"].tolist()
[0.5, 1.0]
"""
from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CHECKPOINT_FORMAT = 1


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, value: Any) -> None:
    atomic_write(path, (json.dumps(value, indent=2, default=_json_default) + "\n").encode())


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


def write_table(path_without_suffix: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """``frame`` as ``<path>.parquet`` (or ``<path>.csv`` without pyarrow); returns the path written."""
    base = Path(path_without_suffix)
    buffer = io.BytesIO()
    if _has_parquet():
        path = base.with_suffix(".parquet")
        frame.to_parquet(buffer, index=False)
    else:
        path = base.with_suffix(".csv")
        frame.to_csv(buffer, index=False)
    atomic_write(path, buffer.getvalue())
    return path


def read_table(path_without_suffix: str | os.PathLike) -> pd.DataFrame | None:
    """The table ``write_table`` wrote (parquet first, then CSV); None if neither exists."""
    base = Path(path_without_suffix)
    if base.with_suffix(".parquet").exists():
        return pd.read_parquet(base.with_suffix(".parquet"))
    if base.with_suffix(".csv").exists():
        return pd.read_csv(base.with_suffix(".csv"))
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
    dropping callables makes checkpoints picklable and loadable anywhere.
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
        return self.path / "checkpoint.pkl"

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", config)

    def read_config(self) -> dict | None:
        path = self.path / "config.json"
        return json.loads(path.read_text()) if path.exists() else None

    def write_metrics(self, frame: pd.DataFrame) -> Path:
        return write_table(self.path / "metrics", frame)

    def read_metrics(self) -> pd.DataFrame | None:
        return read_table(self.path / "metrics")

    def write_status(self, **status: Any) -> None:
        write_json(self.path / "status.json", status)

    def read_status(self) -> dict:
        path = self.path / "status.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_checkpoint(self, next_episode: int, shards: list[dict]) -> None:
        """Atomically store every shard's state (``ShardRunner.state()``) as of ``next_episode``."""
        payload = {"format": CHECKPOINT_FORMAT, "next_episode": int(next_episode), "shards": shards}
        atomic_write(self.checkpoint_path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))

    def read_checkpoint(self) -> dict | None:
        if not self.checkpoint_path.exists():
            return None
        with open(self.checkpoint_path, "rb") as file:
            return pickle.load(file)

    def load_experiment(self):
        """The Experiment in ``config.json``."""
        from spikey.experiment.config import Experiment
        config = self.read_config()
        if config is None:
            raise FileNotFoundError(f"{self.path} has no config.json: not a run folder.")
        return Experiment.from_dict(config)


def shard_file_name(rank: int) -> str:
    """File name of worker ``rank``'s state inside a Ray Train checkpoint directory."""
    return f"shard-{rank:04d}.pkl"


def dump_shard(directory: str | os.PathLike, rank: int, state: dict) -> Path:
    path = Path(directory) / shard_file_name(rank)
    atomic_write(path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def load_shards(directory: str | os.PathLike) -> list[dict]:
    """Every shard state in a checkpoint directory, by rank."""
    out = []
    for path in sorted(Path(directory).glob("shard-*.pkl")):
        with open(path, "rb") as file:
            out.append(pickle.load(file))
    return out


def merge_metrics(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Shards' metrics as one table sorted by episode and lane."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["episode", "lane"], kind="stable") \
        .reset_index(drop=True)
