"""The embedded motion corpus: a procedural, labelled human-motion generator.

``generate(n, seed, frames=60)`` -> ``(poses (n, T, 24, 3), trans (n, T, 3), records)``
and ``write_corpus(out, n, seed, ...)`` (the ``mclip data synth`` command). Modules:
the building blocks rig (the batch of clips, body constants, forward kinematics), axes
(rotations in body axes), timing (eases, noise, phases), context (``Ctx``, what an action
gets), limbs (two-bone IK of legs and arms), poses (arms, trunk and head from angles),
contact (feet and ground) and output (SMPL arrays, mirror, place); the actions in
locomotion, whole_body, arms, sport, dance; styles, language (phrasings), compose
(registry + batch builder), writer (files), gallery (contact sheets of every action,
measured with ``mclip.eval.plausibility``).
"""
from .compose import ACTIONS
from .styles import STYLES
from .writer import generate, write_corpus

__all__ = ["ACTIONS", "STYLES", "generate", "write_corpus"]
