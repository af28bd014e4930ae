"""Plots of networks, games and results, headless (matplotlib Figures, no pyplot state).

Every plot takes an optional ``ax`` to draw on and returns the Figure; ``save``
writes one atomically. Spike plots read a Network (its ``spike_log``) or a
spike log array; weight plots a Network or a weight matrix; result plots a
tidy pandas DataFrame such as ``spikey.experiment.run_episodes`` returns.

- ``raster``: spikes of one lane, time x neuron, groups coloured
- ``firing_rates``: group firing rates in a sliding window
- ``weight_histogram``: distribution of the present synapses' weights
- ``weight_matrix``: heatmap of the (n, N) weight matrix
- ``learning_curve``: a metric's mean per episode with an sd / CI / min-max band
- ``game_state``: game observations over time (e.g. CartPole x, theta)
- ``parameter_vs_fitness``: a hyperparameter against fitness, scatter + trend or boxes
- ``save``: atomic png / svg / pdf writer

Examples
--------
>>> import numpy as np
>>> from spikey.viz import raster
>>> fig = raster(np.eye(3, dtype=bool))
>>> len(fig.axes[0].collections[0].get_offsets())
3
"""
from spikey.viz.game_state import CARTPOLE_LABELS, game_state
from spikey.viz.learning_curve import learning_curve
from spikey.viz.parameter_fitness import parameter_vs_fitness
from spikey.viz.raster import raster
from spikey.viz.rates import firing_rates
from spikey.viz.save import save
from spikey.viz.weights import weight_histogram, weight_matrix

__all__ = ["raster", "firing_rates", "weight_histogram", "weight_matrix", "learning_curve", "game_state",
           "parameter_vs_fitness", "save", "CARTPOLE_LABELS"]
