"""Readouts: output spikes -> actions."""
from spikey.snn.readout.template import Readout
from spikey.snn.readout.threshold import Threshold
from spikey.snn.readout.population_vector import PopulationVector
from spikey.snn.readout.top_action import TopAction
from spikey.snn.readout.neuron_rates import NeuronRates
