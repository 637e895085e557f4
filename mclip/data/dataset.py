"""Clip datasets on disk: the reader (``ClipDataset``) and the writer (``write_dataset``).

One format serves the procedural corpus and prepared AMASS+BABEL alike
(docs/ARCHITECTURE.md "Dataset on disk")::

    DIR/manifest.jsonl          one JSON object per clip: {"id", "shard", "index", "text",
                                "action", "style", "split", "params"}
    DIR/shards/shard_00000.npz  poses (N, T, 72) float32 axis-angle, trans (N, T, 3) float32,
                                fps = 30 (scalar); z-up world, metres
    DIR/info.json               who wrote it, counts, anything the writer adds

``shard`` is the shard number (``0`` -> ``shards/shard_00000.npz``; a file name is also
accepted) and ``index`` the row inside it. ``text`` is a string, or a list of
phrasings of which one is drawn at random each time the clip is read.

The reader keeps the whole split in RAM as canonicalized model features
(``(N, T, 25, 6)`` float32, ~36 KB per 60-frame clip: 100k clips ~ 3.6 GB), computed
once when the dataset is opened, so training never converts rotations per step.
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from ..errors import MclipError
from ..skeleton import FPS

log = logging.getLogger(__name__)

__all__ = ["ClipDataset", "collate", "DatasetWriter", "write_dataset", "read_manifest", "FPS"]

MANIFEST = "manifest.jsonl"
INFO = "info.json"
SHARD_DIR = "shards"
SPLITS = ("train", "val", "test")
_FEATURE_CHUNK = 2048  # clips converted to features at once (bounds temporary memory)


def shard_name(number: int) -> str:
    """0 -> 'shard_00000.npz'."""
    return f"shard_{int(number):05d}.npz"


# ------------------------------------------------------------------------- reading


def read_manifest(root: str | Path) -> list[dict]:
    """All records of DIR/manifest.jsonl, validated (MclipError names file and line)."""
    root = Path(root)
    if not root.exists():
        raise MclipError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise MclipError(f"{root}: not a dataset folder (expected manifest.jsonl and shards/)")
    path = root / MANIFEST
    if not path.is_file():
        raise MclipError(f"{path}: missing (not a dataset folder? make one with `mclip data synth` "
                         f"or `mclip data prepare`)")
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise MclipError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(rec, dict):
                raise MclipError(f"{path}:{lineno}: expected a JSON object")
            for key in ("shard", "index", "text"):
                if key not in rec:
                    raise MclipError(f"{path}:{lineno}: missing key '{key}'")
            text = rec["text"]
            if isinstance(text, list):
                if not text or not all(isinstance(t, str) for t in text):
                    raise MclipError(f"{path}:{lineno}: 'text' must be a string or a non-empty list of strings")
            elif not isinstance(text, str):
                raise MclipError(f"{path}:{lineno}: 'text' must be a string or a list of strings")
            if not isinstance(rec["index"], int) or rec["index"] < 0:
                raise MclipError(f"{path}:{lineno}: 'index' must be a non-negative integer")
            rec.setdefault("split", "train")
            rec["_line"] = lineno
            records.append(rec)
    if not records:
        raise MclipError(f"{path}: empty manifest")
    return records


def _shard_path(root: Path, shard) -> Path:
    if isinstance(shard, bool) or not isinstance(shard, (int, str)):
        raise MclipError(f"{root / MANIFEST}: bad 'shard' value {shard!r}")
    if isinstance(shard, int):
        return root / SHARD_DIR / shard_name(shard)
    p = Path(shard)
    return root / p if len(p.parts) > 1 else root / SHARD_DIR / p


def _load_shard(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """-> poses (N, T, 72) float32, trans (N, T, 3) float32, checked."""
    if not path.is_file():
        raise MclipError(f"{path}: shard file missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("poses", "trans") if k not in z.files]
            if missing:
                raise MclipError(f"{path}: missing key '{missing[0]}'")
            poses = np.asarray(z["poses"], dtype=np.float32)
            trans = np.asarray(z["trans"], dtype=np.float32)
            fps = float(z["fps"]) if "fps" in z.files else FPS
    except MclipError:
        raise
    except Exception as e:  # truncated zip, pickled object, garbage
        raise MclipError(f"{path}: unreadable shard ({type(e).__name__}: {e})") from None
    if poses.ndim == 4 and poses.shape[-2:] == (24, 3):
        poses = poses.reshape(poses.shape[:2] + (72,))
    if poses.ndim != 3 or poses.shape[-1] != 72:
        raise MclipError(f"{path}: 'poses' must be (N, T, 72), got {tuple(poses.shape)}")
    if trans.shape != poses.shape[:2] + (3,):
        raise MclipError(f"{path}: 'trans' must be {poses.shape[:2] + (3,)}, got {tuple(trans.shape)}")
    if abs(fps - FPS) > 1e-3:
        raise MclipError(f"{path}: fps is {fps:g}, datasets are stored at {FPS:g} fps")
    return poses, trans


def _check_corpus_info(root: Path) -> None:
    """Refuse a procedural corpus whose writing was interrupted (info.json says
    ``"complete": false``); log one warning when it was made by other generator code
    than this install's (its clips then differ from what ``mclip data synth`` makes now)."""
    try:
        info = json.loads((root / "info.json").read_text())
    except (OSError, ValueError):
        return                    # no info.json: prepared or hand-made data
    if isinstance(info, dict) and info.get("complete") is False:
        raise MclipError(f"{root}: an interrupted corpus (info.json: complete false); finish it "
                         f"with the same `mclip data synth ... --resume`")
    try:
        from .synth.writer import stale_corpus_message
    except ImportError:
        return                    # no generator in this install
    message = stale_corpus_message(info)
    if message:
        log.warning(f"warning: {root}: {message}")


