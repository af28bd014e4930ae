"""Tests of the input family: RateMap, Poisson, StaticMap, RBF, TTFS and the Input template."""
import math

import numpy as np
import pytest

from spikey.backend import Backend
from spikey.module import ConfigError
from spikey.snn.input import RBF, TTFS, Input, Poisson, RateCode, RateMap, StaticMap


def run(part, states, steps):
    """Outputs (game steps * steps, B, n) as numpy, calling update(state) once per game step."""
    out = []
    for state in states:
        part.update(state)
        out += [part.backend.to_numpy(part()).astype(np.float64) for _ in range(steps)]
    return np.stack(out)


def assert_rate(spikes, expected, sigmas=4.0):
    """Empirical firing fraction over axis 0 within `sigmas` binomial std of `expected`."""
    n = spikes.shape[0]
    expected = np.broadcast_to(np.asarray(expected, dtype=float), spikes.shape[1:])
    sigma = np.sqrt(expected * (1 - expected) / n)
    empirical = spikes.mean(axis=0)
    # sigma is 0 for p in {0, 1}: then the fraction must be exact.
    assert (np.abs(empirical - expected) <= sigmas * sigma + 1e-12).all(), (empirical, expected)


# -- one configuration per variant, for the shared shape/lane/backend tests ---------------------
STEPS = 12
# Per variant: class, config, per-game-step list of the 3 lanes' states.
VARIANTS = {
    "RateMap": (RateMap, dict(n_inputs=6, state_rate_map={0: [.2, .5, .8], 1: [.9, .1, .4]}),
                [[0, 1, 0], [1, 1, 0]]),
    "Poisson": (Poisson, dict(n_inputs=4, dt_ms=2.0,
                              state_rate_map={(0, 1): [50.0, 300.0], (1, 0): [500.0, 20.0]}),
                [[(0, 1), (1, 0), (1, 0)], [(1, 0), (0, 1), (0, 1)]]),
    "StaticMap": (StaticMap, dict(n_inputs=3, state_spike_map={
        0: [0.5, -1.0, 2.0], 1: np.arange(STEPS * 3.0).reshape(STEPS, 3) % 2}),
        [[0, 1, 1], [1, 0, 1]]),
    "RBF": (RBF, dict(n_inputs=10, n_dims=2, rbf_low=[-1.0, 0.0], rbf_high=[1.0, 4.0],
                      rbf_width=0.8, max_rate=0.7),
            [[(0.1, 2.0), (-0.7, 3.5), (1.3, 0.2)], [(0.0, 0.0), (0.4, 1.1), (-1.0, 4.0)]]),
    "TTFS": (TTFS, dict(n_inputs=5, ttfs_window=8),
             [[(1.0, 0.5, 0.0, 0.3, 0.9), (0.1, 0.2, 0.6, 1.0, 0.0), (0.7, 0.7, 0.05, 0.0, 0.44)],
              [(0.0, 1.0, 0.5, 0.25, 0.75), (0.9, 0.8, 0.0, 0.3, 0.2), (1.0, 1.0, 1.0, 1.0, 1.0)]]),
    "RateCode": (RateCode, dict(n_inputs=6, n_features=3, max_rate=0.6),
                 [[(1.0, 0.5, 0.0), (0.2, 0.9, 0.7), (0.6, 0.6, 1.0)],
                  [(0.0, 1.0, 0.4), (1.0, 1.0, 1.0), (0.3, 0.0, 0.8)]]),
}


def variant_run(name, seed, lanes, backend=None, **extra):
    cls, config, states = VARIANTS[name]
    part = cls(batch_size=len(lanes), seed=seed, backend=backend, input_pct_inhibitory=0.5,
               magnitude=1.5, **config, **extra)
    batches = [np.array([step[b] for b in lanes]) for step in states]
    return run(part, batches, STEPS)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_output_shape_and_values(name):
    out = variant_run(name, 0, [0, 1, 2])
    n = VARIANTS[name][1]["n_inputs"]
    assert out.shape == (2 * STEPS, 3, n)
    if name != "StaticMap":  # spikes are 0 or +-magnitude
        assert set(np.unique(np.abs(out))) <= {0.0, 1.5}
        assert (out != 0).any()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_lane_equivalence(name):
    batch = variant_run(name, [5, 6, 7], [0, 1, 2])
    for b, seed in enumerate([5, 6, 7]):
        single = variant_run(name, seed, [b])
        np.testing.assert_array_equal(batch[:, b], single[:, 0])
    # The lanes really differ (else the test could not fail).
    assert not np.array_equal(batch[:, 0], batch[:, 1])


