"""Training loop, resume equality, Ctrl-C, checkpoints and their corruption errors.

A tiny model (d 32, 1+1 layers) and a tiny deterministic text backbone keep each run
to a second or two; the data are small sinusoidal motions written in the real on-disk
format.
"""
from __future__ import annotations

import hashlib
import json
import signal

import numpy as np
import pytest
import torch

from mclip.checkpoint import (export_for_release, load_checkpoint, save_checkpoint,
                              write_checksum)
from mclip.cli import main as cli_main
from mclip.data.dataset import write_dataset
from mclip.errors import MclipError
from mclip.model import ModelConfig, MotionCLIP
from mclip.loop import epoch_batches
from mclip.distributed import Dist
from mclip.train import TrainConfig, train
from mclip.train_config import load_train_config

torch.set_num_threads(1)

ACTIONS = ["walk", "jump", "wave", "sit down"]


class HashBackbone:
    """A stand-in text encoder: each text maps to a fixed random unit vector."""

    name = "hash"
    identity = "hash:test"
    dim = 16
    has_image = False

    def encode_text(self, texts):
        out = []
        for t in texts:
            seed = int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)
            out.append(torch.randn(self.dim, generator=torch.Generator().manual_seed(seed)))
        return torch.nn.functional.normalize(torch.stack(out), dim=-1)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "ds"
    rng = np.random.default_rng(0)
    n = 48
    t = np.linspace(0, 2, 60)[None, :, None]
    poses = (rng.uniform(0, 0.4, (n, 1, 72)) * np.sin(2 * np.pi * t + rng.uniform(0, 6, (n, 1, 72))))
    poses[:, :, 0] = np.pi / 2                       # upright
    trans = np.zeros((n, 60, 3))
    trans[..., 2] = 0.9
    trans[..., 0] = rng.uniform(-1, 1, (n, 1)) * t[..., 0]
    recs = [{"text": [ACTIONS[i % 4], ACTIONS[i % 4] + " slowly"], "action": ACTIONS[i % 4],
             "split": "val" if i % 6 == 0 else "train"} for i in range(n)]
    write_dataset(root, poses.astype(np.float32), trans.astype(np.float32), recs)
    return root


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg") / "tiny.json"
    p.write_text(json.dumps({"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                             "ff_size": 64, "dropout": 0.1, "latent_dim": 16, "backbone": "hash"}))
    return str(p)


def cfg_for(data_dir, tiny_model, out, **kw) -> TrainConfig:
    base = dict(data=str(data_dir), out=str(out), model=tiny_model, batch_size=8, lr=1e-3,
                ckpt_every=3, val_every=4, sample_every=0, log_every=1, progress=False, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_batch_order_is_a_pure_function_of_seed_and_epoch():
    a = epoch_batches(40, 8, seed=1, epoch=2, d=Dist())
    assert a == epoch_batches(40, 8, seed=1, epoch=2, d=Dist())
    assert a != epoch_batches(40, 8, seed=1, epoch=3, d=Dist())
    assert len(a) == 5 and sorted(sum(a, [])) == list(range(40))
    # two ranks split each global batch of 16 between them
    r0 = epoch_batches(40, 8, 1, 2, Dist(0, 2, 0))
    r1 = epoch_batches(40, 8, 1, 2, Dist(1, 2, 0))
    assert not set(sum(r0, [])) & set(sum(r1, []))


def test_training_lowers_the_loss_and_writes_a_run(data_dir, tiny_model, tmp_path):
    out = tmp_path / "run"
    res = train(cfg_for(data_dir, tiny_model, out, steps=40), backbone=HashBackbone())
    assert res.step == 40 and not res.interrupted
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "total" in r]
    assert steps[-1]["total"] < steps[0]["total"] / 2
    assert {"rot", "vel", "pos", "text", "recon"} <= set(steps[0])
    assert any("val_total" in r for r in log)
    model, mcfg, meta = load_checkpoint(out / "last.pt")
    assert meta["step"] == 40 and mcfg.latent_dim == 16 and mcfg.backbone == "hash"
    assert meta["train_config"]["steps"] == 40
    # a second run into the same folder without --resume is refused, not overwritten
    with pytest.raises(MclipError, match="pass --resume"):
        train(cfg_for(data_dir, tiny_model, out, steps=40), backbone=HashBackbone())


def test_resume_gives_the_same_weights(data_dir, tiny_model, tmp_path):
    straight = train(cfg_for(data_dir, tiny_model, tmp_path / "a", steps=10), backbone=HashBackbone())
    part = train(cfg_for(data_dir, tiny_model, tmp_path / "b", steps=10), backbone=HashBackbone(),
                 max_steps_this_call=5)
    assert part.step == 5
    resumed = train(cfg_for(data_dir, tiny_model, tmp_path / "b"), resume=True, backbone=HashBackbone())
    assert resumed.step == straight.step == 10
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    # and it did train: weights moved from their initialisation
    fresh = MotionCLIP(ModelConfig.from_dict(a["model_config"])).state_dict()
    assert any(not torch.equal(fresh[k], a["model"][k]) for k in fresh)


def test_a_moved_run_resumes_where_it_is_now(data_dir, tiny_model, tmp_path):
    import shutil

    train(cfg_for(data_dir, tiny_model, tmp_path / "a", steps=10), backbone=HashBackbone(),
          max_steps_this_call=5)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = (tmp_path / "a" / "last.pt").read_bytes()
    resumed = train(cfg_for(data_dir, tiny_model, tmp_path / "b"), resume=True, backbone=HashBackbone())
    assert resumed.step == 10 and resumed.checkpoint == tmp_path / "b" / "last.pt"
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=False)["step"] == 10
    # the folder it was copied from is left as it was
    assert (tmp_path / "a" / "last.pt").read_bytes() == before


def test_ctrl_c_saves_and_resume_continues(data_dir, tiny_model, tmp_path, monkeypatch):
    import mclip.train as tr

    calls = {"n": 0}
    real = tr.motionclip_loss

    def loss_then_ctrl_c(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            signal.raise_signal(signal.SIGINT)      # as if the user pressed Ctrl-C in step 4
        return real(*a, **k)

    monkeypatch.setattr(tr, "motionclip_loss", loss_then_ctrl_c)
    out = tmp_path / "run"
    res = train(cfg_for(data_dir, tiny_model, out, steps=20), backbone=HashBackbone())
    assert res.interrupted and res.step == 4            # step 4 finished, then stopped
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 4
    monkeypatch.setattr(tr, "motionclip_loss", real)
    assert train(cfg_for(data_dir, tiny_model, out), resume=True, backbone=HashBackbone()).step == 20


def test_train_config_from_toml_and_json(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('batch_size = 20\nlr = 0.0002\nmodel = "paper"\n')
    c = load_train_config(p, steps=7)
    assert (c.batch_size, c.lr, c.model, c.steps) == (20, 2e-4, "paper", 7)
    j = tmp_path / "t.json"
    j.write_text('{"batch_size": 20, "colour": 1}')
    with pytest.raises(MclipError, match="unknown training settings"):
        load_train_config(j)


def test_cli_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--resume"])
    assert e.value.code == 2
    assert "nothing to resume" in capsys.readouterr().err
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as e:
        cli_main(["train", "--out", str(tmp_path / "r"), "--config", str(bad)])
    assert e.value.code == 2 and "cannot parse" in capsys.readouterr().err


# ------------------------------------------------------------------ checkpoints


@pytest.fixture()
def saved(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64, latent_dim=16,
                      backbone="minilm")
    model = MotionCLIP(cfg)
    opt = torch.optim.AdamW(model.parameters())
    path = save_checkpoint(tmp_path / "weights" / "x.pt", model, cfg, {"lr": 1}, opt, 7,
                           {"note": "hi"}, checksum=True)
    return path, model


def test_checkpoint_round_trip(saved):
    path, model = saved
    assert not list(path.parent.glob("*.tmp"))                      # no temp files left
    loaded, cfg, meta = load_checkpoint(path, backbone="minilm")
    assert meta["step"] == 7 and meta["extra"]["note"] == "hi" and meta["train_config"] == {"lr": 1}
    x = torch.randn(2, 60, 25, 6)
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(x)[0], model(x)[0])
    line = (path.parent / "x.pt.sha256").read_text()
    assert line.split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_or_truncated_weights_are_refused(saved):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])                          # truncated download
    with pytest.raises(MclipError, match=r"x\.pt: checksum mismatch"):
        load_checkpoint(path)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF                                   # one corrupt byte
    path.write_bytes(bytes(flipped))
    with pytest.raises(MclipError, match="checksum mismatch"):
        load_checkpoint(path)
    # without a checksum file a truncated file is still a clear error
    (path.parent / "x.pt.sha256").unlink()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MclipError, match="not a readable mclip checkpoint"):
        load_checkpoint(path)


