"""Model features: round trips, canonical heading, and FK agreement with an independent rotation."""
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mclip import representation as rep
from mclip import skeleton
from mclip.rotations import axis_angle_to_matrix

torch.set_num_threads(1)


def _random_clip(rng, T=12, yaw=0.7, spread=0.3):
    """Upright-ish clip: STAND turned by `yaw` about world z, with random joint wiggles."""
    poses = rng.normal(0, spread, size=(T, 24, 3))
    stand_yawed = Rotation.from_euler("z", yaw) * Rotation.from_matrix(skeleton.STAND.astype(np.float64))
    wiggle = Rotation.from_rotvec(rng.normal(0, 0.1, size=(T, 3)))
    poses[:, 0] = (stand_yawed * wiggle).as_rotvec()
    trans = np.cumsum(rng.normal(0, 0.05, size=(T, 3)), axis=0) + np.array([3.0, -2.0, 0.9])
    return poses.astype(np.float32), trans.astype(np.float32)


def test_features_round_trip():
    rng = np.random.default_rng(0)
    poses, trans = _random_clip(rng)
    x = rep.motion_to_features(poses, trans, canonical=False)
    assert x.shape == (12, 25, 6) and x.dtype == torch.float32
    assert torch.all(x[:, 24, 3:] == 0)
    np.testing.assert_allclose(x[:, 24, :3].numpy(), trans, atol=1e-6)
    aa, tr = rep.features_to_motion(x)
    # compare as rotations (axis-angle is not unique at pi), independently via scipy
    R_in = Rotation.from_rotvec(poses.reshape(-1, 3).astype(np.float64)).as_matrix()
    R_out = Rotation.from_rotvec(aa.reshape(-1, 3).astype(np.float64)).as_matrix()
    np.testing.assert_allclose(R_out, R_in, atol=1e-5)
    np.testing.assert_allclose(tr, trans, atol=1e-6)
    # 6D rows are the first two columns of the scipy matrix
    np.testing.assert_allclose(x[3, 5].numpy(), np.concatenate([R_in.reshape(12, 24, 3, 3)[3, 5][:, 0],
                                                                 R_in.reshape(12, 24, 3, 3)[3, 5][:, 1]]), atol=1e-6)


def test_features_batched_and_72_wide():
    rng = np.random.default_rng(1)
    a = _random_clip(rng)
    b = _random_clip(rng, yaw=-2.0)
    poses = np.stack([a[0], b[0]]).reshape(2, 12, 72)
    trans = np.stack([a[1], b[1]])
    x = rep.motion_to_features(poses, trans)
    assert x.shape == (2, 12, 25, 6)
    xb = rep.motion_to_features(b[0], b[1])
    np.testing.assert_allclose(x[1].numpy(), xb.numpy(), atol=1e-6)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi - 1e-3])
def test_heading_of_yawed_stand(yaw):
    R = Rotation.from_euler("z", yaw).as_matrix() @ skeleton.STAND
    h = rep.heading(torch.tensor(R, dtype=torch.float32))
    assert abs(math.remainder(float(h) - yaw, 2 * math.pi)) < 1e-5


def test_heading_lying_face_down_uses_left_axis():
    # Lying face down (tipped forward about the left axis): forward axis points to world -z.
    R = Rotation.from_euler("z", 0.4) * Rotation.from_euler("x", math.pi / 2) * Rotation.from_matrix(
        skeleton.STAND.astype(np.float64))
    Rm = torch.tensor(R.as_matrix(), dtype=torch.float32)
    assert abs(float(Rm[2, 2])) > 0.99  # forward ~ vertical
    h = rep.heading(Rm)
    assert torch.isfinite(h)
    # the left axis stays horizontal; heading must match the left axis turned by -90 deg
    left = R.as_matrix()[:, 0]
    expected = math.atan2(left[1], left[0])  # left = (cos h, sin h)
    assert abs(expected - 0.4) < 1e-6
    assert abs(math.remainder(float(h) - expected, 2 * math.pi)) < 1e-5


def test_canonicalize_heading_position_and_fk():
    rng = np.random.default_rng(2)
    yaw = 2.1
    poses, trans = _random_clip(rng, T=20, yaw=yaw)
    R = torch.tensor(Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(20, 24, 3, 3),
                     dtype=torch.float64)
    t = torch.tensor(trans, dtype=torch.float64)
    Rc, tc = rep.canonicalize(R, t)

    # first frame faces -y: heading 0, forward axis horizontal part along -y
    assert abs(float(rep.heading(Rc[0, 0]))) < 1e-9
    fwd = Rc[0, 0][:, 2].numpy()
    assert fwd[1] < 0 and abs(fwd[0]) < 1e-9
    # non-root joints untouched
    assert torch.equal(Rc[:, 1:], R[:, 1:])

    J = skeleton.forward_kinematics(R, t).numpy()
    Jc = skeleton.forward_kinematics(Rc, tc).numpy()
    # first-frame pelvis above the origin, same height
    np.testing.assert_allclose(Jc[0, 0, :2], 0.0, atol=1e-9)
    np.testing.assert_allclose(Jc[0, 0, 2], J[0, 0, 2], atol=1e-9)

    # independent truth: rotate the original joints by a hand-built Rz(-yaw0) and shift
    h0 = float(rep.heading(R[0, 0]))
    c, s = math.cos(-h0), math.sin(-h0)
    Rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    expected = J @ Rz.T
    expected[..., :2] -= expected[0, 0, :2]
    np.testing.assert_allclose(Jc, expected, atol=1e-9)
    # and the yaw found is the one the clip was built with (up to the frame-0 wiggle)
    assert abs(math.remainder(h0 - yaw, 2 * math.pi)) < 0.4
    # upright body facing -y has its left hip towards +x
    hips = Jc[0, skeleton.JOINT_INDEX["left_hip"]] - Jc[0, skeleton.JOINT_INDEX["right_hip"]]
    assert hips[0] > 0.8 * np.linalg.norm(hips)


def test_canonicalize_batched_matches_single():
    rng = np.random.default_rng(3)
    clips = [_random_clip(rng, yaw=y) for y in (0.3, -1.2, 3.0)]
    R = torch.stack([axis_angle_to_matrix(torch.tensor(p)) for p, _ in clips])
    t = torch.stack([torch.tensor(tr) for _, tr in clips])
    Rb, tb = rep.canonicalize(R, t)
    for i in range(3):
        Ri, ti = rep.canonicalize(R[i], t[i])
        torch.testing.assert_close(Rb[i], Ri)
        torch.testing.assert_close(tb[i], ti)


def test_canonicalize_idempotent():
    rng = np.random.default_rng(4)
    poses, trans = _random_clip(rng, yaw=-0.9)
    x1 = rep.motion_to_features(poses, trans)
    aa, tr = rep.features_to_motion(x1)
    x2 = rep.motion_to_features(aa, tr)
    np.testing.assert_allclose(x2.numpy(), x1.numpy(), atol=2e-5)
