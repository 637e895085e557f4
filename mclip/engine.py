"""The engine: one loaded model + text backbone serving every application.

``Engine(weights=None, device=None)`` loads a checkpoint and the text backbone the
checkpoint was trained against, once, and then answers:

- ``text2motion(prompts)``: text -> backbone embedding -> a latent -> decoder -> motion:
  sampled from the checkpoint's latent sampler (``mclip.prior``) when it has one, else
  the prompt's own direction (paper 4.2, ``sampler="direct"``);
- ``interpolate(a, b, steps)``: evenly spaced latents between two motions/texts (4.3);
- ``edit(motion, add=[...], sub=[...])``: latent arithmetic on each window (4.4);
- ``compose(upper, lower)``: upper body of one motion on the lower body of another;
- ``classify(motion, labels)``: cosine of the motion latent to label embeddings (4.4);
- ``encode(items)`` and ``search(query, library)``: latents, and text search over files.

It is also the Python API::

    from mclip import Engine
    eng = Engine()                                    # weights/mclip-default.pt
    walk = eng.text2motion(["a person walks forward"])[0]   # a motion_io.Motion

Conventions (see docs/ARCHITECTURE.md): motions are ``motion_io.Motion`` (axis-angle
poses (T, 24, 3), trans (T, 3), metres, z-up world, 30 fps); latents are unit vectors
(N, D) in the backbone's embedding space (D = 384 for MiniLM, 512 for CLIP). Only their
direction matters: the text loss is a cosine and the decoder normalises its input.

Inputs of any length are cut into 60-frame windows 30 frames apart
(``mclip.windows``); each window is canonicalised (first frame faces -y, pelvis over
the origin) exactly as in training, encoded, and -- for edits -- decoded, moved back
where it came from and cross-faded into its neighbours. A motion's single latent (for
encode, interpolate, search) is the mean direction of its windows' latents.

Joint-position inputs (``.npy``) are turned into rotations by inverse kinematics
(``mclip.ik``) first.
"""
from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Callable, Sequence, Union

import numpy as np
import torch

from . import skeleton, windows
from .errors import MclipError
from .motion_io import FPS, MOTION_EXTENSIONS, Motion, load_joints, load_motion, resample
from .representation import canonicalize, from_features, to_features
from .caches import DiskTexts, LatentCache
from .resolve import (check_prompts, default_weights_path, is_motion_ref,  # noqa: F401
                      load_labels, resolve_device, resolve_weights)
from .results import (CLIP_TEMPERATURE, Classification, LabelScore, SearchResult,  # noqa: F401
                      WindowScores, classify_temperature, label_set_key)

MotionLike = Union[Motion, str, os.PathLike]
"""A Motion, or the path of a .npz / .bvh motion or .npy joints file."""

DECODE_BATCH = 64
EXTEND_MODES = ("loop", "extrapolate")
SAMPLERS = ("auto", "prior", "direct")
"""text2motion's latents: "prior" samples the checkpoint's latent sampler, "direct" uses
the prompt's own direction (paper 4.2), "auto" the sampler when the checkpoint has one."""
LOOP_OVERLAP = 10
"""Frames of cross-fade between repeats when a generated motion is longer than a clip."""


# ------------------------------------------------------------------ pure latent maths


def interpolate_latents(za: torch.Tensor, zb: torch.Tensor, steps: int, slerp: bool = False
                        ) -> torch.Tensor:
    """``steps`` evenly spaced latents from za to zb, both ends included: (D,) x2 -> (steps, D).

    Linear: (1 - t) za + t zb. Slerp: the direction moves along the great circle at
    constant angular speed and the norm is interpolated linearly, so unit inputs give
    unit outputs (linear interpolation cuts the corner: shorter vectors mid-way).
    """
    if steps < 2:
        raise MclipError(f"--steps {steps}: need at least 2 (the two ends)")
    t = torch.linspace(0.0, 1.0, steps, dtype=za.dtype, device=za.device)[:, None]
    if not slerp:
        return (1 - t) * za + t * zb
    na, nb = za.norm(), zb.norm()
    ua, ub = za / na.clamp(min=1e-12), zb / nb.clamp(min=1e-12)
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if float(omega) < 1e-5:              # same direction: nothing to turn
        direction = ua.expand(steps, -1)
    else:
        so = torch.sin(omega)
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so
    return direction * ((1 - t) * na + t * nb)


