"""Typed configuration dataclasses and the JSON files they are read from.

``ModelConfig`` and ``PriorConfig`` share these rules: every field has the type of its
default (an int is accepted for a float), ints are at least 1 unless 0 means "off",
unknown keys are refused, and a shipped config is found by name in its folder. Each
fault is one ``MclipError`` naming the config (``what``: "model config", ...).
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from .errors import MclipError


def check_fields(cfg, what: str, zero_allowed: tuple[str, ...] = ()) -> None:
    """Check (and coerce int -> float) every field of the dataclass ``cfg`` in place."""
    for f in fields(cfg):
        v, kind = getattr(cfg, f.name), type(f.default)
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
            setattr(cfg, f.name, v)
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise MclipError(f"{what}: {f.name} must be {kind.__name__}, got {v!r}")
        low = 0 if f.name in zero_allowed else 1
        if kind is int and v < low:
            raise MclipError(f"{what}: {f.name} must be at least {low}, got {v}")


def config_from_dict(cls, d, what: str):
    """An instance of the dataclass ``cls`` from a dict of its fields ("name" and "why",
    the shipped files' prose, are skipped)."""
    if not isinstance(d, dict):
        raise MclipError(f"{what}: expected a table of settings, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known - {"name", "why"})
    if unknown:
        raise MclipError(f"{what}: unknown keys {unknown}")
    return cls(**{k: v for k, v in d.items() if k in known})


def shipped_names(folder: Path) -> list[str]:
    """Names of the configs shipped in ``folder`` (``*.json``)."""
    return sorted(p.stem for p in folder.glob("*.json"))


def load_config_file(cls, name_or_path: str, folder: Path, what: str):
    """``cls`` from a shipped config of ``folder`` by name, or from a JSON file path."""
    p = Path(name_or_path)
    if not (p.suffix == ".json" and p.exists()):
        p = folder / f"{name_or_path}.json"
    if not p.exists():
        raise MclipError(f"{name_or_path}: no such {what} (shipped: {', '.join(shipped_names(folder))})")
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MclipError(f"{p}: cannot read {what} ({e})") from None
    return config_from_dict(cls, data, what)
