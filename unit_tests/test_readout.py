"""Readouts: Threshold, PopulationVector, TopAction and NeuronRates on hand-made spike counts."""
import numpy as np
import pytest

from spikey.backend import Backend
from spikey.module import ConfigError, KeyRangeError, UnknownKeyError
from spikey.snn.readout import NeuronRates, PopulationVector, Readout, Threshold, TopAction


# -- Threshold ----------------------------------------------------------------------------------
def test_threshold_number_compares_mean_rate():
    counts = np.array([[10, 0, 5], [30, 40, 20], [0, 0, 0], [25, 25, 25]], dtype=float)
    steps = 100
    readout = Threshold(n_outputs=3, action_threshold=0.25, output_range=[-1, 7], batch_size=4)
    actions = readout(counts, np.ones((4, 3)), steps)
    rates = counts.sum(axis=1) / 3 / steps           # 0.05, 0.30, 0, 0.25
    assert actions.tolist() == [-1, 7, -1, 7]          # 0.25 >= 0.25 switches
    assert readout.rates(counts, np.ones((4, 3)), steps) == pytest.approx(rates)


def test_threshold_signed_rates_with_inhibitory_outputs():
    counts = np.array([[10, 30], [30, 10]], dtype=float)
    polarities = np.array([[1, -1], [1, -1]], dtype=float)
    readout = Threshold(n_outputs=2, action_threshold=0.0, batch_size=2)
    assert readout.rates(counts, polarities, 20).tolist() == pytest.approx([-0.5, 0.5])
    assert readout(counts, polarities, 20).tolist() == [0, 1]
    # All outputs inhibitory: rates are negative, so a 0 threshold is never reached.
    assert readout(counts, -np.ones((2, 2)), 20).tolist() == [0, 0]


def test_threshold_mean_is_running_mean_of_past_rates_and_resets():
    rng = np.random.default_rng(5)
    steps, B = 10, 2
    sequence = [rng.integers(0, 11, size=(B, 2)).astype(float) for _ in range(8)]
    readout = Threshold(n_outputs=2, action_threshold="mean", batch_size=B)

    def expected_actions():
        history, out = [], []
        for counts in sequence:
            rate = counts.mean(axis=1) / steps
            threshold = np.mean(history, axis=0) if history else np.zeros(B)
            out.append((rate >= threshold).astype(int).tolist())
            history.append(rate)
        return out

    got = [readout(c, np.ones((B, 2)), steps).tolist() for c in sequence]
    assert got == expected_actions()
    assert readout.rate_count.tolist() == [8, 8]
    # reset() forgets the past rates: the same sequence gives the same actions again.
    readout.reset()
    assert [readout(c, np.ones((B, 2)), steps).tolist() for c in sequence] == expected_actions()


def test_threshold_mean_threshold_values():
    readout = Threshold(n_outputs=1, action_threshold="mean")
    # rates 0.5, 0.1, 0.4, 0.3; thresholds 0, 0.5, 0.3, 1/3
    actions = [readout(np.array([[c]]), np.ones((1, 1)), 10)[0] for c in (5, 1, 4, 3)]
    assert actions == [1, 0, 1, 0]
    readout.reset()
    assert readout(np.array([[0]]), np.ones((1, 1)), 10)[0] == 1      # threshold back to 0


def test_threshold_median_is_median_of_the_last_window_rates():
    rng = np.random.default_rng(7)
    steps, B, window = 10, 3, 5
    sequence = [rng.integers(0, 11, size=(B, 2)).astype(float) for _ in range(12)]
    readout = Threshold(n_outputs=2, action_threshold="median", threshold_window=window, batch_size=B)
    history, got, expected = [], [], []
    for counts in sequence:
        rate = counts.mean(axis=1) / steps
        threshold = np.median(history[-window:], axis=0) if history else np.zeros(B)
        expected.append((rate >= threshold).astype(int).tolist())
        got.append(readout(counts, np.ones((B, 2)), steps).tolist())
        history.append(rate)
    assert got == expected
    readout.reset()                                   # forgets: threshold back to 0
    assert readout(np.zeros((B, 2)), np.ones((B, 2)), steps).tolist() == [1, 1, 1]


