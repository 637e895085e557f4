"""BABEL labels + AMASS motions -> the clip dataset format (``mclip data prepare``).

BABEL (Punnakkal et al., 2021) labels AMASS takes. ``train.json`` / ``val.json`` map a
``babel_sid`` to one sequence::

    {"babel_sid": 12, "feat_p": "CMU/CMU/02/02_05_poses.npz", "dur": 7.2,
     "seq_ann":   {"labels": [{"raw_label", "proc_label", "act_cat": [...], "seg_id"}]},
     "frame_ann": {"labels": [{"raw_label", "proc_label", "act_cat": [...], "seg_id",
                               "start_t", "end_t"}]} or null}

Frame labels carry times in seconds; a sequence without them (``frame_ann`` null) has
sequence labels that cover it whole. As the paper does, each 30 fps 60-frame clip gets
one text: the labels of the segments overlapping it, in time order, joined
("transition" segments left out). With
``babel60`` the text is instead the clip's BABEL-60 class names (the paper's action
recognition model), and clips with none of those classes are dropped.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import MclipError
from ..skeleton import FPS
from .amass import CLIP_FRAMES, cut_clips, find_amass_file, load_amass

__all__ = ["Segment", "BabelSequence", "PrepareConfig", "read_babel", "clip_segments",
           "clip_text", "clip_classes", "is_transition", "normalize_class", "prepare_babel"]

SPLIT_FILES = {"train": "train.json", "val": "val.json"}


@dataclass(frozen=True)
class Segment:
    """One BABEL label over [start_t, end_t] seconds of its sequence."""

    label: str                 # proc_label (raw_label when missing)
    act_cat: tuple[str, ...]   # BABEL action categories, e.g. ("walk", "turn")
    start_t: float
    end_t: float


@dataclass
class BabelSequence:
    sid: str
    feat_p: str
    dur: float
    split: str
    segments: list[Segment] = field(default_factory=list)


def normalize_class(name: str) -> str:
    """Compare class names loosely: lower case, single spaces, no spaces around '/'."""
    name = re.sub(r"\s+", " ", str(name).strip().lower())
    return re.sub(r"\s*/\s*", "/", name)


def _label_text(lab: dict) -> str:
    text = lab.get("proc_label") or lab.get("raw_label") or ""
    return re.sub(r"\s+", " ", str(text)).strip()


def _parse_sequence(sid: str, entry, split: str, where: str) -> BabelSequence:
    if not isinstance(entry, dict):
        raise MclipError(f"{where}: sequence {sid} is not a JSON object")
    for key in ("feat_p", "dur"):
        if key not in entry:
            raise MclipError(f"{where}: sequence {sid} has no '{key}'")
    try:
        dur = float(entry["dur"])
    except (TypeError, ValueError):
        raise MclipError(f"{where}: sequence {sid}: 'dur' is not a number") from None
    seq = BabelSequence(sid=str(entry.get("babel_sid", sid)), feat_p=str(entry["feat_p"]), dur=dur, split=split)
    frame_ann = entry.get("frame_ann")
    seq_ann = entry.get("seq_ann")
    if frame_ann:  # per-segment labels with times
        for lab in frame_ann.get("labels") or []:
            try:
                s, e = float(lab["start_t"]), float(lab["end_t"])
            except (KeyError, TypeError, ValueError):
                raise MclipError(f"{where}: sequence {sid}: frame label without numeric start_t/end_t") from None
            text = _label_text(lab)
            if text and e > s:
                seq.segments.append(Segment(text, tuple(lab.get("act_cat") or ()), s, e))
    elif seq_ann:  # one set of labels for the whole sequence
        for lab in seq_ann.get("labels") or []:
            text = _label_text(lab)
            if text:
                seq.segments.append(Segment(text, tuple(lab.get("act_cat") or ()), 0.0, max(dur, 0.0)))
    seq.segments.sort(key=lambda g: (g.start_t, g.end_t))
    return seq


def read_babel(babel_dir: str | Path, splits: Iterable[str] = ("train", "val")) -> list[BabelSequence]:
    """Sequences of BABEL's split files in ``babel_dir`` (train.json -> "train", val.json -> "val")."""
    root = Path(babel_dir)
    if not root.is_dir():
        raise MclipError(f"{root}: BABEL folder not found (expected train.json and val.json)")
    out: list[BabelSequence] = []
    for split in splits:
        path = root / SPLIT_FILES[split]
        if not path.is_file():
            raise MclipError(f"{path}: missing (BABEL split file)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise MclipError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise MclipError(f"{path}: expected an object keyed by babel_sid")
        out.extend(_parse_sequence(sid, entry, split, str(path)) for sid, entry in data.items())
    return out


def is_transition(g: Segment) -> bool:
    """BABEL marks the in-between of two actions as "transition" (label and/or category)."""
    cats = {normalize_class(c) for c in g.act_cat}
    return normalize_class(g.label) == "transition" or (bool(cats) and cats <= {"transition"})


def clip_segments(seq: BabelSequence, t0: float, t1: float) -> list[tuple[Segment, float]]:
    """Segments overlapping [t0, t1) seconds, with their overlap in seconds (touching = no overlap)."""
    out = []
    for g in seq.segments:
        overlap = min(g.end_t, t1) - max(g.start_t, t0)
        if overlap > 1e-6:
            out.append((g, overlap))
    return out


def clip_text(segments: list[tuple[Segment, float]], joiner: str = ", ") -> str:
    """Labels in time order, each once, joined: "walk, turn around, sit down"."""
    return joiner.join(dict.fromkeys(g.label for g, _ in segments))


def clip_classes(segments: list[tuple[Segment, float]], classes: list[str]) -> list[str]:
    """The clip's action categories that are in ``classes``, longest overlap first (names as in classes)."""
    wanted = {normalize_class(c): c for c in classes}
    total: dict[str, float] = {}
    for g, overlap in segments:
        for cat in dict.fromkeys(normalize_class(c) for c in g.act_cat):
            if cat in wanted:
                total[wanted[cat]] = total.get(wanted[cat], 0.0) + overlap
    return sorted(total, key=lambda c: (-total[c], classes.index(c)))


@dataclass
class PrepareConfig:
    frames: int = CLIP_FRAMES   # clip length at 30 fps
    stride: int | None = None   # frames between clip starts (None = frames: back to back)
    babel60: bool = False       # text = BABEL-60 class names; drop clips with none
    joiner: str = ", "          # between the labels of one clip
    drop_transitions: bool = True  # BABEL's "transition" segments say nothing about the action
    shard_size: int = 4096
    overwrite: bool = False


def prepare_babel(amass_dir: str | Path, babel_dir: str | Path, out_dir: str | Path,
                  cfg: PrepareConfig | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Write AMASS clips labelled by BABEL to ``out_dir`` (the shard format of ``data/dataset.py``).

    Sequences whose AMASS file is absent or unreadable are skipped and counted (users
    often hold part of AMASS). progress(done, total) is called once per sequence.
    Returns a summary: sequences, used, missing (+ missing_examples), unreadable_count
    (+ the first few messages in unreadable), dropped_no_label, clips per split.
    """
    from ..label_sets import load_label_set
    from .dataset import DatasetWriter

    cfg = cfg or PrepareConfig()
    amass_dir = Path(amass_dir)
    if not amass_dir.is_dir():
        raise MclipError(f"{amass_dir}: AMASS folder not found")
    sequences = read_babel(babel_dir)
    if not sequences:
        raise MclipError(f"{babel_dir}: no sequences in train.json / val.json")
    classes = load_label_set("babel60")
    summary = {"sequences": len(sequences), "used": 0, "missing": 0, "unreadable": [],
               "clips": {"train": 0, "val": 0}, "dropped_no_label": 0, "babel60": cfg.babel60}
    missing_examples: list[str] = []
    info = {"source": "AMASS + BABEL", "amass_dir": str(amass_dir), "babel_dir": str(babel_dir),
            "text": "babel60 class names" if cfg.babel60 else "BABEL labels of the clip, joined",
            "frames": cfg.frames}

    writer = DatasetWriter(out_dir, shard_size=cfg.shard_size, overwrite=cfg.overwrite, info=info)
    try:
        for n, seq in enumerate(sequences):
            if progress:
                progress(n, len(sequences))
            path = find_amass_file(amass_dir, seq.feat_p)
            if path is None:
                summary["missing"] += 1
                if len(missing_examples) < 3:
                    missing_examples.append(seq.feat_p)
                continue
            try:
                motion = load_amass(path)
            except MclipError as e:
                summary["unreadable"].append(str(e))
                continue
            summary["used"] += 1
            poses, trans, recs = [], [], []
            for clip in cut_clips(motion.poses, motion.trans, cfg.frames, cfg.stride):
                t0, t1 = clip.start / FPS, (clip.start + cfg.frames) / FPS
                segs = clip_segments(seq, t0, t1)
                if cfg.drop_transitions:
                    segs = [(g, o) for g, o in segs if not is_transition(g)]
                cls = clip_classes(segs, classes)
                text = cfg.joiner.join(cls) if cfg.babel60 else clip_text(segs, cfg.joiner)
                if not text:
                    summary["dropped_no_label"] += 1
                    continue
                poses.append(clip.poses)
                trans.append(clip.trans)
                recs.append({
                    "id": f"babel{seq.sid}_{clip.start:05d}", "text": text,
                    "action": cls[0] if cls else None, "style": None, "split": seq.split,
                    "params": {"babel_sid": seq.sid, "feat_p": seq.feat_p, "start_frame": clip.start,
                               "labels": list(dict.fromkeys(g.label for g, _ in segs)),
                               "act_cat": sorted({c for g, _ in segs for c in g.act_cat}),
                               "babel60": cls},
                })
                summary["clips"][seq.split] += 1
            if recs:
                writer.add(np.stack(poses), np.stack(trans), recs)
        if progress:
            progress(len(sequences), len(sequences))
        if summary["used"] == 0:
            hint = f" (e.g. {missing_examples[0]})" if missing_examples else ""
            raise MclipError(f"{amass_dir}: none of the {len(sequences)} BABEL sequences' AMASS files "
                             f"were found or readable{hint}")
        if sum(summary["clips"].values()) == 0:
            raise MclipError(f"{babel_dir}: no labelled {cfg.frames}-frame clips"
                             + (" with a BABEL-60 class" if cfg.babel60 else ""))
        writer.info["summary"] = {k: v for k, v in summary.items() if k != "unreadable"}
        writer.close()
    except BaseException:
        writer.abort()
        raise
    summary["missing_examples"] = missing_examples
    summary["unreadable_count"] = len(summary["unreadable"])
    summary["unreadable"] = summary["unreadable"][:5]  # the first few messages
    summary["out"] = str(out_dir)
    return summary
