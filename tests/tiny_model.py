"""A tiny MotionCLIP trained in seconds, for the engine and application tests.

Four hand-made actions (walk, sit down, wave, jump) on the SMPL skeleton, a few
variants each (speed, amplitude, phase), 60 frames at 30 fps, canonical (start at the
origin facing -y, z-up). A 1+1 layer transformer (d_model 32) is trained on them for a
few dozen steps with the paper's two losses (feature reconstruction and
1 - cos(z, MiniLM(text))) plus the reconstruction of each clip from its text's
embedding, so text-to-motion works on so little training. That is enough for its latents to separate the four texts,
which lets tests check behaviour (classification ranks, interpolation ends), not only
shapes.
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import torch

from mclip import skeleton
from mclip.motion_io import Motion

TEXTS = {"walk": "walk forward", "sit": "sit down on a chair", "wave": "wave the right hand",
         "jump": "jump up"}
J = skeleton.JOINT_INDEX


def make_clip(action: str, variant: int = 0, frames: int = 60) -> Motion:
    """One procedural clip: poses (T, 24, 3) axis-angle, trans (T, 3), 30 fps, z-up.

    Body-frame axes (SMPL): x = left, y = up, z = forward; so a rotation about +x
    with a negative angle swings a leg forward (hip flexion), about +x positive
    bends a knee backwards.
    """
    rng = np.random.default_rng(zlib.crc32(f"{action}-{variant}".encode()))
    T = frames
    t = np.arange(T) / 30.0
    amp = 1.0 + 0.15 * rng.standard_normal()
    phase = rng.uniform(0, 2 * math.pi)
    poses = np.zeros((T, 24, 3), np.float32)
    poses[:, 0] = skeleton.STAND_AXIS_ANGLE
    trans = np.zeros((T, 3), np.float32)
    if action == "walk":
        w = 2 * math.pi * (1.0 + 0.1 * variant)       # one stride cycle per second
        s = np.sin(w * t + phase)
        poses[:, J["left_hip"], 0] = -0.5 * amp * s
        poses[:, J["right_hip"], 0] = 0.5 * amp * s
        poses[:, J["left_knee"], 0] = 0.6 * amp * np.clip(s, 0, None)
        poses[:, J["right_knee"], 0] = 0.6 * amp * np.clip(-s, 0, None)
        poses[:, J["left_shoulder"], 0] = 0.4 * amp * s
        poses[:, J["right_shoulder"], 0] = -0.4 * amp * s
        poses[:, J["left_shoulder"], 2] = -1.2            # arms down by the sides
        poses[:, J["right_shoulder"], 2] = 1.2
        trans[:, 1] = -1.3 * t                            # forward = world -y
    elif action == "sit":
        k = np.clip(t / (1.0 + 0.1 * variant), 0, 1)       # reach the chair in ~1 s
        k = 0.5 - 0.5 * np.cos(math.pi * k)
        poses[:, J["left_hip"], 0] = poses[:, J["right_hip"], 0] = -1.5 * k * amp
        poses[:, J["left_knee"], 0] = poses[:, J["right_knee"], 0] = 1.5 * k * amp
        poses[:, J["left_shoulder"], 2] = -1.2
        poses[:, J["right_shoulder"], 2] = 1.2
        trans[:, 2] = -0.45 * k
        trans[:, 1] = 0.15 * k
    elif action == "wave":
        w = 2 * math.pi * (1.5 + 0.2 * variant)
        s = np.sin(w * t + phase)
        poses[:, J["right_shoulder"], 2] = -1.2 * amp     # right arm up
        poses[:, J["right_elbow"], 1] = 0.8 + 0.5 * s      # forearm waves
        poses[:, J["left_shoulder"], 2] = -1.2
    elif action == "jump":
        w = 2 * math.pi * (0.9 + 0.1 * variant)
        s = np.sin(w * t + phase)
        crouch = np.clip(-s, 0, None) * amp
        poses[:, J["left_hip"], 0] = poses[:, J["right_hip"], 0] = -0.7 * crouch
        poses[:, J["left_knee"], 0] = poses[:, J["right_knee"], 0] = 1.2 * crouch
        poses[:, J["left_shoulder"], 2] = -1.2 + 0.8 * np.clip(s, 0, None)
        poses[:, J["right_shoulder"], 2] = 1.2 - 0.8 * np.clip(s, 0, None)
        trans[:, 2] = 0.35 * np.clip(s, 0, None) * amp - 0.2 * crouch
    else:
        raise ValueError(action)
    # Stand on the floor: lowest sole of the clip at z = 0 (as the engine's outputs).
    pos = skeleton.joints_from_axis_angle(poses, trans)
    soles = np.concatenate([pos[:, [J["left_ankle"], J["right_ankle"]], 2] - skeleton.ANKLE_HEIGHT,
                            pos[:, [J["left_foot"], J["right_foot"]], 2] - skeleton.FOOT_HEIGHT,
                            pos[..., 2]], axis=1)
    trans[:, 2] -= soles.min()
    return Motion(poses, trans, 30.0)


def training_set(variants: int = 3) -> list[tuple[Motion, str]]:
    return [(make_clip(a, v), TEXTS[a]) for a in TEXTS for v in range(variants)]


def train_tiny_checkpoint(path: Path, steps: int = 200, seed: int = 0) -> Path:
    """Train the tiny model on ``training_set()`` and save it with ``save_checkpoint``."""
    from mclip.backbones import load_backbone
    from mclip.checkpoint import save_checkpoint
    from mclip.model import ModelConfig, MotionCLIP
    from mclip.representation import motion_to_features

    torch.manual_seed(seed)
    cfg = ModelConfig(num_frames=60, d_model=32, enc_layers=1, dec_layers=1, heads=2,
                      ff_size=64, dropout=0.0, latent_dim=384, backbone="minilm")
    model = MotionCLIP(cfg)
    data = training_set()
    x = torch.stack([motion_to_features(m.poses, m.trans) for m, _ in data])  # (N, 60, 25, 6)
    emb = load_backbone("minilm").encode_text([t for _, t in data])            # (N, 384)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        opt.zero_grad()
        rec, z = model(x)
        loss = ((rec - x) ** 2).mean() + (1 - torch.cosine_similarity(z, emb, dim=-1)).mean()
        # Text-to-motion decodes the text embedding itself: teach that path too.
        loss = loss + ((model.decode(emb) - x) ** 2).mean()
        loss.backward()
        opt.step()
    model.eval()
    return save_checkpoint(path, model, cfg, step=steps)


def add_tiny_prior(checkpoint: Path, path: Path, steps: int = 400, seed: int = 0) -> Path:
    """The tiny checkpoint plus a latent sampler (``mclip.prior``, width 64, 2 blocks)
    fitted to its (text latent, motion latent) pairs of ``training_set()``. The tiny
    model gives the variants of a text nearly one latent, so its takes differ little:
    the plumbing is tested here, the variety on the shipped model."""
    from mclip.backbones import load_backbone
    from mclip.checkpoint import load_checkpoint, save_checkpoint
    from mclip.prior import LatentPrior, PriorConfig
    from mclip.representation import motion_to_features

    torch.manual_seed(seed)
    model, cfg, meta = load_checkpoint(checkpoint)
    data = training_set()
    x = torch.stack([motion_to_features(m.poses, m.trans) for m, _ in data])
    with torch.no_grad():
        z = model.encode(x)
        c = model.text_latent(torch.as_tensor(load_backbone("minilm").encode_text([t for _, t in data])))
    pcfg = PriorConfig(latent_dim=cfg.latent_dim, width=64, depth=2, sample_steps=8, guidance=1.5)
    prior = LatentPrior(pcfg)
    opt = torch.optim.AdamW(prior.parameters(), lr=2e-3)
    for _ in range(steps):
        idx = torch.randint(0, len(data), (64,))
        loss = prior.loss(z[idx], c[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return save_checkpoint(path, model, cfg, step=meta["step"], prior=prior.eval(), prior_cfg=pcfg)
