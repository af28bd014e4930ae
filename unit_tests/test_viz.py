"""spikey.viz: each plot's artists hold the data it was given, saved files are whole, bad inputs are named."""
import os

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from spikey.experiment import run_episodes
from spikey.games import Logic, xor_gate
from spikey.snn import LIF, MSTDP, MatchExpected, RateMap, Random, RLNetwork, Threshold
from spikey.viz import (CARTPOLE_LABELS, firing_rates, game_state, learning_curve, parameter_vs_fitness,
                        raster, save, weight_histogram, weight_matrix)
from spikey.viz.learning_curve import spread_band


class SmallXOR(RLNetwork):
    parts = dict(inputs=RateMap, neurons=LIF, weights=Random, synapses=MSTDP, readout=Threshold,
                 rewarder=MatchExpected)
    keys = dict(n_inputs=4, n_neurons=6, n_outputs=2, processing_time=10, spike_log_length=40,
                state_rate_map={(0, 0): [0, 0], (0, 1): [0, .5], (1, 0): [.5, 0], (1, 1): [.5, .5]},
                input_pct_inhibitory=0.25, firing_threshold=0.8, potential_decay=0.2, prob_rand_fire=0.05,
                max_weight=1.5, connection_prob=0.6, learning_rate=0.05, action_threshold=0.1,
                expected_value=xor_gate)


@pytest.fixture(scope="module")
def trained():
    """A B=3 network after 3 episodes of 4 XOR steps, and run_episodes' frame (9 rows)."""
    network = SmallXOR(batch_size=3, seed=5)
    frame = run_episodes(network, Logic("XOR", batch_size=3, seed=5), 3, 4)
    return network, frame


def offsets(ax):
    """(x, y) of every scatter point on ``ax``, all collections together."""
    return np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])


# -- raster ----------------------------------------------------------------------------------------
def test_raster_of_network_draws_every_spike_at_its_step_and_neuron(trained):
    network, _ = trained
    log = network.spike_log  # (3, 40, 10)
    assert log[2].sum() > 20  # the network is active: the test compares real points
    fig = raster(network, lane=2)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.collections] == ["inputs (4)", "hidden (4)", "outputs (2)"]
    points = offsets(ax)
    assert len(points) == log[2].sum()
    times, neurons = np.nonzero(log[2])
    expected = sorted(zip(times.tolist(), neurons.tolist()))
    assert sorted(map(tuple, points.astype(int).tolist())) == expected
    # each group holds exactly its own neurons
    for collection, (first, stop) in zip(ax.collections, [(0, 4), (4, 8), (8, 10)]):
        ys = collection.get_offsets()[:, 1]
        assert len(ys) == log[2][:, first:stop].sum() and ((ys >= first) & (ys < stop)).all()
    # group separators between inputs|hidden and hidden|outputs
    assert sorted(line.get_ydata()[0] for line in ax.lines) == [3.5, 7.5]


def test_raster_accepts_numpy_and_torch_logs_and_scales_time(trained):
    network, _ = trained
    log = network.spike_log
    from_numpy = offsets(raster(log, lane=1).axes[0])
    from_torch = offsets(raster(torch.as_tensor(log), lane=1).axes[0])
    np.testing.assert_array_equal(from_numpy, from_torch)
    single = offsets(raster(log[1].astype(int), dt_ms=0.5, t0=100).axes[0])  # (T, n) of 0/1
    np.testing.assert_allclose(single[:, 0], (100 + from_numpy[:, 0]) * 0.5)
    np.testing.assert_array_equal(single[:, 1], from_numpy[:, 1])


def test_raster_draws_on_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert raster(np.eye(4, dtype=bool), ax=ax) is fig
    assert len(ax.collections[0].get_offsets()) == 4


