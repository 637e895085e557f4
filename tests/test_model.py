"""MotionCLIP model shapes, positional encoding and the losses of eq. (1)-(4)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mclip.errors import MclipError
from mclip.losses import (LossWeights, body_positions, image_loss, motionclip_loss,
                          reconstruction_loss, text_loss)
from mclip.model import (ModelConfig, MotionCLIP, available_configs, create_model,
                         load_model_config, paper_config, sinusoidal_encoding)
from mclip.skeleton import REST_JOINTS

torch.set_num_threads(1)

IDENTITY_6D = torch.tensor([1.0, 0, 0, 0, 1, 0])


def still_features(B=1, T=60) -> torch.Tensor:
    """(B, T, 25, 6): every joint at identity rotation, zero root translation."""
    x = IDENTITY_6D.repeat(B, T, 25, 1).clone()
    x[:, :, 24] = 0.0
    return x


# ------------------------------------------------------------------ model


def test_paper_config_is_the_papers():
    c = paper_config()
    assert (c.enc_layers, c.dec_layers, c.d_model, c.heads, c.ff_size) == (8, 8, 512, 4, 1024)
    assert (c.dropout, c.activation, c.latent_dim, c.backbone) == (0.1, "gelu", 512, "clip")
    assert (c.num_frames, c.njoints, c.nfeats) == (60, 25, 6)
    assert load_model_config("paper") == c      # the shipped JSON says the same


def test_paper_model_shapes():
    model = MotionCLIP(paper_config()).eval()
    assert len(model.encoder.transformer.layers) == 8
    assert len(model.decoder.transformer.layers) == 8
    x = torch.randn(2, 60, 25, 6)
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z)
    assert z.shape == (2, 512) and y.shape == (2, 60, 25, 6)
    assert torch.isfinite(y).all()


def test_default_cpu_model_shapes_and_longer_outputs():
    assert "default-cpu" in available_configs() and "paper" in available_configs()
    model = create_model("default-cpu").eval()
    assert model.cfg.latent_dim == 384 and model.cfg.backbone == "minilm"
    x = torch.randn(2, 60, 25, 6)
    with torch.no_grad():
        y, z = model(x)
        long = model.decode(z, frames=150)
    assert y.shape == (2, 60, 25, 6) and z.shape == (2, 384)
    assert long.shape == (2, 150, 25, 6)
    # The first 60 frames of a longer decode see the same queries (positions 1..60) and
    # the same memory: without causal masking they differ only through self-attention.
    assert torch.isfinite(long).all()


def test_unknown_config_is_a_user_error(tmp_path):
    with pytest.raises(MclipError, match="no such model config"):
        load_model_config("nope")
    bad = tmp_path / "bad.json"
    bad.write_text('{"d_model": 64, "colour": "red"}')
    with pytest.raises(MclipError, match="unknown keys"):
        load_model_config(str(bad))


def test_sinusoidal_encoding_hand_values():
    pe = sinusoidal_encoding(torch.arange(0, 5), 8)
    assert pe.shape == (5, 8)
    for pos in range(5):
        for i in range(4):
            w = 1.0 / 10000 ** (2 * i / 8)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(pos * w), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos * w), abs=1e-6)


def test_decoder_depends_only_on_z():
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64, latent_dim=16)
    model = MotionCLIP(cfg).eval()
    z = torch.randn(3, 16)
    with torch.no_grad():
        a, b = model.decode(z), model.decode(z.flip(0))
        scaled = model.decode(5 * z)
    assert torch.allclose(a, b.flip(0), atol=1e-5)     # batch rows are independent
    assert not torch.allclose(a[0], a[1])              # different z -> different motion
    assert torch.allclose(a, scaled, atol=1e-5)        # z is normalised before decoding


@pytest.mark.parametrize("norm_first", [False, True])
def test_tiny_model_overfits_a_batch(norm_first):
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=64, enc_layers=2, dec_layers=2, heads=4, ff_size=128, dropout=0.0,
                      latent_dim=32, norm_first=norm_first)
    model = MotionCLIP(cfg)
    t = torch.linspace(0, 2 * math.pi, 60)
    x = still_features(4, 60)
    for k in range(4):                                    # four different moving clips
        x[k, :, 1:24, 0:3] += 0.3 * torch.sin(t * (k + 1))[:, None, None]
        x[k, :, 24, 0] = 0.5 * t / (k + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(150):
        pred, z = model(x)
        loss = reconstruction_loss(pred, x)["recon"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


@pytest.mark.slow
def test_pre_ln_decoder_reproduces_a_jump_in_time():
    """The decoder's only clock is its positional queries. Fit one clip whose pelvis rises
    35 cm for half a second (a jump) from a fixed z: the result must follow the bump, not
    sit at its time average. (The post-LN decoder at this size, norm_first off, sat exactly
    there: loss = the constant answer's, height range 0.)"""
    from dataclasses import replace

    torch.manual_seed(0)
    cfg = replace(load_model_config("small-cpu"), enc_layers=1, dropout=0.0, norm_first=True)
    model = MotionCLIP(cfg)
    x = still_features(1, 60)
    t = torch.arange(60) / 30.0
    flight = (t > 0.8) & (t < 1.3)
    x[0, :, 24, 2] = 0.9 + 0.35 * torch.where(flight, torch.sin((t - 0.8) / 0.5 * math.pi), torch.zeros(()))
    z = torch.randn(1, cfg.latent_dim)
    opt = torch.optim.AdamW(model.decoder.parameters(), lr=1e-3)
    for _ in range(300):
        loss = reconstruction_loss(model.decode(z), x)["recon"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        height = model.decode(z)[0, :, 24, 2]
    # the best time-constant answer scores the clip's own variance; ours must beat it
    constant = reconstruction_loss(x.mean(1, keepdim=True).expand_as(x), x)["recon"].item()
    assert loss.item() < constant / 4, (loss.item(), constant)
    assert float(height.max() - height.min()) > 0.25          # the flight is there
    assert 0.8 < float(t[int(height.argmax())]) < 1.3         # and at its time


def test_norm_first_builds_pre_ln_stacks_and_is_off_for_old_checkpoints():
    assert ModelConfig.from_dict({"d_model": 32}).norm_first is False
    model = MotionCLIP(ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64,
                                   latent_dim=16, norm_first=True))
    assert model.decoder.transformer.norm is not None and model.encoder.transformer.norm is not None


# ------------------------------------------------------------------ losses


def test_translation_offset_losses_by_hand():
    """Shift the root 0.1 m along x in every frame: one of 150 numbers per frame is off."""
    target = still_features(2, 10)
    pred = target.clone()
    pred[:, :, 24, 0] += 0.1
    t = reconstruction_loss(pred, target)
    assert t["rot"].item() == pytest.approx(0.01 / 150, rel=1e-5)
    assert t["vel"].item() == pytest.approx(0.0, abs=1e-10)          # a constant offset
    assert t["pos"].item() == pytest.approx(0.01 / 3, rel=1e-5)      # every joint moved 0.1 in x
    w = LossWeights()
    assert t["recon"].item() == pytest.approx(100 * (0.01 / 150 + 0.01 / 3), rel=1e-5)
    assert w.text == 1.0 and w.image == 1.0


def test_velocity_loss_by_hand():
    """Root x drifts 0.1 m per frame in the prediction only."""
    T = 5
    target = still_features(1, T)
    pred = target.clone()
    pred[0, :, 24, 0] = 0.1 * torch.arange(T)
    t = reconstruction_loss(pred, target)
    assert t["vel"].item() == pytest.approx(0.01 / 150, rel=1e-5)
    assert t["rot"].item() == pytest.approx(np.mean((0.1 * np.arange(T)) ** 2) / 150, rel=1e-5)


def test_position_loss_for_a_turned_body_by_hand():
    """Global orientation turned 180 degrees about the body's y axis: every joint j moves
    from rest_j to pelvis + R (rest_j - pelvis), a change of 2*(dx, 0, dz)."""
    target = still_features(1, 3)
    pred = target.clone()
    pred[:, :, 0] = torch.tensor([-1.0, 0, 0, 0, 1, 0])           # columns of diag(-1, 1, -1)
    rel = REST_JOINTS - REST_JOINTS[0]
    expected = np.mean(4 * (rel[:, 0] ** 2 + rel[:, 2] ** 2)) / 3
    assert reconstruction_loss(pred, target)["pos"].item() == pytest.approx(expected, rel=1e-5)


def test_vertices_are_used_when_the_body_has_them():
    from mclip.body import BodyOutput
    from mclip.skeleton import forward_kinematics

    class TwiceBody:  # "vertices" = joints scaled by 2, so the MSE is 4x the joint MSE
        def __call__(self, rotmats, trans):
            j = forward_kinematics(rotmats, trans)
            return BodyOutput(j, 2 * j)

    target = still_features(1, 4)
    pred = target.clone()
    pred[:, :, 24, 2] += 0.2
    joints_only = reconstruction_loss(pred, target)["pos"].item()
    assert body_positions(target, TwiceBody()).shape == (1, 4, 24, 3)
    assert reconstruction_loss(pred, target, TwiceBody())["pos"].item() == pytest.approx(4 * joints_only, rel=1e-5)


def test_cosine_losses_by_hand():
    e = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[1.0, 1.0], [0.0, -3.0]])
    # row 0: 1 - 1/sqrt(2); row 1: 1 - (-1) = 2
    expected = ((1 - 1 / math.sqrt(2)) + 2) / 2
    assert text_loss(e, z).item() == pytest.approx(expected, rel=1e-6)
    assert image_loss(e, z).item() == pytest.approx(expected, rel=1e-6)


