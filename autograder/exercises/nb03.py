"""Exercises of notebook 03: loss functions and their gradients.

Every loss follows the contract of :mod:`solutions.losses`: it returns ``(loss, grad)``, the loss a
number (a Python float, a NumPy scalar or a size-1 array all pass) averaged over the batch and its
gradient with respect to the first argument, of that argument's shape. Targets come as int or float
arrays; the cases mix both.
"""
from __future__ import annotations

import numpy as np

from autograder.exercise import Case, Exercise, Mistake, question
from autograder.learner.checks import ArrayClose, NumberClose, TupleOf
from solutions import losses


def _fmt(a) -> str:
    return str(np.round(np.asarray(a), 3).tolist())          # one line, also for 2-D arrays


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _loss_and_grad(loss_rtol=1e-7, grad_rtol=1e-6):
    """(loss, grad): the loss to ``loss_rtol``, the gradient to ``grad_rtol`` (atol 1e-9 for both)."""
    return TupleOf([NumberClose(rtol=loss_rtol, atol=1e-9), ArrayClose(rtol=grad_rtol, atol=1e-9)])


# ----------------------------------------------------------------------------- 03.mse_loss
def _mse_public(rng):
    pred4, y4 = np.round(rng.normal(size=(4, 1)), 2), rng.integers(-2, 3, size=(4, 1))
    pred32, y32 = np.round(rng.normal(size=(3, 2)), 2), np.round(rng.normal(size=(3, 2)), 2)
    return [
        Case("pred=[2.5, 0.0, 2.0], y=[3.0, -0.5, 2.0]", (np.array([2.5, 0.0, 2.0]), np.array([3.0, -0.5, 2.0]))),
        Case(f"pred of shape (4, 1) = {_fmt(pred4.ravel())}, integer targets y of shape (4, 1) = {_fmt(y4.ravel())}",
             (pred4, y4)),
        Case(f"pred and y of shape (3, 2): pred={_fmt(pred32)}, y={_fmt(y32)} (mean over all 6 entries)",
             (pred32, y32)),
    ]


def _mse_hidden(rng):
    cases = [Case("a single prediction, shape (1,)", (rng.normal(size=1), rng.normal(size=1)))]
    for shape in [(10,), (8, 1), (5, 3), (2, 4)]:
        cases.append(Case(f"random predictions and float targets of shape {shape}",
                          (rng.normal(size=shape), rng.normal(size=shape))))
    cases.append(Case("integer targets of shape (6,)", (3 * rng.normal(size=6), rng.integers(-5, 6, size=6))))
    cases.append(Case("large values (about 1000) of shape (4, 2)", (1000 * rng.normal(size=(4, 2)),
                                                                    1000 * rng.normal(size=(4, 2)))))
    cases.append(Case("a perfect prediction (loss 0), shape (3, 1)", (np.full((3, 1), 2.0), np.full((3, 1), 2.0))))
    return cases


def _mse_sum(pred, y):
    diff = pred - y
    return np.sum(diff ** 2), 2 * diff


def _mse_half(pred, y):
    diff = pred - y
    return 0.5 * np.mean(diff ** 2), diff / diff.size


def _mse_rows(pred, y):
    diff = pred - y
    n = diff.shape[0]
    return np.sum(diff ** 2) / n, 2 * diff / n


def _mse_no_two(pred, y):
    diff = pred - y
    return np.mean(diff ** 2), diff / diff.size


def _mse_no_n(pred, y):
    diff = pred - y
    return np.mean(diff ** 2), 2 * diff


def _mse_sign(pred, y):
    diff = pred - y
    return np.mean(diff ** 2), 2 * (y - pred) / diff.size


def _mae(pred, y):
    diff = pred - y
    return np.mean(np.abs(diff)), np.sign(diff) / diff.size


MSE_LOSS = Exercise(
    id="03.mse_loss",
    title="Mean squared error and its gradient",
    points=2,
    reference=losses.mse_loss,
    public_cases=_mse_public,
    hidden_cases=_mse_hidden,
    # rtol 1e-7 / 1e-6: float64 sums in any order agree to ~1e-15, so these only reject real mistakes.
    compare=_loss_and_grad(),
    hints=[
        "Return a tuple (loss, dpred). The loss is the mean of (pred - y)**2 over ALL entries; "
        "the gradient has the shape of pred.",
        "Differentiate one entry: d/dpred_i of (1/M) * sum_j (pred_j - y_j)^2 is 2 (pred_i - y_i) / M, "
        "where M = pred.size (all entries, not just the rows).",
        "diff = pred - y; return np.mean(diff ** 2), 2 * diff / diff.size",
    ],
    mistakes=[
        Mistake("sum instead of mean", "MSE is the MEAN of the squared errors: divide the sum by the number of "
                "entries (np.mean), and the gradient too; a sum grows with the batch size.", _mse_sum),
        Mistake("a factor 1/2", "this course's MSE (like PyTorch's F.mse_loss) has no 1/2: loss = mean(diff**2), "
                "gradient 2 * diff / diff.size.", _mse_half),
        Mistake("mean over the rows only", "average over ALL entries (pred.size), not only over the N rows: "
                "with several outputs per example you divided by N instead of N * D.", _mse_rows),
        Mistake("gradient without the factor 2", "d/dx of x**2 is 2x: the gradient is 2 * (pred - y) / pred.size.",
                _mse_no_two),
        Mistake("gradient missing the 1/N", "the loss is a mean, so its gradient is divided by the number of "
                "entries too: 2 * (pred - y) / pred.size.", _mse_no_n),
        Mistake("gradient sign error", "the gradient of (pred - y)**2 with respect to pred is +2 (pred - y), "
                "not 2 (y - pred).", _mse_sign),
        Mistake("absolute instead of squared errors", "that is the mean absolute error (MAE); MSE squares "
                "the differences.", _mae),
    ],
)


