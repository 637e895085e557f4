"""BVH (Biovision hierarchy) text for the SMPL skeleton: writing it and reading it back.

This module only turns arrays into BVH text and BVH text into arrays; files, atomic
writes and resampling live in ``mclip.motion_io``.

Conventions of the files we write (and expect when reading):

- **Axes.** BVH tools (Blender, MotionBuilder, bvhio) are y-up. Our world is z-up
  (AMASS). The BVH world is our world turned -90 degrees about x:
  ``bvh = Z_TO_Y @ world``, i.e. (x, y, z) -> (x, z, -y). Up (world +z) becomes BVH +y and
  a person facing world -y faces BVH +z. Blender's BVH importer (default: forward -Z,
  up Y) turns that back into exactly our z-up world, so the motion stands up in Blender.
  Bones keep the SMPL body frame (y up, facing +z, +x = body's left), so a standing
  person's root rotation in the file is the identity (``Z_TO_Y @ skeleton.STAND = I``).
- **Units.** Centimetres (Blender's BVH importer and most BVH tools expect cm-scale
  numbers). Offsets come from ``skeleton.REST_JOINTS``.
- **Root.** ``pelvis`` has OFFSET 0 0 0 and 6 channels: its position channels are the
  pelvis's absolute position in the BVH world (with a zero offset the two readings of
  root position, "absolute" and "offset + channel", agree).
- **Rotations.** Every joint has ``CHANNELS ... Zrotation Yrotation Xrotation`` in
  degrees: the local rotation is ``R = Rz(z) @ Ry(y) @ Rx(x)`` (intrinsic Z, then Y,
  then X), the usual BVH reading of the channel order. The reader accepts any order.
- **Leaves** (feet, head, hands) get an ``End Site`` half as long as their own bone.
"""
from __future__ import annotations

import numpy as np

from . import skeleton
from .errors import MclipError
from .rotations_np import euler_to_matrix, matrix_to_euler_zyx

