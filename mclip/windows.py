"""Cutting motions of any length into model-sized windows, and stitching them back.

The model sees 60-frame clips (2 s at 30 fps). A longer motion is cut into
overlapping windows (``hop`` frames apart, the last one flush with the end); a shorter
one is padded by holding its last frame. After editing, each window is decoded on its
own, and neighbours are joined with a cross-fade over their overlap:

- joint rotations: quaternion slerp from the earlier window to the later one, with a
  weight that ramps 0 -> 1 across the overlap;
- root translation: the later window is first shifted horizontally (x, y) so that it
  starts where the earlier one is at that frame (the trajectory continues instead of
  jumping back to where the *input* was), then blended linearly.

Rigid "yaw + shift" moves of a whole body (what ``representation.canonicalize`` does)
live here too, so a canonicalised window can be put back where it came from.

World frame z-up, metres; rotations are local (..., 24, 3, 3) as in ``skeleton``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import skeleton
from .rotations import matrix_to_quaternion, quaternion_slerp, quaternion_to_matrix

WINDOW = 60
HOP = 30


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of a ``length``-frame motion start (``size`` frames each)."""

    length: int
    size: int
    starts: tuple[int, ...]

    @property
    def padded(self) -> bool:
        """True when the motion is shorter than one window (it is padded)."""
        return self.length < self.size


def plan_windows(length: int, size: int = WINDOW, hop: int = HOP) -> WindowPlan:
    """Window starts covering frames 0..length-1: 0, hop, 2*hop, ... and one flush with
    the end. A motion of at most ``size`` frames gives the single start 0."""
    if length < 1:
        raise ValueError("a motion needs at least one frame")
    if hop < 1 or hop > size:
        raise ValueError(f"hop must be in 1..{size}, got {hop}")
    if length <= size:
        return WindowPlan(length, size, (0,))
    starts = list(range(0, length - size + 1, hop))
    if starts[-1] != length - size:
        starts.append(length - size)
    return WindowPlan(length, size, tuple(starts))


def pad_frames(x: torch.Tensor, size: int) -> torch.Tensor:
    """(T, ...) -> (max(T, size), ...) by repeating the last frame (a held pose)."""
    if x.shape[0] >= size:
        return x
    tail = x[-1:].expand((size - x.shape[0],) + tuple(x.shape[1:]))
    return torch.cat([x, tail], dim=0)


def cut_windows(x: torch.Tensor, plan: WindowPlan) -> torch.Tensor:
    """(T, ...) -> (W, size, ...): the windows of ``plan`` (padded when T < size)."""
    x = pad_frames(x, plan.size)
    return torch.stack([x[s:s + plan.size] for s in plan.starts], dim=0)


# ------------------------------------------------------------------ rigid moves


def move_body(rotmats: torch.Tensor, trans: torch.Tensor, R: torch.Tensor, shift: torch.Tensor):
    """Move a whole body rigidly in the world: every world point p goes to R p + shift.

    rotmats (T, 24, 3, 3) local rotations, trans (T, 3); R (3, 3); shift (3,).
    Only the global orientation and the translation change. Because the pelvis sits at
    ``REST_JOINTS[0] + trans`` (smplx semantics, not rotated by the global orientation),
    the new translation is ``R (rest0 + trans) + shift - rest0``.
    returns (rotmats, trans) of the moved body.
    """
    rest0 = torch.as_tensor(skeleton.REST_JOINTS[0], dtype=trans.dtype, device=trans.device)
    out = rotmats.clone()
    out[..., 0, :, :] = R @ rotmats[..., 0, :, :]
    new_trans = (R @ (trans + rest0)[..., None])[..., 0] + shift - rest0
    return out, new_trans


