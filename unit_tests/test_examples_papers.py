"""The paper-replication scripts: Florian (2007) Fig. 1 and Izhikevich (2007) conditioning.

The scripts live in examples/ (not a package); they are imported from their
files. Florian's numbers are checked against closed forms and a plain loop
written here; the conditioning experiment against its paper's claim (the
rewarded stimuli's response rises >= 3x above the others', a learning-rate-0
control stays flat), in its fast variant by default and in full under -m slow.
"""
import math
import pathlib

import numpy as np
import pytest

from spikey.snn import DelayedReward

from example_scripts import load_example as load




fig1 = load("florian_fig1")
cond = load("izhikevich_conditioning")

GAMMA, TAU, TAU_Z = 0.2, 20.0, 25.0
DTS = np.arange(-50, 51)


def is_png(path):
    data = pathlib.Path(path).read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


# -- Florian (2007) Fig. 1 -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def curves():
    return {rule: fig1.weight_change_curve(rule, DTS, gamma=GAMMA, tau_z=TAU_Z, tau=TAU)
            for rule in ("MSTDP", "MSTDPET")}


def test_mstdp_curve_is_the_exponential_stdp_window(curves):
    m = curves["MSTDP"]
    after, before = DTS > 0, DTS < 0
    assert (m[after] > 0).all() and (m[before] < 0).all() and m[DTS == 0] == 0
    np.testing.assert_allclose(m[after], GAMMA * np.exp(-DTS[after] / TAU), rtol=1e-12)
    np.testing.assert_allclose(m[before], -GAMMA * np.exp(DTS[before] / TAU), rtol=1e-12)
    # |Δw| decays like exp(-|Δt|/τ): constant log slope on each side.
    np.testing.assert_allclose(np.diff(np.log(m[after])), -1 / TAU, rtol=1e-9)
    np.testing.assert_allclose(np.diff(np.log(-m[before])), 1 / TAU, rtol=1e-9)


def oracle_mstdpet_pair(dt, t_pre, steps, gamma=GAMMA, tau=TAU, tau_z=TAU_Z, reward=1.0):
    """One pre and one post spike through Florian's MSTDPET equations, a plain loop."""
    p_plus = p_minus = z = dw = 0.0
    for t in range(steps):
        f_pre, f_post = float(t == t_pre), float(t == t_pre + dt)
        p_plus = p_plus * math.exp(-1 / tau) + f_pre
        p_minus = p_minus * math.exp(-1 / tau) - f_post
        z = z * math.exp(-1 / tau_z) + p_plus * f_post + p_minus * f_pre
        dw += gamma / tau_z * reward * z
    return dw


