"""The recolour networks (attnrnn_np.learn.editing): the blend, the losses and every model's backward.

Gradients are checked in float64 against central differences on tiny
inputs, with random non-zero biases; ReLU inputs and max-pool windows are
asserted to stay far (> 1e-4) from kinks and ties compared with the step
(1e-6). A blend backward with one factor wrong is kept as a mutant that the
same check must reject.
"""

import numpy as np
import pytest

from attnrnn_np.gradcheck import check_gradients, format_report, numerical_vjp
from attnrnn_np.learn import editing
from attnrnn_np.learn.editing import (
    EDIT_MODELS,
    BlendCache,
    EditConfig,
    blend_backward,
    blend_forward,
    edit_backward,
    edit_forward,
    image_loss_backward,
    image_loss_forward,
    init_editor,
)
from attnrnn_np.learn.layers import conv2d_forward

TINY = dict(channels=3, hidden=3, query_dim=6, n_colors=2, pool=2)


def _problem(model, seed=1, N=2, side=8):
    rng = np.random.default_rng(seed)
    config = EditConfig(model=model, **TINY)
    params = init_editor(config, seed=seed, dtype="float64")
    for key, v in params.items():
        if v.ndim == 1:
            params[key] = rng.normal(0.0, 0.3, v.shape)
    X = rng.random((N, side, side, 3))
    q = np.zeros((N, config.query_dim))
    q[np.arange(N), rng.integers(0, config.query_dim - config.n_colors, N)] = 1
    q[np.arange(N), config.query_dim - config.n_colors + rng.integers(0, config.n_colors, N)] = 1
    ink = rng.random((N, side, side)) > 0.5
    return config, params, X, q, ink


