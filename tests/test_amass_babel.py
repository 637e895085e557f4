"""Real-data path: tiny AMASS npz + BABEL json (real schema) -> clips, texts, babel60, errors."""
import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation, Slerp

from mclip.data.amass import cut_clips, find_amass_file
from mclip.data.babel import PrepareConfig, normalize_class, prepare_babel, read_babel
from mclip.data.dataset import ClipDataset, read_manifest
from mclip.errors import MclipError
from mclip.label_sets import load_label_set

torch.set_num_threads(1)


def _amass_npz(path, fps, seconds, width, seed):
    """A smooth random AMASS-style take: poses (T, width), trans (T, 3), mocap_framerate."""
    rng = np.random.default_rng(seed)
    T = int(round(seconds * fps)) + 1
    t = np.arange(T)[:, None] / fps
    freq = rng.uniform(0.2, 1.0, size=(1, width))
    phase = rng.uniform(0, 2 * np.pi, size=(1, width))
    poses = 0.6 * np.sin(2 * np.pi * freq * t + phase)
    poses[:, :3] += np.array([math.pi / 2, 0, 0])  # roughly upright
    trans = np.concatenate([0.8 * t, 0.1 * np.sin(t), 0.9 + 0 * t], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, poses=poses, trans=trans, mocap_framerate=np.array(fps, dtype=np.float64),
             betas=np.zeros(16), gender="neutral")
    return poses, trans


def _label(proc, cats, start=None, end=None, raw=None):
    lab = {"raw_label": raw or proc.capitalize(), "proc_label": proc, "act_cat": cats, "seg_id": f"s-{proc}"}
    if start is not None:
        lab.update(start_t=start, end_t=end)
    return lab


@pytest.fixture()
def data(tmp_path):
    amass, babel = tmp_path / "amass", tmp_path / "babel"
    babel.mkdir()
    # SMPL-H (156) at 120 fps, 5 s -> 151 frames at 30 fps -> 2 clips (tail of 31 dropped)
    walk = _amass_npz(amass / "ACCAD" / "s1" / "walk_poses.npz", 120, 5.0, 156, 0)
    # SMPL (72) at 60 fps, 4.5 s -> 136 frames -> 2 clips; stored under BABEL's doubled path
    _amass_npz(amass / "CMU" / "CMU" / "02" / "02_05_poses.npz", 60, 4.5, 72, 1)
    # 25 fps, 3 s -> 91 frames at 30 fps -> 1 clip (frames fall between input frames)
    juggle = _amass_npz(amass / "KIT" / "3" / "juggle_poses.npz", 25, 3.0, 72, 2)
    train = {
        "11": {"babel_sid": 11, "feat_p": "ACCAD/ACCAD/s1/walk_poses.npz", "dur": 5.0,
               "seq_ann": {"labels": [_label("walk and turn", ["walk", "turn"])]},
               "frame_ann": {"labels": [
                   _label("walk", ["walk"], 0.0, 2.5),
                   _label("scratch head", ["scratch", "touching face"], 1.0, 1.5),
                   _label("turn around", ["turn"], 2.5, 3.2),
                   _label("transition", ["transition"], 3.2, 3.6),
                   _label("wave", ["hand movements", "greet"], 4.0, 5.0),  # touches clip 1's end only
               ]}},
        "13": {"babel_sid": 13, "feat_p": "BMLrub/BMLrub/x/missing_poses.npz", "dur": 3.0,
               "seq_ann": {"labels": [_label("stand", ["stand"])]}, "frame_ann": None},
        "14": {"babel_sid": 14, "feat_p": "KIT/KIT/3/juggle_poses.npz", "dur": 3.0,
               "seq_ann": {"labels": [_label("juggle balls", ["kneel"])]}, "frame_ann": None},
    }
    val = {"12": {"babel_sid": 12, "feat_p": "CMU/CMU/02/02_05_poses.npz", "dur": 4.5,
                  "seq_ann": {"labels": [_label("sit down", ["sit"]), _label("take/pick something up",
                                                                              ["take/pick something up"])]},
                  "frame_ann": None}}
    (babel / "train.json").write_text(json.dumps(train))
    (babel / "val.json").write_text(json.dumps(val))
    return amass, babel, tmp_path / "out", walk, juggle