def test_total_is_eq_4():
    torch.manual_seed(1)
    x, pred = torch.randn(2, 6, 25, 6), torch.randn(2, 6, 25, 6)
    z, te, ie = torch.randn(2, 8), torch.randn(2, 8), torch.randn(2, 8)
    w = LossWeights(rot=2, vel=3, pos=4, text=0.5, image=0.25)
    t = motionclip_loss(pred, x, z, te, ie, weights=w)
    hand = 2 * t["rot"] + 3 * t["vel"] + 4 * t["pos"] + 0.5 * t["text"] + 0.25 * t["image"]
    assert t["total"].item() == pytest.approx(hand.item(), rel=1e-6)
    no_text = motionclip_loss(pred, x, z, weights=w)
    assert "text" not in no_text and "image" not in no_text
    assert no_text["total"].item() == pytest.approx(t["recon"].item(), rel=1e-6)


def test_scale_latent_feeds_the_decoder_unit_variance_components():
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64, latent_dim=16,
                      scale_latent=True)
    model = MotionCLIP(cfg).eval()
    z = torch.randn(2, 16)
    unit = z / z.norm(dim=-1, keepdim=True)
    with torch.no_grad():
        assert torch.allclose(model.decode(z), model.decoder(unit * 4.0), atol=1e-6)   # sqrt(16)
    # checkpoints written before the option existed decode as they were trained
    old = {k: v for k, v in cfg.to_dict().items() if k != "scale_latent"}
    assert ModelConfig.from_dict(old).scale_latent is False
    assert load_model_config("default-cpu").scale_latent is True