def test_raster_errors_name_the_culprit(trained):
    network, _ = trained
    with pytest.raises(ValueError, match=r"lane = 3 is out of range; the data holds 3 lane\(s\)"):
        raster(network, lane=3)
    with pytest.raises(ValueError, match=r"lane = 1 is out of range; the data holds 1 lane"):
        raster(np.zeros((5, 4)), lane=1)
    with pytest.raises(ValueError, match=r"shape \(5,\); expected \(T, n\) or \(B, T, n\)"):
        raster(np.zeros(5))
    with pytest.raises(ValueError, match="n_inputs = 3 and n_outputs = 2 do not fit the 4 neurons"):
        raster(np.zeros((5, 4)), n_inputs=3, n_outputs=2)
    with pytest.raises(TypeError, match="ax = 'left'"):
        raster(np.zeros((5, 4)), ax="left")
    with pytest.raises(ValueError, match="dt_ms = -1"):
        raster(np.zeros((5, 4)), dt_ms=-1)


# -- firing rates ----------------------------------------------------------------------------------
def window_rates(spikes, first, stop, window):
    """Reference: spikes of neurons first..stop-1 in each full trailing window, per neuron per step."""
    return np.array([spikes[t - window + 1:t + 1, first:stop].sum() / (window * (stop - first))
                     for t in range(window - 1, len(spikes))])


def test_firing_rates_equal_windowed_spike_counts(trained):
    network, _ = trained
    log = network.spike_log
    fig = firing_rates(network, lane=0, window=7)
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["inputs (4)", "hidden (4)", "outputs (2)"]
    for line, (first, stop) in zip(lines, [(0, 4), (4, 8), (8, 10)]):
        np.testing.assert_allclose(line.get_ydata(), window_rates(log[0], first, stop, 7))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(6, 40))
    hz = firing_rates(log, lane=0, window=7, dt_ms=2.0, groups=False).axes[0].lines
    assert len(hz) == 1
    np.testing.assert_allclose(hz[0].get_ydata(), window_rates(log[0], 0, 10, 7) * 500.0)
    np.testing.assert_array_equal(hz[0].get_xdata(), np.arange(6, 40) * 2.0)
    mean = firing_rates(network, lane=None, window=7).axes[0].lines[2].get_ydata()
    np.testing.assert_allclose(mean, np.mean([window_rates(log[b], 8, 10, 7) for b in range(3)], axis=0))


def test_firing_rates_reject_bad_windows(trained):
    network, _ = trained
    with pytest.raises(ValueError, match="window = 41 is longer than the 40 logged steps"):
        firing_rates(network, window=41)
    with pytest.raises(ValueError, match="window = 0; expected a positive int"):
        firing_rates(network, window=0)
    with pytest.raises(ValueError, match="lane = -1 is out of range"):
        firing_rates(network, lane=-1)


# -- weights ---------------------------------------------------------------------------------------
def bar_heights(ax):
    return np.array([patch.get_height() for patch in ax.patches])


def test_weight_histogram_counts_present_synapses_by_pre_group(trained):
    network, _ = trained
    present = network.weights.mask_numpy[1]
    weights = network.weights.matrix[1]
    assert 0 < present.sum() < present.size  # sparse: absent synapses must be left out
    fig = weight_histogram(network, lane=1, bins=8)
    ax = fig.axes[0]
    heights = bar_heights(ax)
    assert heights.sum() == present.sum()
    n_input_synapses = present[:4].sum()
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"from inputs ({n_input_synapses})", f"from neurons ({present[4:].sum()})"]
    assert heights[:8].sum() == n_input_synapses  # first container: synapses from the inputs
    # the stacked bars together are the histogram of all present weights
    counts, _ = np.histogram(weights[present], bins=8)
    np.testing.assert_array_equal(heights[:8] + heights[8:], counts)


