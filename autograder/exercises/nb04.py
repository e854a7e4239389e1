"""Exercises of notebook 04: gradient descent and optimizers.

The optimizers are classes, driven by a script of steps (see :mod:`autograder.exercise`): keep a
dict of parameters, build the learner's optimizer, call ``step(params, grads)`` with fixed random
gradients many times, then read the dict back. The contract (as in ``solutions.optimizers``):
``step`` leaves the new values in ``params``, in place (``params[name] -= ...``) or by rebinding
the entry (``params[name] = ...``). Both pass because the script reads the dict back after the
steps; a ``step`` that only computes ``w = w - lr * g`` into a local variable changes nothing and
is named by the mistake "parameters never updated".
"""
from __future__ import annotations

import numpy as np

from autograder.exercise import Case, Exercise, Mistake, Ref, call, compare_array, let, question
from autograder.learner.checks import ArrayClose, ListOf, SameBatches, TupleOf
from solutions import optimizers as opt


def _fmt(a) -> str:
    return np.array2string(np.asarray(a), precision=3, separator=", ", max_line_width=10**6).replace("\n", "")


# ----------------------------------------------------------------------------- 04.sgd_update
def _sgd_update_public(rng):
    W = np.round(rng.normal(size=(2, 3)), 2)
    dW = np.round(rng.normal(size=(2, 3)), 2)
    return [
        Case("w=[1, 2, 3], dw=[0.5, -1, 2], lr=0.1", (np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), 0.1)),
        Case(f"w={_fmt(W)}, dw={_fmt(dW)}, lr=0.01", (W, dW, 0.01)),
        Case("w=[4], dw=[-2], lr=0.5", (np.array([4.0]), np.array([-2.0]), 0.5)),
    ]


def _sgd_update_hidden(rng):
    cases = []
    for shape, lr, what in [((5,), 0.3, "a vector"), ((4, 3), 0.05, "a matrix"), ((3, 2, 2), 2.0, "a 3-D array"),
                            ((50,), 1e-3, "a long vector and a small learning rate")]:
        w, dw = rng.normal(size=shape), rng.normal(size=shape)
        cases.append(Case(f"{what}, random weights and gradients", (w, dw, lr)))
    w, dw = rng.normal(size=4), rng.normal(size=4)
    cases.append(Case("a zero learning rate leaves the weights unchanged", (w, dw, 0.0)))
    return cases


SGD_UPDATE = Exercise(
    id="04.sgd_update",
    title="The gradient-descent update rule",
    points=2,
    reference=opt.sgd_update,
    public_cases=_sgd_update_public,
    hidden_cases=_sgd_update_hidden,
    compare=compare_array(),  # rtol 1e-6: one multiply and one subtract in float64, in any order
    hints=[
        "Step against the gradient: the gradient points uphill, so subtract it.",
        "The step is the gradient times the learning rate; return a new array and leave w alone.",
        "return w - lr * dw",
    ],
    mistakes=[
        Mistake("plus instead of minus", "w + lr * dw climbs the loss (gradient ascent): subtract the step.",
                lambda w, dw, lr: w + lr * dw),
        Mistake("forgot the learning rate", "the step is lr * dw, not dw.", lambda w, dw, lr: w - dw),
        Mistake("returned the step, not the new weights", "return w - lr * dw, the updated weights.",
                lambda w, dw, lr: -lr * dw),
        Mistake("divided by the learning rate", "multiply the gradient by lr: a small lr means a small step.",
                lambda w, dw, lr: w - dw / lr if lr else w - dw * np.inf),
    ],
)


# ----------------------------------------------------------------------------- 04.gd_quadratic
def _spd(rng, d, condition):
    """A random symmetric positive-definite matrix with eigenvalues from 1 to ``condition``."""
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return Q @ np.diag(np.linspace(1.0, condition, d)) @ Q.T


def _gdq_case(A, x0, lr, steps, label=None) -> Case:
    label = label or f"A={_fmt(A)}, x0={_fmt(x0)}, lr={lr:g}, steps={steps}"
    return Case(label, (A, x0, lr, steps))


def _gdq_public(rng):
    return [
        _gdq_case(np.diag([1.0, 10.0]), np.array([2.0, 1.0]), 0.1, 5),
        _gdq_case(np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0]), 0.05, 10),
        _gdq_case(np.diag([1.0, 25.0]), np.array([2.0, 1.0]), 0.09, 8),  # lr > 2/25: diverges
    ]


def _gdq_hidden(rng):
    cases = []
    for d, cond, lr_factor, steps, what in [(2, 25.0, 0.5, 30, "a rotated ill-conditioned 2-D bowl, a good lr"),
                                            (3, 10.0, 1.9, 25, "a 3-D bowl, lr close to the stability limit"),
                                            (5, 4.0, 2.2, 20, "a 5-D bowl, lr past the stability limit"),
                                            (2, 100.0, 0.01, 40, "a very ill-conditioned bowl, a tiny lr")]:
        A = _spd(rng, d, cond)
        cases.append(_gdq_case(A, rng.normal(size=d), lr_factor / cond, steps, f"{what}, {steps} steps"))
    cases.append(_gdq_case(np.array([[2.0]]), np.array([1.5]), 0.2, 12, "a 1-D parabola"))
    cases.append(_gdq_case(_spd(rng, 2, 5.0), rng.normal(size=2), 0.1, 0, "zero steps: the trajectory is x0 alone"))
    return cases


def _gdq_no_start(A, x0, lr, steps):
    x, path = np.array(x0, float), []
    for _ in range(steps):
        x = x - lr * A @ x
        path.append(x)
    return np.array(path).reshape(steps, len(x0))


