"""Spiking networks and their parts (inputs, neurons, weights, synapses, readouts, rewarders, modifiers)."""
from spikey.snn.part import Part
from spikey.snn.input import *  # noqa: F401,F403
from spikey.snn.neuron import *  # noqa: F401,F403
from spikey.snn.weight import *  # noqa: F401,F403
from spikey.snn.synapse import *  # noqa: F401,F403
from spikey.snn.readout import *  # noqa: F401,F403
from spikey.snn.reward import *  # noqa: F401,F403
from spikey.snn.modifier import *  # noqa: F401,F403
from spikey.snn.network import ActiveRLNetwork, Network, RLNetwork
