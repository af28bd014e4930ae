"""Games: batched environments that drive networks (gymnasium-style API)."""
from spikey.games.template import Game
from spikey.games.logic import Logic, and_gate, or_gate, truth_table, xor_gate
