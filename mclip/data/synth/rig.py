"""The rig: a batch of clips being built, with the body constants it is built on.

World frame: z up, metres, 30 fps; at heading 0 a person faces world -y and their left is
world +x, and heading (yaw) is positive counter-clockwise seen from above, so a positive
heading change is a turn to the left. A :class:`Rig` holds per-joint local rotations
(body axes, see ``axes``) plus a root described as ``heading`` (yaw about world z),
``lean`` (pelvis tilt in the body frame) and the ``pelvis`` world position;
``global_transforms``, ``joint_positions`` and ``chain_global`` are its forward
kinematics. The constants come from ``mclip.skeleton``: ``J`` (joint index by name),
``REST`` joints, ``PARENTS``, ``OFF`` (rest bone vectors), ``STANDING_PELVIS_Z``, and
``side_name`` picks a left or right joint. Limbs are posed by ``limbs`` (IK) or
``poses`` (angles), put on the floor by ``contact`` and written out by ``output``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import skeleton
from ...rotations_np import rotate
from .axes import rz

FPS = skeleton.FPS
J = skeleton.JOINT_INDEX
REST = skeleton.REST_JOINTS.astype(np.float64)
PARENTS = skeleton.PARENTS
OFF = REST - REST[[0] + list(PARENTS[1:])]
OFF[0] = REST[0]
"""(24, 3) rest bone vectors from each joint's parent (body frame, metres)."""

GROUND_Y = skeleton.REST_GROUND_Y
STANDING_PELVIS_Z = float(REST[0, 1] - GROUND_Y)
"""World height of the pelvis joint of an upright person standing on z = 0 (~0.99 m)."""



def side_name(side: int, part: str) -> int:
    """Index of a side's joint: side +1 = left, -1 = right (``side_name(1, "knee")``)."""
    return J[("left_" if side > 0 else "right_") + part]


@dataclass
class Rig:
    """A batch of B clips of T frames being built.

    local:   (B, T, 24, 3, 3) local rotations of joints 1..23 (index 0 unused).
    heading: (B, T) yaw about world z, radians (0 = facing -y).
    lean:    (B, T, 3, 3) pelvis rotation in the body frame (tilt, roll, twist).
    pelvis:  (B, T, 3) pelvis world position, metres, z up.
    airborne:(B, T) bool, frames where no body part need touch the ground (jumps).
    anchor:  if True, ``ground`` also moves the root horizontally so that the lowest,
             slowest body points do not slide (for poses driven by angles alone).
    """

    B: int
    T: int
    local: np.ndarray = field(init=False)
    heading: np.ndarray = field(init=False)
    lean: np.ndarray = field(init=False)
    pelvis: np.ndarray = field(init=False)
    airborne: np.ndarray = field(init=False)
    anchor: bool = False

    def __post_init__(self):
        self.local = np.broadcast_to(np.eye(3), (self.B, self.T, 24, 3, 3)).copy()
        self.heading = np.zeros((self.B, self.T))
        self.lean = np.broadcast_to(np.eye(3), (self.B, self.T, 3, 3)).copy()
        self.pelvis = np.zeros((self.B, self.T, 3))
        self.pelvis[..., 2] = STANDING_PELVIS_Z
        self.airborne = np.zeros((self.B, self.T), dtype=bool)

    def root_rotation(self) -> np.ndarray:
        """(B, T, 3, 3) global orientation = Rz(heading) @ STAND @ lean."""
        return rz(self.heading) @ skeleton.STAND.astype(np.float64) @ self.lean

    def set(self, joint: str | int, R: np.ndarray) -> None:
        """Set a local rotation, R broadcastable to (B, T, 3, 3)."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = R

    def pre(self, joint: str | int, R: np.ndarray) -> None:
        """Compose an extra rotation in the parent frame: local <- R @ local."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = R @ self.local[:, :, j]

    def post(self, joint: str | int, R: np.ndarray) -> None:
        """Compose an extra rotation in the joint frame: local <- local @ R."""
        j = J[joint] if isinstance(joint, str) else joint
        self.local[:, :, j] = self.local[:, :, j] @ R

    def crop(self, start: int, T: int) -> "Rig":
        out = Rig(self.B, T)
        out.local = self.local[:, start:start + T].copy()
        out.heading = self.heading[:, start:start + T].copy()
        out.lean = self.lean[:, start:start + T].copy()
        out.pelvis = self.pelvis[:, start:start + T].copy()
        out.airborne = self.airborne[:, start:start + T].copy()
        out.anchor = self.anchor
        return out


def global_transforms(rig: Rig, upto: int = 23) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (B, T, k, 3, 3) and positions (B, T, k, 3) of joints 0..upto.

    Joints are in topological order, so a prefix of the table is closed under parents.
    """
    R0 = rig.root_rotation()
    G = [R0]
    P = [rig.pelvis]
    for j in range(1, upto + 1):
        p = PARENTS[j]
        P.append(P[p] + rotate(G[p], OFF[j]))
        G.append(G[p] @ rig.local[:, :, j])
    return np.stack(G, 2), np.stack(P, 2)


def joint_positions(rig: Rig) -> np.ndarray:
    """(B, T, 24, 3) world joint positions of the rig."""
    return global_transforms(rig)[1]


def chain_global(rig: Rig, j: int) -> tuple[np.ndarray, np.ndarray]:
    """World rotation (B, T, 3, 3) and position (B, T, 3) of joint j (ancestors only)."""
    chain = []
    k = j
    while k > 0:
        chain.append(k)
        k = PARENTS[k]
    G = rig.root_rotation()
    P = rig.pelvis.copy()
    for k in reversed(chain):
        P = P + rotate(G, OFF[k])
        G = G @ rig.local[:, :, k]
    return G, P