Z_TO_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""(3, 3) maps our z-up world to the y-up BVH world: (x, y, z) -> (x, z, -y)."""

CM_PER_METRE = 100.0
EULER_ORDER = "ZYX"  # channel order written for every joint; R = Rz @ Ry @ Rx
_AXIS = {"X": 0, "Y": 1, "Z": 2}


def _children(j: int) -> list[int]:
    return [c for c in range(skeleton.NUM_JOINTS) if skeleton.PARENTS[c] == j]


def hierarchy_order() -> list[int]:
    """SMPL joint indices in the depth-first order the BVH hierarchy lists them."""
    order: list[int] = []

    def visit(j: int) -> None:
        order.append(j)
        for c in _children(j):
            visit(c)

    visit(0)
    return order


# ----------------------------------------------------------------- writing


def _fmt(values) -> str:
    return " ".join(f"{v:.6f}" for v in values)


BVH_UNITS = {"cm": CM_PER_METRE, "m": 1.0}


def bvh_text(rotmats: np.ndarray, trans: np.ndarray, fps: float = 30.0, units: str = "cm") -> str:
    """BVH file contents for one motion.

    rotmats: (T, 24, 3, 3) local joint rotations, [0] = global orientation (z-up world).
    trans:   (T, 3) root translation, metres, z-up world (smplx semantics:
             pelvis = REST_JOINTS[0] + trans).
    fps:     frame rate written as ``Frame Time``.
    units:   "cm" (the format's custom; import into Blender with scale 0.01) or "m".
             The reader tells them apart by the bone lengths.
    """
    if units not in BVH_UNITS:
        raise MclipError(f"BVH units: 'cm' or 'm', got {units!r}")
    per_metre = BVH_UNITS[units]
    rotmats = np.asarray(rotmats, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    T = rotmats.shape[0]
    rest = skeleton.REST_JOINTS.astype(np.float64)
    offsets = skeleton.rest_offsets().numpy().astype(np.float64) * per_metre
    offsets[0] = 0.0
    order = hierarchy_order()

    lines = ["HIERARCHY"]

    def write_joint(j: int, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if j == 0 else 'JOINT'} {skeleton.JOINT_NAMES[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {_fmt(offsets[j])}")
        if j == 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Yrotation Xrotation")
        kids = _children(j)
        for c in kids:
            write_joint(c, depth + 1)
        if not kids:  # leaf: an end site continuing the joint's own bone, half as long
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET {_fmt(0.5 * offsets[j])}")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    write_joint(0, 0)

    # Root: rotation and position expressed in the y-up BVH world, in centimetres.
    root_R = Z_TO_Y @ rotmats[:, 0]
    root_pos = (rest[0] + trans) @ Z_TO_Y.T * per_metre
    local = rotmats.copy()
    local[:, 0] = root_R
    euler = np.degrees(matrix_to_euler_zyx(local[:, order]))  # (T, 24, 3) in hierarchy order
    # Unwrap each channel over time so players that interpolate Euler curves don't spin
    # the long way round at +-180 degrees.
    euler = np.unwrap(euler, period=360.0, axis=0)
    frames = np.concatenate([root_pos, euler.reshape(T, -1)], axis=1)
    if not np.isfinite(frames).all():
        raise MclipError("the motion gives non-finite BVH channels (NaN or infinite rotations "
                         "or positions); nothing was written")

    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / fps:.7f}"]
    lines += [_fmt(row) for row in frames]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- reading


class _Node:
    def __init__(self, name: str, parent: "_Node | None"):
        self.name = name
        self.parent = parent
        self.offset = np.zeros(3)
        self.channels: list[str] = []
        self.first_channel = 0  # column of this joint's first channel in a frame row


def _canonical_name(name: str) -> str:
    """Joint-name spelling variants seen in SMPL BVH exports -> our names."""
    n = name.lower().replace(" ", "_")
    for short, long in (("l_", "left_"), ("r_", "right_")):
        if n.startswith(short):
            n = long + n[len(short):]
    return n


def parse_bvh(text: str, source: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Read BVH text with the SMPL joints (as :func:`bvh_text` writes it).

    text:    the file contents; ``source`` names the file in error messages.
    returns: rotmats (T, 24, 3, 3) local rotations in our z-up world convention,
             trans (T, 3) metres (smplx semantics), fps (the file's frame rate).
    Joint names may be spelled as ours or as ``L_Hip``/``Left_hip``; extra joints that
    are leaves are ignored; units (cm or m) are told from the bone lengths.
    Raises MclipError naming ``source`` and the problem.
    """
    tokens = text.split()
    pos = 0

    def fail(problem: str) -> MclipError:
        return MclipError(f"{source}: not a readable BVH file ({problem})")

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise fail("unexpected end of file")
        pos += 1
        return tokens[pos - 1]

    def expect(word: str) -> None:
        got = take()
        if got != word:
            raise fail(f"expected '{word}', found '{got}'")

    def number() -> float:
        tok = take()
        try:
            return float(tok)
        except ValueError:
            raise fail(f"expected a number, found '{tok}'") from None

    nodes: list[_Node] = []
    n_channels = 0

    def read_joint(name: str, parent: _Node | None) -> None:
        nonlocal n_channels
        node = _Node(name, parent)
        nodes.append(node)
        expect("{")
        expect("OFFSET")
        node.offset = np.array([number(), number(), number()])
        expect("CHANNELS")
        count = int(number())
        node.channels = [take() for _ in range(count)]
        node.first_channel = n_channels
        n_channels += count
        while True:
            word = take()
            if word == "JOINT":
                read_joint(take(), node)
            elif word == "End":
                expect("Site")
                expect("{")
                expect("OFFSET")
                for _ in range(3):
                    number()
                expect("}")
            elif word == "}":
                return
            else:
                raise fail(f"unexpected '{word}' in joint '{name}'")

    expect("HIERARCHY")
    expect("ROOT")
    read_joint(take(), None)
    expect("MOTION")
    expect("Frames:")
    n_frames = int(number())
    expect("Frame")
    expect("Time:")
    frame_time = number()
    if n_frames <= 0:
        raise MclipError(f"{source}: the BVH file has no frames")
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise fail(f"Frame Time must be positive, got {frame_time}")
    values = tokens[pos:]
    if len(values) != n_frames * n_channels:
        raise fail(f"expected {n_frames} frames x {n_channels} channels = "
                   f"{n_frames * n_channels} numbers, found {len(values)}")
    try:
        data = np.array(values, dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        raise fail("motion data holds a value that is not a number") from None
    if not np.isfinite(data).all():
        raise MclipError(f"{source}: motion data contains NaN or inf")

    # Match the file's joints to SMPL's and check the hierarchy is SMPL's.
    by_name = {_canonical_name(n.name): n for n in nodes}
    missing = [n for n in skeleton.JOINT_NAMES if n not in by_name]
    if missing:
        raise MclipError(f"{source}: not an SMPL-skeleton BVH (missing joints: {', '.join(missing[:5])}"
                         f"{'...' if len(missing) > 5 else ''})")
    smpl_nodes = [by_name[n] for n in skeleton.JOINT_NAMES]
    for j in range(1, skeleton.NUM_JOINTS):
        parent = smpl_nodes[j].parent
        if parent is None or _canonical_name(parent.name) != skeleton.JOINT_NAMES[skeleton.PARENTS[j]]:
            raise MclipError(f"{source}: joint '{smpl_nodes[j].name}' is not a child of "
                             f"'{skeleton.JOINT_NAMES[skeleton.PARENTS[j]]}' as in SMPL")

    # Units: compare bone lengths with our rest skeleton (ours: cm; others may use m).
    rest_len = np.linalg.norm(skeleton.rest_offsets().numpy()[1:], axis=1)
    file_len = np.array([np.linalg.norm(smpl_nodes[j].offset) for j in range(1, skeleton.NUM_JOINTS)])
    ratio = float(np.median(file_len / np.maximum(rest_len, 1e-6)))
    units_per_metre = CM_PER_METRE if ratio > 10.0 else 1.0

    rotmats = np.empty((n_frames, skeleton.NUM_JOINTS, 3, 3))
    root_pos = np.broadcast_to(smpl_nodes[0].offset, (n_frames, 3)).copy()
    for j, node in enumerate(smpl_nodes):
        order, cols = "", []
        for k, ch in enumerate(node.channels):
            col = node.first_channel + k
            if ch.endswith("rotation") and ch[0] in _AXIS:
                order += ch[0]
                cols.append(col)
            elif j == 0 and ch.endswith("position") and ch[0] in _AXIS:
                root_pos[:, _AXIS[ch[0]]] = data[:, col]  # absolute root position
            elif not ch.endswith("position"):
                raise fail(f"unknown channel '{ch}'")
        rotmats[:, j] = euler_to_matrix(np.radians(data[:, cols]), order)

    # Back from the y-up BVH world to our z-up world (bvh = Z_TO_Y @ world).
    rotmats[:, 0] = Z_TO_Y.T @ rotmats[:, 0]
    pelvis = root_pos / units_per_metre @ Z_TO_Y  # row-vector form of Z_TO_Y.T @ p
    trans = pelvis - skeleton.REST_JOINTS[0].astype(np.float64)
    fps = 1.0 / frame_time
    if abs(fps - round(fps)) < 1e-3 * fps:  # "Frame Time: 0.0333333" means 30 fps, not 30.00003
        fps = float(round(fps))
    return rotmats, trans, fps
