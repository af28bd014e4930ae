"""Counter-based random numbers (spikey.philox) and the streams built on them (spikey.backend)."""
import numpy as np
import pytest
import torch

from spikey import philox
from spikey.backend import Backend, RandomStream
from spikey.module import ConfigError

# Known answers of Philox4x32-10 from the Random123 distribution's kat_vectors file:
# counter (4 words), key (2 words) -> output (4 words).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_round_function_gives_the_published_known_answers_on_every_backend(counter, key, expected):
    assert philox.philox4x32(*counter, *key) == expected                       # Python ints
    as_numpy = philox.philox4x32(*(np.array([v], np.int64) for v in counter + key))
    assert [int(w[0]) for w in as_numpy] == list(expected)
    as_torch = philox.philox4x32(*(torch.tensor([v], dtype=torch.int64) for v in counter + key))
    assert [int(w[0]) for w in as_torch] == list(expected)
    compiled = philox._compiled_philox(*(np.int64(v) for v in counter + key))
    assert [int(w) for w in compiled] == list(expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_numpy_and_torch_draw_the_same_numbers(dtype, monkeypatch):
    seeds, tag = [0, 5, 2**33 + 1], philox.stream_tag("neuron.random_fire")
    compiled = philox.uniforms(np, seeds, tag, 1234, 7, 13, dtype=dtype)
    monkeypatch.setattr(philox, "_fill", None)           # the vectorised numpy form of the same rounds
    vectorised = philox.uniforms(np, seeds, tag, 1234, 7, 13, dtype=dtype)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    on_torch = philox.uniforms(torch, seeds, tag, 1234, 7, 13, dtype=torch_dtype).numpy()
    assert compiled.dtype == dtype and compiled.shape == (7, 3, 13)
    np.testing.assert_array_equal(compiled, vectorised)
    np.testing.assert_array_equal(compiled, on_torch)


def test_a_lane_draws_what_a_single_network_with_its_seed_draws():
    tag = philox.stream_tag("input.rates")
    batch = philox.uniforms(np, [3, 9, 4], tag, 0, 5, 8)
    for lane, seed in enumerate([3, 9, 4]):
        np.testing.assert_array_equal(batch[:, lane], philox.uniforms(np, [seed], tag, 0, 5, 8)[:, 0])


def test_every_counter_and_key_word_matters():
    base = philox.uniforms(np, [1], 7, 5, 1, 6)
    assert not np.array_equal(base, philox.uniforms(np, [1 + 2**32], 7, 5, 1, 6))   # high key word
    assert not np.array_equal(base, philox.uniforms(np, [1], 7, 5 + 2**32, 1, 6))   # high counter word
    assert not np.array_equal(base, philox.uniforms(np, [1], 8, 5, 1, 6))           # stream tag
    assert not np.array_equal(base, philox.uniforms(np, [2], 7, 5, 1, 6))           # seed
    # elements of one call: all distinct (pairs of words give distinct uniforms)
    assert len(np.unique(philox.uniforms(np, [1], 7, 5, 1, 1000))) == 1000


def test_uniform_statistics():
    """1,000,000 draws: moments, a 100-bin histogram, and correlations across calls, lanes and streams."""
    u = philox.uniforms(np, np.arange(100), philox.stream_tag("s"), 0, 1000, 10)   # (1000, 100, 10)
    flat = u.ravel()
    assert ((flat >= 0) & (flat < 1)).all()
    # mean 1/2 and variance 1/12 within 5 standard errors
    assert abs(flat.mean() - 0.5) < 5 * np.sqrt(1 / 12 / flat.size)
    assert abs(flat.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / flat.size)
    counts = np.bincount((flat * 100).astype(int), minlength=100)
    chi2 = ((counts - flat.size / 100) ** 2 / (flat.size / 100)).sum()
    assert chi2 < 160          # 99 degrees of freedom: P(chi2 > 160) < 1e-4
    bound = 5 / np.sqrt(u[:-1].size)
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < bound           # successive calls
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < bound     # seeds s and s + 1
    other = philox.uniforms(np, np.arange(100), philox.stream_tag("t"), 0, 1000, 10)
    assert abs(np.corrcoef(flat, other.ravel())[0, 1]) < 5 / np.sqrt(flat.size)     # two streams


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_stream_values_do_not_depend_on_blocks_or_call_grouping(backend):
    b = Backend(backend)
    big = RandomStream(b, [0, 1], "demo", (2, 3), block=256)
    small = RandomStream(b, [0, 1], "demo", (2, 3), block=3)
    calls = [1, 1, 5, 1, 300, 2]          # uniform() and uniforms(k), across block edges
    for k in calls:
        got_big = big.uniform()[None] if k == 1 else big.uniforms(k)
        got_small = small.uniforms(k)
        np.testing.assert_array_equal(b.to_numpy(got_big), b.to_numpy(got_small))
        assert tuple(got_big.shape) == (k, 2, 2, 3)
    expected = philox.uniforms(np, [0, 1], philox.stream_tag("demo"), 0, sum(calls), 6, dtype=np.float32)
    fresh = RandomStream(b, [0, 1], "demo", (2, 3))
    np.testing.assert_array_equal(b.to_numpy(fresh.uniforms(sum(calls))).reshape(sum(calls), 2, 6), expected)


def test_stream_state_is_its_counter_and_resumes_exactly():
    stream = RandomStream(Backend(), [4], "demo", (5,), block=8)
    stream.uniforms(11)
    state = stream.state()
    assert state == {"counter": 11, "shape": [5]}
    after = stream.uniforms(20)
    resumed = RandomStream(Backend(), [4], "demo", (5,), block=8)
    resumed.load_state(state)
    np.testing.assert_array_equal(resumed.uniforms(20), after)


def test_a_stream_state_of_the_older_generator_format_is_refused_naming_why():
    stream = RandomStream(Backend(), [4], "neuron.random_fire", (5,))
    with pytest.raises(ConfigError, match="random stream 'neuron.random_fire'.*older Spikey"):
        stream.load_state({"generators": [{}], "buffer": None, "position": 256})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_draws_on_the_device_equal_the_host_draws():
    on_gpu = philox.uniforms(torch, [0, 1, 2], 11, 40, 6, 33, dtype=torch.float32, device="cuda")
    assert on_gpu.device.type == "cuda"
    np.testing.assert_array_equal(on_gpu.cpu().numpy(), philox.uniforms(np, [0, 1, 2], 11, 40, 6, 33,
                                                                          dtype=np.float32))