# ----------------------------------------------------------------------------- 03.binary_cross_entropy
def _bce_public(rng):
    p4, y4 = np.round(rng.uniform(0.05, 0.95, size=(4, 1)), 2), rng.integers(0, 2, size=(4, 1)).astype(float)
    return [
        Case("p=[0.9, 0.2, 0.6], y=[1, 0, 1]", (np.array([0.9, 0.2, 0.6]), np.array([1, 0, 1]))),
        Case(f"p of shape (4, 1) = {_fmt(p4.ravel())}, y of shape (4, 1) = {_fmt(y4.ravel())}", (p4, y4)),
        Case("p=[0.0, 1.0, 0.6], y=[1, 0, 1] (certain and wrong twice: needs clipping)",
             (np.array([0.0, 1.0, 0.6]), np.array([1.0, 0.0, 1.0]))),
        Case("p=[0.0, 1.0, 1.0, 0.0], y=[1, 0, 1, 0] (certain: wrong, wrong, right, right)",
             (np.array([0.0, 1.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0, 0.0]))),
        Case("p=[0.0, 0.5, 1.0], y=[0, 1, 0], eps=1e-7", (np.array([0.0, 0.5, 1.0]), np.array([0, 1, 0])),
             {"eps": 1e-7}),
    ]


def _bce_hidden(rng):
    cases = []
    for n, shape in [(1, (1,)), (12, (12,)), (7, (7, 1)), (20, (20,))]:
        p = rng.uniform(0.02, 0.98, size=shape)
        y = rng.integers(0, 2, size=shape)
        what = "1 random probability" if n == 1 else f"{n} random probabilities"
        cases.append(Case(f"{what}, integer targets, shape {shape}", (p, y)))
    p = rng.uniform(0.02, 0.98, size=(9, 1))
    cases.append(Case("float targets of shape (9, 1)", (p, rng.integers(0, 2, size=(9, 1)).astype(float))))
    p = rng.uniform(0.1, 0.9, size=10)
    p[:4] = [0.0, 1.0, 0.0, 1.0]
    y = rng.integers(0, 2, size=10)
    y[:4] = [1, 0, 0, 1]
    cases.append(Case("probabilities of exactly 0 and 1 mixed with others", (p, y)))
    cases.append(Case("every prediction exactly 0 or 1 and wrong, shape (6, 1)",
                      (np.array([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]]), np.array([[1], [0], [1], [0], [0], [1]]))))
    cases.append(Case("probabilities of exactly 0 and 1 with eps given", (np.array([1.0, 0.3, 0.0, 0.8]),
                                                                           np.array([0, 1, 1, 1])), {"eps": 1e-4}))
    return cases


def _clip(p, low, high):
    return np.clip(np.asarray(p, dtype=float), low, high)


def _bce_parts(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), (p - y) / (p * (1 - p)) / p.size


def _bce_no_clip(p, y, eps=1e-12):
    return _bce_parts(np.asarray(p, dtype=float), y)


def _bce_clip_low(p, y, eps=1e-12):
    return _bce_parts(_clip(p, eps, 1.0), y)


def _bce_no_minus(p, y, eps=1e-12):
    p = _clip(p, eps, 1 - eps)
    loss, dp = _bce_parts(p, y)
    return -loss, -dp


def _bce_swapped(p, y, eps=1e-12):
    p = _clip(p, eps, 1 - eps)
    return -np.mean(y * np.log(1 - p) + (1 - y) * np.log(p)), (y - p) / (p * (1 - p)) / p.size


def _bce_sum(p, y, eps=1e-12):
    p = _clip(p, eps, 1 - eps)
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)), (p - y) / (p * (1 - p))


def _bce_grad_no_n(p, y, eps=1e-12):
    p = _clip(p, eps, 1 - eps)
    return _bce_parts(p, y)[0], (p - y) / (p * (1 - p))


def _bce_grad_logits(p, y, eps=1e-12):
    p = _clip(p, eps, 1 - eps)
    return _bce_parts(p, y)[0], (p - y) / p.size


