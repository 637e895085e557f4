"""The latent sampler (beyond the paper): a text-conditioned generative model of z.

Paper 4.2 decodes a prompt's one latent, its unit direction in the backbone's space.
Many motions share a text (a walk at any phase, speed or leading foot), so whatever maps
a text to *one* latent returns their average. Instead, sample: a conditional
flow-matching model (rectified flow, Lipman et al. 2023; Liu et al. 2023) over the
auto-encoder's unit motion latents, given the text's latent direction.

- Data: ``x1 = sqrt(D) * normalize(E(motion))`` (components of unit variance), paired
  with ``c = MotionCLIP.text_latent(text)`` for the clip's text.
- Path: ``x_t = (1 - t) x0 + t x1`` with ``x0 ~ N(0, I)``. The network predicts the
  clean latent, ``f(x_t, t, c) ~ x1`` (MSE), and the velocity follows as
  ``(f - x_t) / (1 - t)``. Predicting the data rather than the velocity matters here:
  the latents fill a thin set of a 384-d space, and a velocity network's error spreads
  over all 384 directions (tiny-model probe: samples reached cosine 0.74 with the
  nearest training latent, against 0.9996 predicting x1; see Li & He 2025, "Back to
  Basics: Let Denoising Generative Models Denoise").
- A share ``cond_dropout`` of the training pairs get the learned null condition instead
  of c, so one network gives both the conditional and the unconditional prediction:
  classifier-free guidance ``f = f_null + w (f_c - f_null)`` (Ho & Salimans 2022).
- Sampling: Euler steps from ``t = 0`` (noise scaled by a temperature) to 1; the last
  step lands on the guided prediction, whose direction is the latent the decoder reads.
- Network: an MLP of residual blocks, each LayerNorm -> shift/scale/gate from the
  condition (t's sinusoidal embedding + a map of c, as DiT's adaLN-zero) -> MLP.
  Small on purpose: it must add under 10 ms a prompt on one CPU core.

``PriorConfig`` is stored in the checkpoint beside the auto-encoder's (keys
``prior_config`` and ``prior``); ``mclip train --stage prior`` trains it. Shipped
configs: ``mclip/configs/prior/*.json``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .config_files import check_fields, config_from_dict, load_config_file
from .errors import MclipError

CONFIG_DIR = Path(__file__).parent / "configs" / "prior"


@dataclass
class PriorConfig:
    """Shape of the latent sampler and its sampling defaults."""

    latent_dim: int = 384         # = the auto-encoder's latent (and the text latent)
    width: int = 384
    depth: int = 4                # residual blocks
    ff_mult: int = 2              # each block's hidden size = ff_mult * width
    cond_dropout: float = 0.1     # share of training pairs with the null condition
    sample_steps: int = 16        # Euler steps a sample takes by default
    guidance: float = 2.0         # default classifier-free guidance scale
    temperature: float = 1.0      # default scale of the starting noise
    # Training times t = u ** time_power (u uniform) and sampling times (i / steps) **
    # time_power: > 1 puts both near the noise end, where a take's mode is decided (in
    # 384-d the data direction stands out of the noise already at small t).
    time_power: float = 1.0
    # Training conditions are c + cond_noise * N(0, I), renormalised; sampling reads c as
    # it is. Texts of a corpus are nearly all distinct (one clip each), so without noise
    # p(z | c) is one point per text and every take of a prompt is the same; with it the
    # sampler learns the spread of the motions of nearby texts.
    cond_noise: float = 0.0
    # Model whitened latents: x1 = (z - mean) W with W from the training latents'
    # covariance (eigenvalues floored at whiten_floor times the largest). 99 % of the
    # latents' variance lies in 64 of 384 directions, and with the plain x1 = sqrt(D) z
    # the MSE spends itself on those; a gait's phase sits in the small ones.
    whiten: bool = False
    whiten_floor: float = 1e-4

    def __post_init__(self):
        check_fields(self, "prior config")
        if not 0.0 <= self.cond_dropout < 1.0:
            raise MclipError(f"prior config: cond_dropout must be in [0, 1), got {self.cond_dropout}")
        if (self.guidance < 0 or self.temperature < 0 or self.time_power <= 0 or self.cond_noise < 0
                or not 0 < self.whiten_floor < 1):
            raise MclipError("prior config: guidance, temperature and cond_noise must be >= 0, "
                             "time_power > 0, whiten_floor in (0, 1)")

    @classmethod
    def from_dict(cls, d: dict) -> "PriorConfig":
        return config_from_dict(cls, d, "prior config")

    def to_dict(self) -> dict:
        return asdict(self)


def load_prior_config(name_or_path: str) -> PriorConfig:
    """A shipped sampler config by name (``"default"``: ``mclip/configs/prior/``) or a
    JSON file path."""
    return load_config_file(PriorConfig, name_or_path, CONFIG_DIR, "prior config")


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """t (B,) in [0, 1] -> (B, dim) sinusoids of 1000 t, periods 2 pi .. 2000 pi (DDPM-style)."""
    half = dim // 2
    freq = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    a = t.float()[:, None] * 1000.0 * freq[None]                       # (B, half)
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)


class Block(nn.Module):
    """x + gate * MLP(LayerNorm(x) * (1 + scale) + shift), modulation from the condition;
    the modulation starts at zero, so each block starts as the identity (adaLN-zero)."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.SiLU(), nn.Linear(hidden, width))
        self.modulation = nn.Linear(width, 3 * width)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(cond).chunk(3, dim=-1)
        return x + gate * self.mlp(self.norm(x) * (1 + scale) + shift)


