"""Exercises of notebook 02: activation functions, their derivatives, stability and why non-linearity matters."""
from __future__ import annotations

import numpy as np

from autograder.exercise import Case, Exercise, Mistake, question
from autograder.learner.checks import ArrayClose, TupleOf
from solutions import activations as A


def _fmt(a) -> str:
    """An array on one line, numbers in %g: [[-800, 3], [-1, 750]]."""
    def text(x):
        return "[" + ", ".join(text(v) for v in x) + "]" if isinstance(x, list) else f"{x:g}"
    return text(np.asarray(a).tolist())


def _z_case(z, **kwargs) -> Case:
    z = np.asarray(z, dtype=float)
    extra = "".join(f", {k}={v:g}" for k, v in kwargs.items())
    return Case(f"z = {_fmt(z)}{extra}", (z,), kwargs)


def _batch_case(rng, shape, scale=1.0, what="a batch") -> Case:
    return Case(f"{what}, shape {shape}", (scale * rng.normal(size=shape),))


# Shared mixed inputs for the elementwise exercises: a 1-D vector, a batch and a single value.
def _plain_public(rng):
    return [_z_case([-2.0, 0.0, 2.0]),
            _z_case(np.linspace(-6.0, 6.0, 7)),
            _z_case([[0.5, -1.5, 3.0], [-4.0, 1.0, 0.0]]),
            _z_case([10.0])]


def _plain_hidden(rng, limit=20.0):
    return [_batch_case(rng, (5, 4), 3.0, "a random batch"),
            _batch_case(rng, (12,), 0.3, "small inputs near 0"),
            Case(f"values out to |z| = {limit:g}", (np.linspace(-limit, limit, 41),)),
            Case("a batch of zeros", (np.zeros((3, 2)),)),
            _batch_case(rng, (1, 1), 5.0, "one value"),
            _batch_case(rng, (8, 3), 6.0, "a batch with large values")]


# ----------------------------------------------------------------------------- 02.sigmoid
SIGMOID = Exercise(
    id="02.sigmoid",
    title="The sigmoid",
    points=1,
    reference=A.sigmoid,
    public_cases=_plain_public,
    hidden_cases=_plain_hidden,   # |z| <= 20: the textbook formula is fine here (02.stable_sigmoid goes further)
    compare=ArrayClose(rtol=1e-6, atol=1e-8),  # any float64 evaluation of 1/(1+e^-z) agrees to ~1e-15
    hints=[
        "sigma(z) = 1 / (1 + e^(-z)), applied to every entry of z: NumPy functions work elementwise.",
        "np.exp(-z) is e^(-z) for every entry; no loop is needed.",
        "return 1.0 / (1.0 + np.exp(-z))",
    ],
    mistakes=[
        Mistake("sigmoid as 1/(1+e^z)", "the exponent is -z: 1 / (1 + np.exp(-z)). With +z the curve is "
                "mirrored (it falls instead of rising).", lambda z: 1.0 / (1.0 + np.exp(z))),
        Mistake("forgot the 1 +", "the denominator is 1 + e^(-z); 1 / e^(-z) is just e^z.",
                lambda z: 1.0 / np.exp(-z)),
        Mistake("tanh instead of sigmoid", "np.tanh has range (-1, 1); the sigmoid is 1 / (1 + e^(-z)), range (0, 1).",
                lambda z: np.tanh(z)),
        Mistake("missing the reciprocal", "the sigmoid is 1 divided by (1 + e^(-z)), not 1 + e^(-z) itself.",
                lambda z: 1.0 + np.exp(-z)),
    ],
)


# ----------------------------------------------------------------------------- 02.tanh
def _tanh_upside_down(z):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.exp(z) + np.exp(-z)) / (np.exp(z) - np.exp(-z))