def _broken(state, change) -> dict:
    s = {k: v for k, v in state.items()}
    change(s)
    return s


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("model"), "model is not a dict of named tensors"),
    (lambda s: s.pop("model_config"), "has no model_config"),
    (lambda s: s.update(model=[1, 2]), "model is not a dict of named tensors"),
    (lambda s: s.update(model_config="d 32"), "expected a table of settings"),
    (lambda s: s["model_config"].update(d_model=-32), "d_model must be at least 1, got -32"),
    (lambda s: s["model_config"].update(d_model="32"), "d_model must be int, got '32'"),
    (lambda s: s["model_config"].update(dropout=1.5), "dropout must be in"),
    (lambda s: s["model_config"].update(heads=3), "not a multiple of heads"),
    (lambda s: s["model"].pop("decoder.head.bias"), r"missing \['decoder.head.bias'\]"),
    (lambda s: s["model"].update(extra=torch.zeros(1)), r"unexpected \['extra'\]"),
    (lambda s: s["model"].update({"decoder.head.bias": torch.zeros(3)}), r"decoder.head.bias is \(3,\)"),
])
def test_malformed_checkpoints_are_one_line_errors(saved, tmp_path, change, message):
    path, _ = saved
    state = torch.load(path, weights_only=True)
    state["model_config"] = dict(state["model_config"])
    state["model"] = dict(state["model"])
    bad = tmp_path / "bad.pt"
    torch.save(_broken(state, change), bad)
    with pytest.raises(MclipError, match=message) as e:
        load_checkpoint(bad)
    assert "\n" not in str(e.value) and str(e.value).startswith(str(bad))