def test_weight_histogram_of_arrays_masks_and_shared_matrices():
    matrix = np.array([[0.1, 0.0, 0.4], [0.0, 0.9, 0.3], [0.2, 0.2, 0.0]])
    assert bar_heights(weight_histogram(matrix, bins=3).axes[0]).sum() == 6  # nonzero entries
    mask = np.ones((3, 3), dtype=bool)  # a zero that is a present synapse counts too
    heights = bar_heights(weight_histogram(torch.as_tensor(matrix), mask=mask, bins=3, split=False).axes[0])
    np.testing.assert_array_equal(heights, np.histogram(matrix, bins=3)[0])
    batch = np.stack([matrix, 2 * matrix])
    right = weight_histogram(batch, lane=1, bins=[0, 1, 2]).axes[0]
    np.testing.assert_array_equal(bar_heights(right), [5, 1])  # 0.2 0.4 0.4 0.6 0.8 | 1.8


def test_weight_histogram_errors_name_the_culprit(trained):
    network, _ = trained
    with pytest.raises(ValueError, match=r"lane = 5 is out of range; the data holds 3 lane"):
        weight_histogram(network, lane=5)
    with pytest.raises(ValueError, match=r"lane = 1 is out of range; the data holds 1 lane"):
        weight_histogram(np.ones((3, 2)), lane=1)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 2\); expected \(3, 2\)"):
        weight_histogram(np.ones((3, 2)), mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="no present synapses"):
        weight_histogram(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_inputs = 2 does not fit a \\(3, 2\\) weight matrix"):
        weight_histogram(np.ones((3, 2)), n_inputs=2)
    with pytest.raises(ValueError, match="bins = 'many'"):
        weight_histogram(np.ones((3, 2)), bins="many")


def test_weight_matrix_shows_present_weights_signed_by_polarity(trained):
    network, _ = trained
    fig = weight_matrix(network, lane=0)
    assert len(fig.axes) == 2  # the heatmap and its colour bar
    image = fig.axes[0].images[0].get_array()
    present = network.weights.mask_numpy[0]
    np.testing.assert_array_equal(image.mask, ~present)
    np.testing.assert_allclose(image.data[present], network.weights.matrix[0][present])
    assert sorted(line.get_ydata()[0] for line in fig.axes[0].lines if line.get_ydata()[0] == line.get_ydata()[1]) \
        == [3.5, 7.5]  # input rows | body rows | output rows
    signs = network.polarities[0]
    assert (signs < 0).any()  # the test needs an inhibitory row
    signed = weight_matrix(network, lane=0, signed=True, colorbar=False)
    assert len(signed.axes) == 1
    data = signed.axes[0].images[0].get_array()
    np.testing.assert_allclose(data.data[present], (network.weights.matrix[0] * signs[:, None])[present])
    assert data.min() < 0


def test_weight_plots_read_a_torch_backend_network():
    network = SmallXOR(batch_size=2, seed=9, backend="torch")
    assert isinstance(network.weights.matrix, torch.Tensor)
    matrix = network.weights.matrix.numpy()
    present = network.weights.mask_numpy[1]
    assert bar_heights(weight_histogram(network, lane=1).axes[0]).sum() == present.sum()
    image = weight_matrix(network, lane=1, signed=True).axes[0].images[0].get_array()
    np.testing.assert_allclose(image.data[present],
                               (matrix[1] * network.polarities[1].numpy()[:, None])[present])


def test_weight_matrix_errors_name_the_culprit():
    with pytest.raises(ValueError, match="signed=True needs the presynaptic polarities"):
        weight_matrix(np.ones((3, 2)), signed=True)
    with pytest.raises(ValueError, match=r"polarities have shape \(2,\); expected \(3,\)"):
        weight_matrix(np.ones((3, 2)), signed=True, polarities=[1, -1])
    with pytest.raises(ValueError, match=r"weight matrix has shape \(3,\)"):
        weight_matrix(np.ones(3))
    with pytest.raises(ValueError, match="n_outputs = 3; expected an int in 0..2"):
        weight_matrix(np.ones((3, 2)), n_outputs=3)


# -- learning curves -------------------------------------------------------------------------------
def test_learning_curve_lines_are_the_group_means(trained):
    _, frame = trained
    assert len(frame) == 9
    fig = learning_curve(frame, "output_rate", spread="sd")
    ax = fig.axes[0]
    expected = frame.groupby("episode")["output_rate"].mean()
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), expected.index)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), expected.to_numpy())
    # the band spans mean -+ sample sd: its polygon's extremes at each episode
    sd = frame.groupby("episode")["output_rate"].std().to_numpy()
    vertices = ax.collections[0].get_paths()[0].vertices
    for episode, mean, spread in zip(expected.index, expected.to_numpy(), sd):
        ys = vertices[np.isclose(vertices[:, 0], episode), 1]
        np.testing.assert_allclose([ys.min(), ys.max()], [mean - spread, mean + spread])