def _gdq_same_array(A, x0, lr, steps):
    x = np.array(x0, float)
    path = [x]
    for _ in range(steps):
        x -= lr * A @ x  # in place: every entry of path is this one array
        path.append(x)
    return np.stack(path)


def _gdq_with(grad, sign=-1.0):
    def gd(A, x0, lr, steps):
        x = np.array(x0, float)
        path = [x]
        for _ in range(steps):
            x = x + sign * lr * grad(A, x)
            path.append(x)
        return np.stack(path)
    return gd


GD_QUADRATIC = Exercise(
    id="04.gd_quadratic",
    title="Gradient descent on a quadratic bowl",
    points=3,
    reference=opt.gd_quadratic,
    public_cases=_gdq_public,
    hidden_cases=_gdq_hidden,
    # rtol 1e-6: the error of float64 arithmetic grows with the values (also on diverging runs), so a
    # relative tolerance fits; every wrong rule is off by far more after a few steps.
    compare=compare_array(),
    hints=[
        "The gradient of f(x) = 0.5 x^T A x is A x (A is symmetric). Start the list of points with x0.",
        "Repeat `steps` times: x = sgd_update(x, A @ x, lr), and append x. Return np.array(path), "
        "shape (steps + 1, D).",
        "Write x = x - lr * (A @ x) (a new array), not x -= ...: an in-place update changes the array you "
        "already appended, so every row of the trajectory would be the last point.",
    ],
    mistakes=[
        Mistake("forgot the starting point", "row 0 of the trajectory is x0, so there are steps + 1 rows.",
                _gdq_no_start),
        Mistake("the same array appended every step", "x -= ... updates the array in place, and the list holds "
                "that one array many times: every row is the last point. Use x = x - lr * (A @ x).",
                _gdq_same_array),
        Mistake("gradient 2 A x", "the 1/2 in f(x) = 0.5 x^T A x cancels the 2: the gradient is A x.",
                _gdq_with(lambda A, x: 2 * A @ x)),
        Mistake("gradient ascent", "step against the gradient: x - lr * A x.", _gdq_with(lambda A, x: A @ x, +1.0)),
    ],
)


# ----------------------------------------------------------------------------- 04.minibatches (+ _shuffled)
def _data(rng, n, x_shape=(3,), labels="classes"):
    """X whose first feature is the example's id (0..N-1), y classes or real targets."""
    X = np.round(rng.normal(size=(n, *x_shape)), 3)
    X.reshape(n, -1)[:, 0] = np.arange(n)  # the first feature of each (flattened) example is its id
    if labels == "classes":
        y = rng.integers(0, 10, size=n)
    elif labels == "onehot":
        y = np.eye(3)[rng.integers(0, 3, size=n)]
    else:
        y = np.round(rng.normal(size=n), 3)
    return X, y


def _sizes(n, batch_size):
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


def _batches_case(label, X, y, batch_size, shuffle, seed=None) -> Case:
    kwargs = {"shuffle": shuffle} if seed is None else {"shuffle": shuffle, "seed": seed}
    return Case(label, steps=[call("@", X, y, batch_size, collect=True, inputs_back=True, **kwargs)])


def _ordered_public(rng):
    cases = []
    for n, bs, x_shape in [(10, 4, (3,)), (12, 4, (2,)), (5, 8, (3,))]:
        X, y = _data(rng, n, x_shape)
        label = (f"X of shape {X.shape} (X[:, 0] = arange({n})), y={y.tolist()}, batch_size={bs}, shuffle=False: "
                 f"batches of {', '.join(map(str, _sizes(n, bs)))}")
        cases.append(_batches_case(label, X, y, bs, shuffle=False))
    return cases


IMAGES = "image-like X and one-hot y, N a multiple of the batch size"


def _ordered_hidden(rng):
    cases = []
    for n, bs, x_shape, labels, what in [(100, 32, (4,), "classes", "a larger data set, the last batch partial"),
                                         (7, 1, (2,), "targets", "batches of one example (SGD)"),
                                         (1, 1, (3,), "classes", "a single example"),
                                         (30, 10, (2, 2), "onehot", IMAGES),
                                         (9, 9, (3,), "targets", "one batch of exactly N examples (full batch)")]:
        X, y = _data(rng, n, x_shape, labels)
        cases.append(_batches_case(f"{what}, shuffle=False", X, y, bs, shuffle=False))
    return cases


