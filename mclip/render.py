"""Drawing motions: stick-figure videos, GIFs, contact sheets, and pose images for CLIP.

Inputs are joint positions ``(T, 24, 3)`` float32 in metres, world frame **z-up**
(AMASS), 30 fps, SMPL joint order (``mclip.skeleton``). An upright person at rest
faces world -y and has their left side at world +x.

Two renderers live here:

* The **stick figure** (``render``, ``render_grid``, ``iter_frames``): a fixed
  perspective camera, placed once for the whole motion in a 3/4 elevated view in
  front of the person, a ground grid, left limbs blue, right limbs orange, spine and
  head dark. Speed comes from doing everything that does not change per frame once:
  the background (floor, grid, pelvis trajectory, caption, legend) is drawn a single
  time and quantised to a palette image; all frames' joints are projected in one
  numpy step; each frame is then a copy of the background plus ~70 PIL draw calls
  with palette indices (no per-frame quantisation, no matplotlib).
* The **pose image** (``pose_image``, ``pose_images``): one frame as a shaded
  body-like figure (capsules per bone, a head sphere, a floor) seen by a fixed camera
  in front, for CLIP's image tower (the paper renders SMPL meshes in Blender).
  Rasterised with numpy and a z-buffer.

Every file is written atomically (temp name in the target folder, then ``os.replace``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import MclipError
from .formats import RENDER_EXTS
from .atomic import atomic_path
from .skeleton import BONES, FOOT_HEIGHT, JOINT_INDEX, LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS

ProgressFn = Callable[[int, int], None]
"""progress(done, total), called after each frame (or sheet cell) is finished."""

OUTPUT_SUFFIXES = RENDER_EXTS

# ------------------------------------------------------------------ colours (RGB)
SKY_TOP = (226, 232, 240)
SKY_BOTTOM = (246, 246, 243)
FLOOR_NEAR = (232, 228, 219)
FLOOR_FAR = (240, 238, 232)
GRID = (196, 189, 175)
GRID_MAJOR = (172, 164, 149)
TRAJECTORY = (128, 142, 162)
TEXT = (28, 30, 36)
LEFT = (30, 100, 215)
RIGHT = (228, 88, 30)
CENTRE = (50, 54, 64)
LEFT_DOT = (16, 58, 140)
RIGHT_DOT = (150, 50, 12)
HEAD_FILL = (250, 250, 250)
SHADOW = (198, 192, 180)
PROGRESS = (110, 122, 140)

_PELVIS = JOINT_INDEX["pelvis"]
_NECK = JOINT_INDEX["neck"]
_HEAD = JOINT_INDEX["head"]
_BONE_PARENT = np.array([p for p, _ in BONES])
_BONE_CHILD = np.array([c for _, c in BONES])

# The head joint sits at the base of the skull; the skull's centre is a little further
# along neck -> head, and its radius is about 0.1 m (top of head ~1.74 m when standing).
HEAD_CENTRE_ALONG = 0.45
HEAD_RADIUS = 0.10
SHADOW_RADIUS = 0.26


@dataclass(frozen=True)
class RenderConfig:
    """How stick-figure renders look. Sizes in pixels, angles in degrees."""

    size: int = 480                # cell width = height (rounded up to even for H.264)
    elevation_deg: float = 20.0    # camera above the horizontal
    azimuth_deg: float = 30.0      # camera turned from the person's front toward their left
    min_distance: float = 4.0      # metres from the motion's centre, at least
    margin: float = 0.06           # fraction of the cell kept free around the figure
    trajectory: bool = True        # pelvis path on the ground
    shadow: bool = True            # disc under the pelvis
    progress_bar: bool = True      # thin time bar along the bottom of each cell
    legend: bool = True            # "left / right" colour key
    antialias: bool = True         # smooth figure edges in .mp4/.png/raw frames (not .gif)
    gif_fps: float = 15.0          # GIF frame rate is at most about this; real time is kept
    sheet_frames: int = 8          # frames on a .png contact sheet
    sheet_cols: int = 4            # columns of a single motion's contact sheet
    crf: int = 20                  # H.264 quality (lower = better)


# =================================================================== input checks


def check_joints(joints, name: str = "joints") -> np.ndarray:
    """Validate and return joints as a C-contiguous float32 array (T, 24, 3)."""
    arr = np.asarray(joints, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3) or arr.shape[0] < 1:
        raise MclipError(f"{name}: expected joints of shape (T, 24, 3), got {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise MclipError(f"{name}: joints contain NaN or infinite values")
    return np.ascontiguousarray(arr)


def output_kind(path) -> str:
    """'.mp4' | '.gif' | '.png' from the file name, or MclipError."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise MclipError(
            f"{path}: unknown output extension '{suffix or '(none)'}' (use .mp4, .gif or .png)"
        )
    return suffix