def test_threshold_median_splits_balanced_patterns_where_mean_fails():
    # XOR-like rates: 00 silent, 11 just below the true patterns. The mean of
    # the four rates lies below 11's rate; the median lies between 11 and 01/10.
    rates = {"00": 0.0, "01": 0.40, "10": 0.38, "11": 0.30}
    order = ["00", "01", "10", "11"] * 10
    outcome = {}
    for mode in ("mean", "median"):
        readout = Threshold(n_outputs=1, action_threshold=mode, threshold_window=16)
        actions = [readout(np.array([[rates[p] * 100]]), np.ones((1, 1)), 100)[0] for p in order]
        outcome[mode] = dict(zip(order[-4:], actions[-4:]))
    assert outcome["median"] == {"00": 0, "01": 1, "10": 1, "11": 0}
    assert outcome["mean"]["11"] == 1


def test_threshold_without_outputs():
    readout = Threshold(n_outputs=0, action_threshold=0.1, batch_size=3)
    counts = np.zeros((3, 0))
    assert readout(counts, np.ones((3, 0)), 10).tolist() == [0, 0, 0]
    assert Threshold(n_outputs=0, action_threshold=0.0, batch_size=3)(counts, counts, 10).tolist() == [1, 1, 1]


def test_threshold_bad_keys_name_the_part():
    with pytest.raises(ValueError, match="'median'"):
        Threshold(n_outputs=1, action_threshold="mode")
    with pytest.raises(ConfigError, match="threshold_window"):
        Threshold(n_outputs=1, action_threshold="median", threshold_window=0)
    with pytest.raises(ValueError, match="Threshold.*action_threshold.*'mode'"):
        Threshold(n_outputs=1, action_threshold="mode")
    with pytest.raises(ValueError, match="Threshold.*output_range"):
        Threshold(n_outputs=1, action_threshold=0.1, output_range=[0, 1, 2])


# -- pools and PopulationVector -------------------------------------------------------------------
def test_pools_five_outputs_two_actions():
    readout = PopulationVector(n_outputs=5, n_actions=2)
    assert readout.pools(2).tolist() == [0, 2, 5]
    assert np.diff(readout.pools(3)).tolist() in ([2, 1, 2], [1, 2, 2], [2, 2, 1])
    assert readout.pools(5).tolist() == [0, 1, 2, 3, 4, 5]
    assert readout.membership.sum(axis=0).tolist() == [2, 3]