BINARY_CROSS_ENTROPY = Exercise(
    id="03.binary_cross_entropy",
    title="Binary cross-entropy from probabilities, clipped",
    points=3,
    reference=losses.binary_cross_entropy,
    public_cases=_bce_public,
    hidden_cases=_bce_hidden,
    # Loss rtol 1e-5, gradient rtol 2e-4: the clipped entries are where readings of "clip" differ. Clipping p to
    # [eps, 1 - eps] (the contract), clipping 1 - p on its own, or adding eps inside the logs all give
    # 1 - p = 1e-12 to within 9e-5 relative at p = 1 (1 - (1 - 1e-12) is 1.00009e-12 in float64). Every
    # catalogued mistake is off by far more (a factor N, a sign, inf or nan).
    compare=_loss_and_grad(loss_rtol=1e-5, grad_rtol=2e-4),
    forbid_warnings=True,
    hints=[
        "Clip first: p = np.clip(p, eps, 1 - eps), so that neither log(p) nor log(1 - p) ever sees 0. "
        "Then loss = -mean(y log p + (1 - y) log(1 - p)).",
        "Gradient of one term with respect to p_i: -y_i / p_i + (1 - y_i) / (1 - p_i) = (p_i - y_i) / (p_i (1 - p_i)); "
        "divide by p.size because the loss is a mean.",
        "p = np.clip(p, eps, 1 - eps); loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)); "
        "return loss, (p - y) / (p * (1 - p)) / p.size",
    ],
    mistakes=[
        Mistake("no clipping (log(0))", "a probability of exactly 0 or 1 makes log(p) or log(1 - p) equal to "
                "log(0) = -inf: the loss becomes inf or nan. Clip p to [eps, 1 - eps] first.", _bce_no_clip),
        Mistake("clipped only at 0", "np.clip(p, eps, 1) still lets p = 1 through, and log(1 - p) = log(0): "
                "clip to [eps, 1 - eps].", _bce_clip_low),
        Mistake("sign error (forgot the minus)", "log p is negative, so y log p + (1 - y) log(1 - p) is negative: "
                "the loss is MINUS its mean, and it is never negative.", _bce_no_minus),
        Mistake("log of the wrong probability", "y = 1 goes with log(p) (the probability given to class 1) and "
                "y = 0 with log(1 - p); you swapped them.", _bce_swapped),
        Mistake("sum instead of mean", "average over the batch (np.mean), and divide the gradient by p.size too.",
                _bce_sum),
        Mistake("gradient missing the 1/N", "the loss is a mean over p.size entries, so the gradient is divided "
                "by p.size as well.", _bce_grad_no_n),
        Mistake("gradient with respect to the logit", "(p - y) / N is the gradient with respect to the LOGIT z "
                "(through the sigmoid); with respect to p it is (p - y) / (p (1 - p)) / N.", _bce_grad_logits),
    ],
)


# ----------------------------------------------------------------------------- 03.categorical_cross_entropy
P_SMALL = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])


def _cce_public(rng):
    p = np.round(_softmax(rng.normal(size=(4, 3))), 3)
    p[:, 2] = 1 - p[:, :2].sum(axis=1)
    y = np.array([0, 2, 1, 2])
    return [
        Case("p=[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], one-hot y=[[1, 0, 0], [0, 1, 0]]",
             (P_SMALL.copy(), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))),
        Case(f"4 examples, 3 classes: p={_fmt(p)}, one-hot targets of classes {_fmt(y)}", (p, losses.one_hot(y, 3))),
        Case("a probability that underflowed to 0 in a wrong class: p=[[1.0, 0.0], [0.3, 0.7]], "
             "integer one-hot y=[[1, 0], [0, 1]]", (np.array([[1.0, 0.0], [0.3, 0.7]]), np.array([[1, 0], [0, 1]]))),
        Case("a probability of 0 in the true class: p=[[0.0, 0.6, 0.4], [0.2, 0.5, 0.3]], one-hot y=[[1, 0, 0], "
             "[0, 0, 1]]", (np.array([[0.0, 0.6, 0.4], [0.2, 0.5, 0.3]]), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))),
    ]


def _cce_hidden(rng):
    cases = []
    for n, k in [(1, 4), (6, 2), (8, 5), (4, 4), (20, 10)]:
        p, y = _softmax(2 * rng.normal(size=(n, k))), rng.integers(0, k, size=n)
        what = "N == K" if n == k else f"N={n}, K={k}"
        cases.append(Case(f"random probabilities, {what}, float one-hot targets", (p, losses.one_hot(y, k))))
    p, y = _softmax(2 * rng.normal(size=(5, 3))), rng.integers(0, 3, size=5)
    cases.append(Case("integer one-hot targets, N=5, K=3", (p, losses.one_hot(y, 3).astype(int))))
    p = _softmax(2 * rng.normal(size=(4, 3)))
    y = rng.integers(0, 3, size=4)
    p[0, y[0]] = 0.0                                  # the true class gets nothing, the others share the rest
    p[0] /= p[0].sum()
    cases.append(Case("a probability of exactly 0 in the true class", (p, losses.one_hot(y, 3))))
    p = _softmax(2 * rng.normal(size=(4, 3)))
    y = rng.integers(0, 3, size=4)
    p[1] = losses.one_hot(y[1:2], 3)[0]               # certain and right: zeros in the wrong classes
    cases.append(Case("certain and right: probabilities of exactly 0 in the wrong classes", (p, losses.one_hot(y, 3))))
    return cases