def test_learning_curve_bands_match_independent_statistics():
    frame = pd.DataFrame({"episode": [0, 0, 0, 1, 1, 1], "score": [1.0, 2.0, 6.0, 3.0, 3.0, 6.0]})
    stats = frame.groupby("episode")["score"].agg(["mean", "std", "count", "min", "max"])
    low, high = spread_band(stats, "ci", 0.95)
    t_975_2 = 4.302652729911275  # Student t quantile, 2 degrees of freedom
    sd0 = np.std([1.0, 2.0, 6.0], ddof=1)
    np.testing.assert_allclose([low[0], high[0]], [3 - t_975_2 * sd0 / np.sqrt(3), 3 + t_975_2 * sd0 / np.sqrt(3)])
    low, high = spread_band(stats, "minmax", 0.95)
    np.testing.assert_array_equal(low, [1.0, 3.0])
    np.testing.assert_array_equal(high, [6.0, 6.0])
    assert len(learning_curve(frame, "score", spread=None).axes[0].collections) == 0


def test_learning_curve_hue_draws_one_curve_per_value(trained):
    _, frame = trained
    runs = pd.concat([frame.assign(rule="MSTDP"), frame.assign(rule="STDP", game_reward=frame.game_reward / 2)])
    ax = learning_curve(runs, hue="rule", spread="ci").axes[0]
    assert [line.get_label() for line in ax.lines] == ["rule=MSTDP", "rule=STDP"]
    means = frame.groupby("episode")["game_reward"].mean().to_numpy()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), means)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), means / 2)
    # a second call on the same axes overlays
    fig = learning_curve(frame, "reward", ax=ax, label="reward")
    assert fig is ax.figure and len(ax.lines) == 3


def test_learning_curve_errors_list_the_columns(trained):
    _, frame = trained
    with pytest.raises(ValueError, match=r"metric = 'acuracy' is not a column.*Available columns: \['episode'"):
        learning_curve(frame, "acuracy")
    with pytest.raises(ValueError, match="hue = 'rule' is not a column"):
        learning_curve(frame, hue="rule")
    with pytest.raises(ValueError, match=r"spread = 'iqr'; expected one of \['sd', 'ci', 'minmax', None\]"):
        learning_curve(frame, spread="iqr")
    with pytest.raises(TypeError, match="metric column 'tag' has dtype .*; expected numbers"):
        learning_curve(frame.assign(tag="x"), "tag")
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        learning_curve(frame.to_dict())


# -- game state ------------------------------------------------------------------------------------
def cartpole_like(T=30, B=2):
    """(T, B, 4) observations: the pole angle grows until lane 1 falls at step 20."""
    t = np.arange(T)[:, None]
    states = np.zeros((T, B, 4))
    states[:, :, 0] = 0.01 * t * np.arange(1, B + 1)
    states[:, :, 2] = 0.002 * t ** 2 * np.arange(1, B + 1)
    done = np.zeros((T, B), dtype=bool)
    done[20:, 1] = True
    return states, done


