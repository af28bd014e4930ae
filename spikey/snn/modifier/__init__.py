"""Parameter schedules and homeostasis applied between game steps while a network runs."""
from spikey.snn.modifier.template import Modifier
from spikey.snn.modifier.linear import LinearSchedule
from spikey.snn.modifier.exponential import ExponentialSchedule
from spikey.snn.modifier.step import StepSchedule
from spikey.snn.modifier.synaptic_scaling import SynapticScaling