def rigid_between(root_a: torch.Tensor, trans_a: torch.Tensor,
                  root_b: torch.Tensor, trans_b: torch.Tensor):
    """The rigid move (R, shift) taking body pose a to body pose b (one frame each).

    root_* (3, 3) global orientations, trans_* (3,). Used to recover what
    ``canonicalize`` did to a window, so the edited window can be moved back.
    """
    rest0 = torch.as_tensor(skeleton.REST_JOINTS[0], dtype=trans_a.dtype, device=trans_a.device)
    R = root_b @ root_a.transpose(-1, -2)
    shift = (trans_b + rest0) - R @ (trans_a + rest0)
    return R, shift


def invert_move(R: torch.Tensor, shift: torch.Tensor):
    """Inverse of p -> R p + shift: p -> R^T p - R^T shift."""
    Rt = R.transpose(-1, -2)
    return Rt, -(Rt @ shift)


# ------------------------------------------------------------------ stitching


def crossfade_weights(overlap: int) -> torch.Tensor:
    """(overlap,) weights of the *later* window, strictly between 0 and 1, increasing."""
    return torch.arange(1, overlap + 1, dtype=torch.float32) / (overlap + 1)


def stitch(pieces: list[tuple[torch.Tensor, torch.Tensor]], plan: WindowPlan,
           follow_heading: bool = False):
    """Join decoded windows into one motion of ``plan.length`` frames.

    pieces: one (rotmats (size, 24, 3, 3), trans (size, 3)) per window of ``plan``, each
    already in the world frame of the input. returns (rotmats (T, 24, 3, 3), trans (T, 3)).
    follow_heading: first turn each piece about world z so that it starts facing where
    the motion so far faces at that frame (for pieces that all start canonical, e.g. one
    clip repeated to make a longer motion).
    """
    if len(pieces) != len(plan.starts):
        raise ValueError("one piece per window is needed")
    rot, tr = pieces[0]
    rot, tr = rot.clone(), tr.clone()
    for (r_new, t_new), start in zip(pieces[1:], plan.starts[1:]):
        end = rot.shape[0]                    # frames stitched so far
        overlap = end - start
        if follow_heading:
            from .representation import heading

            yaw = heading(rot[start, 0]) - heading(r_new[0, 0])
            c, s = torch.cos(yaw), torch.sin(yaw)
            Rz = torch.stack([torch.stack([c, -s, 0 * c]), torch.stack([s, c, 0 * c]),
                              torch.stack([0 * c, 0 * c, 0 * c + 1])]).to(tr.dtype)
            r_new, t_new = move_body(r_new, t_new, Rz, torch.zeros(3, dtype=tr.dtype))
        # Continue the trajectory: put the new window's start where we already are.
        t_new = t_new.clone()
        t_new[:, :2] += tr[start, :2] - t_new[0, :2]
        w = crossfade_weights(overlap).to(tr.dtype)
        q_old = matrix_to_quaternion(rot[start:])
        q_new = matrix_to_quaternion(r_new[:overlap])
        q_mix = quaternion_slerp(q_old, q_new, w[:, None].expand(overlap, q_old.shape[1]))
        rot = torch.cat([rot[:start], quaternion_to_matrix(q_mix), r_new[overlap:]], dim=0)
        t_mix = (1 - w[:, None]) * tr[start:] + w[:, None] * t_new[:overlap]
        tr = torch.cat([tr[:start], t_mix, t_new[overlap:]], dim=0)
    return rot[:plan.length], tr[:plan.length]


def mean_direction(z: torch.Tensor) -> torch.Tensor:
    """(W, D) window latents -> (D,) unit mean direction (the cosine losses only fix
    a latent's direction, so directions are what get averaged)."""
    zn = torch.nn.functional.normalize(z, dim=-1, eps=1e-8)
    return torch.nn.functional.normalize(zn.mean(0), dim=-1, eps=1e-8)


def window_times(plan: WindowPlan, fps: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each window, clipped to the motion's length."""
    return [(s / fps, min(s + plan.size, plan.length) / fps) for s in plan.starts]


__all__ = [
    "WINDOW", "HOP", "WindowPlan", "plan_windows", "pad_frames", "cut_windows",
    "move_body", "rigid_between", "invert_move", "crossfade_weights", "stitch",
    "mean_direction", "window_times",
]