def _cce_mean_classes(p, y, eps=1e-12):
    p = _clip(p, eps, 1.0)
    return -np.mean(y * np.log(p)), -y / p / p.size


def _cce_no_clip(p, y, eps=1e-12):
    p = np.asarray(p, dtype=float)
    n = p.shape[0]
    return -np.sum(y * np.log(p)) / n, -y / p / n


def _cce_sum(p, y, eps=1e-12):
    p = _clip(p, eps, 1.0)
    return -np.sum(y * np.log(p)), -y / p


def _cce_grad_no_n(p, y, eps=1e-12):
    p = _clip(p, eps, 1.0)
    return -np.sum(y * np.log(p)) / p.shape[0], -y / p


def _cce_grad_sign(p, y, eps=1e-12):
    p = _clip(p, eps, 1.0)
    n = p.shape[0]
    return -np.sum(y * np.log(p)) / n, y / p / n


def _cce_grad_logits(p, y, eps=1e-12):
    p = _clip(p, eps, 1.0)
    n = p.shape[0]
    return -np.sum(y * np.log(p)) / n, (p - y) / n


CATEGORICAL_CROSS_ENTROPY = Exercise(
    id="03.categorical_cross_entropy",
    title="Categorical cross-entropy (one-hot targets)",
    points=2,
    reference=losses.categorical_cross_entropy,
    public_cases=_cce_public,
    hidden_cases=_cce_hidden,
    # rtol 1e-7 / 1e-6: one log per entry, no cancellation; clipped entries give log(1e-12) exactly whichever way
    # the learner clips (np.clip or np.maximum).
    compare=_loss_and_grad(),
    hints=[
        "Clip p to [eps, 1] first (a 0 in a wrong class would give 0 * log 0 = nan), then "
        "loss = -(1/N) * sum over examples AND classes of y * log p. Return (loss, dp).",
        "Only the true class of each row contributes (y is 0 elsewhere). The gradient of -(1/N) y log p "
        "with respect to p is -y / p / N: zero in the wrong classes.",
        "p = np.clip(p, eps, 1.0); n = p.shape[0]; return -np.sum(y_onehot * np.log(p)) / n, -y_onehot / p / n",
    ],
    mistakes=[
        Mistake("mean over classes instead of examples", "np.mean divides by N * K; cross-entropy sums over "
                "the K classes and averages over the N examples: np.sum(...) / N.", _cce_mean_classes),
        Mistake("no clipping (log(0))", "a probability of exactly 0 gives log(0) = -inf, and 0 * log(0) = nan "
                "even in a wrong class: clip p to [eps, 1] first.", _cce_no_clip),
        Mistake("sum instead of mean", "average over the N examples: divide the sum (and the gradient) by N.",
                _cce_sum),
        Mistake("gradient missing the 1/N", "the loss is divided by N, so its gradient is too: -y / p / N.",
                _cce_grad_no_n),
        Mistake("gradient sign error", "d/dp of -y log p is -y / p (negative: raising p lowers the loss).",
                _cce_grad_sign),
        Mistake("gradient with respect to the logits", "(p - y) / N is the gradient with respect to the LOGITS "
                "(through the softmax); with respect to p it is -y / p / N.", _cce_grad_logits),
    ],
)


# ----------------------------------------------------------------------------- 03.sparse_categorical_cross_entropy
def _sparse_public(rng):
    p = np.round(_softmax(rng.normal(size=(5, 3))), 3)
    p[:, 2] = 1 - p[:, :2].sum(axis=1)
    y = np.array([0, 2, 1, 2, 2])
    return [
        Case("p=[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], y=[0, 1] (the one-hot example of the last exercise)",
             (P_SMALL.copy(), np.array([0, 1]))),
        Case(f"5 examples, 3 classes: p={_fmt(p)}, y={_fmt(y)}", (p, y)),
        Case("a probability of exactly 0 in the true class: p=[[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]], y=[0, 1, 0]",
             (np.array([[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]]), np.array([0, 1, 0]))),
    ]


def _sparse_hidden(rng):
    cases = []
    for n, k in [(1, 3), (7, 2), (4, 4), (6, 9), (25, 10)]:
        p, y = _softmax(2 * rng.normal(size=(n, k))), rng.integers(0, k, size=n)
        what = "N == K" if n == k else (f"more classes than examples (N={n}, K={k})" if k > n else f"N={n}, K={k}")
        cases.append(Case(f"random probabilities, {what}", (p, y)))
    p, y = _softmax(2 * rng.normal(size=(6, 3))), rng.integers(0, 3, size=6).astype(np.int32)
    cases.append(Case("labels of dtype int32, N=6, K=3", (p, y)))
    p, y = _softmax(2 * rng.normal(size=(4, 3))), rng.integers(0, 3, size=4)
    p[2, y[2]] = 0.0
    p[2] /= p[2].sum()
    cases.append(Case("a probability of exactly 0 in the true class", (p, y)))
    return cases


