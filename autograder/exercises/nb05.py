"""Exercises of notebook 05: backpropagation.

Cache contracts (stated in the notebook, plain data only):

* ``affine_backward(dout, cache)`` with ``cache = (x, w, b)`` exactly as ``affine_forward`` returns it,
  x: (N, D), w: (D, M), b: (M,), dout: (N, M) -> ``(dx, dw, db)``;
* ``relu_backward(dout, cache)`` with ``cache = x`` (the ReLU's input) -> ``dx``;
* ``sigmoid_backward(dout, cache)`` with ``cache = s`` (the sigmoid's OUTPUT) -> ``dx``;
* ``softmax_loss(scores, y)`` -> ``(loss, dscores)``;
* ``two_layer_loss(params, X, y, reg=0.0)`` with ``params = {"W1", "b1", "W2", "b2"}`` -> ``(loss, grads)``.

Two references are written here because solutions/ has no function of that exact shape; both are
built only from solutions' functions and are checked against PyTorch autograd in tests/test_nb05.py.
"""
from __future__ import annotations

import numpy as np

from autograder.exercise import Case, Exercise, Fn, Mistake, compare_number, question
from autograder.learner.checks import ArrayClose, DictOf, NumberClose, TupleOf
from solutions.activations import relu_backward as _relu_backward
from solutions.activations import sigmoid, softmax
from solutions.activations import sigmoid_backward as _sigmoid_backward
from solutions.gradcheck import eval_numerical_gradient, rel_error
from solutions.layers import affine_backward as _affine_backward
from solutions.layers import affine_forward, affine_relu_backward, affine_relu_forward
from solutions.losses import one_hot, softmax_cross_entropy

# float64 computed in another (valid) order agrees to ~1e-13; 1e-6 relative leaves room for any correct
# formula (e.g. sigma'(z) from exp(-z) instead of s (1 - s)) and no room for a missing factor.
CLOSE = ArrayClose(rtol=1e-6, atol=1e-10)
NUMBER = NumberClose(rtol=1e-6, atol=1e-10)


def _fmt(a) -> str:
    """A small array on one line, as a learner would type it: [[0.5, 1.0], [2.0, -1.0]]."""
    return str(np.asarray(a).tolist())


# ============================================================================= references written here
def neuron_gradients(x, w, b, y):
    """Chain rule through one sigmoid neuron with a squared error (reference for 05.neuron_gradients).

    z = w . x + b,  a = sigmoid(z),  L = (a - y)^2.   x, w: (d,), b, y: numbers.
    Returns (dL/da, dL/dz, dL/dw: (d,), dL/db): each upstream gradient times the local gradient.
    """
    z = np.dot(w, x) + b
    a = sigmoid(z)
    dL_da = 2.0 * (a - y)                          # local gradient of L = (a - y)^2
    dL_dz = _sigmoid_backward(dL_da, a)            # times sigma'(z) = a (1 - a)
    dL_dw = dL_dz * np.asarray(x, dtype=float)     # z = w . x + b: dz/dw = x
    dL_db = dL_dz                                  # dz/db = 1
    return float(dL_da), float(dL_dz), dL_dw, float(dL_db)


