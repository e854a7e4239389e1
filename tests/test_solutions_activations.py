"""solutions.activations against PyTorch (float64) and closed forms."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from solutions import activations as A
from tests.oracle import close, t

DT = torch.float64


@st.composite
def arrays(draw, min_dims=1, max_dims=3, scale=5.0):
    """A float64 array with a drawn shape (dims may be 1, so batch size 1 is covered)."""
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=min_dims, max_size=max_dims)))
    seed = draw(st.integers(0, 2**32 - 1))
    return scale * np.random.default_rng(seed).standard_normal(shape)


def autograd_elementwise(fn, z):
    """d fn(z) / dz elementwise (fn elementwise, so the gradient of sum is the derivative)."""
    zt = t(z, grad=True)
    fn(zt).sum().backward()
    return zt.grad.numpy()


# ---- plain functions -----------------------------------------------------------------------

@given(arrays())
def test_elementwise_functions_match_torch(z):
    close(A.sigmoid(z), torch.sigmoid(t(z)).numpy())
    close(A.tanh(z), torch.tanh(t(z)).numpy())
    close(A.relu(z), F.relu(t(z)).numpy())
    close(A.leaky_relu(z), F.leaky_relu(t(z), 0.01).numpy())
    close(A.leaky_relu(z, alpha=0.2), F.leaky_relu(t(z), 0.2).numpy())
    close(A.linear(z), z)


@given(arrays(min_dims=1, max_dims=3))
def test_softmax_matches_torch_on_every_axis(z):
    for axis in range(-z.ndim, z.ndim):
        close(A.softmax(z, axis=axis), torch.softmax(t(z), dim=axis).numpy())
    close(A.softmax(z), torch.softmax(t(z), dim=-1).numpy())


def test_functions_do_not_mutate_and_return_new_arrays():
    z = np.array([[-2.0, 0.0, 3.0]])
    keep = z.copy()
    for fn in (A.sigmoid, A.tanh, A.relu, A.leaky_relu, A.linear, A.softmax):
        out = fn(z)
        out[...] = 7.0
        np.testing.assert_array_equal(z, keep)


def test_tanh_is_the_correct_exponential_formula():
    z = np.linspace(-5, 5, 101)
    explicit = (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    close(A.tanh(z), explicit)
    upside_down = (np.exp(z) + np.exp(-z)) / (np.exp(z) - np.exp(-z) + 1e-300)
    assert not np.allclose(A.tanh(z), upside_down)
    assert A.tanh(1.0) == pytest.approx(0.7615941559557649, abs=1e-15)


@pytest.mark.parametrize("big", [1e3, 1e4, 1e300])
def test_sigmoid_stable_for_large_inputs(big):
    z = np.array([-big, -50.0, 0.0, 50.0, big])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = A.sigmoid(z)
        g = A.sigmoid_grad(z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(g))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    close(s, torch.sigmoid(t(z)).numpy())
    assert np.all((s >= 0) & (s <= 1))


@pytest.mark.parametrize("big", [1e3, 1e5, 1e300])
def test_softmax_stable_for_large_inputs(big):
    z = np.array([[big, big - 1.0, -big], [-big, -big, -big], [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = A.softmax(z)
    assert np.all(np.isfinite(s))
    close(s.sum(axis=1), np.ones(3))
    close(s[1], np.full(3, 1 / 3))
    if big < 1e10:   # torch agrees where big - 1 is still distinct from big in float64
        close(s, torch.softmax(t(z), dim=-1).numpy())


def test_softmax_is_shift_invariant():
    z = np.random.default_rng(0).standard_normal((4, 5))
    close(A.softmax(z), A.softmax(z + 1234.5))


# ---- derivatives ---------------------------------------------------------------------------

@given(arrays())
def test_derivatives_match_autograd(z):
    close(A.sigmoid_grad(z), autograd_elementwise(torch.sigmoid, z))
    close(A.tanh_grad(z), autograd_elementwise(torch.tanh, z))
    close(A.relu_grad(z), autograd_elementwise(F.relu, z))
    close(A.leaky_relu_grad(z), autograd_elementwise(lambda u: F.leaky_relu(u, 0.01), z))
    close(A.leaky_relu_grad(z, 0.3), autograd_elementwise(lambda u: F.leaky_relu(u, 0.3), z))
    close(A.linear_grad(z), autograd_elementwise(lambda u: u, z))


def test_derivative_closed_forms_and_kinks():
    z = np.array([-3.0, 0.0, 2.0])
    s = 1 / (1 + np.exp(-z))
    close(A.sigmoid_grad(z), s * (1 - s))
    close(A.tanh_grad(z), 1 - np.tanh(z) ** 2)
    assert A.sigmoid_grad(0.0) == 0.25 and np.max(A.sigmoid_grad(np.linspace(-9, 9, 99))) <= 0.25
    np.testing.assert_array_equal(A.relu_grad(z), [0.0, 0.0, 1.0])          # 0 at the kink
    np.testing.assert_array_equal(A.leaky_relu_grad(z, 0.1), [0.1, 0.1, 1.0])
    # torch uses the same conventions at exactly 0
    close(A.relu_grad(np.zeros(3)), autograd_elementwise(F.relu, np.zeros(3)))
    close(A.leaky_relu_grad(np.zeros(3)), autograd_elementwise(F.leaky_relu, np.zeros(3)))


@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_softmax_jacobian_matches_torch(k, seed):
    z = 3 * np.random.default_rng(seed).standard_normal(k)
    J = A.softmax_jacobian(z)
    J_torch = torch.autograd.functional.jacobian(lambda u: torch.softmax(u, dim=0), t(z)).numpy()
    assert J.shape == (k, k)
    close(J, J_torch)
    close(J.sum(axis=0), np.zeros(k))            # softmax sums to 1, so columns sum to 0


# ---- layer contract --------------------------------------------------------------------------

LAYERS = [
    ("sigmoid", A.sigmoid_forward, A.sigmoid_backward, torch.sigmoid),
    ("tanh", A.tanh_forward, A.tanh_backward, torch.tanh),
    ("relu", A.relu_forward, A.relu_backward, F.relu),
    ("leaky_relu", A.leaky_relu_forward, A.leaky_relu_backward, F.leaky_relu),
    ("softmax", A.softmax_forward, A.softmax_backward, lambda u: torch.softmax(u, dim=-1)),
]


@pytest.mark.parametrize("name,fwd,bwd,torch_fn", LAYERS, ids=[row[0] for row in LAYERS])
@given(x=arrays(min_dims=2, max_dims=2), seed=st.integers(0, 2**32 - 1))
def test_layer_forward_backward_match_autograd(name, fwd, bwd, torch_fn, x, seed):
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    x_keep, dout_keep = x.copy(), dout.copy()
    out, cache = fwd(x)
    dx = bwd(dout, cache)
    xt = t(x, grad=True)
    out_t = torch_fn(xt)
    out_t.backward(t(dout))
    close(out, out_t.detach().numpy())
    assert dx.shape == x.shape
    close(dx, xt.grad.numpy())
    np.testing.assert_array_equal(x, x_keep)
    np.testing.assert_array_equal(dout, dout_keep)


@given(x=arrays(min_dims=2, max_dims=2), alpha=st.floats(0.0, 0.5), seed=st.integers(0, 2**32 - 1))
def test_leaky_relu_layer_with_custom_alpha(x, alpha, seed):
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    out, cache = A.leaky_relu_forward(x, alpha)
    xt = t(x, grad=True)
    out_t = F.leaky_relu(xt, alpha)
    out_t.backward(t(dout))
    close(out, out_t.detach().numpy())
    close(A.leaky_relu_backward(dout, cache), xt.grad.numpy())


@given(k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_softmax_backward_is_jacobian_vector_product(k, seed):
    rng = np.random.default_rng(seed)
    z, dout = rng.standard_normal(k), rng.standard_normal(k)
    _, cache = A.softmax_forward(z[None, :])
    dx = A.softmax_backward(dout[None, :], cache)[0]
    close(dx, A.softmax_jacobian(z).T @ dout)


def test_stacked_linear_layers_collapse_to_one():
    """Without a non-linearity, two affine maps are one affine map (why activations matter)."""
    rng = np.random.default_rng(1)
    X, W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(5, 3), (3, 4), (4,), (4, 2), (2,)])
    two_layers = A.linear(X @ W1 + b1) @ W2 + b2
    close(two_layers, X @ (W1 @ W2) + (b1 @ W2 + b2))
    with_relu = A.relu(X @ W1 + b1) @ W2 + b2
    assert not np.allclose(with_relu, X @ (W1 @ W2) + (b1 @ W2 + b2))


def test_tanh_from_exponentials_is_the_right_way_up():
    z = np.linspace(-20, 20, 401)
    assert np.allclose(A.tanh_from_exponentials(z), torch.tanh(torch.tensor(z, dtype=torch.float64)).numpy(),
                       rtol=1e-12, atol=1e-15)
    upside_down = 1.0 / A.tanh_from_exponentials(z[z != 0])
    assert np.all(np.abs(upside_down) >= 1.0) and np.abs(upside_down).max() > 9  # coth: outside (-1, 1)


def test_collapse_linear_matches_two_stacked_nn_linear():
    rng = np.random.default_rng(3)
    W1, b1, W2, b2 = rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(6, 3)), rng.normal(size=3)
    X = rng.normal(size=(5, 4))
    W, b = A.collapse_linear(W1, b1, W2, b2)
    first, second = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, 3).double()
    with torch.no_grad():
        first.weight.copy_(torch.tensor(W1.T)); first.bias.copy_(torch.tensor(b1))
        second.weight.copy_(torch.tensor(W2.T)); second.bias.copy_(torch.tensor(b2))
        expected = second(first(torch.tensor(X))).numpy()
    assert np.allclose(X @ W + b, expected, rtol=1e-12, atol=1e-12)