def _by_id(root):
    return {r["id"]: r for r in read_manifest(root)}


def test_prepare_clip_texts_and_counts(data):
    amass, babel, out, *_ = data
    summary = prepare_babel(amass, babel, out)
    assert summary["sequences"] == 4 and summary["used"] == 3 and summary["missing"] == 1
    assert summary["clips"] == {"train": 3, "val": 2}
    recs = _by_id(out)
    assert sorted(recs) == ["babel11_00000", "babel11_00060", "babel12_00000", "babel12_00060", "babel14_00000"]
    assert recs["babel11_00000"]["text"] == "walk, scratch head"
    assert recs["babel11_00000"]["action"] == "walk"
    assert recs["babel11_00000"]["params"]["babel60"] == ["walk", "touching face", "scratch"]
    # clip 1 is [2 s, 4 s): walk (to 2.5) and turn around; "wave" starts exactly at 4 s
    assert recs["babel11_00060"]["text"] == "walk, turn around"
    # classes by overlap, longest first: turn (0.7 s) before walk (0.5 s)
    assert recs["babel11_00060"]["params"]["babel60"] == ["turn", "walk"]
    assert recs["babel11_00060"]["action"] == "turn"
    assert recs["babel12_00060"]["text"] == "sit down, take/pick something up"
    assert recs["babel12_00000"]["split"] == "val" and recs["babel11_00000"]["split"] == "train"
    assert recs["babel14_00000"]["action"] is None  # kneel is not a BABEL-60 class
    assert len(ClipDataset(out, "train")) == 3 and len(ClipDataset(out, "val")) == 2
    info = json.loads((out / "info.json").read_text())
    assert info["clips"] == 5 and info["frames"] == 60


def test_resampling_to_30fps(data):
    amass, babel, out, walk, juggle = data
    prepare_babel(amass, babel, out)
    recs = _by_id(out)
    shards = {}

    def clip(rid):
        r = recs[rid]
        if r["shard"] not in shards:
            shards[r["shard"]] = np.load(out / "shards" / f"shard_{r['shard']:05d}.npz")
        z = shards[r["shard"]]
        return z["poses"][r["index"]].reshape(60, 24, 3), z["trans"][r["index"]]

    # 120 fps -> 30 fps: clip frame k of the clip starting at 60 is input frame 4 (60 + k)
    poses, trans = clip("babel11_00060")
    src_p, src_t = walk
    for k in (0, 17, 59):
        src = src_p[4 * (60 + k)].reshape(52, 3)
        for j_out, j_in in ((0, 0), (5, 5), (21, 21), (22, 22), (23, 37)):  # SMPL-H hands -> 22/23
            R_got = Rotation.from_rotvec(poses[k, j_out]).as_matrix()
            R_exp = Rotation.from_rotvec(src[j_in]).as_matrix()
            np.testing.assert_allclose(R_got, R_exp, atol=1e-5)
        np.testing.assert_allclose(trans[k], src_t[4 * (60 + k)], atol=1e-5)

    # 25 fps -> 30 fps: frames between input frames, checked against scipy's Slerp
    poses, trans = clip("babel14_00000")
    src_p, src_t = juggle
    t_in = np.arange(len(src_p)) / 25.0
    for j in (0, 7, 18):
        slerp = Slerp(t_in, Rotation.from_rotvec(src_p[:, 3 * j:3 * j + 3]))
        expected = slerp(np.arange(60) / 30.0).as_matrix()
        np.testing.assert_allclose(Rotation.from_rotvec(poses[:, j]).as_matrix(), expected, atol=1e-5)
    np.testing.assert_allclose(trans[:, 0], np.interp(np.arange(60) / 30.0, t_in, src_t[:, 0]), atol=1e-5)


def test_babel60_option(data):
    amass, babel, out, *_ = data
    summary = prepare_babel(amass, babel, out, PrepareConfig(babel60=True))
    recs = _by_id(out)
    assert "babel14_00000" not in recs and summary["dropped_no_label"] == 1
    classes = set(load_label_set("babel60"))
    for r in recs.values():
        for name in r["text"].split(", "):
            assert name in classes
    assert recs["babel11_00000"]["text"] == "walk, touching face, scratch"
    assert recs["babel12_00000"]["text"] == "sit, take/pick something up"
    assert recs["babel12_00000"]["action"] == "sit"


