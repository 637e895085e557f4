"""The procedural corpus: plausibility of every action, semantics, labels, files."""
import json

import numpy as np
import pytest

from mclip import skeleton
from mclip.data.synth import ACTIONS, compose, generate, write_corpus
from mclip.eval import plausibility as M
from mclip.data.synth import language, writer
from mclip.errors import MclipError

J = skeleton.JOINT_INDEX


def fk(poses, trans):
    """Joints through the project's torch FK (independent of the generator's numpy FK)."""
    n, T = poses.shape[:2]
    return skeleton.joints_from_axis_angle(poses.reshape(-1, 24, 3), trans.reshape(-1, 3)) \
        .reshape(n, T, 24, 3).astype(np.float64)


def clips(action, n=6, style=None, **kw):
    poses, trans, plans = compose.action_clips(action, n, seed=7, style=style, **kw)
    return poses, trans, fk(poses, trans), plans


def facing(j):
    """(..., 2) horizontal facing direction from the hips (left x up)."""
    left = j[..., J["left_hip"], :] - j[..., J["right_hip"], :]
    f = np.cross(left, np.array([0.0, 0.0, 1.0]))[..., :2]
    return f / np.linalg.norm(f, axis=-1, keepdims=True)


JUMPS = {"jump_in_place", "jump_forward", "hop", "jumping_jacks", "sprint", "run", "skip"}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_is_plausible(action):
    poses, trans, j, _ = clips(action, placed=True)
    assert poses.shape == (6, 60, 24, 3) and trans.shape == (6, 60, 3)
    assert poses.dtype == np.float32 and np.isfinite(poses).all() and np.isfinite(trans).all()
    assert np.linalg.norm(poses, axis=-1).max() <= np.pi + 1e-4
    assert M.foot_skate(j).mean() < 0.01                     # < 1 cm per contact frame (spec: 2 cm)
    assert M.ground_penetration(j).max() < 0.02
    assert M.bone_length_error(j).max() < 1e-4               # rotations only
    assert M.joint_limit_violation(poses).max() == 0.0       # knees and elbows bend the right way
    if action != "kick_side":   # positions cannot sign a knee hinge turned sideways
        assert M.knee_flexion(j).min() > -0.1
    root_acc = np.linalg.norm(np.diff(j[:, :, 0], 2, axis=1), axis=-1).max() * 30 ** 2
    assert root_acc < 60.0, root_acc                          # no root glitches (m/s^2)
    assert M.acceleration(j).max() < 650.0                    # bounded limb acceleration
    # supported: somebody always touches the floor unless the action has a flight phase
    if action not in JUMPS:
        assert not M.airborne_frames(j, gap=0.03).any()


@pytest.mark.parametrize("action", ["jump_in_place", "jump_forward", "hop", "jumping_jacks", "sprint", "skip"])
def test_jumps_leave_the_ground(action):
    *_, j, _ = clips(action, n=8, style="neutral")
    air = M.airborne_frames(j, gap=0.01)
    assert air.any(1).mean() >= 0.75                          # most clips have a flight phase
    if action == "jump_in_place":
        rise = j[:, :, 0, 2].max(1) - np.median(j[:, :, 0, 2], 1)
        assert (rise > 0.1).all()
        assert (M.sole_heights(j).min(-1).max(1) > 0.08).all()  # both feet well off the floor


def test_sitting_and_squatting_lower_the_pelvis():
    *_, j, _ = clips("sit_down", style="neutral")
    z = j[:, :, 0, 2]
    assert (z[:, 0] - z[:, -1] > 0.3).all() and (z[:, -1] < 0.65).all()
    *_, j, _ = clips("stand_up", style="neutral")
    assert (j[:, -1, 0, 2] - j[:, 0, 0, 2] > 0.3).all()
    *_, j, _ = clips("squat", style="neutral")
    assert ((j[:, :, 0, 2].max(1) - j[:, :, 0, 2].min(1)) > 0.15).all()