def test_game_state_traces_the_chosen_dimensions_and_marks_termination():
    states, done = cartpole_like()
    fig = game_state(torch.as_tensor(states), lane=1, labels="cartpole", dims=["x", "theta"],
                     termination=done, dt=0.02)
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["x", "theta", "terminated"]
    np.testing.assert_allclose(lines[0].get_ydata(), states[:, 1, 0])
    np.testing.assert_allclose(lines[1].get_ydata(), states[:, 1, 2])
    np.testing.assert_allclose(lines[1].get_xdata(), np.arange(30) * 0.02)
    assert lines[2].get_xdata()[0] == pytest.approx(20 * 0.02)
    # lane 0 never terminated: no marker
    assert [line.get_label() for line in game_state(states, lane=0, termination=done).axes[0].lines] == \
        ["dim 0", "dim 1", "dim 2", "dim 3"]


def test_game_state_separate_subplots_and_2d_input():
    states, _ = cartpole_like()
    fig = game_state(states[:, 0], labels=CARTPOLE_LABELS, separate=True, termination=12)
    assert len(fig.axes) == 4
    assert [ax.get_ylabel() for ax in fig.axes] == list(CARTPOLE_LABELS)
    for k, ax in enumerate(fig.axes):
        np.testing.assert_allclose(ax.lines[0].get_ydata(), states[:, 0, k])
        assert ax.lines[1].get_xdata()[0] == 12


def test_game_state_errors_name_the_culprit():
    states, done = cartpole_like()
    with pytest.raises(ValueError, match=r"lane = 2 is out of range; the data holds 2 lane"):
        game_state(states, lane=2)
    with pytest.raises(ValueError, match=r"3 labels .* with 4 dimensions"):
        game_state(states, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="dims names 'omega'.*labels: \\['x', 'x_dot', 'theta', 'theta_dot'\\]"):
        game_state(states, labels="cartpole", dims=["omega"])
    with pytest.raises(ValueError, match="termination step 30 is beyond the 30 steps"):
        game_state(states, termination=30)
    with pytest.raises(ValueError, match=r"termination flags have shape \(29, 2\)"):
        game_state(states, termination=done[:29])
    with pytest.raises(ValueError, match=r"states have shape \(2, 3, 4, 5\)"):
        game_state(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="separate=True draws its own"):
        game_state(states, separate=True, ax=Figure().add_subplot())


# -- parameter vs fitness --------------------------------------------------------------------------
@pytest.fixture
def sweep():
    rng = np.random.default_rng(1)
    learning_rate = np.repeat([0.001, 0.01, 0.1], 4)
    return pd.DataFrame({"learning_rate": learning_rate, "neuron": np.tile(["LIF", "Izhikevich"], 6),
                         "plastic": np.tile([True, False, False], 4),
                         "accuracy": 0.5 + 0.1 * np.log10(learning_rate) / 3 + rng.normal(0, 0.05, 12)})


def test_parameter_vs_fitness_numeric_scatter_and_trends(sweep):
    ax = parameter_vs_fitness(sweep, "learning_rate", "accuracy").axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), sweep[["learning_rate", "accuracy"]])
    slope, intercept = np.polyfit(sweep.learning_rate, sweep.accuracy, 1)
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    np.testing.assert_allclose(y, slope * x + intercept)
    log_ax = parameter_vs_fitness(sweep, "learning_rate", "accuracy", logx=True).axes[0]
    assert log_ax.get_xscale() == "log"
    slope, intercept = np.polyfit(np.log10(sweep.learning_rate), sweep.accuracy, 1)
    x, y = log_ax.lines[0].get_xdata(), log_ax.lines[0].get_ydata()
    np.testing.assert_allclose(y, slope * np.log10(x) + intercept)
    mean_ax = parameter_vs_fitness(sweep, "learning_rate", "accuracy", trend="mean").axes[0]
    np.testing.assert_allclose(mean_ax.lines[0].get_ydata(), sweep.groupby("learning_rate").accuracy.mean())


