"""Inverse kinematics (``mclip.ik``): rotations from joint positions.

Checked against independent truth: rotations that made the positions (random poses,
hinged limbs, the corpus generator's clips, the shipped examples), joints of a body of
other size, and the shipped model, which must read a joints file as it reads the SMPL
file it came from.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from mclip import Engine, Motion, load_motion, skeleton
from mclip.errors import MclipError
from mclip.ik import HINGES, IKConfig, fit_rotations, hinge_bend, position_noise, smooth_in_time
from mclip.motion_io import save_joints, save_motion
from mclip.rotations import axis_angle_to_matrix, geodesic_angle

ROOT = Path(__file__).resolve().parents[1]
J = skeleton.JOINT_INDEX
LIMBS = ["left_hip", "right_hip", "left_knee", "right_knee", "left_shoulder", "right_shoulder",
         "left_elbow", "right_elbow"]


def _degrees_off(poses_a: np.ndarray, poses_b: np.ndarray) -> np.ndarray:
    """(T, 24, 3) x2 axis-angle -> (24,) mean angle in degrees between the local rotations."""
    Ra = axis_angle_to_matrix(torch.as_tensor(poses_a, dtype=torch.float64))
    Rb = axis_angle_to_matrix(torch.as_tensor(poses_b, dtype=torch.float64))
    return np.degrees(geodesic_angle(Ra, Rb).mean(0).numpy())


def test_random_poses_are_reproduced_and_bad_shapes_refused():
    g = torch.Generator().manual_seed(3)
    aa = torch.randn(20, 24, 3, generator=g) * 0.5
    aa[:, 0] = torch.tensor(skeleton.STAND_AXIS_ANGLE) + 0.3 * torch.randn(20, 3, generator=g)
    tr = torch.randn(20, 3, generator=g)
    joints = skeleton.forward_kinematics(axis_angle_to_matrix(aa), tr).numpy()
    poses, trans, err = fit_rotations(joints)
    assert err < 1e-4
    np.testing.assert_allclose(skeleton.joints_from_axis_angle(poses, trans), joints, atol=1e-4)
    with pytest.raises(MclipError):
        fit_rotations(np.zeros((5, 23, 3)))


def test_hinge_bend_is_the_bend_that_made_the_angle():
    off = skeleton.rest_offsets().double()
    bends = torch.linspace(0.1, 2.4, 24, dtype=torch.float64)
    for upper_joint, (mid, end, axis) in HINGES.items():
        a = torch.tensor(axis, dtype=torch.float64)
        lower = axis_angle_to_matrix(a * bends[:, None]) @ off[end]           # (24, 3)
        cos = (lower @ off[mid]) / (off[mid].norm() * lower.norm(dim=-1))
        torch.testing.assert_close(hinge_bend(off[mid], off[end], a, cos), bends, atol=1e-6, rtol=0)


def test_the_twist_above_a_bent_knee_or_elbow_is_recovered():
    """Hips and shoulders turned every way (twist included), knees and elbows bent about
    their hinges only: positions fix every one of those rotations."""
    rng = np.random.default_rng(0)
    T = 40
    aa = np.zeros((T, 24, 3))
    aa[:, 0] = skeleton.STAND_AXIS_ANGLE
    for name in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"):
        axis = rng.normal(size=(T, 3))
        aa[:, J[name]] = axis / np.linalg.norm(axis, axis=1, keepdims=True) * rng.uniform(0.1, 1.2, (T, 1))
    for upper_joint, (mid, _, axis) in HINGES.items():
        aa[:, mid] = np.asarray(axis) * rng.uniform(0.15, 2.3, (T, 1))
    joints = skeleton.joints_from_axis_angle(aa, np.zeros((T, 3)))
    poses, _, _ = fit_rotations(joints)
    off = _degrees_off(poses, aa)
    for name in LIMBS:
        assert off[J[name]] < 0.01, name
    # The least-twist rule alone (which this replaced) put 20-35 degrees into them.


def test_corpus_clips_get_back_the_rotations_that_made_them():
    from mclip.data.synth import generate

    poses, trans, _ = generate(16, 21, frames=60)
    off = []
    for p, t in zip(poses, trans):
        fitted, _, err = fit_rotations(skeleton.joints_from_axis_angle(p, t))
        assert err < 1e-4
        off.append(_degrees_off(fitted, p))
    off = np.array(off)                                       # (clips, 24) mean degrees
    for name in LIMBS:
        assert off[:, J[name]].max() < 3.0, (name, off[:, J[name]].max())
    # A foot's roll is a guess (level): right for most clips, not for a kick's foot.
    for name in ("left_ankle", "right_ankle"):
        assert np.median(off[:, J[name]]) < 1.0, name


def test_a_foot_keeps_its_left_axis_level():
    from mclip.data.synth import generate

    poses, trans, _ = generate(1, 4, frames=60, actions=["walk"])
    fitted, tr, _ = fit_rotations(skeleton.joints_from_axis_angle(poses[0], trans[0]))
    R = axis_angle_to_matrix(torch.from_numpy(fitted).double())
    glob = skeleton.global_rotations(R)                                  # (T, 24, 3, 3)
    for name in ("left_ankle", "right_ankle"):
        left_axis = glob[:, J[name], :, 0]                                # world, z-up
        assert left_axis[:, 2].abs().max() < 1e-4


def test_a_larger_body_is_retargeted_to_the_same_rotations():
    from mclip.data.synth import generate

    poses, trans, _ = generate(4, 9, frames=60, actions=["walk"])
    R = axis_angle_to_matrix(torch.from_numpy(poses[0]).double())
    tall = skeleton.forward_kinematics(R, torch.from_numpy(trans[0]).double() * 1.08,
                                       rest=torch.tensor(skeleton.REST_JOINTS).double() * 1.08)
    fitted, tr, err = fit_rotations(tall.numpy())
    assert err < 1e-4                                                     # in the input's size
    same_size, _, _ = fit_rotations(skeleton.joints_from_axis_angle(poses[0], trans[0]))
    assert _degrees_off(fitted, same_size).max() < 0.1                   # as if it were our size
    np.testing.assert_allclose(tr, trans[0], atol=1e-4)                  # the path scaled back
    # Other proportions (legs 10% longer only): the polish gets close, not exact.
    rest = skeleton.REST_JOINTS.astype(np.float64).copy()
    legs = [J[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle",
                           "left_foot", "right_foot")]
    rest[legs] = rest[legs] * 1.1
    leggy = skeleton.forward_kinematics(R, torch.from_numpy(trans[0]).double(), rest=torch.tensor(rest))
    _, _, err2 = fit_rotations(leggy.numpy())
    assert err2 < 0.05


def test_noise_is_measured_by_the_bones_jitter_and_smoothed_away():
    from mclip.data.synth import generate

    poses, trans, _ = generate(1, 2, frames=90, actions=["walk"])
    clean = torch.from_numpy(skeleton.joints_from_axis_angle(poses[0], trans[0]))
    assert position_noise(clean) < 1e-6                       # FK joints: bones are rigid
    noisy = clean + 0.005 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0),
                                        dtype=clean.dtype)
    assert position_noise(noisy) == pytest.approx(0.005, rel=0.15)
    smooth = smooth_in_time(noisy, 1.5)
    assert (smooth - clean).norm(dim=-1).mean() < 0.6 * (noisy - clean).norm(dim=-1).mean()
    ramp = torch.linspace(0, 1, 30, dtype=torch.float64)[:, None, None].expand(30, 24, 3)
    torch.testing.assert_close(smooth_in_time(ramp, 1.5)[5:-5], ramp[5:-5])   # keeps a line
    # Exact joints are not touched: the fit is as exact as without the smoothing.
    _, _, err = fit_rotations(clean.numpy())
    assert err < 1e-4


@pytest.fixture(scope="module")
def shipped():
    return Engine(weights=str(ROOT / "weights" / "mclip-default.pt"))


def test_a_joints_file_reads_as_its_smpl_source(shipped, tmp_path):
    """Issue 17.3: the same motion as .npz and as .npy joints gives the same latent."""
    from mclip.data.synth import generate

    poses, trans, _ = generate(32, 17, frames=60)
    cos = []
    for p, t in zip(poses, trans):
        m = Motion(p.astype(np.float32), t.astype(np.float32))
        fitted, tr, _ = fit_rotations(m.joints())
        cos.append(float(shipped.motion_latent(m) @ shipped.motion_latent(Motion(fitted, tr))))
    assert np.median(cos) >= 0.95, np.round(cos, 3)
    # The shipped example, and a kick, through the files as a user gives them.
    kick = generate(1, 5, frames=90, actions=["kick_front"])
    save_motion(Motion(kick[0][0].astype(np.float32), kick[1][0].astype(np.float32)), tmp_path / "kick.npz")
    for src in (ROOT / "examples" / "wave.npz", tmp_path / "kick.npz"):
        save_joints(load_motion(src).joints(), tmp_path / f"{src.stem}.npy")
        z_smpl, z_joints = shipped.motion_latent(src), shipped.motion_latent(tmp_path / f"{src.stem}.npy")
        assert float(z_smpl @ z_joints) >= 0.95, src.name
        top = [shipped.classify(x, "babel60", top_k=1).top[0].label
               for x in (src, tmp_path / f"{src.stem}.npy")]
        assert top[0] == top[1], (src.name, top)


def test_noisy_joints_read_closer_to_their_source_when_smoothed(shipped):
    from mclip.data.synth import generate

    poses, trans, _ = generate(12, 23, frames=60)
    g = np.random.default_rng(0)
    cos = {"smoothed": [], "as given": []}
    for p, t in zip(poses, trans):
        m = Motion(p.astype(np.float32), t.astype(np.float32))
        noisy = m.joints() + g.normal(0, 0.005, (60, 24, 3)).astype(np.float32)
        for key, cfg in (("smoothed", None), ("as given", IKConfig(noise_floor=1.0))):
            fitted, tr, _ = fit_rotations(noisy, cfg)
            cos[key].append(float(shipped.motion_latent(m) @ shipped.motion_latent(Motion(fitted, tr))))
    assert np.mean(cos["smoothed"]) > np.mean(cos["as given"]) + 0.1, cos
