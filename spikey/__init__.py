"""Spikey: spiking neural network experiments, batched.

Networks are assembled from parts (``spikey.snn``), driven by games
(``spikey.games``), run as experiments (``spikey.experiment``) and searched over
(``spikey.meta``).
"""
from spikey.module import (REQUIRED, ConfigError, Key, KeyRangeError, KeyTypeError, MissingKeyError,
                           Module, UnknownKeyError)
from spikey.backend import Backend

__version__ = "0.1.0"