def _sparse_rows(p, y, eps=1e-12):
    """p[y] picks ROWS y_n of p, not the entry of class y_n in row n."""
    p = np.asarray(p, dtype=float)
    n = p.shape[0]
    p_true = np.clip(p[y], eps, 1.0)
    dp = np.zeros_like(p)
    dp[y] = -1.0 / p_true / n
    return -np.sum(np.log(p_true)) / n, dp


def _sparse_columns(p, y, eps=1e-12):
    """p[:, y] is an (N, N) block: every row's probability of every label."""
    p = np.asarray(p, dtype=float)
    n = p.shape[0]
    p_true = np.clip(p[:, y], eps, 1.0)
    dp = np.zeros_like(p)
    dp[:, y] = -1.0 / p_true / n
    return -np.sum(np.log(p_true)) / n, dp


def _sparse_no_clip(p, y, eps=1e-12):
    p = np.asarray(p, dtype=float)
    n, rows = p.shape[0], np.arange(p.shape[0])
    dp = np.zeros_like(p)
    dp[rows, y] = -1.0 / p[rows, y] / n
    return -np.sum(np.log(p[rows, y])) / n, dp


def _sparse_grad_no_n(p, y, eps=1e-12):
    loss, dp = losses.sparse_categorical_cross_entropy(p, y, eps)
    return loss, dp * p.shape[0]


def _sparse_grad_logits(p, y, eps=1e-12):
    loss, _ = losses.sparse_categorical_cross_entropy(p, y, eps)
    return loss, (p - losses.one_hot(y, p.shape[1])) / p.shape[0]


def _sparse_mean_classes(p, y, eps=1e-12):
    loss, dp = losses.sparse_categorical_cross_entropy(p, y, eps)
    return loss / p.shape[1], dp / p.shape[1]


SPARSE_CATEGORICAL_CROSS_ENTROPY = Exercise(
    id="03.sparse_categorical_cross_entropy",
    title="Sparse categorical cross-entropy (integer targets)",
    points=3,
    reference=losses.sparse_categorical_cross_entropy,
    public_cases=_sparse_public,
    hidden_cases=_sparse_hidden,
    # rtol 1e-7 / 1e-6: the same arithmetic as the one-hot form; clipped entries give log(1e-12) exactly.
    compare=_loss_and_grad(),
    hints=[
        "For each row n you need one number: p[n, y[n]], the probability given to the true class. "
        "NumPy picks all of them at once with p[np.arange(N), y] (NOT p[y], which picks whole rows).",
        "loss = -mean(log(clip(p_true, eps, 1))). The gradient is all zeros except -1 / p_true / N at "
        "[n, y[n]]: build dp = np.zeros_like(p), then assign dp[rows, y].",
        "rows = np.arange(len(y)); p_true = np.clip(p[rows, y], eps, 1.0); dp = np.zeros_like(p); "
        "dp[rows, y] = -1 / p_true / len(y); return -np.mean(np.log(p_true)), dp",
    ],
    mistakes=[
        Mistake("indexing p[y] (the wrong axis)", "p[y] picks whole ROWS y_n of p; the probability of the true "
                "class of example n is p[n, y[n]], all at once p[np.arange(N), y].", _sparse_rows),
        Mistake("indexing p[:, y] (an N x N block)", "p[:, y] gives every example's probability of every label "
                "(N x N entries); you need one entry per row: p[np.arange(N), y].", _sparse_columns),
        Mistake("no clipping (log(0))", "a true-class probability of exactly 0 gives log(0) = -inf: clip it "
                "to [eps, 1] first.", _sparse_no_clip),
        Mistake("gradient missing the 1/N", "the loss is a mean over N examples: the gradient is -1 / p_true / N.",
                _sparse_grad_no_n),
        Mistake("gradient with respect to the logits", "(p - onehot(y)) / N is the gradient with respect to the "
                "LOGITS (through the softmax); with respect to p it is -1 / p_true / N at the true classes, 0 "
                "elsewhere.", _sparse_grad_logits),
        Mistake("mean over classes instead of examples", "average over the N examples only: divide by N, not "
                "by N * K.", _sparse_mean_classes),
    ],
)


# ----------------------------------------------------------------------------- 03.binary_cross_entropy_with_logits
def _bcel_public(rng):
    z4, y4 = np.round(rng.normal(size=(4, 1)), 2), rng.integers(0, 2, size=(4, 1)).astype(float)
    return [
        Case("z=[2.0, -1.0, 0.0], y=[1, 0, 1]", (np.array([2.0, -1.0, 0.0]), np.array([1, 0, 1]))),
        Case(f"z of shape (4, 1) = {_fmt(z4.ravel())}, y of shape (4, 1) = {_fmt(y4.ravel())}", (z4, y4)),
        Case("large logits, all wrong: z=[-40, 40, 40, -40], y=[1, 0, 0, 1] (sigmoid(40) rounds to exactly 1.0)",
             (np.array([-40.0, 40.0, 40.0, -40.0]), np.array([1.0, 0.0, 0.0, 1.0]))),
        Case("huge logits z=[-1000, -1000, 1000, 1000], y=[0, 1, 0, 1]",
             (np.array([-1000.0, -1000.0, 1000.0, 1000.0]), np.array([0, 1, 0, 1]))),
    ]


