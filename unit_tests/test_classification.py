"""Classification games: Digits' split, per-lane passes, rewards and labels; MNIST's IDX reading and errors."""
import gzip
import os
import struct

import numpy as np
import pytest
from sklearn.datasets import load_digits

from spikey.experiment import run_episodes
from spikey.games import MNIST, Digits, read_idx
from spikey.module import MissingKeyError
from spikey.snn import LIF, RBF, MatchExpected, Random, RLNetwork, STDP, TopAction

DIGITS = load_digits()


def row_keys(features):
    return sorted(map(tuple, np.round(np.asarray(features) * 16).astype(int).tolist()))


def test_digits_split_is_deterministic_disjoint_and_stratified():
    train, test = Digits(split="train"), Digits(split="test")
    assert (train.n_samples, test.n_samples, train.n_features, train.n_classes) == (1347, 450, 64, 10)
    assert train.observation_space.shape == (64,) and train.action_space.n == 10
    # Together the splits are the whole data set, each image once.
    whole = np.concatenate([train.observe(np.arange(1347)), test.observe(np.arange(450))])
    assert row_keys(whole) == row_keys(DIGITS.data / 16)
    assert sorted(np.concatenate([train.labels, test.labels]).tolist()) == sorted(DIGITS.target.tolist())
    # Stratified: every class has a quarter of its images in the test split (to within one image).
    for c in range(10):
        assert abs((test.labels == c).sum() - 0.25 * (DIGITS.target == c).sum()) <= 1
    # Deterministic for a split_seed, different for another; test_fraction sizes the split.
    np.testing.assert_array_equal(Digits(split="test").labels, test.labels)
    assert not np.array_equal(Digits(split="test", split_seed=1).labels, test.labels)
    assert Digits(split="test", test_fraction=0.1).n_samples == 180


