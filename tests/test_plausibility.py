"""Plausibility metrics (mclip.eval.plausibility) against hand-made truths."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mclip import skeleton
from mclip.eval import plausibility as M

J = skeleton.JOINT_INDEX


def standing_clip(T=30):
    """(1, T, 24, 3): the rest pose, upright on the floor z = 0, not moving."""
    poses = np.zeros((T, 24, 3), np.float32)
    poses[:, 0] = skeleton.STAND_AXIS_ANGLE
    trans = np.zeros((T, 3), np.float32)
    # pelvis_world = REST_JOINTS[0] + trans, and the pelvis stands this high over the floor
    trans[:, 2] = skeleton.REST_JOINTS[0, 1] - skeleton.REST_GROUND_Y
    return skeleton.joints_from_axis_angle(poses, trans)[None].astype(np.float64), poses[None]


def test_standing_rest_pose_is_clean():
    j, poses = standing_clip()
    assert M.sole_heights(j).min() == pytest.approx(0.0, abs=1e-3)
    assert M.foot_skate(j)[0] == 0.0
    assert M.ground_penetration(j)[0] < 1e-3
    assert M.bone_length_error(j)[0] < 1e-5
    assert M.jerk(j)[0] < 1e-6
    assert M.joint_limit_violation(poses)[0] == 0.0
    assert not M.airborne_frames(j).any()


def test_foot_skate_measures_a_known_slide():
    j, _ = standing_clip(T=31)
    slide = 0.004 * np.arange(31)                # 4 mm per frame along x, feet stay low
    j[0, :, :, 0] += slide[:, None]
    assert M.foot_skate(j)[0] == pytest.approx(0.004, rel=1e-6)
    # lifting the whole body 10 cm: no contact, nothing counted
    j[0, :, :, 2] += 0.10
    assert M.foot_skate(j)[0] == 0.0


def test_foot_skate_ignores_fast_swing_feet():
    j, _ = standing_clip(T=31)
    j[0, :, J["left_ankle"], 0] += 0.05 * np.arange(31)   # 1.5 m/s: a swing, not a contact
    j[0, :, J["left_foot"], 0] += 0.05 * np.arange(31)
    assert M.foot_skate(j)[0] == 0.0


def test_ground_penetration_depth():
    j, _ = standing_clip()
    j[0, 10:12, :, 2] -= 0.05
    assert M.ground_penetration(j)[0] == pytest.approx(0.05, abs=1e-3)


def test_bone_length_error_sees_stretching():
    j, _ = standing_clip()
    # move the left wrist 3 cm further from the elbow along the forearm
    e, w = J["left_elbow"], J["left_wrist"]
    d = j[0, :, w] - j[0, :, e]
    j[0, :, w] += 0.03 * d / np.linalg.norm(d, axis=-1, keepdims=True)
    assert M.bone_length_error(j)[0] == pytest.approx(0.03, abs=1e-4)


def test_jerk_and_acceleration_of_known_trajectories():
    j, _ = standing_clip(T=40)
    t = np.arange(40) / 30.0
    lin = j.copy()
    lin[..., 0] += 1.3 * t[:, None]              # constant velocity: no acceleration, no jerk
    assert M.jerk(lin)[0] < 1e-6 and M.acceleration(lin)[0] < 1e-6
    cub = j.copy()
    cub[..., 2] += 0.5 * t[:, None] ** 3          # z = a t^3: jerk = 6 a = 3 m/s^3, accel = 6 a t
    assert M.jerk(cub)[0] == pytest.approx(3.0, rel=1e-6)
    assert M.acceleration(cub)[0] == pytest.approx(3.0 * t[-2], rel=0.05)
    # a 5 cm teleport is a jerk spike
    tel = j.copy()
    tel[0, 20:, :, 0] += 0.05
    # third difference of a step h is (h, -2h, h): peak 2 h fps^3
    assert M.max_jerk(tel)[0] == pytest.approx(2 * 0.05 * 30 ** 3, rel=1e-6)


@pytest.mark.parametrize("angle", [0.3, 1.2, -0.4])
def test_knee_flexion_sign_and_size(angle):
    poses = np.zeros((1, 24, 3), np.float32)
    poses[0, 0] = skeleton.STAND_AXIS_ANGLE
    poses[0, J["left_knee"]] = Rotation.from_euler("x", angle).as_rotvec()
    j = skeleton.joints_from_axis_angle(poses)[None].astype(np.float64)
    flex = M.knee_flexion(j)[0, 0]
    rest = M.knee_flexion(skeleton.joints_from_axis_angle(np.concatenate(
        [poses[:, :1], np.zeros((1, 23, 3), np.float32)], 1))[None].astype(np.float64))[0, 0, 0]
    # the rest knee is slightly bent; rotating the shank adds to it
    assert np.sign(flex[0]) == np.sign(angle + rest) and abs(flex[0] - rest - angle) < 0.02
    bend, off = M.hinge_angles(poses[None])["left_knee"]
    assert bend[0, 0] == pytest.approx(angle, abs=1e-5) and off[0, 0] < 1e-5
    assert (M.joint_limit_violation(poses[None])[0] > 0) == (angle < -0.1)


def test_hinge_split_matches_scipy():
    rng = np.random.default_rng(0)
    rv = rng.normal(size=(50, 3)) * 0.8
    poses = np.zeros((1, 50, 24, 3))
    poses[0, :, J["right_elbow"]] = rv
    bend, off = M.hinge_angles(poses)["right_elbow"]
    axis = np.array([0.0, 1.0, 0.0])
    for k in range(50):
        R = Rotation.from_rotvec(rv[k])
        # twist angle about the axis: swing = R * twist^-1 must have no component along it
        tw = Rotation.from_rotvec(axis * bend[0, k])
        swing = R * tw.inv()
        assert abs(swing.as_rotvec() @ axis) < 1e-6
        assert swing.magnitude() == pytest.approx(off[0, k], abs=1e-6)
