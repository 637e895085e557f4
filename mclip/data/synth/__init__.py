"""The embedded motion corpus: a procedural, labelled human-motion generator.

``generate(n, seed, frames=60)`` -> ``(poses (n, T, 24, 3), trans (n, T, 3), records)``
and ``write_corpus(out, n, seed, ...)`` (the ``mclip data synth`` command). Modules:
core (rig, rotations, IK, ground contact), locomotion, whole_body, arms, sport, dance,
styles, language (phrasings), compose (registry + batch builder), writer (files), gallery
(contact sheets of every action, measured with ``mclip.eval.plausibility``).
"""
from .compose import ACTIONS
from .styles import STYLES
from .writer import generate, write_corpus

__all__ = ["ACTIONS", "STYLES", "generate", "write_corpus"]