def test_observations_labels_rewards_and_info():
    game = Digits(batch_size=4, seed=0)
    obs, info = game.reset()
    np.testing.assert_array_equal(obs, game.samples[game.index] / 16.0)
    assert obs.min() >= 0 and obs.max() <= 1 and obs.dtype == np.float64
    np.testing.assert_array_equal(info["label"], game.labels[game.index])
    np.testing.assert_array_equal(info["label"], game.label)
    # Each observation is a real digit image with its label.
    for b in range(4):
        matches = np.flatnonzero((DIGITS.data == obs[b] * 16).all(axis=1))
        assert DIGITS.target[matches[0]] == info["label"][b]
    answer = info["label"].copy()
    answer[[1, 3]] = (answer[[1, 3]] + 1) % 10
    obs2, reward, terminated, truncated, info2 = game.step(answer)
    assert reward.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert info2["correct"].tolist() == [True, False, True, False]
    np.testing.assert_array_equal(info2["target"], info["label"])
    np.testing.assert_array_equal(info2["label"], game.label)
    assert not terminated.any() and not truncated.any()
    # expected_value looks up the labels of the last two observations (for MatchExpected).
    rewarder = MatchExpected(expected_value=game.expected_value, batch_size=4)
    assert rewarder(obs, answer, obs2).tolist() == [1.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(game.expected_value(obs2), info2["label"])
    with pytest.raises(ValueError, match=r"lanes \[0, 1, 2, 3\] are neither the current nor the previous"):
        game.expected_value(np.full((4, 64), 0.123))
    with pytest.raises(ValueError, match=r"actions \[10, -1\] in lanes \[0, 2\] are outside the action space "
                                         r"Discrete\(10\)"):
        game.step(np.array([10, 0, -1, 0]))


def test_each_lane_shuffles_each_pass_and_lanes_match_single_games():
    n = 20
    game = Digits(batch_size=3, seed=[5, 6, 7], max_samples=n)
    shown = [game.reset()[1]["label"]] + [game.step(np.zeros(3, int))[4]["label"] for _ in range(3 * n - 1)]
    indices = []
    game.reset(seed=[5, 6, 7])
    indices.append(game.index.copy())
    for _ in range(3 * n - 1):
        game.step(np.zeros(3, int))
        indices.append(game.index.copy())
    indices = np.array(indices)
    for b in range(3):
        passes = indices[:, b].reshape(3, n)
        for one_pass in passes:
            assert sorted(one_pass.tolist()) == list(range(n))  # every sample once per pass
        assert not np.array_equal(passes[0], passes[1])  # a fresh permutation each pass
    assert not np.array_equal(indices[:n, 0], indices[:n, 1])  # lanes differ
    for b, seed in enumerate((5, 6, 7)):
        single = Digits(batch_size=1, seed=seed, max_samples=n)
        alone = [single.reset()[1]["label"]] + [single.step(np.zeros(1, int))[4]["label"] for _ in range(3 * n - 1)]
        np.testing.assert_array_equal(np.array(alone)[:, 0], np.array(shown)[:, b])
    # Without shuffling every lane walks the split in order, and episodes continue the pass.
    ordered = Digits(batch_size=2, shuffle=False, max_samples=n)
    ordered.reset()
    for _ in range(4):
        ordered.step(np.zeros(2, int))
    assert ordered.index.tolist() == [4, 4]
    ordered.reset()
    assert ordered.index.tolist() == [5, 5]
    ordered.reset(seed=0)
    assert ordered.index.tolist() == [0, 0]


def test_state_dict_resumes_mid_pass():
    game = Digits(batch_size=2, seed=1, max_samples=30)
    game.reset()
    for _ in range(7):
        game.step(np.zeros(2, int))
    saved = game.state_dict()
    other = Digits(batch_size=2, seed=99, max_samples=30)
    other.load_state_dict(saved)
    for _ in range(40):
        np.testing.assert_array_equal(game.step(np.zeros(2, int))[0], other.step(np.zeros(2, int))[0])


# -- MNIST ------------------------------------------------------------------------------------------
def idx_bytes(array, code=0x08, fmt=">"):
    """IDX file contents, written independently of spikey's reader."""
    array = np.asarray(array)
    dtype = {0x08: "u1", 0x09: "i1", 0x0B: "i2", 0x0C: "i4", 0x0D: "f4", 0x0E: "f8"}[code]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(fmt + dtype).tobytes()


def write(path, data, compress=False):
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as handle:
        handle.write(data)


@pytest.fixture()
def mnist_folder(tmp_path):
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (12, 28, 28)), "t10k": rng.integers(0, 256, (5, 28, 28))}
    labels = {"train": rng.integers(0, 10, 12), "t10k": rng.integers(0, 10, 5)}
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images["train"]), compress=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels["train"]))
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images["t10k"]))
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels["t10k"]), compress=True)
    return tmp_path, images, labels


def test_mnist_reads_plain_and_gzipped_idx(mnist_folder):
    folder, images, labels = mnist_folder
    game = MNIST(path=str(folder), batch_size=3, shuffle=False)
    assert (game.n_samples, game.n_features, game.sample_shape, game.n_classes) == (12, 784, (28, 28), 10)
    obs, info = game.reset()
    np.testing.assert_allclose(obs, np.broadcast_to(images["train"][0].reshape(-1) / 255, (3, 784)), rtol=1e-15)
    assert info["label"].tolist() == [labels["train"][0]] * 3
    obs, reward, *_ = game.step(np.full(3, labels["train"][0]))
    assert reward.tolist() == [1.0] * 3
    np.testing.assert_allclose(obs[0], images["train"][1].reshape(-1) / 255, rtol=1e-15)
    test = MNIST(path=folder, split="test", max_samples=4)
    assert test.n_samples == 4 and test.labels.tolist() == labels["t10k"][:4].tolist()
    np.testing.assert_array_equal(test.samples.reshape(4, 28, 28), images["t10k"][:4])


