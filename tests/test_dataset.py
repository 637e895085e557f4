"""ClipDataset / write_dataset: round trip through the on-disk format, splits, and bad input."""
import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mclip import skeleton
from mclip.data.dataset import ClipDataset, DatasetWriter, collate, read_manifest, write_dataset
from mclip.errors import MclipError
from mclip.representation import from_features

torch.set_num_threads(1)
T = 8


def _clips(n, seed=0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 0.2, size=(n, T, 24, 3))
    yaws = rng.uniform(-math.pi, math.pi, size=n)
    for i in range(n):
        root = Rotation.from_euler("z", yaws[i]) * Rotation.from_matrix(skeleton.STAND.astype(np.float64))
        poses[i, :, 0] = (root * Rotation.from_rotvec(rng.normal(0, 0.05, size=(T, 3)))).as_rotvec()
    trans = rng.normal(0, 1.0, size=(n, 1, 3)) + np.cumsum(rng.normal(0, 0.03, size=(n, T, 3)), axis=1)
    records = [{"id": f"c{i}", "text": f"clip number {i}", "action": f"act{i % 3}",
                "split": ["train", "train", "val", "test"][i % 4], "params": {"i": i}} for i in range(n)]
    return poses.reshape(n, T, 72).astype(np.float32), trans.astype(np.float32), records


@pytest.fixture()
def ds_dir(tmp_path):
    poses, trans, records = _clips(10)
    out = write_dataset(tmp_path / "ds", poses, trans, records, shard_size=4, info={"generator": "test"})
    return out, poses, trans, records


def test_written_files_read_back_by_numpy_and_json(ds_dir):
    out, poses, trans, records = ds_dir
    shards = sorted((out / "shards").glob("shard_*.npz"))
    assert [p.name for p in shards] == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(lines) == 10
    for i, rec in enumerate(lines):
        with np.load(out / "shards" / f"shard_{rec['shard']:05d}.npz") as z:
            assert float(z["fps"]) == 30.0
            np.testing.assert_array_equal(z["poses"][rec["index"]], poses[i])
            np.testing.assert_array_equal(z["trans"][rec["index"]], trans[i])
        assert rec["text"] == records[i]["text"] and rec["split"] == records[i]["split"]
    info = json.loads((out / "info.json").read_text())
    assert info["generator"] == "test" and info["clips"] == 10
    assert info["splits"] == {"train": 6, "val": 2, "test": 2}
    # nothing temporary left beside it
    assert [p.name for p in out.parent.iterdir()] == ["ds"]


def test_splits_and_items(ds_dir):
    out, poses, trans, records = ds_dir
    train = ClipDataset(out, "train")
    val = ClipDataset(out, split="val")
    every = ClipDataset(out, split=None)
    assert (len(train), len(val), len(every)) == (6, 2, 10)
    assert [r["id"] for r in val.records] == ["c2", "c6"]
    item = val[1]
    assert item["features"].shape == (T, 25, 6) and item["features"].dtype == torch.float32
    assert item["text"] == "clip number 6" and item["action"] == "act0" and item["index"] == 1
    assert len(ClipDataset(out, ["val", "test"])) == 4


def test_features_are_canonicalized_clip(ds_dir):
    """FK of the stored features == FK of the original clip, rotated by a hand-built Rz and shifted."""
    out, poses, trans, records = ds_dir
    ds = ClipDataset(out, split=None)
    for i in (0, 7):
        R = torch.tensor(Rotation.from_rotvec(poses[i].reshape(-1, 3)).as_matrix().reshape(T, 24, 3, 3))
        J = skeleton.forward_kinematics(R, torch.tensor(trans[i], dtype=torch.float64)).numpy()
        Rf, tf = from_features(ds.features[i].double())
        Jf = skeleton.forward_kinematics(Rf, tf).numpy()
        f = R[0, 0][:, 2].numpy()  # body forward (+z) in the world, frame 0
        yaw = math.atan2(f[0], -f[1])
        c, s = math.cos(-yaw), math.sin(-yaw)
        expected = J @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
        expected[..., :2] -= expected[0, 0, :2]
        np.testing.assert_allclose(Jf, expected, atol=2e-5)


