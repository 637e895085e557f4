"""The 3D viewer page (mclip/viewer/): what goes into it, the CLI, and, in a real headless
Chromium, that the drawn scene holds the file's joints and the screenshot shows figures."""
from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from mclip.errors import MclipError
from mclip.motion_io import load_joints, save_joints, save_motion
from mclip.viewer import layout, viewer_html, write_viewer
from mclip.viewer.browser import capture, find_chromium
from mclip.viewer.html import GAP_M, MAX_FRAMES
from tiny_model import make_clip

ROOT = Path(__file__).resolve().parents[1]
VIEWER = ROOT / "mclip" / "viewer"
# CI (.ci/run) installs Chromium and sets MCLIP_REQUIRE_CHROMIUM: there a missing browser fails
needs_chromium = pytest.mark.skipif(
    find_chromium() is None and not os.environ.get("MCLIP_REQUIRE_CHROMIUM"),
    reason="no Chromium on PATH (apt-get install chromium; .ci/run installs it)")


def _data(page: str) -> dict:
    m = re.search(r'<script id="mclip-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _joints(entry: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(entry["joints"]), dtype="<f4").reshape(entry["frames"], 24, 3)


def _main(argv, capsys):
    from mclip.cli import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ the page, no browser


def test_page_is_self_contained_and_carries_the_joints_exactly():
    walk, wave = make_clip("walk").joints(), make_clip("wave", frames=45).joints()
    page = viewer_html([("walk </script><b>", walk, 30.0), ("{{DATA}} wave", wave, 24.0)])
    # nothing is fetched: no external script, style sheet, image or import
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", page, re.I)
    assert "@import" not in page and "importScripts" not in page
    assert "Permission is hereby granted" in page                      # three's licence
    assert page.count("</script>") == 3                                # data, three.js, page
    data = _data(page)
    assert [m["name"] for m in data["motions"]] == ["walk </script><b>", "{{DATA}} wave"]
    assert [m["fps"] for m in data["motions"]] == [30.0, 24.0]
    np.testing.assert_array_equal(_joints(data["motions"][0]), walk)
    np.testing.assert_array_equal(_joints(data["motions"][1]), wave)
    assert "&lt;/script&gt;&lt;b&gt;" in page                          # the title is escaped


def test_layout_puts_the_motions_in_a_row_with_room_between():
    a, b, c = make_clip("walk").joints(), make_clip("wave").joints(), make_clip("jump").joints()
    a = a + np.array([5.0, -3.0, 0.0], dtype=np.float32)               # anywhere in the world
    offsets = layout([a, b, c])
    starts = [j[0, 0, :2] + o for j, o in zip((a, b, c), offsets)]
    assert all(abs(s[1]) < 1e-6 for s in starts)                       # first pelvis on y = 0
    xs = [(j[..., 0] + o[0]) for j, o in zip((a, b, c), offsets)]
    for left, right in zip(xs, xs[1:]):
        assert right.min() - left.max() == pytest.approx(GAP_M, abs=1e-5)
    assert xs[0].min() + xs[-1].max() == pytest.approx(0.0, abs=1e-5)  # centred on x = 0


def test_bad_motions_are_refused(tmp_path):
    good = make_clip("walk").joints()
    with pytest.raises(MclipError, match="shape"):
        viewer_html([("x", good[:, :20], 30.0)])
    bad = good.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(MclipError, match="NaN"):
        viewer_html([("x", bad, 30.0)])
    with pytest.raises(MclipError, match="frame rate"):
        viewer_html([("x", good, 0.0)])
    with pytest.raises(MclipError, match="too much"):
        viewer_html([("x", np.repeat(good[:1], MAX_FRAMES + 1, 0), 30.0)])
    with pytest.raises(MclipError, match="no motion"):
        viewer_html([])
    with pytest.raises(MclipError, match=r"\.html"):
        write_viewer([("x", good, 30.0)], tmp_path / "x.htm")
    assert list(tmp_path.iterdir()) == []


def test_the_bundled_three_js_has_every_name_the_page_uses():
    template = (VIEWER / "template.html").read_text()
    bundle = (VIEWER / "vendor" / "three.min.js").read_text()
    used = set(re.findall(r"\bT\.([A-Z][A-Za-z0-9_]*)", template))
    assert "WebGLRenderer" in used and "OrbitControls" in used
    missing = sorted(n for n in used if not re.search(rf"[{{,]{n}:\(\)=>", bundle))
    assert not missing, f"rerun tools/vendor_three.sh: the bundle lacks {missing}"


def test_package_data_ships_the_viewer_files():
    tomllib = pytest.importorskip("tomllib")
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["mclip"]
    files = [p.relative_to(ROOT / "mclip").as_posix() for p in VIEWER.rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert "viewer/vendor/three.min.js" in files and "viewer/vendor/LICENSE" in files
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{f} is not in package-data"


def test_view_command_and_its_errors(tmp_path, capsys):
    walk = make_clip("walk")
    save_motion(walk, tmp_path / "walk.npz")
    save_joints(make_clip("wave").joints(), tmp_path / "wave.npy")
    out = tmp_path / "both.html"
    code, stdout, err = _main(["view", tmp_path / "walk.npz", tmp_path / "wave.npy", "-o", out,
                               "--caption", "a walk", "--caption", "a wave"], capsys)
    assert code == 0, err
    assert "wrote" in stdout and out.is_file()
    assert [m["name"] for m in _data(out.read_text())["motions"]] == ["a walk", "a wave"]
    for argv, message in [
        (["view", tmp_path / "walk.npz", "-o", tmp_path / "x.mp4"], "ending in .html"),
        (["view", tmp_path / "nope.npz", "-o", tmp_path / "x.html"], "no such file"),
        (["view", tmp_path / "walk.npz", "-o", tmp_path / "x.html", "--caption", "a", "--caption", "b"],
         "--caption"),
        (["render", tmp_path / "walk.npz", "-o", tmp_path / "x.html"], "mclip view"),
    ]:
        code, _, err = _main(argv, capsys)
        assert code == 2 and err.startswith("error: ") and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_outputs_write_a_page_with_the_motion_beside_it(tmp_path):
    from mclip.outputs import file_set, write_grid, write_set

    walk, wave = make_clip("walk"), make_clip("wave")
    assert file_set(tmp_path / "w.html") == [tmp_path / "w.html", tmp_path / "w.npz", tmp_path / "w.npy"]
    paths = write_set(walk, tmp_path / "w.html", caption="a walk")
    assert all(p.is_file() for p in paths)
    assert _data((tmp_path / "w.html").read_text())["motions"][0]["name"] == "a walk"
    paths = write_grid([walk, wave], tmp_path / "g.html", ["walk", "wave"])
    assert [p.name for p in paths] == ["g.html", "g-00.npz", "g-01.npz"]
    assert [m["name"] for m in _data((tmp_path / "g.html").read_text())["motions"]] == ["walk", "wave"]


# ------------------------------------------------------------------ in a real browser


def _figure_pixels(png: Path) -> tuple[int, int, int]:
    """(pixels unlike the sky and floor, blue-limb pixels, orange-limb pixels)."""
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    grey = (np.abs(r - g) < 18) & (np.abs(g - b) < 18) & (r > 150)   # sky, floor, grid, panels
    blue = (b > r + 60) & (b > g + 20)
    orange = (r > b + 90) & (r > g + 40)
    return int((~grey).sum()), int(blue.sum()), int(orange.sum())


@needs_chromium
def test_browser_reads_back_the_files_joints_side_by_side(tmp_path, capsys):
    # Two motions through the CLI (an .npz by FK and .npy joints), stepped to frame 17
    # through the slider; the joint meshes' positions read from the drawn scene must be
    # the files' joints, and the screenshot must show the figures.
    walk = make_clip("walk")
    save_motion(walk, tmp_path / "walk.npz")
    save_joints(make_clip("wave", frames=45).joints(), tmp_path / "wave.npy")
    page = tmp_path / "view.html"
    code, _, err = _main(["view", tmp_path / "walk.npz", tmp_path / "wave.npy", "-o", page], capsys)
    assert code == 0, err
    png = tmp_path / "view.png"
    got = capture(page, frame=17, png=png, size=(960, 540))
    assert got["frame"] == 17
    expected = [load_joints(tmp_path / "walk.npz"), load_joints(tmp_path / "wave.npy")]
    assert [m["name"] for m in got["motions"]] == ["walk.npz", "wave.npy"]
    for m, joints in zip(got["motions"], expected):
        assert m["frame"] == 17
        np.testing.assert_allclose(np.array(m["joints"]), joints[17], atol=1e-4)
        assert np.abs(np.array(m["joints"]) - joints[0]).max() > 0.01     # not frame 0
    offsets = [m["offset"] for m in got["motions"]]
    assert abs(offsets[1][0] - offsets[0][0]) > 0.5                        # side by side
    from PIL import Image

    assert Image.open(png).size == (960, 540)
    figure, blue, orange = _figure_pixels(png)
    assert figure > 2000 and blue > 150 and orange > 150, (figure, blue, orange)


@needs_chromium
def test_browser_shows_a_text2motion_page(run, tmp_path):
    # `text2motion -o x.html` writes x.html + x.npz + x.npy; the page plays x.npy's joints.
    out = tmp_path / "walk.html"
    code, stdout, err = run("text2motion", "walk forward", "--seed", 3, "-o", out)
    assert code == 0, err
    assert all((tmp_path / f"walk.{e}").is_file() for e in ("html", "npz", "npy"))
    got = capture(out, frame=40)
    joints = np.load(tmp_path / "walk.npy")
    assert got["motions"][0]["name"] == "walk forward"
    np.testing.assert_allclose(np.array(got["motions"][0]["joints"]), joints[40], atol=1e-4)
