"""The application commands end to end (mclip.cli.main in-process) on the tiny model:
files are read back with other libraries (imageio, numpy, FK), errors give exit 2, one
line, and leave no file behind."""
from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from mclip import skeleton
from mclip.motion_io import save_motion
from tiny_model import TEXTS, make_clip

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def motions(tmp_path_factory):
    """walk (90 frames), wave, sit, jump as .npz, and the sit as .npy joints."""
    d = tmp_path_factory.mktemp("motions")
    save_motion(make_clip("walk", 0, frames=90), d / "walk.npz")
    for a in ("wave", "sit", "jump"):
        save_motion(make_clip(a, 0), d / f"{a}.npz")
    np.save(d / "sit_joints.npy", make_clip("sit", 0).joints())
    return d


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def mp4_frames(path: Path) -> int:
    return len(iio.imread(path))


# ------------------------------------------------------------------ text2motion


def test_text2motion_mp4_writes_motion_files_beside(run, tmp_path):
    out = tmp_path / "walk.mp4"
    code, stdout, err = run("text2motion", TEXTS["walk"], "-o", out, "--frames", 30)
    assert code == 0, err
    assert all_files(tmp_path) == ["walk.mp4", "walk.npy", "walk.npz"]
    assert mp4_frames(out) == 30
    with np.load(tmp_path / "walk.npz") as f:
        assert {"poses", "trans", "mocap_framerate", "betas", "gender"} <= set(f.files)
        poses, trans = f["poses"], f["trans"]
        assert poses.shape == (30, 72) and trans.shape == (30, 3)
        assert float(f["mocap_framerate"]) == 30.0
    joints = np.load(tmp_path / "walk.npy")
    assert joints.shape == (30, 24, 3)
    np.testing.assert_allclose(joints, skeleton.joints_from_axis_angle(poses.reshape(30, 24, 3), trans),
                               atol=1e-4)
    assert "walk.mp4" in stdout


@pytest.mark.parametrize("name, expected", [
    ("x.bvh", ["x.bvh"]), ("x.npz", ["x.npz"]), ("x.gif", ["x.gif", "x.npy", "x.npz"]),
])
def test_text2motion_other_outputs(run, tmp_path, name, expected):
    code, _, err = run("text2motion", "jump up", "-o", tmp_path / name, "--frames", 20, "--fps", 15)
    assert code == 0, err
    assert all_files(tmp_path) == expected
    if name.endswith(".bvh"):
        text = (tmp_path / name).read_text()
        assert text.startswith("HIERARCHY") and "Frames: 20" in text
    if name.endswith(".gif"):
        assert len(iio.imread(tmp_path / name)) >= 5


def test_text2motion_longer_than_a_clip(run, tmp_path):
    code, _, err = run("text2motion", "walk forward", "-o", tmp_path / "long.npz", "--frames", 150)
    assert code == 0, err
    with np.load(tmp_path / "long.npz") as f:
        assert f["poses"].shape == (150, 72)
    code, _, err = run("text2motion", "walk", "-o", tmp_path / "x.npz", "--frames", 90, "--extend", "no")
    assert code == 2 and "--extend" in err