def _bcel_hidden(rng):
    cases = []
    for n, shape, scale in [(1, (1,), 1.0), (10, (10,), 3.0), (6, (6, 1), 3.0)]:
        what = "1 random logit" if n == 1 else f"{n} random logits"
        cases.append(Case(f"{what}, shape {shape}", (scale * rng.normal(size=shape),
                                                                 rng.integers(0, 2, size=shape))))
    cases.append(Case("float targets of shape (8, 1)", (2 * rng.normal(size=(8, 1)),
                                                         rng.integers(0, 2, size=(8, 1)).astype(float))))
    z = rng.uniform(-1000, 1000, size=12)
    cases.append(Case("12 logits between -1000 and 1000", (z, rng.integers(0, 2, size=12))))
    cases.append(Case("logits of exactly +-1000, confidently right", (np.array([1000.0, -1000.0, 1000.0]),
                                                                      np.array([1, 0, 1]))))
    cases.append(Case("logits of exactly +-1000, confidently wrong, shape (4, 1)",
                      (np.array([[1000.0], [-1000.0], [-1000.0], [1000.0]]), np.array([[0.0], [1.0], [1.0], [0.0]]))))
    z = rng.normal(size=9)
    z[[1, 4, 7]] = [-60.0, 60.0, -35.0]
    cases.append(Case("moderate logits mixed with large ones (|z| up to 60)", (z, rng.integers(0, 2, size=9))))
    return cases


def _bcel_naive(z, y):
    p = _naive_sigmoid(np.asarray(z, dtype=float))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), (p - y) / p.size


def _bcel_softplus_overflow(z, y):
    z = np.asarray(z, dtype=float)
    return np.mean(np.log(1 + np.exp(z)) - y * z), (_sigmoid(z) - y) / z.size


def _bcel_clipped(z, y):
    z = np.asarray(z, dtype=float)
    p = np.clip(_sigmoid(z), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), (_sigmoid(z) - y) / z.size


def _bcel_grad_no_n(z, y):
    loss, dz = losses.binary_cross_entropy_with_logits(z, y)
    return loss, dz * np.size(z)


def _bcel_grad_sign(z, y):
    loss, dz = losses.binary_cross_entropy_with_logits(z, y)
    return loss, -dz


def _bcel_no_mean(z, y):
    loss, dz = losses.binary_cross_entropy_with_logits(z, y)
    return loss * np.size(z), dz * np.size(z)


BINARY_CROSS_ENTROPY_WITH_LOGITS = Exercise(
    id="03.binary_cross_entropy_with_logits",
    title="Binary cross-entropy from logits, stable for any z",
    points=3,
    reference=losses.binary_cross_entropy_with_logits,
    public_cases=_bcel_public,
    hidden_cases=_bcel_hidden,
    # rtol 1e-7 / 1e-6, atol 1e-9: the stable forms (max(z, 0) - z y + log1p(e^-|z|), np.logaddexp, softplus by
    # sign) agree to ~1e-15; a clipped or overflowing version is off by orders of magnitude at |z| >= 40.
    compare=_loss_and_grad(),
    forbid_warnings=True,
    hints=[
        "Do not compute sigmoid(z) and then its log. Rewrite the loss of one example as "
        "softplus(z) - y z, with softplus(z) = log(1 + e^z).",
        "softplus overflows for large z if written as log(1 + exp(z)). Use the identity "
        "log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): the exponent is never positive. "
        "The gradient is (sigmoid(z) - y) / z.size, with a sigmoid that is stable too.",
        "loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))); "
        "dz = (sigmoid(z) - y) / z.size  (the notebook's sigmoid is stable)",
    ],
    mistakes=[
        Mistake("log of the sigmoid (not stable)", "in float64, 1 / (1 + exp(-z)) is exactly 1.0 from z = 37 on and "
                "exactly 0 below about z = -709 (exp(-z) overflows), so log(1 - sigmoid(z)) or log(sigmoid(z)) is "
                "log(0): use max(z, 0) - z y + log1p(exp(-|z|)).", _bcel_naive),
        Mistake("softplus as log(1 + exp(z))", "exp(1000) overflows to inf: write log(1 + e^z) as "
                "max(z, 0) + log1p(exp(-|z|)), whose exponent is never positive.", _bcel_softplus_overflow),
        Mistake("clipped probabilities instead of the exact formula", "clipping stops the inf but caps each "
                "example's loss at -log(eps), about 27.6; the true loss of a confidently wrong logit grows like |z| "
                "(1000 for z = -1000, y = 1). Compute it from z directly.", _bcel_clipped),
        Mistake("gradient missing the 1/N", "the loss is a mean, so the gradient is (sigmoid(z) - y) / z.size.",
                _bcel_grad_no_n),
        Mistake("gradient sign error", "the gradient is sigmoid(z) - y (over N): positive when the model says "
                "more than the target, so that a step against it lowers z.", _bcel_grad_sign),
        Mistake("sum instead of mean", "average over the batch: divide the loss and the gradient by z.size.",
                _bcel_no_mean),
    ],
)