@pytest.mark.parametrize("name", list(VARIANTS))
def test_torch_matches_numpy(name):
    pytest.importorskip("torch")
    numpy_out = variant_run(name, [3, 4, 9], [0, 1, 2])
    torch_out = variant_run(name, [3, 4, 9], [0, 1, 2], backend=Backend("torch"))
    np.testing.assert_array_equal(numpy_out, torch_out)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_step_before_update_is_an_error(name):
    cls, config, _ = VARIANTS[name]
    with pytest.raises(RuntimeError, match="update"):
        cls(**config)()


# -- template -----------------------------------------------------------------------------------
def test_input_firing_steps_limits_firing_per_game_step():
    part = RateMap(n_inputs=4, state_rate_map={0: [1.0]}, input_firing_steps=3, batch_size=2)
    out = run(part, [np.array([0, 0])] * 2, 6)
    expected = np.concatenate([np.ones((3, 2, 4)), np.zeros((3, 2, 4))])
    np.testing.assert_array_equal(out, np.concatenate([expected, expected]))  # update restarts it


def test_input_firing_steps_zero_never_fires():
    part = TTFS(n_inputs=2, input_firing_steps=0)
    assert not run(part, [np.array([[1.0, 1.0]])], 5).any()


def test_input_pct_inhibitory_fraction_and_sign():
    n = 4000
    part = RateMap(n_inputs=n, state_rate_map={0: [1.0]}, input_pct_inhibitory=0.3,
                   magnitude=2.0, batch_size=2, seed=1)
    pol = part.backend.to_numpy(part.polarities)
    assert set(np.unique(pol)) == {-1.0, 1.0}
    assert_rate((pol == -1).reshape(-1), 0.3)
    assert not np.array_equal(pol[0], pol[1])  # drawn per lane
    out = run(part, [np.array([0, 0])], 1)[0]
    np.testing.assert_array_equal(out, 2.0 * pol)  # every input fires: sign = polarity


def test_input_pct_inhibitory_per_member_and_extremes():
    part = StaticMap(n_inputs=5, state_spike_map={0: [1.0] * 5}, input_pct_inhibitory=[0.0, 1.0],
                     magnitude=[1.0, 3.0], batch_size=2)
    out = run(part, [np.array([0, 0])], 1)[0]
    np.testing.assert_array_equal(out, [[1.0] * 5, [-3.0] * 5])


def test_lane_states_checks_batch_axis():
    part = RateMap(n_inputs=2, state_rate_map={0: [0.5]}, batch_size=3)
    with pytest.raises(ValueError, match=r"RateMap.update.*\(3, \.\.\.\)"):
        part.update(np.array([0, 0]))


# -- RateMap --------------------------------------------------------------------------------------
def test_rate_map_interleaved_group_rates():
    rates = [0.1, 0.5, 0.9]
    part = RateMap(n_inputs=9, state_rate_map={(1, 0): rates}, batch_size=2, seed=3)
    out = run(part, [np.array([[1, 0], [1, 0]])], 3000)
    # input k fires with rate[k mod 3]: interleaved, not contiguous groups
    assert_rate(out.reshape(-1, 9), [rates[k % 3] for k in range(9)])


def test_rate_map_array_indexed_by_state():
    table = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    part = RateMap(n_inputs=4, state_rate_map=table, batch_size=3)
    out = run(part, [np.array([2, 0, 1])], 2)
    np.testing.assert_array_equal(out[0], [[1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 1, 0]])


def test_rate_map_errors():
    with pytest.raises(ValueError, match=r"'n_inputs' = 5 is not a multiple .* size 2"):
        RateMap(n_inputs=5, state_rate_map={0: [0.1, 0.2]})
    part = RateMap(n_inputs=2, state_rate_map={0: [0.1, 0.2]})
    with pytest.raises(KeyError, match="lane 0 has state 3, which is not in 'state_rate_map'"):
        part.update(np.array([3]))
    with pytest.raises(ConfigError, match=r"RateMap: key 'state_rate_map' holds rates outside \[0, 1\]"):
        RateMap(n_inputs=2, state_rate_map={0: [0.1, 1.5]})
    with pytest.raises(KeyError, match="outside 'state_rate_map'"):
        RateMap(n_inputs=2, state_rate_map=np.array([[0.1, 0.2]])).update(np.array([-1]))


