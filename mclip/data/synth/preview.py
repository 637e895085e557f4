"""Tiny stick-figure contact sheets (PIL only) for looking at generated clips.

Not the product renderer (that is ``mclip.render``): this draws a few frames of a clip
from a fixed 3/4 camera, left limbs blue, right limbs red, the floor grid and the
pelvis ground track, so a developer can check contact, left/right and heading.
"""
from __future__ import annotations

import numpy as np

from ... import skeleton

_LEFT = set(skeleton.LEFT_JOINTS)
_RIGHT = set(skeleton.RIGHT_JOINTS)


def _project(p: np.ndarray, yaw: float = 0.6, pitch: float = 0.35) -> np.ndarray:
    """(..., 3) world z-up -> (..., 3) camera (x right, y up, depth) of an orbit camera.

    At yaw 0 the camera looks along +y (at the person's front, who faces -y).
    """
    c, s = np.cos(yaw), np.sin(yaw)
    x = c * p[..., 0] - s * p[..., 1]
    d = s * p[..., 0] + c * p[..., 1]
    z = p[..., 2]
    cp, sp = np.cos(pitch), np.sin(pitch)
    # the camera looks slightly down: farther floor points appear higher
    y = cp * z + sp * d
    dd = -sp * z + cp * d
    # seen from the front (yaw 0) the person's left (+x) is on the image's right
    return np.stack([x, y, dd], -1)


def contact_sheet(joints: np.ndarray, n: int = 6, size: int = 96, caption: str | None = None,
                  yaw: float = 0.6):
    """(T, 24, 3) -> PIL image with ``n`` frames side by side, each ``size`` px square.

    All frames share one scale; each is centred on the floor point under its pelvis.
    """
    from PIL import Image, ImageDraw

    T = joints.shape[0]
    idx = np.linspace(0, T - 1, n).round().astype(int)
    pts = _project(joints[idx], yaw)
    ground = joints[idx].copy()
    ground[..., 2] = 0.0
    gpts = _project(ground, yaw)
    # each frame is centred on the floor point under its pelvis; one scale for all
    anchor = gpts[:, 0, :2]
    dev = pts[..., :2] - anchor[:, None]
    span = max(1.95, float(dev[..., 1].max()) + 0.3, 2 * float(np.abs(dev[..., 0]).max()) + 0.2,
               2 * float(-dev[..., 1].min()) + 0.3)
    scale = (size - 8) / span
    cap_h = 14 if caption else 0
    img = Image.new("RGB", (size * n, size + cap_h), (250, 250, 247))
    dr = ImageDraw.Draw(img)
    for k in range(n):
        ox = k * size + size / 2
        base_y = size * 0.88

        def to_px(q):
            return (ox + (q[0] - anchor[k, 0]) * scale, base_y - (q[1] - anchor[k, 1]) * scale)

        dr.line([(k * size + 4, base_y), (k * size + size - 4, base_y)], fill=(215, 215, 205))
        # floor marks: a cross under each foot at z = 0 (its projection)
        for j in (7, 8, 10, 11):
            gx, gy = to_px(gpts[k, j])
            dr.line([(gx - 2, gy), (gx + 2, gy)], fill=(170, 170, 160))
        order = sorted(skeleton.BONES, key=lambda b: -pts[k, b[1], 2])
        for p, c in order:
            col = (40, 90, 200) if c in _LEFT else (200, 60, 50) if c in _RIGHT else (60, 60, 60)
            dr.line([to_px(pts[k, p]), to_px(pts[k, c])], fill=col, width=2)
        hx, hy = to_px(pts[k, skeleton.JOINT_INDEX["head"]])
        r = max(2, int(0.07 * scale))
        dr.ellipse([hx - r, hy - r, hx + r, hy + r], outline=(60, 60, 60))
        if k:
            dr.line([(k * size, 0), (k * size, size)], fill=(225, 225, 225))
    if caption:
        dr.text((3, size + 1), caption[: size * n // 6], fill=(30, 30, 30))
    return img
