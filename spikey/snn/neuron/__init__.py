"""Neuron models."""
from spikey.snn.neuron.template import Neuron
from spikey.snn.neuron.lif import LIF