def test_wrong_files_are_user_errors(saved, tmp_path):
    path, _ = saved
    with pytest.raises(MclipError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(MclipError, match="not an mclip checkpoint"):
        load_checkpoint(other)
    import argparse

    pickled = tmp_path / "pickled.pt"             # arbitrary objects are never unpickled
    torch.save({"format": "mclip-checkpoint", "x": argparse.Namespace(a=1)}, pickled)
    with pytest.raises(MclipError, match="not a readable mclip checkpoint"):
        load_checkpoint(pickled)
    with pytest.raises(MclipError, match="trained against backbone 'minilm', not 'clip'"):
        load_checkpoint(path, backbone="clip")


def test_release_export_is_half_precision_and_loads(saved, tmp_path):
    path, model = saved
    out = export_for_release(path, tmp_path / "release.pt", card={"data": "test"})
    raw = torch.load(out, weights_only=False)
    assert raw["optimizer"] is None and raw["extra"]["card"] == {"data": "test"}
    assert all(v.dtype == torch.float16 for v in raw["model"].values() if v.is_floating_point())
    assert out.stat().st_size < 0.6 * path.stat().st_size           # fp16: about half
    loaded, cfg, _ = load_checkpoint(out)                             # verified by its .sha256
    x = torch.randn(2, 60, 25, 6)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(x)[0], model(x)[0], atol=2e-2)


