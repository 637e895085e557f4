"""The pose image for CLIP's image tower: one frame as a shaded body-like figure
(capsules per bone, a head sphere, a floor) seen by a fixed camera in front,
rasterised with numpy and a z-buffer (the paper renders SMPL meshes in Blender).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import MclipError
from ..skeleton import BONES, FOOT_HEIGHT, JOINT_INDEX, NUM_JOINTS
from .config import HEAD_RADIUS, _PELVIS
from .camera import Camera, head_centres, view_rotation


# =================================================================== pose images for CLIP
#
# One pose drawn as a shaded body-like figure: a capsule per bone (plus a few torso
# capsules to fill the trunk), a head sphere, a floor with soft contact shadows, seen by
# a camera fixed in the world (in front of a person facing -y, slightly from their left
# and above). The figure is moved so its pelvis is over the image centre and its lowest
# point on the floor, so only the pose (and heading) changes the picture. Rasterised in
# numpy: per capsule, each pixel in its screen box gets the distance to the bone's axis,
# from which coverage, a sphere-like normal (Lambert + a little specular) and a depth for
# the z-buffer follow.


@dataclass(frozen=True)
class PoseImageConfig:
    """Camera and look of `pose_image`. Metres and degrees."""

    elevation_deg: float = 12.0
    azimuth_deg: float = 25.0      # camera turned toward the person's left (world +x)
    distance: float = 6.0          # camera to the look-at point
    view_height: float = 2.6       # metres visible from bottom to top at that distance
    look_at_height: float = 1.0    # look-at point above the floor
    body: tuple[int, int, int] = (176, 186, 206)
    floor: tuple[int, int, int] = (214, 210, 200)
    sky_top: tuple[int, int, int] = (120, 132, 150)
    sky_bottom: tuple[int, int, int] = (200, 204, 210)


# Capsule radii (metres) by the bone's child joint; beyond the 23 bones, three extra
# capsules fill the trunk (across the hips, and each collar to its hip).
_BONE_RADIUS = {
    "left_hip": 0.085, "left_knee": 0.075, "left_ankle": 0.055, "left_foot": 0.045,
    "spine1": 0.12, "spine2": 0.125, "spine3": 0.13, "neck": 0.06, "left_collar": 0.075,
    "head": 0.055, "left_shoulder": 0.06, "left_elbow": 0.05, "left_wrist": 0.042,
    "left_hand": 0.036,
}
_EXTRA_CAPSULES = (("left_hip", "right_hip", 0.09), ("left_collar", "left_hip", 0.085),
                   ("right_collar", "right_hip", 0.085))


def _capsules() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(C,) parent index, (C,) child index, (C,) radius of every capsule."""
    a, b, r = [], [], []
    names = {v: k for k, v in JOINT_INDEX.items()}
    for p, c in BONES:
        key = names[c].replace("right_", "left_")
        a.append(p), b.append(c), r.append(_BONE_RADIUS[key])
    for p, c, rad in _EXTRA_CAPSULES:
        a.append(JOINT_INDEX[p]), b.append(JOINT_INDEX[c]), r.append(rad)
    return np.array(a), np.array(b), np.array(r, dtype=np.float64)


_CAP_A, _CAP_B, _CAP_R = _capsules()
# Light from the camera's upper left, toward the scene (camera coords: x right, y down,
# z forward); the diffuse term uses the direction *to* the light.
_TO_LIGHT = (np.array([-0.45, -0.65, -0.62]) / np.linalg.norm([-0.45, -0.65, -0.62])).astype(np.float32)
_HALF = ((_TO_LIGHT + [0, 0, -1]) / np.linalg.norm(_TO_LIGHT + [0, 0, -1])).astype(np.float32)


def _pose_camera(size: int, cfg: PoseImageConfig) -> Camera:
    """The fixed camera, in coordinates where the floor is z = 0 and the pelvis is over
    the origin."""
    rot = view_rotation(-math.pi / 2, cfg.azimuth_deg, cfg.elevation_deg)
    target = np.array([0.0, 0.0, cfg.look_at_height])
    return Camera(rot, target - rot[2] * cfg.distance, size * cfg.distance / cfg.view_height,
                  (size / 2.0, size / 2.0))