class LatentPrior(nn.Module):
    """f(x_t (B, D), t (B,), c (B, D) or None) -> predicted clean latent x1 (B, D), in
    units where latents have norm sqrt(D). See the module docstring."""

    def __init__(self, cfg: PriorConfig):
        super().__init__()
        self.cfg = cfg
        w, d = cfg.width, cfg.latent_dim
        self.inp = nn.Linear(d, w)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.text = nn.Linear(d, w)
        self.null = nn.Parameter(torch.zeros(d))      # the "no text" condition
        self.blocks = nn.ModuleList(Block(w, cfg.ff_mult * w) for _ in range(cfg.depth))
        self.out_norm = nn.LayerNorm(w, elementwise_affine=False)
        self.out = nn.Linear(w, d)
        if cfg.whiten:   # set from the training latents (``set_latent_stats``), saved with the weights
            self.register_buffer("latent_mean", torch.zeros(d))
            self.register_buffer("to_white", torch.eye(d) * math.sqrt(d))
            self.register_buffer("from_white", torch.eye(d) / math.sqrt(d))

    def set_latent_stats(self, z: torch.Tensor) -> None:
        """Whitening from training latents z (N, D): their unit directions' mean and
        covariance; eigenvalues below ``whiten_floor`` times the largest are raised to it."""
        u = nn.functional.normalize(z.double(), dim=-1)
        mean = u.mean(0)
        ev, V = torch.linalg.eigh(torch.cov((u - mean).T))
        sd = ev.clamp(min=float(ev.max()) * self.cfg.whiten_floor).sqrt()
        self.latent_mean.copy_(mean.float())
        self.to_white.copy_((V / sd).float())            # x = (u - mean) @ to_white
        self.from_white.copy_((V * sd).T.float())        # u = x @ from_white + mean

    def to_model_space(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) latents -> x1, the points the flow models."""
        u = nn.functional.normalize(z.float(), dim=-1)
        if self.cfg.whiten:
            return (u - self.latent_mean) @ self.to_white
        return u * math.sqrt(u.shape[-1])

    def from_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) flow samples -> unit latents."""
        if self.cfg.whiten:
            x = x @ self.from_white + self.latent_mean
        return nn.functional.normalize(x, dim=-1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if c is None:
            c = self.null.expand(x.shape[0], -1)
        cond = nn.functional.silu(self.time(time_embedding(t, self.cfg.width)) + self.text(c))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, cond)
        return self.out(self.out_norm(h))

    # ------------------------------------------------------------------ training

    def loss(self, z: torch.Tensor, c: torch.Tensor, generator: torch.Generator | None = None
             ) -> torch.Tensor:
        """Flow-matching loss of a batch: z (B, D) motion latents (any length, only the
        direction counts), c (B, D) their texts' unit latents. A ``cond_dropout`` share
        of rows is trained with the null condition."""
        B, D = z.shape
        dev = z.device
        x1 = self.to_model_space(z)
        x0 = torch.randn(B, D, generator=generator).to(dev)
        t = torch.rand(B, generator=generator).to(dev) ** self.cfg.time_power
        drop = torch.rand(B, generator=generator).to(dev) < self.cfg.cond_dropout
        c = c.float()
        if self.cfg.cond_noise > 0:
            c = nn.functional.normalize(c + self.cfg.cond_noise * torch.randn(B, D, generator=generator).to(dev), dim=-1)
        c = torch.where(drop[:, None], self.null.expand(B, -1), c)
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        return ((self(xt, t, c) - x1) ** 2).mean()

    # ------------------------------------------------------------------ sampling

    @torch.no_grad()
    def sample(self, c: torch.Tensor, noise: torch.Tensor, steps: int | None = None,
               guidance: float | None = None) -> torch.Tensor:
        """c (B, D) text latents, noise (B, D) standard normal draws (already scaled by
        the temperature) -> (B, D) unit motion latents. Deterministic given the noise."""
        steps = self.cfg.sample_steps if steps is None else int(steps)
        w = self.cfg.guidance if guidance is None else float(guidance)
        if steps < 1:
            raise MclipError(f"sampler steps: must be at least 1, got {steps}")
        B = c.shape[0]
        x = noise.to(c.device, torch.float32)
        c = c.float()
        both = torch.cat([c, self.null.expand(B, -1)]) if w != 1.0 else c
        grid = [(i / steps) ** self.cfg.time_power for i in range(steps + 1)]
        for i in range(steps):
            t = torch.full((both.shape[0],), grid[i], device=c.device)
            xx = torch.cat([x, x]) if w != 1.0 else x
            f = self(xx, t, both)
            if w != 1.0:
                f = f[B:] + w * (f[:B] - f[B:])
            # Euler step of dx/dt = (f - x) / (1 - t) from grid[i] to grid[i + 1]
            x = x + (f - x) * (grid[i + 1] - grid[i]) / (1 - grid[i])
        return self.from_model_space(x)
