"""Stick-figure videos, GIFs, contact sheets and pose images (mclip.render).

Files are read back with imageio (ffmpeg) and Pillow; figure pixels are found by the
exact limb colours in the raw frames.
"""
from __future__ import annotations

import math

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from mclip import render as R
from mclip.render.pose_images import _pose_background
from mclip.errors import MclipError
from mclip.skeleton import JOINT_INDEX as J
from mclip.skeleton import STAND_AXIS_ANGLE, joints_from_axis_angle

SIZE = 160


def _walk(T: int = 40, speed: float = 1.2, yaw: float = 0.0) -> np.ndarray:
    """(T, 24, 3) a person stepping forward (world -y, turned by `yaw` about z), feet on z=0."""
    t = np.arange(T) / 30.0
    poses = np.zeros((T, 24, 3), np.float32)
    # global orientation: yaw about world z after standing up (STAND = +90 deg about x)
    from scipy.spatial.transform import Rotation

    poses[:, 0] = (Rotation.from_euler("z", yaw) * Rotation.from_rotvec(STAND_AXIS_ANGLE)).as_rotvec()
    phase = 2 * math.pi * t
    poses[:, J["left_hip"], 0] = 0.5 * np.sin(phase)
    poses[:, J["right_hip"], 0] = -0.5 * np.sin(phase)
    poses[:, J["left_shoulder"], 2] = -1.2   # arms down by the sides
    poses[:, J["right_shoulder"], 2] = 1.2
    trans = np.zeros((T, 3), np.float32)
    trans[:, 0] = speed * t * math.sin(yaw)
    trans[:, 1] = -speed * t * math.cos(yaw)
    trans[:, 2] = 0.99
    return joints_from_axis_angle(poses, trans)


