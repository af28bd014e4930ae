"""Inputs: game state -> input spikes."""
from spikey.snn.input.template import Input
from spikey.snn.input.rate_map import RateMap
