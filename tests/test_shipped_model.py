"""The shipped default model (weights/mclip-default.pt) does what its card says.

Judged by physical quantities of the generated joints, not by the model's own scores:
a jump leaves the floor, sitting lowers the pelvis, a walk travels and steps, a kick
lifts the leg; takes of one prompt differ and still are that action. Every take has a
fixed seed (the sampler draws a fresh one otherwise).
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from mclip import Engine
from mclip.eval import metrics as M
from mclip.eval.physics import ankle_peak, clearance, leaves_ground


SHIPPED = Path(__file__).resolve().parents[1] / "weights" / "mclip-default.pt"


@pytest.fixture(scope="module")
def motions():
    eng = Engine(weights=str(SHIPPED))     # the file itself, whatever $MCLIP_WEIGHTS says
    prompts = ["someone jumps in place", "a person sits down on a chair", "a person walks forward"]
    return eng, dict(zip(prompts, eng.text2motion(prompts, seed=0)))


def test_a_generated_jump_leaves_the_ground(motions):
    _, m = motions
    joints = torch.from_numpy(m["someone jumps in place"].joints()[None]).double()
    assert leaves_ground(joints).tolist() == [True]
    assert clearance(joints).item() > 0.10          # metres of air under the whole body
    standing = torch.from_numpy(m["a person walks forward"].joints()[None]).double()
    assert clearance(standing).item() < 0.05


def test_sitting_lowers_the_pelvis_and_walking_travels(motions):
    _, m = motions
    pelvis = m["a person sits down on a chair"].joints()[:, 0, 2]     # z-up, metres
    assert pelvis[:10].mean() - pelvis[-10:].mean() > 0.3
    walk = m["a person walks forward"].joints()[:, 0, :2]
    assert np.linalg.norm(walk[-1] - walk[0]) > 1.0                  # > 0.5 m/s over 2 s


def test_the_jump_is_classified_as_a_jump(motions):
    eng, m = motions
    c = eng.classify(m["someone jumps in place"], labels=["jump", "walk", "sit down", "wave", "kick"], top_k=1)
    assert c.top[0].label == "jump"


def _joints(motion) -> torch.Tensor:
    return torch.from_numpy(motion.joints()[None]).double()            # (1, T, 24, 3)


def test_three_takes_of_a_walk_are_three_walks_that_step(motions):
    eng, _ = motions
    takes = eng.text2motion(["a person walks forward"], seed=0, takes=3)
    j = torch.cat([_joints(m) for m in takes])
    assert (M.foot_speed(j) > 0.5).all()                # ankles move relative to the pelvis, m/s
    assert (M.travel_speed(j) > 0.5).all()
    # the feet alternate: the left-right ankle separation changes sign along the walk
    fwd = j[:, :, 0, :2][:, -1] - j[:, :, 0, :2][:, 0]                   # travel direction
    fwd = fwd / fwd.norm(dim=-1, keepdim=True)
    sep = ((j[:, :, 7, :2] - j[:, :, 8, :2]) * fwd[:, None]).sum(-1)      # (3, T) metres
    assert ((sep.max(dim=1).values > 0.1) & (sep.min(dim=1).values < -0.1)).all()
    assert M.mean_pairwise_distance_m(j) > 0.02                           # three takes, not one
    for m in takes:
        top = eng.classify(m, labels=["walk", "run", "jump", "sit down", "wave", "kick"], top_k=1).top[0]
        assert top.label == "walk"


def test_a_kick_lifts_an_ankle(motions):
    eng, _ = motions
    takes = eng.text2motion(["a person kicks"], seed=0, takes=3)
    peaks = ankle_peak(torch.cat([_joints(m) for m in takes]))
    assert peaks.max() > 0.6 and (peaks > 0.4).all()    # metres above the floor


def test_a_punch_reaches_out(motions):
    eng, _ = motions
    takes = eng.text2motion(["a person punches"], seed=0, takes=3)
    reach = M.wrist_reach(torch.cat([_joints(m) for m in takes]))
    # a wrist half a metre from the chest on average (real punches: 0.52 m), every take near it
    assert reach.mean() >= 0.5 and (reach >= 0.45).all()
