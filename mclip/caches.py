"""What mclip computes once and keeps on disk, under ``default_cache_dir()``: the text
embeddings of prompts and labels (read before the text encoder is loaded) and
``search``'s motion latents per library file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import MclipError

if TYPE_CHECKING:
    from .engine import Engine


def default_cache_dir() -> Path:
    """Where mclip keeps what it computed once (text embeddings, search latents):
    ``$MCLIP_CACHE``, else ``~/.cache/mclip``."""
    return Path(os.environ.get("MCLIP_CACHE") or Path.home() / ".cache" / "mclip")


class DiskTexts:
    """The engine's text embeddings on disk (``backbones.TextEmbeddingCache`` under
    ``default_cache_dir()/text``), read before the text encoder is loaded: a prompt or
    label set embedded once (babel60, a batch's prompts) never loads the encoder again.
    Stands in for the backbone (identity, dim, encode_text loading it on first use)."""

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.dim = int(engine.config.latent_dim)
        self.identity: str | None = None
        self.cache = None
        self.off = False          # no identity before loading (CLIP), or an unwritable cache

    def encode_text(self, texts):
        return self.engine.backbone.encode_text(texts)

    def _open(self) -> None:
        """The cache file, found on first use (motion-only commands never look)."""
        from .backbones import TextEmbeddingCache, backbone_identity

        if self.engine._backbone is not None:
            self.identity = self.engine._backbone.identity
        else:
            try:
                self.identity = backbone_identity(self.engine.config.backbone)
            except MclipError:
                self.identity = None   # the backbone is not installed: it fails when used
        if self.identity:
            self.cache = TextEmbeddingCache(default_cache_dir() / "text", self)
        else:
            self.off = True

    def get(self, texts: list[str]):
        """(N, D) raw backbone embeddings: from disk, else encoded (and then kept)."""
        if self.cache is None and not self.off:
            self._open()
        if not self.off:
            try:
                return self.cache.get(texts)
            except MclipError:         # a cache that cannot be written only costs time
                self.off = True
        return self.encode_text(texts)


class LatentCache:
    """Motion latents on disk for ``search``: one .npz per checkpoint, keyed by file.

    Key = "absolute path|mtime_ns|size": an edited or replaced file gets a new key.
    """

    def __init__(self, cache_dir: str | os.PathLike | None, checkpoint_id: str):
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.path = root / f"search-latents-{checkpoint_id[:16]}.npz"
        self.items: dict[str, np.ndarray] = {}
        self.dirty = False
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as f:
                    self.items = dict(zip(f["keys"].tolist(), f["latents"]))
            except Exception:  # a damaged cache is just rebuilt
                self.items = {}

    @staticmethod
    def key(path: Path) -> str:
        st = path.stat()
        return f"{path.resolve()}|{st.st_mtime_ns}|{st.st_size}"

    def get(self, key: str) -> np.ndarray | None:
        return self.items.get(key)

    def put(self, key: str, z: np.ndarray) -> None:
        self.items[key] = np.asarray(z, dtype=np.float32)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or not self.items:
            return
        from .atomic import atomic_path

        keys = list(self.items)
        try:
            with atomic_path(self.path, parents=True) as tmp:
                np.savez(tmp, keys=np.array(keys), latents=np.stack([self.items[k] for k in keys]))
        except (MclipError, OSError):
            pass  # a cache that cannot be written only costs time next run
        self.dirty = False