# ----------------------------------------------------------------------------- 03.softmax_cross_entropy
def _sce_public(rng):
    z = np.round(rng.normal(size=(4, 3)), 2)
    return [
        Case("one example: logits=[[2.0, 1.0, 0.1]], y=[0]", (np.array([[2.0, 1.0, 0.1]]), np.array([0]))),
        Case(f"logits of shape (4, 3) = {_fmt(z)}, y=[0, 2, 1, 2]", (z, np.array([0, 2, 1, 2]))),
        Case("large logits [[1000, 0, -1000], [0, 1000, 0]], y=[2, 0] (confidently wrong)",
             (np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), np.array([2, 0]))),
        Case("large logits [[1000, 0, -1000], [0, 1000, 0]], y=[0, 1] (confidently right)",
             (np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), np.array([0, 1]))),
    ]


def _sce_hidden(rng):
    cases = []
    for n, k, scale in [(1, 5, 1.0), (8, 3, 2.0), (5, 5, 2.0), (30, 10, 3.0), (3, 2, 1.0)]:
        what = "N == K" if n == k else f"N={n}, K={k}"
        cases.append(Case(f"random logits, {what}", (scale * rng.normal(size=(n, k)), rng.integers(0, k, size=n))))
    cases.append(Case("logits between -1000 and 1000, N=6, K=4",
                      (rng.uniform(-1000, 1000, size=(6, 4)), rng.integers(0, 4, size=6))))
    cases.append(Case("all logits equal (loss log K), N=4, K=6", (np.full((4, 6), 3.5), rng.integers(0, 6, size=4))))
    z = rng.normal(size=(4, 3)) + 800.0
    cases.append(Case("every logit around +800 (a large common shift)", (z, rng.integers(0, 3, size=4))))
    y = rng.integers(0, 3, size=3)
    z = rng.normal(size=(3, 3))
    z[np.arange(3), y] -= rng.uniform(1000, 2000, size=3)     # the true class far below the others
    cases.append(Case("confidently wrong: each true-class logit 1000 to 2000 below the others", (z, y)))
    return cases


def _sce_no_max(z, y):
    z = np.asarray(z, dtype=float)
    n = z.shape[0]
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(n), y])), (p - losses.one_hot(y, z.shape[1])) / n


def _sce_log_of_softmax(z, y):
    z = np.asarray(z, dtype=float)
    n = z.shape[0]
    p = _softmax(z)
    return -np.mean(np.log(p[np.arange(n), y])), (p - losses.one_hot(y, z.shape[1])) / n


def _sce_grad_no_n(z, y):
    loss, dz = losses.softmax_cross_entropy(z, y)
    return loss, dz * z.shape[0]


def _sce_grad_sign(z, y):
    loss, dz = losses.softmax_cross_entropy(z, y)
    return loss, -dz


def _sce_forgot_y(z, y):
    loss, _ = losses.softmax_cross_entropy(z, y)
    return loss, _softmax(np.asarray(z, dtype=float)) / z.shape[0]


def _sce_mean_classes(z, y):
    loss, dz = losses.softmax_cross_entropy(z, y)
    return loss / z.shape[1], dz / z.shape[1]


SOFTMAX_CROSS_ENTROPY = Exercise(
    id="03.softmax_cross_entropy",
    title="Softmax cross-entropy from logits: the loss and the (p - y) / N gradient",
    points=4,
    reference=losses.softmax_cross_entropy,
    public_cases=_sce_public,
    hidden_cases=_sce_hidden,
    # rtol 1e-7 / 1e-6, atol 1e-9: log-softmax through log-sum-exp in any arrangement agrees to ~1e-15.
    compare=_loss_and_grad(),
    forbid_warnings=True,
    hints=[
        "Work in log space: log p = z - logsumexp(z) row by row, with logsumexp(z) = m + log(sum(exp(z - m))) "
        "and m = the row maximum. Nothing overflows and no log(0) appears.",
        "loss = -mean over rows of log_p[n, y[n]] (index with np.arange(N), y). The gradient with respect to the "
        "logits is (p - onehot(y)) / N with p = exp(log_p).",
        "m = z.max(axis=1, keepdims=True); log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True)); "
        "rows = np.arange(len(y)); dz = np.exp(log_p); dz[rows, y] -= 1; "
        "return -log_p[rows, y].mean(), dz / len(y)",
    ],
    mistakes=[
        Mistake("softmax without subtracting the max", "exp(1000) overflows to inf and inf / inf is nan: subtract "
                "each row's maximum before exp (it cancels in the ratio).", _sce_no_max),
        Mistake("log of the softmax (log(0))", "a probability that underflows to exactly 0 (here e^-2000) gives "
                "log(0) = -inf: compute log p = z - logsumexp(z) directly instead of log(softmax(z)).",
                _sce_log_of_softmax),
        Mistake("gradient missing the 1/N", "the loss is a mean over the N examples, so dlogits = (p - y) / N.",
                _sce_grad_no_n),
        Mistake("gradient sign error", "dlogits = p - y (over N): positive for the wrong classes (push their "
                "scores down), p - 1 < 0 for the true class.", _sce_grad_sign),
        Mistake("forgot to subtract the one-hot", "dlogits is (p - onehot(y)) / N: subtract 1 at each example's "
                "true class.", _sce_forgot_y),
        Mistake("mean over classes instead of examples", "sum over the classes and average over the N examples: "
                "divide by N, not by N * K.", _sce_mean_classes),
    ],
)


