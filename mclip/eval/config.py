"""What one ``mclip eval`` run measures: ``EvalConfig`` and the section names.
"""
from __future__ import annotations

from dataclasses import dataclass





SECTIONS = ("reconstruction", "classification", "text2motion", "interpolation")
LABEL_SETS = ("auto", "actions", "babel60")


@dataclass
class EvalConfig:
    """Knobs of one evaluation run (the CLI exposes the common ones)."""

    split: str = "test"
    n: int = 512                  # clips (and prompts, at least group_size) to evaluate
    seed: int = 0
    batch_size: int = 64
    labels: str = "auto"          # "auto" | "actions" | "babel60"
    group_size: int = 32          # R-precision: 1 true prompt + 31 distractors
    interp_pairs: int = 32        # clip pairs for the latent interpolation test
    interp_steps: int = 7         # points on each path, endpoints included (>= 5)
    sections: tuple[str, ...] = SECTIONS
    device: str | None = None
    takes: int = 4                # text2motion: takes per prompt for the spread rows ...
    takes_prompts: int = 64       # ... over this many prompts
    guidance: float | None = None     # the sampler's guidance and steps (None: its own)
    sample_steps: int | None = None