def test_learning_rate_schedule():
    from mclip.loop import learning_rate

    c = TrainConfig(lr=1e-3, warmup_steps=10, lr_schedule="cosine")
    assert learning_rate(c, 0, 110) == pytest.approx(1e-4)            # warm-up 1/10
    assert learning_rate(c, 9, 110) == pytest.approx(1e-3)
    assert learning_rate(c, 10, 110) == pytest.approx(1e-3)           # cosine starts at lr
    assert learning_rate(c, 60, 110) == pytest.approx(1e-3 * (0.1 + 0.45))  # half way
    assert learning_rate(c, 110, 110) == pytest.approx(1e-4)          # ends at lr / 10
    assert learning_rate(TrainConfig(lr=1e-4), 500, 1000) == 1e-4      # the paper: constant
    with pytest.raises(MclipError, match="lr_schedule"):
        learning_rate(TrainConfig(lr_schedule="steps"), 0, 10)


def test_image_loss_with_a_tiny_clip(data_dir, tiny_model, tmp_path):
    """The image path for real: open_clip model (tiny, random weights), rendered frames."""
    from mclip.backbones import load_backbone, register_tiny_clip
    from mclip.data.dataset import ClipDataset
    from mclip.render import pose_images
    from mclip.representation import from_features
    from mclip.skeleton import forward_kinematics

    clip = load_backbone("clip", model_name=register_tiny_clip(), pretrained=None)
    out = tmp_path / "run"
    res = train(cfg_for(data_dir, tiny_model, out, steps=3, val_every=100), backbone=clip)
    # a random tiny image tower cannot match the motions: the image term is there, and > 0
    assert "image" in res.last_losses and 0.05 < res.last_losses["image"] < 2
    assert load_checkpoint(out / "last.pt")[1].latent_dim == clip.dim
    cached = torch.load(next((out / "cache").glob("image_*.pt")))
    ds = ClipDataset(data_dir, "train")
    assert cached.shape == (len(ds), clip.dim)
    # each cached embedding is the image tower's view of one frame of its own clip
    for k in (0, 5):
        rot, tr = from_features(ds.features[k])
        every_frame = clip.encode_image(pose_images(forward_kinematics(rot, tr).numpy()))
        cos = every_frame @ cached[k] / (every_frame.norm(dim=-1) * cached[k].norm())
        assert cos.max().item() == pytest.approx(1.0, abs=1e-4)


# ------------------------------------------------------------------ centred text targets


def test_center_text_aligns_to_the_training_texts_mean(data_dir, tmp_path):
    """With center_text the run stores the mean text embedding over its training clips,
    saves it with the weights, and text_latent is normalize(e - mean)."""
    cfg_path = tmp_path / "centred.json"
    cfg_path.write_text(json.dumps({"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                                    "ff_size": 64, "latent_dim": 16, "backbone": "hash",
                                    "center_text": True}))
    out = tmp_path / "run"
    train(cfg_for(data_dir, str(cfg_path), out, steps=4), backbone=HashBackbone())
    model, mcfg, _ = load_checkpoint(out / "last.pt")
    assert mcfg.center_text
    # independent truth: the manifest's train-split texts through the backbone, averaged
    # over the two phrasings each clip draws from
    recs = [json.loads(l) for l in (data_dir / "manifest.jsonl").read_text().splitlines()]
    train_texts = [r["text"] for r in recs if r["split"] == "train"]
    per_clip = torch.stack([HashBackbone().encode_text(t).mean(0) for t in train_texts])
    expected = per_clip.mean(0)
    # each clip's phrasing was drawn at random: the mean is within sampling noise of the truth
    assert torch.allclose(model.text_mean, expected, atol=0.15)
    e = HashBackbone().encode_text(["walk", "jump"])
    want = torch.nn.functional.normalize(e - model.text_mean, dim=-1)
    assert torch.allclose(model.text_latent(e), want, atol=1e-6)
    # without center_text, text_latent only normalises
    plain = MotionCLIP(ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64,
                                   latent_dim=16))
    assert torch.allclose(plain.text_latent(e), e, atol=1e-6)
    # survives the fp16 release export
    rel, _, _ = load_checkpoint(export_for_release(out / "last.pt", tmp_path / "rel.pt"))
    assert torch.allclose(rel.text_mean, model.text_mean, atol=2e-3)