# =================================================================== camera


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


@lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(size=px)


def _wrap(text: str, font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to `width` pixels; an ellipsis if it does not fit."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + " ...") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + " ..."
    # a single word longer than the width: cut it
    return [l if font.getlength(l) <= width else _cut(l, font, width) for l in lines]


def _cut(text: str, font, width: int) -> str:
    while text and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _caption_height(caption: str | None, cell: int) -> tuple[int, list[str], int]:
    """(band height px, wrapped lines, font px) of a caption band at the top of a cell."""
    if not caption:
        return 0, [], 0
    px = max(11, round(cell / 25))
    lines = _wrap(caption, _font(px), cell - 2 * max(6, cell // 40), max_lines=2)
    return int(len(lines) * px * 1.25 + px * 0.6), lines, px


# =================================================================== one cell


@dataclass
class _Actor:
    """One motion placed in one cell, projected for all frames (pixel coords)."""

    frames: int
    uv: list            # [T][24] (x, y)
    order: list         # [T][23] bone indices, far to near
    head: list          # [T] (x, y, r)
    shadow: list | None # [T][16] (x, y)
    cell: tuple[int, int, int, int]  # x0, y0, w, h
    boxes: list         # [T] (x0, y0, x1, y1) pixel box of the figure, inside the cell


def _clip_segment(a: np.ndarray, b: np.ndarray, near: float):
    """Clip a camera-space segment to depth >= near; None if fully behind."""
    if a[2] < near and b[2] < near:
        return None
    if a[2] < near:
        a = a + (b - a) * (near - a[2]) / (b[2] - a[2])
    elif b[2] < near:
        b = b + (a - b) * (near - b[2]) / (a[2] - b[2])
    return a, b


def _clip_polygon(poly: list[np.ndarray], near: float) -> list[np.ndarray]:
    """Sutherland-Hodgman against the plane depth = near (camera space)."""
    out = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        cin, pin = cur[2] >= near, prev[2] >= near
        if cin != pin:
            out.append(prev + (cur - prev) * (near - prev[2]) / (cur[2] - prev[2]))
        if cin:
            out.append(cur)
    return out


class _Layout:
    """Cameras, backgrounds and projected figures for one or several motions."""

    def __init__(self, motions: Sequence[np.ndarray], captions: Sequence[str | None],
                 cfg: RenderConfig, cols: int):
        self.cfg = cfg
        self.cell = cell = int(math.ceil(cfg.size / 2) * 2)
        self.cols = cols
        self.rows = int(math.ceil(len(motions) / cols))
        self.width, self.height = cols * cell, self.rows * cell
        self.frames = max(m.shape[0] for m in motions)
        self.bar = max(2, round(cell / 120))   # progress bar height

        # Shared scale: one camera distance and one focal length for every cell.
        grounds = [ground_height(m) for m in motions]
        fits = [_fit_points(m, g) for m, g in zip(motions, grounds)]
        rots = [view_rotation(facing_yaw(m), cfg.azimuth_deg, cfg.elevation_deg)
                for m in motions]
        targets = [(p.min(0) + p.max(0)) / 2 for p in fits]
        distance = max(_camera_distance(p, cfg) for p in fits)
        areas, fitted = [], []
        for cap in captions:
            band = _caption_height(cap, cell)[0]
            m = cfg.margin * cell
            bottom = m + (self.bar if cfg.progress_bar else 0)
            areas.append((m, max(m, band + m * 0.5), cell - m, cell - bottom))
        for p, r, t, a in zip(fits, rots, targets, areas):
            fitted.append(_fit(p, r, t, distance, a))
        focal = min(f[0] for f in fitted)
        # Line width follows the figure's size on screen (a 1.75 m person at the
        # camera distance), not the cell: a long walk framed small gets thin bones.
        person_px = focal * 1.75 / distance
        self.line_width = int(np.clip(round(person_px / 38), 2, max(2, cell // 60)))
        self.dot = max(1.5, self.line_width * 0.75)
        self.cameras = []
        for (_, um, vm, pos), r, a in zip(fitted, rots, areas):
            principal = ((a[0] + a[2]) / 2 - focal * um, (a[1] + a[3]) / 2 - focal * vm)
            self.cameras.append(Camera(r, pos, focal, principal))

        canvas = Image.new("RGB", (self.width, self.height))
        self.actors = []
        for k, (m, cap, cam, g) in enumerate(zip(motions, captions, self.cameras, grounds)):
            x0, y0 = (k % cols) * cell, (k // cols) * cell
            canvas.paste(self._background(m, cap, cam, g), (x0, y0))
            self.actors.append(self._actor(m, cam, g, (x0, y0, cell, cell)))
        draw = ImageDraw.Draw(canvas)  # white dividers between cells of a grid
        for c in range(1, cols):
            draw.line((c * cell, 0, c * cell, self.height), fill=(255, 255, 255), width=2)
        for r in range(1, self.rows):
            draw.line((0, r * cell, self.width, r * cell), fill=(255, 255, 255), width=2)
        self.background = self._palette_image(canvas)

    # ------------------------------------------------------------ background
    def _background(self, joints, caption, cam: Camera, ground: float) -> Image.Image:
        cfg, cell = self.cfg, self.cell
        # sky: vertical gradient
        t = np.linspace(0.0, 1.0, cell)[:, None, None]
        sky = (np.array(SKY_TOP) * (1 - t) + np.array(SKY_BOTTOM) * t)
        img = Image.fromarray(np.broadcast_to(sky, (cell, cell, 3)).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        near = 0.05

        # floor: the motion's xy box plus a wide border, then a grid over a smaller border
        xy = joints[..., :2].reshape(-1, 2)
        lo, hi = xy.min(0), xy.max(0)
        flo, fhi = lo - 12.0, hi + 12.0
        corners = [np.array([x, y, ground]) for x, y in
                   ((flo[0], flo[1]), (fhi[0], flo[1]), (fhi[0], fhi[1]), (flo[0], fhi[1]))]
        poly = _clip_polygon([cam.to_camera(c) for c in corners], near)
        if len(poly) >= 3:
            draw.polygon([self._px(cam, p) for p in poly], fill=FLOOR_NEAR)

        step = 0.5
        glo = np.floor((lo - 2.5) / step) * step
        ghi = np.ceil((hi + 2.5) / step) * step
        for axis in (0, 1):
            for v in np.arange(glo[axis], ghi[axis] + 1e-6, step):
                a = np.array([glo[0], glo[1], ground])
                b = np.array([ghi[0], ghi[1], ground])
                a[axis] = b[axis] = v
                seg = _clip_segment(cam.to_camera(a), cam.to_camera(b), near)
                if seg is None:
                    continue
                major = abs(v - round(v)) < 1e-6
                draw.line([self._px(cam, seg[0]), self._px(cam, seg[1])],
                          fill=GRID_MAJOR if major else GRID, width=1)

        if cfg.trajectory:
            path = joints[:, _PELVIS].astype(np.float64)
            path[:, 2] = ground
            if np.linalg.norm(path[-1] - path[0]) + np.abs(np.diff(path, axis=0)).sum() > 0.2:
                uv, _ = cam.project(path)
                draw.line([tuple(p) for p in uv.tolist()], fill=TRAJECTORY,
                          width=max(1, self.line_width // 3), joint="curve")

        if caption:
            band, lines, px = _caption_height(caption, cell)
            arr = np.asarray(img).copy()
            arr[:band] = (arr[:band] * 0.25 + 255 * 0.75).astype(np.uint8)
            img = Image.fromarray(arr)
            draw = ImageDraw.Draw(img)
            pad = max(6, cell // 40)
            for i, line in enumerate(lines):
                draw.text((pad, px * 0.3 + i * px * 1.25), line, font=_font(px), fill=TEXT)

        if cfg.legend and cell >= 200:
            px = max(10, round(cell / 36))
            font, pad = _font(px), max(6, cell // 40)
            y = cell - pad - px - (self.bar if cfg.progress_bar else 0)
            x = pad
            for label, colour in (("left", LEFT), ("right", RIGHT)):
                draw.rectangle((x, y + px * 0.25, x + px * 0.7, y + px * 0.95), fill=colour)
                x += px
                draw.text((x, y), label, font=font, fill=TEXT)
                x += font.getlength(label) + px * 0.8
        return img

    @staticmethod
    def _px(cam: Camera, p_cam: np.ndarray) -> tuple[float, float]:
        return (cam.focal * p_cam[0] / p_cam[2] + cam.principal[0],
                cam.focal * p_cam[1] / p_cam[2] + cam.principal[1])

    # ------------------------------------------------------------ palette
    N_BACKGROUND_COLOURS = 200
    FIGURE_COLOURS = (LEFT, RIGHT, CENTRE, LEFT_DOT, RIGHT_DOT, HEAD_FILL, SHADOW, PROGRESS)

    def _palette_image(self, canvas: Image.Image) -> Image.Image:
        """Quantise the background once; figure colours get reserved palette slots."""
        n = self.N_BACKGROUND_COLOURS
        bg = canvas.quantize(colors=n, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pal = (bg.getpalette() or [])[: 3 * n]
        pal += [0] * (3 * n - len(pal))
        self.index = {}
        for i, colour in enumerate(self.FIGURE_COLOURS):
            self.index[colour] = n + i
            pal += list(colour)
        pal += [0] * (768 - len(pal))
        bg.putpalette(pal)
        self.palette = np.array(pal, dtype=np.uint8).reshape(256, 3)
        # palette index of each bone (by its child joint's side) and each joint dot
        idx = self.index
        side = {j: idx[LEFT] for j in LEFT_JOINTS} | {j: idx[RIGHT] for j in RIGHT_JOINTS}
        dot_side = ({j: idx[LEFT_DOT] for j in LEFT_JOINTS}
                    | {j: idx[RIGHT_DOT] for j in RIGHT_JOINTS})
        self.index_colours = {
            "bones": [side.get(c, idx[CENTRE]) for _, c in BONES],
            "dots": [dot_side.get(j, idx[CENTRE]) for j in range(NUM_JOINTS)],
            "centre": idx[CENTRE], "head": idx[HEAD_FILL], "shadow": idx[SHADOW]}
        # the same colours as RGB, for anti-aliased frames drawn on the RGB background
        self.rgb_colours = {k: ([tuple(self.palette[i]) for i in v] if isinstance(v, list)
                                else tuple(self.palette[v]))
                            for k, v in self.index_colours.items()}
        self.background_rgb = bg.convert("RGB")
        self.background_2x = self.background_rgb.resize((2 * self.width, 2 * self.height),
                                                        Image.Resampling.NEAREST)
        return bg

    # ------------------------------------------------------------ figure
    def _actor(self, joints, cam: Camera, ground: float, cell) -> _Actor:
        x0, y0 = cell[0], cell[1]
        uv, depth = cam.project(joints)                      # (T, 24, 2), (T, 24)
        uv += (x0, y0)
        bone_depth = depth[:, _BONE_PARENT] + depth[:, _BONE_CHILD]
        order = np.argsort(-bone_depth, axis=1, kind="stable")   # far first
        hc = head_centres(joints)
        huv, hdepth = cam.project(hc)
        hr = cam.focal * HEAD_RADIUS / np.maximum(hdepth, 1e-3)
        head = np.concatenate([huv + (x0, y0), hr[:, None]], axis=1)
        shadow = None
        if self.cfg.shadow:
            ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            ring = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], 1) * SHADOW_RADIUS
            centre = joints[:, _PELVIS].astype(np.float64)
            centre[:, 2] = ground
            suv, _ = cam.project(centre[:, None, :] + ring[None])
            shadow = [[tuple(p) for p in f] for f in (suv + (x0, y0)).tolist()]
        # per-frame pixel box around everything the figure draws, inside its cell
        pad = self.line_width + self.dot + 2
        lo = np.minimum(uv.min(1), head[:, :2] - head[:, 2:]) - pad
        hi = np.maximum(uv.max(1), head[:, :2] + head[:, 2:]) + pad
        if shadow is not None:
            s_uv = suv + (x0, y0)
            lo, hi = np.minimum(lo, s_uv.min(1) - 2), np.maximum(hi, s_uv.max(1) + 2)
        boxes = np.concatenate([np.floor(lo), np.ceil(hi)], axis=1)
        boxes = np.clip(boxes, [x0, y0, x0, y0], [x0 + cell[2], y0 + cell[3]] * 2).astype(int)
        return _Actor(joints.shape[0], [[tuple(p) for p in f] for f in uv.tolist()],
                      order.tolist(), [tuple(h) for h in head.tolist()], shadow, cell,
                      [tuple(b) for b in boxes.tolist()])

    # ------------------------------------------------------------ frames
    def frame(self, t: int) -> Image.Image:
        """Frame t (0-based) as a palette image (no anti-aliasing: GIF frames).

        Shorter motions hold their last pose."""
        img = self.background.copy()
        draw = ImageDraw.Draw(img)
        for a in self.actors:
            self._draw_actor(draw, a, min(t, a.frames - 1), self.index_colours, 1, 0, 0)
        self._draw_progress(draw, t, self.index[PROGRESS])
        return img

    def frame_rgb(self, t: int) -> Image.Image:
        """Frame t as an RGB image; with `config.antialias` the figure is drawn at twice
        the resolution inside its own bounding box only, then averaged down 2x2, so the
        cost stays small and the background pixels stay exactly those of the palette
        background."""
        if not self.cfg.antialias:
            return self.frame(t).convert("RGB")
        img = self.background_rgb.copy()
        for a in self.actors:
            f = min(t, a.frames - 1)
            x0, y0, x1, y1 = a.boxes[f]
            if x1 <= x0 or y1 <= y0:
                continue
            hi = self.background_2x.crop((2 * x0, 2 * y0, 2 * x1, 2 * y1))
            self._draw_actor(ImageDraw.Draw(hi), a, f, self.rgb_colours, 2, -2 * x0, -2 * y0)
            img.paste(hi.reduce(2), (x0, y0))
        self._draw_progress(ImageDraw.Draw(img), t, PROGRESS)
        return img

    def _draw_progress(self, draw, t: int, colour) -> None:
        if not (self.cfg.progress_bar and self.frames > 1):
            return
        for a in self.actors:
            x0, y0, w, h = a.cell
            draw.rectangle((x0, y0 + h - self.bar, x0 + w * (t + 1) / self.frames, y0 + h - 1),
                           fill=colour)

    def _draw_actor(self, draw, a: _Actor, f: int, col: dict, s: int, ox: float, oy: float):
        """Shadow, then bones far to near, each with its end dots (and the head after
        the neck->head bone). Pixel coords are scaled by `s` and shifted by (ox, oy)."""
        if a.shadow is not None:
            draw.polygon([(x * s + ox, y * s + oy) for x, y in a.shadow[f]], fill=col["shadow"])
        uv = [(x * s + ox, y * s + oy) for x, y in a.uv[f]]
        lw, r = self.line_width * s, self.dot * s
        bone_col, dot_col = col["bones"], col["dots"]
        for b in a.order[f]:
            p, c = BONES[b]
            (px, py), (cx, cy) = uv[p], uv[c]
            draw.line((px, py, cx, cy), fill=bone_col[b], width=lw)
            draw.ellipse((px - r, py - r, px + r, py + r), fill=dot_col[p])
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=dot_col[c])
            if c == _HEAD:
                hx, hy, hr = a.head[f]
                hx, hy, hr = hx * s + ox, hy * s + oy, hr * s
                draw.ellipse((hx - hr, hy - hr, hx + hr, hy + hr), fill=col["head"],
                             outline=col["centre"], width=max(2, self.line_width // 2 + 1) * s)


# =================================================================== public API


def _grid_cols(n: int) -> int:
    return n if n <= 5 else int(math.ceil(math.sqrt(n)))


def iter_frames(joints, caption: str | None = None,
                config: RenderConfig | None = None) -> Iterator[np.ndarray]:
    """Yield the stick-figure frames of one motion: (H, W, 3) uint8 RGB, one per input frame."""
    layout = _Layout([check_joints(joints)], [caption], config or RenderConfig(), cols=1)
    shape = (layout.height, layout.width, 3)
    for t in range(layout.frames):
        yield np.frombuffer(layout.frame_rgb(t).tobytes(), np.uint8).reshape(shape)


def render(joints, path, caption: str | None = None, fps: float = 30.0,
           config: RenderConfig | None = None, frames: int | None = None,
           progress: ProgressFn | None = None) -> Path:
    """Render one motion (T, 24, 3) to `path`: .mp4 video, looping .gif, or .png contact sheet.

    fps: frame rate of the data (and of the video); frames: contact-sheet frame count.
    """
    return render_grid([joints], path, [caption], fps=fps, config=config, frames=frames,
                       progress=progress)


def render_grid(motions: Sequence, path, captions: Sequence[str | None] | None = None,
                fps: float = 30.0, config: RenderConfig | None = None,
                frames: int | None = None, cols: int | None = None,
                progress: ProgressFn | None = None) -> Path:
    """Several motions side by side (same camera scale), each cell with its own caption.

    .mp4/.gif: all cells play together (shorter motions hold their last pose).
    .png: one row of `frames` evenly spaced frames per motion (a single motion wraps
    into rows of `config.sheet_cols` under the caption).
    """
    path = Path(path)
    kind = output_kind(path)
    if len(motions) == 0:
        raise MclipError(f"{path}: nothing to render")
    motions = [check_joints(m, f"motion {i}") for i, m in enumerate(motions)]
    captions = list(captions) if captions is not None else [None] * len(motions)
    if len(captions) != len(motions):
        raise MclipError(f"{path}: {len(captions)} captions for {len(motions)} motions")
    if not (fps > 0 and math.isfinite(fps)):
        raise MclipError(f"fps: must be positive, got {fps}")
    cfg = config or RenderConfig()
    if cfg.size < 64:
        raise MclipError(f"size: at least 64 pixels, got {cfg.size}")

    if kind == ".png":
        return _write_sheet(motions, captions, path, cfg, frames or cfg.sheet_frames, progress)
    layout = _Layout(motions, captions, cfg, cols or _grid_cols(len(motions)))
    if kind == ".mp4":
        _write_mp4(layout, path, fps, progress)
    else:
        _write_gif(layout, path, fps, progress)
    return path


def gif_timing(n_frames: int, fps: float, max_fps: float) -> tuple[list[int], list[int]]:
    """Frames to keep and their GIF delays (milliseconds, multiples of 10) for real time.

    GIF delays are whole 1/100 s, so 30 fps (3.33 cs) cannot be stored exactly; we keep
    every `stride`-th frame and round the *cumulative* time, so delays alternate (e.g.
    7, 7, 6 cs at 15 fps) and the total equals n_frames / fps to within 1/100 s.
    Delays under 2 cs are avoided (browsers slow those down to 10 cs).
    """
    stride = max(1, round(fps / max_fps), math.ceil(fps / 50.0))
    keep = list(range(0, n_frames, stride))
    edges = [round(100.0 * i / fps) for i in keep] + [round(100.0 * n_frames / fps)]
    delays = [max(1, b - a) * 10 for a, b in zip(edges[:-1], edges[1:])]
    return keep, delays


def _write_gif(layout: _Layout, path: Path, fps: float, progress: ProgressFn | None) -> None:
    keep, delays = gif_timing(layout.frames, fps, layout.cfg.gif_fps)

    def frames():
        for n, t in enumerate(keep):
            yield layout.frame(t)
            if progress:
                progress(n + 1, len(keep))

    it = frames()
    first = next(it)
    with atomic_path(path) as tmp:
        first.save(tmp, format="GIF", save_all=True, append_images=it, duration=delays,
                   loop=0, optimize=False, disposal=1)


def _write_mp4(layout: _Layout, path: Path, fps: float, progress: ProgressFn | None) -> None:
    """H.264 mp4 through the ffmpeg binary imageio-ffmpeg ships, frames piped as raw RGB.

    Written here rather than with ``imageio_ffmpeg.write_frames`` because an interrupt
    (Ctrl-C, SIGTERM) must kill ffmpeg *and wait for it* before the temp file goes: that
    writer kills without waiting, and an ffmpeg that opens its output late re-creates
    the file after it was removed.
    """
    import subprocess

    import imageio_ffmpeg

    w, h = layout.width + layout.width % 2, layout.height + layout.height % 2  # yuv420p: even
    with atomic_path(path) as tmp:
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-",
               "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(layout.cfg.crf),
               "-preset", "veryfast", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            raise MclipError(f"{path}: cannot start ffmpeg ({e.strerror or e})") from None
        try:
            for t in range(layout.frames):
                frame = np.asarray(layout.frame_rgb(t))          # (H, W, 3) uint8
                if frame.shape[:2] != (h, w):
                    frame = np.pad(frame, ((0, h - frame.shape[0]), (0, w - frame.shape[1]), (0, 0)),
                                   mode="edge")
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
                if progress:
                    progress(t + 1, layout.frames)
            proc.stdin.close()
            err = proc.stderr.read().decode(errors="replace").strip()
            if proc.wait() != 0:
                last = err.splitlines()[-1] if err else f"exit code {proc.returncode}"
                raise MclipError(f"{path}: ffmpeg failed ({last})")
        except BrokenPipeError:
            proc.wait()
            err = proc.stderr.read().decode(errors="replace").strip()
            last = err.splitlines()[-1] if err else "it stopped reading frames"
            raise MclipError(f"{path}: ffmpeg failed ({last})") from None
        finally:
            if proc.poll() is None:     # interrupted: stop it, and wait until it is gone
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stderr):
                try:
                    pipe.close()
                except OSError:
                    pass


def sheet_indices(n_frames: int, count: int) -> list[int]:
    """`count` evenly spaced frame indices from first to last (fewer if the motion is short)."""
    count = max(1, min(count, n_frames))
    return sorted(set(np.linspace(0, n_frames - 1, count).round().astype(int).tolist()))


def _write_sheet(motions, captions, path: Path, cfg: RenderConfig, count: int,
                 progress: ProgressFn | None) -> Path:
    if count < 1:
        raise MclipError(f"frames: at least 1, got {count}")
    # One layout for all motions (shared camera scale); captions go on the sheet as
    # row titles instead of inside the cells.
    layout = _Layout(motions, [None] * len(motions), cfg, cols=len(motions))
    cell = layout.cell
    label_px = max(10, round(cell / 30))
    rows: list[tuple[str | None, list[tuple[int, Image.Image]]]] = []
    done, total = 0, sum(len(sheet_indices(m.shape[0], count)) for m in motions)
    for k, (m, cap) in enumerate(zip(motions, captions)):
        box = (k * cell, 0, (k + 1) * cell, cell)
        cells = []
        for t in sheet_indices(m.shape[0], count):
            cells.append((t, layout.frame_rgb(t).crop(box)))
            done += 1
            if progress:
                progress(done, total)
        if len(motions) == 1:  # wrap a single motion's frames into rows under one title
            for i in range(0, len(cells), cfg.sheet_cols):
                rows.append((cap if i == 0 else None, cells[i:i + cfg.sheet_cols]))
        else:
            rows.append((cap, cells))

    title_px = max(12, round(cell / 22))
    cols = max(len(r[1]) for r in rows)
    heights = [cell + (int(title_px * 1.7) if cap else 0) for cap, _ in rows]
    sheet = Image.new("RGB", (cols * cell, sum(heights)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = 0
    for (cap, cells), h in zip(rows, heights):
        if cap:
            line = _wrap(cap, _font(title_px), cols * cell - 20, max_lines=1)[0]
            draw.text((10, y + title_px * 0.35), line, font=_font(title_px), fill=TEXT)
        top = y + h - cell
        for i, (t, im) in enumerate(cells):
            sheet.paste(im, (i * cell, top))
            label = f"frame {t}"
            font = _font(label_px)
            draw.rectangle((i * cell + 4, top + 4,
                            i * cell + 12 + font.getlength(label), top + 8 + label_px * 1.2),
                           fill=(255, 255, 255))
            draw.text((i * cell + 8, top + 5), label, font=font, fill=TEXT)
            if i:  # thin divider between cells
                draw.line((i * cell, top, i * cell, top + cell - 1), fill=(255, 255, 255), width=2)
        y += h
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path


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
