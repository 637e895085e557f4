"""The auto-encoder keeps a motion's dynamics: a walk's legs step after reconstruction.

The paper's decoder (z as its one memory token, raw features) returns a walk's
time-average: the pelvis travels, the legs stand still. The shipped configs give every
frame its own pathway from z, read every frame into z and standardise the features
(``mclip.model`` docstring). Here a small model of each kind overfits a handful of
corpus walk clips, trained the same way, and the walk's ankle speed (relative to the
pelvis) after reconstruction is compared with the input's: the shipped form keeps it,
the paper's form, at the same budget, does not. So the test measures the thing.
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from mclip.eval.metrics import foot_speed
from mclip.losses import reconstruction_loss
from mclip.model import MotionCLIP, load_model_config, time_basis
from mclip.representation import from_features, motion_to_features
from mclip.skeleton import forward_kinematics

STEPS = 300


@pytest.fixture(scope="module")
def walks() -> torch.Tensor:
    """Eight corpus walks (random gait phase, speed and stride), (8, 60, 25, 6)."""
    from mclip.data.synth.compose import action_clips

    poses, trans, _ = action_clips("walk", 8, seed=0)
    return motion_to_features(poses, trans)


def small(name: str = "default-cpu", **changes):
    """The named config at a test's size: d 64, 1+1 layers, no dropout."""
    cfg = load_model_config(name)
    return dataclasses.replace(cfg, d_model=64, enc_layers=1, dec_layers=1, ff_size=128,
                               dropout=0.0, **changes)


def joints(x: torch.Tensor) -> torch.Tensor:
    R, t = from_features(x)
    return forward_kinematics(R, t)


def overfit(cfg, x: torch.Tensor, steps: int = STEPS) -> dict:
    """Train on ``x`` with the paper's reconstruction loss (one thread, seed 0) and
    return the reconstruction's feet speed over the input's and the ankle R^2 (share of
    the pelvis-relative ankle trajectories' within-clip variance explained: 0 = legs held
    at each clip's mean pose), and the model."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = MotionCLIP(cfg)
        if cfg.standardize:
            model.set_feature_stats(x)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for _ in range(steps):
            pred, _ = model(x)
            loss = reconstruction_loss(pred, x)["recon"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred, _ = model(x)
    finally:
        torch.set_num_threads(threads)
    j, j_hat = joints(x), joints(pred)
    rel, rel_hat = (a[..., (7, 8), :] - a[..., :1, :] for a in (j, j_hat))
    r2 = 1 - float(((rel_hat - rel) ** 2).sum() / ((rel - rel.mean(1, keepdim=True)) ** 2).sum())
    return {"foot_ratio": float(foot_speed(j_hat).mean() / foot_speed(j).mean()), "ankle_r2": r2,
            "model": model}


def test_walks_are_a_fair_probe(walks):
    speed = foot_speed(joints(walks))
    assert (speed > 0.8).all(), speed          # every clip really steps (m/s)


@pytest.mark.slow
def test_shipped_form_keeps_a_walks_steps(walks):
    cfg = small()
    assert (cfg.z_pathway, cfg.readout, cfg.standardize) == ("frames", "frames", True)
    got = overfit(cfg, walks)
    assert got["foot_ratio"] >= 0.8 and got["ankle_r2"] >= 0.8, got


@pytest.mark.slow
def test_papers_form_freezes_the_legs_at_the_same_budget(walks):
    got = overfit(small("paper", latent_dim=384, backbone="minilm"), walks)
    assert got["foot_ratio"] < 0.8 and got["ankle_r2"] < 0.5, got


class _NoText:
    """The engine's backbone slot, unused by ``reconstruct``."""

    name, dim, identity, has_image = "minilm", 384, "none", False

    def encode_text(self, texts):
        raise AssertionError("reconstruct needs no text")


@pytest.mark.slow
def test_engine_reconstruct_keeps_the_steps_of_a_longer_walk(tmp_path):
    """The user's path: a 3 s walk file through ``Engine.reconstruct`` (2 s windows 1 s
    apart, decoded and cross-faded) still steps, as fast as the input."""
    from mclip import Engine
    from mclip.checkpoint import save_checkpoint
    from mclip.data.synth.compose import action_clips
    from mclip.motion_io import Motion, save_motion

    poses, trans, _ = action_clips("walk", 4, seed=1, frames=90)
    windows = torch.cat([motion_to_features(poses[:, s:s + 60], trans[:, s:s + 60]) for s in (0, 30)])
    cfg = small()
    got = overfit(cfg, windows, steps=400)
    ckpt = save_checkpoint(tmp_path / "walks.pt", got["model"], cfg)
    eng = Engine(ckpt, device="cpu", backbone=_NoText())
    for i in range(2):
        save_motion(Motion(poses[i], trans[i], 30.0), tmp_path / f"walk{i}.npz")
        out = eng.reconstruct(tmp_path / f"walk{i}.npz")
        assert out.num_frames == 90
        ratio = foot_speed(torch.as_tensor(out.joints())[None]) / foot_speed(
            torch.as_tensor(Motion(poses[i], trans[i], 30.0).joints())[None])
        assert 0.8 <= ratio.item() <= 1.25, ratio


def test_time_basis_is_the_dct():
    phi = time_basis(60, 60, 5)
    gram = phi.T @ phi                          # orthogonal over the window
    assert torch.allclose(gram, torch.diag(torch.tensor([60.0] + [30.0] * 4)), atol=1e-3)
    assert phi[7, 2].item() == pytest.approx(math.cos(math.pi * 2 * 7.5 / 60), abs=1e-6)
    longer = time_basis(120, 60, 5)             # past the window: the cosines mirror it
    assert torch.allclose(longer[60:], phi.flip(0), atol=1e-5)


def test_standardised_features_round_trip(walks):
    model = MotionCLIP(small())
    model.set_feature_stats(walks)
    flat = walks.reshape(-1, 25, 6)
    assert torch.allclose(model.feature_mean, flat.mean(0), atol=1e-5)
    varying = flat.std(0) > 0.01
    assert torch.allclose(model.feature_std[varying], flat.std(0)[varying], rtol=1e-4)
    assert (model.feature_std[~varying] == 0.01).all()      # constant rows: clamped
    # a decoder whose head writes zeros decodes to the data's mean, in real units
    torch.nn.init.zeros_(model.decoder.head.weight)
    torch.nn.init.zeros_(model.decoder.head.bias)
    with torch.no_grad():
        out = model.decode(torch.randn(2, 384))
    assert torch.allclose(out, model.feature_mean.expand_as(out))
    # the encoder reads standardised features: shifting the stats with the input is a no-op
    model.eval()
    with torch.no_grad():
        z = model.encode(walks[:2])
        model.feature_mean += 1.0
        assert torch.allclose(model.encode(walks[:2] + 1.0), z, atol=1e-4)


def test_any_length_decodes():
    model = MotionCLIP(small()).eval()
    with torch.no_grad():
        z = torch.randn(2, 384)
        assert model.decode(z, 150).shape == (2, 150, 25, 6)
        assert model.encode(torch.randn(2, 45, 25, 6)).shape == (2, 384)
