"""The fixed perspective camera of a render: placed once for the whole motion, in a
3/4 elevated view in front of the person (``facing_yaw``), framing every joint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..skeleton import JOINT_INDEX
from .config import HEAD_CENTRE_ALONG, HEAD_RADIUS, RenderConfig, SHADOW_RADIUS, _HEAD, _NECK, _PELVIS


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. `rotation` rows are the camera's right, down and forward axes
    in world coordinates; pixel = focal * (x/z, y/z) + principal."""

    rotation: np.ndarray   # (3, 3)
    position: np.ndarray   # (3,) world, metres
    focal: float           # pixels
    principal: tuple[float, float]

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world -> (..., 3) camera coordinates (z = depth along the view)."""
        return (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) world -> pixels (..., 2) and depth (...,) in metres."""
        cam = self.to_camera(points)
        depth = cam[..., 2]
        safe = np.maximum(depth, 1e-6)
        uv = np.stack(
            [self.focal * cam[..., 0] / safe + self.principal[0],
             self.focal * cam[..., 1] / safe + self.principal[1]], axis=-1)
        return uv, depth


def facing_yaw(joints: np.ndarray) -> float:
    """Heading (radians about world z, 0 = +x) the person faces in the first frame.

    Facing = (left - right) x up, from hips and shoulders; -y (yaw -90 deg) if the body
    is lying so that its left-right axis is vertical.
    """
    j = joints[0]
    across = (j[JOINT_INDEX["left_hip"]] - j[JOINT_INDEX["right_hip"]]
              + j[JOINT_INDEX["left_shoulder"]] - j[JOINT_INDEX["right_shoulder"]])
    fx, fy = across[1], -across[0]          # cross(across, z) keeps the xy part only
    if math.hypot(fx, fy) < 1e-3:
        return -math.pi / 2
    return math.atan2(fy, fx)


def view_rotation(yaw: float, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """(3, 3) camera rotation looking back at a person who faces `yaw`.

    The camera sits in front of the person, turned by `azimuth_deg` about world z and
    raised by `elevation_deg`; rows = right, down, forward (world coordinates).
    """
    a = yaw + math.radians(azimuth_deg)
    e = math.radians(elevation_deg)
    to_camera = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    forward = -to_camera
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def ground_height(joints: np.ndarray) -> float:
    """The floor: z = 0, or the lowest joint's height if the motion dips below zero."""
    return float(min(0.0, joints[..., 2].min()))


def head_centres(joints: np.ndarray) -> np.ndarray:
    """(..., 24, 3) -> (..., 3) centre of the head sphere."""
    head, neck = joints[..., _HEAD, :], joints[..., _NECK, :]
    return head + HEAD_CENTRE_ALONG * (head - neck)


def _fit_points(joints: np.ndarray, ground: float) -> np.ndarray:
    """(N, 3) points the camera must keep in view: joints, head top, pelvis shadow."""
    pts = [joints.reshape(-1, 3)]
    hc = head_centres(joints)
    pts.append(hc + [0, 0, HEAD_RADIUS])
    pelvis = joints[:, _PELVIS].copy()
    pelvis[:, 2] = ground
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        pts.append(pelvis + [dx * SHADOW_RADIUS, dy * SHADOW_RADIUS, 0])
    return np.concatenate(pts).astype(np.float64)


def _camera_distance(points: np.ndarray, cfg: RenderConfig) -> float:
    lo, hi = points.min(0), points.max(0)
    radius = 0.5 * float(np.linalg.norm(hi - lo))
    return max(cfg.min_distance, 2.6 * radius + 0.5)


def _fit(points, rotation, target, distance, area):
    """Scale and principal point that fit `points` into the pixel box `area`.

    Returns (focal, principal, position) for a camera `distance` m from `target`.
    """
    position = np.asarray(target, dtype=np.float64) - rotation[2] * distance
    cam = (points - position) @ rotation.T
    z = np.maximum(cam[:, 2], 1e-3)
    u, v = cam[:, 0] / z, cam[:, 1] / z
    x0, y0, x1, y1 = area
    du, dv = max(u.max() - u.min(), 1e-6), max(v.max() - v.min(), 1e-6)
    focal = min((x1 - x0) / du, (y1 - y0) / dv)
    return focal, (u.min() + u.max()) / 2, (v.min() + v.max()) / 2, position


# =================================================================== text