# ----------------------------------------------------------------------------- concept questions
Q_LOSS_FOR_OUTPUT = question(
    "03.q_loss_for_output", "Which loss goes with which output layer", 1, answer="c",
    choices=["a", "b", "c", "d"],
    wrong={
        "a": "MSE is for regression. On class scores it treats the labels 0-9 as numbers on a line (9 is "
             "'further' from 0 than 1 is), which means nothing for classes.",
        "b": "Categorical cross-entropy on probabilities needs a softmax in front and one-hot targets; these "
             "outputs are raw scores (no softmax) and the labels are integers.",
        "d": "Binary cross-entropy is for ONE yes/no output and needs probabilities; these are raw scores, and "
             "ten separate yes/no answers ignore that exactly one digit is right.",
    },
    hints=["Look at two things: is there a softmax at the end (probabilities) or raw scores (logits)? "
           "Are the labels integers or one-hot rows?"],
)

Q_INITIAL_LOSS = question(
    "03.q_initial_loss", "The cross-entropy of a fresh 10-class classifier", 1, answer=float(np.log(10)), rtol=1e-2,
    wrong={
        0.1: "0.1 is the probability of each class, not the loss: the loss is -log of that probability.",
        1.0: "1 is log base 10 of 10. Cross-entropy uses the natural log (np.log, PyTorch): -ln(1/10) = ln 10.",
        float(np.log2(10)): "That is log base 2 (the loss in bits). np.log and PyTorch use the natural log.",
        10.0: "That is 1/p; the loss is the LOGARITHM, -log(1/10) = log 10.",
        0.0: "A loss of 0 needs p = 1 for the true class; a model that guesses uniformly gives every class 1/10.",
    },
    hints=["Uniform probabilities: every class gets p = 1/10, the true class included.",
           "The loss of one example is -log p_true (natural log), and the mean of equal numbers is that number."],
)

Q_MSE_WITH_SIGMOID = question(
    "03.q_mse_with_sigmoid", "Why not MSE on a sigmoid output?", 1, answer="b", choices=["a", "b", "c", "d"],
    wrong={
        "a": "MSE is defined for any numbers, probabilities included; the trouble is in its gradient.",
        "c": "It is the other way round: BCE's gradient with respect to z, sigmoid(z) - y, is largest when the "
             "model is confidently wrong.",
        "d": "Both losses are smallest where the prediction equals the label; the difference is how hard each "
             "pushes towards it.",
    },
    hints=["Compare the two curves of dL/dz in the plot of the section on output layers, at z = -10 with y = 1.",
           "Chain rule: dMSE/dz = 2 (p - y) * sigmoid'(z), and sigmoid'(z) = p (1 - p)."],
)

Q_LOGITS_NOT_CLIPPING = question(
    "03.q_logits_not_clipping", "Why compute the loss from logits?", 1, answer="d", choices=["a", "b", "c", "d"],
    wrong={
        "a": "Both versions cost about the same; speed is not the reason.",
        "b": "Both give the same loss wherever the probabilities are not clipped; the from-logits form is the "
             "same function of z, written so that it never overflows.",
        "c": "The labels are the same 0/1 (or integer) targets in both forms.",
    },
    hints=["Look at the plot of BCE against z for y = 1 in the section on stability: what happens to the "
           "clipped curve below z = -27.6?"],
)

Q_SUM_VS_MEAN = question(
    "03.q_sum_vs_mean", "A summed loss and the batch size", 1, answer="a", choices=["a", "b", "c", "d"],
    wrong={
        "b": "The mean divides by N, so its gradient does NOT grow with the batch; the sum's does.",
        "c": "Sum and mean have the same minimum, so the best parameters are the same; what changes is the "
             "size of each step.",
        "d": "Nothing forces a loss to be below 1; a sum over 512 examples is simply 512 times the mean.",
    },
    hints=["A sum over N examples is N times the mean, and so is its gradient."],
)

EXERCISES = [MSE_LOSS, BINARY_CROSS_ENTROPY, CATEGORICAL_CROSS_ENTROPY, SPARSE_CATEGORICAL_CROSS_ENTROPY,
             BINARY_CROSS_ENTROPY_WITH_LOGITS, SOFTMAX_CROSS_ENTROPY, Q_LOSS_FOR_OUTPUT, Q_INITIAL_LOSS,
             Q_MSE_WITH_SIGMOID, Q_LOGITS_NOT_CLIPPING, Q_SUM_VS_MEAN]