def test_directions_left_right_and_heading():
    # unplaced clips start facing -y with the body's left at +x
    *_, j, _ = clips("walk", style="neutral")
    d = j[:, -1, 0] - j[:, 0, 0]
    assert (d[:, 1] < -1.5).all() and (np.abs(d[:, 0]) < 0.3).all()
    np.testing.assert_allclose(facing(j[:, 0]), np.tile([0.0, -1.0], (6, 1)), atol=0.15)
    *_, j, _ = clips("side_step_left", style="neutral")
    assert ((j[:, -1, 0, 0] - j[:, 0, 0, 0]) > 0.5).all()         # towards +x = its left
    *_, j, _ = clips("walk_backwards", style="neutral")
    assert ((j[:, -1, 0, 1] - j[:, 0, 0, 1]) > 0.5).all()
    for action, sign in (("turn_left", 1), ("turn_right", -1)):
        *_, j, _ = clips(action, style="neutral")
        f0, f1 = facing(j[:, 0]), facing(j[:, -1])
        turn = np.arctan2(f0[:, 0] * f1[:, 1] - f0[:, 1] * f1[:, 0], (f0 * f1).sum(-1))
        assert (sign * turn > 0.6).all(), turn                   # counter-clockwise = left


def test_hands_and_mirroring_match_the_label():
    *_, j, plans = clips("wave_right", n=8, style="neutral")
    r, l = j[:, :, J["right_wrist"], 2], j[:, :, J["left_wrist"], 2]
    assert ((r - l).max(1) > 0.5).all()
    *_, j, plans = clips("wave_right", n=8, style="neutral", mirrored=True)
    assert all(compose.shown(p)[0] == "wave_left" for p in plans)
    assert all("right" not in p.text for p in plans)
    r, l = j[:, :, J["right_wrist"], 2], j[:, :, J["left_wrist"], 2]
    assert ((l - r).max(1) > 0.5).all()
    # mirroring keeps the plausibility: feet planted, bones intact
    assert M.foot_skate(j).mean() < 0.01 and M.bone_length_error(j).max() < 1e-4


def test_styles_change_the_motion():
    def walk(style):
        *_, j, _ = clips("walk", n=8, style=style)
        return j
    neutral, sad, proud, old, drunk = (walk(s) for s in ("neutral", "sad", "proud", "old", "drunk"))

    def head_drop(j):   # how far the head sits in front of the neck, along the facing direction
        h = j[:, :, J["head"], :2] - j[:, :, J["neck"], :2]
        return (h * facing(j)).sum(-1).mean()

    def speed(j):
        return np.linalg.norm(j[:, -1, 0, :2] - j[:, 0, 0, :2], axis=-1).mean() / 2.0

    assert head_drop(sad) > head_drop(neutral) + 0.02 > head_drop(proud) + 0.03
    assert speed(old) < 0.75 * speed(neutral)
    assert trunk_lean(sad) > trunk_lean(neutral) + 0.05 > trunk_lean(proud) + 0.05
    lateral = lambda j: np.abs(np.diff(j[:, :, 0, :2], axis=1)).std()  # noqa: E731
    path_dev = lambda j: np.std(np.diff(np.unwrap(np.arctan2(*np.moveaxis(  # noqa: E731
        np.diff(j[:, ::6, 0, :2], axis=1), -1, 0)), axis=1), axis=1)).mean()
    assert path_dev(drunk) > 2 * path_dev(neutral)


def trunk_lean(j):
    """Mean forward lean (rad) of the pelvis -> neck line along the facing direction."""
    v = j[:, :, J["neck"]] - j[:, :, J["pelvis"]]
    fwd = (v[..., :2] * facing(j)).sum(-1)
    return np.arctan2(fwd, v[..., 2]).mean()


def test_composition_puts_the_arm_action_over_the_body_action():
    *_, jc, plans = clips("walk", n=6, style="neutral", upper="wave_right")
    # the lower body still walks forward with planted feet ...
    assert ((jc[:, 0, 0, 1] - jc[:, -1, 0, 1]) > 1.5).all()
    assert M.foot_skate(jc).mean() < 0.01
    # ... while the right hand waves above the head
    assert (jc[:, :, J["right_wrist"], 2] > jc[:, :, J["head"], 2]).mean() > 0.5
    assert all(compose.shown(p) == ("walk", "wave_right") for p in plans)
    *_, jb, _ = clips("balance", n=6, style="neutral", upper="punch")
    hand_fwd = ((jb[:, :, J["right_wrist"], :2] - jb[:, :, J["right_shoulder"], :2]) * facing(jb)).sum(-1)
    assert (hand_fwd.max(1) > 0.4).all()                      # punches reach forward
    assert (M.sole_heights(jb)[:, -1, 1] > 0.1).all()          # on one leg: right foot up


@pytest.fixture(scope="module")
def corpus():
    return generate(300, seed=11)


