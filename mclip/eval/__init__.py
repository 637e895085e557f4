"""`mclip eval`: how good is a checkpoint? (``harness.evaluate``; its docstring lists the
four sections and how they are measured.)

- ``config``: ``EvalConfig`` and the section names;
- ``clips``: the held-out clips, read once, and what their texts' real clips do;
- ``sections``: reconstruction, classification, text-to-motion, interpolation;
- ``physics``: ground contact, flight, plausibility, per-family limb numbers;
- ``metrics``: pure metric functions on tensors (MPJPE, geodesic error, top-k,
  R-precision, calibration, interpolation smoothness);
- ``plausibility``: numpy plausibility metrics (foot skate, penetration, jerk, bone
  lengths, joint limits), also used by the corpus gallery;
- ``report``: the Rich table and the atomic JSON file.
"""
from .config import SECTIONS, EvalConfig
from .harness import evaluate

__all__ = ["EvalConfig", "evaluate", "SECTIONS"]