@lru_cache(maxsize=8)
def _pose_background(size: int, cfg: PoseImageConfig) -> np.ndarray:
    """(size, size, 3) float32: sky gradient and a checkered floor (0.5 m squares)
    fading into the distance, cast per pixel once and cached."""
    cam = _pose_camera(size, cfg)
    v, u = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    rays = np.stack([(u - cam.principal[0]) / cam.focal, (v - cam.principal[1]) / cam.focal,
                     np.ones_like(u)], -1) @ cam.rotation            # world directions
    t = np.linspace(0, 1, size)[:, None, None]
    img = np.array(cfg.sky_top) * (1 - t) + np.array(cfg.sky_bottom) * t
    img = np.broadcast_to(img, (size, size, 3)).copy()
    down = rays[..., 2] < -1e-6
    hit_t = np.where(down, -cam.position[2] / np.where(down, rays[..., 2], -1.0), 1e6)
    hit = cam.position + rays * hit_t[..., None]      # only used where `down`
    check = (np.floor(hit[..., 0] / 0.5) + np.floor(hit[..., 1] / 0.5)) % 2
    floor = np.array(cfg.floor) * (1.0 - 0.06 * check[..., None])
    fade = np.clip((hit_t - cfg.distance) / 25.0, 0, 1)[..., None]     # haze far away
    floor = floor * (1 - fade) + np.array(cfg.sky_bottom) * fade
    img[down] = floor[down]
    return img.astype(np.float32)


_PIXELS = np.arange(4096, dtype=np.float32) + 0.5   # pixel-centre coordinates


def _draw_capsule(img, zbuf, a, b, ra, rb, za, zb, rad_world, colour):
    """Z-buffered shaded capsule from pixel a to b (radii ra, rb px; depths za, zb m).

    img (S, S, 3) float32 and zbuf (S, S) float32 are updated in place. Work is done in
    the capsule's screen box only, in float32, with row/column vectors broadcast.
    """
    size = img.shape[0]
    r_max = max(ra, rb) + 1.0
    x0 = max(int(min(a[0], b[0]) - r_max), 0)
    x1 = min(int(max(a[0], b[0]) + r_max) + 1, size)
    y0 = max(int(min(a[1], b[1]) - r_max), 0)
    y1 = min(int(max(a[1], b[1]) + r_max) + 1, size)
    if x0 >= x1 or y0 >= y1:
        return
    px = _PIXELS[x0:x1] - np.float32(a[0])                 # (w,)
    py = (_PIXELS[y0:y1] - np.float32(a[1]))[:, None]      # (h, 1)
    abx, aby = np.float32(b[0] - a[0]), np.float32(b[1] - a[1])
    L2 = abx * abx + aby * aby
    if L2 > 1e-6:  # t = position of the closest axis point, 0 at a, 1 at b
        t = np.clip(px * (abx / L2) + py * (aby / L2), 0.0, 1.0)
    else:
        t = np.zeros((y1 - y0, x1 - x0), np.float32)
    dx, dy = px - t * abx, py - t * aby
    r = np.float32(ra) + t * np.float32(rb - ra)
    d = np.sqrt(dx * dx + dy * dy)
    alpha = np.clip(r - d + 0.5, 0.0, 1.0)                 # 1-pixel soft edge = anti-aliasing
    inside = alpha > 0
    if not inside.any():
        return
    inv_r = 1.0 / np.maximum(r, 1e-3)
    nx, ny = dx * inv_r, dy * inv_r
    nz = np.sqrt(np.maximum(1.0 - nx * nx - ny * ny, 0.0))  # toward the camera
    depth = np.float32(za) + t * np.float32(zb - za) - np.float32(rad_world) * nz
    win = zbuf[y0:y1, x0:x1]
    mask = inside & (depth < win)
    if not mask.any():
        return
    ndl = np.maximum(nx * _TO_LIGHT[0] + ny * _TO_LIGHT[1] - nz * _TO_LIGHT[2], 0.0)
    ndh = np.maximum(nx * _HALF[0] + ny * _HALF[1] - nz * _HALF[2], 0.0)
    spec = 70.0 * ndh ** 24
    rgb = colour * (0.38 + 0.62 * ndl)[..., None] + spec[..., None]
    out = img[y0:y1, x0:x1]
    al = (alpha * mask)[..., None]
    out += (rgb - out) * al
    solid = mask & (alpha >= 0.5)
    win[solid] = depth[solid]