TANH = Exercise(
    id="02.tanh",
    title="tanh from exponentials",
    points=2,
    reference=A.tanh_from_exponentials,
    public_cases=_plain_public,
    # |z| <= 20: e^20 is about 5e8, so the plain fraction neither overflows nor loses accuracy.
    hidden_cases=_plain_hidden,
    compare=ArrayClose(rtol=1e-6, atol=1e-8),  # the fraction agrees with np.tanh to ~1e-15 (1e-10 near 0)
    hints=[
        "tanh(z) = (e^z - e^-z) / (e^z + e^-z): difference on top, sum below.",
        "Compute ez = np.exp(z) and emz = np.exp(-z) once, then combine them; put brackets around the "
        "numerator and the denominator.",
        "ez, emz = np.exp(z), np.exp(-z); return (ez - emz) / (ez + emz)",
    ],
    mistakes=[
        Mistake("tanh fraction inverted", "the difference goes on top: (e^z - e^-z) / (e^z + e^-z). The upside-down "
                "fraction is 1 / tanh(z): it divides by zero at z = 0 and is never inside (-1, 1).",
                _tanh_upside_down),
        Mistake("missing brackets", "e^z - e^-z / (e^z + e^-z) divides only e^-z; bracket the whole numerator: "
                "(np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)).",
                lambda z: np.exp(z) - np.exp(-z) / (np.exp(z) + np.exp(-z))),
        Mistake("numerator the wrong way round", "the numerator is e^z - e^-z; e^-z - e^z gives -tanh(z).",
                lambda z: (np.exp(-z) - np.exp(z)) / (np.exp(z) + np.exp(-z))),
        Mistake("sinh instead of tanh", "(e^z - e^-z) / 2 is sinh(z); tanh divides by e^z + e^-z instead.",
                lambda z: (np.exp(z) - np.exp(-z)) / 2.0),
    ],
)


# ----------------------------------------------------------------------------- 02.relu
# A hidden case whose expected answer is all zeros would be passed by code that ignores its input (a lookup
# table of the public cases with a zero fallback): edge cases keep one entry that gives a non-zero answer.
def _all_negative_but_last(rng, n: int) -> np.ndarray:
    z = -np.abs(rng.normal(size=n)) - 0.1
    z[-1] = -z[-1]
    return z


def _relu_public(rng):
    return [_z_case([-2.0, -0.5, 0.0, 0.5, 2.0]),
            _z_case([[1.5, -3.0], [0.0, 4.0], [-0.1, 0.2]]),
            _z_case([-3.0, -2.0, -1.0])]


def _relu_hidden(rng):
    return [_batch_case(rng, (6, 5), 2.0, "a random batch"),
            Case("all positive inputs", (np.abs(rng.normal(size=(4, 3))) + 0.1,)),
            Case("negative inputs but the last", (_all_negative_but_last(rng, 7),)),
            Case("a batch with exact zeros", (np.array([[0.0, -1.0, 2.0], [3.0, 0.0, -4.0]]),)),
            _batch_case(rng, (1, 9), 100.0, "large values")]


RELU = Exercise(
    id="02.relu",
    title="ReLU",
    points=1,
    reference=A.relu,
    public_cases=_relu_public,
    hidden_cases=_relu_hidden,
    compare=ArrayClose(rtol=1e-12, atol=0.0),  # max(0, z) is exact: no rounding anywhere
    hints=[
        "relu(z) = max(0, z) for every entry: negatives become 0, the rest stay as they are.",
        "np.max reduces an array to its largest entry; np.maximum compares two arrays entry by entry.",
        "return np.maximum(0.0, z)",
    ],
    mistakes=[
        Mistake("np.max instead of np.maximum", "np.max(z, 0) takes the largest entry along axis 0; "
                "np.maximum(0, z) compares every entry with 0.", lambda z: np.max(z, 0)),
        Mistake("np.minimum instead of np.maximum", "ReLU keeps the positive part: max(0, z), not min(0, z).",
                lambda z: np.minimum(0.0, z)),
        Mistake("returned the step (the derivative)", "relu(z) is z itself where z > 0, not 1.",
                lambda z: (z > 0).astype(float)),
        Mistake("absolute value", "negative inputs give 0, not |z|.", lambda z: np.abs(z)),
    ],
)


# ----------------------------------------------------------------------------- 02.leaky_relu
def _leaky_public(rng):
    z = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    return [_z_case(z), _z_case(z, alpha=0.2), _z_case([[4.0, -4.0], [-1.0, 0.5]], alpha=0.1)]


