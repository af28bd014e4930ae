"""Weight matrices."""
from spikey.snn.weight.template import Weight
from spikey.snn.weight.manual import Manual, feedforward
from spikey.snn.weight.random import Random
