"""Counter-based random numbers: Philox4x32-10, one definition for numpy, numba and torch.

A counter-based generator is a keyed bijection: the random words for
``(key, counter)`` are computed directly, with no state carried from one draw
to the next (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as
easy as 1, 2, 3", SC'11). Spikey keys a stream by the lane's seed and numbers
its draws by (stream, call, element), so

* lane b of a batch draws exactly what a single network seeded ``seeds[b]``
  draws, whatever the batch around it;
* a draw can be made where the arrays live (torch on CUDA computes it on the
  device) and numpy, numba and torch give the same bits;
* a stream's state is one integer (its call counter): checkpoints are data.

The round function below is written once, with integer operations that mean
the same on Python ints, numpy ``int64`` arrays, torch ``int64`` tensors and
numba scalars: every intermediate value stays below 2**63 (32 x 32-bit
products are split into 16-bit halves), so no backend relies on overflow.

Counter layout of draw ``i`` of call ``t`` of the stream tagged ``tag``::

    counter = (i // 2, t mod 2**32, t // 2**32, tag)      key = (seed mod 2**32, seed // 2**32)

Each Philox block gives four 32-bit words, i.e. two uniforms of 53 bits
(words 0-1 and 2-3, as numpy's ``random()`` builds a double from two words).

Examples
--------
>>> [hex(w) for w in philox4x32(0, 0, 0, 0, 0, 0)]      # the Random123 known answer
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
>>> u = uniforms(np, seeds=[7, 8], tag=stream_tag("demo"), start=0, steps=3, size=5)
>>> u.shape, bool(((u >= 0) & (u < 1)).all())
((3, 2, 5), True)
>>> bool((uniforms(np, [8], stream_tag("demo"), 0, 3, 5)[:, 0] == u[:, 1]).all())   # lane = seed
True
"""
from __future__ import annotations

import logging
import types
import zlib
from typing import Any, Sequence

import numpy as np

try:  # numba compiles the same round function for the numpy backend; without it numpy computes it
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

MASK32 = 0xFFFFFFFF
#: Philox4x32 multipliers and Weyl key increments (Salmon et al. 2011, Table 2).
M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
#: 2**-53: a 53-bit integer times this is a double in [0, 1).
TWO_M53 = 1.0 / 9007199254740992.0


def _mulhilo(a: Any, m: int) -> tuple[Any, Any]:
    """(high, low) 32-bit words of the 64-bit product ``a * m`` (a < 2**32, m a constant < 2**32).

    ``m`` is split into 16-bit halves so every partial product stays below 2**49.
    """
    t = a * (m >> 16)
    s = a * (m & 0xFFFF) + ((t & 0xFFFF) << 16)
    return ((s >> 32) + (t >> 16)) & MASK32, s & MASK32