def _leaky_hidden(rng):
    cases = [Case("a random batch, default alpha", (2.0 * rng.normal(size=(5, 4)),))]
    for alpha in (0.05, 0.3):
        cases.append(Case(f"a random batch, alpha={alpha}", (2.0 * rng.normal(size=(3, 6)),), {"alpha": alpha}))
    cases += [Case("all negative inputs, alpha=0.2", (-np.abs(rng.normal(size=6)) - 0.1,), {"alpha": 0.2}),
              Case("exact zeros and one positive value, default alpha", (np.array([0.0, 0.0, 0.0, 0.0, 1.5]),)),
              Case("large values, alpha=0.01", (100.0 * rng.normal(size=(2, 5)),), {"alpha": 0.01})]
    return cases


LEAKY_RELU = Exercise(
    id="02.leaky_relu",
    title="Leaky ReLU",
    points=2,
    reference=A.leaky_relu,
    public_cases=_leaky_public,
    hidden_cases=_leaky_hidden,
    compare=ArrayClose(rtol=1e-12, atol=1e-15),  # one multiplication at most: exact up to rounding
    hints=[
        "Positive inputs pass unchanged; negative inputs are multiplied by the small slope alpha.",
        "np.where(condition, a, b) picks a where the condition holds and b elsewhere.",
        "return np.where(z > 0, z, alpha * z)",
    ],
    mistakes=[
        Mistake("leaky slope on the wrong side", "alpha scales the NEGATIVE inputs; positive ones pass unchanged.",
                lambda z, alpha=0.01: np.where(z > 0, alpha * z, z)),
        Mistake("alpha instead of alpha * z", "for z < 0 the output is alpha * z, a line through 0, not the "
                "constant alpha.", lambda z, alpha=0.01: np.where(z > 0, z, alpha)),
        Mistake("ignored alpha", "use the alpha you are given; 0.01 is only the default.",
                lambda z, alpha=0.01: np.where(z > 0, z, 0.01 * z)),
        Mistake("plain ReLU", "leaky ReLU keeps a small slope alpha for z < 0 instead of returning 0.",
                lambda z, alpha=0.01: np.maximum(0.0, z)),
    ],
)


# ----------------------------------------------------------------------------- 02.softmax
def _softmax_public(rng):
    return [Case("Z = [[1, 2, 3]]", (np.array([[1.0, 2.0, 3.0]]),)),
            Case("Z = [[1, 2, 3], [1, 1, 1], [0, 0, 5]]", (np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.0, 0.0, 5.0]]),)),
            Case("Z = [[1000, 1001, 1002], [-1000, -1001, -1002]]",
                 (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]),)),
            Case("Z = [[0, 1, 2], [1000, 1000, 999]]", (np.array([[0.0, 1.0, 2.0], [1000.0, 1000.0, 999.0]]),))]


def _softmax_hidden(rng):
    return [Case("a random batch of 6 examples, 4 classes", (2.0 * rng.normal(size=(6, 4)),)),
            Case("a square batch (4 examples, 4 classes)", (rng.normal(size=(4, 4)),)),
            Case("rows of huge positive scores (around 1000)", (1000.0 + rng.normal(size=(3, 5)),)),
            Case("rows of huge negative scores (around -1000)", (-1000.0 + rng.normal(size=(3, 5)),)),
            Case("mixed huge values in one row (+1000, -1000 and 0)",
                 (np.array([[1000.0, -1000.0, 0.0], [-1000.0, 0.0, 1000.0], [5.0, -5.0, 0.0]]),)),
            Case("scores of 10,000 next to small ones", (np.array([[1e4, 1e4 - 2.0, 3.0], [0.5, 0.0, -0.5]]),)),
            Case("one example, 10 classes", (3.0 * rng.normal(size=(1, 10)),)),
            Case("one class per example", (rng.normal(size=(5, 1)),)),
            Case("a batch of 64 examples, 3 classes", (5.0 * rng.normal(size=(64, 3)),))]