def ground_offset(joints: torch.Tensor) -> torch.Tensor:
    """Height of the lowest sole over a clip: (..., T, 24, 3) -> (...) metres.

    Ankle and foot joints sit above the sole (``skeleton.ANKLE_HEIGHT``/``FOOT_HEIGHT``);
    any other joint counts at its own height (a hand on the floor). Subtracting this
    from trans z puts the lowest contact of the whole clip on z = 0.
    """
    lift = torch.zeros(skeleton.NUM_JOINTS, dtype=joints.dtype, device=joints.device)
    for name, h in (("left_ankle", skeleton.ANKLE_HEIGHT), ("right_ankle", skeleton.ANKLE_HEIGHT),
                    ("left_foot", skeleton.FOOT_HEIGHT), ("right_foot", skeleton.FOOT_HEIGHT)):
        lift[skeleton.JOINT_INDEX[name]] = h
    return (joints[..., 2] - lift).amin(dim=(-1, -2))


# ------------------------------------------------------------------ results


















# ------------------------------------------------------------------ the engine


class Engine:
    """A loaded MotionCLIP model and its text backbone. See the module docstring."""

    def __init__(self, weights: str | os.PathLike | None = None,
                 device: str | torch.device | None = None, backbone=None):
        """weights: checkpoint path (default ``default_weights_path()``); device: "cpu",
        "cuda"... (default CUDA when present); backbone: an already loaded backbone
        object (tests, or to share one between engines), else the checkpoint's own."""
        from .checkpoint import load_checkpoint

        self.weights_path = resolve_weights(weights)
        self.device = resolve_device(device)
        self.model, self.config, self.meta = load_checkpoint(self.weights_path, self.device)
        self.model.eval()
        from .checkpoint import load_prior

        self.prior = load_prior(self.meta, self.weights_path, self.device)   # None: direct only
        self.classify_temperature = classify_temperature(self.meta, self.weights_path)
        # The text backbone loads on first use (``backbone``): commands whose inputs are
        # all motions (encode, edit --upper/--lower, reconstruct) never pay for it.
        self._backbone = None
        if backbone is not None:
            self._check_backbone(backbone)
            self._backbone = backbone
        self.frames = int(self.config.num_frames)
        self._rest0_xy = torch.as_tensor(skeleton.REST_JOINTS[0, :2], dtype=torch.float32)
        self._text_cache: dict[str, torch.Tensor] = {}
        self._disk_texts = DiskTexts(self)           # texts embedded before, read from disk
        self._checkpoint_id: str | None = None

    def _check_backbone(self, backbone) -> None:
        if int(backbone.dim) != int(self.config.latent_dim):
            raise MclipError(
                f"{self.weights_path}: latent size {self.config.latent_dim} does not match "
                f"backbone '{backbone.name}' ({backbone.dim})")

    @property
    def backbone(self):
        """The checkpoint's text backbone, loaded on first use (one instance per process
        and device, ``backbones.load_backbone``)."""
        if self._backbone is None:
            from .backbones import load_backbone

            backbone = load_backbone(self.config.backbone, self.device)
            self._check_backbone(backbone)
            self._backbone = backbone
        return self._backbone

    def __repr__(self) -> str:
        return (f"Engine(weights={str(self.weights_path)!r}, device={str(self.device)!r}, "
                f"backbone={self.config.backbone!r}, latent={self.config.latent_dim})")

    @property
    def checkpoint_id(self) -> str:
        """sha256 of the checkpoint file (computed once): keys the search cache."""
        if self._checkpoint_id is None:
            from .checkpoint import sha256_of

            self._checkpoint_id = sha256_of(self.weights_path)
        return self._checkpoint_id

    # -------------------------------------------------------------- texts

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(N,) texts -> (N, D) unit latent directions on the engine's device (memoised):
        the backbone's embeddings as the model reads them (``MotionCLIP.text_latent``)."""
        texts = check_prompts(texts)
        todo = sorted({t for t in texts if t not in self._text_cache})
        if todo:
            with torch.no_grad():
                raw = self._disk_texts.get(todo)
                emb = self.model.text_latent(torch.as_tensor(raw).float().to(self.device))
            for t, e in zip(todo, emb):
                self._text_cache[t] = e
        return torch.stack([self._text_cache[t] for t in texts])

    # -------------------------------------------------------------- motions in

    def load(self, item: MotionLike) -> Motion:
        """A Motion at 30 fps from a Motion or a file. ``.npy`` joints are fitted by IK."""
        if isinstance(item, Motion):
            return item if abs(item.fps - FPS) < 1e-6 else resample(item, FPS)
        p = Path(item)
        if p.suffix.lower() == ".npy":
            from .ik import fit_motion

            return fit_motion(load_joints(p), source=str(p))[0]
        return load_motion(p)

    def _windows(self, motion: Motion):
        """Canonicalised windows of a motion and how to put each back.

        returns (plan, features (W, 60, 25, 6), back: list of (R, shift) moves from
        each canonical window to the input's world frame).
        """
        plan = windows.plan_windows(motion.num_frames, self.frames, windows.HOP)
        R = motion.rotmats()
        tr = torch.from_numpy(motion.trans)
        Rw, tw = windows.cut_windows(R, plan), windows.cut_windows(tr, plan)
        Rc, tc = canonicalize(Rw, tw)
        back = [windows.rigid_between(Rc[i, 0, 0], tc[i, 0], Rw[i, 0, 0], tw[i, 0])
                for i in range(len(plan.starts))]
        return plan, to_features(Rc, tc), back

    def window_latents(self, motion: MotionLike):
        """(plan, (W, D) unit latents of the motion's windows)."""
        m = self.load(motion)
        plan, feats, _ = self._windows(m)
        return plan, torch.nn.functional.normalize(self._encode_features(feats), dim=-1)

    def _encode_features(self, feats: torch.Tensor) -> torch.Tensor:
        """(W, 60, 25, 6) -> (W, D) raw encoder outputs (not normalised: a model trained
        with ``normalize_latent=False`` decodes them as they are)."""
        out = []
        with torch.no_grad():
            for i in range(0, feats.shape[0], DECODE_BATCH):
                out.append(self.model.encode(feats[i:i + DECODE_BATCH].to(self.device)).float())
        return torch.cat(out, dim=0)

    def motion_latent(self, motion: MotionLike) -> torch.Tensor:
        """(D,) unit latent of a whole motion: the mean direction of its windows."""
        _, z = self.window_latents(motion)
        z = windows.mean_direction(z)
        if not torch.isfinite(z).all():   # nothing non-finite is written, ranked or shown
            name = "the motion" if isinstance(motion, Motion) else str(motion)
            raise MclipError(f"{name}: encodes to NaN or infinite values")
        return z

    # -------------------------------------------------------------- motions out

    def _decode_raw(self, z: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) -> (rotmats (B, frames, 24, 3, 3), trans (B, frames, 3)) on the CPU."""
        Rs, ts = [], []
        with torch.no_grad():
            for i in range(0, z.shape[0], DECODE_BATCH):
                x = self.model.decode(z[i:i + DECODE_BATCH].to(self.device), frames=frames)
                R, t = from_features(x.float().cpu())
                # Training clips are canonical (first-frame pelvis over the origin); make
                # the decoded start exact so a window put back lands where it came from.
                # pelvis = REST_JOINTS[0] + trans (smplx), so trans_xy(0) = -rest0_xy.
                t = t.clone()
                t[..., :2] -= t[..., :1, :2].clone() + self._rest0_xy
                Rs.append(R)
                ts.append(t)
        return torch.cat(Rs), torch.cat(ts)

    @staticmethod
    def _grounded(R: torch.Tensor, t: torch.Tensor) -> Motion:
        """One clip (T, 24, 3, 3), (T, 3) -> Motion with its lowest sole on z = 0."""
        from .motion_io import motion_from_rotmats

        with torch.no_grad():
            floor = ground_offset(skeleton.forward_kinematics(R, t))
        t = t.clone()
        t[:, 2] -= floor
        return motion_from_rotmats(R, t, FPS)

    def decode(self, z: torch.Tensor, frames: int | None = None, extend: str = "loop"
               ) -> list[Motion]:
        """(B, D) latents -> B grounded motions of ``frames`` frames (default 60).

        Longer than the training clip (60 frames), ``extend`` says how:
        - "loop": decode the 60-frame clip and chain copies of it, each turned and moved
          to start where the previous one is at that moment, with a 10-frame cross-fade
          (``windows.stitch``): a walk keeps walking, a turn keeps turning;
        - "extrapolate": ask the decoder for all frames at once (its positional encoding
          goes past anything it was trained on; small models often stall or drift back).
        """
        if extend not in EXTEND_MODES:
            raise MclipError(f"--extend {extend}: choose {' or '.join(EXTEND_MODES)}")
        frames = self._check_frames(frames, extend)
        z = torch.as_tensor(z, dtype=torch.float32)
        if frames <= self.frames or extend == "extrapolate":
            R, t = self._decode_raw(z, frames)
            return [self._grounded(R[i], t[i]) for i in range(R.shape[0])]
        R, t = self._decode_raw(z, self.frames)
        plan = windows.plan_windows(frames, self.frames, self.frames - LOOP_OVERLAP)
        out = []
        for i in range(R.shape[0]):
            Rs, ts = windows.stitch([(R[i], t[i])] * len(plan.starts), plan, follow_heading=True)
            out.append(self._grounded(Rs, ts))
        return out

    def _check_frames(self, frames: int | None, extend: str = "loop") -> int:
        frames = self.frames if frames is None else int(frames)
        # Looping costs one clip per 50 frames; extrapolating attends over all frames
        # at once (memory grows with frames^2), so it gets a lower ceiling.
        most = (100 if extend == "loop" else 10) * self.frames
        if not 1 <= frames <= most:
            raise MclipError(f"--frames {frames}: must be between 1 and {most}")
        return frames

    # -------------------------------------------------------------- applications

    def text2motion(self, prompts: Sequence[str], frames: int | None = None,
                    seed: int | None = None, variation: float = 0.0,
                    extend: str = "loop", sampler: str = "auto", takes: int = 1,
                    guidance: float | None = None, temperature: float | None = None,
                    steps: int | None = None) -> list[Motion]:
        """``takes`` motions per prompt (batched), prompt by prompt: ``[p0 take 0, p0 take
        1, ..., p1 take 0, ...]``. The latents come from ``text_latents`` (see there for
        sampler, seed, guidance, temperature, steps and variation); frames: output length
        (default the training length, 60 = 2 s; for longer ones see ``decode``'s extend).
        """
        z = self.text_latents(prompts, takes=takes, seed=seed, sampler=sampler, guidance=guidance,
                              temperature=temperature, steps=steps, variation=variation)
        return self.decode(z, frames, extend)

    def resolve_sampler(self, sampler: str = "auto") -> str:
        """"prior" or "direct": what ``sampler`` means for this checkpoint."""
        if sampler not in SAMPLERS:
            raise MclipError(f"--sampler {sampler}: choose {', '.join(SAMPLERS)}")
        if sampler == "auto":
            return "prior" if self.prior is not None else "direct"
        if sampler == "prior" and self.prior is None:
            raise MclipError(f"{self.weights_path}: has no latent sampler (train one with "
                             f"`mclip train --stage prior --init {self.weights_path}`); "
                             f"use --sampler direct")
        return sampler

    def text_latents(self, prompts: Sequence[str], takes: int = 1, seed: int | None = None,
                     sampler: str = "auto", guidance: float | None = None,
                     temperature: float | None = None, steps: int | None = None,
                     variation: float = 0.0) -> torch.Tensor:
        """(len(prompts) * takes, D) unit latents for text2motion, prompt by prompt.

        - sampler "prior": each take is a draw of the latent sampler given the prompt,
          from noise scaled by ``temperature`` (default the sampler's, 1.0), with
          classifier-free ``guidance`` (default the sampler's) over ``steps`` Euler steps;
        - sampler "direct": the prompt's direction (paper 4.2); ``variation`` > 0 turns
          it that far towards a random direction, for different takes.

        Randomness comes from one generator per (seed, prompt, take), so a take is the
        same alone or inside a batch; ``seed=None`` draws a fresh seed.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        sampler = self.resolve_sampler(sampler)
        takes = int(takes)
        if takes < 1:
            raise MclipError(f"--num-samples {takes}: must be at least 1")
        if seed is None:
            import secrets

            seed = secrets.randbits(48)
        z = self.embed_texts(prompts).repeat_interleave(takes, dim=0)     # (P * takes, D)

        def noise() -> torch.Tensor:
            """(P * takes, D) standard normal draws, one generator per (seed, prompt, take)."""
            return torch.stack([
                torch.randn(z.shape[1], generator=torch.Generator().manual_seed(
                    (int(seed) * 1_000_003 + zlib.crc32(f"{k}:{p.strip()}".encode())) % 2 ** 63))
                for p in prompts for k in range(takes)])

        if sampler == "prior":
            if variation:
                raise MclipError("--variation turns the direct path's latent; with the sampler, "
                                 "takes differ by --seed and spread by --temperature")
            t = self.prior.cfg.temperature if temperature is None else float(temperature)
            if not (math.isfinite(t) and t >= 0) or (
                    guidance is not None and not (math.isfinite(guidance) and guidance >= 0)):
                raise MclipError("--temperature and --guidance must be finite and >= 0")
            x0 = t * noise()
            out = []
            for i in range(0, z.shape[0], DECODE_BATCH):
                out.append(self.prior.sample(z[i:i + DECODE_BATCH], x0[i:i + DECODE_BATCH],
                                             steps=steps, guidance=guidance))
            return torch.cat(out)
        if variation:                 # the direct path draws noise only to turn its latent
            unit = torch.nn.functional.normalize(noise(), dim=-1).to(z.device)
            z = torch.nn.functional.normalize(z + float(variation) * unit, dim=-1)
        return z

    def latent_of(self, item: MotionLike) -> torch.Tensor:
        """(D,) unit latent of a motion (file or Motion) or a text (any other string)."""
        if isinstance(item, Motion) or is_motion_ref(item):
            return self.motion_latent(item)
        return self.embed_texts([str(item)])[0]

    def interpolate(self, a: MotionLike, b: MotionLike, steps: int = 5, slerp: bool = False,
                    frames: int | None = None, extend: str = "loop") -> list[Motion]:
        """``steps`` motions from a to b (ends included), decoded from evenly spaced
        latents (paper 4.3, Fig. 10). a/b: motions, motion files, or texts."""
        za, zb = self.latent_of(a), self.latent_of(b)
        return self.decode(interpolate_latents(za, zb, int(steps), slerp), frames, extend)

    def edit_direction(self, add: Sequence[str] = (), sub: Sequence[str] = (),
                       add_motion: Sequence[MotionLike] = (),
                       sub_motion: Sequence[MotionLike] = ()) -> torch.Tensor:
        """(D,) sum of the unit latents to add minus those to subtract."""
        d = torch.zeros(self.config.latent_dim, device=self.device)
        if add:
            d = d + self.embed_texts(list(add)).sum(0)
        if sub:
            d = d - self.embed_texts(list(sub)).sum(0)
        for m in add_motion:
            d = d + self.motion_latent(m).to(self.device)
        for m in sub_motion:
            d = d - self.motion_latent(m).to(self.device)
        return d

    def edit(self, motion: MotionLike, add: Sequence[str] = (), sub: Sequence[str] = (),
             scale: float = 1.0, add_motion: Sequence[MotionLike] = (),
             sub_motion: Sequence[MotionLike] = ()) -> Motion:
        """Latent arithmetic (paper 4.4): z' = z + scale * (sum add - sum sub), per window.

        Every term is a unit latent (text embeddings, or motions' mean window latents),
        so ``scale`` = 1 moves z as far as it is long: a strong edit; 0.3-0.5 is subtle.
        Each window is decoded, put back where it was, and cross-faded into its
        neighbours; the result has the input's length and lies on the ground.
        """
        if not (add or sub or add_motion or sub_motion):
            raise MclipError("edit: nothing to do; give --add, --sub, --add-motion or --sub-motion")
        direction = self.edit_direction(add, sub, add_motion, sub_motion)
        # Unit directions are scaled to each window's latent length, so the edit means
        # the same whether or not the decoder normalises its input.
        return self._edit_windows(
            motion, lambda z: z + float(scale) * z.norm(dim=-1, keepdim=True) * direction)

    def reconstruct(self, motion: MotionLike) -> Motion:
        """The motion passed through the auto-encoder (encode + decode), window by window."""
        return self._edit_windows(motion, lambda z: z)

    def _edit_windows(self, motion: MotionLike, change: Callable[[torch.Tensor], torch.Tensor]
                      ) -> Motion:
        m = self.load(motion)
        plan, feats, back = self._windows(m)
        z = change(self._encode_features(feats))
        R, t = self._decode_raw(z, self.frames)
        pieces = [windows.move_body(R[i], t[i], *back[i]) for i in range(R.shape[0])]
        Rs, ts = windows.stitch(pieces, plan)
        return self._grounded(Rs, ts)

    def compose(self, upper: MotionLike, lower: MotionLike, seed: int = 0) -> Motion:
        """Upper body of one motion on the lower body of another.

        Done in joint space, not latent space: the rotations of
        ``skeleton.UPPER_BODY_JOINTS`` (spine3, neck, head, collars, arms) come from
        ``upper``, everything else (pelvis orientation, trajectory, legs, lower spine)
        from ``lower``. Why: the paper's latent composition needs a reference motion of
        each body part to subtract, and gives a blend of both whole bodies when the
        parts are not disentangled (our small corpus); swapping local rotations keeps
        both parts exactly and always reads as "wave while walking". Texts are turned
        into motions first (``text2motion``, take 0 of ``seed``). The result has
        ``lower``'s length; a shorter ``upper`` is played forwards and backwards (no
        jump) to cover it.
        """
        mu, ml = (self.text2motion([x], seed=seed)[0] if not (isinstance(x, Motion) or is_motion_ref(x))
                  else self.load(x) for x in (upper, lower))
        T = ml.num_frames
        order = _pingpong(mu.num_frames, T)
        R = ml.rotmats().clone()
        R[:, list(skeleton.UPPER_BODY_JOINTS)] = mu.rotmats()[order][:, list(skeleton.UPPER_BODY_JOINTS)]
        return self._grounded(R, torch.from_numpy(ml.trans.copy()))

    def temperature_for(self, labels) -> float:
        """The calibrated softmax temperature for a label set name or list."""
        temps = self.classify_temperature
        return temps.get(label_set_key(labels), temps["other"])

    def classify(self, motion: MotionLike, labels: Sequence[str] | str, top_k: int = 5,
                 per_window: bool = False) -> Classification:
        """Zero-shot action recognition (paper 4.4): softmax over labels of
        ``T * cosine(motion latent, label embedding)``. The motion's latent is its
        windows' mean direction, so probability and cosine order the labels alike; T is
        the temperature calibrated on held-out clips and stored in the weights
        (``classify_temperature``; CLIP's 100 for weights without one). With
        ``per_window`` each 2 s window is scored the same way from its own latent.
        labels: a list, or what ``load_labels`` accepts."""
        names = load_labels(labels) if isinstance(labels, str) else check_prompts(labels, "label")
        if top_k < 1:
            raise MclipError(f"--top-k {top_k}: must be at least 1")
        plan, z = self.window_latents(motion)
        E = self.embed_texts(names)                                    # (L, D)
        cos = z.to(E.device) @ E.T                                     # (W, L)
        T = self.temperature_for(labels)
        whole = windows.mean_direction(z).to(E.device) @ E.T           # (L,)
        k = min(top_k, len(names))

        def top(p: torch.Tensor, c: torch.Tensor) -> list[LabelScore]:
            v, i = p.topk(k)
            return [LabelScore(names[j], float(pv), float(c[j])) for pv, j in zip(v, i.tolist())]

        result = Classification(top(torch.softmax(T * whole, dim=-1), whole), temperature=T)
        if per_window:
            for (s, e), c in zip(windows.window_times(plan, FPS), cos):
                result.windows.append(WindowScores(s, e, top(torch.softmax(T * c, dim=-1), c)))
        return result

    def encode(self, items: Sequence[MotionLike]) -> np.ndarray:
        """(N, D) float32 unit latents: motions/motion files by their mean window latent,
        other strings as texts (the backbone embedding, i.e. what text2motion decodes)."""
        if isinstance(items, (str, Motion)):
            items = [items]
        if not items:
            raise MclipError("encode: nothing to encode")
        return torch.stack([self.latent_of(x).float().cpu() for x in items]).numpy()

    def search(self, query: str, library: str | os.PathLike, top_k: int = 10,
               cache_dir: str | os.PathLike | None = None,
               on_progress: Callable[[int, int], None] | None = None) -> SearchResult:
        """Rank the motion files under ``library`` (recursively) by cosine to a text.

        Latents are cached in ``cache_dir`` (default ``$MCLIP_CACHE`` or
        ``~/.cache/mclip``), keyed by absolute path + mtime + size + checkpoint sha256,
        so a second search only encodes new or changed files. Unreadable files are
        skipped and reported, not fatal.
        """
        q = self.embed_texts([query])[0].cpu()
        lib = Path(library)
        if not lib.is_dir():
            raise MclipError(f"{lib}: not a folder (--library takes a folder of motion files)")
        files = sorted(p for p in lib.rglob("*") if p.suffix.lower() in MOTION_EXTENSIONS
                       and p.is_file() and not any(part.startswith(".") for part in p.relative_to(lib).parts))
        if not files:
            raise MclipError(f"{lib}: no motion files (.npz, .npy, .bvh) in it")
        cache = LatentCache(cache_dir, self.checkpoint_id)
        latents, skipped, encoded, cached = [], [], 0, 0
        try:
            for n, f in enumerate(files, 1):
                key = LatentCache.key(f)
                z = cache.get(key)
                if z is not None and not np.isfinite(z).all():   # never trust a bad entry
                    z = None
                if z is None:
                    try:
                        z = self.motion_latent(f).cpu().numpy()
                    except MclipError as e:
                        skipped.append((str(f), str(e)))
                        z = None
                    else:
                        cache.put(key, z)
                        encoded += 1
                else:
                    cached += 1
                if z is not None:
                    latents.append((str(f), z))
                if on_progress:
                    on_progress(n, len(files))
        finally:
            cache.save()                  # Ctrl-C keeps what was encoded
        if not latents:
            raise MclipError(f"{lib}: none of its {len(files)} motion files could be read")
        Z = torch.from_numpy(np.stack([z for _, z in latents]))
        scores = Z @ q
        order = torch.argsort(scores, descending=True)[:max(1, int(top_k))]
        hits = [(latents[i][0], float(scores[i])) for i in order.tolist()]
        return SearchResult(hits, skipped, encoded, cached)


def _pingpong(n: int, length: int) -> torch.Tensor:
    """Frame order 0..n-1, n-2..0, 1.. covering ``length`` frames (no jump at the ends)."""
    if n == 1:
        return torch.zeros(length, dtype=torch.long)
    cycle = list(range(n)) + list(range(n - 2, 0, -1))
    return torch.tensor([cycle[i % len(cycle)] for i in range(length)], dtype=torch.long)






__all__ = [
    "Engine", "Classification", "LabelScore", "WindowScores", "SearchResult", "LatentCache",
    "interpolate_latents", "ground_offset", "default_weights_path", "resolve_weights",
    "resolve_device", "is_motion_ref", "check_prompts", "load_labels", "CLIP_TEMPERATURE",
]