def _mb_drop_last(X, y, batch_size, shuffle=True, seed=0):
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def _mb_empty_last(X, y, batch_size, shuffle=True, seed=0):
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for k in range(len(X) // batch_size + 1):
        idx = order[k * batch_size:(k + 1) * batch_size]
        yield X[idx], y[idx]


def _mb_always_shuffles(X, y, batch_size, shuffle=True, seed=0):
    yield from opt.minibatches(X, y, batch_size, shuffle=True, seed=seed)


def _mb_never_shuffles(X, y, batch_size, shuffle=True, seed=0):
    yield from opt.minibatches(X, y, batch_size, shuffle=False)


def _mb_two_permutations(X, y, batch_size, shuffle=True, seed=0):
    n = len(X)
    if shuffle:
        rng = np.random.default_rng(seed)
        X, y = X[rng.permutation(n)], y[rng.permutation(n)]
    for start in range(0, n, batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


DROP_LAST = Mistake("drops the last partial batch", "when N is not a multiple of batch_size the last batch is "
                    "smaller, but it must still come: range(0, N, batch_size) covers every example.", _mb_drop_last)
EMPTY_LAST = Mistake("an empty last batch (off by one)", "N // batch_size + 1 batches is one too many when N is a "
                     "multiple of batch_size: the last one is empty. Loop over range(0, N, batch_size).",
                     _mb_empty_last)

MINIBATCHES = Exercise(
    id="04.minibatches",
    title="Mini-batches in order (shuffle=False)",
    points=3,
    reference=opt.minibatches,
    public_cases=_ordered_public,
    hidden_cases=_ordered_hidden,
    # Exact: the batches are slices of X and y, no arithmetic, and without shuffling their order is
    # fixed, so each batch must equal the expected one bit for bit.
    compare=ListOf(TupleOf([ArrayClose(0, 0), ArrayClose(0, 0)])),
    hints=[
        "Walk through the examples with start = 0, batch_size, 2 * batch_size, ... while start < N, and "
        "yield the pair (X[start:start + batch_size], y[start:start + batch_size]).",
        "Slicing past the end is fine in NumPy: the last batch simply comes out smaller. "
        "With shuffle=False do not touch the order.",
        "order = np.arange(N) (or a permutation if shuffle); for start in range(0, N, batch_size): "
        "idx = order[start:start + batch_size]; yield X[idx], y[idx]",
    ],
    mistakes=[
        DROP_LAST,
        EMPTY_LAST,
        Mistake("shuffles although shuffle=False", "only shuffle when shuffle is True; with shuffle=False "
                "the batches keep the original order.", _mb_always_shuffles),
    ],
)


def _shuffled_public(rng):
    cases = []
    for n, bs, seed in [(10, 4, 0), (12, 4, 1), (9, 2, 2)]:
        X, y = _data(rng, n)
        label = (f"X of shape {X.shape} (X[:, 0] = arange({n})), y={y.tolist()}, batch_size={bs}, shuffle=True, "
                 f"seed={seed}: batches of {', '.join(map(str, _sizes(n, bs)))}")
        cases.append(_batches_case(label, X, y, bs, shuffle=True, seed=seed))
    return cases


def _shuffled_hidden(rng):
    cases = []
    for n, bs, x_shape, labels, what in [(50, 16, (3,), "classes", "a larger data set, the last batch partial"),
                                         (64, 8, (2, 2), "onehot", IMAGES),
                                         (7, 1, (2,), "targets", "batches of one example"),
                                         (6, 10, (3,), "targets", "a batch size larger than N"),
                                         (25, 5, (2,), "classes", "N a multiple of the batch size")]:
        X, y = _data(rng, n, x_shape, labels)
        cases.append(_batches_case(f"{what}, shuffle=True", X, y, bs, shuffle=True, seed=int(rng.integers(1000))))
    return cases


MINIBATCHES_SHUFFLED = Exercise(
    id="04.minibatches_shuffled",
    title="Shuffled mini-batches (shuffle=True)",
    points=2,
    reference=opt.minibatches,
    public_cases=_shuffled_public,
    hidden_cases=_shuffled_hidden,
    # SameBatches: any valid shuffle passes (rng.permutation, rng.shuffle of an index array, another
    # generator...), so the check cannot demand the reference's exact order. It demands the batch
    # sizes, every example exactly once with its own label, and an order that is not the original.
    compare=SameBatches(),
    hints=[
        "Draw ONE permutation of the example indices, idx = np.random.default_rng(seed).permutation(N), "
        "and use it for both X and y, so that every example keeps its label.",
        "Then cut X[idx] and y[idx] into batches as before. Do not shuffle X in place: work on indices.",
    ],
    mistakes=[
        Mistake("no shuffle", "with shuffle=True, draw a permutation of the indices before cutting batches.",
                _mb_never_shuffles),
        Mistake("X and y shuffled with different permutations", "two calls to permutation give two different "
                "orders, so examples lose their labels. Draw one permutation and index X and y with it.",
                _mb_two_permutations),
        DROP_LAST,
        EMPTY_LAST,
    ],
)


# ----------------------------------------------------------------------------- the optimizers
# The script keeps a dict of parameters, builds the optimizer, steps it with fixed random gradients and
# reads every parameter back from the dict (after step 1 and after the last step), one array per value:
# `call("$params.get", name)`. Reading the dict back is what accepts both readings of the contract
# (updated in place, or the entry rebound). One array per value rather than `get("params")` compared
# with DictOf: the engine recognises a catalogued mistake with checks.same_value, which does not compare
# dicts of arrays yet, so with DictOf no optimizer mistake could be named.
#
# Every value is compared with ArrayClose(rtol=1e-6, atol=1e-9): the same update rule written in another
# order of float64 operations (lr * g / d or lr / d * g, sqrt(a) / sqrt(b) or sqrt(a / b)) differs by
# about 1e-16 per step, so by far less than 1e-6 after 60 steps; every catalogued mistake is off by much
# more. atol 1e-9 only matters for entries that pass close to zero.
PARAM_CLOSE = ArrayClose(rtol=1e-6, atol=1e-9)


def _kwargs_text(kwargs) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in kwargs.items())


def _optimizer_case(rng, name, kwargs, shapes, steps, scales=None, label=None) -> Case:
    """Keep params, build the optimizer, step it `steps` times; read params after step 1 and at the end."""
    scales = scales or {k: 1.0 for k in shapes}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    read_back = [call("$params.get", k) for k in shapes]
    script = [let("params", params), call("@", keep="opt", send=False, **kwargs)]
    for step in range(steps):
        grads = {k: scales[k] * rng.normal(size=s) for k, s in shapes.items()}
        script.append(call("$opt.step", Ref("params"), grads, send=False))
        if step == 0:
            script += read_back
    script += read_back
    names = ", ".join(shapes)
    if label is None:
        shown = ", ".join(f"'{k}': {s}" for k, s in shapes.items())
        scale_text = ", ".join(f"{k} {v:g}" for k, v in scales.items())
        label = (f"{name}({_kwargs_text(kwargs)}): {steps} steps on params {{{shown}}} with random gradients "
                 f"(scale {scale_text})")
    k = len(shapes)
    first = f"value 1: {names}" if k == 1 else f"values 1-{k}: {names}"
    last = f"value 2: {names}" if k == 1 else f"values {k + 1}-{2 * k}: {names}"
    return Case(f"{label}; {first} after step 1, {last} after step {steps}", steps=script)


def _optimizer_exercise(id, title, points, reference, public, hidden, hints, mistakes) -> Exercise:
    return Exercise(id=id, title=title, points=points, reference=reference, public_cases=public,
                    hidden_cases=hidden, compare=PARAM_CLOSE, hints=hints, mistakes=mistakes)


class _Wrong(opt.Optimizer):
    """Base of the catalogued wrong optimizers: the reference's interface with another update."""

    def __init__(self, lr, **hyper):
        super().__init__(lr)
        self.__dict__.update(hyper)


def _wrong(update, **defaults):
    """A wrong optimizer class whose update is ``update(self, w, g, state)``."""
    def __init__(self, lr, **hyper):
        _Wrong.__init__(self, lr, **dict(defaults, **hyper))
    return type("WrongOptimizer", (_Wrong,), {"__init__": __init__, "update": update})


SEVERAL = {"W": (3, 2), "b": (2,)}
MANY = {"W1": (4, 3), "b1": (3,), "W2": (3, 1), "b2": (1,)}
HIDDEN_HINT = "other hyper-parameters"


# SGD: the learner writes `step` itself (the interface), so the catalogue covers interface mistakes.
def _sgd_public(rng):
    return [_optimizer_case(rng, "SGD", {"lr": 0.1}, {"w": (3,)}, 30),
            _optimizer_case(rng, "SGD", {"lr": 0.05}, SEVERAL, 40),
            _optimizer_case(rng, "SGD", {"lr": 1.0}, {"w": (2, 2), "b": (2,)}, 5, scales={"w": 1.0, "b": 0.01})]


def _sgd_hidden(rng):
    return [_optimizer_case(rng, "SGD", {"lr": 0.01}, MANY, 60, label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "SGD", {"lr": 0.3}, {"x": (5,), "y": (1,)}, 45, scales={"x": 10.0, "y": 0.1},
                            label="two parameters, gradients of very different scales, 45 steps"),
            # a small lr, not lr=0: code that never moves anything (a lookup table of the public cases with a
            # do-nothing fallback) must not pass a hidden case
            _optimizer_case(rng, "SGD", {"lr": 1e-3}, {"w": (3,)}, 10, label="a small learning rate, 10 steps"),
            _optimizer_case(rng, "SGD", {"lr": 2.0}, {"w": (2, 3, 2)}, 20, label="a 3-D parameter and a large lr")]


class _SGDLocalOnly:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        for name, g in grads.items():
            w = params[name]
            w = w - self.lr * g  # noqa: F841 (a new local array: params never sees it)


class _SGDFirstOnly(_SGDLocalOnly):
    def step(self, params, grads):
        for name, g in grads.items():
            params[name] = params[name] - self.lr * g
            return  # inside the loop: only the first parameter moves


SGD = _optimizer_exercise(
    "04.SGD", "The optimizer interface: SGD", 2, opt.SGD, _sgd_public, _sgd_hidden,
    hints=[
        "step(params, grads) loops over the names: for name, g in grads.items(): ... and changes params[name].",
        "Either update the array in place, params[name] -= self.lr * g, or store a new one, "
        "params[name] = params[name] - self.lr * g. A plain `w = w - self.lr * g` changes nothing the caller sees.",
        "for name, g in grads.items():\n    params[name] -= self.lr * g",
    ],
    mistakes=[
        Mistake("parameters never updated", "step must leave the new values in params: params[name] -= lr * g "
                "(in place) or params[name] = new_array. Computing w = w - lr * g into a local variable, or "
                "returning a new dict, leaves the caller's params unchanged.", _SGDLocalOnly),
        Mistake("plus instead of minus", "params[name] += lr * g climbs the loss: subtract the step.",
                _wrong(lambda self, w, g, state: w + self.lr * g)),
        Mistake("forgot the learning rate", "the step is lr * g.", _wrong(lambda self, w, g, state: w - g)),
        Mistake("only the first parameter is updated", "a `return` inside the loop stops after the first name: "
                "every parameter with a gradient must move.", _SGDFirstOnly),
    ],
)


# Momentum (heavy ball, as torch.optim.SGD(lr, momentum)): v <- mu v + g; w <- w - lr v
def _momentum_public(rng):
    return [_optimizer_case(rng, "Momentum", {"lr": 0.05, "momentum": 0.9}, {"w": (3,)}, 30),
            _optimizer_case(rng, "Momentum", {"lr": 0.01, "momentum": 0.5}, SEVERAL, 40),
            _optimizer_case(rng, "Momentum", {"lr": 0.1, "momentum": 0.99}, {"w": (2, 2)}, 35)]


def _momentum_hidden(rng):
    return [_optimizer_case(rng, "Momentum", {"lr": 0.02, "momentum": 0.9}, MANY, 60,
                            label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "Momentum", {"lr": 0.3, "momentum": 0.7}, {"x": (5,), "y": (1,)}, 50,
                            scales={"x": 10.0, "y": 0.01}, label=f"{HIDDEN_HINT}, gradients of very different scales"),
            _optimizer_case(rng, "Momentum", {"lr": 0.01, "momentum": 0.0}, {"w": (4,)}, 20,
                            label="no momentum (plain SGD)"),
            _optimizer_case(rng, "Momentum", {"lr": 0.005, "momentum": 0.95}, {"w": (2, 3, 2), "b": (3,)}, 60,
                            label=f"{HIDDEN_HINT}, a 3-D parameter, 60 steps")]


def _momentum_sign_error(self, w, g, state):
    state["v"] = self.momentum * state.get("v", 0.0) - self.lr * g  # CS231n's v ...
    return w - state["v"]                                            # ... with PyTorch's sign


def _momentum_average(self, w, g, state):
    state["v"] = self.momentum * state.get("v", 0.0) + (1 - self.momentum) * g
    return w - self.lr * state["v"]


MOMENTUM = _optimizer_exercise(
    "04.Momentum", "SGD with momentum", 3, opt.Momentum, _momentum_public, _momentum_hidden,
    hints=[
        "Keep a velocity per parameter in state['v'] (it starts at 0): v <- momentum * v + g, then w <- w - lr * v.",
        "state.get('v', 0.0) is 0 at the first step, so the first velocity is g and the first step is plain SGD.",
        "v = self.momentum * state.get('v', 0.0) + g\nstate['v'] = v\nreturn w - self.lr * v",
    ],
    mistakes=[
        Mistake("momentum sign error", "with v <- mu v - lr g (CS231n's form) the update is w <- w + v; with "
                "PyTorch's v <- mu v + g it is w <- w - lr v. Mixing the two climbs the loss.",
                _wrong(_momentum_sign_error, momentum=0.9)),
        Mistake("velocity is an average", "v <- mu v + (1 - mu) g is an exponential average of the gradients "
                "(1 - mu times smaller); PyTorch's momentum sums them: v <- mu v + g.",
                _wrong(_momentum_average, momentum=0.9)),
        Mistake("velocity not kept between steps", "store the new velocity in state['v'] so the next step "
                "starts from it; without it, momentum is plain SGD.",
                _wrong(lambda self, w, g, state: w - self.lr * (self.momentum * 0.0 + g), momentum=0.9)),
    ],
)


# Adagrad: G <- G + g^2; w <- w - lr g / (sqrt(G) + eps)
def _adagrad_public(rng):
    return [_optimizer_case(rng, "Adagrad", {"lr": 0.1, "eps": 1e-10}, {"w": (3,)}, 30),
            _optimizer_case(rng, "Adagrad", {"lr": 0.5, "eps": 1e-6}, SEVERAL, 40, scales={"W": 1.0, "b": 5.0}),
            _optimizer_case(rng, "Adagrad", {"lr": 0.01, "eps": 1e-10}, {"w": (2, 2)}, 30)]


def _adagrad_hidden(rng):
    return [_optimizer_case(rng, "Adagrad", {"lr": 0.05, "eps": 1e-10}, MANY, 60,
                            label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "Adagrad", {"lr": 1.0, "eps": 1e-8}, {"x": (5,), "y": (1,)}, 50,
                            scales={"x": 10.0, "y": 0.01}, label=f"{HIDDEN_HINT}, gradients of very different scales"),
            _optimizer_case(rng, "Adagrad", {"lr": 0.2, "eps": 1e-3}, {"w": (2, 3, 2)}, 45,
                            label=f"{HIDDEN_HINT}, a 3-D parameter"),
            _optimizer_case(rng, "Adagrad", {"lr": 0.1, "eps": 1e-10}, {"w": (4,)}, 60,
                            scales={"w": 100.0}, label="large gradients, 60 steps")]


def _adagrad_no_sum(self, w, g, state):
    state["sum"] = g * g
    return w - self.lr * g / (np.sqrt(state["sum"]) + self.eps)


def _adagrad_no_sqrt(self, w, g, state):
    state["sum"] = state.get("sum", 0.0) + g * g
    return w - self.lr * g / (state["sum"] + self.eps)


def _adagrad_late(self, w, g, state):
    new = w - self.lr * g / (np.sqrt(state.get("sum", 0.0)) + self.eps)  # the sum before this gradient
    state["sum"] = state.get("sum", 0.0) + g * g
    return new


ADAGRAD = _optimizer_exercise(
    "04.Adagrad", "Adagrad", 2, opt.Adagrad, _adagrad_public, _adagrad_hidden,
    hints=[
        "Keep the running SUM of squared gradients in state['sum'] (it starts at 0) and add g**2 every step.",
        "Then divide the step by the square root of that sum: w - lr * g / (np.sqrt(G) + eps). Update the "
        "sum before you use it.",
        "G = state.get('sum', 0.0) + g * g\nstate['sum'] = G\nreturn w - self.lr * g / (np.sqrt(G) + self.eps)",
    ],
    mistakes=[
        Mistake("forgot to accumulate", "Adagrad ADDS g^2 to a sum that grows over all the steps; with only "
                "the last g^2 every step is about lr * sign(g).", _wrong(_adagrad_no_sum, eps=1e-10)),
        Mistake("no square root", "divide by sqrt(G) + eps, the root of the sum of squares.",
                _wrong(_adagrad_no_sqrt, eps=1e-10)),
        Mistake("sum updated after the step", "add g^2 to the sum first, then take the step with the new "
                "sum: at the first step the old sum is 0 and the step is divided by eps alone.",
                _wrong(_adagrad_late, eps=1e-10)),
    ],
)


# RMSprop: s <- alpha s + (1 - alpha) g^2; w <- w - lr g / (sqrt(s) + eps)
def _rmsprop_public(rng):
    return [_optimizer_case(rng, "RMSprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}, {"w": (3,)}, 30),
            _optimizer_case(rng, "RMSprop", {"lr": 0.05, "alpha": 0.9, "eps": 1e-6}, SEVERAL, 40),
            # tiny gradients: sqrt(s) is about 1e-5, so where eps goes (inside or outside the root) matters
            _optimizer_case(rng, "RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}, {"w": (2, 2)}, 30,
                            scales={"w": 1e-5})]


def _rmsprop_hidden(rng):
    return [_optimizer_case(rng, "RMSprop", {"lr": 0.005, "alpha": 0.99, "eps": 1e-8}, MANY, 60,
                            label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "RMSprop", {"lr": 0.1, "alpha": 0.95, "eps": 1e-1}, {"w": (5,)}, 50,
                            label="a large eps: where eps goes changes the result"),
            _optimizer_case(rng, "RMSprop", {"lr": 0.02, "alpha": 0.8, "eps": 1e-8}, {"x": (5,), "y": (1,)}, 45,
                            scales={"x": 10.0, "y": 1e-6}, label=f"{HIDDEN_HINT}, large and tiny gradients"),
            _optimizer_case(rng, "RMSprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}, {"w": (2, 3, 2)}, 60,
                            label="a 3-D parameter, 60 steps")]


def _rmsprop_eps_inside(self, w, g, state):
    state["square_avg"] = self.alpha * state.get("square_avg", 0.0) + (1 - self.alpha) * g * g
    return w - self.lr * g / np.sqrt(state["square_avg"] + self.eps)


def _rmsprop_swapped(self, w, g, state):
    state["square_avg"] = (1 - self.alpha) * state.get("square_avg", 0.0) + self.alpha * g * g
    return w - self.lr * g / (np.sqrt(state["square_avg"]) + self.eps)


def _rmsprop_late(self, w, g, state):
    new = w - self.lr * g / (np.sqrt(state.get("square_avg", 0.0)) + self.eps)
    state["square_avg"] = self.alpha * state.get("square_avg", 0.0) + (1 - self.alpha) * g * g
    return new


RMS_DEFAULTS = {"alpha": 0.99, "eps": 1e-8}
RMSPROP = _optimizer_exercise(
    "04.RMSprop", "RMSprop", 3, opt.RMSprop, _rmsprop_public, _rmsprop_hidden,
    hints=[
        "Keep a running AVERAGE of squared gradients in state['square_avg'] (starts at 0): "
        "s <- alpha * s + (1 - alpha) * g**2.",
        "Update s first, then step: w - lr * g / (np.sqrt(s) + eps). eps goes OUTSIDE the square root, as in "
        "torch.optim.RMSprop.",
        "s = self.alpha * state.get('square_avg', 0.0) + (1 - self.alpha) * g * g\nstate['square_avg'] = s\n"
        "return w - self.lr * g / (np.sqrt(s) + self.eps)",
    ],
    mistakes=[
        Mistake("eps inside the square root", "torch.optim.RMSprop divides by sqrt(s) + eps; sqrt(s + eps) is a "
                "different rule, and the difference shows when gradients are small or eps is large.",
                _wrong(_rmsprop_eps_inside, **RMS_DEFAULTS)),
        Mistake("alpha and 1 - alpha swapped", "alpha (close to 1) weighs the OLD average: s <- alpha s + "
                "(1 - alpha) g^2.", _wrong(_rmsprop_swapped, **RMS_DEFAULTS)),
        Mistake("average updated after the step", "update s with this step's g^2 first, then divide by its root: "
                "at the first step the old average is 0 and the step is divided by eps alone.",
                _wrong(_rmsprop_late, **RMS_DEFAULTS)),
    ],
)


# Adadelta: s <- rho s + (1-rho) g^2; dx = sqrt(u + eps) / sqrt(s + eps) g; u <- rho u + (1-rho) dx^2; w -= lr dx
def _adadelta_public(rng):
    return [_optimizer_case(rng, "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6}, {"w": (3,)}, 30),
            _optimizer_case(rng, "Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-4}, SEVERAL, 40),
            _optimizer_case(rng, "Adadelta", {"lr": 2.0, "rho": 0.8, "eps": 1e-6}, {"w": (2, 2)}, 35,
                            scales={"w": 10.0})]


def _adadelta_hidden(rng):
    return [_optimizer_case(rng, "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6}, MANY, 60,
                            label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "Adadelta", {"lr": 0.1, "rho": 0.99, "eps": 1e-3}, {"x": (5,), "y": (1,)}, 50,
                            scales={"x": 10.0, "y": 0.01}, label=f"{HIDDEN_HINT}, gradients of very different scales"),
            _optimizer_case(rng, "Adadelta", {"lr": 3.0, "rho": 0.5, "eps": 1e-5}, {"w": (2, 3, 2)}, 45,
                            label=f"{HIDDEN_HINT}, a 3-D parameter"),
            _optimizer_case(rng, "Adadelta", {"lr": 0.7, "rho": 0.9, "eps": 1e-6}, {"w": (4,)}, 60,
                            scales={"w": 0.001}, label="small gradients, 60 steps")]


def _adadelta_no_delta(self, w, g, state):
    state["square_avg"] = self.rho * state.get("square_avg", 0.0) + (1 - self.rho) * g * g
    return w - self.lr * g / np.sqrt(state["square_avg"] + self.eps)


def _adadelta_no_eps_up(self, w, g, state):
    s = self.rho * state.get("square_avg", 0.0) + (1 - self.rho) * g * g
    u = state.get("acc_delta", 0.0)
    dx = np.sqrt(u) / np.sqrt(s + self.eps) * g
    state["square_avg"], state["acc_delta"] = s, self.rho * u + (1 - self.rho) * dx * dx
    return w - self.lr * dx


def _adadelta_late(self, w, g, state):
    s_old, u = state.get("square_avg", 0.0), state.get("acc_delta", 0.0)
    dx = np.sqrt(u + self.eps) / np.sqrt(s_old + self.eps) * g  # the average before this gradient
    state["square_avg"] = self.rho * s_old + (1 - self.rho) * g * g
    state["acc_delta"] = self.rho * u + (1 - self.rho) * dx * dx
    return w - self.lr * dx


def _adadelta_no_lr(self, w, g, state):
    s = self.rho * state.get("square_avg", 0.0) + (1 - self.rho) * g * g
    u = state.get("acc_delta", 0.0)
    dx = np.sqrt(u + self.eps) / np.sqrt(s + self.eps) * g
    state["square_avg"], state["acc_delta"] = s, self.rho * u + (1 - self.rho) * dx * dx
    return w - dx


DELTA_DEFAULTS = {"rho": 0.9, "eps": 1e-6}
ADADELTA = _optimizer_exercise(
    "04.Adadelta", "Adadelta", 3, opt.Adadelta, _adadelta_public, _adadelta_hidden,
    hints=[
        "Adadelta keeps TWO running averages per parameter, both starting at 0: of the squared gradients "
        "(state['square_avg']) and of the squared steps (state['acc_delta']).",
        "Order: update the gradient average s with g**2; compute dx = sqrt(u + eps) / sqrt(s + eps) * g with the "
        "OLD step average u; then update u with dx**2; finally return w - lr * dx.",
        "s = self.rho * state.get('square_avg', 0.0) + (1 - self.rho) * g * g\nu = state.get('acc_delta', 0.0)\n"
        "dx = np.sqrt(u + self.eps) / np.sqrt(s + self.eps) * g\nstate['square_avg'] = s\n"
        "state['acc_delta'] = self.rho * u + (1 - self.rho) * dx * dx\nreturn w - self.lr * dx",
    ],
    mistakes=[
        Mistake("without the update accumulator", "Adadelta multiplies by sqrt(u + eps), the RMS of the past "
                "steps; without it the rule is RMSprop.", _wrong(_adadelta_no_delta, **DELTA_DEFAULTS)),
        Mistake("no eps in the numerator", "u starts at 0, so sqrt(u) / sqrt(s + eps) * g is 0 for ever: "
                "the parameters never move. Use sqrt(u + eps).", _wrong(_adadelta_no_eps_up, **DELTA_DEFAULTS)),
        Mistake("gradient average updated after the step", "update s with this step's g^2 before computing dx.",
                _wrong(_adadelta_late, **DELTA_DEFAULTS)),
        Mistake("ignores lr", "the paper has no learning rate (lr = 1), but torch.optim.Adadelta multiplies "
                "the step by lr: return w - lr * dx.", _wrong(_adadelta_no_lr, **DELTA_DEFAULTS)),
    ],
)


# Adam: m, v moving averages; bias correction with t = state["step"]
def _adam_public(rng):
    return [_optimizer_case(rng, "Adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, {"w": (3,)}, 30),
            _optimizer_case(rng, "Adam", {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6}, SEVERAL, 40,
                            scales={"W": 1.0, "b": 3.0}),
            # tiny gradients: sqrt(v_hat) is about 1e-6, so eps inside the root changes everything
            _optimizer_case(rng, "Adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, {"w": (2, 2)}, 30,
                            scales={"w": 1e-6})]


def _adam_hidden(rng):
    return [_optimizer_case(rng, "Adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, MANY, 60,
                            label="four parameters of different shapes, 60 steps"),
            _optimizer_case(rng, "Adam", {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8},
                            {"x": (5,), "y": (1,)}, 50, scales={"x": 10.0, "y": 1e-7},
                            label=f"{HIDDEN_HINT}, large and tiny gradients"),
            _optimizer_case(rng, "Adam", {"lr": 0.02, "beta1": 0.95, "beta2": 0.9999, "eps": 1e-6}, {"w": (2, 3, 2)},
                            60, label=f"{HIDDEN_HINT}, a 3-D parameter, 60 steps"),
            _optimizer_case(rng, "Adam", {"lr": 0.05, "beta1": 0.0, "beta2": 0.5, "eps": 1e-8}, {"w": (4,), "b": (2,)},
                            25, label="no first-moment average")]


def _adam_moments(self, g, state):
    m = self.beta1 * state.get("m", 0.0) + (1 - self.beta1) * g
    v = self.beta2 * state.get("v", 0.0) + (1 - self.beta2) * g * g
    state["m"], state["v"] = m, v
    return m, v


def _adam_no_correction(self, w, g, state):
    m, v = _adam_moments(self, g, state)
    return w - self.lr * m / (np.sqrt(v) + self.eps)


def _adam_m_only(self, w, g, state):
    m, v = _adam_moments(self, g, state)
    return w - self.lr * (m / (1 - self.beta1 ** state["step"])) / (np.sqrt(v) + self.eps)


def _adam_shared_counter(self, w, g, state):
    self.t = getattr(self, "t", 0) + 1  # one counter for the optimizer, advanced for every parameter
    m, v = _adam_moments(self, g, state)
    m_hat, v_hat = m / (1 - self.beta1 ** self.t), v / (1 - self.beta2 ** self.t)
    return w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def _adam_eps_inside(self, w, g, state):
    m, v = _adam_moments(self, g, state)
    t = state["step"]
    return w - self.lr * (m / (1 - self.beta1 ** t)) / np.sqrt(v / (1 - self.beta2 ** t) + self.eps)


ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
ADAM = _optimizer_exercise(
    "04.Adam", "Adam with bias correction", 4, opt.Adam, _adam_public, _adam_hidden,
    hints=[
        "Two moving averages per parameter, both starting at 0: m of the gradients (beta1) and v of the squared "
        "gradients (beta2). Update both first.",
        "Because m and v start at 0 they are too small early on: divide by (1 - beta1**t) and (1 - beta2**t), "
        "with t = state['step'] (1 at the first step). Then w - lr * m_hat / (sqrt(v_hat) + eps).",
        "t = state['step']\nm = self.beta1 * state.get('m', 0.0) + (1 - self.beta1) * g\n"
        "v = self.beta2 * state.get('v', 0.0) + (1 - self.beta2) * g * g\nstate['m'], state['v'] = m, v\n"
        "m_hat, v_hat = m / (1 - self.beta1**t), v / (1 - self.beta2**t)\n"
        "return w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
    ],
    mistakes=[
        Mistake("no bias correction", "m and v start at 0, so early on they are far too small; divide them by "
                "(1 - beta1**t) and (1 - beta2**t).", _wrong(_adam_no_correction, **ADAM_DEFAULTS)),
        Mistake("only m bias-corrected", "correct both moments: v_hat = v / (1 - beta2**t) too.",
                _wrong(_adam_m_only, **ADAM_DEFAULTS)),
        Mistake("step counter advanced for every parameter", "t counts the optimizer's steps, the same for every "
                "parameter: use state['step'], not a counter that update() increments once per array.",
                _wrong(_adam_shared_counter, **ADAM_DEFAULTS)),
        Mistake("eps inside the square root", "torch.optim.Adam divides by sqrt(v_hat) + eps; with small "
                "gradients sqrt(v_hat + eps) is a very different number.", _wrong(_adam_eps_inside, **ADAM_DEFAULTS)),
    ],
)


# ----------------------------------------------------------------------------- concept questions
Q_LR_TOO_HIGH = question(
    "04.q_lr_too_high", "A learning rate 10 times too high", 1, answer="c", choices=["a", "b", "c", "d"],
    wrong={"a": "Not on this bowl: the steps along the steep direction are multiplied by 1 - lr * 25 each "
                "time; with lr = 0.4 that factor is -9, so they do not get faster to the minimum, they blow up.",
           "b": "A bigger step does not find a better minimum here: the bowl has a single minimum, and the run "
                "leaves it behind.",
           "d": "The steps are larger, not smaller; and the distance to the minimum grows every step."},
    hints=["Gradient descent on 0.5 * 25 * x**2 multiplies x by (1 - lr * 25) at every step. "
           "Compute that factor for lr = 0.4."],
)

Q_ITERATIONS = question(
    "04.q_iterations", "Iterations in 5 epochs", 1, answer=160,
    wrong={5: "That is the number of epochs; every epoch has several iterations (one per mini-batch).",
           32: "That is the number of iterations in ONE epoch; the run has 5 epochs.",
           155: "1000 // 32 = 31 drops the last, partial batch: 31 * 32 = 992 examples, so 8 are left over and "
                "make a 32nd batch in every epoch.",
           5000: "That counts examples seen (5 epochs of 1000), not updates: one update per mini-batch.",
           156.25: "5000 / 32 is not a whole number of updates: every epoch starts over with ceil(1000 / 32) = 32 "
                   "batches, the last one smaller.",
           157: "That treats the 5 epochs as one stream of 5000 examples; each epoch is cut into its own "
                "batches, so each has a smaller last batch."},
    hints=["One iteration = one mini-batch = one update. How many batches of 32 cover 1000 examples, counting "
           "the last smaller batch?"],
)

Q_BIAS_CORRECTION = question(
    "04.q_bias_correction", "Which optimizer corrects the bias of its moving averages", 1, answer="d",
    choices=["a", "b", "c", "d"],
    wrong={"a": "Momentum sums the gradients (v <- mu v + g) and uses the sum as it is.",
           "b": "RMSprop keeps an average of g^2 that starts at 0 and does NOT correct it: its first steps are "
                "larger (divided by a too small root).",
           "c": "Adadelta's two averages start at 0 and are used as they are; only the eps terms keep the first "
                "step finite."},
    hints=["Look for a division by (1 - beta**t) in the update rules."],
)

Q_ADAPTIVE_STEP = question(
    "04.q_adaptive_step", "Where RMSprop takes small steps", 1, answer="b", choices=["a", "b", "c", "d"],
    wrong={"a": "The opposite: RMSprop divides by the root of the average g^2, which is large where the gradients "
                "have been large, so the effective learning rate there is small.",
           "c": "Plain SGD uses one learning rate for every coordinate; RMSprop divides it by a per-coordinate "
                "root of the average squared gradient.",
           "d": "sqrt(mean g^2) grows like the gradients themselves (100x), not like their root (10x)."},
    hints=["The effective learning rate of a coordinate is lr / (sqrt(s) + eps), with s the running average of "
           "its squared gradients. What is sqrt(s) when the gradients are about 100 times larger?"],
)

Q_CONVERGED = question(
    "04.q_converged", "What a stopped run tells you", 1, answer="b", choices=["a", "b", "c", "d"],
    wrong={"a": "A small gradient only says the point is flat: a local minimum, a saddle point or a plateau all "
                "qualify. Nothing checks that it is the global minimum, and in practice nobody needs it to be.",
           "c": "A zero gradient does not mean a zero loss: a minimum of the loss can be far above 0 (noisy labels, "
                "a small model).",
           "d": "The learning rate was small enough not to diverge; a too small one would rather have stopped the "
                "run by the step budget, with a gradient that is still large."},
    hints=["Which points have a gradient of (nearly) zero? Think of the pictures in section 7."],
)

EXERCISES = [SGD_UPDATE, GD_QUADRATIC, MINIBATCHES, MINIBATCHES_SHUFFLED, SGD, MOMENTUM, ADAGRAD, RMSPROP, ADADELTA,
             ADAM, Q_LR_TOO_HIGH, Q_ITERATIONS, Q_BIAS_CORRECTION, Q_ADAPTIVE_STEP, Q_CONVERGED]