def test_collate_and_dataloader(ds_dir):
    out, *_ = ds_dir
    ds = ClipDataset(out)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["features"].shape == (3, T, 25, 6)
    assert batch["index"].tolist() == [0, 1, 2] and len(batch["text"]) == 3
    torch.testing.assert_close(batch["features"][2], ds.features[2])


def test_text_phrasings_drawn(tmp_path):
    poses, trans, records = _clips(2)
    records[0]["text"] = ["a person walks", "someone walks forward"]
    write_dataset(tmp_path / "d", poses, trans, records)
    ds = ClipDataset(tmp_path / "d", split=None)
    seen = {ds[0]["text"] for _ in range(60)}
    assert seen == {"a person walks", "someone walks forward"}
    assert ds[1]["text"] == "clip number 1"


def test_streaming_writer_and_atomicity(tmp_path):
    poses, trans, records = _clips(6)
    with DatasetWriter(tmp_path / "d", shard_size=4) as w:
        w.add(poses[:3], trans[:3], records[:3])
        w.add(poses[3:], trans[3:], records[3:])
        assert not (tmp_path / "d").exists()  # only appears when complete
    assert len(read_manifest(tmp_path / "d")) == 6
    with pytest.raises(RuntimeError):
        with DatasetWriter(tmp_path / "e") as w:
            w.add(poses, trans, records)
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    with pytest.raises(MclipError, match="already exists"):
        write_dataset(tmp_path / "d", poses, trans, records)
    write_dataset(tmp_path / "d", poses[:2], trans[:2], records[:2], overwrite=True)
    assert len(read_manifest(tmp_path / "d")) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_bad_datasets(tmp_path, ds_dir):
    out, *_ = ds_dir
    with pytest.raises(MclipError, match="not found"):
        ClipDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MclipError, match="manifest.jsonl: missing"):
        ClipDataset(tmp_path / "empty")
    with pytest.raises(MclipError, match="no clips in split"):
        ClipDataset(out, split="holdout")

    manifest = (out / "manifest.jsonl").read_text().splitlines()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "shards").symlink_to(out / "shards")
    (bad / "manifest.jsonl").write_text("\n".join(manifest[:2] + ["{not json"]) + "\n")
    with pytest.raises(MclipError, match=r"manifest.jsonl:3: not valid JSON"):
        ClipDataset(bad)
    rec = json.loads(manifest[0])
    rec["index"] = 99
    (bad / "manifest.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(MclipError, match="index 99 is past the end"):
        ClipDataset(bad)
    rec["index"], rec["shard"] = 0, 7
    (bad / "manifest.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(MclipError, match="shard_00007.npz: shard file missing"):
        ClipDataset(bad)


def test_corrupt_shards(tmp_path):
    poses, trans, records = _clips(2)
    d = write_dataset(tmp_path / "d", poses, trans, records)
    shard = d / "shards" / "shard_00000.npz"
    shard.write_bytes(shard.read_bytes()[:100])  # truncated
    with pytest.raises(MclipError, match="unreadable shard"):
        ClipDataset(d, split=None)
    np.savez(shard, poses=poses)
    with pytest.raises(MclipError, match="missing key 'trans'"):
        ClipDataset(d, split=None)
    np.savez(shard, poses=poses, trans=trans, fps=np.float32(120))
    with pytest.raises(MclipError, match="fps is 120"):
        ClipDataset(d, split=None)
    np.savez(shard, poses=poses[..., :60], trans=trans)
    with pytest.raises(MclipError, match=r"\(N, T, 72\)"):
        ClipDataset(d, split=None)
    p = poses.copy()
    p[0, 0, 0] = np.nan
    np.savez(shard, poses=p, trans=trans)
    with pytest.raises(MclipError, match="NaN"):
        ClipDataset(d, split=None)
