"""Readouts: output spikes -> actions."""
from spikey.snn.readout.template import Readout
from spikey.snn.readout.threshold import Threshold