def test_parameter_vs_fitness_categorical_boxes(sweep):
    ax = parameter_vs_fitness(sweep, "neuron", "accuracy").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Izhikevich", "LIF"]
    per_box = [c.get_offsets() for c in ax.collections]
    for position, name, points in zip([1, 2], ["Izhikevich", "LIF"], per_box):
        np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(sweep.accuracy[sweep.neuron == name]))
        assert (np.abs(points[:, 0] - position) <= 0.15).all()
    means = [line for line in ax.lines if line.get_label() == "mean"][0]
    np.testing.assert_allclose(means.get_ydata(), sweep.groupby("neuron").accuracy.mean())
    # bools are categories too; a numeric key can be forced to boxes
    assert [t.get_text() for t in parameter_vs_fitness(sweep, "plastic", "accuracy").axes[0].get_xticklabels()] \
        == ["False", "True"]
    forced = parameter_vs_fitness(sweep, "learning_rate", "accuracy", categorical=True).axes[0]
    assert [t.get_text() for t in forced.get_xticklabels()] == ["0.001", "0.01", "0.1"]


def test_parameter_vs_fitness_with_run_episodes_frame_and_errors(trained, sweep):
    _, frame = trained
    ax = parameter_vs_fitness(frame, "seed", "game_reward").axes[0]
    assert len(ax.collections[0].get_offsets()) == len(frame)
    with pytest.raises(ValueError, match=r"fitness = 'acuracy' is not a column.*Did you mean 'accuracy'"):
        parameter_vs_fitness(sweep, "learning_rate", "acuracy")
    with pytest.raises(TypeError, match="fitness column 'neuron' has dtype .*; expected numbers"):
        parameter_vs_fitness(sweep, "learning_rate", "neuron")
    with pytest.raises(ValueError, match="logx=True but key 'accuracy' has values <= 0"):
        parameter_vs_fitness(sweep.assign(accuracy=sweep.accuracy - 1), "accuracy", "learning_rate", logx=True)
    with pytest.raises(TypeError, match="categorical=False but key column 'neuron'"):
        parameter_vs_fitness(sweep, "neuron", "accuracy", categorical=False)
    with pytest.raises(ValueError, match="trend = 'cubic'"):
        parameter_vs_fitness(sweep, "learning_rate", "accuracy", trend="cubic")


# -- saving ----------------------------------------------------------------------------------------
def test_every_plot_saves_to_png_and_svg(trained, tmp_path):
    network, frame = trained
    states, done = cartpole_like()
    figures = {"raster": raster(network), "rates": firing_rates(network), "hist": weight_histogram(network),
               "matrix": weight_matrix(network), "curve": learning_curve(frame),
               "game": game_state(states, termination=done), "fitness": parameter_vs_fitness(frame, "seed", "reward")}
    for name, fig in figures.items():
        png = save(fig, tmp_path / "plots" / f"{name}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    svg = save(figures["raster"], str(tmp_path / "raster.svg"))
    assert b"<svg" in svg.read_bytes()[:1000]
    assert sorted(os.listdir(tmp_path)) == ["plots", "raster.svg"]  # no temporary files left
    assert len(os.listdir(tmp_path / "plots")) == len(figures)


def test_save_is_atomic_and_checks_its_arguments(tmp_path):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")
    fig = raster(np.eye(3, dtype=bool))

    def failing(handle, **kwargs):
        handle.write(b"half a file")
        raise RuntimeError("disk full")

    fig.savefig = failing
    with pytest.raises(RuntimeError, match="disk full"):
        save(fig, target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["figure.png"]
    with pytest.raises(ValueError, match=r"suffix '.jpeg'; expected one of \['.png', '.svg', '.pdf'\]"):
        save(raster(np.eye(3)), tmp_path / "figure.jpeg")
    with pytest.raises(TypeError, match="expected a matplotlib Figure"):
        save(raster(np.eye(3)).axes[0], tmp_path / "figure.png")
