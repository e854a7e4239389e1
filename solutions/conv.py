"""Convolutional layers in NumPy (notebook 09).

Layout is NCHW, as in PyTorch: inputs ``x: (N, C, H, W)``, filters ``w: (F, C, KH, KW)``,
biases ``b: (F,)``. "Convolution" here is cross-correlation (the kernel is not flipped),
exactly what ``torch.nn.functional.conv2d`` computes.

Contents
- ``conv_output_size``: the output-size formula ``(in + 2p - k) // s + 1``.
- ``conv2d_forward_naive``: explicit loops, a sliding dot product you can read.
- ``im2col`` / ``col2im`` and ``conv2d_forward``: the vectorised version (one matrix product).
- ``conv2d_backward`` (vectorised) and ``conv2d_backward_naive`` (loops); both accept the
  cache of either forward, since the two forwards store the same cache.
- ``maxpool2d_forward`` / ``maxpool2d_backward``.
- ``conv_param_count`` and ``dense_param_count_same_input``: why convolutions share weights.

Every ``*_forward`` returns ``(out, cache)``; every ``*_backward(dout, cache)`` returns the
gradients in the order of the forward's inputs (CS231n's layer contract).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pair(k):
    """An int ``k`` -> ``(k, k)``; a pair ``(kh, kw)`` is returned as a tuple of ints."""
    if isinstance(k, (int, np.integer)):
        return int(k), int(k)
    kh, kw = k
    return int(kh), int(kw)


def conv_output_size(in_size, kernel, stride=1, padding=0):
    """Output length along one spatial axis of a convolution or pooling window.

    # out = floor((in + 2p - k) / s) + 1
    Raises ``ValueError`` when the kernel does not fit in the padded input, or when an
    argument is out of range (kernel and stride >= 1, padding >= 0, in_size >= 1).
    """
    if in_size < 1 or kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"need in_size >= 1, kernel >= 1, stride >= 1 and padding >= 0; got "
            f"in_size={in_size}, kernel={kernel}, stride={stride}, padding={padding}"
        )
    padded = in_size + 2 * padding
    if kernel > padded:
        raise ValueError(
            f"kernel of size {kernel} does not fit in an input of size {in_size} with padding "
            f"{padding} (padded size {padded} < kernel {kernel})"
        )
    return (padded - kernel) // stride + 1


def _pad(x, padding):
    """Zero-pad the two spatial axes of x: (N, C, H, W) -> (N, C, H + 2p, W + 2p)."""
    p = padding
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def _check_conv_shapes(x, w, b):
    if x.ndim != 4 or w.ndim != 4 or b.shape != (w.shape[0],):
        raise ValueError(
            f"expected x: (N, C, H, W), w: (F, C, KH, KW), b: (F,); got x{x.shape}, "
            f"w{w.shape}, b{b.shape}"
        )
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {w.shape[1]}")


def conv2d_forward_naive(x, w, b, stride=1, padding=0):
    """2-D convolution (cross-correlation) with explicit loops.

    x: (N, C, H, W), w: (F, C, KH, KW), b: (F,) -> out: (N, F, H_out, W_out)
    # out[n, f, i, j] = sum_{c, u, v} x_pad[n, c, i*s + u, j*s + v] * w[f, c, u, v] + b[f]
    cache: (x, w, b, stride, padding)
    """
    _check_conv_shapes(x, w, b)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out = conv_output_size(H, KH, stride, padding)
    W_out = conv_output_size(W, KW, stride, padding)
    x_pad = _pad(x, padding)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, padding)


def im2col(x, kh, kw, stride=1, padding=0):
    """Unfold every receptive field of x into one row.

    x: (N, C, H, W) -> cols: (N * H_out * W_out, C * KH * KW); rows are ordered (n, i, j),
    columns (c, u, v), matching ``w.reshape(F, -1)``.
    """
    N, C, H, W = x.shape
    H_out = conv_output_size(H, kh, stride, padding)
    W_out = conv_output_size(W, kw, stride, padding)
    # windows[n, c, i, j, u, v] = x_pad[n, c, i*s + u, j*s + v]  (a view, no copy yet)
    windows = sliding_window_view(_pad(x, padding), (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    assert windows.shape[2:4] == (H_out, W_out)
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * kh * kw)


def col2im(cols, x_shape, kh, kw, stride=1, padding=0):
    """Adjoint of ``im2col``: add every row back onto the pixels it was read from.

    cols: (N * H_out * W_out, C * KH * KW) -> dx: x_shape = (N, C, H, W).
    Overlapping windows (stride < kernel) sum their contributions.
    """
    N, C, H, W = x_shape
    H_out = conv_output_size(H, kh, stride, padding)
    W_out = conv_output_size(W, kw, stride, padding)
    # cols6[n, c, u, v, i, j]: the value that window (i, j) sends to kernel offset (u, v)
    cols6 = cols.reshape(N, H_out, W_out, C, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + stride * (H_out - 1) + 1, stride)
            columns = slice(v, v + stride * (W_out - 1) + 1, stride)
            dx_pad[:, :, rows, columns] += cols6[:, :, u, v]
    return dx_pad[:, :, padding:padding + H, padding:padding + W]


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Vectorised 2-D convolution via im2col: one matrix product.

    x: (N, C, H, W), w: (F, C, KH, KW), b: (F,) -> out: (N, F, H_out, W_out)
    # out = im2col(x) @ w.reshape(F, -1).T + b, reshaped to NCHW
    cache: (x, w, b, stride, padding), the same as ``conv2d_forward_naive``.
    """
    _check_conv_shapes(x, w, b)
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out = conv_output_size(H, KH, stride, padding)
    W_out = conv_output_size(W, KW, stride, padding)
    cols = im2col(x, KH, KW, stride, padding)                # (N*H_out*W_out, C*KH*KW)
    out = cols @ w.reshape(F, -1).T + b                       # (N*H_out*W_out, F)
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, (x, w, b, stride, padding)