# -- Poisson --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dt_ms", [1.0, 0.5, 4.0])
def test_poisson_rates_in_hz(dt_ms):
    hz = np.array([0.0, 10.0, 100.0, 400.0])
    part = Poisson(n_inputs=8, state_rate_map={0: hz, 1: hz[::-1]}, dt_ms=dt_ms, batch_size=2, seed=11)
    out = run(part, [np.array([0, 1])], 4000)
    p = np.array([1 - math.exp(-r * dt_ms / 1000) for r in hz])
    expected = np.stack([np.tile(p, 2), np.tile(p[::-1], 2)])
    assert_rate(out, expected)
    # The probabilities themselves are exact (up to float32).
    np.testing.assert_allclose(part.rates, expected, rtol=1e-6)
    # Mean firing rate in Hz approaches the requested rate when r * dt << 1000 ms.
    if dt_ms == 0.5:
        measured_hz = out[:, 0, 2].mean() * 1000 / dt_ms
        assert abs(measured_hz - 100.0) < 4 * math.sqrt(100 * 1000 / dt_ms / 4000) + 3


def test_poisson_is_a_rate_map_with_array_lookup_and_dt_change():
    table = np.array([[0.0, 50.0], [1000.0, 0.0]])
    part = Poisson(n_inputs=2, state_rate_map=table, batch_size=2)
    assert isinstance(part, RateMap)
    part.update(np.array([1, 0]))
    np.testing.assert_allclose(part.rates, [[1 - math.exp(-1.0), 0.0], [0.0, 1 - math.exp(-0.05)]],
                               rtol=1e-6)
    part.set_param("dt_ms", 2.0)
    part.update(np.array([1, 0]))
    np.testing.assert_allclose(part.rates, [[1 - math.exp(-2.0), 0.0], [0.0, 1 - math.exp(-0.1)]],
                               rtol=1e-6)


def test_poisson_errors():
    with pytest.raises(ConfigError, match=r"Poisson: .*'state_rate_map'.*\[10.0, -1.0\].*>= 0 Hz"):
        Poisson(n_inputs=2, state_rate_map={0: [10.0, -1.0]})
    with pytest.raises(ConfigError, match=r"Poisson: key 'state_rate_map' = .*nan.* is not a number \(NaN\)"):
        Poisson(n_inputs=2, state_rate_map=np.array([[np.nan, 1.0]]))  # refused by the Key itself
    with pytest.raises(ConfigError, match=r"Poisson: key 'n_inputs' = 3 is not a multiple"):
        Poisson(n_inputs=3, state_rate_map={0: [1.0, 2.0]})
    with pytest.raises(ConfigError, match=r"Poisson: key 'dt_ms' = 0.0"):
        Poisson(n_inputs=2, state_rate_map={0: [1.0]}, dt_ms=0.0)
    with pytest.raises(ConfigError, match="dt_ms"):
        Poisson(n_inputs=2, state_rate_map={0: [1.0]}, dt_ms=-1.0)
    part = Poisson(n_inputs=2, state_rate_map={(0, 1): [1.0, 2.0]}, batch_size=2)
    with pytest.raises(KeyError, match=r"Poisson: lane 1 has state \(1, 1\), which is not in "
                                       r"'state_rate_map'"):
        part.update(np.array([[0, 1], [1, 1]]))
    part = Poisson(n_inputs=2, state_rate_map=np.ones((3, 2)), batch_size=2)
    for bad in ([0, 3], [0, -1]):  # negative states must not wrap around to the last row
        with pytest.raises(KeyError, match=rf"Poisson: lane 1 has state {bad[1]}, outside "
                                           r"'state_rate_map' of shape \(3, 2\)"):
            part.update(np.array(bad))
    with pytest.raises(KeyError, match="must be integers"):
        part.update(np.array([0.0, 1.5]))


