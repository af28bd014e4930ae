"""Rewarders."""
from spikey.snn.reward.template import Reward
from spikey.snn.reward.match_expected import MatchExpected
from spikey.snn.reward.function import RewardFunction
from spikey.snn.reward.delayed import DelayedReward
from spikey.snn.reward.cartpole_balance import CartPoleBalance
from spikey.snn.reward.pool_spikes import PoolSpikes
from spikey.snn.reward.game_reward import GameReward
from spikey.snn.reward.prediction_error import RewardPredictionError
from spikey.snn.reward.td_critic import TDCritic
