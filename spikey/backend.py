"""The array namespace (numpy, or torch on cpu/cuda) and the per-network random streams.

Parts do their math through ``backend.xp`` (the ``numpy`` or ``torch``
module) and create arrays through the helpers here, so one part runs on both.

Per-step random numbers (``RandomStream``) are counter-based: call t of the
stream named n of a lane seeded s is Philox(s; t, n) (``spikey.philox``), so a
lane's numbers depend only on its own seed and the stream's name: a B=16 batch
with seeds s_0..s_15 reproduces, lane by lane, sixteen B=1 runs with those
seeds. They are computed where the arrays live (numba for numpy, torch on its
device) and numpy and torch give the same numbers. One-off draws at
construction (initial weights, polarities) come from per-lane numpy generators
(``lane_generators``).

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
from spikey.philox import stream_tag, uniforms

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
    """Uniform random numbers per lane from a counter-based generator (``spikey.philox``).

    Call ``t`` of the stream ``name`` of a lane seeded ``s`` is the fixed value
    Philox(key = s, counter = (index, t, name)): it does not depend on the
    batch, on how calls are grouped into blocks, or on the backend, and the
    stream's whole state is ``t``. Values are computed in blocks of calls where
    the arrays live (numba on the host for numpy, torch on its device).

    Parameters
    ----------
    backend : Backend
    seeds : sequence of int, length B
    name : str
        Consumer name; different names give independent streams.
    shape : tuple
        Per-lane, per-call shape.
    block : int
        Calls computed per refill (values do not depend on it).
    """

    def __init__(self, backend: Backend, seeds: Sequence[int], name: str, shape: tuple, block: int = 256):
        self.backend, self.name, self.shape = backend, name, tuple(int(s) for s in shape)
        self.seeds = np.asarray(seeds, dtype=np.int64)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.tag = stream_tag(name)
        # Cap a block near 16 MiB: values do not depend on the block size, memory does.
        per_call = max(1, len(self.seeds) * self.size)
        self.block = max(1, min(int(block), (1 << 22) // per_call))
        self._lane_keys = backend.asarray(self.seeds, dtype=np.int64) if backend.is_torch else self.seeds
        self._buffer = None      # (block, B, *shape): calls _buffer_start .. _buffer_start + block - 1
        self._buffer_start = 0
        self.counter = 0         # the next call's number

    def _draw(self, start: int, steps: int) -> Any:
        """Calls ``start .. start + steps - 1``: ``(steps, B, *shape)`` in the backend's dtype."""
        values = uniforms(self.backend.xp, self._lane_keys, self.tag, start, steps, self.size,
                          dtype=self.backend.dtype,
                          device=self.backend.torch_device if self.backend.is_torch else None)
        return values.reshape((steps, len(self.seeds)) + self.shape)

    def _served(self, steps: int) -> Any:
        """The next ``steps`` calls, from the block when it holds them."""
        offset = self.counter - self._buffer_start
        if self._buffer is None or offset < 0 or offset + steps > self._buffer.shape[0]:
            if steps > self.block:
                values = self._draw(self.counter, steps)
                self.counter += steps
                return values
            self._buffer, self._buffer_start, offset = self._draw(self.counter, self.block), self.counter, 0
        self.counter += steps
        return self._buffer[offset:offset + steps]

    def uniform(self) -> Any:
        """The next ``(B, *shape)`` uniform [0, 1) draws, in the backend's dtype."""
        return self._served(1)[0]

    def uniforms(self, steps: int) -> Any:
        """The next ``steps`` calls of ``uniform()`` at once: ``(steps, B, *shape)``.

        Exactly the values ``steps`` successive ``uniform()`` calls would return,
        so a whole game step's draws can be taken in one go.
        """
        if steps <= 0:
            return self.backend.zeros((0, len(self.seeds)) + self.shape)
        return self._served(int(steps))

    def state(self) -> dict:
        """Everything needed to continue the stream exactly (for checkpoints): its call counter."""
        return {"counter": int(self.counter), "shape": list(self.shape)}

    def load_state(self, state: dict) -> None:
        if "counter" not in state:
            raise ConfigError(f"random stream '{self.name}': the checkpoint holds a stream state without a "
                              f"call counter (written by an older Spikey whose random numbers came from "
                              f"per-lane numpy generators); it cannot be continued exactly. Start the run "
                              f"again.", key="checkpoint", value=sorted(state), expected="{'counter': int}")
        self.counter = int(state["counter"])
        self._buffer = None