def test_init_from_a_motion_only_run_gets_the_text_mean(data_dir, tmp_path):
    """Stage two of the shipped recipe: weights trained without the text loss have no text
    mean (zeros); a --init run with the text loss computes it, as a fresh run would."""
    cfg_path = tmp_path / "centred.json"
    cfg_path.write_text(json.dumps({"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                                    "ff_size": 64, "latent_dim": 16, "backbone": "hash",
                                    "center_text": True}))
    motion_only = train(cfg_for(data_dir, str(cfg_path), tmp_path / "a", steps=3, text_loss=False),
                        backbone=HashBackbone())
    assert not load_checkpoint(motion_only.checkpoint)[0].text_mean.any()
    staged = train(cfg_for(data_dir, str(cfg_path), tmp_path / "b", steps=1,
                           init=str(motion_only.checkpoint)), backbone=HashBackbone())
    fresh = train(cfg_for(data_dir, str(cfg_path), tmp_path / "c", steps=1), backbone=HashBackbone())
    staged_mean = load_checkpoint(staged.checkpoint)[0].text_mean
    assert staged_mean.norm() > 0.1
    assert torch.allclose(staged_mean, load_checkpoint(fresh.checkpoint)[0].text_mean, atol=1e-6)


def test_export_command_writes_a_verified_half_precision_release(saved, tmp_path, capsys):
    path, model = saved
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"mpjpe_mm": 12.5}))
    out = tmp_path / "rel" / "m.pt"
    out.parent.mkdir()
    cli_main(["export", str(path), "-o", str(out), "--card", str(card), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    loaded, _, meta = load_checkpoint(out)
    assert meta["extra"]["card"] == {"mpjpe_mm": 12.5} and meta["extra"]["dtype"] == "float16"
    # bad input: one line, exit 2, nothing written
    for argv in (["export", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "x.pt")],
                 ["export", str(path), "-o", str(tmp_path / "x.bin")]):
        with pytest.raises(SystemExit) as e:
            cli_main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "x.bin").exists()


def test_text_recon_term_and_init_from_a_checkpoint(data_dir, tiny_model, tmp_path):
    """--lambda-text-recon logs and lowers the reconstruction from text latents; --init
    starts from another run's weights (and refuses a different model config)."""
    base = train(cfg_for(data_dir, tiny_model, tmp_path / "a", steps=6), backbone=HashBackbone())
    out = tmp_path / "b"
    train(cfg_for(data_dir, tiny_model, out, steps=60, lambda_text_recon=1.0,
                  init=str(base.checkpoint)), backbone=HashBackbone())
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "text_recon" in r]
    assert len(steps) == 60
    first, last = np.mean([r["text_recon"] for r in steps[:5]]), np.mean([r["text_recon"] for r in steps[-5:]])
    assert last < first / 2
    # with lr 0 a run started from --init ends with exactly the init weights
    frozen = train(cfg_for(data_dir, tiny_model, tmp_path / "z", steps=2, lr=0.0,
                           init=str(base.checkpoint)), backbone=HashBackbone())
    a, _, _ = load_checkpoint(base.checkpoint)
    b, _, _ = load_checkpoint(frozen.checkpoint)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"d_model": 16, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                                 "ff_size": 32, "latent_dim": 16, "backbone": "hash"}))
    with pytest.raises(MclipError, match="model config differs"):
        train(cfg_for(data_dir, str(other), tmp_path / "c", steps=2, init=str(base.checkpoint)),
              backbone=HashBackbone())