def test_lowpass_keeps_a_gait_and_removes_frame_jitter():
    from mclip.model import lowpass_time

    t = torch.arange(60, dtype=torch.float64) / 30.0                       # 2 s at 30 fps
    gait = torch.sin(2 * math.pi * 1.0 * t) + 0.5 * torch.sin(2 * math.pi * 3.0 * t + 1.0)
    jitter = 0.3 * torch.cos(math.pi * torch.arange(60, dtype=torch.float64))  # 15 Hz, frame to frame
    x = (gait + jitter).reshape(1, 60, 1, 1).float()
    y = lowpass_time(x, 20)[0, :, 0, 0].double()                         # keeps <= 4.75 Hz
    # the 15 Hz jitter is gone and the 1 + 3 Hz gait stays, away from the window's ends
    inner = slice(6, 54)
    assert (y - gait)[inner].abs().max() < 0.08 and (y - gait).abs().mean() < 0.05
    assert (x[0, :, 0, 0].double() - gait).abs().mean() > 0.25
    torch.testing.assert_close(lowpass_time(x, 60), x)


def test_smooth_output_low_passes_every_decoded_length():
    cfg = ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64, latent_dim=16,
                      dropout=0.0, smooth_output=10)
    torch.manual_seed(0)
    model = MotionCLIP(cfg).eval()
    z = torch.randn(2, 16)
    from scipy.fft import dct

    for T, k in ((60, 10), (120, 20)):                  # the same cut-off frequency
        y = model.decode(z, T).detach().double().numpy()                    # (2, T, 25, 6)
        coef = dct(y, type=2, norm="ortho", axis=1)
        # scipy's DCT-II: nothing past the first k cosines, and something in them
        assert np.abs(coef[:, k:]).max() < 1e-4 * np.abs(coef[:, :k]).max()
        assert np.abs(coef[:, 1:k]).max() > 1e-3
    with pytest.raises(MclipError, match="smooth_output must be"):
        ModelConfig(smooth_output=-1)


# ------------------------------------------------------------------ golden outputs


@pytest.mark.parametrize("form", ["paper", "dynamics"])
def test_golden_outputs(form):
    """A tiny model with fixed weights on a fixed input gives the stored latent and
    reconstruction (tests/golden/, written by make_golden.py): any change to the model's
    maths shows here, deliberately or not. Float32 on the CPU, tolerance 1e-5."""
    import importlib.util
    from pathlib import Path

    here = Path(__file__).parent / "golden"
    spec = importlib.util.spec_from_file_location("make_golden", here / "make_golden.py")
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    stored = np.load(here / "tiny_outputs.npz")
    now = golden.outputs(form)
    for key in (f"{form}_z", f"{form}_recon"):
        np.testing.assert_allclose(now[key], stored[key], atol=1e-5, rtol=1e-4, err_msg=key)