def _softmax_axis0(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def _softmax_no_max(Z):
    e = np.exp(Z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_global_max(Z):
    e = np.exp(Z - np.max(Z))
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_whole_batch(Z):
    e = np.exp(Z - np.max(Z, axis=-1, keepdims=True))
    return e / np.sum(e)


def _softmax_no_keepdims(Z):
    e = np.exp(Z - np.max(Z, axis=-1))
    return e / np.sum(e, axis=-1)


SOFTMAX = Exercise(
    id="02.softmax",
    title="Numerically stable softmax over a batch",
    points=3,
    reference=A.softmax,
    public_cases=_softmax_public,
    hidden_cases=_softmax_hidden,
    compare=ArrayClose(rtol=1e-6, atol=1e-10),  # probabilities: any stable float64 evaluation agrees to ~1e-13
    forbid_warnings=True,   # an overflow in exp fails the case even where the values come out right
    hints=[
        "Each ROW of Z is one example: softmax every row on its own (axis=-1), so that each row sums to 1.",
        "Subtract each row's maximum first: Z - np.max(Z, axis=-1, keepdims=True). Then every exponent is <= 0, "
        "so np.exp never overflows, and the answer is unchanged. keepdims=True keeps the shape (N, 1) so it "
        "broadcasts over the row.",
        "e = np.exp(Z - np.max(Z, axis=-1, keepdims=True)); return e / np.sum(e, axis=-1, keepdims=True)",
    ],
    mistakes=[
        Mistake("softmax over the wrong axis", "axis=0 normalises each column, mixing different examples; "
                "each row (one example) must sum to 1: use axis=-1.", _softmax_axis0),
        Mistake("softmax without max subtraction", "np.exp(1000) is inf, and inf / inf is nan. Subtract each row's "
                "maximum before np.exp: the result is the same, and nothing overflows.", _softmax_no_max),
        Mistake("subtracted the max of the whole batch", "use each row's own maximum (axis=-1, keepdims=True): "
                "a row far below the batch maximum underflows to 0 / 0.", _softmax_global_max),
        Mistake("normalised by the sum over the whole batch", "divide each row by its own sum "
                "(np.sum(e, axis=-1, keepdims=True)), so every row sums to 1.", _softmax_whole_batch),
        Mistake("forgot keepdims=True", "np.max(Z, axis=-1) has shape (N,), which does not line up with the "
                "rows of Z (N, K); keepdims=True gives (N, 1).", _softmax_no_keepdims),
    ],
)


# ----------------------------------------------------------------------------- 02.stable_sigmoid
def _stable_public(rng):
    return [_z_case([-1000.0, 0.0, 1000.0]),
            _z_case(np.linspace(-50.0, 50.0, 5)),
            _z_case([[-800.0, 3.0], [-1.0, 750.0]]),
            _z_case([-2.0, -0.5, 0.5, 2.0]),
            # just past exp's overflow (e^710 is inf): sigma is 4e-309..1e-315, and the textbook formula says 0,
            # so the overflow shows in the values, which no silenced or forged warning can change
            _z_case([-725.0, -720.0, -710.0, 0.0, 710.0])]


def _stable_hidden(rng):
    return [Case("a random batch of ordinary values", (2.0 * rng.normal(size=(4, 5)),)),
            Case("large negative values (to -1000) and -2", (np.append(-1000.0 * rng.uniform(0.5, 1.0, size=6), -2.0),)),
            Case("large positive values (to 1000)", (np.abs(1000.0 * rng.uniform(0.5, 1.0, size=6)),)),
            Case("mixed huge values in one row", (np.array([[1000.0, -1000.0, 0.0, -710.0, 710.0]]),)),
            Case("values around the float64 limit of exp (|z| near 709)", (np.array([-709.0, -710.0, -745.0, 745.0]),)),
            Case("|z| = 10,000", (np.array([-1e4, 1e4]),)),
            Case("exact zeros", (np.zeros((2, 3)),)),
            Case("values between -40 and 40", (np.linspace(-40.0, 40.0, 17),))]


def _sigmoid_naive(z):
    return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_swapped(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def _sigmoid_abs_everywhere(z):
    return 1.0 / (1.0 + np.exp(-np.abs(z)))


STABLE_SIGMOID = Exercise(
    id="02.stable_sigmoid",
    title="A sigmoid that never overflows",
    points=2,
    reference=A.sigmoid,
    public_cases=_stable_public,
    hidden_cases=_stable_hidden,
    # relative: sigma(-720) = 2e-313 must not come back as 0 (the overflowed textbook formula); atol 1e-320 only
    # absorbs the last subnormals (sigma(-745) is 5e-324, sigma(-1000) underflows to 0 in any float64 evaluation).
    compare=ArrayClose(rtol=1e-9, atol=1e-320),
    forbid_warnings=True,   # an overflow in exp fails the case even where the values come out right
    hints=[
        "For z >= 0, 1 / (1 + e^-z) is safe (e^-z <= 1). For z < 0, multiply top and bottom by e^z: "
        "e^z / (1 + e^z), where e^z <= 1 is safe too.",
        "Both branches use e^(-|z|), which is never larger than 1: compute e = np.exp(-np.abs(z)) once. "
        "Beware: np.where(cond, a, b) computes a and b for EVERY entry, so neither may contain np.exp(-z) or np.exp(z).",
        "e = np.exp(-np.abs(z)); return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
    ],
    mistakes=[
        Mistake("overflow in exp", "np.exp(-z) overflows for z << 0 (e^1000 is inf). This happens with the textbook "
                "1 / (1 + np.exp(-z)), and also inside np.where, which evaluates both branches for every entry. "
                "Compute e = np.exp(-np.abs(z)), which is never above 1, and build both branches from it.",
                _sigmoid_naive),
        Mistake("branches swapped", "for z >= 0 use 1 / (1 + e) and for z < 0 use e / (1 + e), with e = e^-|z|; "
                "swapped, you get sigma(-z).", _sigmoid_swapped),
        Mistake("e^-|z| in one formula for every sign", "1 / (1 + e^-|z|) is sigma(|z|), always >= 0.5; "
                "negative z need the other branch, e / (1 + e).", _sigmoid_abs_everywhere),
    ],
)


# ----------------------------------------------------------------------------- derivatives
def _grad_public(rng):
    return [_z_case([-2.0, 0.0, 2.0]),
            _z_case(np.linspace(-4.0, 4.0, 9)),
            _z_case([[0.5, -1.5, 3.0], [-4.0, 1.0, 0.25]])]


def _grad_hidden(rng):
    return [_batch_case(rng, (5, 4), 3.0, "a random batch"),
            _batch_case(rng, (10,), 0.2, "small inputs near 0"),
            Case("values out to |z| = 20", (np.linspace(-20.0, 20.0, 21),)),
            Case("a batch of zeros", (np.zeros((2, 3)),)),
            _batch_case(rng, (1, 1), 2.0, "one value")]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


SIGMOID_GRAD = Exercise(
    id="02.sigmoid_grad",
    title="The derivative of the sigmoid",
    points=2,
    reference=A.sigmoid_grad,
    public_cases=_grad_public,
    hidden_cases=_grad_hidden,
    compare=ArrayClose(rtol=1e-6, atol=1e-12),  # s(1-s) or e^-z/(1+e^-z)^2 agree to ~1e-15; values go down to ~2e-9
    hints=[
        "sigma'(z) = sigma(z) * (1 - sigma(z)): first compute s = sigma(z), then combine.",
        "Evaluate the sigmoid at z first (your `sigmoid` from exercise 1 works). The derivative is not "
        "z * (1 - z), and not s on its own.",
        "s = sigmoid(z); return s * (1 - s)",
    ],
    mistakes=[
        Mistake("sigmoid derivative written as s", "the derivative is s * (1 - s), not s itself: it peaks at 0.25 "
                "at z = 0 and vanishes for large |z|.", _sigmoid),
        Mistake("z(1 - z) instead of s(1 - s)", "apply the sigmoid first: s = sigmoid(z), then s * (1 - s).",
                lambda z: z * (1.0 - z)),
        Mistake("1 - s^2 (the tanh rule)", "1 - f^2 is the derivative of tanh; the sigmoid's is s * (1 - s).",
                lambda z: 1.0 - _sigmoid(z) ** 2),
    ],
)

TANH_GRAD = Exercise(
    id="02.tanh_grad",
    title="The derivative of tanh",
    points=2,
    reference=A.tanh_grad,
    public_cases=_grad_public,
    hidden_cases=_grad_hidden,
    # atol 1e-12: at |z| = 20, 1 - tanh^2 rounds to 0 in float64 while the true value is 1.7e-17.
    compare=ArrayClose(rtol=1e-6, atol=1e-12),
    hints=[
        "tanh'(z) = 1 - tanh(z)^2.",
        "Compute t = np.tanh(z) (or your own `tanh`) first, then square it; mind the brackets.",
        "t = np.tanh(z); return 1 - t ** 2",
    ],
    mistakes=[
        Mistake("forgot the square", "tanh'(z) = 1 - tanh(z)**2, not 1 - tanh(z).", lambda z: 1.0 - np.tanh(z)),
        Mistake("1 - z^2 instead of 1 - tanh(z)^2", "apply tanh first, then square: t = np.tanh(z); 1 - t**2.",
                lambda z: 1.0 - z ** 2),
        Mistake("squared the wrong thing", "(1 - tanh(z))**2 squares the difference; square tanh(z) alone: "
                "1 - np.tanh(z)**2.", lambda z: (1.0 - np.tanh(z)) ** 2),
    ],
)


def _relu_grad_public(rng):
    return [_z_case([-2.0, 0.0, 3.0]),
            _z_case([[1.5, -3.0, 0.0], [0.0, 4.0, -0.1]]),
            _z_case([0.5, 2.0, 7.0])]


def _relu_grad_hidden(rng):
    z = 2.0 * rng.normal(size=(4, 6))
    z[0, :2] = 0.0
    return [Case("a random batch with some exact zeros", (z,)),
            Case("negative inputs but the last", (_all_negative_but_last(rng, 5),)),
            Case("exact zeros and one positive value", (np.array([0.0, 0.0, 0.0, 0.0, 0.5]),)),
            Case("large positive values", (np.abs(100.0 * rng.normal(size=(2, 3))) + 2.0,)),
            Case("tiny values on both sides of 0", (np.array([-1e-12, 0.0, 1e-12, -1e-300, 1e-300]),))]


RELU_GRAD = Exercise(
    id="02.relu_grad",
    title="The derivative of ReLU",
    points=2,
    reference=A.relu_grad,
    public_cases=_relu_grad_public,
    hidden_cases=_relu_grad_hidden,
    compare=ArrayClose(rtol=0.0, atol=1e-12),  # the step is exactly 0 or 1
    hints=[
        "ReLU has slope 1 where z > 0 and slope 0 where z < 0. At exactly z = 0 we choose 0 (as PyTorch does).",
        "A comparison such as z > 0 gives booleans; the derivative must be numbers, so convert with .astype(float).",
        "return (z > 0).astype(float)",
    ],
    mistakes=[
        Mistake("relu derivative as the relu itself", "relu'(z) is the step: 1 where z > 0, 0 elsewhere; "
                "max(0, z) is the function, not its slope.", lambda z: np.maximum(0.0, z)),
        Mistake("returned booleans", "z > 0 is an array of True/False; return numbers: (z > 0).astype(float).",
                lambda z: z > 0),
        Mistake("slope 1 at z = 0", "this notebook (like PyTorch) takes relu'(0) = 0: use z > 0, not z >= 0.",
                lambda z: (z >= 0).astype(float)),
        Mistake("step on the wrong side", "the slope is 1 for POSITIVE z and 0 for negative z.",
                lambda z: (z < 0).astype(float)),
    ],
)


# ----------------------------------------------------------------------------- 02.collapse_linear
def _collapse_case(rng, d0, d1, d2, what=None) -> Case:
    W1, b1, W2, b2 = rng.normal(size=(d0, d1)), rng.normal(size=d1), rng.normal(size=(d1, d2)), rng.normal(size=d2)
    label = what or f"W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, b2 {b2.shape}"
    return Case(label, (W1, b1, W2, b2))


def _collapse_public(rng):
    return [_collapse_case(rng, 3, 4, 2), _collapse_case(rng, 2, 2, 2), _collapse_case(rng, 5, 3, 1)]


def _collapse_hidden(rng):
    return [_collapse_case(rng, d0, d1, d2, f"random layers {d0}-{d1}-{d2}")
            for d0, d1, d2 in [(4, 4, 4), (1, 6, 3), (7, 1, 5), (10, 16, 10), (3, 5, 5), (6, 2, 6)]]


COLLAPSE_LINEAR = Exercise(
    id="02.collapse_linear",
    title="Two linear layers are one",
    points=3,
    reference=A.collapse_linear,
    public_cases=_collapse_public,
    hidden_cases=_collapse_hidden,
    compare=TupleOf([ArrayClose(), ArrayClose()]),  # (W, b); rtol 1e-6: matrix products in any order agree
    hints=[
        "Write the two layers out: (X W1 + b1) W2 + b2. Expand the bracket and collect what multiplies X.",
        "X W1 W2 + b1 W2 + b2: the weight matrix is W1 @ W2 (d0, d2) and the bias is b1 @ W2 + b2 (d2,). "
        "The first bias also goes through W2.",
        "return W1 @ W2, b1 @ W2 + b2",
    ],
    mistakes=[
        Mistake("added the biases directly", "b1 goes through the second layer too: the bias is b1 @ W2 + b2, "
                "not b1 + b2.", lambda W1, b1, W2, b2: (W1 @ W2, b1 + b2)),
        Mistake("dropped the first bias", "b1 does not vanish: it is multiplied by W2, so b = b1 @ W2 + b2.",
                lambda W1, b1, W2, b2: (W1 @ W2, b2)),
        Mistake("dropped the second bias", "b2 is added after the second layer: b = b1 @ W2 + b2.",
                lambda W1, b1, W2, b2: (W1 @ W2, b1 @ W2)),
        Mistake("multiplied in the wrong order", "X meets W1 first: X @ W1 @ W2, so W = W1 @ W2 (shape (d0, d2)), "
                "not W2 @ W1.", lambda W1, b1, W2, b2: (W2 @ W1, b1 @ W2 + b2)),
    ],
)


# ----------------------------------------------------------------------------- concept questions
Q_BINARY_OUTPUT = question(
    "02.q_binary_output", "Question: the output of a binary classifier", 1, answer="b",
    choices=["a", "b", "c", "d"],
    wrong={"a": "ReLU is unbounded above and gives no probability: it can output 7.3.",
           "c": "tanh has range (-1, 1): it can be negative, so it is not a probability (you could rescale it, "
                "but that is just the sigmoid in disguise: (tanh(z/2) + 1) / 2).",
           "d": "softmax over a single unit always outputs exactly 1, whatever the input: e^z / e^z."},
    hints=["The output should be P(spam), a number in (0, 1).",
           "Which activation in the table maps every real number into (0, 1) with one unit?"],
)

Q_SIGMOID_GRAD_MAX = question(
    "02.q_sigmoid_grad_max", "Question: the largest slope of the sigmoid", 1, answer=0.25,
    wrong={1.0: "1 is the largest slope of tanh (at z = 0). The sigmoid is flatter.",
           0.5: "0.5 is the VALUE of the sigmoid at z = 0; the slope there is s(1 - s) = 0.5 * 0.5.",
           0.0: "The slope tends to 0 for large |z|, but it is largest at z = 0."},
    hints=["sigma'(z) = s (1 - s) with s = sigma(z) in (0, 1). Which s maximises s (1 - s)?",
           "s (1 - s) is a parabola in s with its peak at s = 0.5, that is at z = 0."],
)

Q_LINEAR_STACK = question(
    "02.q_linear_stack", "Question: ten linear layers", 1, answer="c",
    choices=["a", "b", "c", "d"],
    wrong={"a": "Products of weights appear, but every output is still a linear function of x plus a constant: "
                "no powers of x. A polynomial needs a non-linearity.",
           "b": "Piecewise-linear functions come from ReLU-like kinks; without an activation there is no kink at all.",
           "d": "Width does not help: whatever the widths, the composition is X W + b for one matrix W and one "
                "vector b (at most as expressive as a single layer)."},
    hints=["Apply exercise 10 repeatedly: two linear layers collapse into one, then that one and the next...",
           "However many linear layers you stack, the result is X @ W + b."],
)

Q_DYING_RELU = question(
    "02.q_dying_relu", "Question: a dead ReLU", 1, answer="a",
    choices=["a", "b", "c", "d"],
    wrong={"b": "ReLU does not saturate at 1: for z < 0 it outputs 0, and its slope is 0.",
           "c": "Nothing explodes: the unit outputs 0 for every example, a constant.",
           "d": "The slope of ReLU for z < 0 is exactly 0, not 0.25 (0.25 is the sigmoid's largest slope). "
                "Leaky ReLU keeps a small slope alpha there."},
    hints=["What is relu'(z) when z < 0 for every example?",
           "The gradient of the unit's weights and bias is (upstream gradient) * relu'(z) * (input): "
           "if relu'(z) = 0 for every example, what does gradient descent change?"],
)

EXERCISES = [SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, STABLE_SIGMOID, SIGMOID_GRAD, TANH_GRAD, RELU_GRAD,
             COLLAPSE_LINEAR, Q_BINARY_OUTPUT, Q_SIGMOID_GRAD_MAX, Q_LINEAR_STACK, Q_DYING_RELU]
