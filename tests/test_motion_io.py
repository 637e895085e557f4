"""Motion files: npz round trip, AMASS SMPL-H/SMPL-X reading, slerp resampling, atomic writes.

Independent truths: scipy's Rotation/Slerp for rotations, numpy's interp for
translation, the raw np.load view of the files we write.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation, Slerp

from mclip import skeleton
from mclip.errors import MclipError
from mclip.atomic import atomic_path, atomic_write
from mclip.motion_io import (
    Motion,
    load_joints,
    load_motion,
    motion_from_rotmats,
    resample,
    save_joints,
    save_motion,
)

torch.set_num_threads(1)


def random_motion(T: int = 20, seed: int = 0, fps: float = 30.0) -> Motion:
    rng = np.random.default_rng(seed)
    return Motion(rng.normal(0, 0.5, (T, 24, 3)), rng.normal(0, 1.0, (T, 3)), fps)


def rot_angle_between(aa1: np.ndarray, aa2: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between two stacks of axis-angle rotations (scipy)."""
    r1 = Rotation.from_rotvec(aa1.reshape(-1, 3).astype(np.float64))
    r2 = Rotation.from_rotvec(aa2.reshape(-1, 3).astype(np.float64))
    return (r1.inv() * r2).magnitude()


# ----------------------------------------------------------------- Motion type


def test_motion_basics_and_fk():
    m = random_motion(T=45)
    assert m.poses.dtype == np.float32 and m.trans.dtype == np.float32
    assert m.num_frames == 45 and m.duration == pytest.approx(1.5)
    R = m.rotmats()
    assert R.shape == (45, 24, 3, 3)
    truth = Rotation.from_rotvec(m.poses.reshape(-1, 3).astype(np.float64)).as_matrix()
    assert np.abs(R.numpy().reshape(-1, 3, 3) - truth).max() < 1e-5
    J = m.joints()
    assert J.shape == (45, 24, 3) and J.dtype == np.float32
    # smplx semantics: the pelvis is the rest pelvis plus trans, whatever the rotation.
    assert np.abs(J[:, 0] - (skeleton.REST_JOINTS[0] + m.trans)).max() < 1e-6
    with pytest.raises(ValueError):
        Motion(np.zeros((5, 23, 3)), np.zeros((5, 3)))


def test_motion_from_rotmats_round_trip():
    m = random_motion()
    m2 = motion_from_rotmats(m.rotmats(), torch.from_numpy(m.trans))
    assert rot_angle_between(m.poses, m2.poses).max() < 1e-5
    assert np.array_equal(m2.trans, m.trans)


# ----------------------------------------------------------------- npz


def test_npz_round_trip_and_amass_keys(tmp_path):
    m = random_motion(T=33)
    path = tmp_path / "walk.npz"
    save_motion(m, path)
    raw = np.load(path, allow_pickle=False)  # what any other AMASS tool sees
    assert raw["poses"].shape == (33, 72) and raw["poses"].dtype == np.float32
    assert raw["trans"].shape == (33, 3)
    assert float(raw["mocap_framerate"]) == 30.0
    assert np.array_equal(raw["betas"], np.zeros(10))
    assert str(raw["gender"]) == "neutral"
    back = load_motion(path)
    assert back.fps == 30.0
    assert np.abs(back.poses - m.poses).max() < 1e-6
    assert np.abs(back.trans - m.trans).max() < 1e-6
    assert [p.name for p in tmp_path.iterdir()] == ["walk.npz"]  # no temp file left


def write_amass(path: Path, poses: np.ndarray, trans: np.ndarray, fps: float,
                fps_key: str = "mocap_framerate") -> None:
    """An AMASS-style file as AMASS ships them (float64, extra keys, str gender)."""
    np.savez(path, poses=poses.astype(np.float64), trans=trans.astype(np.float64),
             gender=np.array("female"), betas=np.zeros(16), dmpls=np.zeros((len(poses), 8)),
             **{fps_key: np.array(float(fps))})


def test_amass_smplh_156(tmp_path):
    rng = np.random.default_rng(1)
    poses = rng.normal(0, 0.3, (12, 156))
    trans = rng.normal(0, 1, (12, 3))
    write_amass(tmp_path / "smplh.npz", poses, trans, 30)
    m = load_motion(tmp_path / "smplh.npz")
    assert m.poses.shape == (12, 24, 3)
    assert np.allclose(m.poses[:, :22].reshape(12, 66), poses[:, :66], atol=1e-6)
    # SMPL's hand joints take SMPL-H's left_index1 (joint 22) / right_index1 (joint 37).
    assert np.allclose(m.poses[:, 22], poses[:, 66:69], atol=1e-6)
    assert np.allclose(m.poses[:, 23], poses[:, 111:114], atol=1e-6)
    assert np.allclose(m.trans, trans, atol=1e-6)