def test_text2motion_batch_folder_and_index(run, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("walk forward\n\n# a comment\nSit down, on a chair!\n  jump up  \n")
    out = tmp_path / "out"
    code, stdout, err = run("text2motion", "--prompts", prompts, "-o", f"{out}/", "--format", "npz",
                            "--frames", 30, "--json")
    assert code == 0, err
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 3
    assert [it["text"] for it in index["items"]] == ["walk forward", "Sit down, on a chair!", "jump up"]
    assert [it["files"] for it in index["items"]] == [
        ["001-walk-forward.npz"], ["002-sit-down-on-a-chair.npz"], ["003-jump-up.npz"]]
    for it in index["items"]:
        with np.load(out / it["files"][0]) as f:
            assert f["poses"].shape == (30, 72)
    assert json.loads(stdout)["count"] == 3
    # The same prompt through single mode gives the same motion (batching changes nothing).
    code, _, err = run("text2motion", "jump up", "-o", tmp_path / "single.npz", "--frames", 30)
    with np.load(tmp_path / "single.npz") as a, np.load(out / "003-jump-up.npz") as b:
        np.testing.assert_allclose(a["poses"], b["poses"], atol=1e-5)


def test_batch_ctrl_c_keeps_finished_items_and_a_valid_index(run, tmp_path, monkeypatch):
    import mclip.outputs as outputs

    real = outputs.write_set
    calls = []

    def interrupted_on_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(outputs, "write_set", interrupted_on_second)
    out = tmp_path / "out"
    code, _, err = run("text2motion", "walk forward", "jump up", "wave", "-o", f"{out}/",
                       "--format", "npz", "--frames", 20)
    assert code == 130 and "interrupted" in err
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 1 and index["items"][0]["text"] == "walk forward"
    assert all_files(out) == ["001-walk-forward.npz", "index.json"]   # no temp files


# ------------------------------------------------------------------ interpolate / edit


def test_interpolate_grid_and_folder(run, tmp_path, motions):
    out = tmp_path / "grid.mp4"
    code, _, err = run("interpolate", motions / "walk.npz", "jump up", "--steps", 3, "-o", out,
                       "--frames", 20)
    assert code == 0, err
    assert all_files(tmp_path) == ["grid-00.npz", "grid-01.npz", "grid-02.npz", "grid.mp4"]
    assert mp4_frames(out) == 20
    frame = iio.imread(out)[0]
    assert frame.shape[1] > frame.shape[0]            # three cells side by side
    folder = tmp_path / "steps"
    code, _, err = run("interpolate", "walk forward", "sit down on a chair", "--steps", 4, "--slerp",
                       "-o", f"{folder}/", "--format", "npy")
    assert code == 0, err
    index = json.loads((folder / "index.json").read_text())
    assert [it["files"] for it in index["items"]] == [[f"step-0{i}.npy"] for i in range(4)]
    # End 0 is the text's own motion.
    run("text2motion", "walk forward", "-o", tmp_path / "w.npy")
    np.testing.assert_allclose(np.load(folder / "step-00.npy"), np.load(tmp_path / "w.npy"), atol=1e-5)


def test_edit_and_compose(run, tmp_path, motions):
    code, _, err = run("edit", motions / "walk.npz", "--add", "jump up", "--sub", "walk forward",
                       "--scale", 0.5, "-o", tmp_path / "e.npz")
    assert code == 0, err
    with np.load(tmp_path / "e.npz") as f:
        assert f["poses"].shape == (90, 72)          # the input's length
    code, _, err = run("edit", motions / "sit_joints.npy", "--add-motion", motions / "jump.npz",
                       "-o", tmp_path / "j.bvh")
    assert code == 0, err
    code, _, err = run("edit", "--upper", motions / "wave.npz", "--lower", motions / "walk.npz",
                       "-o", tmp_path / "c.png")
    assert code == 0, err
    assert {"c.png", "c.npz", "c.npy"} <= set(all_files(tmp_path))
    with np.load(tmp_path / "c.npz") as c, np.load(motions / "wave.npz") as w:
        up = [3 * j + k for j in skeleton.UPPER_BODY_JOINTS for k in range(3)]
        np.testing.assert_allclose(c["poses"][:60, up], w["poses"][:, up], atol=1e-4)


# ------------------------------------------------------------------ classify / encode / search


def test_classify_json_and_table(run, motions):
    code, stdout, err = run("classify", motions / "walk.npz", "--labels", "walk,sit,wave,jump",
                            "--top-k", 4, "--json")
    assert code == 0, err
    res = json.loads(stdout)
    labels = [r["label"] for r in res["top"]]
    assert labels.index("walk") < labels.index("sit")
    assert res["temperature"] == 100.0
    code, stdout, err = run("classify", motions / "sit_joints.npy", "--labels", "babel60",
                            "--per-window")
    assert code == 0, err
    assert "probability" in stdout and "per window" in stdout


def test_classify_several_motions_in_one_call(run, motions):
    """Several files: one model load, a JSON list in argument order, each ranked on its own."""
    code, stdout, err = run("classify", motions / "walk.npz", motions / "sit.npz",
                            "--labels", "walk,sit,wave,jump", "--top-k", 4, "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert [r["motion"] for r in res] == [str(motions / "walk.npz"), str(motions / "sit.npz")]
    walk, sit = ([t["label"] for t in r["top"]] for r in res)
    assert walk.index("walk") < walk.index("sit")
    assert sit.index("sit") < sit.index("walk")


def test_encode_and_search(run, tmp_path, motions):
    out = tmp_path / "lat.npy"
    code, _, err = run("encode", motions / "walk.npz", motions / "sit.npz", "--text", "walk forward",
                       "-o", out)
    assert code == 0, err
    Z = np.load(out)
    assert Z.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    code, stdout, err = run("search", TEXTS["wave"], "--library", motions, "--top-k", 2,
                            "--cache-dir", tmp_path / "cache", "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["hits"][0]["path"].endswith("wave.npz") and len(res["hits"]) == 2


# ------------------------------------------------------------------ errors


@pytest.fixture()
def corrupt(tmp_path_factory):
    p = tmp_path_factory.mktemp("bad") / "corrupt.pt"
    p.write_bytes(b"\x00garbage" * 10)
    return p


@pytest.mark.parametrize("case", [
    "missing-weights", "default-weights", "corrupt-weights", "unknown-labels", "bad-motion",
    "empty-prompt", "bad-extension", "one-step", "edit-nothing", "upper-only", "missing-motion",
])
def test_errors_exit_2_one_line_no_files(run, tmp_path, motions, corrupt, monkeypatch, case):
    out = tmp_path / "out"
    out.mkdir()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    args, weights, expect = {
        "missing-weights": (["text2motion", "walk", "-o", out / "a.mp4", "--weights", tmp_path / "no.pt"],
                            False, "no.pt"),
        "default-weights": (["text2motion", "walk", "-o", out / "a.mp4"], False, "--weights"),
        "corrupt-weights": (["text2motion", "walk", "-o", out / "a.mp4", "--weights", corrupt],
                            False, "corrupt.pt"),
        "unknown-labels": (["classify", motions / "walk.npz", "--labels", "nonsense"], True, "nonsense"),
        "bad-motion": (["edit", bad, "--add", "run", "-o", out / "a.npz"], True, "bad.npz"),
        "empty-prompt": (["text2motion", "   ", "-o", out / "a.mp4"], True, "empty"),
        "bad-extension": (["text2motion", "walk", "-o", out / "a.txt"], True, "a.txt"),
        "one-step": (["interpolate", "walk", "run", "--steps", 1, "-o", out / "g.mp4"], True, "--steps"),
        "edit-nothing": (["edit", motions / "walk.npz", "-o", out / "a.npz"], True, "nothing to do"),
        "upper-only": (["edit", "--upper", motions / "wave.npz", "-o", out / "a.npz"], True, "--lower"),
        "missing-motion": (["classify", tmp_path / "nope.npz", "--labels", "a,b"], True, "nope.npz"),
    }[case]
    monkeypatch.setenv("MCLIP_WEIGHTS", str(tmp_path / "absent.pt"))
    code, stdout, err = run(*args, weights=weights)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expect in lines[0], err
    assert "Traceback" not in err + stdout
    assert all_files(out) == []


def _parse_command_line(line: str) -> None:
    """Parse ``mclip ...`` (no run) with the real CLI: an unknown option, a missing
    argument or a value out of range raises."""
    import shlex

    import typer.main

    from mclip.cli import app

    args = shlex.split(line)[1:]
    cmd, ctx = typer.main.get_command(app), None
    while hasattr(cmd, "get_command") and args and not args[0].startswith("-"):
        ctx = cmd.make_context(cmd.name or "mclip", [args[0], "--help"], parent=ctx,
                               resilient_parsing=True)
        cmd, args = cmd.get_command(ctx, args[0]), args[1:]
        assert cmd is not None, line
    cmd.make_context(cmd.name, list(args), parent=ctx)


def _example_lines(text: str, prefix: str = "mclip ") -> list[str]:
    import re

    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(prefix)]
    # drop trailing comments: "  # ..." (README) and "   (...)" (help examples)
    return [re.split(r"\s+#\s|\s{2,}\(", ln)[0] for ln in lines]


@pytest.mark.parametrize("command", ["text2motion", "interpolate", "edit", "classify", "encode",
                                     "search", "export", "view"])
def test_help_examples_are_valid_command_lines(command):
    import typer.main

    from mclip.cli import app

    doc = typer.main.get_command(app).get_command(None, command).help or ""
    lines = _example_lines(doc, f"mclip {command}")
    assert lines, f"{command} --help shows no example"
    for line in lines:
        _parse_command_line(line)


def test_readme_command_lines_parse():
    from pathlib import Path
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = [ln for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
             for ln in _example_lines(block)]
    assert len(lines) > 15
    for line in lines:
        _parse_command_line(line)
    with pytest.raises(Exception):          # the check can fail
        _parse_command_line("mclip classify clip.npz --no-such-option")
