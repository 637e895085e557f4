"""Presenting evaluation results: a Rich table for people, an atomic JSON file for scripts.

The results are a nested dict of sections (``reconstruction``, ``classification``, ...)
as built by ``mclip.eval.evaluate``. Nothing here computes a metric.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path


# (section, dotted key inside the section, label shown, unit / format hint)
TABLE_ROWS: list[tuple[str, str, str, str]] = [
    ("reconstruction", "mpjpe_mm", "MPJPE (with root translation)", "mm"),
    ("reconstruction", "root_aligned_mpjpe_mm", "MPJPE (root-aligned)", "mm"),
    ("reconstruction", "rotation_error_deg", "mean rotation geodesic error", "deg"),
    ("reconstruction", "liveliness_ratio", "body speed, reconstructed / real", ""),
    ("reconstruction", "families.locomotion.foot_speed_m_s.ratio", "locomotion: feet speed, reconstructed / real", ""),
    ("reconstruction", "families.kicks.ankle_peak_m.ratio", "kicks: ankle peak, reconstructed / real", ""),
    ("reconstruction", "families.kicks.foot_speed_m_s.ratio", "kicks: feet speed, reconstructed / real", ""),
    ("reconstruction", "families.jumps.foot_speed_m_s.ratio", "jumps: feet speed, reconstructed / real", ""),
    ("reconstruction", "families.jumps.ankle_peak_m.ratio", "jumps: ankle peak, reconstructed / real", ""),
    ("reconstruction", "families.arm actions.wrist_speed_m_s.ratio", "arm actions: wrist speed, reconstructed / real", ""),
    ("reconstruction", "families.arm actions.wrist_reach_m.ratio", "arm actions: wrist reach, reconstructed / real", ""),
    ("classification", "num_classes", "label set size", ""),
    ("classification", "all.top1", "zero-shot top-1 (all clips)", "%"),
    ("classification", "all.top5", "zero-shot top-5 (all clips)", "%"),
    ("classification", "seen_phrasing.top1", "top-1, phrasing seen in training", "%"),
    ("classification", "seen_phrasing.top5", "top-5, phrasing seen in training", "%"),
    ("classification", "heldout_phrasing.top1", "top-1, held-out phrasing", "%"),
    ("classification", "heldout_phrasing.top5", "top-5, held-out phrasing", "%"),
    ("classification", "calibration.temperature", "softmax temperature of the weights", ""),
    ("classification", "calibration.ece", "  calibration error (ECE) of top-1 probability", "%"),
    ("classification", "calibration.fitted_temperature", "  temperature fitted to these clips", ""),
    ("classification", "calibration.ece_at_fitted", "  ECE at the fitted temperature", "%"),
    ("text2motion", "r_precision.top1", "R-precision top-1 (of 32)", "%"),
    ("text2motion", "r_precision.top3", "R-precision top-3 (of 32)", "%"),
    ("text2motion", "text_motion_cosine", "cos(prompt, re-encoded motion)", ""),
    ("text2motion", "plausibility.generated.foot_skate_mm", "foot skate, generated", "mm"),
    ("text2motion", "plausibility.real.foot_skate_mm", "foot skate, real clips", "mm"),
    ("text2motion", "plausibility.generated.ground_penetration_mm", "ground penetration, generated", "mm"),
    ("text2motion", "plausibility.real.ground_penetration_mm", "ground penetration, real clips", "mm"),
    ("text2motion", "plausibility.generated.jerk", "jerk, generated", "m/s3"),
    ("text2motion", "plausibility.real.jerk", "jerk, real clips", "m/s3"),
    ("text2motion", "liveliness.ratio", "body speed, generated / real (same prompts)", ""),
    ("text2motion", "leaves_ground.real", "clips leaving the ground, real (same prompts)", "%"),
    ("text2motion", "leaves_ground.generated", "clips leaving the ground, generated", "%"),
    ("text2motion", "leaves_ground.when_real_flies", "  of prompts whose real clips fly (jumps)", "%"),
    ("text2motion", "leaves_ground.clearance_when_real_flies_m.generated", "  height cleared, generated", "m"),
    ("text2motion", "leaves_ground.clearance_when_real_flies_m.real", "  height cleared, real", "m"),
    ("text2motion", "leaves_ground.when_real_grounded", "  of prompts whose real clips stay down", "%"),
    ("text2motion", "leaves_ground.clearance_when_real_grounded_m.generated", "  height cleared there (hovering)", "m"),
    ("text2motion", "stepping.n_travelling_prompts", "prompts whose real clips travel (locomotion)", ""),
    ("text2motion", "stepping.travel_m_s.generated", "  speed over the ground, generated", "m/s"),
    ("text2motion", "stepping.travel_m_s.real", "  speed over the ground, real", "m/s"),
    ("text2motion", "stepping.foot_speed_ratio", "  feet speed (steps), generated / real", ""),
    ("text2motion", "families.locomotion.foot_speed_m_s.ratio", "locomotion prompts: feet speed, generated / real", ""),
    ("text2motion", "families.kicks.ankle_peak_m.ratio", "kick prompts: ankle peak, generated / real", ""),
    ("text2motion", "families.jumps.ankle_peak_m.ratio", "jump prompts: ankle peak, generated / real", ""),
    ("text2motion", "families.arm actions.wrist_reach_m.ratio", "arm prompts: wrist reach, generated / real", ""),
    ("text2motion", "families.arm actions.wrist_speed_m_s.ratio", "arm prompts: wrist speed, generated / real", ""),
    ("text2motion", "spread.takes_m.generated", "two takes of one prompt: distance, generated", "m"),
    ("text2motion", "spread.takes_m.real", "two real clips of one text: distance", "m"),
    ("text2motion", "spread.takes_m.real_same_action", "two real clips of one action: distance", "m"),
    ("text2motion", "spread.prompts_m.generated", "different prompts: distance, generated", "m"),
    ("text2motion", "spread.prompts_m.real", "different real clips: distance", "m"),
    ("text2motion", "abstract_prompts.hit_rate", "abstract prompts: nearest real clip is a related action", "%"),
    ("text2motion", "abstract_prompts.nn_real", "  (the same labelling of real clips by real clips)", "%"),
    ("interpolation", "step_mpjpe_mm", "mean step between neighbours", "mm"),
    ("interpolation", "max_step_ratio", "largest / mean step (1 = even)", ""),
    ("interpolation", "step_cv", "step size coeff. of variation", ""),
    ("interpolation", "plausibility_max.foot_skate_mm", "foot skate, worst step", "mm"),
    ("interpolation", "plausibility_max.ground_penetration_mm", "ground penetration, worst step", "mm"),
    ("interpolation", "plausibility_max.jerk", "jerk, worst step", "m/s3"),
]


def lookup(results: dict, section: str, dotted: str):
    """results[section][a][b]... for dotted 'a.b'; None when any part is missing."""
    node = results.get(section)
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _count_of(results: dict, section: str, dotted: str):
    """The clip count of a row: the nearest "n" above its key ("a.b.c" -> "a.b.n",
    "a.n", then the section's "n")."""
    parts = dotted.split(".")[:-1]
    while parts:
        n = lookup(results, section, ".".join(parts) + ".n")
        if n is not None:
            return n
        parts.pop()
    return lookup(results, section, "n")


def format_value(value, unit: str) -> str:
    """A number as shown in the table: percentages for accuracies, 1-3 decimals otherwise."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{100.0 * value:.1f} %"
    if unit == "m":
        return f"{value:.3f} m"
    if unit in ("mm", "deg"):
        return f"{value:.1f} {unit}"
    if unit:
        return f"{value:.4g} {unit}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def results_table(results: dict):
    """A rich.table.Table with one row per metric present in ``results``."""
    from rich.markup import escape
    from rich.table import Table

    meta = results.get("meta", {})
    title = f"mclip eval - {meta.get('data', '?')} [{meta.get('split', '?')} split]"
    sampler = lookup(results, "text2motion", "sampler")
    if sampler:
        title += f", text2motion sampler: {sampler}"
    title = escape(title)
    table = Table(title=title)
    table.add_column("section", style="cyan")
    table.add_column("metric")
    # with a latent sampler, text2motion is scored twice: sampled, and the direct path
    # (paper 4.2) in a column beside it
    direct = "text2motion_direct" in results
    table.add_column("value", justify="right", style="bold")
    if direct:
        table.add_column("direct path", justify="right")
    table.add_column("n", justify="right", style="dim")
    for section, key, label, unit in TABLE_ROWS:
        value = lookup(results, section, key)
        if value is None:
            continue
        n = _count_of(results, section, key)
        cells = [section, label, format_value(value, unit)]
        if direct:
            cells.append(format_value(lookup(results, "text2motion_direct", key), unit)
                         if section == "text2motion" else "")
        table.add_row(*cells, "" if n is None else str(n))
    return table


def _json_safe(obj):
    """NaN/inf are not JSON: write them as null so any JSON reader accepts the file."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_json(results: dict, path: str | os.PathLike) -> Path:
    """Write ``results`` as JSON atomically (``mclip.atomic``: temp file in the
    target folder, then os.replace), so a reader never sees a half-written file and an
    interrupted write leaves the old file, if any, in place. NaN is written as null.
    """
    from ..atomic import atomic_write

    text = json.dumps(_json_safe(results), indent=2, allow_nan=False) + "\n"
    with atomic_write(path) as f:
        f.write(text)
    return Path(path)
