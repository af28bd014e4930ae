"""SynapticScaling: the output's input weights scaled together towards a target rate."""
import numpy as np
import pytest

from spikey.snn import LIF, Manual, RateMap, RLNetwork, Static, SynapticScaling, Threshold


def network(scale: float, batch: int = 2, **scaling):
    """Four inputs and one hidden neuron -> one output; the output's weights ``scale`` x (1, 2, 3, 4, 0.5)."""
    def matrix(rng):
        w = np.zeros((6, 2))
        w[:4, 0] = 0.8                                   # inputs -> hidden (not scaled)
        w[:4, 1] = scale * np.array([1.0, 2.0, 3.0, 4.0])
        w[4, 1] = scale * 0.5                            # hidden -> output
        return w
    keys = dict(n_inputs=4, n_neurons=2, n_outputs=1, processing_time=20, matrix=matrix,
                state_rate_map={0: [0.3, 0.3, 0.3, 0.3]}, firing_threshold=1.0, potential_decay=0.2,
                max_weight=3.0, action_threshold=0.5)
    parts = dict(inputs=RateMap, neurons=LIF, weights=Manual, synapses=Static, readout=Threshold,
                 modifiers=[SynapticScaling(**{"target_rate": 0.1, "tau": 5.0, "eta": 0.1, **scaling})])
    return RLNetwork(parts=parts, keys=keys, batch_size=batch, seed=[0, 1][:batch])


def play(net, steps):
    rates = []
    for _ in range(steps):
        net.tick(np.zeros(net.batch_size, dtype=int))
        rates.append(net.output_counts.mean(axis=1) / net.processing_time)
    return np.array(rates)


@pytest.mark.parametrize("scale", [0.02, 0.7])
def test_output_rate_moves_to_the_target_from_silence_and_from_saturation(scale):
    net = network(scale)
    start = net.weights.matrix.copy()
    before = play(net, 3)
    rates = play(net, 120)
    late = rates[-30:].mean()
    assert abs(late - 0.1) < 0.05, (before.mean(), late)
    assert abs(before.mean() - 0.1) > 0.1 or scale < 0.1      # it started far from the target
    w = net.weights.matrix
    np.testing.assert_array_equal(w[:, :, 0], start[:, :, 0])  # the hidden neuron's inputs untouched
    nonzero = start[:, :, 1] > 0
    ratio = w[:, :, 1][nonzero].reshape(2, -1) / start[:, :, 1][nonzero].reshape(2, -1)
    unclipped = w[:, :, 1][nonzero].reshape(2, -1) < 3.0
    for lane in range(2):                                       # one factor per lane (below the bound)
        np.testing.assert_allclose(ratio[lane][unclipped[lane]], ratio[lane][unclipped[lane]][0], rtol=1e-5)
    assert (w <= 3.0).all() and (w >= 0).all()


def test_scaling_pauses_in_eval_and_refuses_bad_settings():
    net = network(0.02).eval()
    start = net.weights.matrix.copy()
    play(net, 10)
    np.testing.assert_array_equal(net.weights.matrix, start)
    for bad in (dict(target_rate=0.0), dict(target_rate=0.1, tau=0.5), dict(target_rate=0.1, eta=-1.0),
                dict(target_rate=float("nan"))):
        with pytest.raises(ValueError, match="SynapticScaling"):
            SynapticScaling(**bad)