def two_layer_loss(params, X, y, reg=0.0):
    """affine - ReLU - affine - softmax cross-entropy, with L2 on the weights (reference for 05.two_layer_loss).

    params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}, X: (N, D), y: (N,) ints in [0, C).
    loss = mean cross-entropy + 0.5 * reg * (sum W1^2 + sum W2^2)  ->  (loss, grads with params' keys).
    The same network and convention as solutions.mlp.TwoLayerNet.loss.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h, cache1 = affine_relu_forward(X, W1, b1)                 # h = max(0, X W1 + b1)
    scores, cache2 = affine_forward(h, W2, b2)                 # scores = h W2 + b2
    data_loss, dscores = softmax_cross_entropy(scores, y)      # dscores = (p - onehot(y)) / N
    loss = data_loss + 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dh, dW2, db2 = _affine_backward(dscores, cache2)
    _, dW1, db1 = affine_relu_backward(dh, cache1)
    return float(loss), {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}


# ============================================================================= 05.neuron_gradients
def _neuron_case(x, w, b, y) -> Case:
    x, w = np.asarray(x, float), np.asarray(w, float)
    return Case(f"x={_fmt(x)}, w={_fmt(w)}, b={b:g}, y={y:g}", (x, w, float(b), float(y)))


def _neuron_public(rng):
    return [
        _neuron_case([1.0, 3.0], [0.6, -0.4], 0.2, 1.0),     # the graph drawn in the notebook
        _neuron_case([2.0], [-0.5], 0.0, 0.0),
        _neuron_case([0.5, -1.0, 2.0], [1.0, 0.5, -0.25], -0.1, 1.0),
    ]


def _neuron_hidden(rng):
    cases = []
    for d, y, scale, what in [(1, 1.0, 1.0, "one input, target 1"), (4, 0.0, 1.0, "4 inputs, target 0"),
                              (6, 0.3, 1.0, "6 inputs, a soft target 0.3"),
                              (10, 1.0, 1.0, "10 inputs, target 1"),
                              (3, 0.0, 4.0, "3 inputs, a saturated sigmoid (large |z|)")]:
        x, w = scale * rng.normal(size=d), scale * rng.normal(size=d)
        cases.append(Case(what, (x, w, float(rng.normal()), y)))
    return cases


def _neuron_mistake(kind):
    def impl(x, w, b, y):
        z = np.dot(w, x) + b
        a = sigmoid(z)
        da = (a - y) if kind == "no 2" else 2.0 * (a - y)
        if kind == "dout * s":
            dz = da * a
        elif kind == "sigmoid of s":
            dz = da * sigmoid(a) * (1.0 - sigmoid(a))
        elif kind == "skipped sigmoid":
            dz = da
        else:
            dz = da * a * (1.0 - a)
        dw = dz * (np.asarray(w, float) if kind == "times w" else np.asarray(x, float))
        return float(da), float(dz), dw, float(dz)
    return impl


NEURON_GRADIENTS = Exercise(
    id="05.neuron_gradients",
    title="The chain rule through one sigmoid neuron",
    points=3,
    reference=neuron_gradients,
    public_cases=_neuron_public,
    hidden_cases=_neuron_hidden,
    compare=TupleOf([NUMBER, NUMBER, CLOSE, NUMBER]),  # (dL/da, dL/dz, dL/dw, dL/db); rtol 1e-6, see CLOSE
    hints=[
        "Go backwards through the graph L <- a <- z <- (w, b). At each node multiply the gradient arriving "
        "from the right (upstream) by that node's own derivative (local gradient).",
        "Local gradients: d(a - y)^2/da = 2 (a - y); da/dz = a (1 - a) for a = sigmoid(z); dz/dw = x; dz/db = 1.",
        "dL_da = 2 * (a - y); dL_dz = dL_da * a * (1 - a); dL_dw = dL_dz * x; dL_db = dL_dz",
    ],
    mistakes=[
        Mistake("forgot the 2 of the square", "d/da (a - y)^2 = 2 (a - y): the exponent comes down as a factor.",
                _neuron_mistake("no 2")),
        Mistake("sigmoid's local gradient taken as a", "the derivative of the sigmoid is a (1 - a), "
                "not its output a: dL_dz = dL_da * a * (1 - a).", _neuron_mistake("dout * s")),
        Mistake("sigmoid applied to its own output", "a is already sigmoid(z): use a * (1 - a), "
                "not sigmoid(a) * (1 - sigmoid(a)).", _neuron_mistake("sigmoid of s")),
        Mistake("skipped the sigmoid's local gradient", "the gradient must pass through the sigmoid node: "
                "multiply dL_da by a (1 - a) to get dL_dz.", _neuron_mistake("skipped sigmoid")),
        Mistake("multiplied by w instead of x", "z = w . x + b, so dz/dw_i = x_i (the OTHER factor of the "
                "product): dL_dw = dL_dz * x.", _neuron_mistake("times w")),
    ],
)


# ============================================================================= 05.affine_backward
def _affine_case(rng, n, d, m, label=None) -> Case:
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    label = label or f"dout {dout.shape}, cache = (x {x.shape}, w {w.shape}, b {b.shape})"
    return Case(label, (dout, (x, w, b)))


def _affine_public(rng):
    return [_affine_case(rng, 2, 4, 3), _affine_case(rng, 3, 2, 5), _affine_case(rng, 1, 3, 1)]


def _affine_hidden(rng):
    return [_affine_case(rng, n, d, m, label) for n, d, m, label in [
        (5, 6, 4, "a batch of 5, 6 inputs, 4 outputs"), (1, 10, 2, "a single example"),
        (8, 3, 3, "as many inputs as outputs (a square w)"), (4, 4, 4, "N = D = M = 4"),
        (16, 64, 10, "a batch of 16 digits-sized inputs (64 -> 10)")]]


AFFINE_BACKWARD = Exercise(
    id="05.affine_backward",
    title="Backward pass of an affine layer",
    points=3,
    reference=_affine_backward,
    public_cases=_affine_public,
    hidden_cases=_affine_hidden,
    compare=TupleOf([CLOSE, CLOSE, CLOSE]),  # (dx, dw, db); rtol 1e-6: any order of summation passes
    hints=[
        "Each gradient has the shape of what it is the gradient of: dx like x (N, D), dw like w (D, M), "
        "db like b (M,). Combine dout (N, M) with the cached x or w so that the shapes work out.",
        "out = x @ w + b. Then dx = dout @ w.T, dw = x.T @ dout; b is added to every row, so its "
        "gradient sums dout over the batch.",
        "x, w, b = cache; return dout @ w.T, x.T @ dout, dout.sum(axis=0)",
    ],
    mistakes=[
        Mistake("db not summed over the batch", "b is added to all N rows, so its gradient is the SUM of dout "
                "over the rows: db = dout.sum(axis=0), shape (M,).",
                lambda dout, cache: (dout @ cache[1].T, cache[0].T @ dout, dout)),
        Mistake("db summed over the wrong axis", "sum over the batch (axis=0), not over the outputs: "
                "db has shape (M,).",
                lambda dout, cache: (dout @ cache[1].T, cache[0].T @ dout, dout.sum(axis=1))),
        Mistake("transposed weight gradient", "dw must have w's shape (D, M): dw = x.T @ dout, "
                "not dout.T @ x.",
                lambda dout, cache: (dout @ cache[1].T, dout.T @ cache[0], dout.sum(axis=0))),
        Mistake("averaged over the batch", "a layer's backward sums over the batch; the 1/N of a mean "
                "belongs to the loss and is already inside dout.",
                lambda dout, cache: (dout @ cache[1].T, cache[0].T @ dout / len(dout), dout.mean(axis=0))),
    ],
)


# ============================================================================= 05.relu_backward
def _relu_case(rng, shape, label=None, x=None) -> Case:
    x = rng.normal(size=shape) if x is None else np.asarray(x, float)
    dout = rng.normal(size=x.shape)
    return Case(label or f"dout and cache x of shape {x.shape}", (dout, x))


def _relu_public(rng):
    return [_relu_case(rng, None, "x = [[-1.5, 2.0, 0.5], [3.0, -0.1, -2.0]], random dout",
                       x=[[-1.5, 2.0, 0.5], [3.0, -0.1, -2.0]]),
            _relu_case(rng, (4, 5)), _relu_case(rng, (3,))]


def _negative_but_last(rng, shape) -> np.ndarray:
    """Negative inputs but the last one: a gradient of all zeros would be passed by code that ignores its inputs."""
    x = -np.abs(rng.normal(size=shape)) - 0.01
    x.flat[-1] = -x.flat[-1]
    return x


def _relu_hidden(rng):
    return [_relu_case(rng, (2, 3, 4), "a 3-D input of shape (2, 3, 4)"),
            _relu_case(rng, None, "all inputs negative but the last", x=_negative_but_last(rng, (3, 4))),
            _relu_case(rng, None, "all inputs positive", x=np.abs(rng.normal(size=(3, 4))) + 0.01),
            _relu_case(rng, (32, 10), "a batch of 32 with 10 units"),
            _relu_case(rng, None, "inputs very close to 0 on both sides", x=1e-9 * rng.normal(size=(4, 4)))]


RELU_BACKWARD = Exercise(
    id="05.relu_backward",
    title="Backward pass of ReLU",
    points=2,
    reference=_relu_backward,
    public_cases=_relu_public,
    hidden_cases=_relu_hidden,
    compare=CLOSE,  # exact in fact (a mask); no input is exactly 0, so both conventions at the kink pass
    hints=[
        "ReLU passes its input through where x > 0 and outputs 0 elsewhere, so its local gradient is 1 "
        "where x > 0 and 0 elsewhere.",
        "dx = dout * (x > 0): the upstream gradient flows where the input was positive and is stopped elsewhere.",
        "x = cache; return np.where(x > 0, dout, 0.0)",
    ],
    mistakes=[
        Mistake("returned the mask, not the gradient", "the local gradient (x > 0) must multiply the "
                "upstream gradient: dx = dout * (x > 0).", lambda dout, x: (x > 0).astype(float)),
        Mistake("masked by the sign of dout", "the gate is open where the forward INPUT x was positive; "
                "the sign of dout does not matter.", lambda dout, x: np.where(dout > 0, dout, 0.0)),
        Mistake("multiplied dout by relu(x)", "the derivative of max(0, x) is the step (x > 0), not "
                "max(0, x) itself.", lambda dout, x: dout * np.maximum(x, 0.0)),
        Mistake("passed dout through unchanged", "ReLU blocks the gradient where x <= 0: dx is 0 there.",
                lambda dout, x: np.array(dout, dtype=float)),
    ],
)


# ============================================================================= 05.sigmoid_backward
def _sigmoid_case(rng, shape, label=None, scale=1.0) -> Case:
    s = sigmoid(scale * rng.normal(size=shape))
    dout = rng.normal(size=s.shape)
    return Case(label or f"dout and cache s of shape {s.shape} (s = sigmoid of standard normal x)", (dout, s))


def _sigmoid_public(rng):
    s = np.array([[0.1, 0.5, 0.9], [0.25, 0.75, 0.99]])
    return [Case("s = [[0.1, 0.5, 0.9], [0.25, 0.75, 0.99]], dout = ones", (np.ones((2, 3)), s)),
            _sigmoid_case(rng, (4, 3)), _sigmoid_case(rng, (5,))]


def _sigmoid_hidden(rng):
    return [_sigmoid_case(rng, (2, 3, 2), "a 3-D input"),
            _sigmoid_case(rng, (6, 4), "saturated units (s close to 0 or 1)", scale=6.0),
            _sigmoid_case(rng, (32, 10), "a batch of 32 with 10 units"),
            _sigmoid_case(rng, (1, 1), "a single unit")]


SIGMOID_BACKWARD = Exercise(
    id="05.sigmoid_backward",
    title="Backward pass of the sigmoid (cache = its output s)",
    points=2,
    reference=_sigmoid_backward,
    public_cases=_sigmoid_public,
    hidden_cases=_sigmoid_hidden,
    compare=CLOSE,  # rtol 1e-6: s*(1-s) and s-s**2 agree to ~1e-16
    hints=[
        "The cache is the sigmoid's OUTPUT s = sigmoid(x), not x. The derivative sigma'(x) = s (1 - s) "
        "needs only s.",
        "dx = dout * s * (1 - s), elementwise.",
    ],
    mistakes=[
        Mistake("local gradient taken as s", "the derivative of the sigmoid is s (1 - s), not s: "
                "dx = dout * s * (1 - s).", lambda dout, s: dout * s),
        Mistake("sigmoid applied to the cache again", "the cache already holds s = sigmoid(x); "
                "use s * (1 - s) directly.", lambda dout, s: dout * sigmoid(s) * (1.0 - sigmoid(s))),
        Mistake("forgot the upstream gradient", "multiply the local gradient s (1 - s) by dout (chain rule).",
                lambda dout, s: s * (1.0 - s)),
        Mistake("tanh's derivative", "1 - s^2 is the derivative of tanh (in terms of its output); "
                "the sigmoid's is s (1 - s).", lambda dout, s: dout * (1.0 - s ** 2)),
    ],
)


# ============================================================================= 05.softmax_loss
def _softmax_case(rng, n, k, label=None, scale=1.0, shift=0.0) -> Case:
    scores = scale * rng.normal(size=(n, k)) + shift
    y = rng.integers(0, k, size=n)
    return Case(label or f"scores {scores.shape} (standard normal), y = {y.tolist()}", (scores, y))


def _softmax_public(rng):
    return [Case("scores = [[1, 2, 3], [1, 1, 1]], y = [2, 0]", (np.array([[1.0, 2, 3], [1, 1, 1]]), np.array([2, 0]))),
            _softmax_case(rng, 4, 5),
            Case("scores = [[1000, 999, 998], [999, 1000, 1000]], y = [0, 2] (large: subtract the max)",
                 (np.array([[1000.0, 999, 998], [999, 1000, 1000]]), np.array([0, 2])))]


def _softmax_hidden(rng):
    return [_softmax_case(rng, 1, 2, "one example, two classes"),
            _softmax_case(rng, 10, 10, "10 examples, 10 classes"),
            _softmax_case(rng, 6, 4, "scores around +800 (overflow test)", scale=3.0, shift=800.0),
            _softmax_case(rng, 6, 4, "scores around -800 (underflow test)", scale=3.0, shift=-800.0),
            _softmax_case(rng, 32, 3, "a batch of 32, 3 classes, spread-out scores", scale=5.0)]


def _softmax_mistake(kind):
    def impl(scores, y):
        n = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(n), y]
        p = softmax(scores, axis=1)
        loss = -np.sum(log_p) if kind == "sum" else -np.mean(log_p)
        Y = one_hot(y, scores.shape[1])
        dscores = {"no 1/N": p - Y, "no -1": p / n, "sign": (Y - p) / n}.get(kind, (p - Y) / n)
        return float(loss), dscores
    return impl


SOFTMAX_LOSS = Exercise(
    id="05.softmax_loss",
    title="Softmax cross-entropy loss and its gradient",
    points=2,
    reference=softmax_cross_entropy,
    public_cases=_softmax_public,
    hidden_cases=_softmax_hidden,
    compare=TupleOf([NUMBER, CLOSE]),  # (loss, dscores); rtol 1e-6, log-softmax vs log(softmax) agree far closer
    hints=[
        "Compute the probabilities with a stable softmax (subtract each row's max first), the loss as the "
        "MEAN of -log p[n, y_n] over the batch, and the gradient (p - onehot(y)) / N.",
        "p = softmax of the rows; loss = -np.mean(np.log(p[np.arange(N), y])); "
        "dscores = p.copy(); dscores[np.arange(N), y] -= 1; dscores /= N",
    ],
    mistakes=[
        Mistake("gradient missing the 1/N", "the loss is a mean over the N examples, so its gradient carries "
                "the same 1/N: dscores = (p - onehot(y)) / N.", _softmax_mistake("no 1/N")),
        Mistake("loss summed over the batch", "average the per-example losses (divide by N), as the gradient does.",
                _softmax_mistake("sum")),
        Mistake("forgot to subtract 1 at the true class", "d(-log p_y)/dscores = p - onehot(y): subtract 1 "
                "at the true class of each row.", _softmax_mistake("no -1")),
        Mistake("gradient sign flipped", "the gradient of the loss is (p - onehot(y)) / N; (onehot(y) - p) / N "
                "points uphill.", _softmax_mistake("sign")),
    ],
    forbid_warnings=True,
)


# ============================================================================= 05.numerical_gradient
def _numgrad_case(fn, x, h=None, label=None) -> Case:
    x = np.asarray(x, float)
    kwargs = {} if h is None else {"h": h}
    label = label or f"f={fn}, x={_fmt(x)}" + ("" if h is None else f", h={h:g}")
    return Case(label, (Fn(fn), x), kwargs)


def _numgrad_public(rng):
    return [_numgrad_case("sum_of_squares", [1.0, -2.0, 3.0]),
            _numgrad_case("sin_sum", [[0.5, 1.0, 2.0], [-1.0, 3.0, 0.1]], h=1e-3),
            _numgrad_case("rosenbrock", [-1.2, 1.0], h=1e-3),
            _numgrad_case("log_sum_exp", [[1.0, 2.0], [0.5, -1.0]]),
            _numgrad_case("bowl", [3.0, -1.0, 2.0])]


def _numgrad_hidden(rng):
    return [_numgrad_case("sum_of_squares", rng.normal(size=(3, 2)), label="sum_of_squares on a (3, 2) array"),
            _numgrad_case("sin_sum", 2 * rng.normal(size=(2, 2, 2)), 1e-3, "sin_sum on a (2, 2, 2) array, h=1e-3"),
            _numgrad_case("sin_sum", rng.normal(size=4), 1e-4, "sin_sum on 4 numbers, h=1e-4"),
            _numgrad_case("log_sum_exp", 3 * rng.normal(size=(2, 3)), label="log_sum_exp on a (2, 3) array"),
            _numgrad_case("rosenbrock", rng.uniform(-1.5, 1.5, size=5), 1e-3, "rosenbrock in 5 dimensions, h=1e-3"),
            _numgrad_case("bowl", rng.normal(size=4), 1e-3, "bowl in 4 dimensions, h=1e-3"),
            _numgrad_case("sum_of_squares", rng.normal(size=1), label="a single number")]


def _forward_difference(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad, fx = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += h
        grad[i] = (f(xp) - fx) / h
    return grad


def _divided_by_h(f, x, h=1e-5):
    return 2.0 * eval_numerical_gradient(f, np.array(x, dtype=float), h)


def _all_at_once(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    return np.full(x.shape, (f(x + h) - f(x - h)) / (2.0 * h))


NUMERICAL_GRADIENT = Exercise(
    id="05.numerical_gradient",
    title="Numerical gradient by centred differences",
    points=3,
    reference=eval_numerical_gradient,
    public_cases=_numgrad_public,
    hidden_cases=_numgrad_hidden,
    # Every centred implementation evaluates f at the same points, so they agree to ~1e-15. A one-sided
    # difference is off by about h/2 * f'' (5e-4 relative with h=1e-3), far outside rtol 1e-6.
    compare=ArrayClose(rtol=1e-6, atol=1e-8),
    hints=[
        "For every entry i of x (any shape: loop with np.ndindex(x.shape) or np.nditer), nudge only that "
        "entry by +h and by -h, evaluate f twice and take (f(x + h e_i) - f(x - h e_i)) / (2h).",
        "Either work on copies (xp = x.copy(); xp[i] += h) or change x[i] in place and put the ORIGINAL "
        "value back afterwards (old = x[i]; ...; x[i] = old): the check fails if x is left changed.",
        "grad = np.zeros_like(x); for i in np.ndindex(x.shape): old = x[i]; x[i] = old + h; fp = f(x); "
        "x[i] = old - h; fm = f(x); x[i] = old; grad[i] = (fp - fm) / (2 * h)",
    ],
    mistakes=[
        Mistake("one-sided finite differences", "(f(x + h) - f(x)) / h has an error proportional to h; the "
                "centred (f(x + h) - f(x - h)) / (2h) has an error proportional to h^2.", _forward_difference),
        Mistake("divided by h instead of 2h", "the two evaluation points are 2h apart: divide by 2 * h.",
                _divided_by_h),
        Mistake("perturbed every entry at once", "nudge ONE entry at a time; moving all of x by h gives the "
                "slope along the diagonal, not the partial derivative of each entry.", _all_at_once),
    ],
)


# ============================================================================= 05.relative_error
def _relerr_case(a, b, label=None) -> Case:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return Case(label or f"a={_fmt(a)}, b={_fmt(b)}", (a, b))


def _relerr_public(rng):
    return [_relerr_case([1.0, 2.0], [1.0, 2.0]),
            _relerr_case([1.0, 100.0], [1.1, 100.0]),
            _relerr_case([1e-9, 0.5], [0.0, 0.5]),
            _relerr_case([[1.0, -2.0], [3.0, 0.25]], [[1.001, -2.0], [2.99, 0.25]])]


def _relerr_hidden(rng):
    a = rng.normal(size=(4, 3))
    tiny = rng.normal(size=5)
    tiny_b = tiny.copy()
    tiny[2], tiny_b[2] = 3e-9, -2e-10
    return [_relerr_case(a, a + 1e-7 * rng.normal(size=a.shape), "a good gradient (errors around 1e-7)"),
            _relerr_case(a, 2 * a, "a gradient off by a factor 2"),
            _relerr_case(a, -a, "opposite signs"),
            _relerr_case(tiny, tiny_b, "one pair of entries both smaller than 1e-8"),
            _relerr_case([0.0, 0.0, 1e-3], np.zeros(3), "zero arrays but one entry (0 / 0 elsewhere)"),
            _relerr_case(rng.normal(size=7), rng.normal(size=7), "two unrelated arrays")]


def _no_floor(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))


RELATIVE_ERROR = Exercise(
    id="05.relative_error",
    title="Relative error between two gradients",
    points=2,
    reference=rel_error,
    public_cases=_relerr_public,
    hidden_cases=_relerr_hidden,
    compare=compare_number(rtol=1e-7, atol=1e-12),  # one max of elementwise ratios: any order agrees to ~1e-16
    hints=[
        "Work entry by entry: |a - b| divided by |a| + |b| (never below 1e-8), then take the largest of these ratios.",
        "return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))",
    ],
    mistakes=[
        Mistake("ratio of the maxima", "divide entry by entry first, then take the max: a small gradient "
                "entry can be completely wrong while the largest entries hide it.",
                lambda a, b: float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))),
        Mistake("no 1e-8 floor in the denominator", "where both entries are (almost) 0 the ratio explodes or "
                "is 0/0: divide by np.maximum(1e-8, |a| + |b|).", _no_floor),
        Mistake("relative to a only", "the relative error is symmetric: divide by |a| + |b|, not by |a|.",
                lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))),
        Mistake("mean instead of max", "a gradient check must fail if ANY entry is wrong: take the max.",
                lambda a, b: float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))),
    ],
)


# ============================================================================= 05.two_layer_loss
def _mlp_case(rng, n, d, h, c, reg, label=None, bias=True) -> Case:
    params = {"W1": rng.normal(size=(d, h)) / np.sqrt(d), "b1": (0.1 * rng.normal(size=h) if bias else np.zeros(h)),
              "W2": rng.normal(size=(h, c)) / np.sqrt(h), "b2": (0.1 * rng.normal(size=c) if bias else np.zeros(c))}
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
    label = label or (f"N={n}, D={d}, H={h}, C={c}, reg={reg:g}" + ("" if bias else ", zero biases"))
    return Case(label, (params, X, y), {"reg": reg})


def _mlp_public(rng):
    return [_mlp_case(rng, 3, 4, 5, 3, 0.0, bias=False), _mlp_case(rng, 5, 2, 6, 3, 0.1),
            _mlp_case(rng, 4, 3, 4, 2, 0.5)]


def _mlp_hidden(rng):
    return [_mlp_case(rng, 1, 3, 4, 3, 0.0, "a single example"),
            _mlp_case(rng, 8, 5, 7, 4, 0.05, "a batch of 8 with a little regularisation"),
            _mlp_case(rng, 6, 64, 16, 10, 1e-3, "digits-sized: 64 inputs, 10 classes"),
            _mlp_case(rng, 10, 2, 3, 2, 1.0, "strong regularisation"),
            _mlp_case(rng, 7, 4, 6, 5, 0.0, "no regularisation, 5 classes")]


def _mlp_mistake(kind):
    def impl(params, X, y, reg=0.0):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        n = X.shape[0]
        a1 = X @ W1 + b1
        h = np.maximum(a1, 0.0)
        scores = h @ W2 + b2
        p = softmax(scores, axis=1)
        loss = -np.mean(np.log(p[np.arange(n), y])) + 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dscores = p - one_hot(y, scores.shape[1])
        if kind != "no 1/N":
            dscores = dscores / n
        dW2, db2 = h.T @ dscores, dscores.sum(axis=0)
        dh = dscores @ W2.T
        da1 = dh if kind == "no relu" else dh * (a1 > 0)
        dW1, db1 = X.T @ da1, da1.sum(axis=0)
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        if kind != "no reg grad":
            grads["W1"], grads["W2"] = dW1 + reg * W1, dW2 + reg * W2
        if kind == "reg biases":
            loss += 0.5 * reg * (np.sum(b1 ** 2) + np.sum(b2 ** 2))
            grads["b1"], grads["b2"] = db1 + reg * b1, db2 + reg * b2
        return float(loss), grads
    return impl


TWO_LAYER_LOSS = Exercise(
    id="05.two_layer_loss",
    title="Loss and gradients of a two-layer network",
    points=5,
    reference=two_layer_loss,
    public_cases=_mlp_public,
    hidden_cases=_mlp_hidden,
    compare=TupleOf([NUMBER, DictOf(CLOSE)]),  # (loss, {"W1", "b1", "W2", "b2"}); rtol 1e-6, see CLOSE
    hints=[
        "Forward: a1 = X W1 + b1, h = relu(a1), scores = h W2 + b2, then the softmax loss plus "
        "0.5 * reg * (sum W1^2 + sum W2^2). Keep every cache: the backward pass needs them.",
        "Backward, right to left: dscores from softmax_loss; (dh, dW2, db2) from affine_backward; da1 from "
        "relu_backward; (dX, dW1, db1) from affine_backward. Then add reg * W to dW1 and dW2 (not to the biases).",
        "h, c1 = affine_forward(X, W1, b1); r, c2 = relu_forward(h); s, c3 = affine_forward(r, W2, b2); "
        "loss, ds = softmax_loss(s, y); dr, dW2, db2 = affine_backward(ds, c3); "
        "dW1, db1 = affine_backward(relu_backward(dr, c2), c1)[1:]",
    ],
    mistakes=[
        Mistake("gradient missing the 1/N", "the loss averages over the N examples, so dscores = (p - onehot(y)) / N; "
                "without the 1/N every gradient is N times too large.", _mlp_mistake("no 1/N")),
        Mistake("forgot reg in the gradient", "the penalty 0.5 * reg * sum(W^2) adds reg * W to dW1 and dW2.",
                _mlp_mistake("no reg grad")),
        Mistake("regularised the biases", "this course's L2 penalty covers the weights W1, W2 only, never the biases.",
                _mlp_mistake("reg biases")),
        Mistake("skipped the ReLU in the backward pass", "the gradient flows back through the ReLU: "
                "multiply by (a1 > 0) before the first affine backward.", _mlp_mistake("no relu")),
    ],
)


# ============================================================================= concept questions
Q_ADD_MUL = question(
    "05.q_add_mul", "Gradient through an add and a multiply gate", 1, answer=-4.0,
    wrong={3.0: "3 = x + y is df/dz (the multiply gate swaps its inputs' values). You want df/dx.",
           1.0: "1 is only the add gate's local gradient dq/dx; multiply it by the upstream gradient df/dq = z.",
           -12.0: "-12 is the value of f, not a gradient.",
           4.0: "right size, wrong sign: df/dq = z = -4 and dq/dx = +1."},
    hints=["Name the intermediate: q = x + y, f = q z. Then df/dx = df/dq * dq/dx.",
           "df/dq = z (the other input of the multiply gate) and dq/dx = 1 (an add gate copies the gradient)."])

Q_FORK = question(
    "05.q_fork", "A value used twice", 1, answer="c", choices=["a", "b", "c", "d"],
    wrong={"a": "Keeping only the last gradient forgets one path from x to the loss.",
           "b": "The multivariable chain rule adds the contributions of every path; it does not multiply them.",
           "d": "Averaging divides by the number of uses; each use contributes its full gradient."},
    hints=["Change x a little: both uses change, and the loss feels both effects.",
           "This is also why db sums dout over the batch: b is used by all N examples."])

Q_FORWARD_PASSES = question(
    "05.q_forward_passes", "The cost of a numerical gradient", 1, answer=26004.0, rtol=1e-7,  # an exact count
    wrong={13002.0: "That is one evaluation per parameter; a centred difference evaluates the loss twice per "
                    "parameter, at +h and at -h.",
           13003.0: "That counts a one-sided difference (one extra evaluation per parameter plus f(x)); "
                    "the centred one needs two per parameter.",
           26005.0: "A centred difference never needs the loss at the unperturbed point: exactly two "
                    "evaluations per parameter.",
           2.0: "Backpropagation needs one forward and one backward pass; a numerical gradient needs two loss "
                "evaluations for EACH parameter."},
    hints=["A centred difference for one parameter evaluates the loss at w_i + h and at w_i - h.",
           "784-16-16-10 has 13,002 parameters (notebook 01)."])

Q_REL_ERROR = question(
    "05.q_rel_error", "Reading a relative error", 1, answer="b", choices=["a", "b", "c", "d"],
    wrong={"a": "In float64 a correct backward pass of a smooth network gives about 1e-7 or less; "
                "1e-4 is a thousand times too large.",
           "c": "Centred differences with h = 1e-5 are accurate to about 1e-10 here; the step is not the problem.",
           "d": "1e-4 is never a 'perfect' match: with float64 and no kinks expect 1e-7 or below."},
    hints=["The network uses tanh and softmax only: no kinks. What relative error does a correct gradient give "
           "in float64?", "CS231n's rule of thumb: below 1e-7 good; 1e-4 is acceptable only with kinks (ReLU)."])

EXERCISES = [NEURON_GRADIENTS, AFFINE_BACKWARD, RELU_BACKWARD, SIGMOID_BACKWARD, SOFTMAX_LOSS,
             NUMERICAL_GRADIENT, RELATIVE_ERROR, TWO_LAYER_LOSS, Q_ADD_MUL, Q_FORK, Q_FORWARD_PASSES, Q_REL_ERROR]