def philox4x32(c0: Any, c1: Any, c2: Any, c3: Any, k0: Any, k1: Any) -> tuple[Any, Any, Any, Any]:
    """Philox4x32-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``.

    Every argument is a 32-bit unsigned value held as a Python int, an int64
    numpy array, an int64 torch tensor or a numba int64 (broadcasting); returns
    the four output words in the same form.
    """
    for round_index in range(ROUNDS):
        if round_index:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        hi0, lo0 = _mulhilo(c0, M0)
        hi1, lo1 = _mulhilo(c2, M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def stream_tag(name: str) -> int:
    """The 32-bit tag of a named stream (counter word 3): different names, independent draws."""
    return zlib.crc32(name.encode())


def uniforms(xp: Any, seeds: Sequence[int] | Any, tag: int, start: int, steps: int, size: int,
             dtype: Any = None, device: Any = None) -> Any:
    """Uniform [0, 1) draws of calls ``start .. start + steps - 1``: shape ``(steps, B, size)``.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``torch``; the draws are computed with it (on ``device`` for torch).
    seeds : sequence of B ints >= 0
        Lane keys.
    tag : int
        ``stream_tag(name)`` of the stream.
    start, steps : int
        First call number and number of calls.
    size : int
        Draws per lane per call.
    dtype : optional
        Result dtype (float64 by default); float32 rounds the 53-bit double once.

    Every value depends only on ``(seed, tag, call, index)``: the block a call is
    drawn in, the batch and the backend do not change it.
    """
    is_torch = xp is not np
    if not is_torch and _fill is not None:
        out = np.empty((steps, len(seeds), size), dtype=np.float64 if dtype is None else dtype)
        _fill(out, np.asarray(seeds, dtype=np.int64), np.int64(int(tag) & MASK32), np.int64(start))
        return out
    if is_torch:
        seed_words = (seeds.to(device) if isinstance(seeds, xp.Tensor)
                      else xp.as_tensor(np.asarray(seeds, dtype=np.int64), device=device))
        arange = lambda n: xp.arange(n, dtype=xp.int64, device=device)  # noqa: E731
    else:
        seed_words = np.asarray(seeds, dtype=np.int64)
        arange = lambda n: np.arange(n, dtype=np.int64)  # noqa: E731
    pairs = (size + 1) // 2
    calls = arange(steps) + int(start)
    c0 = arange(pairs)[None, None, :]                       # (1, 1, pairs)
    c1 = (calls & MASK32)[:, None, None]                     # (steps, 1, 1)
    c2 = (calls >> 32)[:, None, None]
    k0 = (seed_words & MASK32)[None, :, None]                # (1, B, 1)
    k1 = (seed_words >> 32)[None, :, None]
    words = philox4x32(c0, c1, c2, int(tag) & MASK32, k0, k1)
    first = ((words[0] >> 5) * 67108864 + (words[1] >> 6))  # 27 + 26 = 53 bits
    second = ((words[2] >> 5) * 67108864 + (words[3] >> 6))
    if is_torch:
        both = xp.stack([first, second], dim=-1).reshape(steps, len(seed_words), 2 * pairs)[..., :size]
        values = both.to(xp.float64) * TWO_M53
        return values if dtype is None else values.to(dtype)
    both = np.stack([first, second], axis=-1).reshape(steps, len(seed_words), 2 * pairs)[..., :size]
    values = both.astype(np.float64) * TWO_M53
    return values if dtype is None else values.astype(dtype)


def _fill_uniforms(out, seeds, tag, start):
    """``uniforms`` into ``out`` (steps, B, size), element by element (compiled by numba)."""
    steps, lanes, size = out.shape
    for s in range(steps):
        t = start + s
        c1, c2 = t & MASK32, t >> 32
        for b in range(lanes):
            k0, k1 = seeds[b] & MASK32, seeds[b] >> 32
            for p in range((size + 1) // 2):
                w0, w1, w2, w3 = philox4x32(p, c1, c2, tag, k0, k1)
                out[s, b, 2 * p] = ((w0 >> 5) * 67108864 + (w1 >> 6)) * TWO_M53
                if 2 * p + 1 < size:
                    out[s, b, 2 * p + 1] = ((w2 >> 5) * 67108864 + (w3 >> 6)) * TWO_M53


def compiled(function: Any, inline: str = "always", **helpers: Any) -> Any:
    """``function`` compiled by numba with its module-level helpers replaced by compiled ones.

    The plain function stays the one definition (it runs on numpy and torch
    arrays); this derives the compiled twin from the same code object.
    """
    namespace = {**function.__globals__, **helpers}
    return numba.njit(types.FunctionType(function.__code__, namespace, function.__name__), cache=True,
                      inline=inline)


if numba is not None:
    _compiled_mulhilo = compiled(_mulhilo)
    _compiled_philox = compiled(philox4x32, _mulhilo=_compiled_mulhilo)
    _fill = compiled(_fill_uniforms, inline="never", philox4x32=_compiled_philox)
else:  # pragma: no cover
    _fill = None
    logging.getLogger("spikey.engine").info("numba is not installed: random numbers are computed by numpy "
                                            "(the same values, slower)")
