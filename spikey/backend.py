"""The array namespace (numpy, or torch on cpu/cuda) and the per-network random streams.

Parts do their math through ``backend.xp`` (the ``numpy`` or ``torch``
module) and create arrays through the helpers here, so one part runs on both.

Random numbers come from one seeded generator per network (per lane of the
batch) and per consumer (a named stream), drawn in blocks and handed out one
step at a time. A lane's numbers therefore depend only on its own seed and the
stream's name: a B=16 batch with seeds s_0..s_15 reproduces, lane by lane,
sixteen B=1 runs with those seeds. The draws are made with numpy for both
backends (and copied to the device once per block), so numpy and torch see the
same numbers.

Examples
--------
>>> b = Backend("numpy")
>>> stream = b.stream([1, 2], "demo", (3,))
>>> stream.uniform().shape
(2, 3)
>>> lane = Backend("numpy").stream([2], "demo", (3,)).uniform()
>>> bool((lane[0] == b.stream([1, 2], "demo", (3,)).uniform()[1]).all())
True
"""
from __future__ import annotations

import zlib
from typing import Any, Sequence

import numpy as np

from spikey.module import ConfigError

BACKENDS = ("numpy", "torch")
DTYPES = ("float32", "float64")


def lane_seeds(seed: int | Sequence[int] | None, batch_size: int) -> np.ndarray:
    """Seeds for the B lanes: an int s gives s, s+1, ..., s+B-1; a sequence gives itself.

    So lane b of a batch seeded with s reproduces a single network seeded with s+b.
    None draws fresh entropy (not reproducible).
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2 ** 31))
    if np.ndim(seed) == 0:
        if int(seed) < 0:
            raise ConfigError(f"seed = {seed!r}; expected an int >= 0.", key="seed", value=seed,
                              expected="int >= 0 or a sequence of B such ints")
        return int(seed) + np.arange(batch_size, dtype=np.int64)
    seeds = np.asarray(seed, dtype=np.int64)
    if seeds.shape != (batch_size,) or (seeds < 0).any():
        raise ConfigError(f"seed has shape {seeds.shape}; expected one int >= 0 per network, "
                          f"shape ({batch_size},).", key="seed", value=seed,
                          expected=f"int or sequence of {batch_size} ints >= 0")
    return seeds


def lane_generators(seeds: Sequence[int], name: str) -> list[np.random.Generator]:
    """One numpy Generator per lane for the consumer ``name`` (independent streams per name)."""
    tag = zlib.crc32(name.encode())
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(s), spawn_key=(tag,))))
            for s in seeds]


class Backend:
    """Array namespace and device.

    Parameters
    ----------
    name : {"numpy", "torch"}
    device : str, default "cpu"
        torch device ("cpu", "cuda", "cuda:1"); numpy accepts only "cpu".
    dtype : {"float32", "float64"}
    """

    def __init__(self, name: str = "numpy", device: str = "cpu", dtype: str = "float32"):
        if name not in BACKENDS:
            raise ConfigError(f"backend = {name!r}; expected one of {list(BACKENDS)}.",
                              key="backend", value=name, expected=str(list(BACKENDS)))
        if dtype not in DTYPES:
            raise ConfigError(f"dtype = {dtype!r}; expected one of {list(DTYPES)}.",
                              key="dtype", value=dtype, expected=str(list(DTYPES)))
        self.name, self.device, self.dtype_name = name, str(device), dtype
        if name == "numpy":
            if self.device != "cpu":
                raise ConfigError(f"backend 'numpy' runs on 'cpu' only; got device = {device!r}. "
                                  f"Use backend='torch' for {device!r}.", key="device", value=device,
                                  expected="'cpu'")
            self.xp = np
            self.dtype = np.dtype(dtype)
        else:
            try:
                import torch
            except ImportError as error:  # pragma: no cover - torch is a dependency
                raise ConfigError("backend 'torch' needs the torch package installed.",
                                  key="backend", value=name, expected="torch installed") from error
            self.xp = torch
            self.dtype = getattr(torch, dtype)
            self.torch_device = torch.device(device)
            if self.torch_device.type == "cuda" and not torch.cuda.is_available():
                raise ConfigError(f"device = {device!r} but torch sees no CUDA device.",
                                  key="device", value=device, expected="an available device")

    def __reduce__(self) -> tuple:
        # Modules do not pickle: rebuild from the settings (copies, checkpoints, Ray workers).
        return (Backend, (self.name, self.device, self.dtype_name))

    def __deepcopy__(self, memo: dict) -> "Backend":
        return self  # immutable settings: copies may share it

    @property
    def is_torch(self) -> bool:
        return self.name == "torch"

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r}, dtype={self.dtype_name!r})"

    # -- creation ---------------------------------------------------------------------------
    def asarray(self, value: Any, dtype: Any = None) -> Any:
        """Convert numbers/numpy arrays/tensors to this backend (float dtype by default)."""
        if self.is_torch:
            import torch
            dtype = self.dtype if dtype is None else self._torch_dtype(dtype)
            if isinstance(value, torch.Tensor):
                return value.to(device=self.torch_device, dtype=dtype)
            return torch.as_tensor(np.asarray(value), dtype=dtype, device=self.torch_device)
        return np.asarray(value, dtype=self.dtype if dtype is None else dtype)

    def _torch_dtype(self, dtype: Any) -> Any:
        import torch
        if isinstance(dtype, torch.dtype):
            return dtype
        return {np.dtype(bool): torch.bool, np.dtype(np.int64): torch.int64,
                np.dtype(np.int32): torch.int32, np.dtype(np.float32): torch.float32,
                np.dtype(np.float64): torch.float64}[np.dtype(dtype)]

    def zeros(self, shape: tuple, dtype: Any = None) -> Any:
        if self.is_torch:
            dtype = self.dtype if dtype is None else self._torch_dtype(dtype)
            return self.xp.zeros(shape, dtype=dtype, device=self.torch_device)
        return np.zeros(shape, dtype=self.dtype if dtype is None else dtype)

    def full(self, shape: tuple, value: float, dtype: Any = None) -> Any:
        if self.is_torch:
            dtype = self.dtype if dtype is None else self._torch_dtype(dtype)
            return self.xp.full(shape, value, dtype=dtype, device=self.torch_device)
        return np.full(shape, value, dtype=self.dtype if dtype is None else dtype)

    def column(self, value: Any) -> Any:
        """A key value as something that broadcasts against (B, N) state.

        Scalars stay Python numbers (cheapest); per-member (B,) arrays become (B, 1) arrays.
        """
        if np.ndim(value) == 0:
            return value
        return self.asarray(np.asarray(value, dtype=np.float64).reshape(-1, 1))

    def to_numpy(self, array: Any) -> np.ndarray:
        """A numpy copy/view of a backend array (detached, on the host)."""
        if self.is_torch and not isinstance(array, np.ndarray):
            return array.detach().cpu().numpy()
        return np.asarray(array)

    def cast(self, array: Any) -> Any:
        """``array`` (e.g. bool events) in this backend's float dtype."""
        return array.to(self.dtype) if self.is_torch else array.astype(self.dtype)

    def copy(self, array: Any) -> Any:
        return array.clone() if self.is_torch else array.copy()

    def concat(self, arrays: Sequence[Any], axis: int = -1) -> Any:
        return self.xp.cat(list(arrays), dim=axis) if self.is_torch else np.concatenate(arrays, axis=axis)

    def stream(self, seeds: Sequence[int], name: str, shape: tuple, block: int = 256) -> "RandomStream":
        """A per-lane uniform [0, 1) stream of fixed per-step shape for consumer ``name``."""
        return RandomStream(self, seeds, name, shape, block)