def test_fresh_run_standardises_with_its_training_clips(data_dir, tmp_path):
    cfg_path = tmp_path / "dyn.json"
    cfg_path.write_text(json.dumps({"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2,
                                    "ff_size": 64, "latent_dim": 16, "backbone": "hash",
                                    "z_pathway": "frames", "readout": "frames", "time_basis": 4,
                                    "standardize": True}))
    res = train(cfg_for(data_dir, str(cfg_path), tmp_path / "a", steps=2), backbone=HashBackbone())
    model, _, _ = load_checkpoint(res.checkpoint)
    from mclip.data.dataset import ClipDataset

    flat = ClipDataset(data_dir, "train").features.reshape(-1, 25, 6)
    assert torch.allclose(model.feature_mean, flat.mean(0), atol=1e-5)
    assert torch.allclose(model.feature_std, flat.std(0).clamp(min=0.01), atol=1e-5)
    # and the release export keeps them exactly (float32)
    rel, _, _ = load_checkpoint(export_for_release(res.checkpoint, tmp_path / "rel.pt"))
    assert torch.equal(rel.feature_std, model.feature_std)


def test_init_carries_paper_form_weights_into_the_dynamics_form(data_dir, tiny_model, tmp_path):
    """--init from the paper's form (one memory token, raw features) into the dynamics
    form: the same function at the start (mclip.upgrade), then the run trains it."""
    base = train(cfg_for(data_dir, tiny_model, tmp_path / "a", steps=4), backbone=HashBackbone())
    dyn = tmp_path / "dyn.json"
    cfg = json.loads(open(tiny_model).read())
    cfg.update(z_pathway="frames", readout="frames", time_basis=4, standardize=True)
    dyn.write_text(json.dumps(cfg))
    frozen = train(cfg_for(data_dir, str(dyn), tmp_path / "b", steps=1, lr=0.0,
                           init=str(base.checkpoint)), backbone=HashBackbone())
    old, _, _ = load_checkpoint(base.checkpoint)
    new, _, _ = load_checkpoint(frozen.checkpoint)
    from mclip.data.dataset import ClipDataset

    x = ClipDataset(data_dir, "val").features
    with torch.no_grad():
        y0, z0 = old(x)
        y1, z1 = new(x)
    assert torch.allclose(z0, z1, atol=1e-4) and torch.allclose(y0, y1, atol=1e-4)
    assert new.feature_std.ne(1).any()                     # it does standardise now
    moved = train(cfg_for(data_dir, str(dyn), tmp_path / "c", steps=3, init=str(base.checkpoint)),
                  backbone=HashBackbone())
    assert load_checkpoint(moved.checkpoint)[0].decoder.to_queries.weight.abs().sum() > 0
    # the other way round (dropping what a model has) is refused
    with pytest.raises(MclipError, match="model config differs"):
        train(cfg_for(data_dir, tiny_model, tmp_path / "d", steps=1, init=str(moved.checkpoint)),
              backbone=HashBackbone())


def test_adam_beta2_is_used_and_may_change_on_resume(data_dir, tiny_model, tmp_path):
    out = tmp_path / "run"
    train(cfg_for(data_dir, tiny_model, out, steps=2, adam_beta2=0.99), backbone=HashBackbone())
    betas = lambda: {tuple(g["betas"]) for g in torch.load(out / "last.pt", weights_only=False)
                     ["optimizer"]["param_groups"]}
    assert betas() == {(0.9, 0.99)}
    train(cfg_for(data_dir, tiny_model, out), resume=True, backbone=HashBackbone(),
          changes={"steps": 3, "adam_beta2": 0.95})
    assert betas() == {(0.9, 0.95)}