def _contact_shadows(img, cam: Camera, pts: np.ndarray) -> None:
    """Darken the floor under `pts` (K, 3), (floor coordinates, z = height): soft
    ellipses that fade as the point rises."""
    size = img.shape[0]
    for x, y, h in pts:
        strength = 0.35 * max(0.0, 1.0 - h / 1.2)
        if strength <= 0.01:
            continue
        rad = 0.16 + 0.1 * h
        uv, depth = cam.project(np.array([x, y, 0.0]))
        rx = cam.focal * rad / depth
        ry = rx * math.sin(math.radians(_camera_elevation(cam))) + 1.0
        x0, x1 = max(int(uv[0] - rx), 0), min(int(uv[0] + rx) + 1, size)
        y0, y1 = max(int(uv[1] - ry), 0), min(int(uv[1] + ry) + 1, size)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        q = ((xs + 0.5 - uv[0]) / rx) ** 2 + ((ys + 0.5 - uv[1]) / ry) ** 2
        dark = strength * np.clip(1.0 - q, 0, 1) ** 1.5
        img[y0:y1, x0:x1] *= (1.0 - dark)[..., None]


def _camera_elevation(cam: Camera) -> float:
    """Camera elevation in degrees (angle of its forward axis below the horizontal)."""
    return math.degrees(math.asin(max(-1.0, min(1.0, -cam.rotation[2][2]))))


def pose_images(joints, size: int = 224, ground=None,
                config: PoseImageConfig | None = None) -> np.ndarray:
    """Shaded body-like pictures of poses: (N, 24, 3) -> (N, size, size, 3) uint8 RGB.

    ground: floor height(s) in world z, scalar or (N,); default each pose's lowest
    joint minus the sole, so the figure stands on the floor.
    """
    cfg = config or PoseImageConfig()
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise MclipError(f"joints: expected poses of shape (N, 24, 3), got {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise MclipError("joints: poses contain NaN or infinite values")
    if size < 16:
        raise MclipError(f"size: at least 16 pixels, got {size}")
    n = arr.shape[0]
    if ground is None:
        g = arr[..., 2].min(axis=1) - FOOT_HEIGHT
    else:
        g = np.broadcast_to(np.asarray(ground, dtype=np.float64), (n,))
    # Pelvis over the origin, floor at z = 0 (the camera is fixed in these coordinates).
    local = arr - np.concatenate([arr[:, _PELVIS, :2], g[:, None]], axis=1)[:, None, :]
    cam = _pose_camera(size, cfg)
    uv, depth = cam.project(local)                                    # (N, 24, 2), (N, 24)
    hc = head_centres(local)
    huv, hdepth = cam.project(hc)
    background = _pose_background(size, cfg)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    feet = [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"], _PELVIS]
    body = np.asarray(cfg.body, dtype=np.float32)
    for i in range(n):
        img = background.copy()
        _contact_shadows(img, cam, local[i, feet])
        zbuf = np.full((size, size), np.inf, dtype=np.float32)
        f = cam.focal
        for ca, cb, rad in zip(_CAP_A, _CAP_B, _CAP_R):
            _draw_capsule(img, zbuf, uv[i, ca], uv[i, cb], f * rad / depth[i, ca],
                          f * rad / depth[i, cb], depth[i, ca], depth[i, cb], rad, body)
        hr = f * HEAD_RADIUS / hdepth[i]
        _draw_capsule(img, zbuf, huv[i], huv[i], hr, hr, hdepth[i], hdepth[i],
                      HEAD_RADIUS, body)
        np.clip(img, 0, 255, out=img)
        out[i] = img.astype(np.uint8)
    return out


def pose_image(joints, size: int = 224, ground: float | None = None,
               config: PoseImageConfig | None = None) -> np.ndarray:
    """One pose (24, 3) world metres z-up -> (size, size, 3) uint8 RGB shaded figure."""
    arr = np.asarray(joints)
    if arr.shape != (NUM_JOINTS, 3):
        raise MclipError(f"joints: expected one pose of shape (24, 3), got {tuple(arr.shape)}")
    return pose_images(arr[None], size, None if ground is None else [ground], config)[0]