def test_amass_smplx_165_and_frame_rate_key(tmp_path):
    rng = np.random.default_rng(2)
    poses = rng.normal(0, 0.3, (7, 165))
    write_amass(tmp_path / "smplx.npz", poses, np.zeros((7, 3)), 30, fps_key="mocap_frame_rate")
    m = load_motion(tmp_path / "smplx.npz")
    assert np.allclose(m.poses[:, :22].reshape(7, 66), poses[:, :66], atol=1e-6)
    assert np.allclose(m.poses[:, 22], poses[:, 75:78], atol=1e-6)   # left_index1 = joint 25
    assert np.allclose(m.poses[:, 23], poses[:, 120:123], atol=1e-6)  # right_index1 = joint 40


# ----------------------------------------------------------------- resampling


def spinning_motion(fps: float, seconds: float) -> tuple[Motion, np.ndarray, np.ndarray]:
    """Each joint spins at its own constant angular velocity about its own fixed axis,
    starting from its own orientation; trans moves on a parabola. Angles pass pi."""
    rng = np.random.default_rng(3)
    T = int(round(seconds * fps)) + 1
    t = np.arange(T) / fps
    axes = rng.normal(size=(24, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    omega = rng.uniform(-6.0, 6.0, 24)  # rad/s: up to 0.24 rad per frame at 25 fps
    start = Rotation.from_rotvec(rng.normal(0, 1.0, (24, 3)))
    rots = [Rotation.from_rotvec(axes * (omega * ti)[:, None]) * start for ti in t]
    poses = np.stack([r.as_rotvec() for r in rots])
    trans = np.stack([t, 0.5 * t**2, np.sin(t)], axis=1)
    return Motion(poses, trans, fps), omega, t


@pytest.mark.parametrize("src_fps,seconds,n_out", [(60, 2.0, 61), (120, 1.0, 31), (25, 1.0, 31), (25, 0.96, 29)])
def test_resample_is_slerp(src_fps, seconds, n_out):
    m, omega, t = spinning_motion(src_fps, seconds)
    out = resample(m, 30.0)
    assert out.fps == 30.0 and out.num_frames == n_out
    t_new = np.arange(n_out) / 30.0
    assert t_new[-1] <= t[-1] + 1e-9  # never past the last input frame

    # Truth 1: scipy's Slerp on the input key frames, joint by joint.
    for j in range(24):
        key_rots = Rotation.from_rotvec(m.poses[:, j].astype(np.float64))
        truth = Slerp(t, key_rots)(t_new).as_rotvec()
        assert rot_angle_between(out.poses[:, j], truth).max() < 2e-5, j

    # Truth 2: constant angular velocity stays constant: each output step turns |omega|/30.
    step = rot_angle_between(out.poses[:-1], out.poses[1:]).reshape(n_out - 1, 24)
    assert np.abs(step - np.abs(omega) / 30.0).max() < 2e-5

    # Translation is linear between neighbouring input frames.
    for k in range(3):
        assert np.abs(out.trans[:, k] - np.interp(t_new, t, m.trans[:, k].astype(np.float64))).max() < 1e-5


def test_resample_not_linear_axis_angle():
    """Between two rotations about different axes, slerp and linear axis-angle disagree;
    we must agree with slerp (scipy)."""
    a = Rotation.from_euler("xyz", [170, 0, 0], degrees=True).as_rotvec()
    b = Rotation.from_euler("xyz", [0, 170, 40], degrees=True).as_rotvec()
    poses = np.zeros((2, 24, 3))
    poses[0, 5], poses[1, 5] = a, b
    out = resample(Motion(poses, np.zeros((2, 3)), fps=15.0), 30.0)
    assert out.num_frames == 3
    mid_truth = Slerp([0, 1], Rotation.from_rotvec([a, b]))([0.5]).as_rotvec()
    assert rot_angle_between(out.poses[1, 5], mid_truth).max() < 1e-5
    assert rot_angle_between(out.poses[1, 5], (a + b) / 2).max() > 0.1


def test_load_resamples_60fps_amass(tmp_path):
    m, _, _ = spinning_motion(60, 1.0)
    write_amass(tmp_path / "a60.npz", np.concatenate([m.poses.reshape(-1, 72), np.zeros((len(m.poses), 84))], 1),
                m.trans, 60)
    loaded = load_motion(tmp_path / "a60.npz")
    assert loaded.fps == 30.0 and loaded.num_frames == 31
    # 60 -> 30 takes every other frame exactly.
    assert rot_angle_between(loaded.poses[:, :22], m.poses[::2, :22]).max() < 1e-5
    assert load_motion(tmp_path / "a60.npz", fps=None).num_frames == 61


# ----------------------------------------------------------------- joints


def test_load_joints_from_npy_and_npz(tmp_path):
    m = random_motion(T=10)
    save_motion(m, tmp_path / "m.npz")
    save_motion(m, tmp_path / "m.npy")
    a, b = load_joints(tmp_path / "m.npz"), load_joints(tmp_path / "m.npy")
    assert a.shape == b.shape == (10, 24, 3) and b.dtype == np.float32
    assert np.abs(a - b).max() < 1e-6
    assert np.abs(b - m.joints()).max() < 1e-6
    with pytest.raises(MclipError, match="no rotations"):
        load_motion(tmp_path / "m.npy")
    with pytest.raises(MclipError, match="only be written as .npy"):
        save_joints(b, tmp_path / "j.bvh")
    assert not (tmp_path / "j.bvh").exists()


# ----------------------------------------------------------------- atomic writes


def test_atomic_path_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.endswith(".npz")
            np.savez(tmp, x=np.zeros(3))
            raise RuntimeError("writer died half way")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


def test_atomic_path_interrupt_and_success(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "a.txt") as f:
            f.write("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_write(tmp_path / "sub" / "a.txt") as f:  # missing folders are created
        f.write("done")
    assert (tmp_path / "sub" / "a.txt").read_text() == "done"
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "sub" / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.txt"]
    with pytest.raises(MclipError, match="is a directory"):
        with atomic_path(tmp_path / "sub"):
            pass


# ----------------------------------------------------------------- shipped examples

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_examples_are_reproducible_upright_and_small(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, motion in (("tpose", mod.tpose()), ("wave", mod.wave())):
        shipped = load_motion(EXAMPLES / f"{name}.npz")
        assert np.abs(shipped.poses - motion.poses).max() < 1e-6  # the script made these files
        for ext in (".npz", ".npy", ".bvh"):
            assert (EXAMPLES / f"{name}{ext}").stat().st_size < 200_000
        J = load_joints(EXAMPLES / f"{name}.npy")
        assert np.abs(J - shipped.joints()).max() < 1e-5
        feet = J[:, [skeleton.JOINT_INDEX[n] for n in ("left_foot", "right_foot", "left_ankle", "right_ankle")], 2]
        assert feet.min() == pytest.approx(0.025, abs=1e-4)  # soles on the floor z = 0
        head_z = J[:, skeleton.JOINT_INDEX["head"], 2]
        assert (head_z > 1.5).all()  # upright
    wave = load_joints(EXAMPLES / "wave.npy")
    assert 3.0 <= len(wave) / 30 <= 4.0
    rw, head = skeleton.JOINT_INDEX["right_wrist"], skeleton.JOINT_INDEX["head"]
    mid = slice(30, 75)
    assert (wave[mid, rw, 2] > wave[mid, head, 2]).all()  # the hand is up while waving
    assert np.ptp(wave[mid, rw, 0]) > 0.15  # ... and swings sideways (world x)
    assert wave[0, rw, 2] < 1.0 and wave[-1, rw, 2] < 1.0  # arm down at start and end


# ----------------------------------------------------------------- the Python surface


def test_motion_api_save_render_and_a_one_line_repr(tmp_path):
    import imageio.v3 as iio

    from mclip import Motion as TopMotion, load_motion as top_load

    trans = np.zeros((31, 3))
    trans[:, 0] = np.linspace(0.0, 1.0, 31)          # 1 m straight along x in 1 s
    trans[:, 2] = 0.9
    m = TopMotion(np.zeros((31, 24, 3)), trans, 30.0)
    assert repr(m) == "Motion(31 frames, 30 fps, 1.03 s, travel 1.00 m)"
    assert m.save(tmp_path / "m.npz") == tmp_path / "m.npz"
    with np.load(tmp_path / "m.npz") as f:               # read back by numpy, AMASS keys
        np.testing.assert_allclose(f["trans"], trans, atol=1e-6)
    back = top_load(tmp_path / "m.npz")
    np.testing.assert_allclose(back.joints(), m.joints(), atol=1e-5)
    m.render(tmp_path / "m.png")
    sheet = iio.imread(tmp_path / "m.png")
    assert sheet.ndim == 3 and sheet.std() > 0           # drawn, not blank


def test_an_amass_body_shape_survives_a_round_trip(tmp_path):
    src = tmp_path / "amass.npz"
    betas = np.linspace(-1.0, 1.0, 16)                     # AMASS SMPL-H files carry 16
    np.savez(src, poses=np.zeros((5, 156)), trans=np.zeros((5, 3)), mocap_framerate=60.0,
             betas=betas, gender=np.array(b"female"))
    from mclip.motion_io import convert

    convert(src, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as f:
        np.testing.assert_allclose(f["betas"], betas)
        assert str(f["gender"]) == "female"
    # a file without a shape gets the neutral body
    save_motion(Motion(np.zeros((3, 24, 3)), np.zeros((3, 3))), tmp_path / "n.npz")
    with np.load(tmp_path / "n.npz") as f:
        assert f["betas"].shape == (10,) and not f["betas"].any() and str(f["gender"]) == "neutral"
