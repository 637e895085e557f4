"""The MotionCLIP auto-encoder (paper section 3, Fig. 3).

A motion is a tensor of features ``x (B, T, 25, 6)``: rows 0..23 are the 24 SMPL joint
rotations in 6D (row 0 = global orientation), row 24 is the root translation
``(tx, ty, tz, 0, 0, 0)`` in metres (see ``mclip.representation``).

- ``MotionEncoder`` E: each frame is flattened (150 numbers) and linearly embedded to
  ``d_model``; a learned prefix token ``z_tk`` is put in front; sinusoidal positional
  encoding is added; a transformer encoder runs over the ``T + 1`` tokens; the first
  output (the prefix token's) is projected to ``latent_dim``: that is ``z_p``.
- ``MotionDecoder`` D: the queries are zeros plus the positional encoding of frames
  ``1..T`` (so any length T works); ``z_p``, projected to ``d_model``, is the only
  memory token (key and value); a transformer decoder runs and a linear head maps each
  frame back to 25 x 6.

``z_p`` lives in the backbone's embedding space (CLIP ViT-B/32: 512, MiniLM: 384), which
is what the text and image losses align it to.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from .errors import MclipError

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class ModelConfig:
    """Shape of the auto-encoder. Defaults are the paper's (see ``paper_config``)."""

    num_frames: int = 60        # training clip length (2 s at 30 fps)
    njoints: int = 25           # 24 rotations + 1 root-translation row
    nfeats: int = 6             # 6D rotation per row
    d_model: int = 512          # transformer width
    enc_layers: int = 8
    dec_layers: int = 8
    heads: int = 4
    ff_size: int = 1024
    dropout: float = 0.1
    activation: str = "gelu"
    latent_dim: int = 512       # = the backbone's embedding size
    backbone: str = "clip"      # "clip" (open_clip ViT-B-32) or "minilm"
    # The text/image losses constrain only the *direction* of z_p (cosine), while at
    # inference the decoder is fed unit-length backbone embeddings. Normalising z
    # before decoding makes both paths see the same kind of input.
    normalize_latent: bool = True
    # Then multiply by sqrt(latent_dim): components of unit variance, the scale of the
    # positional queries. A bare unit vector (components ~ 1/sqrt(D)) reaches the
    # decoder ~20x weaker than its queries, so it learns late to read z. Off by default
    # so checkpoints saved before this option decode exactly as they were trained.
    scale_latent: bool = False
    # Align z_p to *centred* text embeddings: normalize(t - mean of the training texts).
    # Sentence embeddings share a large common direction (MiniLM on our corpus: every
    # text has cosine 0.51 with the mean text), so the paper's cosine loss has a wide
    # plateau where every z_p points at that mean: measured on small-cpu, text loss sat at
    # 0.51 for 1,500 steps and prompts decoded to the same motion. Centring removes the
    # plateau (the mean now scores cosine 0); the loss itself is unchanged. The mean is a
    # buffer saved with the weights, and every text -> latent path goes through
    # ``MotionCLIP.text_latent``, so training and inference agree.
    center_text: bool = False
    # Pre-LN transformer layers (LayerNorm before attention / feed-forward, and once after
    # the stack) instead of the post-LN of the authors' code. The decoder's only source of
    # time is its positional queries; with post-LN its self-attention learned near-uniform
    # weights (entropy ~ log T) that average the frames, and each LayerNorm after that
    # shrank what was left of the per-frame signal (std over time 0.69 -> 0.11 over four
    # layers): decoded motion came out nearly constant in time, jumps without a flight.
    # Pre-LN keeps the queries on a residual path no norm rescales, and fits such a clip.
    # Off by default (the paper's layers); on in default-cpu, the shipped model, whose
    # GPU-trained weights jump clear of the floor. In a 70-minute CPU run of small-cpu it
    # was livelier but scored worse on the harness than post-LN (weights/MODEL_CARD.md).
    norm_first: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"name", "why"})
        if unknown:
            raise MclipError(f"model config: unknown keys {unknown}")
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


def paper_config() -> ModelConfig:
    """The paper's model as its authors' code trains it: 8+8 layers, d 512, 4 heads,
    feed-forward 1024, dropout 0.1, GELU, latent 512 (CLIP ViT-B/32)."""
    return ModelConfig()