# -- StaticMap ------------------------------------------------------------------------------------
def test_static_map_values_times_polarity_and_magnitude():
    rows = np.array([[0.0, 1.0, 0.25], [2.0, 0.0, -1.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    current = np.array([0.3, 0.0, -0.7])
    part = StaticMap(n_inputs=3, state_spike_map={(0, 0): current, (1, 0): rows},
                     input_pct_inhibitory=0.5, magnitude=[2.0, 0.5], batch_size=2, seed=4)
    pol = part.backend.to_numpy(part.polarities)
    out = run(part, [np.array([[0, 0], [1, 0]]), np.array([[1, 0], [0, 0]])], 4)
    scale = pol * np.array([[2.0], [0.5]])
    for t in range(4):
        np.testing.assert_allclose(out[t], np.stack([current, rows[t]]) * scale, rtol=1e-6)
        np.testing.assert_allclose(out[4 + t], np.stack([rows[t], current]) * scale, rtol=1e-6)
    assert part._streams == {}  # no random draws


def test_static_map_array_and_callable_maps():
    table = np.arange(12.0).reshape(4, 3)  # state s -> row s, every step
    part = StaticMap(n_inputs=3, state_spike_map=table, batch_size=2)
    np.testing.assert_array_equal(run(part, [np.array([3, 1])], 2)[1], table[[3, 1]])

    part = StaticMap(n_inputs=2, state_spike_map=lambda s: np.stack([s, 2 * s], axis=1), batch_size=3)
    np.testing.assert_array_equal(run(part, [np.array([1.0, 0.0, 0.5])], 1)[0],
                                  [[1.0, 2.0], [0.0, 0.0], [0.5, 1.0]])

    def timed(states):  # (B, T=3, n=2): input 0 fires at step = state, input 1 always
        out = np.zeros((len(states), 3, 2))
        out[np.arange(len(states)), states, 0] = 1.0
        out[:, :, 1] = 1.0
        return out
    part = StaticMap(n_inputs=2, state_spike_map=timed, batch_size=2)
    out = run(part, [np.array([2, 0])], 3)
    np.testing.assert_array_equal(out[:, :, 0], [[0, 1], [0, 0], [1, 0]])
    assert (out[:, :, 1] == 1).all()


def test_static_map_too_few_rows():
    part = StaticMap(n_inputs=2, state_spike_map={0: [1.0, 1.0], 1: np.ones((3, 2))}, batch_size=2)
    part.update(np.array([0, 1]))
    for _ in range(3):
        part()
    with pytest.raises(ValueError, match=r"StaticMap: processing step 4 .* only 3 rows for lane 1 "
                                         r"\(state 1\).*processing_time"):
        part()
    # Limiting the firing steps to the rows given is fine.
    part = StaticMap(n_inputs=2, state_spike_map={1: np.ones((3, 2))}, input_firing_steps=3)
    out = run(part, [np.array([1])], 10)
    assert out[:3].all() and not out[3:].any()


def test_static_map_errors():
    with pytest.raises(ConfigError, match=r"StaticMap: 'state_spike_map' gives shape \(2,\) for "
                                          r"state 0; expected \(3,\)"):
        StaticMap(n_inputs=3, state_spike_map={0: [1.0, 1.0]})
    with pytest.raises(ConfigError, match=r"shape \(0, 3\)"):
        StaticMap(n_inputs=3, state_spike_map={0: np.zeros((0, 3))})
    with pytest.raises(ConfigError, match="non-finite"):
        StaticMap(n_inputs=1, state_spike_map={0: [np.nan]})
    with pytest.raises(ConfigError, match=r"array of shape \(4, 2\)"):
        StaticMap(n_inputs=3, state_spike_map=np.zeros((4, 2)))
    part = StaticMap(n_inputs=2, state_spike_map={0: [1.0, 0.0]}, batch_size=2)
    with pytest.raises(KeyError, match="StaticMap: lane 1 has state 5, which is not in 'state_spike_map'"):
        part.update(np.array([0, 5]))
    part = StaticMap(n_inputs=2, state_spike_map=lambda s: np.zeros((len(s), 3)), batch_size=2)
    with pytest.raises(ConfigError, match=r"returned shape \(2, 3\); expected \(2, 2\) or \(2, T, 2\)"):
        part.update(np.array([0, 1]))


# -- RBF ------------------------------------------------------------------------------------------
def rbf_expected(x, low, high, C, width, max_rate):
    """Plain-loop reference of the RBF rates for one observation x (n_dims,)."""
    rates = []
    for d, value in enumerate(x):
        spacing = (high[d] - low[d]) / (C - 1)
        for c in range(C):
            centre = low[d] + c * spacing
            rates.append(max_rate * math.exp(-(value - centre) ** 2 / (2 * (width * spacing) ** 2)))
    return rates


def test_rbf_rates_match_reference():
    low, high, C = [-2.0, 0.0, 10.0], [2.0, 1.0, 20.0], 5
    x = np.array([[0.3, 0.95, 13.0], [-2.5, 0.0, 20.0]])
    part = RBF(n_inputs=15, n_dims=3, rbf_low=low, rbf_high=high, rbf_width=[0.7, 1.3],
               max_rate=[0.6, 0.9], batch_size=2, seed=2)
    out = run(part, [x], 3000) != 0
    expected = np.array([rbf_expected(x[0], low, high, C, 0.7, 0.6),
                         rbf_expected(x[1], low, high, C, 1.3, 0.9)])
    np.testing.assert_allclose(part.rates, expected, rtol=1e-6, atol=1e-12)
    assert_rate(out, expected)
    assert expected.max() > 0.5 and expected.min() < 0.01  # a real spread of rates was tested


def test_rbf_scalar_bounds_and_layout():
    part = RBF(n_inputs=6, n_dims=2, rbf_low=0.0, rbf_high=1.0)
    np.testing.assert_allclose(part.centres, [[0.0, 0.5, 1.0]] * 2)
    part.update(np.array([[1.0, 0.0]]))
    rates = part.backend.to_numpy(part.rates)[0]
    # dimension-major layout: inputs 0..2 code x_0, 3..5 code x_1
    assert rates.argmax() in (2, 3) and rates[2] == rates[3] == np.float32(0.5)


def test_rbf_errors():
    good = dict(n_dims=2, rbf_low=[0.0, 0.0], rbf_high=[1.0, 1.0])
    with pytest.raises(ConfigError, match=r"RBF: key 'n_inputs' = 7 .*n_dims = 2"):
        RBF(n_inputs=7, **good)
    with pytest.raises(ConfigError, match="at least 2 centres"):
        RBF(n_inputs=2, **good)
    with pytest.raises(ConfigError, match=r"RBF: key 'rbf_low'.*shape \(3,\)"):
        RBF(n_inputs=6, n_dims=2, rbf_low=[0.0, 0.0, 0.0], rbf_high=1.0)
    with pytest.raises(ConfigError, match=r"'rbf_high' = \[1.0, 0.0\] must exceed"):
        RBF(n_inputs=6, n_dims=2, rbf_low=0.0, rbf_high=[1.0, 0.0])
    with pytest.raises(ConfigError, match="rbf_width"):
        RBF(n_inputs=6, rbf_width=0.0, **good)
    with pytest.raises(ConfigError, match="max_rate"):
        RBF(n_inputs=6, max_rate=1.5, **good)
    part = RBF(n_inputs=6, batch_size=3, **good)
    with pytest.raises(ValueError, match=r"RBF.update: observations of lanes \[1, 2\] contain NaN"):
        part.update(np.array([[0.0, 0.0], [np.nan, 0.0], [0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"RBF.update: got observations of shape \(3, 3\).*\(3, 2\)"):
        part.update(np.zeros((3, 3)))


# -- TTFS -----------------------------------------------------------------------------------------
def test_ttfs_spike_timing_is_exact():
    rng = np.random.default_rng(0)
    W, B, n = 10, 4, 50
    values = rng.random((2, B, n))
    values[:, :, :5] = 0.0       # never fire
    values[:, :, 5:8] = 1.0      # fire at step 0
    values[0, 0, 8:12] = [0.5, 0.5 / 9, 1.5 / 9, 1 - 4.5 / 9]  # round-half cases
    part = TTFS(n_inputs=n, ttfs_window=W, batch_size=B)
    out = run(part, values, W + 3).reshape(2, W + 3, B, n)
    for g in range(2):
        for b in range(B):
            for k in range(n):
                v = values[g, b, k]
                train = out[g, :, b, k]
                if v == 0:
                    assert not train.any()
                else:
                    expected = round((1 - v) * (W - 1))
                    assert np.flatnonzero(train).tolist() == [expected], (g, b, k, v)
    # each nonzero input fires exactly once per game step
    assert (out.sum(axis=1) == (values > 0)).all()


def test_ttfs_state_maps_and_clipping():
    part = TTFS(n_inputs=3, ttfs_window=3, state_value_map={"a": [1.0, 0.5, 0.0], "b": [0.0, 0.0, 1.0]},
                batch_size=2)
    part.update(np.array(["b", "a"]))
    np.testing.assert_array_equal(part.fire_step, [[-1, -1, 0], [0, 1, -1]])
    part = TTFS(n_inputs=2, ttfs_window=5, state_value_map=np.array([[1.0, 0.25], [0.0, 0.75]]),
                batch_size=2)
    part.update(np.array([1, 0]))
    np.testing.assert_array_equal(part.fire_step, [[-1, 1], [0, 3]])
    part = TTFS(n_inputs=3, ttfs_window=5)
    part.update(np.array([[7.0, -2.0, 0.5]]))  # clipped to [1, 0, 0.5]
    np.testing.assert_array_equal(part.fire_step, [[0, -1, 2]])


def test_ttfs_errors():
    with pytest.raises(ConfigError, match=r"TTFS: 'state_value_map' gives values \[1.5, 0.0\] .*\[0, 1\]"):
        TTFS(n_inputs=2, state_value_map={0: [1.5, 0.0]})
    with pytest.raises(ConfigError, match=r"shape \(3,\) for state 0; expected \(2,\)"):
        TTFS(n_inputs=2, state_value_map={0: [1.0, 0.0, 0.0]})
    with pytest.raises(ConfigError, match="ttfs_window"):
        TTFS(n_inputs=2, ttfs_window=0)
    part = TTFS(n_inputs=2, batch_size=2)
    with pytest.raises(ValueError, match=r"TTFS.update: intensities of lanes \[0\] contain NaN"):
        part.update(np.array([[np.nan, 0.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"got intensities of shape \(2, 3\)"):
        part.update(np.zeros((2, 3)))
    part = TTFS(n_inputs=2, state_value_map={0: [1.0, 0.0]})
    with pytest.raises(KeyError, match="TTFS: lane 0 has state 1, which is not in 'state_value_map'"):
        part.update(np.array([1]))


def test_template_requires_spikes():
    with pytest.raises(NotImplementedError, match="Input must define spikes"):
        Input(n_inputs=2)()


# -- RateCode -----------------------------------------------------------------------------------
def test_rate_code_rates_follow_feature_values():
    inputs = RateCode(n_inputs=8, n_features=4, max_rate=0.5, batch_size=2, seed=1)
    x = np.array([[0.0, 0.2, 1.0, 1.7], [0.5, -0.3, 0.9, 0.1]])
    spikes = run(inputs, [x], 4000)
    # each feature drives 2 consecutive inputs at 0.5 * clip(x, 0, 1)
    expected = 0.5 * np.repeat(np.clip(x, 0, 1), 2, axis=1)
    assert_rate(spikes, expected)
    # a game step's block equals stepping one network step at a time
    a = RateCode(n_inputs=8, n_features=4, max_rate=0.5, batch_size=2, seed=3)
    b = RateCode(n_inputs=8, n_features=4, max_rate=0.5, batch_size=2, seed=3)
    a.update(x), b.update(x)
    np.testing.assert_array_equal(a.block(7), np.stack([b() for _ in range(7)]))


def test_rate_code_errors_name_the_culprit():
    with pytest.raises(ConfigError, match="n_inputs.*multiple of n_features = 3"):
        RateCode(n_inputs=7, n_features=3)
    inputs = RateCode(n_inputs=3, n_features=3, batch_size=2)
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*expected \(2, 3\)"):
        inputs.update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"lanes \[1\] are not finite"):
        inputs.update(np.array([[0.1, 0.2, 0.3], [0.1, np.nan, 0.3]]))


@pytest.mark.parametrize("name", ["RateMap", "RBF", "RateCode"])
def test_block_of_a_game_step_equals_stepping(name):
    """Variants that draw a game step's spikes at once give exactly the step-by-step spikes."""
    cls, config, states = VARIANTS[name]
    a, b = (cls(batch_size=3, seed=[4, 5, 6], input_pct_inhibitory=0.5, **config) for _ in range(2))
    for state in states:
        a.update(np.array(state)), b.update(np.array(state))
        np.testing.assert_array_equal(a.block(STEPS), np.stack([b() for _ in range(STEPS)]))