class ClipDataset(torch.utils.data.Dataset):
    """Clips of one split as canonicalized features, ready for training.

    ``ds[i]`` -> ``{"features": (T, 25, 6) float32, "text": str, "action": str,
    "index": i, "id": str}``. Use ``collate`` to batch. For speed a trainer may also
    index the tensors directly: ``ds.features`` (N, T, 25, 6), ``ds.texts``,
    ``ds.actions``, ``ds.records``.

    split: "train", "val", "test", a list of them, or None for every clip.
    """

    def __init__(self, root: str | Path, split: str | Sequence[str] | None = "train"):
        from ..representation import motion_to_features

        self.root = Path(root)
        _check_corpus_info(self.root)
        records = read_manifest(self.root)
        wanted = None if split is None else ({split} if isinstance(split, str) else set(split))
        if wanted is not None:
            records = [r for r in records if r.get("split") in wanted]
            if not records:
                raise MclipError(f"{self.root}: no clips in split {sorted(wanted)}")

        by_shard: dict[Path, list[int]] = {}
        for i, r in enumerate(records):
            by_shard.setdefault(_shard_path(self.root, r["shard"]), []).append(i)

        # Shard by shard straight into features, so the raw poses of only one shard are
        # held at a time (peak memory ~ features + one shard).
        frames = None
        feats = None
        for path, rows in sorted(by_shard.items()):
            sp, st = _load_shard(path)
            if frames is None:
                frames = sp.shape[1]
                feats = torch.empty((len(records), frames, 25, 6), dtype=torch.float32)
            elif sp.shape[1] != frames:
                raise MclipError(f"{path}: clips have {sp.shape[1]} frames, other shards {frames}")
            idx = np.array([records[i]["index"] for i in rows])
            if idx.max() >= sp.shape[0]:
                bad = records[rows[int(np.argmax(idx))]]
                raise MclipError(f"{self.root / MANIFEST}:{bad['_line']}: index {bad['index']} is past "
                                 f"the end of {path.name} ({sp.shape[0]} clips)")
            poses, trans = sp[idx], st[idx]
            if not (np.isfinite(poses).all() and np.isfinite(trans).all()):
                raise MclipError(f"{path}: contains NaN or infinite values")
            rows_t = torch.as_tensor(rows)
            with torch.no_grad():
                for s in range(0, len(rows), _FEATURE_CHUNK):
                    e = s + _FEATURE_CHUNK
                    feats[rows_t[s:e]] = motion_to_features(poses[s:e], trans[s:e])
            del sp, st, poses, trans
        self.features = feats
        self.frames = frames
        self.records = [{k: v for k, v in r.items() if k != "_line"} for r in records]
        self.texts = [r["text"] for r in records]
        self.actions = [str(r.get("action") or "") for r in records]

    def __len__(self) -> int:
        return len(self.records)

    def text(self, i: int) -> str:
        """The clip's text; one phrasing drawn at random when it has several."""
        t = self.texts[i]
        return t if isinstance(t, str) else random.choice(t)

    def __getitem__(self, i: int) -> dict:
        return {"features": self.features[i], "text": self.text(i), "action": self.actions[i],
                "index": int(i), "id": str(self.records[i].get("id", i))}


def collate(batch: list[dict]) -> dict:
    """List of items -> {"features": (B, T, 25, 6), "text": [B], "action": [B], "index": (B,), "id": [B]}."""
    return {
        "features": torch.stack([b["features"] for b in batch]),
        "text": [b["text"] for b in batch],
        "action": [b["action"] for b in batch],
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "id": [b["id"] for b in batch],
    }


# ------------------------------------------------------------------------- writing