def test_generate_is_deterministic_and_prefix_stable(corpus):
    poses, trans, recs = corpus
    p2, t2, r2 = generate(40, seed=11)
    np.testing.assert_array_equal(p2, poses[:40])
    np.testing.assert_array_equal(t2, trans[:40])
    assert r2 == recs[:40]
    assert len({r["id"] for r in recs}) == 300
    # a block depends on (seed, block) only: rebuilt from scratch it is identical
    acts = ("walk", "clap", "jump_in_place")
    a = compose.generate_block(5, 3, actions=acts, n=48)
    b = compose.generate_block(5, 3, actions=acts, n=48)
    c = compose.generate_block(6, 3, actions=acts, n=48)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert [p.text for p in a[2]] == [p.text for p in b[2]]
    assert not np.allclose(a[0], c[0])


def test_records_labels_and_heldout_phrasings(corpus):
    poses, trans, recs = corpus
    assert set(r["split"] for r in recs) <= {"train", "val", "test"}
    held = language.heldout_phrasings()
    held_vps = {vp for k, v in held.items() if not k.startswith("style:") for vp in v}
    for r in recs:
        assert r["text"] and r["style"] in compose.STYLES
        body = r["params"]["body"]
        assert body in ACTIONS and (r["params"]["upper"] is None or r["params"]["upper"] in ACTIONS)
        if r["params"]["heldout_phrasing"]:
            assert r["split"] == "test"
        if r["split"] != "test":
            assert not any(r["text"] == f"{s} {vp}" for s in language.SUBJECTS for vp in held_vps)
    counts = {s: sum(r["split"] == s for r in recs) for s in ("train", "val", "test")}
    assert counts["train"] > 0.7 * len(recs) and 0 < counts["test"] < 0.25 * len(recs)
    # several actions, compositions and styles in a few hundred clips
    assert len({r["params"]["body"] for r in recs}) > 40
    assert any(r["params"]["upper"] for r in recs)
    assert len({r["style"] for r in recs}) == len(compose.STYLES)
    # clips are placed anywhere, facing anywhere
    assert np.ptp(trans[:, 0, 0]) > 2.0


def test_phrasings_are_rich_and_babel_like():
    counts = language.phrasing_count()
    assert len(ACTIONS) >= 40 and all(a in counts for a in ACTIONS)
    assert min(counts[a] for a in ACTIONS) >= 5
    babel = set(open("/work/shared/labels/babel60.txt").read().splitlines())
    assert all(language.PHRASES[a].babel in babel for a in ACTIONS)
    assert language.PHRASES["walk"].label == "walk" and language.PHRASES["run"].label == "run"
    assert len(compose.STYLES) - 1 >= 8


