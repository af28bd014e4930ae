"""Classification data sets as games: one sample per step, the action is the predicted class.

``Classification`` is the template; ``Digits`` serves scikit-learn's bundled
8x8 digits and ``MNIST`` reads a folder of IDX files (MNIST, Fashion-MNIST and
other data sets in that format). ``read_idx`` reads one IDX file.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np

from spikey.games.template import Game
from spikey.module import Key, KeyRangeError

#: IDX type codes -> big-endian numpy dtypes.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class Classification(Game):
    """Template: B lanes, each stepping through a labelled data set one sample per step.

    Observation (B, n_features) float64 in [0, 1]: the current sample's
    features. Action (B,) int: the predicted class, ``action_space =
    Discrete(n_classes)``. ``step`` rewards 1 where the action equals the
    label of the sample it was shown, else 0, and moves on to the next
    sample. Episodes never terminate or truncate (the experiment's episode
    length decides how many samples an episode shows).

    ``info`` of ``reset`` and ``step`` holds ``label`` (B,) int, the labels of
    the returned observations; ``step``'s also ``target`` (the labels the
    actions were judged against) and ``correct`` (B,) bool. ``game.label`` is
    the current samples' labels; ``expected_value(states)`` maps observations
    shown in the last two steps back to their labels (for
    ``spikey.snn.reward.MatchExpected``).

    Order: with ``shuffle`` (default) each lane walks through its own random
    permutation of the split, drawn from its generator, and draws a new one
    after every full pass; without, every lane walks the split in file order.
    The position in the pass carries over from one episode to the next:
    ``reset()`` shows the next sample, so successive episodes see new
    samples. ``reset(seed=...)`` (or ``seed()``) restarts the passes.

    Subclasses implement ``load(split) -> (raw, labels)``: raw features
    (n_samples, ...) of any numeric dtype, scaled to [0, 1] by dividing by
    the class attribute ``feature_scale``, and integer labels in
    [0, n_classes); a subclass with more data-selecting keys lists them in
    ``_source_key`` so that changing one reloads.

    Examples
    --------
    >>> import numpy as np
    >>> class Parity(Classification):
    ...     # 3-bit patterns; the class is their parity
    ...     n_classes = 2
    ...     def load(self, split):
    ...         bits = (np.arange(8)[:, None] >> np.arange(3)) & 1
    ...         return bits, bits.sum(axis=1) % 2
    >>> game = Parity(batch_size=2, shuffle=False)
    >>> obs, info = game.reset()
    >>> obs.tolist(), info["label"].tolist(), game.n_features
    ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0, 0], 3)
    >>> _, reward, _, _, info = game.step(np.array([0, 1]))
    >>> reward.tolist(), info["correct"].tolist(), info["label"].tolist()
    ([1.0, 0.0], [True, False], [1, 1])
    """

    Keys = [
        Key("split", "which part of the data set to serve", str, default="train", choices=("train", "test")),
        Key("shuffle", "True: each lane shuffles each pass through the split; False: file order", bool,
            default=True),
        Key("max_samples", "use only the first max_samples samples of the split (None: all)", int,
            default=None, range=(1, None), nullable=True),
    ]
    state_names = ("_order", "_position", "_previous")
    #: Raw feature values are divided by this to lie in [0, 1].
    feature_scale: float = 1.0
    #: Number of classes (subclasses set it; labels must lie in [0, n_classes)).
    n_classes: int = 0

    def __init__(self, preset: str | None = None, **kwargs: Any):
        self._loaded = None
        super().__init__(preset, **kwargs)

    def load(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Raw features (n_samples, ...) and int labels (n_samples,) of ``split``."""
        raise NotImplementedError(f"{type(self).__name__} implements no load(split).")

    def derive(self) -> None:
        from gymnasium import spaces

        name, p = type(self).__name__, self.params
        source = (p["split"], p["max_samples"]) + self._source_key()
        if self._loaded != source:
            raw, labels = self.load(p["split"])
            raw, labels = np.asarray(raw), np.asarray(labels).astype(np.int64)
            if p["max_samples"] is not None:
                raw, labels = raw[:p["max_samples"]], labels[:p["max_samples"]]
            if len(raw) == 0 or len(raw) != len(labels):
                raise ValueError(f"{name}: split {p['split']!r} has {len(raw)} samples and {len(labels)} "
                                 f"labels; expected as many of each, at least one.")
            outside = (labels < 0) | (labels >= self.n_classes)
            if outside.any():
                raise ValueError(f"{name}: labels {np.unique(labels[outside])[:5].tolist()} lie outside "
                                 f"0..{self.n_classes - 1} ({self.n_classes} classes).")
            self.samples = raw.reshape(len(raw), -1)  # raw dtype kept (uint8 for images): scaled per step
            self.labels = labels
            self.sample_shape = raw.shape[1:]
            self._loaded = source
            self._order, self._position, self._previous = None, 0, None
            self._started = False
        self.n_samples, self.n_features = self.samples.shape
        self.observation_space = spaces.Box(0.0, 1.0, (self.n_features,), np.float64)
        self.action_space = spaces.Discrete(self.n_classes)

    def _source_key(self) -> tuple:
        """Key values that select the data (a reload happens when they change)."""
        return ()

    def seed(self, seed: Any) -> None:
        """Reseed every lane and restart the passes through the split."""
        super().seed(seed)
        self._order, self._position, self._previous = None, 0, None

    # -- the pass through the data -----------------------------------------------------------------
    def _new_orders(self) -> np.ndarray:
        if not self.params["shuffle"]:
            return np.broadcast_to(np.arange(self.n_samples), (self.batch_size, self.n_samples))
        return np.stack([rng.permutation(self.n_samples) for rng in self.rngs])

    def _advance(self) -> None:
        self._position += 1
        if self._position >= self.n_samples:
            self._order, self._position = self._new_orders(), 0

    @property
    def index(self) -> np.ndarray:
        """(B,) int: the current samples' indices into the split."""
        return self._order[:, self._position]

    @property
    def label(self) -> np.ndarray:
        """(B,) int: the labels of the current samples (the last observations returned)."""
        return self.labels[self.index]

    def observe(self, index: np.ndarray) -> np.ndarray:
        """(B, n_features) float64 in [0, 1]: the samples at ``index`` (B,)."""
        return self.samples[index].astype(np.float64) / self.feature_scale

    def _reset(self, options: dict) -> tuple:
        self._no_options(options)
        if self._order is None:
            self._order, self._position = self._new_orders(), 0
        else:
            self._advance()
        self._previous = None
        return self.observe(self.index), {"label": self.label}

    def _step(self, action: np.ndarray) -> tuple:
        target = self.label
        self._previous = self.index
        correct = action == target
        self._advance()
        done = np.zeros(self.batch_size, dtype=bool)
        return (self.observe(self.index), correct.astype(np.float64), done, done.copy(),
                {"label": self.label, "target": target, "correct": correct})

    def expected_value(self, states: Any) -> np.ndarray:
        """(B,) int: the labels of observations ``states`` (B, n_features) shown in the last two steps.

        Each lane's state is matched against its previous and its current
        sample (previous first: the experiment loop judges the state the
        action was chosen on after the game has moved on).
        """
        states = np.asarray(states, dtype=np.float64).reshape(self.batch_size, -1)
        labels = self.label.copy()
        matched = (states == self.observe(self.index)).all(axis=1)
        if self._previous is not None:
            before = (states == self.observe(self._previous)).all(axis=1)
            labels = np.where(before, self.labels[self._previous], labels)
            matched |= before
        if not matched.all():
            lanes = np.flatnonzero(~matched)
            raise ValueError(f"{type(self).__name__}.expected_value: the states of lanes {lanes.tolist()} "
                             f"are neither the current nor the previous samples; only the last two "
                             f"observations can be looked up.")
        return labels


