"""Moved to ``mclip.eval.plausibility`` (the evaluation's metrics no longer live in the
corpus generator). This name stays only while README.md still points here; nothing in
mclip imports it."""
from ...eval.plausibility import *  # noqa: F401,F403