def _static_tpose(yaw: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    poses = np.zeros((1, 24, 3), np.float32)
    poses[0, 0] = (Rotation.from_euler("z", yaw) * Rotation.from_rotvec(STAND_AXIS_ANGLE)).as_rotvec()
    return joints_from_axis_angle(poses, np.array([[0.3, 0.2, 0.99]], np.float32))


def _mask(frame: np.ndarray, colour) -> np.ndarray:
    return np.all(frame == np.array(colour, np.uint8), axis=-1)


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    assert len(xs) > 0, "colour not found in frame"
    return np.array([xs.mean(), ys.mean()])


def _cfg(**kw) -> R.RenderConfig:
    return R.RenderConfig(size=SIZE, **kw)


# ------------------------------------------------------------------ camera geometry


def test_view_rotation_front_camera_by_hand():
    # Person faces -y (yaw -90 deg), camera straight in front and level: it stands at
    # -y looking +y; image right = world +x (the person's left), image down = world -z.
    rot = R.view_rotation(-math.pi / 2, 0.0, 0.0)
    np.testing.assert_allclose(rot, [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    cam = R.Camera(rot, np.array([0.0, -5.0, 1.0]), 100.0, (50.0, 60.0))
    uv, depth = cam.project(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(depth, [5, 5, 5])
    np.testing.assert_allclose(uv, [[50, 60], [70, 60], [50, 40]])


def test_facing_yaw_of_turned_person():
    assert R.facing_yaw(_static_tpose(0.0)) == pytest.approx(-math.pi / 2, abs=1e-5)
    assert R.facing_yaw(_static_tpose(math.pi / 2)) == pytest.approx(0.0, abs=1e-5)  # faces +x


def test_ground_is_zero_or_below_lowest_joint():
    j = _walk(5)
    assert R.ground_height(j) == 0.0
    assert R.ground_height(j - [0, 0, 2.0]) == pytest.approx(j[..., 2].min() - 2.0, abs=1e-6)


# ------------------------------------------------------------------ raw frames


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2, math.pi])
def test_upright_and_left_right_colours(yaw):
    """Camera in front: the person's left arm (blue) is on the image right, head on top."""
    frame = next(R.iter_frames(_static_tpose(yaw), config=_cfg(legend=False, shadow=False)))
    blue, orange = _mask(frame, R.LEFT), _mask(frame, R.RIGHT)
    assert _centroid(blue)[0] > _centroid(orange)[0] + 20
    head = _centroid(_mask(frame, R.HEAD_FILL))
    assert head[1] < _centroid(blue)[1] - 20 and head[1] < _centroid(orange)[1] - 20
    # feet stand on the floor: the lowest figure pixel lies in the lower part of the frame
    ys = np.nonzero(blue | orange)[0]
    assert ys.max() > 0.7 * SIZE


def test_figure_moves_background_stays():
    frames = list(R.iter_frames(_walk(40), config=_cfg(progress_bar=False, legend=False)))
    assert len(frames) == 40 and frames[0].shape == (SIZE, SIZE, 3)
    limbs0 = _mask(frames[0], R.LEFT) | _mask(frames[0], R.RIGHT)
    limbs1 = _mask(frames[39], R.LEFT) | _mask(frames[39], R.RIGHT)
    assert np.linalg.norm(_centroid(limbs0) - _centroid(limbs1)) > 8  # walks 1.3 m
    # pixels the figure (and its shadow) never touches are identical in all frames
    stack = np.stack(frames)
    changed = (stack != stack[:1]).any(axis=-1).any(axis=0)
    assert 0.01 < changed.mean() < 0.5
    # a person standing still: nothing changes at all
    still = list(R.iter_frames(np.repeat(_static_tpose(0.0), 5, 0), config=_cfg(progress_bar=False)))
    assert all((f == still[0]).all() for f in still)


def test_antialiasing_only_touches_figure_edges():
    j = _walk(3)
    sharp = next(R.iter_frames(j, config=_cfg(antialias=False)))
    smooth = next(R.iter_frames(j, config=_cfg(antialias=True)))
    differ = (sharp != smooth).any(-1)
    limbs = _mask(sharp, R.LEFT) | _mask(sharp, R.RIGHT) | _mask(sharp, R.CENTRE)
    ys, xs = np.nonzero(limbs)
    assert differ.any()
    dy, dx = np.nonzero(differ)                      # all changes lie near the figure
    assert dy.min() >= ys.min() - 12 and dx.max() <= xs.max() + 12
    n_colours = lambda im: len(np.unique(im.reshape(-1, 3), axis=0))
    assert n_colours(smooth) > n_colours(sharp)     # blended edge colours


def test_caption_drawn():
    j = _static_tpose(0.0)
    plain = next(R.iter_frames(j, config=_cfg()))
    cap = next(R.iter_frames(j, caption="a person waves", config=_cfg()))
    band = (slice(0, 20), slice(0, 50))              # top left: text, never the figure
    diff = (plain[band] != cap[band]).any(axis=-1)
    assert diff.mean() > 0.05
    dark = (cap[band].astype(int).sum(-1) < 200)     # text pixels
    assert dark.sum() > 30 and not (plain[band].astype(int).sum(-1) < 200).any()


# ------------------------------------------------------------------ files


def test_mp4_read_back(tmp_path):
    out = tmp_path / "walk.mp4"
    R.render(_walk(45), out, caption="walk", config=_cfg())
    reader = imageio.get_reader(out, format="FFMPEG")
    meta = reader.get_meta_data()
    frames = [f for f in reader]
    reader.close()
    assert meta["fps"] == pytest.approx(30.0)
    assert meta["size"] == (SIZE, SIZE)
    assert len(frames) == 45
    a, b = frames[0].astype(int), frames[44].astype(int)
    moved = np.abs(a - b).sum(-1) > 60
    assert moved.mean() > 0.003            # the figure moved
    assert np.abs(a - b)[moved.sum(1) == 0].mean() < 3  # rows it never reaches: codec noise only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4"]


def test_odd_size_is_made_even(tmp_path):
    out = tmp_path / "odd.mp4"
    R.render(_walk(4), out, config=R.RenderConfig(size=101))
    reader = imageio.get_reader(out, format="FFMPEG")
    assert reader.get_meta_data()["size"] == (102, 102)
    reader.close()


def test_gif_frames_and_real_time_duration(tmp_path):
    out = tmp_path / "walk.gif"
    R.render(_walk(45), out, config=_cfg())
    with Image.open(out) as im:
        assert im.info.get("loop") == 0
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
    assert len(durations) == 23                     # every 2nd frame: 15 fps
    assert set(durations[:-1]) <= {60, 70}
    assert durations[-1] == 30                      # frame 44 is the last 1/30 s
    assert sum(durations) == 1500                    # 45 frames at 30 fps = 1.5 s
    assert len(imageio.mimread(out)) == 23


def test_gif_timing_keeps_real_time():
    keep, delays = R.gif_timing(300, 30.0, 30.0)
    assert keep == list(range(300)) and set(delays) == {30, 40} and sum(delays) == 10000
    keep, delays = R.gif_timing(100, 120.0, 15.0)    # 120 fps data: every 8th frame
    assert keep[:3] == [0, 8, 16] and sum(delays) == round(100 * 100 / 120) * 10
    assert min(delays) >= 20


def test_png_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    R.render(_walk(40), out, config=_cfg())          # 8 frames, 4 per row
    with Image.open(out) as im:
        assert im.size == (4 * SIZE, 2 * SIZE)
    R.render(_walk(40), out, frames=3, config=_cfg())
    with Image.open(out) as im:
        assert im.size == (3 * SIZE, SIZE)
    R.render(_walk(40), out, frames=3, caption="walking", config=_cfg())
    with Image.open(out) as im:
        assert im.size[0] == 3 * SIZE and im.size[1] > SIZE
    assert R.sheet_indices(40, 8) == [0, 6, 11, 17, 22, 28, 33, 39]
    assert R.sheet_indices(3, 8) == [0, 1, 2]


def test_render_grid_video_and_sheet(tmp_path):
    motions = [_walk(30), _walk(20, yaw=1.0), _static_tpose(0.0)]
    out = tmp_path / "grid.mp4"
    R.render_grid(motions, out, ["a", "b", "c"], config=_cfg())
    reader = imageio.get_reader(out, format="FFMPEG")
    assert reader.get_meta_data()["size"] == (3 * SIZE, SIZE)
    assert reader.count_frames() == 30
    reader.close()
    sheet = tmp_path / "grid.png"
    R.render_grid(motions, sheet, ["a", "b", "c"], frames=4, config=_cfg())
    with Image.open(sheet) as im:
        assert im.size[0] == 4 * SIZE and im.size[1] > 3 * SIZE
    with pytest.raises(MclipError):
        R.render_grid(motions, sheet, ["only one"])


def test_bad_inputs(tmp_path):
    with pytest.raises(MclipError, match="unknown output extension"):
        R.render(_walk(3), tmp_path / "x.avi")
    with pytest.raises(MclipError, match=r"\(T, 24, 3\)"):
        R.render(np.zeros((5, 22, 3)), tmp_path / "x.mp4")
    bad = _walk(3)
    bad[1, 3, 0] = np.nan
    with pytest.raises(MclipError, match="NaN"):
        R.render(bad, tmp_path / "x.gif")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".mp4", ".gif", ".png"])
