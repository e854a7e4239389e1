"""Tests for solutions/device.py, solutions/torch_models.py and solutions/training.py.

Oracles: closed-form parameter counts, the same computation written out by hand with the
models' own weights in float64 (``torch.nn.functional`` and a frame-by-frame loop), and
short real training runs whose accuracies are printed (``pytest -s``) and checked with a
margin. GPU tests are marked ``gpu`` and skip cleanly without CUDA.
"""
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from solutions.data import (
    load_digits_split,
    make_loader,
    make_moving_digit_videos,
    make_sequence_task,
    split_arrays,
)
from solutions.device import describe_device, try_gpu
from solutions.torch_models import (
    LRCN,
    MLP,
    FrameCNN,
    PerFrameClassifier,
    SequenceClassifier,
    SmallCNN,
    count_parameters,
    fold_time,
    unfold_time,
)
from solutions.training import accuracy, evaluate, fit, make_optimizer, predict, train_epoch

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """2 shared cores: one intra-op thread is faster here than two fighting ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _dense_count(sizes):
    """Closed form: sum of d_in*d_out + d_out over consecutive layer sizes."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _conv_count(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def _rnn_count(gates, D, H):
    """gates * (H*(D+H) + 2H): W_ih, W_hh and PyTorch's two bias vectors per gate."""
    return gates * (H * (D + H) + 2 * H)


# ---------------------------------------------------------------------------- device
def test_try_gpu_picks_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert try_gpu() == torch.device("cpu") and try_gpu(3) == torch.device("cpu")
    line = describe_device()
    assert isinstance(line, str) and line.startswith("cpu") and "\n" not in line


def test_try_gpu_picks_cuda_i_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert try_gpu() == torch.device("cuda:0")
    assert try_gpu(1) == torch.device("cuda:1")
    assert try_gpu(2) == torch.device("cpu")                   # no third GPU


def test_try_gpu_matches_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert try_gpu().type == expected
    assert describe_device(CPU).startswith("cpu")


# ------------------------------------------------------------------------------- MLP
def test_mlp_parameter_counts_closed_form():
    assert count_parameters(MLP(784, (16, 16), 10)) == 13_002 == _dense_count([784, 16, 16, 10])
    assert count_parameters(MLP(3, (4,), 1)) == 21
    assert count_parameters(MLP(64, (), 10)) == 650                 # softmax regression
    m = MLP(10, (5,), 2)
    m.net[1].weight.requires_grad_(False)
    assert count_parameters(m) == 67 and count_parameters(m, trainable_only=True) == 17


@settings(max_examples=15)
@given(N=st.integers(1, 9), D=st.integers(1, 12),
       hidden=st.lists(st.integers(1, 10), min_size=0, max_size=3), K=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_mlp_forward_matches_affine_relu_chain(N, D, hidden, K, seed):
    torch.manual_seed(seed)
    model = MLP(D, tuple(hidden), K).double()
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((N, D)))
    out = model(x)
    assert out.shape == (N, K) and out.dtype == torch.float64
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    h = x
    for i, lin in enumerate(linears):                              # h = relu(h W^T + b)
        h = h @ lin.weight.T + lin.bias
        if i < len(linears) - 1:
            h = torch.clamp(h, min=0)
    torch.testing.assert_close(out, h, rtol=1e-12, atol=1e-12)
    assert count_parameters(model) == _dense_count([D, *hidden, K])


# -------------------------------------------------------------------------- SmallCNN
@pytest.mark.parametrize("size, side", [(8, 2), (28, 7), (9, 2), (16, 4)])
@pytest.mark.parametrize("N", [1, 5])
def test_small_cnn_shapes_and_count(size, side, N):
    torch.manual_seed(0)
    model = SmallCNN(in_channels=1, num_classes=10, image_size=size)
    assert model(torch.randn(N, 1, size, size)).shape == (N, 10)
    expected = _conv_count(3, 1, 16) + _conv_count(3, 16, 32) + _dense_count([32 * side**2, 10])
    assert count_parameters(model) == expected
    rgb = SmallCNN(in_channels=3, num_classes=4, image_size=size, channels=(4,))
    assert rgb(torch.randn(N, 3, size, size)).shape == (N, 4)
    with pytest.raises(ValueError):
        SmallCNN(image_size=3)