def test_read_idx_dtypes_and_the_dotted_spelling(tmp_path):
    for code, values in ((0x09, [[-3, 4]]), (0x0B, [[-300, 7]]), (0x0C, [[70000, -1]]), (0x0D, [[0.5, -2.25]]),
                         (0x0E, [[1e-300, 3.0]])):
        write(tmp_path / "x.idx", idx_bytes(values, code))
        out = read_idx(tmp_path / "x.idx")
        assert out.shape == (1, 2) and out.tolist() == values and out.dtype.isnative
    write(tmp_path / "train-images.idx3-ubyte", idx_bytes(np.full((2, 3, 3), 255)))
    write(tmp_path / "train-labels.idx1-ubyte", idx_bytes([1, 2]))
    game = MNIST(path=tmp_path)
    assert game.n_features == 9 and game.reset()[0].max() == 1.0


def test_mnist_errors_name_the_folder_file_and_problem(tmp_path):
    with pytest.raises(MissingKeyError, match="required key 'path'"):
        MNIST()
    with pytest.raises(FileNotFoundError, match=r"MNIST: key 'path' = '.*nowhere' is not a folder"):
        MNIST(path=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"no train-images-idx3-ubyte \(or .gz\) in .* \(split 'train'\)"):
        MNIST(path=tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 2, 2) + bytes(8))
    write(tmp_path / "train-labels-idx1-ubyte", b"PK\x03\x04 not an idx file")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte has magic number 0x504b0304; expected "
                                         r"0x0000TTDD"):
        MNIST(path=tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes([1, 2, 3]))
    with pytest.raises(ValueError, match=r"holds 2 images but train-labels-idx1-ubyte 3 labels"):
        MNIST(path=tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes([1, 2])[:-1])
    with pytest.raises(ValueError, match=r"has 9 bytes; its header \(shape \(2,\), uint8\) says 10"):
        MNIST(path=tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes([1, 12]))
    with pytest.raises(ValueError, match=r"labels \[12\] lie outside 0..9"):
        MNIST(path=tmp_path)
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes([1, 2]), compress=True)
    assert MNIST(path=tmp_path).labels.tolist() == [1, 2]


class DigitNet(RLNetwork):
    parts = dict(inputs=RBF, neurons=LIF, weights=Random, synapses=STDP, readout=TopAction, rewarder=MatchExpected)
    keys = dict(n_inputs=128, n_dims=64, rbf_low=0.0, rbf_high=1.0, n_neurons=10, n_outputs=10, n_actions=10,
                processing_time=3, firing_threshold=0.5, potential_decay=0.2, max_weight=0.5, learning_rate=0.0)


def test_experiment_loop_game_reward_is_the_accuracy():
    game = Digits(batch_size=3, seed=0)
    network = DigitNet(batch_size=3, seed=0, expected_value=game.expected_value)
    steps = []
    frame = run_episodes(network, game, 2, 15, callbacks=[lambda record, net, g, step: steps.append(step)])
    assert len(steps) == 30 and (frame.length == 15).all()
    assert frame[["episode", "lane"]].values.tolist() == [[e, lane] for e in range(2) for lane in range(3)]
    # the game's judgement, recomputed from the actions and the labels they were judged against
    correct = np.array([step["info"]["correct"] for step in steps])                        # (30, 3)
    np.testing.assert_array_equal(correct, [np.asarray(s["action"]) == s["info"]["target"] for s in steps])
    per_episode = correct.reshape(2, 15, 3).mean(axis=1).reshape(-1)
    np.testing.assert_allclose(frame.game_reward, per_episode)
    np.testing.assert_allclose(frame.accuracy, per_episode)
    # MatchExpected (reward 1 / punish 0) agrees with the game's own judgement at every step.
    np.testing.assert_array_equal(np.array([s["reward"] for s in steps]), correct.astype(float))
    np.testing.assert_allclose(frame.reward, frame.game_reward)
