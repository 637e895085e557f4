"""Corpus generation API and the on-disk writer (docs/ARCHITECTURE.md "Dataset on disk").

``generate(n, seed)`` returns clips in memory; ``write_corpus`` writes
``DIR/shards/shard_XXXXX.npz`` + ``DIR/manifest.jsonl`` + ``DIR/info.json``.

Clip ``i`` of a seed is always the same clip for the same generator code: clips are made
in blocks of ``compose.BLOCK`` that depend only on ``(seed, block)``. info.json records
the code's fingerprint (``code``, ``generator_code()``); a corpus made by other code
loads with a warning and cannot be resumed. Shards are written to a temp
name and renamed; after every finished shard the manifest and info.json are rewritten
atomically, so an interrupted run leaves only whole shards, each listed, and
``info.json`` says ``"complete": false``; ``resume=True`` carries on from there.
"""
from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ...atomic import atomic_path, atomic_write_text, remove_stale_temps
from ...errors import MclipError
from . import compose
from .compose import ACTIONS, BLOCK, generate_block, shown
from .language import PHRASES, STYLE_WORDS, heldout_phrasings, phrasing_count
from .rig import FPS
from .styles import SIZES, SPEEDS, STYLES

VAL_P = 0.05                  # share of clips (of non-held-out phrasings) in "val"
TEST_P = 0.05                 # ... and in "test"


def _records(seed: int, block: int, plans, frames: int) -> list[dict]:
    split_rng = np.random.default_rng([seed, block, 1])
    u = split_rng.random(len(plans))
    out = []
    for k, p in enumerate(plans):
        i = block * BLOCK + k
        a, up = shown(p)
        split = "test" if p.heldout else ("val" if u[k] < VAL_P else "test" if u[k] < VAL_P + TEST_P else "train")
        out.append({
            "id": f"synth-{seed}-{i:07d}",
            "text": p.text,
            "action": a if up is None else f"{a}+{up}",
            "style": p.style,
            "split": split,
            "params": {
                "body": a, "upper": up, "babel": PHRASES[up or a].babel if up else PHRASES[a].babel,
                "babel_lower": PHRASES[a].babel, "speed": p.speed, "size": p.size,
                "mirrored": p.mirror, "heading": round(p.heading, 4),
                "start": [round(p.start[0], 3), round(p.start[1], 3)],
                "heldout_phrasing": p.heldout, "frames": frames,
            },
        })
    return out


def _check(n: int, frames: int, actions: Sequence[str] | None) -> tuple[str, ...] | None:
    if n < 1:
        raise MclipError(f"--n: must be at least 1, got {n}")
    if frames < 8:
        raise MclipError(f"--frames: must be at least 8, got {frames}")
    if actions:
        bad = [a for a in actions if a not in ACTIONS]
        if bad:
            raise MclipError(f"--actions: unknown action(s) {', '.join(bad)}; known: {', '.join(ACTIONS)}")
        return tuple(actions)
    return None


@lru_cache(maxsize=2)
def _block(seed: int, block: int, frames: int, actions):
    """One whole block with its records (cached: neighbouring shards share blocks)."""
    poses, trans, plans = generate_block(seed, block, frames, actions, n=BLOCK)
    return poses, trans, _records(seed, block, plans, frames)


def _range(seed: int, start: int, stop: int, frames: int, actions):
    """Clips [start, stop) of the corpus: poses (n, T, 24, 3), trans (n, T, 3), records."""
    P, Tr, R = [], [], []
    for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        lo, hi = max(start, b * BLOCK) - b * BLOCK, min(stop, (b + 1) * BLOCK) - b * BLOCK
        poses, trans, recs = _block(seed, b, frames, actions)
        P.append(poses[lo:hi])
        Tr.append(trans[lo:hi])
        R.extend(dict(r, params=dict(r["params"])) for r in recs[lo:hi])
    return np.concatenate(P), np.concatenate(Tr), R


def generate(n: int, seed: int = 0, frames: int = 60, actions: Sequence[str] | None = None):
    """Clips 0..n-1 of the corpus for ``seed``.

    returns poses (n, frames, 24, 3) float32 axis-angle (SMPL local rotations, [0] =
    global orientation, z-up world), trans (n, frames, 3) float32 metres, records
    (list of n dicts: id, text, action, style, split, params). 30 fps.
    """
    actions = _check(n, frames, actions)
    return _range(seed, 0, n, frames, actions)


