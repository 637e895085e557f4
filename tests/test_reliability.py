"""Bad input and faults, by cause (issue 14): every one ends in exit code 2 (143 for
SIGTERM), exactly one line on stderr, no traceback, and no file left in the output folder.

Causes: 1 non-finite values, 2 checkpoint structure, 3 operating-system errors at a
write, 4 SIGTERM, 5 unbounded options, 6 batches into a used folder, 7 the smaller ones;
and a property test that every loader ends in a finite motion or one MclipError.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mclip.errors import MclipError
from mclip.motion_io import Motion, load_joints, load_motion, save_motion
from tiny_model import make_clip

torch.set_num_threads(1)


def one_error_line(code, out, err, expect: str = "", exit_code: int = 2) -> str:
    """Assert the failure shape every cause shares; returns the line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == exit_code, (code, err)
    assert len(lines) == 1, err
    assert "Traceback" not in out + err
    assert expect in lines[0], lines[0]
    return lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A good walk, a walk whose poses are finite but absurd (x 1e30), all-zero joints,
    and a text file named .npy."""
    d = tmp_path_factory.mktemp("clips")
    walk = make_clip("walk", 0)
    save_motion(walk, d / "walk.npz")
    with np.load(d / "walk.npz") as f:
        data = dict(f)
    data["poses"] = data["poses"] * 1e30
    np.savez(d / "huge.npz", **data)
    np.save(d / "zeros.npy", np.zeros((40, 24, 3), np.float32))
    (d / "text.npy").write_text("hello world\n")
    return d


# ------------------------------------------------------------ 1. non-finite values


@pytest.mark.parametrize("args", [
    ["convert", "{huge}", "-o", "{out}/x.npy"],
    ["convert", "{huge}", "-o", "{out}/x.bvh"],
    ["encode", "{huge}", "-o", "{out}/z.npy"],
    ["classify", "{huge}", "--labels", "walk,run", "--json"],
    ["edit", "{huge}", "--add", "run", "-o", "{out}/e.npz"],
])
def test_absurd_poses_are_refused_naming_the_file(run, clips, tmp_path, args):
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(huge=clips / "huge.npz", out=out) for a in args]
    code, stdout, err = run(*argv, weights=argv[0] != "convert")
    one_error_line(code, stdout, err, "huge.npz")
    assert files_in(out) == []


def test_search_skips_a_non_finite_file_and_lists_it(run, clips, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("walk.npz", "huge.npz"):
        (lib / name).write_bytes((clips / name).read_bytes())
    code, out, err = run("search", "walk", "--library", lib, "--cache-dir", tmp_path / "c", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert [Path(h["path"]).name for h in res["hits"]] == ["walk.npz"]
    assert [Path(s["path"]).name for s in res["skipped"]] == ["huge.npz"]


@pytest.mark.parametrize("args,flag", [
    (["text2motion", "walk", "--variation", "nan"], "--variation"),
    (["text2motion", "walk", "--variation", "inf"], "--variation"),
    (["text2motion", "walk", "--guidance", "inf"], "--guidance"),
    (["edit", "{walk}", "--add", "run", "--scale", "nan"], "--scale"),
])
def test_non_finite_options_are_refused(run, clips, tmp_path, args, flag):
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(walk=clips / "walk.npz") for a in args] + ["-o", out / "x.npz"]
    one_error_line(*run(*argv), flag)
    assert files_in(out) == []


def test_writers_never_write_non_finite_values(tmp_path):
    bad = Motion(np.full((5, 24, 3), np.nan), np.zeros((5, 3)), 30.0)
    for ext in (".npz", ".npy", ".bvh"):
        with pytest.raises(MclipError, match="NaN"):
            save_motion(bad, tmp_path / f"x{ext}")
    assert files_in(tmp_path) == []


# ------------------------------------------------------------ 2. checkpoint structure


def _damaged(state: dict, case: str) -> dict:
    s = dict(state)
    if case == "no-model":
        del s["model"]
    elif case == "no-config":
        del s["model_config"]
    elif case == "negative-width":
        s["model_config"] = {**s["model_config"], "d_model": -4}
    elif case == "string-width":
        s["model_config"] = {**s["model_config"], "d_model": "big"}
    elif case == "model-not-a-dict":
        s["model"] = [1, 2]
    elif case == "missing-tensor":
        s["model"] = dict(s["model"])
        s["model"].pop(next(iter(s["model"])))
    elif case == "nan-weights":
        s["model"] = dict(s["model"])
        key = next(k for k, v in s["model"].items() if v.is_floating_point() and v.numel() > 1
                   and not k.startswith("feature_"))
        s["model"][key] = s["model"][key].clone()
        s["model"][key].view(-1)[0] = float("nan")
    return s


@pytest.mark.parametrize("case", ["no-model", "no-config", "negative-width", "string-width",
                                  "model-not-a-dict", "missing-tensor", "nan-weights"])
def test_a_damaged_checkpoint_is_one_line(run, tiny_checkpoint, tmp_path, case):
    state = torch.load(tiny_checkpoint, weights_only=True)
    bad = tmp_path / f"{case}.pt"
    torch.save(_damaged(state, case), bad)
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = run("text2motion", "walk", "-o", out / "x.npz", "--weights", bad, weights=False)
    one_error_line(code, stdout, err, f"{case}.pt")
    assert files_in(out) == []


# ------------------------------------------------------------ 3. operating-system errors


def test_export_onto_a_folder_and_train_onto_a_file(run, tiny_checkpoint, tmp_path):
    (tmp_path / "w.pt").mkdir()
    one_error_line(*run("export", tiny_checkpoint, "-o", tmp_path / "w.pt", weights=False), "w.pt")
    (tmp_path / "run").write_text("a file")
    one_error_line(*run("train", "--out", tmp_path / "run", "--steps", 1, weights=False), "run")
    assert files_in(tmp_path) == ["run", "w.pt"] and files_in(tmp_path / "w.pt") == []


def test_a_write_refused_mid_batch_is_one_line_and_keeps_the_finished(run, tmp_path, monkeypatch):
    import mclip.motion_io as motion_io

    real, calls = motion_io.np.savez, []
    out = tmp_path / "out"

    def refused_on_second(file, *a, **k):
        if Path(file).parent == out:          # the batch's files (not mclip's caches)
            calls.append(file)
        if len(calls) == 2 and Path(file).parent == out:
            Path(file).write_bytes(b"half")       # a partial temp file, then the refusal
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *a, **k)

    monkeypatch.setattr(motion_io.np, "savez", refused_on_second)
    code, stdout, err = run("text2motion", "walk", "jump", "wave", "-o", f"{out}/", "--format", "npz",
                            "--frames", 20)
    line = one_error_line(code, stdout, err, "002-jump.npz")
    assert "Permission denied" in line
    assert files_in(out) == ["001-walk.npz", "index.json"]
    assert json.loads((out / "index.json").read_text())["count"] == 1


def _cli(*args, env=None, **kw) -> subprocess.Popen:
    """mclip in its own process (signals, resource limits)."""
    return subprocess.Popen([sys.executable, "-c", "from mclip.cli import main; main()", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, **kw)


def test_a_full_disk_is_one_line_and_no_temp_file(clips, tmp_path):
    import resource

    def limit():   # files may grow to 4 KB: the BVH of a 2 s walk is far larger
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    p = _cli("convert", clips / "walk.npz", "-o", tmp_path / "w.bvh", preexec_fn=limit)
    out, err = p.communicate(timeout=120)
    line = one_error_line(p.returncode, out, err, "w.bvh")
    assert "cannot write" in line
    assert files_in(tmp_path) == []


# ------------------------------------------------------------ 4. SIGTERM


@pytest.mark.slow
def test_sigterm_in_a_batch_keeps_finished_items_then_resume_finishes(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".009-old.mp4.abcd1234.tmp.mp4"      # what a killed run leaves
    stale.write_bytes(b"partial")
    prompts = ["walk", "jump", "wave", "sit down", "walk slowly", "jump high"]
    common = ["-o", f"{out}/", "--format", "mp4", "--frames", 120, "--seed", 3,
              "--weights", tiny_checkpoint, "--device", "cpu"]
    p = _cli("text2motion", *prompts, *common)
    index = out / "index.json"
    deadline = time.time() + 180
    while time.time() < deadline and p.poll() is None:
        if index.exists() and json.loads(index.read_text())["count"] >= 1:
            break
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGTERM)
    stdout, err = p.communicate(timeout=60)
    one_error_line(p.returncode, stdout, err, "terminated", exit_code=143)
    done = json.loads(index.read_text())
    listed = sorted(f for it in done["items"] for f in it["files"])
    assert 1 <= done["count"] < len(prompts)
    assert files_in(out) == sorted(listed + ["index.json"])    # no temp, no lock, no stale file
    # no ffmpeg of ours is left writing
    ps = subprocess.run(["ps", "-eo", "ppid,comm"], capture_output=True, text=True).stdout
    assert not any(ln.split()[0] == str(p.pid) for ln in ps.splitlines()[1:] if ln.split())

    # the same command again is refused; with --resume it does only the rest
    again = _cli("text2motion", *prompts, *common)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "--resume" in err
    first = (out / listed[0]).stat().st_mtime_ns
    again = _cli("text2motion", *prompts, *common, "--resume", "--format", "npz")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "format" in err          # other settings: refused
    again = _cli("text2motion", *prompts, *common, "--resume")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    final = json.loads(index.read_text())
    assert [it["text"] for it in final["items"]] == prompts
    assert (out / listed[0]).stat().st_mtime_ns == first        # finished items untouched


# ------------------------------------------------------------ 5. unbounded or unchecked options


@pytest.mark.parametrize("args,flag", [
    (["text2motion", "walk", "-o", "x.mp4", "--fps", "1e9"], "--fps"),
    (["text2motion", "walk", "-o", "x.npz", "--seed", "99999999999999999999"], "--seed"),
    (["text2motion", "walk", "-o", "x.npz", "--seed", "-1"], "--seed"),
    (["text2motion", "walk", "-o", "x.npz", "--variation", "-1"], "--variation"),
    (["text2motion", "walk", "-o", "x.npz", "--variation", "5"], "--variation"),
    (["text2motion", "walk", "-o", "x.npz", "-n", "0"], "--num-samples"),
    (["interpolate", "walk", "run", "-o", "g.mp4", "--steps", "100000"], "--steps"),
    (["search", "walk", "--library", ".", "--top-k", "0"], "--top-k"),
    (["classify", "x.npz", "--top-k", "0"], "--top-k"),
    (["render", "x.npz", "-o", "x.mp4", "--fps", "0"], "--fps"),
    (["eval", "--data", ".", "--only", ""], "--only"),
    (["export", "x.pt", "-o", "y.pt", "--classify-temperature", "babel60=0"], "--classify-temperature"),
    (["export", "x.pt", "-o", "y.pt", "--classify-temperature", "kinetics=20"], "--classify-temperature"),
    (["train", "--out", "r", "--batch-size", "0"], "--batch-size"),
    (["train", "--out", "r", "--lr", "-1"], "--lr"),
    (["train", "--out", "r", "--lr", "nan"], "--lr"),
    (["train", "--out", "r", "--steps", "0"], "--steps"),
    (["train", "--out", "r", "--steps", "-1"], "--steps"),
])
def test_every_numeric_option_is_bounded_before_the_model_loads(run, tmp_path, monkeypatch, args, flag):
    monkeypatch.chdir(tmp_path)
    # weights that do not exist: the option must fail first
    monkeypatch.setenv("MCLIP_WEIGHTS", str(tmp_path / "absent.pt"))
    one_error_line(*run(*args, weights=False), flag)
    assert files_in(tmp_path) == []


def test_a_recipe_file_is_bounded_too(run, tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text("batch_size = 0\n")
    one_error_line(*run("train", "--out", tmp_path / "r", "--config", cfg, weights=False), "--batch-size")
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------ 6. batches into a used folder


def test_a_used_folder_is_refused_unless_overwrite(run, tmp_path):
    out = tmp_path / "out"
    base = ["-o", f"{out}/", "--format", "npz", "--frames", 20, "--seed", 1]
    assert run("text2motion", "walk", "jump", *base)[0] == 0
    one_error_line(*run("text2motion", "wave", *base), "--overwrite")
    assert files_in(out) == ["001-walk.npz", "002-jump.npz", "index.json"]
    code, _, err = run("text2motion", "wave", *base, "--overwrite")
    assert code == 0, err
    assert files_in(out) == ["001-wave.npz", "index.json"]       # no mix of old and new
    one_error_line(*run("text2motion", "wave", "-o", tmp_path / "x.npz", "--overwrite"), "--overwrite")
    one_error_line(*run("interpolate", "walk", "run", *base[:2], "--steps", 3), "--overwrite")


def test_a_second_writer_into_one_folder_gets_one_line(run, tmp_path):
    from mclip.outputs import BatchFolder

    out = tmp_path / "out"
    with BatchFolder(out, "npz", meta={"command": "other"}):
        code, stdout, err = run("text2motion", "walk", "-o", f"{out}/", "--format", "npz", "--frames", 20)
        one_error_line(code, stdout, err, "another mclip")
    assert files_in(out) == []


def test_resume_skips_finished_prompts_and_refuses_other_prompts(run, tmp_path):
    out = tmp_path / "out"
    base = ["-o", f"{out}/", "--format", "npz", "--frames", 20, "--seed", 5]
    assert run("text2motion", "walk", *base)[0] == 0
    first = (out / "001-walk.npz").stat().st_mtime_ns
    code, _, err = run("text2motion", "walk", "jump", *base, "--resume")
    assert code == 0, err
    assert (out / "001-walk.npz").stat().st_mtime_ns == first
    assert [it["text"] for it in json.loads((out / "index.json").read_text())["items"]] == ["walk", "jump"]
    one_error_line(*run("text2motion", "wave", "jump", *base, "--resume"), "other prompts")
    # the takes are those a straight run gives
    assert run("text2motion", "walk", "jump", *base[:1], f"{tmp_path / 'straight'}/", *base[2:])[0] == 0
    with np.load(out / "002-jump.npz") as a, np.load(tmp_path / "straight" / "002-jump.npz") as b:
        np.testing.assert_allclose(a["poses"], b["poses"], atol=1e-6)


# ------------------------------------------------------------ 7. the smaller ones


def test_a_text_file_named_npy_gets_no_pickle_advice(run, clips):
    line = one_error_line(*run("classify", clips / "text.npy", "--labels", "a,b"), "text.npy")
    assert "pickle" not in line.lower() and "not a .npy array" in line


def test_a_degenerate_skeleton_is_refused(run, clips):
    one_error_line(*run("classify", clips / "zeros.npy", "--labels", "walk,run"), "degenerate skeleton")


@pytest.mark.parametrize("args,expect", [
    (["train", "--bogus"], "--bogus"),
    (["text2motion", "walk", "-o", "x.npz", "--frames", "many"], "--frames"),
    (["classify"], "MOTIONS"),
])
def test_usage_errors_are_one_line(run, args, expect):
    line = one_error_line(*run(*args, weights=False))
    assert expect.lower() in line.lower() and line.startswith("error:")


def test_an_interrupted_corpus_is_refused(run, tmp_path):
    from mclip.data.synth import write_corpus

    data = tmp_path / "data"
    write_corpus(data, 24, frames=20, shard_size=8)
    info = json.loads((data / "info.json").read_text())
    (data / "info.json").write_text(json.dumps({**info, "complete": False}))
    one_error_line(*run("train", "--data", data, "--out", tmp_path / "r", "--steps", 1, weights=False),
                   "interrupted corpus")
    one_error_line(*run("eval", "--data", data, "--split", "train", "--n", 4, weights=False),
                   "interrupted corpus")
    assert not (tmp_path / "r").exists()


def test_export_card_must_be_an_object(run, tiny_checkpoint, tmp_path):
    card = tmp_path / "card.json"
    card.write_text("[1, 2]")
    one_error_line(*run("export", tiny_checkpoint, "-o", tmp_path / "w.pt", "--card", card,
                        weights=False), "JSON object")
    assert files_in(tmp_path) == ["card.json"]


def test_output_creates_only_the_last_missing_folder(run, tmp_path):
    one_error_line(*run("text2motion", "walk", "-o", tmp_path / "a" / "b" / "x.npz", "--frames", 20),
                   "does not exist")
    assert files_in(tmp_path) == []
    code, _, err = run("text2motion", "walk", "-o", tmp_path / "a" / "x.npz", "--frames", 20)
    assert code == 0, err and (tmp_path / "a" / "x.npz").is_file()


# ------------------------------------------------------------ every loader, any array


def _write_npz(path: Path, poses, trans, fps) -> None:
    np.savez(path, poses=poses, trans=trans, mocap_framerate=fps)


def test_loaders_end_in_a_finite_motion_or_one_mclip_error(tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import array_shapes, arrays

    dtypes = st.sampled_from([np.float32, np.float64, np.int16, np.int64, np.bool_, np.uint8,
                              np.complex64, "U3"])
    elements = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from([0.0, 1e30, -1e30])

    def arr(shape=None):
        shapes = shape if shape is not None else array_shapes(min_dims=0, max_dims=3, max_side=5)
        return dtypes.flatmap(lambda d: arrays(d, shapes) if d in ("U3", np.bool_, np.int16, np.int64,
                                                                     np.uint8, np.complex64)
                              else arrays(d, shapes, elements=elements))

    # shapes that pass the shape checks, so values and dtypes are what is tested
    t = st.integers(1, 4)
    motion_like = t.flatmap(lambda n: st.tuples(arr(st.sampled_from([(n, 72), (n, 156), (n, 24, 3)])),
                                                arr(st.just((n, 3))), arr(st.just(()))))
    any_arrays = st.tuples(arr(), arr(), arr())

    def check(load, path):
        try:
            out = load(path)
        except MclipError as e:
            assert "\n" not in str(e)
            return
        values = [out.poses, out.trans] if isinstance(out, Motion) else [out]
        assert all(np.isfinite(v).all() for v in values)
        if isinstance(out, Motion):
            assert np.isfinite(out.joints()).all()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.one_of(motion_like, any_arrays))
    def npz_case(parts):
        path = tmp_path / "h.npz"
        _write_npz(path, *parts)
        check(load_motion, path)
        check(load_joints, path)

    @settings(max_examples=100, deadline=None)
    @given(st.one_of(arr(st.integers(1, 4).map(lambda n: (n, 24, 3))), arr()))
    def npy_case(a):
        path = tmp_path / "h.npy"
        np.save(path, a)
        check(load_joints, path)

    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=200))
    def bytes_case(data):
        for ext in (".npz", ".npy", ".bvh"):
            path = tmp_path / f"b{ext}"
            path.write_bytes(data)
            check(load_joints, path)

    npz_case()
    npy_case()
    bytes_case()
    assert hypothesis is not None
