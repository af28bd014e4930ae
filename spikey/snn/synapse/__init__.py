"""Synapses and plasticity rules."""
from spikey.snn.synapse.template import Synapse, TraceSTDP
from spikey.snn.synapse.static import Static
from spikey.snn.synapse.stdp import STDP
from spikey.snn.synapse.mstdp import MSTDP
from spikey.snn.synapse.mstdpet import MSTDPET
from spikey.snn.synapse.rlstdp import RLSTDP
