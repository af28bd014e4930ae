"""Inputs: game state -> input spikes."""
from spikey.snn.input.template import Input
from spikey.snn.input.rate_map import RateMap
from spikey.snn.input.poisson import Poisson
from spikey.snn.input.static_map import StaticMap
from spikey.snn.input.rbf import RBF
from spikey.snn.input.rbf_grid import RBFGrid
from spikey.snn.input.ttfs import TTFS
from spikey.snn.input.rate_code import RateCode

__all__ = ["Input", "RateMap", "Poisson", "StaticMap", "RBF", "RBFGrid", "TTFS", "RateCode"]
