"""Named label sets for classification: the BABEL action-recognition classes, files, lists.

``mclip/labels/babel60.txt`` and ``babel120.txt`` hold the BABEL class names in BABEL's
class-index order (index = line number - 1); BABEL-60/120 are the first 60/120 of
that order (Punnakkal et al., CVPR 2021).
"""
from __future__ import annotations

from pathlib import Path

from .errors import MclipError

__all__ = ["BUILTIN_SETS", "load_label_set"]

_LABEL_DIR = Path(__file__).resolve().parent / "labels"
BUILTIN_SETS = ("babel60", "babel120")


def _read_lines(path: Path) -> list[str]:
    """One label per line; blank lines and '# comments' skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MclipError(f"{path}: cannot read label file ({e})") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def load_label_set(spec: str) -> list[str]:
    """"babel60" | "babel120" | a text file (one label per line) | "a,b,c" -> labels in order.

    Duplicates are dropped (first kept). MclipError when the result is empty or the
    spec is none of the above.
    """
    spec = (spec or "").strip()
    if spec.lower() in BUILTIN_SETS:
        labels = _read_lines(_LABEL_DIR / f"{spec.lower()}.txt")
    elif Path(spec).is_file():
        labels = _read_lines(Path(spec))
    elif "," in spec:
        labels = [s.strip() for s in spec.split(",") if s.strip()]
    elif spec.endswith(".txt") or "/" in spec or "\\" in spec:
        raise MclipError(f"{spec}: label file not found")
    else:
        raise MclipError(f"labels: '{spec}' is not {' or '.join(BUILTIN_SETS)}, a label file, "
                         f"or a comma-separated list")
    labels = list(dict.fromkeys(labels))
    if not labels:
        raise MclipError(f"labels: '{spec}' gives no labels")
    return labels