@lru_cache(maxsize=1)
def generator_code() -> str:
    """A fingerprint of the code that makes clips: sha256 (16 hex digits) of this
    package's source files but the viewer (``gallery``). Any edit changes
    it, so two corpora with the same code and seed hold the same clips, and a corpus made
    by other code is detectable (the manual ``compose.VERSION`` was not bumped when
    actions were added)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem == "gallery":
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def stale_corpus_message(info: dict) -> str | None:
    """One line when ``info`` (a corpus' info.json) was made by other generator code than
    this install's, else None (also for corpora that recorded no fingerprint)."""
    code = info.get("code")
    if info.get("generator") != "mclip.data.synth" or code is None or code == generator_code():
        return None
    return (f"made by other synth code ({code}, this install {generator_code()}): "
            f"'mclip data synth' with the same seed now makes different clips")


def info_dict(seed: int, n: int, frames: int, actions, counts: dict, complete: bool,
              shard_size: int) -> dict:
    names = list(actions) if actions else list(ACTIONS)
    return {
        "generator": "mclip.data.synth", "version": compose.VERSION, "code": generator_code(),
        "seed": seed,
        "n_requested": n, "frames": frames, "fps": FPS, "shard_size": shard_size,
        "complete": complete, "counts": counts,
        "actions": {a: {"category": ACTIONS[a].category, "label": PHRASES[a].label,
                        "babel": PHRASES[a].babel} for a in names},
        "styles": list(STYLES), "speeds": list(SPEEDS), "sizes": list(SIZES),
        "phrasings": {a: {"label": PHRASES[a].label, "vp": list(PHRASES[a].vp), "ing": list(PHRASES[a].ing)}
                      for a in names},
        "style_words": {s: {k: list(v) for k, v in w.items()} for s, w in STYLE_WORDS.items()},
        "heldout_phrasings": heldout_phrasings(),
        "splits": {"test": "held-out phrasings + %d%% random" % round(TEST_P * 100),
                   "val": "%d%% random" % round(VAL_P * 100)},
        "phrasing_counts": phrasing_count(),
    }


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_shard(job) -> list[dict]:
    """Worker: build one shard, write it atomically, return its records."""
    out, seed, k, start, stop, frames, actions = job
    poses, trans, recs = _range(seed, start, stop, frames, actions)
    path = Path(out) / "shards" / f"shard_{k:05d}.npz"
    with atomic_path(path) as tmp:   # Ctrl-C in the middle of a write leaves no partial file
        np.savez(tmp, poses=poses.reshape(poses.shape[:2] + (72,)), trans=trans, fps=np.float32(FPS))
    for j, r in enumerate(recs):
        r["shard"], r["index"] = k, j
    return recs


def write_corpus(out: str | Path, n: int, seed: int = 0, frames: int = 60, shard_size: int = 4096,
                 actions: Sequence[str] | None = None, workers: int = 1, overwrite: bool = False,
                 resume: bool = False, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the corpus folder; returns info.json's content. See the module docstring."""
    actions = _check(n, frames, actions)
    if shard_size < 1:
        raise MclipError(f"--shard-size: must be at least 1, got {shard_size}")
    if workers < 1:
        raise MclipError(f"--workers: must be at least 1, got {workers}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MclipError(f"{out}: exists and is not a folder")
    records: list[dict] = []
    done_shards = 0
    if out.exists() and any(out.iterdir()):
        info_path = out / "info.json"
        if resume and info_path.is_file():
            old = json.loads(info_path.read_text())
            same = (old.get("seed"), old.get("frames"), old.get("shard_size"), old.get("n_requested"),
                    list(old.get("actions", {}))) == \
                (seed, frames, shard_size, n, list(actions) if actions else list(ACTIONS))
            if not same or old.get("version") != compose.VERSION or stale_corpus_message(old):
                raise MclipError(f"{out}: --resume needs the same --n, --seed, --frames, --shard-size and "
                                 f"--actions as the interrupted run (and the same generator code)")
            with open(out / "manifest.jsonl", encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            done_shards = len({r["shard"] for r in records})
        elif overwrite:
            import shutil
            for sub in ("shards",):
                shutil.rmtree(out / sub, ignore_errors=True)
            for name in ("manifest.jsonl", "info.json"):
                (out / name).unlink(missing_ok=True)
        else:
            raise MclipError(f"{out}: folder is not empty (use --overwrite, or --resume to continue)")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    n_shards = (n + shard_size - 1) // shard_size
    jobs = [(str(out), seed, k, k * shard_size, min(n, (k + 1) * shard_size), frames, actions)
            for k in range(done_shards, n_shards)]

    def counts():
        c: dict = {"clips": len(records), "splits": {}, "actions": {}, "styles": {}}
        for r in records:
            c["splits"][r["split"]] = c["splits"].get(r["split"], 0) + 1
            c["actions"][r["action"]] = c["actions"].get(r["action"], 0) + 1
            c["styles"][r["style"]] = c["styles"].get(r["style"], 0) + 1
        return c

    def commit(complete: bool) -> dict:
        atomic_write_text(out / "manifest.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        info = info_dict(seed, n, frames, actions, counts(), complete, shard_size)
        atomic_write_text(out / "info.json", json.dumps(info, indent=1))
        return info

    t0 = time.perf_counter()
    commit(False)                   # an interrupted folder always says what it holds
    if progress:
        progress(len(records), n)
    pool = None
    try:
        if workers == 1:
            results = map(_make_shard, jobs)
        else:
            import multiprocessing as mp

            # workers ignore Ctrl-C: the main process stops them (terminate) and cleans up
            pool = mp.get_context("fork").Pool(workers, initializer=_ignore_sigint)
            results = pool.imap(_make_shard, jobs)
        for recs in results:
            records.extend(recs)
            commit(False)
            if progress:
                progress(len(records), n)
        if pool is not None:
            pool.close()
            pool.join()
    except BaseException:
        if pool is not None:
            pool.terminate()
            pool.join()
        # keep only whole, listed shards: a worker may have finished one the manifest
        # does not list yet; --resume rebuilds it
        listed = {r["shard"] for r in records}
        for f in (out / "shards").glob("shard_*.npz"):
            if int(f.stem.split("_")[1]) not in listed:
                f.unlink(missing_ok=True)
        raise
    finally:
        # leftovers of interrupted shard writes are never valid shards
        remove_stale_temps(out / "shards")
    info = commit(True)
    info["seconds"] = round(time.perf_counter() - t0, 2)
    return info
