"""The stick figure: the background drawn once (floor, grid, trajectory, caption,
legend, as a palette image), then each frame's ~70 draw calls (``_Layout``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..skeleton import BONES, LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS
from .config import CENTRE, FLOOR_NEAR, GRID, GRID_MAJOR, HEAD_FILL, HEAD_RADIUS, LEFT, LEFT_DOT, PROGRESS, RIGHT, RIGHT_DOT, RenderConfig, SHADOW, SHADOW_RADIUS, SKY_BOTTOM, SKY_TOP, TEXT, TRAJECTORY, _BONE_CHILD, _BONE_PARENT, _HEAD, _PELVIS
from .camera import Camera, _camera_distance, _fit, _fit_points, facing_yaw, ground_height, head_centres, view_rotation


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