def test_interrupted_render_leaves_nothing(tmp_path, suffix):
    out = tmp_path / f"walk{suffix}"

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        R.render(_walk(20), out, config=_cfg(), progress=stop)
    assert list(tmp_path.iterdir()) == []
    # an existing output survives an interrupted overwrite
    out.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        R.render(_walk(20), out, config=_cfg(), progress=stop)
    assert out.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


# ------------------------------------------------------------------ pose images


def test_pose_image_figure_and_sides():
    rest = _static_tpose(0.0)[0]
    poses = np.zeros((1, 24, 3), np.float32)
    poses[0, 0] = STAND_AXIS_ANGLE
    poses[0, J["right_shoulder"], 2] = 1.3          # right arm down, left arm out
    left_out = joints_from_axis_angle(poses)[0]
    img = R.pose_image(rest, size=112)
    assert img.shape == (112, 112, 3) and img.dtype == np.uint8
    bg = np.clip(_pose_background(112, R.PoseImageConfig()), 0, 255).astype(np.uint8)
    body = np.abs(img.astype(int) - bg).sum(-1) > 30
    ys, xs = np.nonzero(body)
    assert 0.08 < body.mean() < 0.5
    assert ys.max() - ys.min() > 0.45 * 112          # a standing person is tall
    other = R.pose_image(left_out, size=112)
    gone = (np.abs(img.astype(int) - other).sum(-1) > 30) & body
    # the right arm (person's right = image left, camera in front) moved away
    assert _centroid(gone)[0] < 56
    batch = R.pose_images(np.stack([rest, left_out]), size=112)
    np.testing.assert_array_equal(batch[0], img)
    np.testing.assert_array_equal(batch[1], other)
    with pytest.raises(MclipError):
        R.pose_image(np.zeros((22, 3)))


def test_pose_image_ignores_position_on_floor():
    j = _static_tpose(0.0)[0]
    a = R.pose_image(j, size=96)
    b = R.pose_image(j + np.array([3.0, -2.0, 0.5], np.float32), size=96)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ command line


def test_cli_render(tmp_path, capsys):
    from mclip.cli import main

    src = tmp_path / "walk.npy"
    np.save(src, _walk(12).astype(np.float32))
    out = tmp_path / "walk.png"
    main(["render", str(src), "-o", str(out), "--size", "96", "--frames", "2", "--caption", "hi"])
    with Image.open(out) as im:
        assert im.size[0] == 2 * 96
    with pytest.raises(SystemExit) as e:
        main(["render", str(src), "-o", str(tmp_path / "x.webm")])
    assert e.value.code == 2
    assert "unknown output extension" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["render", str(tmp_path / "missing.npy"), "-o", str(tmp_path / "y.mp4")])
    assert e.value.code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.npy", "walk.png"]
