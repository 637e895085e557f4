"""mclip.skeleton: rest table, frames, mirror table and forward kinematics, checked
against poses computed by hand.

Body frame: y up, facing +z, +x = the body's left. World: z up. STAND = +90 deg about x
maps body (x, y, z) to world (x, -z, y).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mclip import skeleton as sk
from mclip.rotations import axis_angle_to_matrix, rotation_about

torch.set_num_threads(1)

J = sk.JOINT_INDEX
REST = sk.REST_JOINTS.astype(np.float64)


def identity(*lead):
    return torch.eye(3, dtype=torch.float64).expand(*lead, 24, 3, 3).clone()


def fk(R, trans=None):
    return sk.forward_kinematics(R, trans).numpy()


def test_tables_are_consistent():
    assert len(sk.JOINT_NAMES) == len(sk.PARENTS) == sk.NUM_JOINTS == 24
    assert sk.PARENTS[0] == -1 and all(0 <= sk.PARENTS[j] < j for j in range(1, 24))
    assert len(sk.BONES) == 23
    assert sorted(sk.UPPER_BODY_JOINTS + sk.LOWER_BODY_JOINTS) == list(range(24))
    assert {J["head"], J["left_wrist"], J["right_hand"]} <= set(sk.UPPER_BODY_JOINTS)
    assert {J["pelvis"], J["left_foot"], J["right_knee"]} <= set(sk.LOWER_BODY_JOINTS)
    assert sk.REST_JOINTS.shape == (24, 3) and sk.REST_JOINTS.dtype == np.float32


def test_stand_matrix_is_plus_90_about_x():
    np.testing.assert_allclose(sk.STAND, rotation_about("x", math.pi / 2).numpy(), atol=1e-7)
    np.testing.assert_allclose(axis_angle_to_matrix(torch.as_tensor(sk.STAND_AXIS_ANGLE)).numpy(),
                               sk.STAND, atol=3e-7)


def test_rest_pose_is_identity_fk():
    np.testing.assert_allclose(fk(identity()), REST, atol=1e-12)
    trans = torch.tensor([0.5, -2.0, 0.1], dtype=torch.float64)
    np.testing.assert_allclose(fk(identity(), trans), REST + trans.numpy(), atol=1e-12)


def test_standing_pose_in_the_world():
    R = identity()
    R[0] = torch.as_tensor(sk.STAND, dtype=torch.float64)
    joints = fk(R)
    # smplx semantics: the root turns about its own rest position.
    np.testing.assert_allclose(joints[J["pelvis"]], REST[0], atol=1e-12)
    # Every joint: pelvis + STAND (x, y, z) = pelvis + (x, -z, y), by hand.
    d = REST - REST[0]
    np.testing.assert_allclose(joints, REST[0] + np.stack([d[:, 0], -d[:, 2], d[:, 1]], 1),
                               atol=1e-12)
    head, pelvis = joints[J["head"]], joints[J["pelvis"]]
    assert head[2] - pelvis[2] > 0.5  # head well above the pelvis in world z
    assert abs(head[0] - pelvis[0]) < 1e-9
    # Facing world -y: the toes (foot joint) are ahead of the ankle, i.e. at smaller y.
    assert joints[J["left_foot"], 1] < joints[J["left_ankle"], 1] - 0.05
    # Left stays +x in the world (up z x forward -y = +x).
    assert joints[J["left_hand"], 0] > 0.5 and joints[J["right_hand"], 0] < -0.5
    # The floor: sole under the feet at REST_GROUND_Y (body y) = world z after STAND.
    ground_z = sk.REST_GROUND_Y - REST[0, 1] + pelvis[2]
    feet = joints[[J["left_foot"], J["right_foot"]], 2]
    np.testing.assert_allclose(feet - ground_z, sk.FOOT_HEIGHT, atol=1e-6)
    assert (joints[:, 2] > ground_z).all()


def test_feet_near_rest_ground_and_plausible_height():
    feet = REST[[J["left_foot"], J["right_foot"]], 1]
    ankles = REST[[J["left_ankle"], J["right_ankle"]], 1]
    assert np.all((feet - sk.REST_GROUND_Y > 0) & (feet - sk.REST_GROUND_Y < 0.05))
    assert np.all((ankles - sk.REST_GROUND_Y > 0.05) & (ankles - sk.REST_GROUND_Y < 0.12))
    assert (REST[:, 1] > sk.REST_GROUND_Y).all()
    # Head joint ~ ear level: an adult of 1.6-1.9 m has it 1.5-1.75 m above the floor.
    assert 1.5 < REST[J["head"], 1] - sk.REST_GROUND_Y < 1.75


def test_left_elbow_90_degrees_about_body_y():
    R = identity()
    R[J["left_elbow"]] = rotation_about("y", torch.tensor(math.pi / 2, dtype=torch.float64))
    joints = fk(R)
    e, w = REST[J["left_elbow"]], REST[J["left_wrist"]]
    # Ry(+90): (x, y, z) -> (z, y, -x). The forearm pointing +x (left) now points -z (back).
    d = w - e
    expect_wrist = e + np.array([d[2], d[1], -d[0]])
    np.testing.assert_allclose(joints[J["left_wrist"]], expect_wrist, atol=1e-12)
    np.testing.assert_allclose(expect_wrist, [0.465 + 0.015, 0.218 + 0.004, -0.030 - 0.250], atol=1e-6)
    # Nothing else but the wrist and hand moved.
    moved = np.abs(joints - REST).max(1) > 1e-12
    assert set(np.flatnonzero(moved)) == {J["left_wrist"], J["left_hand"]}
    # Same pose standing in the world: the whole arm is turned by STAND too.
    R[0] = torch.as_tensor(sk.STAND, dtype=torch.float64)
    world = fk(R, torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64))
    S = sk.STAND.astype(np.float64)
    expect = REST[0] + [1.0, 2.0, 0.0] + S @ (e - REST[0]) + S @ np.array([d[2], d[1], -d[0]])
    np.testing.assert_allclose(world[J["left_wrist"]], expect, atol=1e-6)


def test_bone_lengths_preserved_under_random_rotations():
    g = torch.Generator().manual_seed(0)
    R = axis_angle_to_matrix(torch.randn(50, 24, 3, dtype=torch.float64, generator=g) * 1.5)
    trans = torch.randn(50, 3, dtype=torch.float64, generator=g)
    joints = fk(R, trans)
    for p, c in sk.BONES:
        rest_len = np.linalg.norm(REST[c] - REST[p])
        np.testing.assert_allclose(np.linalg.norm(joints[:, c] - joints[:, p], axis=-1),
                                   rest_len, atol=1e-12)
    # Root position only depends on trans (root rotates about itself).
    np.testing.assert_allclose(joints[:, 0], REST[0] + trans.numpy(), atol=1e-12)


def test_left_is_plus_x_in_body_frame():
    for name, i in J.items():
        if name.startswith("left_"):
            assert REST[i, 0] > 0.05, name
            assert REST[J[name.replace("left_", "right_")], 0] < -0.05
        elif not name.startswith("right_"):
            assert REST[i, 0] == 0.0, name  # centre line


def test_mirror_is_an_involution_swapping_sides():
    m = np.array(sk.MIRROR)
    assert (m[m] == np.arange(24)).all()
    for i, name in enumerate(sk.JOINT_NAMES):
        other = sk.JOINT_NAMES[m[i]]
        if name.startswith("left_"):
            assert other == "right_" + name[5:]
        elif name.startswith("right_"):
            assert other == "left_" + name[6:]
        else:
            assert m[i] == i
    assert set(m[list(sk.LEFT_JOINTS)]) == set(sk.RIGHT_JOINTS)
    # The rest table is left-right symmetric under the mirror.
    np.testing.assert_array_equal(REST[m] * [-1, 1, 1], REST)


def test_mirrored_pose_gives_mirrored_joints():
    """Reflect through x = 0: aa (x, y, z) -> (x, -y, -z), joints swap sides, x -> -x."""
    g = torch.Generator().manual_seed(1)
    aa = torch.randn(10, 24, 3, dtype=torch.float64, generator=g)
    trans = torch.randn(10, 3, dtype=torch.float64, generator=g)
    flip = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    aa_m = aa[:, list(sk.MIRROR)] * flip
    trans_m = trans * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    a = fk(axis_angle_to_matrix(aa), trans)
    b = fk(axis_angle_to_matrix(aa_m), trans_m)
    np.testing.assert_allclose(b, a[:, list(sk.MIRROR)] * [-1, 1, 1], atol=1e-12)


def test_batched_fk_matches_per_item():
    g = torch.Generator().manual_seed(2)
    B, T = 3, 4
    R = axis_angle_to_matrix(torch.randn(B, T, 24, 3, generator=g))
    trans = torch.randn(B, T, 3, generator=g)
    out = sk.forward_kinematics(R, trans)
    assert out.shape == (B, T, 24, 3)
    for b in range(B):
        for t in range(T):
            torch.testing.assert_close(out[b, t], sk.forward_kinematics(R[b, t], trans[b, t]))
    glob = sk.global_rotations(R)
    assert glob.shape == (B, T, 24, 3, 3)
    chain = ["pelvis", "spine1", "spine2", "spine3", "left_collar", "left_shoulder", "left_elbow"]
    expect = R[..., 0, :, :]
    for name in chain[1:]:
        expect = expect @ R[..., J[name], :, :]
    torch.testing.assert_close(glob[..., J["left_elbow"], :, :], expect)


def test_numpy_helper_matches_torch_fk():
    rng = np.random.default_rng(3)
    poses = rng.normal(size=(6, 24, 3)).astype(np.float32)
    trans = rng.normal(size=(6, 3)).astype(np.float32)
    out = sk.joints_from_axis_angle(poses, trans)
    assert out.dtype == np.float32 and out.shape == (6, 24, 3)
    ref = fk(axis_angle_to_matrix(torch.as_tensor(poses, dtype=torch.float64)),
             torch.as_tensor(trans, dtype=torch.float64))
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_fk_is_differentiable():
    aa = torch.zeros(24, 3, dtype=torch.float64, requires_grad=True)
    wrist = sk.forward_kinematics(axis_angle_to_matrix(aa))[J["left_wrist"]]
    # d(wrist)/d(elbow aa) at rest = -[wrist - elbow]_x (rotation about the elbow).
    Jac = torch.stack([torch.autograd.grad(wrist[k], aa, retain_graph=True)[0][J["left_elbow"]]
                       for k in range(3)])
    d = REST[J["left_wrist"]] - REST[J["left_elbow"]]
    skew = np.array([[0, -d[2], d[1]], [d[2], 0, -d[0]], [-d[1], d[0], 0]])
    np.testing.assert_allclose(Jac.numpy(), -skew, atol=1e-6)