def _margin(params, X, q, config):
    """Smallest distance of every ReLU input from 0 (encoder, transform, context map), and of a window's top two."""
    U, _ = conv2d_forward(X, params["enc.W"], params["enc.b"])
    F = np.maximum(U, 0)
    N, H, W, C = F.shape
    c = q[:, -config.n_colors:]
    V, _ = conv2d_forward(np.concatenate([F, np.broadcast_to(c[:, None, None, :], (N, H, W, c.shape[1]))], -1),
                          params["tr.W"], params["tr.b"])
    g = config.pool
    win = np.sort(F.reshape(N, H // g, g, W // g, g, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, g * g), axis=1)
    top = win[:, -1] > 0  # a window of zeros passes nothing back (every entry's ReLU is off): ties there are harmless
    margin = min(np.abs(U).min(), np.abs(V).min(), (win[top, -1] - win[top, -2]).min(initial=np.inf))
    if "ctx.W" in params:
        U_ctx, _ = conv2d_forward(win[:, -1].reshape(N, H // g, W // g, C), params["ctx.W"], params["ctx.b"])
        H_ctx = np.maximum(U_ctx, 0)
        h, w = H // g, W // g
        win = np.sort(H_ctx.reshape(N, h // g, g, w // g, g, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, g * g), 1)
        top = win[:, -1] > 0
        margin = min(margin, np.abs(U_ctx).min(), (win[top, -1] - win[top, -2]).min(initial=np.inf))
    return margin


@pytest.mark.parametrize("model", EDIT_MODELS)
def test_edit_gradients_match_finite_differences(model):
    config, params, X, q, ink = _problem(model)
    assert _margin(params, X, q, config) > 1e-4
    Y, A, cache = edit_forward(params, X, q, config, ink=ink)
    dout = np.random.default_rng(9).normal(size=Y.shape)
    grads = edit_backward(dout, cache)
    assert list(grads) == list(params)
    results = check_gradients(lambda: edit_forward(params, X, q, config, ink=ink)[0], params, grads, dout)
    assert all(r.passed for r in results), format_report(results)


def test_learned_masks_are_sigmoid_masks_at_image_resolution_and_fixed_masks_are_what_they_say():
    for model in EDIT_MODELS:
        config, params, X, q, ink = _problem(model)
        Y, A, _ = edit_forward(params, X, q, config, ink=ink)
        assert Y.shape == X.shape and A.shape == X.shape[:3]
        assert ((A > 0) & (A <= 1)).all() if model not in ("oracle-mask",) else True
        if model == "no-mask":
            np.testing.assert_array_equal(A, 1.0)
        if model == "oracle-mask":
            np.testing.assert_array_equal(A, ink.astype(float))
        if model in ("arnn", "arnn-ind", "local"):  # nearest upsampling by γ² = 4: constant on 4×4 blocks
            blocks = A.reshape(A.shape[0], 2, 4, 2, 4)
            np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :, :1, :, :1], blocks.shape))


def test_oracle_mask_needs_the_ink():
    config, params, X, q, _ = _problem("oracle-mask")
    with pytest.raises(ValueError, match="oracle-mask needs the true ink"):
        edit_forward(params, X, q, config)


def test_where_the_mask_is_zero_the_output_is_the_decoded_original():
    """A = 0 on a pixel: F′ = F there, whatever T is; A = 1: F′ = T."""
    config, params, X, q, _ = _problem("oracle-mask")
    zero = np.zeros(X.shape[:3], dtype=bool)
    Y0, _, c0 = edit_forward(params, X, q, config, ink=zero)
    np.testing.assert_array_equal(c0.blend.F * 1.0, c0.blend.F)
    Fp, _ = blend_forward(c0.blend.A, c0.blend.T, c0.blend.F)
    np.testing.assert_allclose(Fp, c0.blend.F)
    Y1, _, c1 = edit_forward(params, X, q, config, ink=~zero)
    Fp, _ = blend_forward(c1.blend.A, c1.blend.T, c1.blend.F)
    np.testing.assert_allclose(Fp, c1.blend.T)
    assert not np.allclose(Y0, Y1)


def _blend_problem(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.random((2, 3, 3))
    T = rng.normal(size=(2, 3, 3, 4))
    F = rng.normal(size=(2, 3, 3, 4))
    return A, T, F, rng.normal(size=(2, 3, 3, 4))


def test_blend_backward_matches_finite_differences_and_a_wrong_factor_fails():
    A, T, F, dout = _blend_problem()
    _, cache = blend_forward(A, T, F)
    dA, dT, dF = blend_backward(dout, cache)
    inputs = {"A": A, "T": T, "F": F}
    results = check_gradients(lambda: blend_forward(A, T, F)[0], inputs, {"A": dA, "T": dT, "F": dF}, dout)
    assert all(r.passed for r in results), format_report(results)

    def wrong_backward(dFp, cache: BlendCache):  # forgets the (1 − A) on the original features
        a = cache.A[..., None]
        return (dFp * (cache.T - cache.F)).sum(axis=-1), a * dFp, dFp

    wA, wT, wF = wrong_backward(dout, cache)
    results = check_gradients(lambda: blend_forward(A, T, F)[0], inputs, {"A": wA, "T": wT, "F": wF}, dout)
    assert [r.passed for r in results] == [True, True, False]


def test_a_mutated_blend_inside_the_network_is_caught(monkeypatch):
    config, params, X, q, ink = _problem("arnn")
    Y, _, cache = edit_forward(params, X, q, config, ink=ink)
    dout = np.random.default_rng(9).normal(size=Y.shape)

    def sign_flipped(dFp, cache):  # dA with (F − T) instead of (T − F)
        dA, dT, dF = blend_backward(dFp, cache)
        return -dA, dT, dF

    monkeypatch.setattr(editing, "blend_backward", sign_flipped)
    grads = edit_backward(dout, cache)
    results = check_gradients(lambda: edit_forward(params, X, q, config, ink=ink)[0], params, grads, dout)
    failed = {r.name for r in results if not r.passed}
    assert "enc.W" in failed and any(k.startswith("att.") for k in failed)


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_image_losses_and_their_gradients(kind):
    rng = np.random.default_rng(2)
    Y, Z = rng.random((2, 3, 3, 3)), rng.random((2, 3, 3, 3))
    loss, cache = image_loss_forward(Y, Z, kind)
    expected = ((Y - Z) ** 2).mean() if kind == "l2" else np.abs(Y - Z).mean()
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    dY = image_loss_backward(1.0, cache)
    numeric = numerical_vjp(lambda: np.asarray(image_loss_forward(Y, Z, kind)[0]), Y, np.asarray(1.0))
    np.testing.assert_allclose(dY, numeric, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="loss must be one of"):
        image_loss_forward(Y, Z, "huber")


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="unknown recolour model 'none'"):
        EditConfig(model="none")
    with pytest.raises(ValueError, match="must exceed n_colors"):
        EditConfig(query_dim=5, n_colors=5)


def test_same_seed_same_network_other_seed_other_network():
    config = EditConfig()
    a, b, c = (init_editor(config, seed=s) for s in (3, 3, 4))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_edit_figure_is_written_as_png(tmp_path):
    pytest.importorskip("matplotlib")
    from attnrnn_np.learn.figures import save_edits_png

    config, params, X, q, ink = _problem("local")
    Y, A, _ = edit_forward(params, X, q, config, ink=ink)
    path = save_edits_png(tmp_path / "edits.png", X, X, {"local": (Y, A), "oracle-mask": (X, ink)}, ["a", "b"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["edits.png"]   # no temporary file left


# --------------------------------------------------------------------------- the reconstruction term

@pytest.mark.parametrize("model", EDIT_MODELS)
def test_the_reconstruction_backward_matches_finite_differences(model):
    """With ``reconstruct=True`` the network has two outputs, Y and R = dec(F); both gradients flow back."""
    config, params, X, q, ink = _problem(model)
    assert _margin(params, X, q, config) > 1e-4
    Y, _, cache = edit_forward(params, X, q, config, ink=ink, reconstruct=True)
    assert cache.R.shape == X.shape
    rng = np.random.default_rng(11)
    dY, dR = rng.normal(size=Y.shape), rng.normal(size=Y.shape)
    grads = edit_backward(dY, cache, dR=dR)

    def both():
        Y, _, c = edit_forward(params, X, q, config, ink=ink, reconstruct=True)
        return np.concatenate([Y, c.R], axis=-1)

    results = check_gradients(both, params, grads, np.concatenate([dY, dR], axis=-1))
    assert all(r.passed for r in results), format_report(results)
    # R decodes the unblended features with the decoder's own weights
    F = np.maximum(conv2d_forward(X, params["enc.W"], params["enc.b"])[0], 0)
    np.testing.assert_allclose(cache.R, conv2d_forward(F, params["dec.W"], params["dec.b"])[0], rtol=1e-12)


def test_dR_needs_a_cache_that_reconstructed():
    config, params, X, q, ink = _problem("arnn")
    Y, _, cache = edit_forward(params, X, q, config, ink=ink)
    assert cache.R is None
    with pytest.raises(ValueError, match="reconstruct=True"):
        edit_backward(np.zeros_like(Y), cache, dR=np.zeros_like(Y))


def test_recon_weight_must_be_a_finite_non_negative_number():
    for bad in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="recon_weight must be a finite number >= 0"):
            EditConfig(recon_weight=bad)
    assert EditConfig(recon_weight=0).recon_weight == 0


def _batch(config, X, q, ink, seed=4):
    from types import SimpleNamespace

    target = np.random.default_rng(seed).random(X.shape)
    return SimpleNamespace(X=X, q=q, ink=ink, target=target)


@pytest.mark.parametrize("model", ["arnn", "oracle-mask"])
def test_the_training_loss_adds_lambda_times_the_reconstruction_error(model):
    """step_loss = ℓ(Y, Z) + λ·ℓ(dec(F), X), computed here from the outputs, and its gradients are that sum's."""
    from dataclasses import replace

    from attnrnn_np.learn.objectives import step_loss

    config, params, X, q, ink = _problem(model)
    b = _batch(config, X, q, ink)
    for lam in (0.0, 0.5, 2.0):
        cfg = replace(config, recon_weight=lam)
        loss, grads_of = step_loss(params, b, cfg)
        Y, _, cache = edit_forward(params, X, q, cfg, ink=ink, reconstruct=True)
        assert float(loss) == pytest.approx(((Y - b.target) ** 2).mean() + lam * ((cache.R - X) ** 2).mean(),
                                            rel=1e-12)
        grads = grads_of()
        results = check_gradients(lambda cfg=cfg: np.asarray(step_loss(params, b, cfg)[0]), params, grads,
                                  np.asarray(1.0))
        assert all(r.passed for r in results), (lam, format_report(results))


def test_a_loss_that_drops_the_reconstructions_decoder_gradient_is_caught():
    """The mutant: dR reaches the encoder but not dec.W/dec.b; the same check rejects it."""
    from dataclasses import replace

    from attnrnn_np.learn.objectives import step_loss

    config, params, X, q, ink = _problem("arnn")
    cfg = replace(config, recon_weight=1.0)
    b = _batch(config, X, q, ink)
    _, grads_of = step_loss(params, b, cfg)
    grads = grads_of()
    Y, _, cache = edit_forward(params, X, q, cfg, ink=ink, reconstruct=True)
    dR = image_loss_backward(1.0, image_loss_forward(cache.R, X)[1])
    plain = edit_backward(image_loss_backward(1.0, image_loss_forward(Y, b.target)[1]), cache)
    with_dR = edit_backward(np.zeros_like(Y), cache, dR=dR)
    wrong = {k: grads[k] - (with_dR[k] if k.startswith("dec.") else 0) for k in grads}
    results = check_gradients(lambda: np.asarray(step_loss(params, b, cfg)[0]), params, wrong, np.asarray(1.0))
    assert {r.name for r in results if not r.passed} == {"dec.W", "dec.b"}
    assert all(np.allclose(grads[k], plain[k] + with_dR[k]) for k in grads)
