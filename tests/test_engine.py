"""The engine (Python API) on a tiny model trained on the fly, plus its helpers
(windows, IK). Numbers are checked against independent computations: FK, numpy
softmax, the backbone's own embeddings, motions cut and stitched back."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from mclip import skeleton
from mclip.errors import MclipError
from mclip.motion_io import Motion, save_motion
from mclip.rotations import axis_angle_to_matrix, rotation_about
from tiny_model import TEXTS, make_clip

torch.set_num_threads(1)


def long_walk(frames: int = 150) -> Motion:
    return make_clip("walk", 0, frames=frames)


def sole_heights(motion: Motion) -> np.ndarray:
    """(T, 24) height of each joint's contact point, by hand: ankles 8 cm, feet 2.5 cm
    above the sole (skeleton constants), other joints at their own height."""
    J = skeleton.joints_from_axis_angle(motion.poses, motion.trans)
    h = J[..., 2].copy()
    for name, lift in (("left_ankle", 0.08), ("right_ankle", 0.08),
                       ("left_foot", 0.025), ("right_foot", 0.025)):
        h[:, skeleton.JOINT_INDEX[name]] -= lift
    return h


# ------------------------------------------------------------------ set-up


def test_public_import_and_repr(tiny_engine):
    from mclip import Engine

    assert isinstance(tiny_engine, Engine)
    assert "minilm" in repr(tiny_engine) and tiny_engine.config.latent_dim == 384


def test_missing_default_weights_says_what_to_do(monkeypatch, tmp_path):
    from mclip.engine import Engine

    monkeypatch.setenv("MCLIP_WEIGHTS", str(tmp_path / "nope.pt"))
    with pytest.raises(MclipError, match="--weights"):
        Engine()
    with pytest.raises(MclipError, match="no such checkpoint"):
        Engine(tmp_path / "other.pt")


def test_default_weights_found_in_a_repository_or_an_installed_prefix(monkeypatch, tmp_path):
    """Editable install: weights/ beside the package. `pip install .`: the wheel's
    data files under <prefix>/share/mclip/weights/. $MCLIP_WEIGHTS wins over both."""
    import sys

    import mclip.resolve as resolve

    monkeypatch.delenv("MCLIP_WEIGHTS", raising=False)
    pkg = tmp_path / "site" / "mclip"
    monkeypatch.setattr(resolve, "__file__", str(pkg / "resolve.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    repo = tmp_path / "site" / "weights" / "mclip-default.pt"
    installed = tmp_path / "prefix" / "share" / "mclip" / "weights" / "mclip-default.pt"
    assert resolve.default_weights_path() == repo            # nothing anywhere: the repo path
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"x")
    assert resolve.default_weights_path() == installed
    repo.parent.mkdir(parents=True)
    repo.write_bytes(b"x")
    assert resolve.default_weights_path() == repo
    monkeypatch.setenv("MCLIP_WEIGHTS", str(tmp_path / "mine.pt"))
    assert resolve.default_weights_path() == tmp_path / "mine.pt"


def test_corrupt_checkpoint(tmp_path):
    from mclip.engine import Engine

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(MclipError, match="bad.pt"):
        Engine(bad, device="cpu")


def test_unavailable_device(tiny_checkpoint):
    from mclip.engine import Engine

    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    with pytest.raises(MclipError, match="CUDA"):
        Engine(tiny_checkpoint, device="cuda")


# ------------------------------------------------------------------ text2motion


def test_text2motion_batched_grounded_and_deterministic(tiny_engine):
    texts = [TEXTS["walk"], TEXTS["sit"], TEXTS["jump"]]
    batch = tiny_engine.text2motion(texts)
    assert len(batch) == 3
    for m in batch:
        assert m.poses.shape == (60, 24, 3) and m.trans.shape == (60, 3) and m.fps == 30
        # Starts as the training clips do: pelvis over the origin.
        np.testing.assert_allclose(m.joints()[0, 0, :2], 0.0, atol=1e-5)
        # The lowest contact over the clip is on the floor, nothing below it.
        assert abs(sole_heights(m).min()) < 1e-4
    single = tiny_engine.text2motion([TEXTS["sit"]])[0]
    np.testing.assert_allclose(single.joints(), batch[1].joints(), atol=1e-5)
    # Different texts give different motions.
    assert np.abs(batch[0].joints() - batch[1].joints()).max() > 0.05
    # Frames option and variation with a seed.
    assert tiny_engine.text2motion(["jump up"], frames=45)[0].num_frames == 45
    v1 = tiny_engine.text2motion(["jump up"], seed=1, variation=0.3)[0]
    v1b = tiny_engine.text2motion(["jump up"], seed=1, variation=0.3)[0]
    v2 = tiny_engine.text2motion(["jump up"], seed=2, variation=0.3)[0]
    np.testing.assert_allclose(v1.poses, v1b.poses)
    assert np.abs(v1.joints() - v2.joints()).max() > 1e-3
    # The same take inside a batch.
    vb = tiny_engine.text2motion(["walk forward", "jump up"], seed=1, variation=0.3)[1]
    np.testing.assert_allclose(vb.poses, v1.poses, atol=1e-5)


def test_text2motion_matches_the_training_clip_it_learned(tiny_engine):
    # The tiny model was taught to decode each text to its clips: "sit down" must end
    # with a lower pelvis than "walk forward", and its generated motion must classify
    # as sitting.
    walk, sit = tiny_engine.text2motion([TEXTS["walk"], TEXTS["sit"]])
    assert sit.joints()[-1, 0, 2] < walk.joints()[-1, 0, 2] - 0.1
    res = tiny_engine.classify(sit, list(TEXTS.values()), top_k=1)
    assert res.top[0].label == TEXTS["sit"]


def test_long_text2motion_loops_the_clip(tiny_engine):
    clip = tiny_engine.text2motion([TEXTS["walk"]])[0]
    long = tiny_engine.text2motion([TEXTS["walk"]], frames=150)[0]
    assert long.num_frames == 150
    # Repeats start every 50 frames (10-frame cross-fades): before the first fade the
    # long motion is the clip itself (rotations, horizontal path).
    np.testing.assert_allclose(long.poses[:50], clip.poses[:50], atol=1e-4)
    np.testing.assert_allclose(long.trans[:50, :2], clip.trans[:50, :2], atol=1e-4)
    # The second repeat continues from where the first one is at frame 50.
    J = long.joints()
    assert np.linalg.norm(np.diff(J[:, 0], axis=0), axis=-1).max() < 0.08
    assert abs(sole_heights(long).min()) < 1e-4
    raw = tiny_engine.text2motion([TEXTS["walk"]], frames=90, extend="extrapolate")[0]
    assert raw.num_frames == 90
    with pytest.raises(MclipError, match="--extend"):
        tiny_engine.text2motion(["walk"], frames=90, extend="bounce")


def test_empty_prompt_is_a_user_error(tiny_engine):
    with pytest.raises(MclipError, match="empty"):
        tiny_engine.text2motion(["walk", "   "])


# ------------------------------------------------------------------ classify


def test_classify_ranks_the_trained_action_and_matches_softmax(tiny_engine):
    labels = ["walk", "sit", "wave", "jump"]
    for action in ("walk", "sit"):
        res = tiny_engine.classify(make_clip(action, 0), labels, top_k=4)
        ranked = [s.label for s in res.top]
        other = "sit" if action == "walk" else "walk"
        assert ranked.index(action) < ranked.index(other)
    # Independent computation: softmax(100 * cos) from the engine's latent and the
    # backbone's own embeddings.
    z = tiny_engine.encode([make_clip("wave", 1)])[0]
    E = tiny_engine.backbone.encode_text(labels).numpy()
    logits = 100.0 * (E @ z)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    res = tiny_engine.classify(make_clip("wave", 1), labels, top_k=2)
    order = np.argsort(-p)[:2]
    assert [s.label for s in res.top] == [labels[i] for i in order]
    np.testing.assert_allclose([s.probability for s in res.top], p[order], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose([s.cosine for s in res.top], (E @ z)[order], atol=1e-5)


def test_classify_probability_and_cosine_rank_alike_at_the_stored_temperature(tiny_checkpoint, tmp_path):
    from mclip import Engine
    from mclip.checkpoint import export_for_release

    path = export_for_release(tiny_checkpoint, tmp_path / "t.pt",
                              classify_temperature={"babel60": 12.0, "other": 40.0})
    eng = Engine(path, device="cpu")
    assert eng.temperature_for("babel60") == 12.0 and eng.temperature_for(["walk", "run"]) == 40.0
    assert eng.temperature_for("babel120") == 40.0
    labels = ["walk", "sit", "wave", "jump"]
    res = eng.classify(long_walk(150), labels, top_k=4, per_window=True)
    assert res.temperature == 40.0
    cos = np.array([s.cosine for s in res.top])
    assert list(cos) == sorted(cos, reverse=True)              # one order for both columns
    p = np.exp(40.0 * (cos - cos.max()))
    np.testing.assert_allclose([s.probability for s in res.top], p / p.sum(), rtol=1e-4)
    for w in res.windows:
        c = [s.cosine for s in w.top]
        assert c == sorted(c, reverse=True)


def test_texts_embedded_once_are_read_from_disk_without_the_encoder(tiny_checkpoint, tmp_path,
                                                                    monkeypatch):
    from mclip import Engine

    monkeypatch.setenv("MCLIP_CACHE", str(tmp_path))
    first = Engine(tiny_checkpoint, device="cpu")
    za = first.embed_texts(["walk forward", "jump up"])
    assert first._backbone is not None                      # it had to encode them
    assert list((tmp_path / "text").glob("text-*.npz"))
    again = Engine(tiny_checkpoint, device="cpu")            # a later command
    zb = again.embed_texts(["jump up", "walk forward"])
    assert again._backbone is None                           # read from disk, encoder not loaded
    torch.testing.assert_close(zb, za[[1, 0]])
    again.embed_texts(["a text never seen"])
    assert again._backbone is not None


def test_classify_per_window_and_label_sets(tiny_engine, tmp_path):
    res = tiny_engine.classify(long_walk(150), "babel60", top_k=3, per_window=True)
    assert len(res.top) == 3
    # 150 frames -> windows at 0, 30, 60, 90 (60 frames each).
    assert [(w.start_s, w.end_s) for w in res.windows] == [(0, 2), (1, 3), (2, 4), (3, 5)]
    # each window's scores from its own latent, computed here: softmax(T * cos) over all 60
    from mclip.label_sets import load_label_set

    names = load_label_set("babel60")
    _, z = tiny_engine.window_latents(long_walk(150))
    cos = z @ tiny_engine.embed_texts(names).T                        # (W, 60)
    p = torch.softmax(tiny_engine.temperature_for("babel60") * cos, dim=-1)
    for w, pw in zip(res.windows, p):
        top = pw.topk(3)
        assert [s.label for s in w.top] == [names[i] for i in top.indices.tolist()]
        np.testing.assert_allclose([s.probability for s in w.top], top.values.numpy(), rtol=1e-4)
    with pytest.raises(MclipError):
        tiny_engine.classify(long_walk(), "no-such-set")


# ------------------------------------------------------------------ interpolate


def test_interpolate_latents_linear_and_slerp():
    from mclip.engine import interpolate_latents

    g = torch.Generator().manual_seed(0)
    a, b = torch.nn.functional.normalize(torch.randn(2, 384, generator=g), dim=-1)
    lin = interpolate_latents(a, b, 5)
    torch.testing.assert_close(lin[0], a)
    torch.testing.assert_close(lin[-1], b)
    torch.testing.assert_close(lin[2], (a + b) / 2)
    assert lin[2].norm() < 0.999                     # the chord cuts inside the sphere
    sl = interpolate_latents(a, b, 5, slerp=True)
    torch.testing.assert_close(sl.norm(dim=-1), torch.ones(5))
    angle = torch.arccos((a * b).sum())
    steps = torch.arccos((sl[1:] * sl[:-1]).sum(-1).clamp(-1, 1))
    torch.testing.assert_close(steps, torch.full((4,), float(angle) / 4), atol=1e-4, rtol=0)
    # Norms are interpolated linearly.
    sl2 = interpolate_latents(2 * a, 4 * b, 3, slerp=True)
    torch.testing.assert_close(sl2.norm(dim=-1), torch.tensor([2.0, 3.0, 4.0]))
    with pytest.raises(MclipError):
        interpolate_latents(a, b, 1)


def test_interpolation_endpoints_decode_to_the_endpoints(tiny_engine, tmp_path):
    seq = tiny_engine.interpolate(TEXTS["walk"], TEXTS["sit"], steps=4)
    assert len(seq) == 4
    walk, sit = tiny_engine.text2motion([TEXTS["walk"], TEXTS["sit"]])
    np.testing.assert_allclose(seq[0].joints(), walk.joints(), atol=1e-5)
    np.testing.assert_allclose(seq[-1].joints(), sit.joints(), atol=1e-5)
    mid = seq[1].joints()
    assert np.abs(mid - walk.joints()).max() > 1e-3 and np.abs(mid - sit.joints()).max() > 1e-3
    # Motion files as ends: the ends are the files' latents decoded.
    a, b = tmp_path / "walk.npz", tmp_path / "jump.npz"
    save_motion(make_clip("walk", 0), a)
    save_motion(make_clip("jump", 0), b)
    seq = tiny_engine.interpolate(str(a), str(b), steps=3, slerp=True)
    za, zb = tiny_engine.encode([str(a), str(b)])
    np.testing.assert_allclose(seq[0].joints(), tiny_engine.decode(torch.from_numpy(za)[None])[0].joints(),
                               atol=1e-5)
    np.testing.assert_allclose(seq[2].joints(), tiny_engine.decode(torch.from_numpy(zb)[None])[0].joints(),
                               atol=1e-5)


# ------------------------------------------------------------------ edit / compose


def test_edit_moves_towards_the_added_text(tiny_engine):
    walk = make_clip("walk", 2)
    sit_emb = tiny_engine.embed_texts([TEXTS["sit"]])[0].cpu().numpy()
    base = tiny_engine.encode([tiny_engine.reconstruct(walk)])[0]
    edited = tiny_engine.edit(walk, add=[TEXTS["sit"]], sub=[TEXTS["walk"]], scale=1.0)
    assert edited.num_frames == walk.num_frames
    after = tiny_engine.encode([edited])[0]
    assert after @ sit_emb > base @ sit_emb + 0.1
    # scale 0 is the plain reconstruction.
    same = tiny_engine.edit(walk, add=["anything"], scale=0.0)
    np.testing.assert_allclose(same.joints(), tiny_engine.reconstruct(walk).joints(), atol=1e-5)
    with pytest.raises(MclipError, match="nothing to do"):
        tiny_engine.edit(walk)


def test_edit_long_motion_is_continuous_and_keeps_place(tiny_engine):
    walk = long_walk(150)
    # Put the input somewhere else in the room, turned: the edit must stay there.
    R = rotation_about("z", torch.tensor(0.7))
    from mclip.windows import move_body

    Rm, tm = move_body(walk.rotmats(), torch.from_numpy(walk.trans), R, torch.tensor([2.0, -1.0, 0.0]))
    from mclip.motion_io import motion_from_rotmats

    placed = motion_from_rotmats(Rm, tm)
    out = tiny_engine.edit(placed, add=["jump up"], scale=0.3)
    assert out.num_frames == 150
    J = out.joints()
    step = np.linalg.norm(np.diff(J[:, 0], axis=0), axis=-1)
    assert step.max() < 0.08          # no jump at window seams (8 cm per frame = 2.4 m/s)
    # Starts where the input started (horizontally).
    np.testing.assert_allclose(J[0, 0, :2], placed.joints()[0, 0, :2], atol=0.02)


def test_compose_takes_upper_body_from_one_and_the_rest_from_the_other(tiny_engine):
    wave, walk = make_clip("wave", 0, frames=40), long_walk(90)
    out = tiny_engine.compose(wave, walk)
    assert out.num_frames == 90
    Ro, Rw, Rl = out.rotmats(), wave.rotmats(), walk.rotmats()
    up, low = list(skeleton.UPPER_BODY_JOINTS), list(skeleton.LOWER_BODY_JOINTS)
    torch.testing.assert_close(Ro[:40, up], Rw[:, up], atol=1e-5, rtol=0)
    torch.testing.assert_close(Ro[:, low], Rl[:, low], atol=1e-5, rtol=0)
    # Frames past the wave's end play it backwards (40 -> 38, 37, ...): no jump.
    torch.testing.assert_close(Ro[40, up], Rw[38, up], atol=1e-5, rtol=0)
    # The horizontal path is the walk's.
    np.testing.assert_allclose(out.trans[:, :2], walk.trans[:, :2], atol=1e-5)
    # Texts work as parts too.
    assert tiny_engine.compose(TEXTS["wave"], walk).num_frames == 90


# ------------------------------------------------------------------ encode / search


def test_encode_motions_and_texts(tiny_engine, tmp_path):
    p = tmp_path / "sit.npz"
    save_motion(make_clip("sit", 0), p)
    Z = tiny_engine.encode([str(p), make_clip("sit", 0), "sit down on a chair"])
    assert Z.shape == (3, 384) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(Z[0], Z[1], atol=1e-4)   # file and in-memory motion agree
    np.testing.assert_allclose(Z[2], tiny_engine.backbone.encode_text(["sit down on a chair"])[0].numpy(),
                               atol=1e-6)


def test_search_ranks_and_caches(tiny_engine, tmp_path):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    for action in TEXTS:
        save_motion(make_clip(action, 1), lib / ("sub" if action == "wave" else ".") / f"{action}.npz")
    (lib / "broken.npz").write_bytes(b"garbage")
    cache = tmp_path / "cache"
    res = tiny_engine.search(TEXTS["wave"], lib, top_k=2, cache_dir=cache)
    assert res.hits[0][0].endswith("wave.npz") and len(res.hits) == 2
    assert res.encoded == 4 and res.cached == 0
    assert [p for p, _ in res.skipped] == [str(lib / "broken.npz")]
    res2 = tiny_engine.search(TEXTS["jump"], lib, top_k=4, cache_dir=cache)
    assert res2.cached == 4 and res2.encoded == 0
    assert res2.hits[0][0].endswith("jump.npz")
    # A changed file is encoded again.
    os.utime(lib / "sit.npz", ns=(1_000_000_000, 1_000_000_000))
    res3 = tiny_engine.search(TEXTS["sit"], lib, cache_dir=cache)
    assert res3.encoded == 1 and res3.cached == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(MclipError, match="no motion files"):
        tiny_engine.search("walk", tmp_path / "empty", cache_dir=cache)


# ------------------------------------------------------------------ joints input (IK)


def test_joints_npy_input_is_fitted_by_ik(tiny_engine, tmp_path):
    clip = make_clip("sit", 2)
    p = tmp_path / "sit_joints.npy"
    np.save(p, clip.joints())
    fitted = tiny_engine.load(str(p))
    np.testing.assert_allclose(fitted.joints(), clip.joints(), atol=1e-3)
    za, zb = tiny_engine.encode([str(p), clip])
    assert float(za @ zb) > 0.99


# ------------------------------------------------------------------ windows


def test_window_plan_cut_and_stitch_round_trip():
    from mclip import windows

    assert windows.plan_windows(150).starts == (0, 30, 60, 90)
    assert windows.plan_windows(60).starts == (0,)
    assert windows.plan_windows(61).starts == (0, 1)
    assert windows.plan_windows(100).starts == (0, 30, 40)
    short = windows.plan_windows(20)
    assert short.padded and short.starts == (0,)
    m = long_walk(100)
    R, t = m.rotmats(), torch.from_numpy(m.trans)
    plan = windows.plan_windows(100)
    Rw, tw = windows.cut_windows(R, plan), windows.cut_windows(t, plan)
    assert Rw.shape == (3, 60, 24, 3, 3)
    # Stitching the unchanged windows gives back the motion exactly.
    Rs, ts = windows.stitch(list(zip(Rw, tw)), plan)
    torch.testing.assert_close(Rs, R, atol=1e-5, rtol=0)
    torch.testing.assert_close(ts, t, atol=1e-5, rtol=0)
    # Padding holds the last pose.
    Rp = windows.cut_windows(R[:20], short)
    torch.testing.assert_close(Rp[0, 20:], R[19].expand(40, 24, 3, 3))


def test_stitch_continues_the_trajectory():
    from mclip import windows

    plan = windows.plan_windows(90)                    # windows at 0 and 30
    R = torch.eye(3).expand(60, 24, 3, 3).clone()
    t1 = torch.zeros(60, 3)
    t1[:, 1] = -torch.arange(60) * 0.04               # walks 4 cm/frame along -y
    t2 = t1.clone()                                    # second window also starts at 0
    Rs, ts = windows.stitch([(R, t1), (R, t2)], plan)
    # The second window is shifted to start where the first one is at frame 30.
    np.testing.assert_allclose(ts[:, 1].numpy(), -np.arange(90) * 0.04, atol=1e-5)


def test_stitch_follow_heading_keeps_turning():
    from mclip import windows
    from mclip.representation import heading

    # A clip turning left from heading 0 to 90 degrees at a steady rate.
    yaw = torch.linspace(0, math.pi / 2, 60)
    R = torch.eye(3).expand(60, 24, 3, 3).clone()
    R[:, 0] = rotation_about("z", yaw) @ torch.as_tensor(skeleton.STAND)
    t = torch.zeros(60, 3)
    plan = windows.plan_windows(110, 60, 50)           # repeats at 0 and 50
    Rs, _ = windows.stitch([(R, t), (R, t)], plan, follow_heading=True)
    h = torch.rad2deg(heading(Rs[:, 0]))
    # The second repeat starts facing where the first was at frame 50 (90 * 50/59 deg),
    # so the motion ends 90 degrees further, turning smoothly all the way.
    assert abs(float(h[-1]) - (90 * 50 / 59 + 90)) < 0.1
    assert float(h.diff().abs().max()) < 3.0


def test_rigid_moves_match_forward_kinematics():
    from mclip import windows
    from mclip.representation import canonicalize

    m = make_clip("walk", 1)
    R, t = m.rotmats(), torch.from_numpy(m.trans)
    Rz = rotation_about("z", torch.tensor(1.1))
    shift = torch.tensor([0.5, -2.0, 0.1])
    R2, t2 = windows.move_body(R, t, Rz, shift)
    J, J2 = skeleton.forward_kinematics(R, t), skeleton.forward_kinematics(R2, t2)
    torch.testing.assert_close(J2, J @ Rz.T + shift, atol=1e-5, rtol=0)
    # rigid_between recovers what canonicalize did, and invert_move undoes it.
    Rc, tc = canonicalize(R2, t2)
    back = windows.rigid_between(Rc[0, 0], tc[0], R2[0, 0], t2[0])
    R3, t3 = windows.move_body(Rc, tc, *back)
    torch.testing.assert_close(skeleton.forward_kinematics(R3, t3), J2, atol=1e-4, rtol=0)
    fwd = windows.invert_move(*back)
    R4, t4 = windows.move_body(R2, t2, *fwd)
    torch.testing.assert_close(skeleton.forward_kinematics(R4, t4),
                               skeleton.forward_kinematics(Rc, tc), atol=1e-4, rtol=0)


def test_ground_offset_by_hand():
    from mclip.engine import ground_offset

    J = torch.zeros(2, 24, 3)
    J[..., 2] = 1.0
    J[1, skeleton.JOINT_INDEX["left_ankle"], 2] = 0.30    # sole at 0.22
    J[0, skeleton.JOINT_INDEX["right_foot"], 2] = 0.20    # sole at 0.175 (lowest)
    assert math.isclose(float(ground_offset(J)), 0.175, abs_tol=1e-6)


def test_centred_checkpoint_feeds_centred_text_to_the_decoder(tiny_engine, tmp_path):
    """A center_text model: the engine's text latents (used by text2motion, classify,
    edit, search) are normalize(MiniLM(text) - the saved mean), and text2motion decodes
    exactly that vector."""
    from mclip import Engine
    from mclip.checkpoint import save_checkpoint
    from mclip.model import ModelConfig, MotionCLIP

    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, enc_layers=1, dec_layers=1, heads=2, ff_size=64,
                      latent_dim=384, backbone="minilm", center_text=True)
    model = MotionCLIP(cfg)
    mean = tiny_engine.backbone.encode_text(["a person walks", "a person jumps"]).float().mean(0)
    model.set_text_mean(mean[None])
    path = save_checkpoint(tmp_path / "c.pt", model, cfg, {}, None, 0, {})
    eng = Engine(path, device="cpu")
    texts = ["a person walks forward", "someone sits down"]
    raw = tiny_engine.backbone.encode_text(texts).float()            # independent path
    want = torch.nn.functional.normalize(raw - mean, dim=-1)
    got = eng.embed_texts(texts).cpu()
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, torch.nn.functional.normalize(raw, dim=-1), atol=1e-2)
    with torch.no_grad():
        expected = eng.model.decode(want, 60)
    from mclip.representation import features_to_motion

    poses, trans = features_to_motion(expected)
    m = eng.text2motion(texts[:1])[0]
    np.testing.assert_allclose(m.poses, poses[0], atol=1e-4)


def test_motion_only_work_never_loads_the_text_backbone(tiny_checkpoint, tmp_path):
    # A checkpoint whose backbone cannot be had here (CLIP weights need the internet):
    # motions still encode and reconstruct; only a text asks for the backbone, and gets a
    # one-line error.
    from mclip import Engine
    from mclip.checkpoint import read_checkpoint, atomic_torch_save
    from mclip.errors import MclipError
    from tiny_model import make_clip

    state = read_checkpoint(tiny_checkpoint)
    state["model_config"]["backbone"] = "clip"
    path = tmp_path / "clip-named.pt"
    atomic_torch_save(state, path)
    eng = Engine(path, device="cpu")
    walk = make_clip("walk")
    assert eng.encode([walk]).shape == (1, 384)
    assert eng.reconstruct(walk).num_frames == 60
    assert eng._backbone is None
    with pytest.raises(MclipError):
        eng.embed_texts(["walk forward"])
