"""State files: nested state stored as data, loaded without executing anything.

A state file (``checkpoint.npz`` of a run folder, ``shard-0000.npz`` of a Ray
checkpoint, ``population.npz`` of a GA folder) is one ``.npz`` archive holding

* ``__tree__``: UTF-8 JSON ``{"format": "spikey-state", "version", "kind", "state"}``,
  where ``state`` is the value's tree: dicts, lists, str, int (any size), float,
  bool and None as JSON, and tagged nodes ``{"$t": ...}`` for what JSON lacks
  (tuples, dicts with other than str keys, non-finite floats, numpy scalars,
  numpy arrays and pandas tables, the last two by reference to another member);
* ``a0``, ``a1``, ...: the numpy arrays (any non-object dtype), and pandas
  tables as Parquet bytes (CSV where pyarrow is missing).

Loading uses ``numpy.load(..., allow_pickle=False)`` and ``json``: no pickle,
no imports, no calls. Writing refuses anything else (functions, objects, object
arrays) with a ``StateFileError`` naming where in the state it sits, so nothing
is silently pickled. Every value comes back exactly (same types, dtypes, bits),
which keeps resumed runs bit-exact.

Run and GA folders written by older versions hold pickles (``checkpoint.pkl``,
``population.pkl``); ``load_pickle`` opens one only when the user says they
trust it (``--trust-pickle``), since unpickling can run arbitrary code.

Examples
--------
>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
>>> _ = write_state(path, {"w": np.eye(2, dtype=np.float32), "step": (3, np.int64(4)), 7: float("nan")}, kind="demo")
>>> state = read_state(path, kind="demo")
>>> state["w"].dtype, state["step"], state[7]
(dtype('float32'), (3, np.int64(4)), nan)
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikey.module import ConfigError

#: Marker and version of the state-file layout; a file of a newer version is refused, naming both.
FORMAT = "spikey-state"
VERSION = 1
TREE = "__tree__"
_TAG = "$t"
#: errno values meaning the device has no room left.
DISK_FULL = tuple(code for code in (getattr(errno, "ENOSPC", None), getattr(errno, "EDQUOT", None)) if code)


class FolderFileError(ConfigError):
    """A file of a run or GA folder is missing, truncated, corrupt, from another version, unsafe
    to open, or cannot be written. ``key`` is the file's path; the message says what to do."""


class StateFileError(FolderFileError):
    """A state file cannot be written (a value that is not data) or read (damaged, foreign, newer)."""


class UnsafeFileError(FolderFileError):
    """A file in the old pickle format, refused because unpickling can run code (see ``load_pickle``)."""


class DiskFullError(FolderFileError, OSError):
    """The device holding a folder ran out of space (or quota) while a file was written."""


# -- encoding ---------------------------------------------------------------------------------------
def _scalar_node(value: np.generic) -> dict | None:
    kind = value.dtype.kind
    if kind == "b":
        return {_TAG: "scalar", "dtype": value.dtype.str, "v": bool(value)}
    if kind in "iu":
        return {_TAG: "scalar", "dtype": value.dtype.str, "v": int(value)}
    if kind == "f" and value.dtype.itemsize <= 8:  # float64 holds float16/32 values exactly
        return {_TAG: "scalar", "dtype": value.dtype.str, "v": _float_node(float(value))}
    return None  # other kinds go to the archive as 0-d arrays