def test_small_cnn_matches_functional_oracle():
    torch.manual_seed(1)
    model = SmallCNN(image_size=8).double()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    c1, c2 = model.features[0][0], model.features[1][0]
    h = F.max_pool2d(F.relu(F.conv2d(x, c1.weight, c1.bias, padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c2.weight, c2.bias, padding=1)), 2)
    lin = model.classifier[1]
    torch.testing.assert_close(model(x), h.flatten(1) @ lin.weight.T + lin.bias,
                               rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------- sequences
@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("N, T", [(1, 1), (4, 7)])
def test_sequence_classifier_shapes_counts_last_state(cell, gates, N, T):
    D, H, K = 5, 6, 3
    torch.manual_seed(0)
    model = SequenceClassifier(D, H, K, cell=cell).double()
    x = torch.randn(N, T, D, dtype=torch.float64)
    out = model(x)
    assert out.shape == (N, K)
    assert count_parameters(model.rnn) == _rnn_count(gates, D, H)
    assert count_parameters(model) == _rnn_count(gates, D, H) + _dense_count([H, K])
    _, h_n = model.rnn(x)                                          # h_n: (layers, N, H)
    h_T = h_n[0] if cell == "lstm" else h_n                         # LSTM returns (h, c)
    torch.testing.assert_close(out, model.head(h_T[-1]), rtol=1e-12, atol=1e-12)


def test_lstm_count_closed_form_examples():
    assert count_parameters(nn.LSTM(10, 20)) == 4 * (20 * 30 + 40) == 2560
    assert count_parameters(SequenceClassifier(6, 32, 2).rnn) == _rnn_count(4, 6, 32)
    with pytest.raises(ValueError):
        SequenceClassifier(3, 4, 2, cell="transformer")


def test_sequence_classifier_depends_on_order():
    torch.manual_seed(0)
    model = SequenceClassifier(4, 8, 2)
    x = torch.randn(3, 6, 4)
    assert not torch.allclose(model(x), model(x.flip(1)))


# ----------------------------------------------------------------- folding time away
@given(B=st.integers(1, 4), T=st.integers(1, 5), C=st.integers(1, 3), H=st.integers(1, 4),
       W=st.integers(1, 4))
def test_fold_unfold_round_trip(B, T, C, H, W):
    x = torch.arange(B * T * C * H * W, dtype=torch.float64).reshape(B, T, C, H, W)
    f = fold_time(x)
    assert f.shape == (B * T, C, H, W)
    for b in range(B):
        for t in range(T):
            assert torch.equal(f[b * T + t], x[b, t])                # row b*T + t
    assert torch.equal(unfold_time(f, B, T), x)
    feats = torch.randn(B * T, 7)
    assert torch.equal(fold_time(unfold_time(feats, B, T)), feats)
    with pytest.raises(ValueError):
        unfold_time(f, B + 1, T)


# --------------------------------------------------------------------- video models
@pytest.mark.parametrize("B, T", [(1, 1), (1, 6), (3, 4)])
def test_video_model_shapes(B, T):
    torch.manual_seed(0)
    x = torch.rand(B, T, 1, 16, 16)
    assert FrameCNN()(x[:, 0]).shape == (B, 64)
    assert LRCN()(x).shape == (B, 4)
    assert PerFrameClassifier()(x).shape == (B, 4)
    assert LRCN(in_channels=3, image_size=12, num_classes=5, channels=(4,),
                feature_dim=10, hidden_dim=7)(torch.rand(B, T, 3, 12, 12)).shape == (B, 5)


def test_video_model_counts_closed_form():
    cnn = _conv_count(3, 1, 8) + _conv_count(3, 8, 16) + _dense_count([16 * 4 * 4, 64])
    assert count_parameters(FrameCNN()) == cnn
    assert count_parameters(LRCN()) == cnn + _rnn_count(4, 64, 32) + _dense_count([32, 4])
    assert count_parameters(PerFrameClassifier()) == cnn + _dense_count([64, 4])


def test_lrcn_matches_frame_by_frame_loop():
    torch.manual_seed(0)
    model = LRCN().double()
    x = torch.rand(2, 5, 1, 16, 16, dtype=torch.float64)
    feats = torch.stack([model.cnn(x[:, t]) for t in range(5)], dim=1)   # (B, T, F)
    h = torch.zeros(2, 32, dtype=torch.float64)
    c = torch.zeros(2, 32, dtype=torch.float64)
    lstm = model.lstm
    for t in range(5):                                  # i, f, g, o gates as in torch.nn.LSTM
        z = feats[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T \
            + lstm.bias_hh_l0
        i, f, g, o = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    torch.testing.assert_close(model(x), model.head(h), rtol=1e-10, atol=1e-12)


def test_per_frame_classifier_is_a_time_average_and_order_blind():
    torch.manual_seed(0)
    model = PerFrameClassifier().double()
    x = torch.rand(3, 6, 1, 16, 16, dtype=torch.float64)
    manual = torch.stack([model.head(model.cnn(x[:, t])) for t in range(6)], 1).mean(1)
    torch.testing.assert_close(model(x), manual, rtol=1e-12, atol=1e-12)
    perm = torch.tensor([5, 2, 0, 4, 1, 3])
    torch.testing.assert_close(model(x[:, perm]), model(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(model(x.flip(1)), model(x), rtol=1e-12, atol=1e-12)
    lrcn = LRCN().double()
    assert not torch.allclose(lrcn(x.flip(1)), lrcn(x))


# ------------------------------------------------------------------ training helpers
def _toy_loaders(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return make_loader(X[:150], y[:150], 32, True, seed), make_loader(X[150:], y[150:], 64), X, y


def test_fit_history_determinism_and_helpers():
    def run():
        train, val, X, y = _toy_loaders()
        torch.manual_seed(0)
        model = MLP(4, (8,), 2)
        return fit(model, train, val, epochs=5, lr=1e-2, device=CPU, seed=1), model, X, y

    h1, m1, X, y = run()
    h2, m2, _, _ = run()
    assert set(h1) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(len(v) == 5 for v in h1.values())
    assert h1 == h2                                                 # bit-for-bit repeatable
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert h1["train_loss"][-1] < h1["train_loss"][0] and h1["val_acc"][-1] >= 0.85
    # accuracy / predict / evaluate agree with each other and with a hand count
    val_loss, val_acc = evaluate(m1, make_loader(X[150:], y[150:], 7), device=CPU)
    assert val_acc == pytest.approx(h1["val_acc"][-1])
    assert val_loss == pytest.approx(h1["val_loss"][-1], rel=1e-6)
    logits = predict(m1, X[150:], device=CPU, batch_size=16)
    assert logits.shape == (50, 2)
    by_hand = float(np.mean(logits.argmax(1).numpy() == y[150:]))
    assert accuracy(m1, X[150:], y[150:], device=CPU) == pytest.approx(by_hand) == val_acc
    assert accuracy(m1, torch.from_numpy(X[150:]), torch.from_numpy(y[150:])) == by_hand


def test_fit_without_validation_optimizers_clipping_and_progress():
    train, _, _, _ = _toy_loaders()
    for name in ("sgd", "adam", "rmsprop", "adagrad", "adadelta"):
        torch.manual_seed(0)
        h = fit(MLP(4, (8,), 2), train, None, epochs=2, lr=0.05, optimizer=name, device=CPU,
                clip_norm=1.0, progress=(name == "adam"))
        assert len(h["train_loss"]) == 2 and h["val_acc"] == [] and np.isfinite(h["train_loss"]).all()
    with pytest.raises(ValueError):
        make_optimizer("lbfgs2", MLP(4, (), 2).parameters(), 0.1)
    assert isinstance(make_optimizer("SGD", MLP(4, (), 2).parameters(), 0.1, momentum=0.9),
                      torch.optim.SGD)


def test_train_epoch_clips_the_gradient_norm():
    torch.manual_seed(0)
    model = MLP(4, (8,), 2)
    xb, yb = torch.randn(16, 4) * 100, torch.randint(0, 2, (16,))

    class Spy(torch.optim.SGD):                      # records the gradient norm it steps with
        def step(self, closure=None):
            self.norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item()
            return super().step(closure)

    opt = Spy(model.parameters(), lr=0.0)
    loss, acc = train_epoch(model, [(xb, yb)], nn.CrossEntropyLoss(), opt, CPU, clip_norm=0.5)
    assert opt.norm == pytest.approx(0.5, rel=1e-4) and 0.0 <= acc <= 1.0 and loss > 0


# ---------------------------------------------------- training sanity (real tasks, CPU)
def _train(model, split, epochs, lr, batch_size=64):
    start = time.perf_counter()
    fit(model, make_loader(split.X_train, split.y_train, batch_size, True, 0), None,
        epochs=epochs, lr=lr, device=CPU)
    test_acc = accuracy(model, split.X_test, split.y_test, device=CPU)
    return test_acc, time.perf_counter() - start


def test_small_cnn_beats_mlp_on_digits():
    split = load_digits_split(seed=0, flatten=False)                 # (N, 1, 8, 8)
    torch.manual_seed(0)
    mlp_acc, mlp_s = _train(MLP(64, (16, 16), 10), split, epochs=20, lr=1e-2)
    torch.manual_seed(0)
    cnn_acc, cnn_s = _train(SmallCNN(image_size=8), split, epochs=20, lr=1e-2)
    print(f"\ndigits test accuracy: MLP 64-16-16-10 {mlp_acc:.3f} ({mlp_s:.1f} s), "
          f"SmallCNN {cnn_acc:.3f} ({cnn_s:.1f} s), {len(split.y_test)} test images")
    assert mlp_acc >= 0.88 and cnn_acc >= 0.95
    assert cnn_acc >= mlp_acc + 0.01


def test_lrcn_sees_motion_per_frame_cnn_does_not():
    X, y = make_moving_digit_videos(1000, seed=0)
    split = split_arrays(X, y, seed=0)
    torch.manual_seed(0)
    lrcn = LRCN()
    lrcn_acc, lrcn_s = _train(lrcn, split, epochs=8, lr=3e-3)
    torch.manual_seed(0)
    per_frame = PerFrameClassifier()
    pf_acc, pf_s = _train(per_frame, split, epochs=8, lr=3e-3)
    # a video and its reverse get the same per-frame scores but opposite labels
    flip = {0: 1, 1: 0, 2: 3, 3: 2}
    y_rev = np.array([flip[int(c)] for c in split.y_test])
    both_X = np.concatenate([split.X_test, split.X_test[:, ::-1]])
    pf_both = accuracy(per_frame, both_X, np.concatenate([split.y_test, y_rev]), device=CPU)
    lrcn_rev = accuracy(lrcn, split.X_test[:, ::-1], y_rev, device=CPU)
    print(f"\nvideo test accuracy: LRCN {lrcn_acc:.3f} ({lrcn_s:.1f} s), reversed videos "
          f"{lrcn_rev:.3f}; PerFrameClassifier {pf_acc:.3f} ({pf_s:.1f} s), "
          f"videos + reversed {pf_both:.3f}; chance 0.25")
    assert lrcn_acc >= 0.90 and lrcn_rev >= 0.90
    assert pf_acc <= 0.40
    assert pf_both <= 0.5 + 1e-9                    # at most one of each pair is right


def test_lstm_solves_the_order_task():
    X, y = make_sequence_task(1500, 12, seed=0)
    split = split_arrays(X, y, seed=0)
    torch.manual_seed(0)
    acc, secs = _train(SequenceClassifier(6, 32, 2, cell="lstm"), split, epochs=5, lr=1e-2)
    print(f"\norder task test accuracy: LSTM {acc:.3f} ({secs:.1f} s), chance 0.5")
    assert acc >= 0.85


# ----------------------------------------------------------------------------- GPU
@pytest.mark.gpu
@needs_cuda
def test_gpu_forward_backward_and_short_fit():
    device = try_gpu()
    assert device.type == "cuda"
    assert describe_device().startswith("cuda")
    torch.manual_seed(0)
    model = LRCN().to(device)
    x = torch.rand(4, 6, 1, 16, 16, device=device)
    loss = nn.CrossEntropyLoss()(model(x), torch.tensor([0, 1, 2, 3], device=device))
    loss.backward()
    assert all(p.grad is not None and p.grad.device.type == "cuda" for p in model.parameters())
    X, y = make_moving_digit_videos(400, seed=0)
    split = split_arrays(X, y, seed=0)
    torch.manual_seed(0)
    cnn = SmallCNN(image_size=16, num_classes=4)
    h = fit(LRCN(), make_loader(split.X_train, split.y_train, 64, True, 0),
            make_loader(split.X_val, split.y_val, 256), epochs=2, lr=3e-3)   # device=try_gpu()
    assert len(h["val_acc"]) == 2 and np.isfinite(h["train_loss"]).all()
    fit(cnn, make_loader(split.X_train[:, 0], split.y_train, 64), None, epochs=1)
    assert next(cnn.parameters()).device.type == "cuda"


@pytest.mark.gpu
@needs_cuda
def test_gpu_and_cpu_agree_on_a_forward_pass():
    torch.manual_seed(0)
    model = SequenceClassifier(6, 16, 2).double()
    x = torch.from_numpy(make_sequence_task(8, 10, seed=0)[0]).double()
    cpu_out = model(x)
    gpu_out = model.to(try_gpu())(x.to(try_gpu())).cpu()
    torch.testing.assert_close(gpu_out, cpu_out, rtol=1e-9, atol=1e-9)
