"""Write the small example motions in examples/ with mclip's own code.

    python examples/make_examples.py            # writes next to this script
    python examples/make_examples.py -o DIR

Files (30 fps, z-up world, metres; feet on the ground, facing world -y):
    tpose.npz / .npy / .bvh   2 s standing still in the skeleton's rest T-pose
    wave.npz  / .npy / .bvh   3.5 s: arms down, the right arm rises, waves, comes down

Everything is procedural: joint rotations are written by hand in SMPL's body frame
(y up, facing +z, +x = the body's left), the global orientation is ``skeleton.STAND``
and the root height is chosen from forward kinematics so the lowest foot joint sits
``skeleton.FOOT_HEIGHT`` (2.5 cm, the sole) above z = 0.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from mclip import skeleton
from mclip.motion_io import FPS, Motion, motion_from_rotmats, save_motion
from mclip.rotations import rotation_about

J = skeleton.JOINT_INDEX
FOOT_JOINTS = [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends (for easing in and out)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def rot(axis: str, degrees: np.ndarray) -> torch.Tensor:
    """(T,) degrees about a body-frame axis -> (T, 3, 3)."""
    return rotation_about(axis, torch.as_tensor(np.radians(degrees))).double()


def standing(rotmats: torch.Tensor) -> Motion:
    """Put a (T, 24, 3, 3) pose sequence upright in the world, pelvis over the origin,
    the lowest foot joint ``FOOT_HEIGHT`` above the floor (one height for the whole clip,
    so the body doesn't bob)."""
    T = rotmats.shape[0]
    rotmats = rotmats.clone()
    rotmats[:, 0] = torch.as_tensor(skeleton.STAND, dtype=rotmats.dtype) @ rotmats[:, 0]
    trans = np.zeros((T, 3))
    trans[:, :2] = -skeleton.REST_JOINTS[0, :2]  # pelvis_world = REST_JOINTS[0] + trans
    joints = skeleton.forward_kinematics(rotmats.double(), torch.as_tensor(trans)).numpy()
    trans[:, 2] = skeleton.FOOT_HEIGHT - joints[:, FOOT_JOINTS, 2].min()
    return motion_from_rotmats(rotmats, trans, FPS)


def tpose(seconds: float = 2.0) -> Motion:
    """The rest pose (arms out sideways), standing still."""
    T = int(round(seconds * FPS))
    return standing(torch.eye(3, dtype=torch.float64).repeat(T, skeleton.NUM_JOINTS, 1, 1))


def wave(seconds: float = 3.5, waves_per_second: float = 1.6) -> Motion:
    """Arms relaxed at the sides; the right arm rises (elbow bent, forearm up), the
    forearm swings side to side in front of the shoulder, then the arm comes down."""
    T = int(round(seconds * FPS))
    t = np.arange(T) / FPS
    raise_w = smoothstep(t / 0.7) * smoothstep((seconds - t) / 0.7)  # 0 at rest, 1 while waving
    swing = np.sin(2 * np.pi * waves_per_second * (t - 0.5)) * smoothstep((t - 0.4) / 0.5)

    R = torch.eye(3, dtype=torch.float64).repeat(T, skeleton.NUM_JOINTS, 1, 1)
    # Left arm (rest: along body +x) down by the side: -75 degrees about the facing axis z.
    R[:, J["left_shoulder"]] = rot("z", np.full(T, -75.0))
    R[:, J["left_elbow"]] = rot("y", np.full(T, -10.0))  # a slight, relaxed elbow bend
    # Right arm (rest: along body -x). Down: +75 about z. Waving: upper arm 20 degrees
    # above horizontal and 25 degrees forward, turned outwards 90 degrees about its own
    # axis so that the elbow, a hinge about +y as a person's is, bends the forearm up;
    # the wave swings that bend +-25 degrees, side to side in the frontal plane.
    shoulder_z = 75.0 + (-20.0 - 75.0) * raise_w
    R[:, J["right_shoulder"]] = rot("y", 25.0 * raise_w) @ rot("z", shoulder_z) @ rot("x", -90.0 * raise_w)
    R[:, J["right_elbow"]] = rot("y", 10.0 + raise_w * (70.0 + 25.0 * swing))
    R[:, J["right_wrist"]] = rot("z", -12.0 * raise_w * np.sin(2 * np.pi * waves_per_second * (t - 0.5) - 0.6))
    # The torso answers a little: lean away from the raised arm, head follows the hand.
    R[:, J["spine3"]] = rot("z", 3.0 * raise_w)
    R[:, J["head"]] = rot("z", -4.0 * raise_w) @ rot("y", -8.0 * raise_w)
    return standing(R)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path(__file__).resolve().parent)
    out = ap.parse_args().out
    for name, motion in (("tpose", tpose()), ("wave", wave())):
        for ext in (".npz", ".npy", ".bvh"):
            path = out / f"{name}{ext}"
            save_motion(motion, path)
            print(f"wrote {path} ({motion.num_frames} frames, {path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