class Digits(Classification):
    """scikit-learn's bundled handwritten digits: 8x8 images (64 features), 10 classes.

    The 1,797 images are split once, deterministically and stratified by
    class, into ``train`` and ``test`` parts (``test_fraction`` of the samples
    go to the test part; ``split_seed`` fixes which). Pixel values 0..16 are
    divided by 16. See ``Classification`` for the step semantics.

    Examples
    --------
    >>> import numpy as np
    >>> game = Digits(batch_size=2, seed=0)
    >>> obs, info = game.reset()
    >>> obs.shape, game.n_classes, game.n_samples, game.action_space
    ((2, 64), 10, 1347, Discrete(10))
    >>> obs, reward, terminated, truncated, info = game.step(info["label"])
    >>> reward.tolist(), info["correct"].tolist()
    ([1.0, 1.0], [True, True])
    >>> Digits(split="test").n_samples
    450
    """

    Keys = Classification.Keys + [
        Key("test_fraction", "fraction of the samples held out as the test split", float, default=0.25,
            range=(0, 1)),
        Key("split_seed", "seed of the train/test split (not of the lanes' order)", int, default=0,
            range=(0, None)),
    ]
    feature_scale = 16.0
    n_classes = 10

    def _source_key(self) -> tuple:
        return (self.params["test_fraction"], self.params["split_seed"])

    def load(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        fraction = self.params["test_fraction"]
        if not 0 < fraction < 1:
            raise KeyRangeError(f"Digits: key 'test_fraction' = {fraction!r}; expected 0 < test_fraction < 1.",
                                key="test_fraction", part="Digits", value=fraction,
                                expected="0 < test_fraction < 1")
        data = load_digits()
        x_train, x_test, y_train, y_test = train_test_split(
            data.images, data.target, test_size=fraction, random_state=self.params["split_seed"],
            stratify=data.target)
        return (x_train, y_train) if split == "train" else (x_test, y_test)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed, ``.gz``) into a numpy array.

    Format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, one
    big-endian uint32 per dimension, then the data in C order, big-endian.

    Raises
    ------
    ValueError
        naming the file for a bad magic number or a size that does not match the header.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> _ = open(path, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path).tolist()
    [7, 2, 1]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES or data[3] == 0:
        raise ValueError(f"read_idx: {path} has magic number 0x{data[:4].hex() or '(empty)'}; expected "
                         f"0x0000TTDD with type TT in {[f'{t:02x}' for t in IDX_DTYPES]} and DD >= 1 "
                         f"dimensions (e.g. 0x00000803 for uint8 images, 0x00000801 for uint8 labels). "
                         f"Is it an IDX file?")
    dtype, ndim = np.dtype(IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path} ends inside its header ({len(data)} bytes; {ndim} dimensions "
                         f"need {header}).")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"read_idx: {path} has {len(data)} bytes; its header (shape {shape}, {dtype.name}) "
                         f"says {expected}.")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(Classification):
    """MNIST-format images from a folder of IDX files: 28x28 images (784 features), 10 classes.

    ``path`` is a folder holding ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte`` (split ``"train"``) and
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (split ``"test"``),
    each optionally gzip-compressed (``.gz``); the ``train-images.idx3-ubyte``
    spelling is found too. Fashion-MNIST and KMNIST folders work alike. Nothing
    is downloaded. Pixel values 0..255 are divided by 255; any image size is
    accepted (``n_features`` = rows x columns, ``sample_shape`` the image shape).
    See ``Classification`` for the step semantics.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2) * 20
    >>> with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz"), "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 3]) + np.array([3, 2, 2], ">u4").tobytes() + images.tobytes())
    >>> with open(os.path.join(folder, "train-labels-idx1-ubyte"), "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1]) + np.array([3], ">u4").tobytes() + bytes([4, 0, 9]))
    >>> game = MNIST(path=folder, shuffle=False, batch_size=2)
    >>> obs, info = game.reset()
    >>> obs.shape, info["label"].tolist(), game.sample_shape
    ((2, 4), [4, 4], (2, 2))
    >>> (obs[0] * 255).round().tolist()
    [0.0, 20.0, 40.0, 60.0]
    >>> MNIST(path=folder, split="test")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST: no t10k-images-idx3-ubyte (or .gz) in ...
    """

    Keys = Classification.Keys + [
        Key("path", "folder holding the IDX files", (str, os.PathLike)),
    ]
    feature_scale = 255.0
    n_classes = 10
    FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def _source_key(self) -> tuple:
        return (str(self.params["path"]),)

    def _find(self, folder: Path, name: str) -> Path:
        stem, _, kind = name.rpartition("-idx")
        candidates = [name, f"{stem}.idx{kind}"]
        for candidate in candidates:
            for suffix in ("", ".gz"):
                if (folder / (candidate + suffix)).is_file():
                    return folder / (candidate + suffix)
        present = sorted(p.name for p in folder.iterdir())[:10]
        raise FileNotFoundError(f"MNIST: no {name} (or .gz) in {folder} (split {self.params['split']!r}); "
                                f"the folder holds {present}.")

    def load(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        folder = Path(self.params["path"]).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"MNIST: key 'path' = {str(self.params['path'])!r} is not a folder; "
                                    f"expected a folder of IDX files ({', '.join(self.FILES['train'])}, ...).")
        image_file, label_file = (self._find(folder, name) for name in self.FILES[split])
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim < 2 or labels.ndim != 1:
            raise ValueError(f"MNIST: {image_file.name} has shape {images.shape} and {label_file.name} "
                             f"{labels.shape}; expected (n, rows, columns) images and (n,) labels.")
        if len(images) != len(labels):
            raise ValueError(f"MNIST: {image_file.name} holds {len(images)} images but {label_file.name} "
                             f"{len(labels)} labels.")
        return images, labels