class DatasetWriter:
    """Stream clips into a dataset folder; it appears only when complete.

    Everything is written into a hidden temporary folder beside ``root`` and renamed
    into place by ``close()`` (so a crash or Ctrl-C never leaves a half dataset).
    Use as a context manager::

        with DatasetWriter(out, info={"generator": "synth v1"}) as w:
            w.add(poses, trans, records)      # any number of times
    """

    def __init__(self, root: str | Path, shard_size: int = 4096, overwrite: bool = False,
                 info: dict | None = None):
        self.root = Path(root)
        if self.root.exists() and not overwrite:
            if not self.root.is_dir() or any(self.root.iterdir()):
                raise MclipError(f"{self.root}: already exists (choose another folder or overwrite)")
        if shard_size < 1:
            raise MclipError(f"shard_size: must be >= 1, got {shard_size}")
        self.shard_size = int(shard_size)
        self.overwrite = overwrite
        self.info = dict(info or {})
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.tmp-", dir=self.root.parent))
        (self._tmp / SHARD_DIR).mkdir()
        self._manifest = open(self._tmp / MANIFEST, "w", encoding="utf-8")
        self._buf_poses: list[np.ndarray] = []
        self._buf_trans: list[np.ndarray] = []
        self._buffered = 0
        self._shard = 0
        self._count = 0
        self._frames = None
        self._split_counts: dict[str, int] = {}
        self._closed = False

    # -- public
    def add(self, poses, trans, records: Iterable[dict]) -> None:
        """poses (n, T, 72) or (n, T, 24, 3) axis-angle, trans (n, T, 3), n records (dicts).

        Records may carry "id", "text" (required), "action", "style", "split"
        (default "train"), "params"; "shard" and "index" are filled in here.
        """
        poses = np.asarray(poses, dtype=np.float32)
        trans = np.asarray(trans, dtype=np.float32)
        records = list(records)
        if poses.ndim == 4 and poses.shape[-2:] == (24, 3):
            poses = poses.reshape(poses.shape[:2] + (72,))
        if poses.ndim != 3 or poses.shape[-1] != 72:
            raise ValueError(f"poses must be (n, T, 72), got {poses.shape}")
        if trans.shape != poses.shape[:2] + (3,):
            raise ValueError(f"trans must be {poses.shape[:2] + (3,)}, got {trans.shape}")
        if len(records) != poses.shape[0]:
            raise ValueError(f"{len(records)} records for {poses.shape[0]} clips")
        if self._frames is None:
            self._frames = poses.shape[1]
        elif poses.shape[1] != self._frames:
            raise ValueError(f"clips have {poses.shape[1]} frames, earlier ones {self._frames}")
        if not (np.isfinite(poses).all() and np.isfinite(trans).all()):
            raise ValueError("poses/trans contain NaN or infinite values")

        for k in range(0, len(records)):
            rec = dict(records[k])
            if "text" not in rec:
                raise ValueError(f"record {self._count} has no 'text'")
            rec.setdefault("id", f"{self._count:07d}")
            rec.setdefault("action", None)
            rec.setdefault("style", None)
            rec.setdefault("split", "train")
            rec.setdefault("params", {})
            rec["shard"] = self._shard
            rec["index"] = self._buffered
            self._manifest.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self._split_counts[rec["split"]] = self._split_counts.get(rec["split"], 0) + 1
            self._buf_poses.append(poses[k])
            self._buf_trans.append(trans[k])
            self._buffered += 1
            self._count += 1
            if self._buffered == self.shard_size:
                self._flush()

    def close(self) -> Path:
        """Write the last shard, manifest and info.json; move the folder into place."""
        if self._closed:
            return self.root
        if self._count == 0:
            self.abort()
            raise MclipError(f"{self.root}: no clips to write")
        self._flush()
        self._manifest.close()
        info = {**self.info, "clips": self._count, "frames": self._frames, "fps": FPS,
                "shards": self._shard, "splits": self._split_counts}
        with open(self._tmp / INFO, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
        old = None
        if self.root.exists():
            # move the old folder aside first: os.replace cannot replace a non-empty folder
            old = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.old-", dir=self.root.parent))
            os.replace(self.root, old / "d")
        os.replace(self._tmp, self.root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self._closed = True
        return self.root

    def abort(self) -> None:
        """Drop everything written so far."""
        if not self._closed:
            self._manifest.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._closed = True

    def __enter__(self) -> "DatasetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- internal
    def _flush(self) -> None:
        if not self._buffered:
            return
        np.savez(self._tmp / SHARD_DIR / shard_name(self._shard),
                 poses=np.stack(self._buf_poses), trans=np.stack(self._buf_trans),
                 fps=np.float32(FPS))
        self._buf_poses, self._buf_trans, self._buffered = [], [], 0
        self._shard += 1


def write_dataset(root: str | Path, poses, trans, records: Sequence[dict], shard_size: int = 4096,
                  overwrite: bool = False, info: dict | None = None) -> Path:
    """Write a whole dataset at once: poses (N, T, 72), trans (N, T, 3), N records -> ``root``.

    The folder appears complete or not at all. Returns ``root``.
    """
    with DatasetWriter(root, shard_size=shard_size, overwrite=overwrite, info=info) as w:
        w.add(poses, trans, records)
    return Path(root)