def test_class_names_match_loosely():
    assert normalize_class("Interact with/use object") == normalize_class("interact with / use object")
    assert normalize_class("  take / pick  something up") == "take/pick something up"


def test_cut_clips_and_find_file(tmp_path):
    p = np.zeros((185, 24, 3), np.float32)
    t = np.arange(185 * 3, dtype=np.float32).reshape(185, 3)
    clips = cut_clips(p, t)
    assert [c.start for c in clips] == [0, 60, 120]
    np.testing.assert_array_equal(clips[1].trans, t[60:120])
    assert [c.start for c in cut_clips(p, t, frames=60, stride=30)] == [0, 30, 60, 90, 120]
    assert cut_clips(p[:59], t[:59]) == []
    f = tmp_path / "CMU" / "01" / "01_01_poses.npz"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    assert find_amass_file(tmp_path, "CMU/CMU/01/01_01_poses.npz") == f
    assert find_amass_file(tmp_path, "CMU/01/01_01_poses.npz") == f
    assert find_amass_file(tmp_path, "CMU/CMU/01/nope.npz") is None


def test_bad_inputs(data, tmp_path):
    amass, babel, out, *_ = data
    with pytest.raises(MclipError, match="AMASS folder not found"):
        prepare_babel(tmp_path / "nope", babel, out)
    with pytest.raises(MclipError, match="BABEL folder not found"):
        prepare_babel(amass, tmp_path / "nobabel", out)
    with pytest.raises(MclipError, match="none of the 4 BABEL sequences"):
        prepare_babel(tmp_path / "babel", babel, out)  # a folder without the AMASS files
    assert not out.exists()
    # a corrupt AMASS file is skipped and reported
    (amass / "KIT" / "3" / "juggle_poses.npz").write_bytes(b"garbage")
    summary = prepare_babel(amass, babel, out)
    assert summary["used"] == 2 and "juggle_poses.npz" in summary["unreadable"][0]
    assert summary["unreadable_count"] == 1
    with pytest.raises(MclipError, match="already exists"):
        prepare_babel(amass, babel, out)
    (babel / "val.json").write_text("{not json")
    with pytest.raises(MclipError, match=r"val.json: not valid JSON"):
        read_babel(babel)
    (babel / "val.json").write_text(json.dumps({"5": {"dur": 2.0}}))
    with pytest.raises(MclipError, match="sequence 5 has no 'feat_p'"):
        read_babel(babel)
    (babel / "val.json").unlink()
    with pytest.raises(MclipError, match="val.json: missing"):
        read_babel(babel)


def test_label_sets(tmp_path):
    b60, b120 = load_label_set("babel60"), load_label_set("BABEL120")
    assert len(b60) == 60 and len(b120) == 120 and b120[:60] == b60
    assert b60[:3] == ["walk", "stand", "hand movements"]
    f = tmp_path / "labels.txt"
    f.write_text("# mine\nwalk\n\njump\nwalk\n")
    assert load_label_set(str(f)) == ["walk", "jump"]
    assert load_label_set("run, sit down ,") == ["run", "sit down"]
    with pytest.raises(MclipError, match="label file not found"):
        load_label_set(str(tmp_path / "none.txt"))
    with pytest.raises(MclipError, match="not babel60"):
        load_label_set("walk")


def test_cli_prepare(data, capsys):
    from mclip.cli import main

    amass, babel, out, *_ = data
    main(["data", "prepare", "--amass-dir", str(amass), "--babel-dir", str(babel), "-o", str(out),
          "--babel60", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["clips"] == {"train": 2, "val": 2} and summary["babel60"] is True
    assert len(ClipDataset(out, split=None)) == 4
    with pytest.raises(SystemExit) as e:
        main(["data", "prepare", "--amass-dir", str(amass), "--babel-dir", str(babel), "-o", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "already exists" in err[0]


def test_transitions_kept_on_request(data):
    amass, babel, out, *_ = data
    prepare_babel(amass, babel, out, PrepareConfig(drop_transitions=False))
    assert _by_id(out)["babel11_00060"]["text"] == "walk, turn around, transition"