def test_population_vector_values_unequal_pools():
    counts = np.array([[1, 2, 3, 4, 5], [0, 0, 7, 0, 0], [0, 0, 0, 0, 0], [4, 0, 0, 0, 1]], dtype=float)
    readout = PopulationVector(n_outputs=5, n_actions=2, batch_size=4)
    polarities = np.array([[1, -1, 1, -1, 1]] * 4, dtype=float)   # polarity does not matter
    vector = readout(counts, polarities, 50)
    pool_a, pool_b = counts[:, :2].sum(axis=1), counts[:, 2:].sum(axis=1)
    total = pool_a + pool_b
    expected = np.stack([pool_a, pool_b], axis=1) / np.where(total == 0, 1, total)[:, None]
    expected[total == 0] = 0.5
    assert isinstance(vector, np.ndarray) and vector.shape == (4, 2)
    np.testing.assert_allclose(vector, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(vector.sum(axis=1), 1.0)
    assert vector[1].tolist() == [0.0, 1.0] and vector[3].tolist() == [0.8, 0.2]


def test_population_vector_three_actions_silent_lane_uniform():
    readout = PopulationVector(n_outputs=3, n_actions=3, batch_size=2)
    vector = readout(np.array([[0, 0, 0], [2, 6, 0]]), np.ones((2, 3)), 10)
    np.testing.assert_allclose(vector, [[1 / 3, 1 / 3, 1 / 3], [0.25, 0.75, 0.0]])


def test_n_actions_change_through_set_param_repools():
    readout = PopulationVector(n_outputs=4, n_actions=2)
    readout.set_param("n_actions", 4)
    assert readout(np.array([[1, 1, 2, 0]]), np.ones((1, 4)), 1).tolist() == [[0.25, 0.25, 0.5, 0.0]]


# -- TopAction ------------------------------------------------------------------------------------
def test_top_action_clear_winner():
    readout = TopAction(n_outputs=5, n_actions=2, batch_size=3)
    counts = np.array([[3, 3, 1, 1, 1], [0, 1, 0, 0, 2], [0, 0, 0, 0, 1]])
    actions = readout(counts, np.ones((3, 5)), 10)
    # pool sums: [6, 3] -> 0, [1, 2] -> 1, [0, 1] -> 1
    assert actions.tolist() == [0, 1, 1]
    assert actions.shape == (3,) and np.issubdtype(actions.dtype, np.integer)


def _chi_square(frequencies, n):
    expected = n / len(frequencies)
    return float(((np.asarray(frequencies) - expected) ** 2 / expected).sum())


def test_top_action_tie_break_is_uniform_over_tied_actions():
    # All three actions tied (silent outputs): uniform over {0, 1, 2}.
    readout = TopAction(n_outputs=3, n_actions=3, seed=11)
    n = 3000
    silent = np.zeros((1, 3))
    actions = np.array([readout(silent, np.ones((1, 3)), 10)[0] for _ in range(n)])
    frequencies = np.bincount(actions, minlength=3)
    assert _chi_square(frequencies, n) < 13.8          # chi-square, 2 dof, p = 0.001
    # Actions 0 and 2 tied, 1 behind: never 1, and 0/2 equally likely.
    counts = np.array([[4, 1, 4]])
    actions = np.array([readout(counts, np.ones((1, 3)), 10)[0] for _ in range(n)])
    assert not (actions == 1).any()
    assert _chi_square(np.bincount(actions, minlength=3)[[0, 2]], n) < 10.8   # 1 dof, p = 0.001


def test_top_action_tie_break_uniform_across_lanes():
    # Many lanes in one call: each lane draws from its own stream.
    B = 2000
    readout = TopAction(n_outputs=4, n_actions=4, batch_size=B, seed=3)
    actions = readout(np.ones((B, 4)), np.ones((B, 4)), 10)
    assert _chi_square(np.bincount(actions, minlength=4), B) < 16.3       # 3 dof, p = 0.001


def _tie_sequence(rounds=40, B=3):
    rng = np.random.default_rng(0)
    # Small counts so that ties are frequent; the same counts for every lane.
    return [np.repeat(rng.integers(0, 2, size=(1, 4)), B, axis=0).astype(float) for _ in range(rounds)]


def test_top_action_reproducible_per_seed_and_lane_equivalent():
    sequence = _tie_sequence()
    batch = TopAction(n_outputs=4, n_actions=4, batch_size=3, seed=[1, 2, 3])
    batch_actions = np.array([batch(c, np.ones((3, 4)), 5) for c in sequence])     # (T, 3)
    for lane, seed in enumerate([1, 2, 3]):
        single = TopAction(n_outputs=4, n_actions=4, batch_size=1, seed=seed)
        single_actions = np.array([single(c[lane:lane + 1], np.ones((1, 4)), 5)[0] for c in sequence])
        assert (single_actions == batch_actions[:, lane]).all()
    again = TopAction(n_outputs=4, n_actions=4, batch_size=3, seed=[1, 2, 3])
    assert (np.array([again(c, np.ones((3, 4)), 5) for c in sequence]) == batch_actions).all()
    # The tie-break really is random: lanes with different seeds disagree somewhere.
    assert not (batch_actions[:, 0] == batch_actions[:, 1]).all()


def test_top_action_checkpoint_continues_the_stream():
    sequence = _tie_sequence(30, B=2)
    readout = TopAction(n_outputs=4, n_actions=4, batch_size=2, seed=7)
    for c in sequence[:10]:
        readout(c, np.ones((2, 4)), 5)
    state = readout.state_dict()
    rest = [readout(c, np.ones((2, 4)), 5).tolist() for c in sequence[10:]]
    restored = TopAction(n_outputs=4, n_actions=4, batch_size=2, seed=7)
    restored.load_state_dict(state)
    assert [restored(c, np.ones((2, 4)), 5).tolist() for c in sequence[10:]] == rest


def test_torch_backend_gives_the_same_results():
    torch = pytest.importorskip("torch")
    sequence = _tie_sequence(25, B=3)
    polarities = np.ones((3, 4))
    tb = Backend("torch")
    for cls, keys in ((TopAction, dict(n_actions=2)), (TopAction, dict(n_actions=4)),
                      (PopulationVector, dict(n_actions=3)), (NeuronRates, dict(n_actions=3))):
        on_numpy = cls(n_outputs=4, batch_size=3, seed=[1, 2, 3], **keys)
        on_torch = cls(n_outputs=4, batch_size=3, seed=[1, 2, 3], backend=tb, **keys)
        for counts in sequence:
            a = on_numpy(counts.astype(np.float32), polarities, 5)
            b = on_torch(torch.as_tensor(counts, dtype=torch.float32), torch.ones(3, 4), 5)
            assert isinstance(b, np.ndarray)
            np.testing.assert_array_equal(a, b)


# -- NeuronRates ----------------------------------------------------------------------------------
def test_neuron_rates_unequal_pools_and_unsigned():
    counts = np.array([[1, 2, 3, 4, 5], [10, 0, 0, 0, 20]], dtype=float)
    steps = 20
    readout = NeuronRates(n_outputs=5, n_actions=2, batch_size=2)
    expected = np.stack([counts[:, :2].sum(axis=1) / 2, counts[:, 2:].sum(axis=1) / 3], axis=1) / steps
    inhibitory = -np.ones((2, 5))
    rates = readout(counts, inhibitory, steps)
    assert isinstance(rates, np.ndarray) and rates.shape == (2, 2)
    np.testing.assert_allclose(rates, expected, rtol=1e-15)
    np.testing.assert_allclose(rates, [[0.075, 0.2], [0.25, 1 / 3]])
    np.testing.assert_array_equal(readout(counts, np.ones((2, 5)), steps), rates)


def test_neuron_rates_zero_actions_means_one_per_output():
    counts = np.array([[4, 0, 8]], dtype=float)
    rates = NeuronRates(n_outputs=3, n_actions=0)(counts, np.ones((1, 3)), 8)
    np.testing.assert_allclose(rates, [[0.5, 0.0, 1.0]])


def test_neuron_rates_without_outputs():
    readout = NeuronRates(n_outputs=0, n_actions=0, batch_size=2)
    assert readout(np.zeros((2, 0)), np.zeros((2, 0)), 10).shape == (2, 0)


def test_neuron_rates_bad_steps_and_shapes():
    readout = NeuronRates(n_outputs=3, n_actions=0, batch_size=2)
    with pytest.raises(ValueError, match="NeuronRates.*steps"):
        readout(np.zeros((2, 3)), np.ones((2, 3)), 0)
    with pytest.raises(ValueError, match=r"NeuronRates.*\(2, 3\)"):
        readout(np.zeros((2, 4)), np.ones((2, 4)), 10)
    with pytest.raises(ValueError, match=r"PopulationVector.*\(1, 3\)"):
        PopulationVector(n_outputs=3, n_actions=1)(np.zeros((3,)), np.ones(3), 10)


# -- errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [PopulationVector, TopAction, NeuronRates])
def test_more_actions_than_outputs_names_the_part(cls):
    with pytest.raises(KeyRangeError) as info:
        cls(n_outputs=2, n_actions=3)
    assert info.value.part == cls.__name__ and info.value.key == "n_actions"
    assert cls.__name__ in str(info.value) and "n_actions" in str(info.value) and "n_outputs = 2" in str(info.value)
    readout = cls(n_outputs=2, n_actions=2)
    with pytest.raises(KeyRangeError, match=cls.__name__):
        readout.set_param("n_outputs", 1)


@pytest.mark.parametrize("cls", [PopulationVector, TopAction])
def test_population_readouts_need_an_action_and_outputs(cls):
    with pytest.raises(KeyRangeError, match=f"{cls.__name__}: key 'n_actions' = 0"):
        cls(n_outputs=2, n_actions=0)
    with pytest.raises(ConfigError, match=cls.__name__):
        cls(n_outputs=0, n_actions=1)
    with pytest.raises(UnknownKeyError, match="n_actions"):
        cls(n_outputs=2, n_action=1)


def test_template_pools_error_names_the_part():
    class Pooled(Readout):
        pass
    with pytest.raises(KeyRangeError, match="Pooled: key 'n_actions' = 4 exceeds n_outputs = 3"):
        Pooled(n_outputs=3).pools(4)


# -- inside a network --------------------------------------------------------------------------------
def test_readouts_inside_a_network():
    pytest.importorskip("torch")
    from spikey.snn import LIF, Manual, Network, RateMap, Static

    class Net(Network):
        parts = {"inputs": RateMap, "neurons": LIF, "weights": Manual, "synapses": Static,
                 "readout": TopAction}
        keys = {"n_inputs": 2, "n_neurons": 4, "n_outputs": 4, "n_actions": 2, "processing_time": 10,
                "firing_threshold": 0.5, "potential_decay": 0.0, "max_weight": 1.0,
                "matrix": np.array([[1, 1, 0, 0], [0, 0, 1, 1]] + [[0] * 4] * 4, dtype=float),
                "state_rate_map": {0: [1.0, 0.0], 1: [0.0, 1.0]}}

    for backend in ("numpy", "torch"):
        net = Net(batch_size=2, backend=backend)
        # Input 0 drives pool 0 (outputs 0, 1), input 1 drives pool 1 (outputs 2, 3).
        assert net.tick(np.array([0, 1])).tolist() == [0, 1]
        rates = Net(parts={"readout": NeuronRates}, batch_size=2, backend=backend)
        out = rates.tick(np.array([0, 1]))
        assert out.shape == (2, 2) and out[0, 0] > 0 and out[0, 1] == 0 and out[1, 0] == 0