def available_configs() -> list[str]:
    """Names of the configs shipped in ``mclip/configs/*.json``."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_model_config(name_or_path: str) -> ModelConfig:
    """A shipped config by name (``"paper"``, ``"default-cpu"``) or a JSON file path."""
    p = Path(name_or_path)
    if not (p.suffix == ".json" and p.exists()):
        p = CONFIG_DIR / f"{name_or_path}.json"
    if not p.exists():
        raise MclipError(
            f"{name_or_path}: no such model config (shipped: {', '.join(available_configs())})")
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MclipError(f"{p}: cannot read model config ({e})") from None
    return ModelConfig.from_dict(data)


def create_model(name_or_path: str | ModelConfig = "default-cpu") -> "MotionCLIP":
    """Build a freshly initialised model from a config name, JSON path or ModelConfig."""
    cfg = name_or_path if isinstance(name_or_path, ModelConfig) else load_model_config(name_or_path)
    return MotionCLIP(cfg)


def sinusoidal_encoding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Standard transformer positional encoding (Vaswani et al.).

    positions: (T,) integer or float positions; returns (T, dim) with
    sin on even and cos on odd channels at wavelengths 2*pi .. 10000*2*pi.
    Computed on the fly so any sequence length works.
    """
    pos = positions.to(torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=positions.device)
                     * (-math.log(10000.0) / dim))
    pe = torch.zeros(positions.shape[0], dim, device=positions.device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class MotionEncoder(nn.Module):
    """E: (B, T, 25, 6) -> z_p (B, latent_dim)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(cfg.njoints * cfg.nfeats, cfg.d_model)
        self.z_tk = nn.Parameter(torch.randn(cfg.d_model) * 0.02)  # learned prefix token
        self.dropout = nn.Dropout(cfg.dropout)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model, cfg.heads, cfg.ff_size, cfg.dropout, cfg.activation, batch_first=True,
            norm_first=cfg.norm_first)
        self.transformer = nn.TransformerEncoder(
            layer, cfg.enc_layers, norm=nn.LayerNorm(cfg.d_model) if cfg.norm_first else None,
            enable_nested_tensor=False)
        self.to_latent = nn.Linear(cfg.d_model, cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        h = self.embed(x.reshape(B, T, -1))                           # (B, T, d)
        h = torch.cat([self.z_tk.expand(B, 1, -1), h], dim=1)          # (B, T+1, d)
        h = h + sinusoidal_encoding(torch.arange(T + 1, device=x.device), h.shape[-1])
        h = self.transformer(self.dropout(h))
        return self.to_latent(h[:, 0])                                  # (B, latent)


class MotionDecoder(nn.Module):
    """D: z (B, latent_dim) -> (B, T, 25, 6) for any T."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.from_latent = nn.Linear(cfg.latent_dim, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)
        layer = nn.TransformerDecoderLayer(
            cfg.d_model, cfg.heads, cfg.ff_size, cfg.dropout, cfg.activation, batch_first=True,
            norm_first=cfg.norm_first)
        self.transformer = nn.TransformerDecoder(
            layer, cfg.dec_layers, norm=nn.LayerNorm(cfg.d_model) if cfg.norm_first else None)
        self.head = nn.Linear(cfg.d_model, cfg.njoints * cfg.nfeats)

    def forward(self, z: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        T = frames or self.cfg.num_frames
        B = z.shape[0]
        memory = self.from_latent(z)[:, None, :]                        # (B, 1, d)
        # Queries: zeros + positional encoding of frames 1..T.
        queries = sinusoidal_encoding(torch.arange(1, T + 1, device=z.device), self.cfg.d_model)
        queries = self.dropout(queries.expand(B, T, -1))
        h = self.transformer(queries, memory)                           # (B, T, d)
        return self.head(h).reshape(B, T, self.cfg.njoints, self.cfg.nfeats)


class MotionCLIP(nn.Module):
    """The auto-encoder: ``encode`` motion to the backbone's space, ``decode`` back."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = MotionEncoder(cfg)
        self.decoder = MotionDecoder(cfg)
        if cfg.center_text:
            # set from the training texts before training (``set_text_mean``); saved with
            # the weights
            self.register_buffer("text_mean", torch.zeros(cfg.latent_dim))

    def set_text_mean(self, embeddings: torch.Tensor) -> None:
        """Store the mean of the training texts' backbone embeddings (N, D)."""
        if not self.cfg.center_text:
            raise ValueError("set_text_mean: the model config has center_text off")
        self.text_mean.copy_(embeddings.float().mean(0).to(self.text_mean.device))

    def text_latent(self, embedding: torch.Tensor) -> torch.Tensor:
        """Backbone text embeddings (B, D) -> unit latent directions (B, D): what z_p is
        aligned to in training and what the decoder is fed at inference (paper 4.2).
        ``normalize(e - text_mean)`` with ``center_text``, else ``normalize(e)``."""
        e = embedding.float()
        if self.cfg.center_text:
            e = e - self.text_mean.to(e.device)
        return nn.functional.normalize(e, dim=-1, eps=1e-8)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, 25, 6) -> z_p (B, latent_dim), not normalised (the cosine losses
        see its direction; ``decode`` normalises when the config says so)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> (B, frames, 25, 6); frames defaults to the training length."""
        if self.cfg.normalize_latent:
            z = nn.functional.normalize(z, dim=-1, eps=1e-8)
            if self.cfg.scale_latent:
                z = z * math.sqrt(z.shape[-1])
        return self.decoder(z, frames)

    def forward(self, x: torch.Tensor, text_z: torch.Tensor | None = None):
        """x (B, T, 25, 6) -> (reconstruction (B, T, 25, 6), z_p (B, latent_dim)).

        With ``text_z`` (B, latent_dim) (``text_latent`` of the clips' texts) also the
        decoding of the text: ``(reconstruction, z_p, text reconstruction (B, T, 25, 6))``,
        in one call so that DDP sees every use of the decoder."""
        z = self.encode(x)
        if text_z is None:
            return self.decode(z, x.shape[1]), z
        both = self.decode(torch.cat([z, text_z.to(z.dtype)]), x.shape[1])
        return both[: x.shape[0]], z, both[x.shape[0]:]
