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

Where the shipped configs depart from that (the ``paper`` config keeps it all), because
the paper's form returns the time-average of a motion (a walk with still legs):

- **How the decoder reads z** (``z_pathway="frames"``). Cross-attention over one memory
  token gives it weight 1 for every query, so each layer adds the same vector from z to
  all frames, and the part of a motion that depends on z *and* time (a gait's phase and
  cadence) is out of easy reach. So z also enters every query through its own pathway:
  ``q_t = PE_t + sum_k phi_k(t) (U_k z)``, with ``phi_k`` the first K cosines of a DCT
  over the training window (``time_basis``): z sets a smooth trajectory of query offsets.
  Any T still decodes (past the window the cosines go on, mirroring it).
- **How the encoder reads the frames** (``readout="frames"``): besides the prefix
  token, z gets a linear map of the frame outputs' first K DCT coefficients, so where in
  the window things happen (phase) changes z at first order.
- **Standardised features** (``standardize``): the encoder reads ``(x - mean) / std``
  and the decoder's head writes in those units, with the training data's per-feature mean
  and std stored as buffers. Raw, the root translation (variance ~5 m^2) outweighs every
  rotation feature (<= 0.025) a hundredfold and the gait is a rounding error of z.

The evidence (overfitting probes, ablations) is in ``weights/MODEL_CARD.md``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .config_files import check_fields, config_from_dict, load_config_file, shipped_names
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
    # Decode unit-length z: the text/image losses constrain only z's direction, and at
    # inference the decoder gets unit backbone embeddings; both paths see one kind of input.
    normalize_latent: bool = True
    # Then scale z by sqrt(latent_dim) to unit-variance components, the scale of the
    # decoder's queries (off by default: older checkpoints decode as they were trained).
    scale_latent: bool = False
    # Align z to centred text embeddings, normalize(t - mean of the training texts): the
    # sentence embeddings share a large common direction that the cosine loss otherwise
    # plateaus on. The mean is a buffer; every text -> latent path uses ``text_latent``.
    center_text: bool = False
    # Pre-LN transformer layers instead of the post-LN of the authors' code.
    norm_first: bool = False
    # How z reaches the decoded frames: "memory" (the paper: z is the decoder's one
    # memory token) or "frames" (also a per-frame pathway through the time basis, added
    # to each query; see the module docstring).
    z_pathway: str = "memory"
    # How the encoder reads z out: "token" (the paper: the prefix token's output) or
    # "frames" (plus a linear map of the frame outputs' time-basis coefficients).
    readout: str = "token"
    # K, the number of DCT cosines over the training window that carry z to and from
    # the frames (with z_pathway / readout "frames"); K = 16 resolves up to 4 Hz at 60
    # frames (its shortest period is 8 frames), a sprint's steps.
    time_basis: int = 16
    # Standardise features with the training data's per-feature mean and std (buffers
    # ``feature_mean``, ``feature_std``, set by ``set_feature_stats`` before training).
    standardize: bool = False
    # Keep only the first K DCT cosines over time of the decoded features (0 = off), a
    # low-pass against the decoder's frame-to-frame jitter; K = 20 over 60 frames keeps
    # up to 4.75 Hz, and past the window the cut-off frequency stays the same.
    smooth_output: int = 0

    def __post_init__(self):
        """Every field of the type its default has, and in range: a config read from a
        file (or a checkpoint) is checked here, before any layer is built."""
        check_fields(self, "model config", zero_allowed=("smooth_output",))
        choices = {"z_pathway": ("memory", "frames"), "readout": ("token", "frames"),
                   "activation": ("gelu", "relu")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise MclipError(f"model config: {name} must be {' or '.join(map(repr, allowed))}, "
                                 f"got {getattr(self, name)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise MclipError(f"model config: dropout must be in [0, 1), got {self.dropout}")
        if self.d_model % self.heads:
            raise MclipError(f"model config: d_model {self.d_model} is not a multiple of heads {self.heads}")

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return config_from_dict(cls, d, "model config")

    def to_dict(self) -> dict:
        return asdict(self)


def paper_config() -> ModelConfig:
    """The paper's model as its authors' code trains it: 8+8 layers, d 512, 4 heads,
    feed-forward 1024, dropout 0.1, GELU, latent 512 (CLIP ViT-B/32)."""
    return ModelConfig()


def available_configs() -> list[str]:
    """Names of the configs shipped in ``mclip/configs/*.json``."""
    return shipped_names(CONFIG_DIR)


def load_model_config(name_or_path: str) -> ModelConfig:
    """A shipped config by name (``"paper"``, ``"default-cpu"``) or a JSON file path."""
    return load_config_file(ModelConfig, name_or_path, CONFIG_DIR, "model config")


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


def lowpass_time(x: torch.Tensor, k: int) -> torch.Tensor:
    """x (B, T, ...) -> its projection onto the first ``k`` orthonormal DCT-II cosines
    over its T frames: a smooth trajectory with no frequency above ``(k - 1) / (2 T)``
    cycles per frame. ``k >= T`` returns x."""
    T = x.shape[1]
    if k >= T:
        return x
    basis = time_basis(T, T, k, x.device)
    basis = basis / basis.norm(dim=0, keepdim=True)                    # (T, k), orthonormal
    flat = x.reshape(x.shape[0], T, -1)
    return (basis @ (basis.T @ flat)).reshape(x.shape)


def time_basis(frames: int, window: int, k: int, device=None) -> torch.Tensor:
    """The first ``k`` DCT-II cosines over a window of ``window`` frames, at frames
    ``0..frames-1``: (frames, k), ``phi_j(t) = cos(pi j (t + 1/2) / window)``.

    Over the window they are orthogonal (a smooth trajectory is a few of them); past it
    they go on as cosines, mirroring the window, so any length can be evaluated."""
    t = torch.arange(frames, dtype=torch.float32, device=device)[:, None] + 0.5
    j = torch.arange(k, dtype=torch.float32, device=device)[None, :]
    return torch.cos(math.pi * j * t / window)


class MotionEncoder(nn.Module):
    """E: (B, T, 25, 6) standardised features -> z_p (B, latent_dim)."""

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
        if cfg.readout == "frames":
            # (K * d) time-basis coefficients of the frame outputs -> latent
            self.from_frames = nn.Linear(cfg.time_basis * cfg.d_model, cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        h = self.embed(x.reshape(B, T, -1))                           # (B, T, d)
        h = torch.cat([self.z_tk.expand(B, 1, -1), h], dim=1)          # (B, T+1, d)
        h = h + sinusoidal_encoding(torch.arange(T + 1, device=x.device), h.shape[-1])
        h = self.transformer(self.dropout(h))
        z = self.to_latent(h[:, 0])                                     # (B, latent)
        if self.cfg.readout == "frames":
            phi = time_basis(T, self.cfg.num_frames, self.cfg.time_basis, x.device)  # (T, K)
            coef = torch.einsum("tk,btd->bkd", phi, h[:, 1:]) / T       # (B, K, d)
            z = z + self.from_frames(coef.reshape(B, -1))
        return z


class MotionDecoder(nn.Module):
    """D: z (B, latent_dim) -> (B, T, 25, 6) standardised features, for any T."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.from_latent = nn.Linear(cfg.latent_dim, cfg.d_model)
        if cfg.z_pathway == "frames":
            # z -> K query offsets, one per time-basis cosine
            self.to_queries = nn.Linear(cfg.latent_dim, cfg.time_basis * cfg.d_model)
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
        queries = queries.expand(B, T, -1)
        if self.cfg.z_pathway == "frames":
            K = self.cfg.time_basis
            phi = time_basis(T, self.cfg.num_frames, K, z.device)        # (T, K)
            offsets = self.to_queries(z).reshape(B, K, -1)              # (B, K, d)
            queries = queries + torch.einsum("tk,bkd->btd", phi, offsets)
        h = self.transformer(self.dropout(queries), memory)             # (B, T, d)
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
        if cfg.standardize:
            # set from the training clips before training (``set_feature_stats``); saved
            # with the weights. Identity until then.
            self.register_buffer("feature_mean", torch.zeros(cfg.njoints, cfg.nfeats))
            self.register_buffer("feature_std", torch.ones(cfg.njoints, cfg.nfeats))

    def set_feature_stats(self, features: torch.Tensor, min_std: float = 0.01) -> None:
        """Store the per-feature mean and std over the frames of training clips
        ``(N, T, 25, 6)``; the std is clamped below at ``min_std`` (constant features,
        like row 24's unused half, would otherwise divide by zero)."""
        if not self.cfg.standardize:
            raise ValueError("set_feature_stats: the model config has standardize off")
        flat = features.reshape(-1, self.cfg.njoints, self.cfg.nfeats).double()
        self.feature_mean.copy_(flat.mean(0).float())
        self.feature_std.copy_(flat.std(0).clamp(min=min_std).float())

    @property
    def has_feature_stats(self) -> bool:
        """False for a standardising model whose stats were never set."""
        return not self.cfg.standardize or bool(self.feature_mean.any())

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
        if self.cfg.standardize:
            x = (x - self.feature_mean) / self.feature_std
        return self.encoder(x)

    def decode(self, z: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> (B, frames, 25, 6); frames defaults to the training length."""
        if self.cfg.normalize_latent:
            z = nn.functional.normalize(z, dim=-1, eps=1e-8)
            if self.cfg.scale_latent:
                z = z * math.sqrt(z.shape[-1])
        y = self.decoder(z, frames)
        if self.cfg.smooth_output:
            T = y.shape[1]
            y = lowpass_time(y, max(1, round(self.cfg.smooth_output * T / self.cfg.num_frames)))
        if self.cfg.standardize:
            y = self.feature_mean + self.feature_std * y
        return y

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
