"""BVH export/import checked against an independent parser/writer (PyPI ``bvhio``) and scipy.

Our files are y-up centimetres: a world point (x, y, z) m is (x, z, -y) * 100 in the file.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import bvhio
from mclip import bvh, skeleton
from mclip.errors import MclipError
from mclip import rotations_np
from mclip.motion_io import Motion, load_motion, save_motion

torch.set_num_threads(1)


def random_motion(T: int = 8, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    # Wide joint angles (up to ~2.5 rad) so Euler conversion meets every quadrant.
    return Motion(rng.normal(0, 1.0, (T, 24, 3)), rng.normal(0, 1.0, (T, 3)))


def bvhio_world_positions(path) -> np.ndarray:
    """(T, 24, 3) world joint positions in metres, z-up, as bvhio computes them."""
    root = bvhio.readAsHierarchy(str(path))
    joints = {j.Name: j for j, _, _ in root.layout()}
    n_frames = root.getKeyframeRange()[1] + 1
    out = np.empty((n_frames, 24, 3))
    for f in range(n_frames):
        root.loadPose(f)
        for i, name in enumerate(skeleton.JOINT_NAMES):
            out[f, i] = np.array(joints[name].PositionWorld)
    # cm, y-up -> metres, z-up, written out by hand (not via bvh.Z_TO_Y, so a wrong axis
    # constant in the module cannot cancel itself out): world = (x, -z, y).
    x, y, z = out[..., 0], out[..., 1], out[..., 2]
    return np.stack((x, -z, y), axis=-1) / 100.0


def test_euler_zyx_matches_scipy():
    rng = np.random.default_rng(0)
    R = Rotation.random(500, random_state=1).as_matrix()
    zyx = rotations_np.matrix_to_euler_zyx(R)
    truth = Rotation.from_matrix(R).as_euler("ZYX")  # scipy: upper case = intrinsic
    assert np.abs(zyx - truth).max() < 1e-9
    # Gimbal lock: still the same rotation.
    locked = Rotation.from_euler("ZYX", np.c_[rng.uniform(-3, 3, 20), np.full(20, np.pi / 2), rng.uniform(-3, 3, 20)])
    back = rotations_np.euler_to_matrix(rotations_np.matrix_to_euler_zyx(locked.as_matrix()), "ZYX")
    assert np.abs(back - locked.as_matrix()).max() < 1e-9
    for order in ("ZYX", "XYZ", "ZXY", "YXZ"):
        angles = rng.uniform(-3, 3, (30, 3))
        assert np.abs(rotations_np.euler_to_matrix(angles, order) - Rotation.from_euler(order, angles).as_matrix()).max() < 1e-12


def test_bvh_world_positions_match_fk_via_bvhio(tmp_path):
    m = random_motion(T=8)
    save_motion(m, tmp_path / "r.bvh")
    theirs = bvhio_world_positions(tmp_path / "r.bvh")
    ours = m.joints()
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours).max() < 1e-3  # < 1 mm


def test_bvh_in_metres_reads_back_and_is_a_hundredth_of_cm(tmp_path):
    m = random_motion(T=8)
    save_motion(m, tmp_path / "cm.bvh")
    save_motion(m, tmp_path / "m.bvh", bvh_units="m")
    # bvhio, an independent reader, sees the same skeleton at 1/100 of the cm file's size
    np.testing.assert_allclose(bvhio_world_positions(tmp_path / "m.bvh") * 100.0,
                               bvhio_world_positions(tmp_path / "cm.bvh"), atol=1e-4)
    # and mclip's reader tells the units apart by the bone lengths
    np.testing.assert_allclose(load_motion(tmp_path / "m.bvh").joints(), m.joints(), atol=1e-3)


def test_bvh_header(tmp_path):
    save_motion(random_motion(T=3), tmp_path / "h.bvh")
    text = (tmp_path / "h.bvh").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "HIERARCHY" and lines[1] == "ROOT pelvis"
    assert "Frame Time: 0.0333333" in lines and "Frames: 3" in lines
    chans = [line for line in lines if line.startswith("CHANNELS")]
    assert len(chans) == 24
    assert chans[0] == "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"
    assert all(c == "CHANNELS 3 Zrotation Yrotation Xrotation" for c in chans[1:])
    names = [line.split()[1] for line in lines if line.startswith(("ROOT", "JOINT"))]
    assert sorted(names) == sorted(skeleton.JOINT_NAMES)
    # Offsets (cm) are the rest skeleton's bones, read back by bvhio.
    container = bvhio.readAsBvh(str(tmp_path / "h.bvh"))
    by_name = {j.Name: j for j, _, _ in container.Root.layout()}
    rest = skeleton.rest_offsets().numpy()
    for j in range(1, 24):
        assert np.allclose(np.array(by_name[skeleton.JOINT_NAMES[j]].Offset), rest[j] * 100, atol=1e-4)


def test_upright_person_stands_up_in_y_up_tools(tmp_path):
    """An upright person (global orientation STAND) has an identity root rotation in
    the file, head above feet along bvh +y, and faces bvh +z (Blender maps that back)."""
    poses = np.zeros((2, 24, 3), dtype=np.float32)
    poses[:, 0] = skeleton.STAND_AXIS_ANGLE
    save_motion(Motion(poses, np.zeros((2, 3))), tmp_path / "up.bvh")
    first = (tmp_path / "up.bvh").read_text().split("Frame Time: 0.0333333\n")[1].splitlines()[0].split()
    assert np.allclose([float(v) for v in first[3:6]], 0.0, atol=1e-5)
    root = bvhio.readAsHierarchy(str(tmp_path / "up.bvh"))
    root.loadPose(0)
    pos = {j.Name: np.array(j.PositionWorld) for j, _, _ in root.layout()}
    assert pos["head"][1] - pos["left_foot"][1] > 140  # cm, up is +y
    assert pos["left_foot"][2] > pos["left_ankle"][2]  # toes point to +z


def test_our_reader_round_trip(tmp_path):
    m = random_motion(T=10, seed=4)
    save_motion(m, tmp_path / "a.bvh")
    back = load_motion(tmp_path / "a.bvh")
    assert back.fps == 30.0 and back.num_frames == 10
    assert np.abs(back.joints() - m.joints()).max() < 1e-5
    rel = Rotation.from_rotvec(back.poses.reshape(-1, 3).astype(float)).inv() * Rotation.from_rotvec(
        m.poses.reshape(-1, 3).astype(float))
    assert rel.magnitude().max() < 1e-5


def test_our_reader_on_a_bvhio_written_file(tmp_path):
    """bvhio re-writes our file with its own channel order (Z X Y) and number format."""
    m = random_motion(T=5, seed=5)
    save_motion(m, tmp_path / "a.bvh")
    bvhio.writeHierarchy(str(tmp_path / "b.bvh"), bvhio.readAsHierarchy(str(tmp_path / "a.bvh")), 1 / 30)
    assert "Zrotation Xrotation Yrotation" in (tmp_path / "b.bvh").read_text()
    back = load_motion(tmp_path / "b.bvh")
    assert np.abs(back.joints()[:5] - m.joints()).max() < 1e-5


def test_reader_metres_and_other_joint_spellings(tmp_path):
    m = random_motion(T=4, seed=6)
    text = bvh.bvh_text(m.rotmats().double().numpy(), m.trans, 30.0)
    head, motion = text.split("MOTION\n")
    # Metres instead of centimetres: scale offsets and the root position channels.
    head_lines = []
    for line in head.splitlines():
        if line.strip().startswith("OFFSET"):
            pad = line[: len(line) - len(line.lstrip())]
            head_lines.append(pad + "OFFSET " + " ".join(f"{float(v) / 100:.8f}" for v in line.split()[1:]))
        else:
            head_lines.append(line.replace("left_", "L_").replace("right_", "R_").replace("pelvis", "Pelvis"))
    rows = motion.splitlines()
    data = []
    for row in rows[2:]:
        vals = row.split()
        data.append(" ".join([f"{float(v) / 100:.8f}" for v in vals[:3]] + vals[3:]))
    path = tmp_path / "m.bvh"
    path.write_text("\n".join(head_lines) + "\nMOTION\n" + "\n".join(rows[:2] + data) + "\n")
    back = load_motion(path)
    assert np.abs(back.joints() - m.joints()).max() < 1e-5


def test_reader_resamples_60fps(tmp_path):
    m = random_motion(T=9, seed=7)
    text = bvh.bvh_text(m.rotmats().double().numpy(), m.trans, 60.0)
    (tmp_path / "f.bvh").write_text(text)
    back = load_motion(tmp_path / "f.bvh")
    assert back.num_frames == 5
    assert np.abs(back.joints() - m.joints()[::2]).max() < 1e-5


@pytest.mark.parametrize("mutate,message", [
    (lambda t: t[: len(t) // 2], "not a readable BVH"),                        # truncated
    (lambda t: t.replace("left_knee", "knee_L"), "missing joints: left_knee"),  # foreign skeleton
    (lambda t: t.replace("Frames: 3", "Frames: 0"), "no frames"),
    (lambda t: t.replace("HIERARCHY", "HIERARCHI"), "expected 'HIERARCHY'"),
])
def test_reader_errors_name_the_file(tmp_path, mutate, message):
    save_motion(random_motion(T=3), tmp_path / "ok.bvh")
    bad = tmp_path / "bad.bvh"
    bad.write_text(mutate((tmp_path / "ok.bvh").read_text()))
    with pytest.raises(MclipError, match=message) as e:
        load_motion(bad)
    assert str(bad) in str(e.value)
