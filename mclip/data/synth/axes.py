"""Rotation matrices in the body's axes, the building blocks of every joint rotation here.

In the rest pose every joint's local frame equals the body frame (y up, facing +z, +x =
the body's left), so a local rotation reads in body axes: flexing a hip (thigh forward)
is a *negative* turn about x, bending the spine forward or a knee backward a *positive*
one. ``rx``, ``ry`` and ``rz`` turn about one axis, ``euler`` composes a bend, twist and
side-bend the way the spine and neck use them, and ``aim`` turns one vector onto another
with a chosen twist (the last step of the two-bone IK in ``limbs``). All batched over
leading axes, float64.
"""
from __future__ import annotations

import numpy as np

from ...rotations_np import axis_rotation


def rx(a) -> np.ndarray:
    """(...,) angle in radians -> (..., 3, 3) rotation about x."""
    return axis_rotation("X", np.asarray(a, dtype=np.float64))


def ry(a) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about y."""
    return axis_rotation("Y", np.asarray(a, dtype=np.float64))


def rz(a) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about z."""
    return axis_rotation("Z", np.asarray(a, dtype=np.float64))


def euler(x=0.0, y=0.0, z=0.0) -> np.ndarray:
    """Local joint rotation ``Rz(z) @ Ry(y) @ Rx(x)``, angles broadcast -> (..., 3, 3).

    For a spine/neck joint: x = bend forward (+), y = twist to the left (+),
    z = side bend (+ tilts the upper body to the body's right, i.e. +y toward -x).
    """
    x, y, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, y, z)))
    return rz(z) @ ry(y) @ rx(x)


def aim(u_from: np.ndarray, w_from: np.ndarray, u_to: np.ndarray, w_to: np.ndarray) -> np.ndarray:
    """Rotation R (..., 3, 3) with R u_from || u_to and R w_from in the (u_to, w_to) half-plane.

    All vectors (..., 3); the ``w`` vectors only choose the twist about ``u``.
    """
    def frame(u, w):
        e1 = u / np.linalg.norm(u, axis=-1, keepdims=True)
        w = w - (w * e1).sum(-1, keepdims=True) * e1
        e2 = w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-12)
        return np.stack([e1, e2, np.cross(e1, e2)], -1)  # columns

    E = frame(np.broadcast_to(u_from, np.broadcast_shapes(u_from.shape, w_from.shape)), w_from)
    F = frame(np.broadcast_to(u_to, np.broadcast_shapes(u_to.shape, w_to.shape)), w_to)
    return F @ np.swapaxes(E, -1, -2)