def test_mstdpet_curve_is_mstdp_times_the_eligibility_kernel_sum(curves):
    """Derived for the implemented equations: the trace credits a pairing made at step s over
    the T - s rewarded steps left, so ΔW_ET = ΔW_MSTDP * (1 - q^(T-s)) / (τ_z (1 - q))."""
    m, e = curves["MSTDPET"], curves["MSTDP"]
    t_pre, t_post, steps = fig1.pair_timing(DTS)
    q = math.exp(-1 / TAU_Z)
    gain = (1 - q ** (steps - np.maximum(t_pre, t_post))) / (TAU_Z * (1 - q))
    np.testing.assert_allclose(m, e * gain, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(fig1.eligibility_gain(DTS, TAU_Z), gain, rtol=1e-12)
    # Same sign structure as MSTDP, and with a long reward window the gain is 1/(τ_z(1-q)) ≈ 1.0201.
    assert (np.sign(m) == np.sign(e)).all()
    np.testing.assert_allclose(gain, 1 / (TAU_Z * (1 - q)), rtol=1e-4)
    for dt in (-30, -7, -1, 1, 4, 33):
        i = int(np.flatnonzero(DTS == dt)[0])
        assert m[i] == pytest.approx(oracle_mstdpet_pair(dt, int(t_pre[i]), steps), rel=1e-10)


def test_short_reward_window_attenuates_late_pairings():
    """With the reward ending 5 steps after the pair, MSTDPET credits a pairing for 5-6 steps only."""
    dts = np.array([-10, 10])
    e = fig1.weight_change_curve("MSTDPET", dts, tail=5)
    m = fig1.weight_change_curve("MSTDP", dts, tail=5)
    q = math.exp(-1 / TAU_Z)
    # Both pre spikes fall on step 15; the run ends at step 30. Δt = -10 pairs at step 15
    # (16 rewarded steps left), Δt = +10 at step 25 (6 left).
    np.testing.assert_allclose(e / m, (1 - q ** np.array([16, 6])) / (TAU_Z * (1 - q)), rtol=1e-10)
    assert abs(e[1]) < 0.25 * abs(m[1]) and abs(e[0]) > 0.45 * abs(m[0])


@pytest.fixture(scope="module")
def trace():
    return fig1.trace_experiment()


def test_fig1_trace_matches_plain_python_and_the_paper(trace):
    assert trace["max_abs_diff"] < 1e-6
    w = trace["w_mstdpet"]
    # REFERENCE 4.2: w rises smoothly from .2, peaks near .42 and ends near .32.
    assert w[0] == pytest.approx(0.2)
    assert 0.41 < w.max() < 0.43 and 0.31 < w[-1] < 0.33
    assert 125 < int(np.argmax(w)) < 150
    # Spikey's traces are Florian's P+ and P-.
    np.testing.assert_allclose(trace["P_plus"], trace["ref_P_plus"], atol=1e-12)
    np.testing.assert_allclose(trace["P_minus"], trace["ref_P_minus"], atol=1e-12)
    np.testing.assert_allclose(trace["z"], trace["ref_z"], atol=1e-12)


def test_fig1_mstdpet_weight_is_smooth_and_mstdp_is_a_step_function(trace):
    et = np.abs(np.diff(trace["w_mstdpet"]))
    plain = np.abs(np.diff(trace["w_mstdp"]))
    span = np.ptp(trace["w_mstdpet"])
    assert et.max() < 0.05 * span            # no jumps: at most 5 % of its range per step
    assert (et > 0).sum() > 150              # it moves on most steps after the first pairing
    assert plain.max() > 0.5 * np.ptp(trace["w_mstdp"])
    spike_steps = set(np.flatnonzero(trace["pre"] + trace["post"]).tolist())
    assert set((np.flatnonzero(plain > 0) + 1).tolist()) <= spike_steps


def test_fig1_main_quick_writes_png(tmp_path):
    out = tmp_path / "fig1.png"
    result = fig1.main(["--quick", "--out", str(out)])
    assert is_png(out)
    assert result["trace"]["max_abs_diff"] < 1e-6
    assert len(result["dts"]) == 41


# -- Izhikevich (2007) conditioning: the delayed-reward parts ----------------------------------------
def pulses_of(rewarder, states, n_steps):
    """Drive ``rewarder`` for ``n_steps`` network steps, game state ``states[k]`` in game step k."""
    P = rewarder.params["processing_time"]
    return np.stack([rewarder(states[t // P], None) for t in range(n_steps)])


def test_delayed_reward_delivers_one_pulse_per_rewarded_onset_within_the_delay():
    P, low, high = 10, 3, 9
    rng = np.random.default_rng(1)
    states = rng.integers(0, 3, size=(41, 4))
    states[40:] = 0  # an unrewarded last game step, to collect the pulses still pending
    r = DelayedReward(rewarded_states=[1, 2], reward_delay=(low, high), processing_time=P,
                           dopamine_tau=0.0, batch_size=4, seed=10)
    out = pulses_of(r, states, 41 * P)
    for lane in range(4):
        onsets = [k * P for k in range(40) if states[k, lane] in (1, 2)]
        times = np.flatnonzero(out[:, lane])
        assert out[times, lane].tolist() == [1.0] * len(onsets)  # one unit pulse each, none lost
        delays = times - np.array(onsets)
        assert (delays >= low).all() and (delays <= high).all()
        assert len(set(delays.tolist())) > 3                     # really random
    # Lane 2 (seed 12) of the batch is the single rewarder seeded 12.
    single = DelayedReward(rewarded_states=[1, 2], reward_delay=(low, high), processing_time=P,
                                dopamine_tau=0.0, batch_size=1, seed=12)
    np.testing.assert_array_equal(pulses_of(single, states[:, 2:3], 41 * P)[:, 0], out[:, 2])


def test_delayed_reward_pulses_cross_game_steps_and_add_up():
    """Delay 7 with 5-step game steps: each pulse lands in the next game step; a fixed delay
    with back-to-back rewarded states gives one pulse per onset, 5 steps apart."""
    r = DelayedReward(rewarded_states=[1], reward_delay=(7, 7), processing_time=5,
                           dopamine_tau=0.0, batch_size=2, reward_mult=[1.0, 2.5])
    states = np.array([[1, 1], [0, 1], [1, 0], [0, 0], [0, 0]])
    out = pulses_of(r, states, 25)
    expected = np.zeros((25, 2))
    expected[[7, 17], 0] = 1.0
    expected[[7, 12], 1] = 2.5
    np.testing.assert_array_equal(out, expected)


def test_delayed_reward_dopamine_decays_with_tau():
    r = DelayedReward(rewarded_states=[0], reward_delay=(4, 4), processing_time=10,
                           dopamine_tau=7.0, batch_size=1)
    out = pulses_of(r, np.zeros((3, 1), dtype=int), 30)[:, 0]
    t = np.arange(30)
    expected = sum(np.where(t >= onset + 4, np.exp(-(t - onset - 4) / 7.0), 0.0) for onset in (0, 10, 20))
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_delayed_reward_checkpoint_resumes_exactly():
    keys = dict(rewarded_states=[1], reward_delay=(2, 12), processing_time=6, dopamine_tau=5.0, batch_size=3)
    states = np.random.default_rng(3).integers(0, 2, size=(12, 3))
    whole = pulses_of(DelayedReward(**keys), states, 72)
    first = DelayedReward(**keys)
    head = pulses_of(first, states[:5], 30)
    resumed = DelayedReward(**keys)
    resumed.load_state_dict(first.state_dict())
    tail = np.stack([resumed(states[t // 6], None) for t in range(30, 72)])
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)


def test_delayed_reward_rejects_bad_delays():
    with pytest.raises(ValueError, match="reward_delay"):
        DelayedReward(rewarded_states=[0], reward_delay=(0, 5), processing_time=10)
    with pytest.raises(ValueError, match="reward_delay"):
        DelayedReward(rewarded_states=[0], reward_delay=(5, 2), processing_time=10)


def test_random_stimulus_is_balanced_per_block():
    game = cond.RandomStimulus(n_states=10, batch_size=3, seed=0)
    states = [game.reset()[0]] + [game.step(np.zeros(3))[0] for _ in range(29)]
    blocks = np.stack(states).reshape(3, 10, 3)
    for block in blocks:
        assert (np.sort(block, axis=0) == np.arange(10)[:, None]).all()


def test_response_counts_output_spikes_in_the_window():
    network, game = cond.build([0, 1], [0.0, 0.0], trial_ms=120, w_init=3.0)
    state, _ = game.reset()
    for _ in range(3):
        network.tick(state)
        log = network.spike_log  # (B, 120, n_in + N), oldest first: this game step
        window = network.params["response_window"]
        counts = log[:, :window, network.n_inputs:].sum(axis=(1, 2))
        np.testing.assert_array_equal(network.response, counts)
        state, *_ = game.step(np.zeros(2))
    assert network.response.sum() > 0


# -- Izhikevich (2007) conditioning: the experiment ----------------------------------------------------
def check_conditioning(result, min_ratio=3.0):
    table, summary = result["table"], result["summary"]
    learning, control = summary[summary["learning_rate"] > 0], summary[summary["learning_rate"] == 0]
    # Every trained seed: rewarded stimuli's response >= 3x the unrewarded ones'.
    assert (learning["ratio_after"] >= min_ratio).all(), learning
    pooled = learning["rewarded_after"].mean() / learning["unrewarded_after"].mean()
    assert pooled >= min_ratio
    assert (learning["rewarded_after"] > 4 * learning["rewarded_before"]).all()
    # The control learns nothing: identical weights, and its ratio stays near 1 (sampling noise only).
    ctl = table[table["learning_rate"] == 0]
    np.testing.assert_array_equal(ctl["weight_after"], ctl["weight_before"])
    control_ratio = control["rewarded_after"].mean() / control["unrewarded_after"].mean()
    assert 0.5 < control_ratio < 2.0
    assert abs(ctl["rate_after"].mean() - ctl["rate_before"].mean()) < 1.5
    # The weights tell why: rewarded groups grew, the others barely (random credit only).
    trained = table[table["learning_rate"] > 0]
    grown = (trained["weight_after"] - trained["weight_before"]).groupby(trained["rewarded"]).mean()
    assert grown[True] > 10 * max(grown[False], 1e-9)
    return pooled, control_ratio


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("izh") / "conditioning.png"
    return cond.main(["--quick", "--out", str(out)])


def test_conditioning_quick_main_writes_png(quick_run):
    assert is_png(quick_run["out"])
    assert sorted(quick_run["summary"]["seed"].tolist()) == [0, 0, 1, 1]


def test_conditioning_fast_variant_learns_the_rewarded_stimuli(quick_run):
    """FAST: seeds 0, 1 (+ controls), 150 trials, delays 30-300 ms (the full clock scaled 3.3x)."""
    check_conditioning(quick_run)


@pytest.mark.slow
def test_conditioning_full_delays_up_to_one_second():
    """FULL: 4 seeds + 4 controls, 150 trials of 1.5 s, dopamine 100-1000 ms after the stimulus."""
    check_conditioning(cond.run(seeds=range(4), **cond.FULL))


@pytest.mark.slow
def test_conditioning_needs_the_eligibility_trace():
    """MSTDP (no trace) under the same delayed dopamine, even at 30x the rate, learns nothing selective."""
    config = dict(cond.FAST, learning_rate=30 * cond.FAST["learning_rate"])
    result = cond.run(seeds=range(2), control=False, rule="MSTDP", **config)
    table, summary = result["table"], result["summary"]
    grown = (table["weight_after"] - table["weight_before"]).groupby(table["rewarded"]).mean()
    assert abs(grown[True]) < 0.05 and abs(grown[False]) < 0.05
    assert (summary["ratio_after"] < 2).all()
