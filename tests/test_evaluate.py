"""Tests of the evaluation harness: metric functions against hand-computed truth,
then the whole `mclip eval` run on a tiny checkpoint trained in a fixture."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

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


def test_interpolation_path_and_smoothness():
    z0, z1 = torch.zeros(2, 4), torch.ones(2, 4)
    path = M.interpolate_latents(z0, z1, 5)
    assert path.shape == (5, 2, 4)
    assert torch.allclose(path[:, 0, 0], torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    # an evenly moving path: every step moves every joint 10 mm along x
    base = torch.zeros(1, 3, 24, 3)
    even = torch.stack([base + torch.tensor([0.01 * s, 0.0, 0.0]) for s in range(5)])
    s = M.path_smoothness(even)
    assert s["step_mpjpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert s["max_step_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert s["step_cv"] == pytest.approx(0.0, abs=1e-6)
    # a jump: no motion, then all 40 mm in the last step -> ratio 4 = steps - 1
    jump = torch.stack([base] * 4 + [base + torch.tensor([0.04, 0.0, 0.0])])
    s = M.path_smoothness(jump)
    assert s["step_mpjpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert s["max_step_ratio"] == pytest.approx(4.0, abs=1e-6)
    assert s["step_cv"] == pytest.approx(math.sqrt(3.0), abs=1e-6)


def test_report_json_is_atomic_valid_and_nan_safe(tmp_path):
    res = {"meta": {"data": "x", "split": "test"},
           "reconstruction": {"n": 3, "mpjpe_mm": 12.5},
           "text2motion": {"n": 10, "r_precision_top1": float("nan")}}
    out = write_json(res, tmp_path / "r.json")
    back = json.loads(out.read_text())
    assert back["reconstruction"]["mpjpe_mm"] == 12.5
    assert back["text2motion"]["r_precision_top1"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(results_table(res))
    text = console.export_text()
    assert "12.5 mm" in text and "n/a" in text
