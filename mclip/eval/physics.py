"""Physical numbers of motion (joints ``(B, T, 24, 3)``, metres, z-up, 30 fps): contact
with the ground and flight, plausibility (foot skate, penetration, jerk), and per
action family the limb numbers a frozen leg or a held pose shows up in.
"""
from __future__ import annotations


import numpy as np
import torch

from . import metrics as M
from . import plausibility as pm


def _grounded(joints: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, 24, 3) -> (joints as float64 numpy, floor (N, 1, 1) m): each clip's floor is
    its lowest body-surface point over the whole clip (the corpus' surface offsets,
    ``plausibility.SURFACE``). Like the engine, which puts the lowest sole on z = 0, this
    judges a clip by where it stands, not by the height a raw decoder put it at."""
    j = joints.detach().cpu().double().numpy()
    return j, (j[..., 2] - pm.SURFACE).min(axis=(1, 2), keepdims=True)


def clearance(joints: torch.Tensor) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) the highest the whole body gets off its floor
    (m, see ``_grounded``): max over frames of the lowest body-surface point.
    A real jump clears 0.1-0.3 m; walking about 0."""
    j, floor = _grounded(joints)
    return torch.from_numpy((j[..., 2] - pm.SURFACE - floor).min(axis=-1).max(axis=-1))


def leaves_ground(joints: torch.Tensor, min_frames: int = 3) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) bool: the clip has at least ``min_frames``
    frames (0.1 s at 30 fps) with the whole body off its floor (``_grounded``) by the
    corpus' own flight test (``plausibility.airborne_frames``): a jump's flight.
    A raw decoder output floating above z = 0 does not count."""
    j, floor = _grounded(joints)
    return torch.from_numpy(pm.airborne_frames(j, floor).sum(axis=1) >= min_frames)


# ---------------------------------------------------------------- the run


PLAUSIBILITY_KEYS = ("foot_skate_mm", "ground_penetration_mm", "jerk")


def _plausibility(joints: torch.Tensor) -> dict[str, float]:
    """Physical plausibility of clips, from the corpus' own metrics (``plausibility``).

    joints: (N, T, 24, 3) metres, z-up world, floor at z = 0, 30 fps.
    returns means over the N clips of: foot_skate_mm (horizontal slide of a planted foot
    joint per contact frame), ground_penetration_mm (deepest body-surface point below
    the floor in the clip), jerk (mean joint jerk, m/s^3).
    """
    j = joints.detach().cpu().double().numpy()
    return {
        "n": int(j.shape[0]),
        "foot_skate_mm": float(pm.foot_skate(j).mean() * 1000.0),
        "ground_penetration_mm": float(pm.ground_penetration(j).mean() * 1000.0),
        "jerk": float(pm.jerk(j).mean()),
    }



FAMILIES: dict[str, tuple[str, ...]] = {
    "locomotion": ("walk", "jog", "run", "sprint", "side_step", "march", "tiptoe", "limp",
                   "skip", "crawl"),
    "kicks": ("kick",),
    "jumps": ("jump", "hop"),
    "arm actions": ("wave", "clap", "raise", "point", "salute", "drink", "shrug", "flap",
                    "conduct", "swim", "punch", "hook", "throw", "tennis", "boxing"),
}
# what each family is judged on: the feet (speed relative to the pelvis, highest ankle)
# or the hands (speed, farthest from the chest)
FAMILY_LIMB_METRICS = ("foot_speed_m_s", "ankle_peak_m", "wrist_speed_m_s", "wrist_reach_m")


def action_family(action: str) -> str | None:
    """The family (``FAMILIES``) of a clip's action, or None. "walk+wave" is locomotion:
    the body action decides, the arm layer rides on it."""
    body = action.split("+")[0].lower().replace(" ", "_")
    for family, keys in FAMILIES.items():
        if any(k in body for k in keys):
            return family
    return None


def ankle_peak(joints: torch.Tensor) -> torch.Tensor:
    """(N, T, 24, 3) metres, z-up -> (N,) m: the highest either ankle gets above the
    clip's floor (``_grounded``). Standing ~0.08 m; a front kick 0.6-1.2 m."""
    j, floor = _grounded(joints)
    return torch.from_numpy((j[..., M.ANKLES, 2] - floor).max(axis=(1, 2)))


def _limb_metrics(joints: torch.Tensor) -> dict[str, torch.Tensor]:
    """(N, T, 24, 3) -> each of ``FAMILY_LIMB_METRICS`` per clip (N,)."""
    return {"foot_speed_m_s": M.foot_speed(joints), "ankle_peak_m": ankle_peak(joints),
            "wrist_speed_m_s": M.wrist_speed(joints), "wrist_reach_m": M.wrist_reach(joints)}


def _family_report(recon: torch.Tensor, real: torch.Tensor, actions: list[str]) -> dict:
    """Per action family: how far the reconstructed limbs move against the real clip's.
    recon, real: (N, T, 24, 3). For each metric the means over the family's clips, real
    and reconstructed, and their ratio (1 = as lively; a frozen leg shows as ~0)."""
    fam = [action_family(a) if a else None for a in actions]
    return _family_rows(_limb_metrics(recon), _limb_metrics(real), fam, "reconstructed")


def _family_rows(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor],
                 fam: list[str | None], label: str) -> dict:
    """Per family of ``FAMILIES``: n and, per metric of ``FAMILY_LIMB_METRICS``, the means
    of ``want`` ("real") and ``got`` (``label``) over the family's rows and their ratio.
    got, want: metric -> (N,); fam: the family of each row."""
    out = {}
    for family in FAMILIES:
        idx = [i for i, f in enumerate(fam) if f == family]
        if not idx:
            continue
        rows = {"n": len(idx)}
        for k in FAMILY_LIMB_METRICS:
            r, g = float(want[k][idx].double().mean()), float(got[k][idx].double().mean())
            # no ratio where the real limb does not move (a standing wave's feet): None,
            # which JSON writes as null and compares equal to itself
            rows[k] = {"real": r, label: g, "ratio": g / r if r > 1e-3 else None}
        out[family] = rows
    return out
