"""Neuron models."""
from spikey.snn.neuron.template import Neuron
from spikey.snn.neuron.lif import LIF
from spikey.snn.neuron.rand_potential import RandPotential
from spikey.snn.neuron.adaptive_lif import AdaptiveLIF
from spikey.snn.neuron.izhikevich import Izhikevich