def _float_node(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {_TAG: "float", "v": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


class _Encoder:
    def __init__(self, path: Path):
        self.path = path
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, array: np.ndarray) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def fail(self, where: str, value: Any, why: str) -> None:
        raise StateFileError(f"cannot write {self.path.name}: the value at {where or 'the top'} is "
                             f"{type(value).__module__}.{type(value).__qualname__}, {why}. State files hold "
                             f"data only (dict, list, tuple, str, int, float, bool, None, numpy arrays and "
                             f"scalars, pandas tables); leave it out of the state or store it as one of those.",
                             key=str(self.path), value=where, expected="data")

    def encode(self, value: Any, where: str) -> Any:
        if isinstance(value, np.generic):  # before str/float: np.str_ and np.float64 subclass them
            node = _scalar_node(value)
            if node is not None:
                return node
            return {_TAG: "scalar0d", "ref": self.add(self.array(np.asarray(value), value, where))}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return _float_node(float(value))
        if isinstance(value, np.ndarray):
            return {_TAG: "array", "ref": self.add(self.array(value, value, where))}
        if isinstance(value, pd.DataFrame):
            return self.table(value, where)
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return items if type(value) is list else {_TAG: "tuple", "v": items}
        if isinstance(value, dict):
            if all(type(k) is str for k in value) and _TAG not in value:
                return {k: self.encode(v, f"{where}.{k}" if where else k) for k, v in value.items()}
            return {_TAG: "dict", "items": [[self.encode(k, f"{where}<key {k!r}>"),
                                             self.encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        self.fail(where, value, "not data")

    def array(self, array: np.ndarray, value: Any, where: str) -> np.ndarray:
        if array.dtype.hasobject:
            self.fail(where, value, f"an array of dtype {array.dtype} (Python objects)")
        if type(array) is not np.ndarray:  # np.matrix, masked arrays: their class would be lost
            self.fail(where, value, "a numpy array subclass")
        return array

    def table(self, frame: pd.DataFrame, where: str) -> dict:
        from spikey.experiment.results import table_bytes
        try:
            data, form = table_bytes(frame)
        except (ValueError, TypeError, ImportError) as error:  # e.g. columns of Python objects
            self.fail(where, frame, f"a table that cannot be stored as a data table ({error})")
        return {_TAG: "table", "form": form, "ref": self.add(np.frombuffer(data, dtype=np.uint8))}


def encode_state(state: Any, path: str | os.PathLike = "state.npz") -> tuple[dict, dict[str, np.ndarray]]:
    """``(tree, arrays)`` of ``state`` (see the module docstring); raises ``StateFileError`` naming
    the first value that is not data. ``path`` only names the file in that message."""
    encoder = _Encoder(Path(path))
    tree = encoder.encode(state, "")
    return tree, encoder.arrays


def state_bytes(state: Any, *, kind: str, path: str | os.PathLike = "state.npz") -> bytes:
    """The bytes of a state file holding ``state`` (``kind`` names what it is, e.g. "run-checkpoint")."""
    tree, arrays = encode_state(state, path)
    header = {"format": FORMAT, "version": VERSION, "kind": kind, "state": tree}
    text = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    np.savez(buffer, **{TREE: np.frombuffer(text, dtype=np.uint8)}, **arrays)
    return buffer.getvalue()


def write_state(path: str | os.PathLike, state: Any, *, kind: str) -> Path:
    """Write ``state`` to ``path`` as a state file, atomically (``results.atomic_write``)."""
    from spikey.experiment.results import atomic_write
    path = Path(path)
    atomic_write(path, state_bytes(state, kind=kind, path=path))
    return path


# -- decoding ---------------------------------------------------------------------------------------
def _damaged(path: Path, detail: str, advice: str) -> StateFileError:
    return StateFileError(f"{path} cannot be read: {detail}. {advice}", key=str(path), value=detail,
                          expected="a spikey state file")


def read_state(path: str | os.PathLike, *, kind: str | None = None,
               advice: str = "Restore the file from a copy.") -> Any:
    """The state stored in ``path`` by ``write_state``, exactly as written.

    Raises ``StateFileError`` naming the file and adding ``advice`` when it is
    missing, truncated or corrupt, not a state file, of another ``kind``, or of a
    newer format version. Never unpickles (``allow_pickle=False``).
    """
    path = Path(path)
    if not path.exists():
        raise _damaged(path, "the file is missing", advice)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if TREE not in archive.files:
                raise _damaged(path, "it is not a spikey state file (no state tree)", advice)
            header = json.loads(archive[TREE].tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise _damaged(path, "it is not a spikey state file", advice)
            version = header.get("version")
            if not isinstance(version, int) or version > VERSION:
                raise _damaged(path, f"it was written in state format version {version!r}, newer than this "
                               f"version of spikey reads ({VERSION})", "Upgrade spikey to open it.")
            if kind is not None and header.get("kind") != kind:
                raise _damaged(path, f"it holds a {header.get('kind')!r} state, not a {kind!r} one",
                               "Check that the file is in the right folder.")
            arrays = {name: archive[name] for name in archive.files if name != TREE}
    except StateFileError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise _damaged(path, f"the file is truncated or corrupt ({type(error).__name__}: {error})",
                       advice) from error
    try:
        return _decode(header["state"], arrays)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise _damaged(path, f"its state tree is corrupt ({type(error).__name__}: {error})", advice) from error


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node.get(_TAG)
    if tag is None:
        return {k: _decode(v, arrays) for k, v in node.items()}
    if tag == "tuple":
        return tuple(_decode(v, arrays) for v in node["v"])
    if tag == "dict":
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in node["items"]}
    if tag == "float":
        return float(node["v"])
    if tag == "scalar":
        value = node["v"]
        return np.dtype(node["dtype"]).type(float(value["v"]) if isinstance(value, dict) else value)
    if tag == "scalar0d":
        return arrays[node["ref"]][()]
    if tag == "array":
        return arrays[node["ref"]]
    if tag == "table":
        from spikey.experiment.results import table_from_bytes
        return table_from_bytes(arrays[node["ref"]].tobytes(), node["form"])
    raise ValueError(f"unknown node tag {tag!r}")


def _hashable(key: Any) -> Any:
    if isinstance(key, list):  # cannot happen from encode (lists are not dict keys); refuse clearly
        raise ValueError("a dict key decoded to a list")
    return key


# -- the old pickle files ---------------------------------------------------------------------------
def load_pickle(path: str | os.PathLike, *, trust_pickle: bool, new_name: str, how: str) -> Any:
    """The content of an old pickle file (``checkpoint.pkl``, ``population.pkl``), only when trusted.

    Without ``trust_pickle`` raises ``UnsafeFileError``: unpickling can run any
    code the file's author chose. ``how`` tells the user how to pass the trust
    (e.g. "spikey run <folder> --trust-pickle"); ``new_name`` is the data file
    the state is rewritten to once loaded.
    """
    import pickle
    path = Path(path)
    if not trust_pickle:
        raise UnsafeFileError(
            f"{path} is in the old pickle format, and loading a pickle can run any code its author put in it, "
            f"so spikey does not open it. If you trust where this folder comes from, {how}: the state is read "
            f"once and rewritten as {new_name}, which loads as data. Otherwise start a new folder.",
            key=str(path), value="pickle", expected=new_name)
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError,
            IndexError, TypeError) as error:
        raise _damaged(path, f"the pickle is truncated or corrupt ({type(error).__name__}: {error})",
                       "Restore the file from a copy, or start a new folder.") from error