class RandomStream:
    """Uniform random numbers, one independent generator per lane, drawn in blocks.

    Each call to ``uniform()`` returns a ``(B, *shape)`` array; lane b's values
    are the next ``prod(shape)`` draws of its own generator, so results do not
    depend on the batch composition nor on ``block``.

    Parameters
    ----------
    backend : Backend
    seeds : sequence of int, length B
    name : str
        Consumer name; different names give independent streams.
    shape : tuple
        Per-lane, per-call shape.
    block : int
        Calls served per refill (one Python loop over lanes per block).
    """

    def __init__(self, backend: Backend, seeds: Sequence[int], name: str, shape: tuple, block: int = 256):
        self.backend, self.name, self.shape = backend, name, tuple(int(s) for s in shape)
        self.seeds = np.asarray(seeds, dtype=np.int64)
        # Cap a block near 16 MiB: values do not depend on the block size, memory does.
        per_call = max(1, len(self.seeds) * int(np.prod(self.shape, dtype=np.int64)))
        self.block = max(1, min(int(block), (1 << 22) // per_call))
        self.generators = lane_generators(self.seeds, name)
        self._buffer = None  # (B, block, *shape): each lane's rows contiguous
        self._scratch = None
        self._position = self.block

    def _refill(self) -> None:
        # Each lane draws its block in float64 into one scratch array and rounds it once into
        # the lane's rows of a fresh (B, block, ...) block: contiguous per lane, no (block, B, ...)
        # float64 temporary, identical values on both backends. A fresh block, not an overwrite,
        # because callers may still hold views of the previous one.
        B = len(self.generators)
        block = np.empty((B, self.block) + self.shape, dtype=self.backend.dtype_name)
        if self._scratch is None or self._scratch.shape[0] != self.block:
            self._scratch = np.empty((self.block,) + self.shape, dtype=np.float64)
        for lane, g in enumerate(self.generators):
            g.random(dtype=np.float64, out=self._scratch)
            block[lane] = self._scratch
        self._buffer = block if not self.backend.is_torch else self.backend.asarray(block)
        self._position = 0

    def uniform(self) -> Any:
        """The next ``(B, *shape)`` uniform [0, 1) draws, in the backend's dtype."""
        if self._position >= self.block:
            self._refill()
        values = self._buffer[:, self._position]
        self._position += 1
        return values

    def uniforms(self, steps: int) -> Any:
        """The next ``steps`` calls of ``uniform()`` at once: ``(steps, B, *shape)`` (a view where possible).

        Exactly the values ``steps`` successive ``uniform()`` calls would return,
        so a whole game step's draws can be taken in one go.
        """
        parts = []
        while steps > 0:
            if self._position >= self.block:
                self._refill()
            take = min(steps, self.block - self._position)
            parts.append(self._buffer[:, self._position:self._position + take].swapaxes(0, 1))
            self._position += take
            steps -= take
        if not parts:
            return self.backend.zeros((0, len(self.generators)) + self.shape)
        return parts[0] if len(parts) == 1 else self.backend.concat(parts, axis=0)

    def state(self) -> dict:
        """Everything needed to continue the stream exactly (for checkpoints)."""
        buffer = None if self._buffer is None else np.swapaxes(self.backend.to_numpy(self._buffer), 0, 1).copy()
        return {"generators": [g.bit_generator.state for g in self.generators],
                "buffer": buffer,  # (block, B, *shape)
                "position": self._position}

    def load_state(self, state: dict) -> None:
        for g, s in zip(self.generators, state["generators"]):
            g.bit_generator.state = s
        buffer = state["buffer"]
        self._buffer = None
        if buffer is not None:  # saved (block, B, *shape); a checkpoint may have another block size
            self._buffer = self.backend.asarray(np.ascontiguousarray(np.swapaxes(np.asarray(buffer), 0, 1)))
            self.block = int(self._buffer.shape[1])
        self._position = state["position"]