def test_resume_may_change_the_schedule_not_the_run(data_dir, tiny_model, tmp_path, capsys):
    out = tmp_path / "run"
    train(cfg_for(data_dir, tiny_model, out, steps=10), backbone=HashBackbone(), max_steps_this_call=5)
    # a constant tail at a new lr, five steps longer
    res = train(cfg_for(data_dir, tiny_model, out), resume=True, backbone=HashBackbone(),
                changes={"steps": 15, "lr": 3e-5, "lr_schedule": "constant"})
    assert res.step == 15
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    after = [r["lr"] for r in log if "lr" in r and r["step"] > 5]
    assert after and all(lr == pytest.approx(3e-5) for lr in after)
    saved = torch.load(out / "last.pt", weights_only=False)["train_config"]
    assert (saved["lr"], saved["lr_schedule"], saved["steps"]) == (3e-5, "constant", 15)
    # repeating a setting is fine, changing what the run is is refused
    cfg = cfg_for(data_dir, tiny_model, out)
    res = train(cfg, resume=True, backbone=HashBackbone(), changes={"seed": cfg.seed, "steps": 16})
    assert res.step == 16
    with pytest.raises(MclipError, match="--lambda-text 5.0 differs"):
        train(cfg, resume=True, backbone=HashBackbone(), changes={"lambda_text": 5.0})
    # the CLI passes what was given again; a change of identity is a one-line error
    with pytest.raises(SystemExit) as e:
        cli_main(["train", "--out", str(out), "--resume", "--lambda-text", "5"])
    assert e.value.code == 2
    assert "--lambda-text 5.0 differs from the run's 1.0" in capsys.readouterr().err


def test_a_malformed_checkpoint_is_one_line_and_exit_2_at_the_cli(saved, tmp_path, capsys):
    path, _ = saved
    state = torch.load(path, weights_only=True)
    state["model_config"] = {**state["model_config"], "d_model": "wide"}
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    out = tmp_path / "z.npy"
    with pytest.raises(SystemExit) as e:
        cli_main(["encode", "--text", "walk", "-o", str(out), "--weights", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "d_model must be int" in err[0] and not out.exists()


def test_shipped_recipes_are_valid_settings(capsys):
    from mclip.train_config import RECIPE_DIR, recipe_path

    names = sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))
    assert names, "no recipes shipped"
    for name in names:
        cfg = load_train_config(recipe_path(name))            # unknown keys would raise
        assert cfg.stage in ("autoencoder", "prior")
    with pytest.raises(MclipError, match=r"--recipe nope: no such recipe \(shipped: .*small-1-motion"):
        recipe_path("nope")


def test_every_training_setting_is_one_train_option_with_its_range():
    """The options of `mclip train` come from TrainConfig's declarations (issue 16.1):
    one per field, with its help and range; what --resume may change is declared there too."""
    from dataclasses import fields

    import typer.main

    from mclip.cli import app
    from mclip.train_config import RESUME_MAY_CHANGE, SETTING_RANGES

    cmd = typer.main.get_command(app).get_command(None, "train")
    options = {p.name: p for p in cmd.params}
    for f in fields(TrainConfig):
        assert f.name in options, f.name
        assert f.metadata["help"].split()[0] in (options[f.name].help or "")
    bounded = options["batch_size"]
    assert (bounded.min, bounded.max) == SETTING_RANGES["batch_size"] == (1, 65536)
    assert "lr" in RESUME_MAY_CHANGE and "model" not in RESUME_MAY_CHANGE
    ctx = cmd.make_context("train", ["--out", "r", "--no-progress", "--weight-decay", "0.1"])
    assert ctx.params["progress"] is False and ctx.params["weight_decay"] == 0.1


def test_progress_bars_import_rich_before_training_seeds():
    """rich's first import draws from Python's global random; training imports
    mclip.progress before it seeds or restores RNG state, so that import must bring rich
    in (else a resumed run with a progress bar would draw differently from a straight one)."""
    import subprocess
    import sys

    code = "import sys; import mclip.progress; print('rich.progress' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
