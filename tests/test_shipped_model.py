"""The shipped default model (weights/mclip-default.pt) does what its card says.

Judged by physical quantities of the generated joints, not by the model's own scores:
a jump leaves the floor, sitting lowers the pelvis, a walk travels.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from mclip import Engine
from mclip.evaluate import clearance, leaves_ground


SHIPPED = Path(__file__).resolve().parents[1] / "weights" / "mclip-default.pt"


@pytest.fixture(scope="module")
def motions():
    eng = Engine(weights=str(SHIPPED))     # the file itself, whatever $MCLIP_WEIGHTS says
    prompts = ["someone jumps in place", "a person sits down on a chair", "a person walks forward"]
    return eng, dict(zip(prompts, eng.text2motion(prompts)))


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