def conv2d_backward(dout, cache):
    """Backward pass of a 2-D convolution (vectorised with im2col / col2im).

    dout: (N, F, H_out, W_out) -> (dx: (N, C, H, W), dw: (F, C, KH, KW), db: (F,))
    # dw = dout_mat.T @ cols;  dcols = dout_mat @ w_mat;  dx = col2im(dcols);  db = sum dout
    Accepts the cache of ``conv2d_forward`` or ``conv2d_forward_naive``.
    """
    x, w, b, stride, padding = cache
    F, _, KH, KW = w.shape
    cols = im2col(x, KH, KW, stride, padding)
    dout_mat = dout.transpose(0, 2, 3, 1).reshape(-1, F)      # (N*H_out*W_out, F)
    db = dout.sum(axis=(0, 2, 3))
    dw = (dout_mat.T @ cols).reshape(w.shape)
    dcols = dout_mat @ w.reshape(F, -1)
    dx = col2im(dcols, x.shape, KH, KW, stride, padding)
    return dx, dw, db


def conv2d_backward_naive(dout, cache):
    """Backward pass of a 2-D convolution with explicit loops (mirrors the naive forward).

    dout: (N, F, H_out, W_out) -> (dx: (N, C, H, W), dw: (F, C, KH, KW), db: (F,))
    # each out[n, f, i, j] sends dout * w[f] to its window of x, and dout * window to w[f]
    """
    x, w, b, stride, padding = cache
    N, F, H_out, W_out = dout.shape
    _, _, KH, KW = w.shape
    x_pad = _pad(x, padding)
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + KH)
                    columns = slice(j * stride, j * stride + KW)
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, columns]
                    dx_pad[n, :, rows, columns] += dout[n, f, i, j] * w[f]
    H, W = x.shape[2:]
    return dx_pad[:, :, padding:padding + H, padding:padding + W], dw, db


def maxpool2d_forward(x, pool_size=2, stride=2):
    """Max pooling over (pool_size x pool_size) windows, no padding.

    x: (N, C, H, W) -> out: (N, C, H_out, W_out), H_out = (H - pool) // stride + 1
    # out[n, c, i, j] = max_{u, v} x[n, c, i*s + u, j*s + v]
    pool_size: int or (ph, pw). cache: (x, (ph, pw), stride, argmax) where argmax is the
    position of the max inside each window, flattened row-major.
    """
    ph, pw = _pair(pool_size)
    H_out = conv_output_size(x.shape[2], ph, stride)
    W_out = conv_output_size(x.shape[3], pw, stride)
    windows = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows.reshape(*x.shape[:2], H_out, W_out, ph * pw)
    argmax = windows.argmax(axis=-1)      # first maximum in row-major order on ties
    out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return out, (x, (ph, pw), stride, argmax)


def maxpool2d_backward(dout, cache):
    """Backward pass of max pooling: each window's gradient goes to its max only.

    dout: (N, C, H_out, W_out) -> dx: (N, C, H, W)
    Ties: the gradient goes to the *first* maximum of the window in row-major order, as in
    PyTorch (so exactly one input per window receives it). With overlapping windows
    (stride < pool_size) an input that is the max of several windows collects their sum.
    """
    x, (ph, pw), stride, argmax = cache
    N, C, H_out, W_out = dout.shape
    du, dv = np.divmod(argmax, pw)                            # offset of the max in its window
    n, c, i, j = np.indices((N, C, H_out, W_out))
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    np.add.at(dx, (n, c, i * stride + du, j * stride + dv), dout)  # unbuffered: overlaps add up
    return dx


def conv_param_count(k, c_in, c_out, bias=True):
    """Parameters of a conv layer: k*k*C_in*C_out weights + C_out biases.

    k: int (square kernel) or (kh, kw). # count = kh*kw*C_in*C_out + C_out
    The count does not depend on the image size: the same filters slide over every position.
    """
    kh, kw = _pair(k)
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def dense_param_count_same_input(h, w, c_in, units, bias=True):
    """Parameters of a dense layer on the same (C_in, H, W) input, flattened.

    # count = (H*W*C_in) * units + units
    Compare with ``conv_param_count``: a dense layer grows with the image, a conv does not.
    """
    return h * w * c_in * units + (units if bias else 0)