def test_write_corpus_roundtrip(tmp_path, corpus):
    out = tmp_path / "c"
    info = write_corpus(out, 40, seed=11, shard_size=16)
    assert info["complete"] and info["counts"]["clips"] == 40
    shards = sorted((out / "shards").glob("shard_*.npz"))
    assert [s.name for s in shards] == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    lines = (out / "manifest.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 40
    poses, trans, expect = corpus
    for k, s in enumerate(shards):
        with np.load(s) as z:
            assert z["poses"].dtype == np.float32 and z["poses"].shape[1:] == (60, 72)
            assert float(z["fps"]) == 30.0
            rows = [r for r in recs if r["shard"] == k]
            for r in rows:
                i = int(r["id"].split("-")[-1])
                np.testing.assert_array_equal(z["poses"][r["index"]], poses[i].reshape(60, 72))
                np.testing.assert_array_equal(z["trans"][r["index"]], trans[i])
                assert r["text"] == expect[i]["text"]
    meta = json.loads((out / "info.json").read_text())
    assert meta["seed"] == 11 and meta["heldout_phrasings"] and len(meta["actions"]) == len(ACTIONS)
    # the project's reader accepts it
    from mclip.data.dataset import read_manifest
    assert len(read_manifest(out)) == 40
    with pytest.raises(MclipError, match="not empty"):
        write_corpus(out, 40, seed=11, shard_size=16)


def test_interrupt_keeps_whole_shards_and_resume_finishes(tmp_path, monkeypatch):
    out = tmp_path / "c"
    real = writer._make_shard

    def flaky(job):
        if job[2] == 1:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(writer, "_make_shard", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_corpus(out, 40, seed=11, shard_size=16)
    assert [p.name for p in (out / "shards").iterdir()] == ["shard_00000.npz"]
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 16
    assert json.loads((out / "info.json").read_text())["complete"] is False
    monkeypatch.setattr(writer, "_make_shard", real)
    info = write_corpus(out, 40, seed=11, shard_size=16, resume=True)
    assert info["complete"] and info["counts"]["clips"] == 40
    ref = tmp_path / "ref"
    write_corpus(ref, 40, seed=11, shard_size=16)
    assert (ref / "manifest.jsonl").read_text() == (out / "manifest.jsonl").read_text()
    for k in range(3):
        a, b = np.load(ref / f"shards/shard_{k:05d}.npz"), np.load(out / f"shards/shard_{k:05d}.npz")
        np.testing.assert_array_equal(a["poses"], b["poses"])


def test_a_corpus_of_other_generator_code_is_flagged(tmp_path, caplog, monkeypatch):
    """info.json records the generator's code fingerprint; a corpus made by other code
    loads with one warning, and cannot be resumed (it would mix two generators)."""
    import logging
    from mclip.data.dataset import ClipDataset

    out = tmp_path / "c"
    write_corpus(out, 20, seed=3, shard_size=8)
    info = json.loads((out / "info.json").read_text())
    assert len(info["code"]) == 16 and info["code"] == writer.generator_code()
    with caplog.at_level(logging.WARNING):
        ClipDataset(out, split=None)
    assert not caplog.records
    info["code"] = "0123456789abcdef"            # as if made before a generator change
    (out / "info.json").write_text(json.dumps(info))
    with caplog.at_level(logging.WARNING):
        ClipDataset(out, split=None)
    assert len(caplog.records) == 1 and "other synth code (0123456789abcdef" in caplog.text
    # an interrupted corpus of other code is not continued
    real = writer._make_shard
    monkeypatch.setattr(writer, "_make_shard", lambda job: (_ for _ in ()).throw(KeyboardInterrupt)
                        if job[2] == 1 else real(job))
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        write_corpus(part, 20, seed=3, shard_size=8)
    monkeypatch.setattr(writer, "_make_shard", real)
    meta = json.loads((part / "info.json").read_text())
    (part / "info.json").write_text(json.dumps({**meta, "code": "0123456789abcdef"}))
    with pytest.raises(MclipError, match="same generator code"):
        write_corpus(part, 20, seed=3, shard_size=8, resume=True)


def test_cli_synth(tmp_path, capsys):
    from mclip.cli import main

    out = tmp_path / "c"
    main(["data", "synth", "--n", "12", "--seed", "11", "-o", str(out), "--shard-size", "8",
          "--actions", "stand,look_around", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["clips"] == 12 and summary["actions"] == 2
    recs = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["params"]["body"] for r in recs} <= {"stand", "look_around"}
    for bad in (["--actions", "walk,fly"], ["--n", "0"], ["--frames", "3"]):
        with pytest.raises(SystemExit) as e:
            main(["data", "synth", "--n", "5", "-o", str(tmp_path / "d"), *bad])
        assert e.value.code == 2
        assert capsys.readouterr().err.startswith("error:")
    assert not (tmp_path / "d").exists()
    main(["data", "synth", "--list", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert sum(len(v) for v in listed["actions"].values()) == len(ACTIONS) and "proud" in listed["styles"]


def test_mirror_and_place_match_rigid_transforms_of_the_joints():
    """output.mirror / output.place on (poses, trans) == reflecting / turning FK joints (scipy)."""
    from scipy.spatial.transform import Rotation

    from mclip.data.synth import output

    poses, trans, j, _ = clips("wave_right", n=3, style="happy")
    pm, tm = output.mirror(poses, trans)
    jm = fk(pm, tm)
    ref = j[:, :, list(skeleton.MIRROR)].copy()
    ref[..., 0] *= -1
    np.testing.assert_allclose(jm, ref, atol=2e-5)
    yaw = np.array([0.7, -2.0, 3.0])
    xy = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 0.0]])
    pp, tp = output.place(poses, trans, yaw, xy)
    jp = fk(pp, tp)
    for b in range(3):
        R = Rotation.from_euler("z", yaw[b]).as_matrix()
        start = j[b, 0, 0]
        expect = (j[b] - start) @ R.T + np.array([xy[b, 0], xy[b, 1], start[2]])
        np.testing.assert_allclose(jp[b], expect, atol=2e-5)


@pytest.mark.parametrize("action", ["walk", "sit_down", "jump_in_place", "wave_right", "crawl", "lie_down"])
def test_longer_clips_stay_plausible(action):
    poses, trans, j, _ = clips(action, n=3, frames=240)
    assert poses.shape == (3, 240, 24, 3)
    assert M.foot_skate(j).mean() < 0.01 and M.ground_penetration(j).max() < 0.02
    assert M.bone_length_error(j).max() < 1e-4 and M.joint_limit_violation(poses).max() == 0
