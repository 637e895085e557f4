"""`mclip info` and `mclip convert` through the real CLI entry point (mclip.cli.main).

Bad input must give exit code 2, one line on stderr naming the file, no traceback,
and nothing left in the output folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mclip import skeleton
from mclip.cli import main
from mclip.motion_io import Motion, load_joints, load_motion, save_motion

torch.set_num_threads(1)


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run `mclip ARGS` in-process; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def walking_tpose(T: int = 60) -> Motion:
    """Upright rest pose sliding 1 m along +x over the clip (hand-computable numbers)."""
    poses = np.zeros((T, 24, 3))
    poses[:, 0] = skeleton.STAND_AXIS_ANGLE
    trans = np.zeros((T, 3))
    trans[:, 0] = np.linspace(0.0, 1.0, T)
    trans[:, 2] = 1.0
    return Motion(poses, trans)


def test_info_json_numbers(tmp_path, capsys):
    m = walking_tpose()
    save_motion(m, tmp_path / "w.npz")
    code, out, err = run(capsys, "info", str(tmp_path / "w.npz"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["frames"] == 60 and info["fps"] == 30.0 and info["duration_s"] == 2.0
    assert info["root_travel_m"]["path"] == pytest.approx(1.0, abs=1e-4)
    assert info["root_travel_m"]["net"] == pytest.approx(1.0, abs=1e-4)
    # Upright rest pose (STAND maps body y to world z): pelvis world = REST_JOINTS[0] + trans
    # has z = 0 + 1.0, and every other joint sits (rest y - rest pelvis y) above it.
    rest_y = skeleton.REST_JOINTS[:, 1]
    z = 1.0 + (rest_y - rest_y[0])
    assert info["joint_range_m"]["z"] == pytest.approx([z.min(), z.max()], abs=1e-4)
    assert info["pelvis_height_m"] == pytest.approx([1.0, 1.0], abs=1e-4)
    x = skeleton.REST_JOINTS[:, 0]
    assert info["joint_range_m"]["x"] == pytest.approx([x.min(), x.max() + 1.0], abs=1e-4)


def test_info_reports_file_rate_and_table(tmp_path, capsys):
    T = 121
    np.savez(tmp_path / "a120.npz", poses=np.zeros((T, 156)), trans=np.zeros((T, 3)),
             mocap_framerate=np.array(120.0), betas=np.zeros(16), gender=np.array("male"))
    code, out, _ = run(capsys, "info", str(tmp_path / "a120.npz"), "--json")
    info = json.loads(out)
    assert (info["file_frames"], info["file_fps"], info["frames"]) == (121, 120.0, 31)
    code, out, err = run(capsys, "info", str(tmp_path / "a120.npz"))
    assert code == 0, err
    assert "a120.npz" in out and "120 fps" in out and "31 frames" in out


def test_convert_all_directions(tmp_path, capsys):
    rng = np.random.default_rng(0)
    m = Motion(rng.normal(0, 0.5, (15, 24, 3)), rng.normal(0, 1, (15, 3)))
    save_motion(m, tmp_path / "m.npz")
    for src, dst in (("m.npz", "m.bvh"), ("m.bvh", "back.npz"), ("back.npz", "j.npy"), ("j.npy", "j2.npy")):
        code, out, err = run(capsys, "convert", str(tmp_path / src), "-o", str(tmp_path / dst))
        assert code == 0, err
        assert f"wrote {tmp_path / dst}" in out
    assert np.abs(load_motion(tmp_path / "back.npz").joints() - m.joints()).max() < 1e-5
    assert np.abs(load_joints(tmp_path / "j2.npy") - m.joints()).max() < 1e-5
    code, out, _ = run(capsys, "convert", str(tmp_path / "m.npz"), "-o", str(tmp_path / "x.npy"), "--json")
    assert json.loads(out)["frames"] == 15


def make_bad_inputs(d):
    """name -> (path, expected words in the message)."""
    T = 5
    ok = dict(poses=np.zeros((T, 72)), trans=np.zeros((T, 3)), mocap_framerate=np.array(30.0))
    cases = {}

    def npz(name, words, **over):
        arrays = {**ok, **over}
        arrays = {k: v for k, v in arrays.items() if v is not None}
        np.savez(d / name, **arrays)
        cases[name] = (d / name, words)

    npz("no_trans.npz", "missing key 'trans'", trans=None)
    npz("no_poses.npz", "missing key 'poses'", poses=None)
    npz("no_rate.npz", "mocap_framerate", mocap_framerate=None)
    npz("shape.npz", "expected (T, 72)", poses=np.zeros((T, 70)))
    npz("trans_shape.npz", "'trans' has shape", trans=np.zeros((T, 2)))
    npz("nan.npz", "NaN", poses=np.full((T, 72), np.nan))
    npz("inf.npz", "NaN or inf", trans=np.full((T, 3), np.inf))
    npz("empty.npz", "empty", poses=np.zeros((0, 72)), trans=np.zeros((0, 3)))
    npz("bad_rate.npz", "positive frame rate", mocap_framerate=np.array(0.0))
    (d / "text.npz").write_text("this is not an npz\n")
    cases["text.npz"] = (d / "text.npz", "not an .npz")
    (d / "garbage.npy").write_bytes(b"\x00\x01garbage")
    cases["garbage.npy"] = (d / "garbage.npy", "not a .npy array")
    np.save(d / "shape.npy", np.zeros((4, 22, 3), dtype=np.float32))
    cases["shape.npy"] = (d / "shape.npy", "expected (T, 24, 3)")
    np.save(d / "nan.npy", np.full((4, 24, 3), np.nan, dtype=np.float32))
    cases["nan.npy"] = (d / "nan.npy", "NaN")
    np.save(d / "empty.npy", np.zeros((0, 24, 3), dtype=np.float32))
    cases["empty.npy"] = (d / "empty.npy", "empty")
    (d / "motion.txt").write_text("1 2 3\n")
    cases["motion.txt"] = (d / "motion.txt", "unknown extension")
    cases["missing.npz"] = (d / "missing.npz", "no such file")
    (d / "folder.npz").mkdir()
    cases["folder.npz"] = (d / "folder.npz", "is a directory")
    (d / "binary.bvh").write_bytes(b"\xff\xfe\x00binary")
    cases["binary.bvh"] = (d / "binary.bvh", "not a readable BVH")
    return cases


@pytest.fixture
def bad_inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    return make_bad_inputs(d)


def assert_clean_error(code, out, err, name, words):
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and name in lines[0] and words in lines[0], lines[0]


@pytest.mark.parametrize("name", [
    "no_trans.npz", "no_poses.npz", "no_rate.npz", "shape.npz", "trans_shape.npz", "nan.npz", "inf.npz",
    "empty.npz", "bad_rate.npz", "text.npz", "garbage.npy", "shape.npy", "nan.npy", "empty.npy",
    "motion.txt", "missing.npz", "folder.npz", "binary.bvh",
])
def test_bad_input_convert_and_info(bad_inputs, tmp_path, capsys, name):
    path, words = bad_inputs[name]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = "x.npy" if path.suffix == ".npy" else "x.bvh"  # a conversion that would be legal
    code, out, err = run(capsys, "convert", str(path), "-o", str(out_dir / target))
    assert_clean_error(code, out, err, name, words)
    assert list(out_dir.iterdir()) == []
    code, out, err = run(capsys, "info", str(path), "--json")
    assert_clean_error(code, out, err, name, words)


def test_bad_outputs(tmp_path, capsys):
    save_motion(walking_tpose(5), tmp_path / "ok.npz")
    np.save(tmp_path / "j.npy", np.zeros((3, 24, 3), dtype=np.float32))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for src, dst, words in (
        ("ok.npz", "x.fbx", "unknown output extension"),
        ("ok.npz", "x.mp4", "mclip render"),
    ):
        code, out, err = run(capsys, "convert", str(tmp_path / src), "-o", str(out_dir / dst))
        assert_clean_error(code, out, err, dst, words)
    code, out, err = run(capsys, "convert", str(tmp_path / "ok.npz"), "-o", str(out_dir))
    assert code == 2 and "is a directory" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_joints_convert_to_smpl_and_bvh_through_ik(tmp_path, capsys):
    """.npy joints -> .npz / .bvh: the fitted rotations put the joints back where they were."""
    src = Path(__file__).resolve().parents[1] / "examples" / "wave.npy"
    given = np.load(src)
    for name in ("w.npz", "w.bvh"):
        code, out, err = run(capsys, "convert", str(src), "-o", str(tmp_path / name), "--json")
        assert code == 0, err
        assert json.loads(out)["fit_error_m"] < 1e-4
        np.testing.assert_allclose(load_joints(tmp_path / name), given, atol=2e-4)
    code, out, _ = run(capsys, "convert", str(src), "-o", str(tmp_path / "v.npz"))
    assert code == 0 and "rotations fitted to the joints within 0.0 mm" in out


def test_real_entry_point_subprocess(tmp_path):
    """The installed console path: a separate python process, exit 2, one line."""
    bad = tmp_path / "bad.npz"
    np.savez(bad, poses=np.zeros((3, 72)))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", "from mclip.cli import main; main()", "info", str(bad)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {bad}: missing key 'trans'"
