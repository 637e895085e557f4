"""Tests of the evaluation harness: metric functions against hand-computed truth,
then the whole `mclip eval` run on a tiny checkpoint trained in a fixture."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mclip.errors import MclipError
from mclip.eval import metrics as M
from mclip.eval.report import results_table, write_json

torch.set_num_threads(1)


# ---------------------------------------------------------------- metric functions


def test_mpjpe_of_a_known_offset_is_that_offset_in_mm():
    rng = np.random.default_rng(0)
    joints = torch.as_tensor(rng.normal(size=(3, 10, 24, 3)), dtype=torch.float32)
    offset = torch.tensor([0.03, -0.04, 0.0])  # a 3-4-5 triangle: 5 cm
    assert M.mpjpe_mm(joints + offset, joints) == pytest.approx(50.0, abs=1e-4)
    # the root-aligned variant removes a global shift completely ...
    assert M.root_aligned_mpjpe_mm(joints + offset, joints) == pytest.approx(0.0, abs=1e-4)
    # ... but not a single joint moved by 12 mm: 12 mm on 1 of 24 joints = 0.5 mm mean
    moved = joints.clone()
    moved[..., 5, 2] += 0.012
    assert M.mpjpe_mm(moved, joints) == pytest.approx(0.5, abs=1e-4)
    assert M.root_aligned_mpjpe_mm(moved, joints) == pytest.approx(0.5, abs=1e-4)
    # moving the root by 24 mm moves all *relative* positions of the 23 others by 24 mm
    moved = joints.clone()
    moved[..., 0, 0] += 0.024
    assert M.root_aligned_mpjpe_mm(moved, joints) == pytest.approx(23.0, abs=1e-4)


def test_mean_geodesic_matches_scipy_magnitude():
    rng = np.random.default_rng(1)
    r1 = Rotation.random(200, random_state=2)
    r2 = Rotation.random(200, random_state=3)
    truth = np.degrees((r1.inv() * r2).magnitude()).mean()
    R1 = torch.as_tensor(r1.as_matrix(), dtype=torch.float64)
    R2 = torch.as_tensor(r2.as_matrix(), dtype=torch.float64)
    assert M.mean_geodesic_deg(R1, R2) == pytest.approx(truth, abs=1e-6)
    # a 30 degree turn about any axis is 30 degrees
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    turn = torch.as_tensor(Rotation.from_rotvec(axis * math.radians(30)).as_matrix())
    assert M.mean_geodesic_deg(R1 @ turn, R1) == pytest.approx(30.0, abs=1e-6)
    assert M.mean_geodesic_deg(R1, R1) == pytest.approx(0.0, abs=1e-4)


def test_topk_accuracy_on_constructed_logits():
    logits = torch.tensor([
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],   # true 0: rank 1
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.0],   # true 2: rank 3
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],   # true 0: rank 6 (last)
        [0.1, 0.2, 0.3, 0.9, 0.4, 0.5],   # true 5: rank 2
    ])
    labels = torch.tensor([0, 2, 0, 5])
    acc = M.topk_accuracy(logits, labels, ks=(1, 2, 3, 5, 6))
    assert acc[1] == 0.25
    assert acc[2] == 0.5
    assert acc[3] == 0.75
    assert acc[5] == 0.75
    assert acc[6] == 1.0
    # k beyond the number of classes is always right
    assert M.topk_accuracy(logits, labels, ks=(10,))[10] == 1.0


def test_r_precision_perfect_and_shuffled():
    g = torch.Generator().manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(64, 16, generator=g), dim=-1)
    perfect = M.r_precision(text.clone(), text, group_size=32, ks=(1, 3))
    assert perfect == {1: 1.0, 3: 1.0}
    # motions paired with the wrong prompts: chance is 1/32 and 3/32
    perm = torch.randperm(64, generator=g)
    shuffled = M.r_precision(text[perm], text, group_size=32, ks=(1, 3))
    assert shuffled[1] < 0.2 and shuffled[3] < 0.35
    # hand-made 2x2 group: motion 0 closest to its prompt, motion 1 closest to prompt 0
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    m = torch.tensor([[1.0, 0.1], [1.0, 0.5]])
    assert M.r_precision(m, t, group_size=2, ks=(1, 2)) == {1: 0.5, 2: 1.0}
    # fewer rows than a group: undefined, not a made-up number
    assert math.isnan(M.r_precision(text[:10], text[:10], group_size=32)[1])


def test_path_smoothness():
    # an evenly moving path: every step moves every joint 10 mm along x
    base = torch.zeros(1, 3, 24, 3)
    even = torch.stack([base + torch.tensor([0.01 * s, 0.0, 0.0]) for s in range(5)])
    s = M.path_smoothness(even)
    assert s["step_mpjpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert s["max_step_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert s["step_cv"] == pytest.approx(0.0, abs=1e-6)
    assert s["steps_mm"] == pytest.approx([10.0] * 4)
    # a jump: no motion, then all 40 mm in the last step -> ratio 4 = steps - 1
    jump = torch.stack([base] * 4 + [base + torch.tensor([0.04, 0.0, 0.0])])
    s = M.path_smoothness(jump)
    assert s["step_mpjpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert s["max_step_ratio"] == pytest.approx(4.0, abs=1e-6)
    assert s["step_cv"] == pytest.approx(math.sqrt(3.0), abs=1e-6)
    assert s["steps_mm"] == pytest.approx([0.0, 0.0, 0.0, 40.0])
    # a path that never moves is even, not "infinitely uneven"
    s = M.path_smoothness(torch.stack([base] * 5))
    assert (s["step_mpjpe_mm"], s["max_step_ratio"], s["step_cv"]) == (0.0, 1.0, 0.0)


def test_body_speed_counts_limbs_not_travel():
    fps, T, r, w = 30.0, 31, 0.5, 3.0               # a joint circling the root: 0.5 m, 3 rad/s
    t = torch.arange(T, dtype=torch.float64) / fps
    root = torch.stack([2.0 * t, torch.zeros_like(t), torch.ones_like(t)], -1)   # travels 2 m/s
    limb = root + torch.stack([r * torch.cos(w * t), r * torch.sin(w * t), torch.zeros_like(t)], -1)
    joints = torch.stack([root, limb], dim=1)[None]                             # (1, T, 2, 3)
    chord_speed = 2 * r * math.sin(w / fps / 2) * fps
    assert M.body_speed(joints, fps).item() == pytest.approx(chord_speed / 2, rel=1e-9)  # 2 joints
    still = torch.stack([root, root + torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64)], 1)[None]
    assert M.body_speed(still, fps).item() == pytest.approx(0.0, abs=1e-12)


def _toy_joints(action: str, variant: int = 0) -> torch.Tensor:
    """A hand-made clip of tests/tiny_model.py as joints (1, T, 24, 3)."""
    from tiny_model import make_clip

    from mclip.skeleton import joints_from_axis_angle

    m = make_clip(action, variant=variant)
    return torch.as_tensor(joints_from_axis_angle(m.poses, m.trans))[None]


def test_travel_and_foot_speed_tell_a_step_from_a_glide():
    fps, T, a, f = 30.0, 61, 0.2, 1.0       # ankles swing +-0.2 m at 1 Hz; root at 1.5 m/s
    t = torch.arange(T, dtype=torch.float64) / fps
    root = torch.stack([1.5 * t, torch.zeros_like(t), torch.ones_like(t)], -1)
    joints = root[:, None, :].repeat(1, 24, 1)                       # (T, 24, 3)
    swing = a * torch.sin(2 * math.pi * f * t)
    joints[:, 7, 0] += swing                                         # left ankle, forward-back
    joints[:, 8, 0] -= swing                                         # right ankle, opposite
    walk = joints[None]
    glide = root[:, None, :].repeat(1, 24, 1)[None]
    assert M.travel_speed(walk, fps).item() == pytest.approx(1.5, rel=1e-9)
    assert M.travel_speed(glide, fps).item() == pytest.approx(1.5, rel=1e-9)
    # mean |d/dt a sin(2 pi f t)| over whole periods = 4 a f (sampled: chords, within 1 %)
    assert M.foot_speed(walk, fps).item() == pytest.approx(4 * a * f, rel=0.01)
    assert M.foot_speed(glide, fps).item() == pytest.approx(0.0, abs=1e-12)


def test_limb_metrics_of_known_poses():
    from mclip.eval.physics import ankle_peak
    from mclip.skeleton import JOINT_INDEX, REST_JOINTS

    rest = torch.as_tensor(REST_JOINTS, dtype=torch.float64)
    still = rest[None, None].repeat(1, 30, 1, 1)                       # (1, 30, 24, 3)
    # the farthest wrist from the chest, from the skeleton's own table
    want = max(np.linalg.norm(REST_JOINTS[JOINT_INDEX[w]] - REST_JOINTS[JOINT_INDEX["spine3"]])
               for w in ("left_wrist", "right_wrist"))
    assert M.wrist_reach(still).item() == pytest.approx(want, rel=1e-6)
    punch = still.clone()
    punch[0, 10:15, JOINT_INDEX["right_wrist"]] = rest[JOINT_INDEX["spine3"]] + torch.tensor([0, -0.9, 0.0],
                                                                                           dtype=torch.float64)
    assert M.wrist_reach(punch).item() == pytest.approx(0.9, rel=1e-9)
    assert M.wrist_speed(still).item() == 0.0 and M.wrist_speed(punch).item() > 0
    # a kick: the right ankle 0.5 m higher for a few frames; the floor (the feet) stays
    kick = still.clone()
    kick[0, 12:16, JOINT_INDEX["right_ankle"], 2] += 0.5
    assert (ankle_peak(kick) - ankle_peak(still)).item() == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("action, family", [
    ("walk", "locomotion"), ("walk+wave_right", "locomotion"), ("sprint", "locomotion"),
    ("kick_front", "kicks"), ("karate_kick", "kicks"), ("kick", "kicks"),
    ("jump_in_place", "jumps"), ("hop", "jumps"), ("punch", "arm actions"),
    ("wave_left", "arm actions"), ("sit_down", None), ("stand", None), ("dance_disco", None)])
def test_action_families(action, family):
    from mclip.eval.physics import action_family

    assert action_family(action) == family


def test_family_report_shows_a_frozen_leg():
    from mclip.eval.physics import _family_report

    fps, T = 30.0, 60
    t = torch.arange(T, dtype=torch.float64) / fps
    joints = torch.zeros(2, T, 24, 3, dtype=torch.float64)
    joints[..., 2] = 1.0
    joints[:, :, (7, 8), 2] = 0.1                                        # ankles low
    joints[0, :, 7, 0] += 0.2 * torch.sin(2 * math.pi * t)             # a step cycle
    joints[1, :, 21, 1] -= 0.3 * torch.sin(math.pi * t).clamp(min=0)   # a punch
    frozen = joints.clone()
    frozen[0, :, 7] = joints[0, :, 7].mean(0)                          # the leg held at its mean
    rep = _family_report(frozen, joints, ["walk", "punch"])
    assert rep["locomotion"]["n"] == 1 and rep["arm actions"]["n"] == 1
    assert rep["locomotion"]["foot_speed_m_s"]["ratio"] == pytest.approx(0.0, abs=1e-12)
    assert rep["arm actions"]["wrist_speed_m_s"]["ratio"] == pytest.approx(1.0)
    assert rep["arm actions"]["foot_speed_m_s"]["ratio"] is None        # real feet still
    assert _family_report(joints, joints, ["walk", "punch"])["locomotion"]["foot_speed_m_s"]["ratio"] == 1.0


def test_leaves_ground_needs_a_flight_not_a_float():
    from mclip.eval.physics import leaves_ground

    jump, stand = _toy_joints("jump"), _toy_joints("wave")
    assert leaves_ground(jump).tolist() == [True]
    assert leaves_ground(stand).tolist() == [False]
    floating = stand.clone()
    floating[..., 2] += 0.5                        # a raw decoder output hovering: not a jump
    assert leaves_ground(floating).tolist() == [False]
    hop = stand.clone()
    hop[:, 20:24, :, 2] += 0.2                     # 4 frames off the ground
    short = stand.clone()
    short[:, 20:22, :, 2] += 0.2                   # 2 frames: under the 3-frame minimum
    assert leaves_ground(torch.cat([hop, short, floating + jump - stand])).tolist() == [True, False, True]
    # clearance: the hop lifts the whole body 0.2 m; floating and standing clear nothing
    from mclip.eval.physics import clearance

    assert clearance(torch.cat([hop, floating, stand])).tolist() == pytest.approx([0.2, 0.0, 0.0], abs=1e-5)


def test_report_json_is_atomic_valid_and_nan_safe(tmp_path):
    res = {"meta": {"data": "x", "split": "test"},
           "reconstruction": {"n": 3, "mpjpe_mm": 12.5},
           "text2motion": {"n": 10, "r_precision": {"n": 0, "top1": float("nan")}}}
    out = write_json(res, tmp_path / "r.json")
    back = json.loads(out.read_text())
    assert back["reconstruction"]["mpjpe_mm"] == 12.5
    assert back["text2motion"]["r_precision"]["top1"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(results_table(res))
    text = console.export_text()
    assert "12.5 mm" in text and "n/a" in text


# ---------------------------------------------------------------- the whole harness

PHRASINGS = {  # per action: the first 4 are "seen in training", the last 4 held out
    "walk": ["walk forward", "a person walks", "walking ahead", "someone walks forward",
             "stroll straight on", "go for a walk", "a person strolls", "pace forward"],
    "sit": ["sit down on a chair", "a person sits down", "sitting down", "take a seat",
            "lower yourself onto a chair", "sit on the chair", "a man sits", "be seated"],
    "wave": ["wave the right hand", "a person waves", "waving hello", "wave with one arm",
             "greet by waving", "wave goodbye", "raise a hand and wave", "say hi with the hand"],
    "jump": ["jump up", "a person jumps", "jumping in place", "hop up high",
             "leap into the air", "spring upwards", "a person leaps", "bounce up"],
}


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory):
    """A dataset folder in the on-disk shard format: the tiny model's four actions, with
    unseen variants (3+) in the test split, each clip flagged with whether its phrasing
    was held out of training (as the synthetic corpus writes it)."""
    from tiny_model import make_clip

    from mclip.data.dataset import write_dataset

    poses, trans, records = [], [], []
    for action, texts in PHRASINGS.items():
        for k, text in enumerate(texts):
            m = make_clip(action, variant=3 + k)
            poses.append(m.poses.reshape(60, 72))
            trans.append(m.trans)
            records.append({"text": text, "action": action, "split": "test",
                            "params": {"heldout_phrasing": k >= 4}})
    root = tmp_path_factory.mktemp("evaldata") / "data"
    return write_dataset(root, np.stack(poses), np.stack(trans), records)


class _KnownErrorModel(torch.nn.Module):
    """An auto-encoder with a known error. The "latent" is the flattened features
    (lossless); decoding adds ``offset`` (metres) to the root translation and turns the
    left wrist by ``turn`` (3x3) in its local frame."""

    def __init__(self, offset=(0.0, 0.0, 0.0), turn=None):
        super().__init__()
        self.offset = torch.tensor(offset)
        self.turn = turn

    def encode(self, x):                       # (B, T, 25, 6) -> (B, T*150)
        return x.reshape(x.shape[0], -1)

    def decode(self, z, frames=None):          # (B, T*150) -> (B, T, 25, 6)
        from mclip.rotations import matrix_to_rot6d, rot6d_to_matrix
        from mclip.skeleton import JOINT_INDEX

        x = z.reshape(z.shape[0], -1, 25, 6).clone()
        x[..., 24, :3] += self.offset
        if self.turn is not None:
            k = JOINT_INDEX["left_wrist"]
            x[..., k, :] = matrix_to_rot6d(rot6d_to_matrix(x[..., k, :]) @ self.turn)
        return x


class _FakeEngine:
    """Engine-shaped holder for a model (what ``evaluate`` reads of an Engine)."""

    def __init__(self, model):
        self.model, self.frames, self.device, self.weights_path = model, 60, torch.device("cpu"), "fake"

    def embed_texts(self, texts):
        raise AssertionError("not used by the reconstruction section")


def test_reconstruction_of_a_known_offset_and_turn(eval_data):
    from mclip.eval import EvalConfig, evaluate
    from mclip.skeleton import JOINT_INDEX, REST_JOINTS

    cfg = EvalConfig(sections=("reconstruction",))
    rec = evaluate(_FakeEngine(_KnownErrorModel(offset=(0.0, 0.03, -0.04))), eval_data,
                   n=32, config=cfg)["reconstruction"]
    assert rec["n"] == 32
    assert rec["mpjpe_mm"] == pytest.approx(50.0, abs=1e-3)
    assert rec["root_aligned_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
    assert rec["rotation_error_deg"] == pytest.approx(0.0, abs=0.05)
    assert rec["liveliness_ratio"] == pytest.approx(1.0, rel=1e-5)   # a shift moves no limb

    # 40 degrees about the wrist's local z axis, whatever the pose: only the hand (the
    # wrist's one child, a leaf) moves, along the chord 2 sin(20 deg) * (its rest distance
    # from the z axis through the wrist); the other 23 joints stay put.
    theta = math.radians(40.0)
    turn = torch.as_tensor(Rotation.from_euler("z", theta).as_matrix(), dtype=torch.float32)
    rec = evaluate(_FakeEngine(_KnownErrorModel(turn=turn)), eval_data, n=32, config=cfg)["reconstruction"]
    hand = REST_JOINTS[JOINT_INDEX["left_hand"]] - REST_JOINTS[JOINT_INDEX["left_wrist"]]
    truth_mm = 1000.0 * 2 * math.sin(theta / 2) * np.linalg.norm(hand[:2]) / 24   # ~2.3 mm
    assert rec["mpjpe_mm"] == pytest.approx(truth_mm, rel=1e-3)
    assert rec["root_aligned_mpjpe_mm"] == pytest.approx(truth_mm, rel=1e-3)
    assert rec["rotation_error_deg"] == pytest.approx(40.0 / 24, abs=0.01)  # 1 of 24 joints


def test_harness_is_deterministic_and_matches_engine_classify(tiny_engine, eval_data):
    from mclip.eval import EvalConfig, evaluate

    cfg = EvalConfig(sections=("reconstruction", "classification"))
    a = evaluate(tiny_engine, eval_data, n=20, seed=3, config=cfg)
    b = evaluate(tiny_engine, eval_data, n=20, seed=3, config=cfg)
    assert a == b
    cls = a["classification"]
    assert cls["protocol"] == "actions" and cls["num_classes"] == 4
    assert cls["seen_phrasing"]["n"] + cls["heldout_phrasing"]["n"] == cls["all"]["n"] == 20
    # a section run alone gives the numbers it gives in a full run
    full_run = evaluate(tiny_engine, eval_data, n=20, seed=3, config=EvalConfig(interp_pairs=6))
    alone = evaluate(tiny_engine, eval_data, n=20, seed=3,
                     config=EvalConfig(interp_pairs=6, sections=("interpolation",)))
    assert alone["interpolation"] == full_run["interpolation"]
    assert full_run["classification"] == cls
    # the label set is the split's actions, however few clips are scored
    two = evaluate(tiny_engine, eval_data, n=2, seed=3, config=cfg)["classification"]
    assert two["num_classes"] == 4 and two["all"]["n"] == 2

    # the same top-1 through the engine's own classify (softmax over label embeddings)
    # on every clip: all 32 clips, so compare with the harness on n = 32
    full = evaluate(tiny_engine, eval_data, n=32, config=cfg)["classification"]
    from mclip.data.dataset import read_manifest
    from mclip.motion_io import Motion

    shard = np.load(eval_data / "shards" / "shard_00000.npz")
    labels = ["jump", "sit", "walk", "wave"]
    hits = []
    for rec in read_manifest(eval_data):
        m = Motion(shard["poses"][rec["index"]].reshape(60, 24, 3), shard["trans"][rec["index"]], 30.0)
        hits.append(tiny_engine.classify(m, labels, top_k=1).top[0].label == rec["action"])
    assert full["all"]["top1"] == pytest.approx(np.mean(hits))
    assert full["all"]["top1"] > 0.5  # the tiny model does separate its four actions


def test_babel60_protocol_keeps_only_babel60_actions(tiny_engine, eval_data):
    from mclip.eval import EvalConfig, evaluate

    cfg = EvalConfig(sections=("classification",), labels="babel60")
    cls = evaluate(tiny_engine, eval_data, n=32, config=cfg)["classification"]
    assert cls["protocol"] == "babel60" and cls["num_classes"] == 60
    assert cls["all"]["n"] == 24                 # walk, sit, jump; "wave" is no BABEL-60 class
    # the tiny model tells its walk, sit and jump apart among all 60 BABEL labels
    assert cls["all"]["top1"] >= 0.9


def test_cli_end_to_end_writes_valid_json(tiny_checkpoint, eval_data, tmp_path, capsys):
    from mclip.cli import main

    out = tmp_path / "eval.json"
    main(["eval", "--weights", str(tiny_checkpoint), "--data", str(eval_data), "--n", "32",
          "--steps", "5", "--json", str(out)])
    res = json.loads(out.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]
    assert res["meta"]["complete"] is True and res["meta"]["n_clips"] == 32
    rec, t2m, itp = res["reconstruction"], res["text2motion"], res["interpolation"]
    assert rec["mpjpe_mm"] >= rec["root_aligned_mpjpe_mm"] * 0.5 > 0
    rp = t2m["r_precision"]
    assert t2m["n"] == 32 and rp["n"] == 32
    assert rp["top3"] > 2 * 3 / 32          # its prompts retrieve their motions above chance
    assert -1 <= t2m["text_motion_cosine"] <= 1
    for group in ("generated", "real"):
        assert set(t2m["plausibility"][group]) == {"n", "foot_skate_mm", "ground_penetration_mm", "jerk"}
    # The real clips' plausibility equals the corpus metrics on the stored clips as they
    # are: canonicalizing (a turn about z and a shift in xy) changes none of them.
    from mclip.eval import plausibility as pm
    from mclip.skeleton import joints_from_axis_angle

    shard = np.load(eval_data / "shards" / "shard_00000.npz")
    raw = np.stack([joints_from_axis_angle(p.reshape(60, 24, 3), t)
                    for p, t in zip(shard["poses"], shard["trans"])]).astype(np.float64)
    real = t2m["plausibility"]["real"]
    assert real["foot_skate_mm"] == pytest.approx(pm.foot_skate(raw).mean() * 1000, rel=1e-3, abs=1e-3)
    assert real["ground_penetration_mm"] == pytest.approx(pm.ground_penetration(raw).mean() * 1000,
                                                          rel=1e-3, abs=1e-3)
    assert real["jerk"] == pytest.approx(pm.jerk(raw).mean(), rel=1e-3)
    assert itp["steps"] == 5 and len(itp["plausibility_per_step"]) == 5
    assert itp["max_step_ratio"] >= 1.0
    assert set(itp["plausibility_max"]) == {"foot_skate_mm", "ground_penetration_mm", "jerk"}
    for k, v in itp["plausibility_max"].items():
        assert v == pytest.approx(max(step[k] for step in itp["plausibility_per_step"]))
    printed = capsys.readouterr().out
    assert "MPJPE" in printed and "R-precision" in printed


@pytest.mark.parametrize("args, message", [
    (["--data", "{missing}"], "not found"),
    (["--split", "train"], "no such clips"),
    (["--only", "reconstruction,dance"], "--only"),
    (["--n", "0"], "--n"),
    (["--labels", "ucla"], "--labels"),
    (["--steps", "3"], "--steps"),
])
def test_cli_bad_input_is_one_line_exit_2(tiny_checkpoint, eval_data, tmp_path, capsys, args, message):
    from mclip.cli import main

    argv = ["eval", "--weights", str(tiny_checkpoint), "--data", str(eval_data),
            "--json", str(tmp_path / "x.json")]
    argv += [a.format(missing=tmp_path / "nope") for a in args]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_interrupt_keeps_finished_sections(tiny_engine, eval_data, tmp_path):
    """The CLI saves after every section; a Ctrl-C later leaves those on disk."""
    from mclip.eval import EvalConfig, evaluate

    out = tmp_path / "partial.json"
    calls = []

    def save_then_interrupt(results):
        write_json(results, out)
        calls.append(sorted(results))
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(tiny_engine, eval_data, n=8, config=EvalConfig(), on_section=save_then_interrupt)
    res = json.loads(out.read_text())
    assert res["meta"]["complete"] is False
    assert "reconstruction" in res and "classification" in res and "text2motion" not in res


def test_label_texts_of_plain_and_layered_actions():
    from mclip.eval.sections import _action_label_text

    info = {"actions": {"walk": {"label": "walk"}, "wave": {"label": "wave hands"}}}
    assert _action_label_text("walk", info) == "walk"
    assert _action_label_text("walk+wave", info) == "walk and wave hands"
    assert _action_label_text("side_step", {}) == "side step"


def test_actions_with_the_same_label_text_are_one_class():
    """wave_left / wave_right share the text "wave": one class, both clips its members."""
    import torch

    from mclip.eval import EvalConfig

    from mclip.eval.clips import _Clips

    from mclip.eval.sections import _class_targets

    info = {"actions": {"wave_left": {"label": "wave"}, "wave_right": {"label": "wave"},
                        "walk": {"label": "walk"}}}
    clips = _Clips(features=torch.zeros(3, 60, 25, 6), texts=["a", "b", "c"],
                   actions=["wave_left", "wave_right", "walk+wave_left"], babel=[[], [], []],
                   heldout_phrasing=[False] * 3, all_texts=["a", "b", "c"],
                   split_actions=["walk", "walk+wave_left", "wave_left", "wave_right"])
    protocol, names, texts, targets = _class_targets(clips, info, EvalConfig(labels="actions"))
    assert protocol == "actions" and names == texts == ["walk", "walk and wave", "wave"]
    assert targets == [2, 2, 1]


def test_babel_data_uses_babel60_and_val_split(tiny_engine, eval_data, tmp_path):
    """Prepared AMASS+BABEL data (info source "AMASS + BABEL", train/val only, the main
    BABEL-60 class as "action") is scored on the BABEL-60 classes automatically."""
    from mclip.data.dataset import read_manifest, write_dataset
    from mclip.eval import EvalConfig, evaluate

    shard = np.load(eval_data / "shards" / "shard_00000.npz")
    babel_class = {"walk": "walk", "sit": "sit", "jump": "jump", "wave": "greet"}
    recs = [{"text": r["text"], "action": babel_class[r["action"]], "split": "val",
             "params": {"babel60": [babel_class[r["action"]]]}} for r in read_manifest(eval_data)]
    root = write_dataset(tmp_path / "babel", shard["poses"], shard["trans"], recs,
                         info={"source": "AMASS + BABEL"})
    cfg = EvalConfig(sections=("classification",))
    with pytest.raises(MclipError, match="has no such clips.*val \\(32 clips\\)"):
        evaluate(tiny_engine, root, split="test", config=cfg)
    cls = evaluate(tiny_engine, root, split="val", n=32, config=cfg)["classification"]
    assert cls["protocol"] == "babel60" and cls["num_classes"] == 60 and cls["all"]["n"] == 32
    assert "seen_phrasing" not in cls and "heldout_phrasing" not in cls  # BABEL records no flag


class _LatentCarrier(torch.nn.Module):
    """A "model" whose decoded motion carries its latent in the root-translation row
    (rotations stay at identity), and whose encoder reads it back: text -> motion ->
    latent is then exact. With ``forget=True`` the decoder ignores the latent."""

    D = 16

    def __init__(self, forget=False):
        super().__init__()
        self.forget = forget

    def encode(self, x):                                   # (B, T, 25, 6) -> (B, D)
        return x[:, :, 24, :].reshape(x.shape[0], -1)[:, : self.D].clone()

    def decode(self, z, frames=60):                        # (B, D) -> (B, T, 25, 6)
        x = torch.zeros(z.shape[0], frames, 25, 6)
        x[..., :24, 0] = 1.0                               # 6D identity: columns (1,0,0), (0,1,0)
        x[..., :24, 4] = 1.0
        if not self.forget:
            row = x[:, :, 24, :].reshape(z.shape[0], -1)
            row[:, : self.D] = z
            x[:, :, 24, :] = row.reshape(z.shape[0], frames, 6)
        return x


class _HashTextEngine(_FakeEngine):
    def embed_texts(self, texts):
        """A fixed random unit vector per text (independent of any real backbone)."""
        import zlib

        rows = [torch.randn(_LatentCarrier.D, generator=torch.Generator().manual_seed(zlib.crc32(t.encode())))
                for t in texts]
        return torch.nn.functional.normalize(torch.stack(rows), dim=-1)


def test_text2motion_retrieval_of_a_perfect_and_a_forgetful_model(eval_data):
    from mclip.eval import EvalConfig, evaluate

    cfg = EvalConfig(sections=("text2motion",))
    t2m = evaluate(_HashTextEngine(_LatentCarrier()), eval_data, n=32, config=cfg)["text2motion"]
    assert t2m["r_precision"] == {"n": 32, "group_size": 32, "top1": 1.0, "top3": 1.0}
    assert t2m["text_motion_cosine"] == pytest.approx(1.0, abs=1e-6)
    # a decoder that ignores the text makes every prompt equally likely: a tie is no hit
    t2m = evaluate(_HashTextEngine(_LatentCarrier(forget=True)), eval_data, n=32, config=cfg)["text2motion"]
    assert t2m["r_precision"]["top1"] == 0.0 and t2m["r_precision"]["top3"] == 0.0
    # its output is one still pose: zero jerk, no limb movement, no flight
    assert t2m["plausibility"]["generated"]["jerk"] == pytest.approx(0.0, abs=1e-9)
    assert t2m["liveliness"]["generated_m_s"] == 0.0 and t2m["liveliness"]["ratio"] == 0.0
    assert t2m["leaves_ground"]["generated"] == 0.0
    # the real side is the prompts' own clips (all 32 texts, one clip each): the share
    # whose clip flies, counted here straight from the hand-made clips
    from mclip.eval.physics import leaves_ground

    flies = [bool(leaves_ground(_toy_joints(a, variant=3 + k)))
             for a, texts in PHRASINGS.items() for k in range(len(texts))]
    assert 0 < sum(flies) < 32           # (the toy walk and sit lift both feet; waves never)
    assert t2m["leaves_ground"]["real"] == pytest.approx(sum(flies) / 32)
    lg = t2m["leaves_ground"]
    assert (lg["n_flying_prompts"], lg["n_grounded_prompts"]) == (sum(flies), 32 - sum(flies))
    assert lg["when_real_flies"] == 0.0 and lg["when_real_grounded"] == 0.0
    assert lg["clearance_when_real_flies_m"]["generated"] == pytest.approx(0.0, abs=1e-6)
    assert lg["clearance_when_real_flies_m"]["real"] > 0.05
    assert t2m["liveliness"]["real_m_s"] > 0.1
    # the toy walks travel; a still decoder neither travels nor steps
    st = t2m["stepping"]
    assert st["n_travelling_prompts"] > 0 and st["travel_m_s"]["real"] > 0.5
    assert st["foot_speed_m_s"]["real"] > 0.1
    assert st["travel_m_s"]["generated"] == 0.0 and st["foot_speed_ratio"] == 0.0
    # per family of the prompts: the still decoder's walks do not step, its waves do not wave
    fam = t2m["families"]
    assert fam["locomotion"]["n"] == len(PHRASINGS["walk"]) and fam["arm actions"]["n"] == len(PHRASINGS["wave"])
    assert fam["locomotion"]["foot_speed_m_s"]["generated"] == 0.0
    assert fam["locomotion"]["foot_speed_m_s"]["real"] > 0.1
    assert fam["arm actions"]["wrist_speed_m_s"]["ratio"] == 0.0
    # one still pose for every prompt and take: no spread at all, where real clips differ
    sp = t2m["spread"]
    assert sp["takes_m"]["generated"] == 0.0 and sp["prompts_m"]["generated"] == 0.0
    assert sp["takes_m"]["real_same_action"] > 0.05 and sp["prompts_m"]["real"] > 0.05
    assert np.isnan(sp["takes_m"]["real"])        # every text here has one clip


def test_pairwise_distance_of_known_offsets():
    from mclip.eval.metrics import mean_pairwise_distance_m

    base = torch.zeros(1, 10, 24, 3)
    three = torch.cat([base, base + torch.tensor([0.3, 0.0, 0.0]), base + torch.tensor([0.0, 0.4, 0.0])])
    # pairs: 0.3, 0.4 and 0.5 m apart at every joint and frame
    assert mean_pairwise_distance_m(three) == pytest.approx(0.4)
    assert np.isnan(mean_pairwise_distance_m(base))


def test_a_sampler_is_scored_beside_the_direct_path(tiny_prior_engine, eval_data, tmp_path, capsys):
    from mclip.eval import EvalConfig, evaluate
    from mclip.eval.report import results_table

    cfg = EvalConfig(sections=("text2motion",), takes=3, takes_prompts=8)
    res = evaluate(tiny_prior_engine, eval_data, n=32, config=cfg)
    assert res["text2motion"]["sampler"] == "prior" and res["text2motion_direct"]["sampler"] == "direct"
    assert res["text2motion_direct"]["spread"]["takes_m"]["generated"] == 0.0
    assert res["text2motion"]["spread"]["takes_m"]["generated"] > 0.0
    assert res["text2motion"]["spread"]["n_prompts"] == 8
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(results_table(res))
    text = " ".join(console.export_text().split())      # the title may wrap
    assert "direct path" in text and "text2motion sampler: prior" in text


def test_same_text_spread_of_known_offsets():
    from types import SimpleNamespace

    from mclip.eval.clips import _same_text_spread
    from mclip.representation import to_features

    R = torch.eye(3).expand(3, 60, 24, 3, 3)
    tr = torch.zeros(3, 60, 3)
    tr[1, :, 0] = 0.3                           # the same pose, 0.3 m to the side
    ds = SimpleNamespace(texts=["wave", "wave", "jump"], features=to_features(R, tr))
    assert _same_text_spread(ds, k=4) == pytest.approx(0.3, abs=1e-5)
    assert np.isnan(_same_text_spread(SimpleNamespace(texts=["a", "b"], features=ds.features[:2]), k=4))


def test_expected_calibration_error_of_known_cases():
    from mclip.eval.metrics import expected_calibration_error

    gen = torch.Generator().manual_seed(0)
    n = 20000
    conf = 0.5 + 0.5 * torch.rand(n, generator=gen)          # top-1 probability in (0.5, 1)
    prob = torch.stack([conf, 1 - conf], dim=1)
    right = torch.rand(n, generator=gen) < conf               # right exactly that often
    labels = torch.where(right, 0, 1)
    assert expected_calibration_error(prob, labels) < 0.02    # calibrated: ~0
    always_sure_never_right = torch.tensor([[1.0, 0.0]] * 10)
    assert expected_calibration_error(always_sure_never_right, torch.ones(10, dtype=torch.long)) == \
        pytest.approx(1.0)


def test_fit_temperature_recovers_the_generating_temperature():
    from mclip.eval.metrics import fit_temperature

    gen = torch.Generator().manual_seed(1)
    cos = torch.rand(4000, 12, generator=gen) * 0.4 - 0.2      # cosines of 12 labels
    labels = torch.multinomial(torch.softmax(25.0 * cos, dim=1), 1, generator=gen)[:, 0]
    assert fit_temperature(cos, labels) == pytest.approx(25.0, rel=0.1)


def test_calibration_rows_use_the_weights_temperature(tiny_engine, eval_data):
    from mclip.eval import EvalConfig, evaluate

    cal = evaluate(tiny_engine, eval_data, n=32, config=EvalConfig(sections=("classification",)))[
        "classification"]["calibration"]
    assert cal["temperature"] == tiny_engine.temperature_for(None) == 100.0   # none stored
    assert 0.0 <= cal["ece"] <= 1.0 and 1.0 <= cal["fitted_temperature"] <= 1000.0
    assert cal["nll_at_fitted"] <= cal["nll"] + 1e-9                 # the fit is the NLL minimum
